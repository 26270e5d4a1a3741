// Original file: protos/federation.proto


export interface RoundCancelled {
  'round'?: (string);
  'reason'?: (string);
}

export interface RoundCancelled__Output {
  'round': (string);
  'reason': (string);
}
