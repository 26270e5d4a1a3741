// Original file: protos/federation.proto


export interface DownloadModelRequest {
  'sessionToken'?: (Buffer | Uint8Array | string);
  'modelHash'?: (Buffer | Uint8Array | string);
}

export interface DownloadModelRequest__Output {
  'sessionToken': (Buffer);
  'modelHash': (Buffer);
}
