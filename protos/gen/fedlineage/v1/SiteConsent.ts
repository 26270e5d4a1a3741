// Original file: protos/federation.proto


export interface SiteConsent {
  'siteId'?: (string);
  'root'?: (Buffer | Uint8Array | string);
  'count'?: (string);
  'noConsent'?: (string);
  'expired'?: (string);
  'notYetValid'?: (string);
  'revoked'?: (string);
}

export interface SiteConsent__Output {
  'siteId': (string);
  'root': (Buffer);
  'count': (string);
  'noConsent': (string);
  'expired': (string);
  'notYetValid': (string);
  'revoked': (string);
}
