// Original file: protos/federation.proto


export interface RoundStatusRequest {
  'fromRound'?: (string);
}

export interface RoundStatusRequest__Output {
  'fromRound': (string);
}
