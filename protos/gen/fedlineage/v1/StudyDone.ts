// Original file: protos/federation.proto


export interface StudyDone {
  'rounds'?: (string);
  'finalModelHash'?: (Buffer | Uint8Array | string);
}

export interface StudyDone__Output {
  'rounds': (string);
  'finalModelHash': (Buffer);
}
