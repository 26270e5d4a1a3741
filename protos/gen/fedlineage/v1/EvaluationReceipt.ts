// Original file: protos/federation.proto


export interface EvaluationReceipt {
  'logSeq'?: (string);
}

export interface EvaluationReceipt__Output {
  'logSeq': (string);
}
