// Original file: protos/federation.proto


export interface SiteApproval {
  'siteId'?: (string);
  'specHash'?: (Buffer | Uint8Array | string);
  'logSeq'?: (string);
}

export interface SiteApproval__Output {
  'siteId': (string);
  'specHash': (Buffer);
  'logSeq': (string);
}
