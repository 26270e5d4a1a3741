// Original file: protos/federation.proto


export interface SiteDecline {
  'siteId'?: (string);
  'code'?: (string);
  'reason'?: (string);
}

export interface SiteDecline__Output {
  'siteId': (string);
  'code': (string);
  'reason': (string);
}
