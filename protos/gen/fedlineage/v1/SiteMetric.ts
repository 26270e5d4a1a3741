// Original file: protos/federation.proto


export interface SiteMetric {
  'siteId'?: (string);
  'examples'?: (string);
  'metrics'?: ({[key: string]: number | string});
}

export interface SiteMetric__Output {
  'siteId': (string);
  'examples': (string);
  'metrics': ({[key: string]: number});
}
