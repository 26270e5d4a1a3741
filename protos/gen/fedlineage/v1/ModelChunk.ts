// Original file: protos/federation.proto


export interface ModelChunk {
  'totalBytes'?: (string);
  'offset'?: (string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface ModelChunk__Output {
  'totalBytes': (string);
  'offset': (string);
  'data': (Buffer);
}
