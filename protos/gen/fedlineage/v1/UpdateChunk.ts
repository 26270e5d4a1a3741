// Original file: protos/federation.proto

import type { SignedStatement as _fedlineage_v1_SignedStatement, SignedStatement__Output as _fedlineage_v1_SignedStatement__Output } from '../../fedlineage/v1/SignedStatement.ts';

export interface UpdateChunk {
  'envelope'?: (_fedlineage_v1_SignedStatement | null);
  'data'?: (Buffer | Uint8Array | string);
  'part'?: "envelope"|"data";
}

export interface UpdateChunk__Output {
  'envelope'?: (_fedlineage_v1_SignedStatement__Output | null);
  'data'?: (Buffer);
  'part'?: "envelope"|"data";
}
