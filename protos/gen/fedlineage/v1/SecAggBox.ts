// Original file: protos/federation.proto


export interface SecAggBox {
  'from'?: (string);
  'box'?: (Buffer | Uint8Array | string);
}

export interface SecAggBox__Output {
  'from': (string);
  'box': (Buffer);
}
