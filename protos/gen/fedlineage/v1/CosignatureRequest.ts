// Original file: protos/federation.proto


export interface CosignatureRequest {
  'sessionToken'?: (Buffer | Uint8Array | string);
  'size'?: (string);
  'witness'?: (Buffer | Uint8Array | string);
  'signature'?: (Buffer | Uint8Array | string);
  'timeMs'?: (string);
}

export interface CosignatureRequest__Output {
  'sessionToken': (Buffer);
  'size': (string);
  'witness': (Buffer);
  'signature': (Buffer);
  'timeMs': (string);
}
