// Original file: protos/federation.proto


export interface CosignatureReceipt {
  'size'?: (string);
}

export interface CosignatureReceipt__Output {
  'size': (string);
}
