// Original file: protos/federation.proto


export interface SignedStatement {
  'body'?: (Buffer | Uint8Array | string);
  'signature'?: (Buffer | Uint8Array | string);
}

export interface SignedStatement__Output {
  'body': (Buffer);
  'signature': (Buffer);
}
