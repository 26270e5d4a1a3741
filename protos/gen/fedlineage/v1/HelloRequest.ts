// Original file: protos/federation.proto

import type { SignedStatement as _fedlineage_v1_SignedStatement, SignedStatement__Output as _fedlineage_v1_SignedStatement__Output } from '../../fedlineage/v1/SignedStatement.ts';

export interface HelloRequest {
  'hello'?: (_fedlineage_v1_SignedStatement | null);
}

export interface HelloRequest__Output {
  'hello': (_fedlineage_v1_SignedStatement__Output | null);
}
