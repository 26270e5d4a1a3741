// Original file: protos/federation.proto


export interface FitTask {
  'round'?: (string);
  'baseModelHash'?: (Buffer | Uint8Array | string);
  'seed'?: (string);
  'deadlineMs'?: (string);
  'deltaSizeBytes'?: (string);
  'baseRound'?: (string);
  'openedMs'?: (string);
  'config'?: (Buffer | Uint8Array | string);
}

export interface FitTask__Output {
  'round': (string);
  'baseModelHash': (Buffer);
  'seed': (string);
  'deadlineMs': (string);
  'deltaSizeBytes': (string);
  'baseRound': (string);
  'openedMs': (string);
  'config': (Buffer);
}
