// Original file: protos/federation.proto


export interface UploadReceipt {
  'round'?: (string);
  'envelopeHash'?: (Buffer | Uint8Array | string);
  'logSeq'?: (string);
}

export interface UploadReceipt__Output {
  'round': (string);
  'envelopeHash': (Buffer);
  'logSeq': (string);
}
