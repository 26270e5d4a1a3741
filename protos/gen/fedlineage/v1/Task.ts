// Original file: protos/federation.proto

import type { FitTask as _fedlineage_v1_FitTask, FitTask__Output as _fedlineage_v1_FitTask__Output } from '../../fedlineage/v1/FitTask.ts';
import type { EvaluateTask as _fedlineage_v1_EvaluateTask, EvaluateTask__Output as _fedlineage_v1_EvaluateTask__Output } from '../../fedlineage/v1/EvaluateTask.ts';
import type { StudyDone as _fedlineage_v1_StudyDone, StudyDone__Output as _fedlineage_v1_StudyDone__Output } from '../../fedlineage/v1/StudyDone.ts';
import type { RoundCancelled as _fedlineage_v1_RoundCancelled, RoundCancelled__Output as _fedlineage_v1_RoundCancelled__Output } from '../../fedlineage/v1/RoundCancelled.ts';
import type { SecAggTask as _fedlineage_v1_SecAggTask, SecAggTask__Output as _fedlineage_v1_SecAggTask__Output } from '../../fedlineage/v1/SecAggTask.ts';

export interface Task {
  'fit'?: (_fedlineage_v1_FitTask | null);
  'evaluate'?: (_fedlineage_v1_EvaluateTask | null);
  'done'?: (_fedlineage_v1_StudyDone | null);
  'cancel'?: (_fedlineage_v1_RoundCancelled | null);
  'secagg'?: (_fedlineage_v1_SecAggTask | null);
  'kind'?: "fit"|"evaluate"|"done"|"cancel"|"secagg";
}

export interface Task__Output {
  'fit'?: (_fedlineage_v1_FitTask__Output | null);
  'evaluate'?: (_fedlineage_v1_EvaluateTask__Output | null);
  'done'?: (_fedlineage_v1_StudyDone__Output | null);
  'cancel'?: (_fedlineage_v1_RoundCancelled__Output | null);
  'secagg'?: (_fedlineage_v1_SecAggTask__Output | null);
  'kind'?: "fit"|"evaluate"|"done"|"cancel"|"secagg";
}
