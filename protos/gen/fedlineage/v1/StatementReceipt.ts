// Original file: protos/federation.proto


export interface StatementReceipt {
  'logSeq'?: (string);
}

export interface StatementReceipt__Output {
  'logSeq': (string);
}
