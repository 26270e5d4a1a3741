// Original file: protos/federation.proto


export interface SiteReward {
  'siteId'?: (string);
  'amount'?: (string);
}

export interface SiteReward__Output {
  'siteId': (string);
  'amount': (string);
}
