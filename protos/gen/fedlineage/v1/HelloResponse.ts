// Original file: protos/federation.proto


export interface HelloResponse {
  'studyId'?: (string);
  'studySpec'?: (Buffer | Uint8Array | string);
  'sessionToken'?: (Buffer | Uint8Array | string);
  'currentRound'?: (string);
  'coordinatorKey'?: (Buffer | Uint8Array | string);
  'p2pAddrs'?: (string)[];
}

export interface HelloResponse__Output {
  'studyId': (string);
  'studySpec': (Buffer);
  'sessionToken': (Buffer);
  'currentRound': (string);
  'coordinatorKey': (Buffer);
  'p2pAddrs': (string)[];
}
