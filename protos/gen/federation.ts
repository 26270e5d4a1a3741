import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { CosignatureReceipt as _fedlineage_v1_CosignatureReceipt, CosignatureReceipt__Output as _fedlineage_v1_CosignatureReceipt__Output } from './fedlineage/v1/CosignatureReceipt.ts';
import type { CosignatureRequest as _fedlineage_v1_CosignatureRequest, CosignatureRequest__Output as _fedlineage_v1_CosignatureRequest__Output } from './fedlineage/v1/CosignatureRequest.ts';
import type { DownloadModelRequest as _fedlineage_v1_DownloadModelRequest, DownloadModelRequest__Output as _fedlineage_v1_DownloadModelRequest__Output } from './fedlineage/v1/DownloadModelRequest.ts';
import type { EvaluateTask as _fedlineage_v1_EvaluateTask, EvaluateTask__Output as _fedlineage_v1_EvaluateTask__Output } from './fedlineage/v1/EvaluateTask.ts';
import type { EvaluationReceipt as _fedlineage_v1_EvaluationReceipt, EvaluationReceipt__Output as _fedlineage_v1_EvaluationReceipt__Output } from './fedlineage/v1/EvaluationReceipt.ts';
import type { FederationClient as _fedlineage_v1_FederationClient, FederationDefinition as _fedlineage_v1_FederationDefinition } from './fedlineage/v1/Federation.ts';
import type { FitTask as _fedlineage_v1_FitTask, FitTask__Output as _fedlineage_v1_FitTask__Output } from './fedlineage/v1/FitTask.ts';
import type { HelloRequest as _fedlineage_v1_HelloRequest, HelloRequest__Output as _fedlineage_v1_HelloRequest__Output } from './fedlineage/v1/HelloRequest.ts';
import type { HelloResponse as _fedlineage_v1_HelloResponse, HelloResponse__Output as _fedlineage_v1_HelloResponse__Output } from './fedlineage/v1/HelloResponse.ts';
import type { ModelChunk as _fedlineage_v1_ModelChunk, ModelChunk__Output as _fedlineage_v1_ModelChunk__Output } from './fedlineage/v1/ModelChunk.ts';
import type { PatientRewardsReceipt as _fedlineage_v1_PatientRewardsReceipt, PatientRewardsReceipt__Output as _fedlineage_v1_PatientRewardsReceipt__Output } from './fedlineage/v1/PatientRewardsReceipt.ts';
import type { RoundCancelled as _fedlineage_v1_RoundCancelled, RoundCancelled__Output as _fedlineage_v1_RoundCancelled__Output } from './fedlineage/v1/RoundCancelled.ts';
import type { RoundStatusRequest as _fedlineage_v1_RoundStatusRequest, RoundStatusRequest__Output as _fedlineage_v1_RoundStatusRequest__Output } from './fedlineage/v1/RoundStatusRequest.ts';
import type { RoundStatusResponse as _fedlineage_v1_RoundStatusResponse, RoundStatusResponse__Output as _fedlineage_v1_RoundStatusResponse__Output } from './fedlineage/v1/RoundStatusResponse.ts';
import type { RoundSummary as _fedlineage_v1_RoundSummary, RoundSummary__Output as _fedlineage_v1_RoundSummary__Output } from './fedlineage/v1/RoundSummary.ts';
import type { SecAggBox as _fedlineage_v1_SecAggBox, SecAggBox__Output as _fedlineage_v1_SecAggBox__Output } from './fedlineage/v1/SecAggBox.ts';
import type { SecAggProgress as _fedlineage_v1_SecAggProgress, SecAggProgress__Output as _fedlineage_v1_SecAggProgress__Output } from './fedlineage/v1/SecAggProgress.ts';
import type { SecAggTask as _fedlineage_v1_SecAggTask, SecAggTask__Output as _fedlineage_v1_SecAggTask__Output } from './fedlineage/v1/SecAggTask.ts';
import type { SignedStatement as _fedlineage_v1_SignedStatement, SignedStatement__Output as _fedlineage_v1_SignedStatement__Output } from './fedlineage/v1/SignedStatement.ts';
import type { SiteApproval as _fedlineage_v1_SiteApproval, SiteApproval__Output as _fedlineage_v1_SiteApproval__Output } from './fedlineage/v1/SiteApproval.ts';
import type { SiteConsent as _fedlineage_v1_SiteConsent, SiteConsent__Output as _fedlineage_v1_SiteConsent__Output } from './fedlineage/v1/SiteConsent.ts';
import type { SiteDecline as _fedlineage_v1_SiteDecline, SiteDecline__Output as _fedlineage_v1_SiteDecline__Output } from './fedlineage/v1/SiteDecline.ts';
import type { SiteMetric as _fedlineage_v1_SiteMetric, SiteMetric__Output as _fedlineage_v1_SiteMetric__Output } from './fedlineage/v1/SiteMetric.ts';
import type { SiteReward as _fedlineage_v1_SiteReward, SiteReward__Output as _fedlineage_v1_SiteReward__Output } from './fedlineage/v1/SiteReward.ts';
import type { StartRoundResponse as _fedlineage_v1_StartRoundResponse, StartRoundResponse__Output as _fedlineage_v1_StartRoundResponse__Output } from './fedlineage/v1/StartRoundResponse.ts';
import type { StatementReceipt as _fedlineage_v1_StatementReceipt, StatementReceipt__Output as _fedlineage_v1_StatementReceipt__Output } from './fedlineage/v1/StatementReceipt.ts';
import type { StudyDone as _fedlineage_v1_StudyDone, StudyDone__Output as _fedlineage_v1_StudyDone__Output } from './fedlineage/v1/StudyDone.ts';
import type { Task as _fedlineage_v1_Task, Task__Output as _fedlineage_v1_Task__Output } from './fedlineage/v1/Task.ts';
import type { TasksRequest as _fedlineage_v1_TasksRequest, TasksRequest__Output as _fedlineage_v1_TasksRequest__Output } from './fedlineage/v1/TasksRequest.ts';
import type { UpdateChunk as _fedlineage_v1_UpdateChunk, UpdateChunk__Output as _fedlineage_v1_UpdateChunk__Output } from './fedlineage/v1/UpdateChunk.ts';
import type { UploadReceipt as _fedlineage_v1_UploadReceipt, UploadReceipt__Output as _fedlineage_v1_UploadReceipt__Output } from './fedlineage/v1/UploadReceipt.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  fedlineage: {
    v1: {
      CosignatureReceipt: MessageTypeDefinition<_fedlineage_v1_CosignatureReceipt, _fedlineage_v1_CosignatureReceipt__Output>
      CosignatureRequest: MessageTypeDefinition<_fedlineage_v1_CosignatureRequest, _fedlineage_v1_CosignatureRequest__Output>
      DownloadModelRequest: MessageTypeDefinition<_fedlineage_v1_DownloadModelRequest, _fedlineage_v1_DownloadModelRequest__Output>
      EvaluateTask: MessageTypeDefinition<_fedlineage_v1_EvaluateTask, _fedlineage_v1_EvaluateTask__Output>
      EvaluationReceipt: MessageTypeDefinition<_fedlineage_v1_EvaluationReceipt, _fedlineage_v1_EvaluationReceipt__Output>
      Federation: SubtypeConstructor<typeof grpc.Client, _fedlineage_v1_FederationClient> & { service: _fedlineage_v1_FederationDefinition }
      FitTask: MessageTypeDefinition<_fedlineage_v1_FitTask, _fedlineage_v1_FitTask__Output>
      HelloRequest: MessageTypeDefinition<_fedlineage_v1_HelloRequest, _fedlineage_v1_HelloRequest__Output>
      HelloResponse: MessageTypeDefinition<_fedlineage_v1_HelloResponse, _fedlineage_v1_HelloResponse__Output>
      ModelChunk: MessageTypeDefinition<_fedlineage_v1_ModelChunk, _fedlineage_v1_ModelChunk__Output>
      PatientRewardsReceipt: MessageTypeDefinition<_fedlineage_v1_PatientRewardsReceipt, _fedlineage_v1_PatientRewardsReceipt__Output>
      RoundCancelled: MessageTypeDefinition<_fedlineage_v1_RoundCancelled, _fedlineage_v1_RoundCancelled__Output>
      RoundStatusRequest: MessageTypeDefinition<_fedlineage_v1_RoundStatusRequest, _fedlineage_v1_RoundStatusRequest__Output>
      RoundStatusResponse: MessageTypeDefinition<_fedlineage_v1_RoundStatusResponse, _fedlineage_v1_RoundStatusResponse__Output>
      RoundSummary: MessageTypeDefinition<_fedlineage_v1_RoundSummary, _fedlineage_v1_RoundSummary__Output>
      SecAggBox: MessageTypeDefinition<_fedlineage_v1_SecAggBox, _fedlineage_v1_SecAggBox__Output>
      SecAggProgress: MessageTypeDefinition<_fedlineage_v1_SecAggProgress, _fedlineage_v1_SecAggProgress__Output>
      SecAggTask: MessageTypeDefinition<_fedlineage_v1_SecAggTask, _fedlineage_v1_SecAggTask__Output>
      SignedStatement: MessageTypeDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_SignedStatement__Output>
      SiteApproval: MessageTypeDefinition<_fedlineage_v1_SiteApproval, _fedlineage_v1_SiteApproval__Output>
      SiteConsent: MessageTypeDefinition<_fedlineage_v1_SiteConsent, _fedlineage_v1_SiteConsent__Output>
      SiteDecline: MessageTypeDefinition<_fedlineage_v1_SiteDecline, _fedlineage_v1_SiteDecline__Output>
      SiteMetric: MessageTypeDefinition<_fedlineage_v1_SiteMetric, _fedlineage_v1_SiteMetric__Output>
      SiteReward: MessageTypeDefinition<_fedlineage_v1_SiteReward, _fedlineage_v1_SiteReward__Output>
      StartRoundResponse: MessageTypeDefinition<_fedlineage_v1_StartRoundResponse, _fedlineage_v1_StartRoundResponse__Output>
      StatementReceipt: MessageTypeDefinition<_fedlineage_v1_StatementReceipt, _fedlineage_v1_StatementReceipt__Output>
      StudyDone: MessageTypeDefinition<_fedlineage_v1_StudyDone, _fedlineage_v1_StudyDone__Output>
      Task: MessageTypeDefinition<_fedlineage_v1_Task, _fedlineage_v1_Task__Output>
      TasksRequest: MessageTypeDefinition<_fedlineage_v1_TasksRequest, _fedlineage_v1_TasksRequest__Output>
      UpdateChunk: MessageTypeDefinition<_fedlineage_v1_UpdateChunk, _fedlineage_v1_UpdateChunk__Output>
      UploadReceipt: MessageTypeDefinition<_fedlineage_v1_UploadReceipt, _fedlineage_v1_UploadReceipt__Output>
    }
  }
}

