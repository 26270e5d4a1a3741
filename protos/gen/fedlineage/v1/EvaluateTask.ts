// Original file: protos/federation.proto


export interface EvaluateTask {
  'round'?: (string);
  'modelHash'?: (Buffer | Uint8Array | string);
  'deadlineMs'?: (string);
}

export interface EvaluateTask__Output {
  'round': (string);
  'modelHash': (Buffer);
  'deadlineMs': (string);
}
