// Original file: protos/federation.proto

import type { SignedStatement as _fedlineage_v1_SignedStatement, SignedStatement__Output as _fedlineage_v1_SignedStatement__Output } from '../../fedlineage/v1/SignedStatement.ts';
import type { SecAggBox as _fedlineage_v1_SecAggBox, SecAggBox__Output as _fedlineage_v1_SecAggBox__Output } from '../../fedlineage/v1/SecAggBox.ts';

export interface SecAggTask {
  'round'?: (string);
  'phase'?: (string);
  'k'?: (number);
  't'?: (number);
  'sites'?: (string)[];
  'keys'?: (_fedlineage_v1_SignedStatement)[];
  'boxes'?: (_fedlineage_v1_SecAggBox)[];
}

export interface SecAggTask__Output {
  'round': (string);
  'phase': (string);
  'k': (number);
  't': (number);
  'sites': (string)[];
  'keys': (_fedlineage_v1_SignedStatement__Output)[];
  'boxes': (_fedlineage_v1_SecAggBox__Output)[];
}
