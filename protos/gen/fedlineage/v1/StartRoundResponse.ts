// Original file: protos/federation.proto


export interface StartRoundResponse {
  'round'?: (string);
  'baseModelHash'?: (Buffer | Uint8Array | string);
  'logSeq'?: (string);
}

export interface StartRoundResponse__Output {
  'round': (string);
  'baseModelHash': (Buffer);
  'logSeq': (string);
}
