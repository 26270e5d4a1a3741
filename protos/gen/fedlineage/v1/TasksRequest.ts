// Original file: protos/federation.proto


export interface TasksRequest {
  'sessionToken'?: (Buffer | Uint8Array | string);
}

export interface TasksRequest__Output {
  'sessionToken': (Buffer);
}
