// Original file: protos/federation.proto

import type { SiteMetric as _fedlineage_v1_SiteMetric, SiteMetric__Output as _fedlineage_v1_SiteMetric__Output } from '../../fedlineage/v1/SiteMetric.ts';
import type { SiteConsent as _fedlineage_v1_SiteConsent, SiteConsent__Output as _fedlineage_v1_SiteConsent__Output } from '../../fedlineage/v1/SiteConsent.ts';
import type { SiteReward as _fedlineage_v1_SiteReward, SiteReward__Output as _fedlineage_v1_SiteReward__Output } from '../../fedlineage/v1/SiteReward.ts';
import type { SiteDecline as _fedlineage_v1_SiteDecline, SiteDecline__Output as _fedlineage_v1_SiteDecline__Output } from '../../fedlineage/v1/SiteDecline.ts';
import type { SecAggProgress as _fedlineage_v1_SecAggProgress, SecAggProgress__Output as _fedlineage_v1_SecAggProgress__Output } from '../../fedlineage/v1/SecAggProgress.ts';

export interface RoundSummary {
  'round'?: (string);
  'state'?: (string);
  'baseModelHash'?: (Buffer | Uint8Array | string);
  'modelHash'?: (Buffer | Uint8Array | string);
  'sites'?: (string)[];
  'examples'?: (string);
  'trainLoss'?: (number | string);
  'evaluations'?: (_fedlineage_v1_SiteMetric)[];
  'openedMs'?: (string);
  'committedMs'?: (string);
  'evaluatedMs'?: (string);
  'rejected'?: (string)[];
  'consent'?: (_fedlineage_v1_SiteConsent)[];
  'revocations'?: (string);
  'rewards'?: (_fedlineage_v1_SiteReward)[];
  'patientRewards'?: (string)[];
  'declined'?: (_fedlineage_v1_SiteDecline)[];
  'deadlineMs'?: (string);
  'planned'?: (string)[];
  'closeReason'?: (string);
  'secagg'?: (_fedlineage_v1_SecAggProgress | null);
}

export interface RoundSummary__Output {
  'round': (string);
  'state': (string);
  'baseModelHash': (Buffer);
  'modelHash': (Buffer);
  'sites': (string)[];
  'examples': (string);
  'trainLoss': (number);
  'evaluations': (_fedlineage_v1_SiteMetric__Output)[];
  'openedMs': (string);
  'committedMs': (string);
  'evaluatedMs': (string);
  'rejected': (string)[];
  'consent': (_fedlineage_v1_SiteConsent__Output)[];
  'revocations': (string);
  'rewards': (_fedlineage_v1_SiteReward__Output)[];
  'patientRewards': (string)[];
  'declined': (_fedlineage_v1_SiteDecline__Output)[];
  'deadlineMs': (string);
  'planned': (string)[];
  'closeReason': (string);
  'secagg': (_fedlineage_v1_SecAggProgress__Output | null);
}
