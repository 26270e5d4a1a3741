// Original file: protos/federation.proto

import type { RoundSummary as _fedlineage_v1_RoundSummary, RoundSummary__Output as _fedlineage_v1_RoundSummary__Output } from '../../fedlineage/v1/RoundSummary.ts';
import type { SiteApproval as _fedlineage_v1_SiteApproval, SiteApproval__Output as _fedlineage_v1_SiteApproval__Output } from '../../fedlineage/v1/SiteApproval.ts';

export interface RoundStatusResponse {
  'studyId'?: (string);
  'roundsTarget'?: (string);
  'committedRounds'?: (string);
  'done'?: (boolean);
  'rounds'?: (_fedlineage_v1_RoundSummary)[];
  'logLength'?: (string);
  'logHead'?: (Buffer | Uint8Array | string);
  'genesisModelHash'?: (Buffer | Uint8Array | string);
  'specHash'?: (Buffer | Uint8Array | string);
  'studySpec'?: (Buffer | Uint8Array | string);
  'requireApproval'?: (boolean);
  'approvals'?: (_fedlineage_v1_SiteApproval)[];
  'nowMs'?: (string);
}

export interface RoundStatusResponse__Output {
  'studyId': (string);
  'roundsTarget': (string);
  'committedRounds': (string);
  'done': (boolean);
  'rounds': (_fedlineage_v1_RoundSummary__Output)[];
  'logLength': (string);
  'logHead': (Buffer);
  'genesisModelHash': (Buffer);
  'specHash': (Buffer);
  'studySpec': (Buffer);
  'requireApproval': (boolean);
  'approvals': (_fedlineage_v1_SiteApproval__Output)[];
  'nowMs': (string);
}
