// Original file: protos/federation.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CosignatureReceipt as _fedlineage_v1_CosignatureReceipt, CosignatureReceipt__Output as _fedlineage_v1_CosignatureReceipt__Output } from '../../fedlineage/v1/CosignatureReceipt.ts';
import type { CosignatureRequest as _fedlineage_v1_CosignatureRequest, CosignatureRequest__Output as _fedlineage_v1_CosignatureRequest__Output } from '../../fedlineage/v1/CosignatureRequest.ts';
import type { DownloadModelRequest as _fedlineage_v1_DownloadModelRequest, DownloadModelRequest__Output as _fedlineage_v1_DownloadModelRequest__Output } from '../../fedlineage/v1/DownloadModelRequest.ts';
import type { EvaluationReceipt as _fedlineage_v1_EvaluationReceipt, EvaluationReceipt__Output as _fedlineage_v1_EvaluationReceipt__Output } from '../../fedlineage/v1/EvaluationReceipt.ts';
import type { HelloRequest as _fedlineage_v1_HelloRequest, HelloRequest__Output as _fedlineage_v1_HelloRequest__Output } from '../../fedlineage/v1/HelloRequest.ts';
import type { HelloResponse as _fedlineage_v1_HelloResponse, HelloResponse__Output as _fedlineage_v1_HelloResponse__Output } from '../../fedlineage/v1/HelloResponse.ts';
import type { ModelChunk as _fedlineage_v1_ModelChunk, ModelChunk__Output as _fedlineage_v1_ModelChunk__Output } from '../../fedlineage/v1/ModelChunk.ts';
import type { PatientRewardsReceipt as _fedlineage_v1_PatientRewardsReceipt, PatientRewardsReceipt__Output as _fedlineage_v1_PatientRewardsReceipt__Output } from '../../fedlineage/v1/PatientRewardsReceipt.ts';
import type { RoundStatusRequest as _fedlineage_v1_RoundStatusRequest, RoundStatusRequest__Output as _fedlineage_v1_RoundStatusRequest__Output } from '../../fedlineage/v1/RoundStatusRequest.ts';
import type { RoundStatusResponse as _fedlineage_v1_RoundStatusResponse, RoundStatusResponse__Output as _fedlineage_v1_RoundStatusResponse__Output } from '../../fedlineage/v1/RoundStatusResponse.ts';
import type { SignedStatement as _fedlineage_v1_SignedStatement, SignedStatement__Output as _fedlineage_v1_SignedStatement__Output } from '../../fedlineage/v1/SignedStatement.ts';
import type { StartRoundResponse as _fedlineage_v1_StartRoundResponse, StartRoundResponse__Output as _fedlineage_v1_StartRoundResponse__Output } from '../../fedlineage/v1/StartRoundResponse.ts';
import type { StatementReceipt as _fedlineage_v1_StatementReceipt, StatementReceipt__Output as _fedlineage_v1_StatementReceipt__Output } from '../../fedlineage/v1/StatementReceipt.ts';
import type { Task as _fedlineage_v1_Task, Task__Output as _fedlineage_v1_Task__Output } from '../../fedlineage/v1/Task.ts';
import type { TasksRequest as _fedlineage_v1_TasksRequest, TasksRequest__Output as _fedlineage_v1_TasksRequest__Output } from '../../fedlineage/v1/TasksRequest.ts';
import type { UpdateChunk as _fedlineage_v1_UpdateChunk, UpdateChunk__Output as _fedlineage_v1_UpdateChunk__Output } from '../../fedlineage/v1/UpdateChunk.ts';
import type { UploadReceipt as _fedlineage_v1_UploadReceipt, UploadReceipt__Output as _fedlineage_v1_UploadReceipt__Output } from '../../fedlineage/v1/UploadReceipt.ts';

export interface FederationClient extends grpc.Client {
  AbortRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  AbortRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  AbortRound(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  AbortRound(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  abortRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  abortRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  abortRound(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  abortRound(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  
  ChangeMembership(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  ChangeMembership(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  ChangeMembership(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  ChangeMembership(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  changeMembership(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  changeMembership(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  changeMembership(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  changeMembership(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  
  DownloadModel(argument: _fedlineage_v1_DownloadModelRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_ModelChunk__Output>;
  DownloadModel(argument: _fedlineage_v1_DownloadModelRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_ModelChunk__Output>;
  downloadModel(argument: _fedlineage_v1_DownloadModelRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_ModelChunk__Output>;
  downloadModel(argument: _fedlineage_v1_DownloadModelRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_ModelChunk__Output>;
  
  Hello(argument: _fedlineage_v1_HelloRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  Hello(argument: _fedlineage_v1_HelloRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  Hello(argument: _fedlineage_v1_HelloRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  Hello(argument: _fedlineage_v1_HelloRequest, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  hello(argument: _fedlineage_v1_HelloRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  hello(argument: _fedlineage_v1_HelloRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  hello(argument: _fedlineage_v1_HelloRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  hello(argument: _fedlineage_v1_HelloRequest, callback: grpc.requestCallback<_fedlineage_v1_HelloResponse__Output>): grpc.ClientUnaryCall;
  
  ReportEvaluation(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_EvaluationReceipt__Output>): grpc.ClientUnaryCall;
  
  RoundStatus(argument: _fedlineage_v1_RoundStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  RoundStatus(argument: _fedlineage_v1_RoundStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  RoundStatus(argument: _fedlineage_v1_RoundStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  RoundStatus(argument: _fedlineage_v1_RoundStatusRequest, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  roundStatus(argument: _fedlineage_v1_RoundStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  roundStatus(argument: _fedlineage_v1_RoundStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  roundStatus(argument: _fedlineage_v1_RoundStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  roundStatus(argument: _fedlineage_v1_RoundStatusRequest, callback: grpc.requestCallback<_fedlineage_v1_RoundStatusResponse__Output>): grpc.ClientUnaryCall;
  
  StartRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  StartRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  StartRound(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  StartRound(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  startRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  startRound(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  startRound(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  startRound(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StartRoundResponse__Output>): grpc.ClientUnaryCall;
  
  SubmitApproval(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitApproval(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitApproval(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitApproval(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitApproval(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitApproval(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitApproval(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitApproval(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  
  SubmitCosignature(argument: _fedlineage_v1_CosignatureRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  SubmitCosignature(argument: _fedlineage_v1_CosignatureRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  SubmitCosignature(argument: _fedlineage_v1_CosignatureRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  SubmitCosignature(argument: _fedlineage_v1_CosignatureRequest, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  submitCosignature(argument: _fedlineage_v1_CosignatureRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  submitCosignature(argument: _fedlineage_v1_CosignatureRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  submitCosignature(argument: _fedlineage_v1_CosignatureRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  submitCosignature(argument: _fedlineage_v1_CosignatureRequest, callback: grpc.requestCallback<_fedlineage_v1_CosignatureReceipt__Output>): grpc.ClientUnaryCall;
  
  SubmitDeclined(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitDeclined(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitDeclined(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitDeclined(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitDeclined(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitDeclined(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitDeclined(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitDeclined(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  
  SubmitPatientRewards(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  SubmitPatientRewards(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  SubmitPatientRewards(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  SubmitPatientRewards(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  submitPatientRewards(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  submitPatientRewards(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  submitPatientRewards(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  submitPatientRewards(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_PatientRewardsReceipt__Output>): grpc.ClientUnaryCall;
  
  SubmitSecAgg(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitSecAgg(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitSecAgg(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  SubmitSecAgg(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitSecAgg(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitSecAgg(argument: _fedlineage_v1_SignedStatement, metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitSecAgg(argument: _fedlineage_v1_SignedStatement, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  submitSecAgg(argument: _fedlineage_v1_SignedStatement, callback: grpc.requestCallback<_fedlineage_v1_StatementReceipt__Output>): grpc.ClientUnaryCall;
  
  Tasks(argument: _fedlineage_v1_TasksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_Task__Output>;
  Tasks(argument: _fedlineage_v1_TasksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_Task__Output>;
  tasks(argument: _fedlineage_v1_TasksRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_Task__Output>;
  tasks(argument: _fedlineage_v1_TasksRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_fedlineage_v1_Task__Output>;
  
  UploadUpdate(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  UploadUpdate(metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  UploadUpdate(options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  UploadUpdate(callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  uploadUpdate(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  uploadUpdate(metadata: grpc.Metadata, callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  uploadUpdate(options: grpc.CallOptions, callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  uploadUpdate(callback: grpc.requestCallback<_fedlineage_v1_UploadReceipt__Output>): grpc.ClientWritableStream<_fedlineage_v1_UpdateChunk>;
  
}

export interface FederationHandlers extends grpc.UntypedServiceImplementation {
  AbortRound: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt>;
  
  ChangeMembership: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt>;
  
  DownloadModel: grpc.handleServerStreamingCall<_fedlineage_v1_DownloadModelRequest__Output, _fedlineage_v1_ModelChunk>;
  
  Hello: grpc.handleUnaryCall<_fedlineage_v1_HelloRequest__Output, _fedlineage_v1_HelloResponse>;
  
  ReportEvaluation: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_EvaluationReceipt>;
  
  RoundStatus: grpc.handleUnaryCall<_fedlineage_v1_RoundStatusRequest__Output, _fedlineage_v1_RoundStatusResponse>;
  
  StartRound: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StartRoundResponse>;
  
  SubmitApproval: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt>;
  
  SubmitCosignature: grpc.handleUnaryCall<_fedlineage_v1_CosignatureRequest__Output, _fedlineage_v1_CosignatureReceipt>;
  
  SubmitDeclined: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt>;
  
  SubmitPatientRewards: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_PatientRewardsReceipt>;
  
  SubmitSecAgg: grpc.handleUnaryCall<_fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt>;
  
  Tasks: grpc.handleServerStreamingCall<_fedlineage_v1_TasksRequest__Output, _fedlineage_v1_Task>;
  
  UploadUpdate: grpc.handleClientStreamingCall<_fedlineage_v1_UpdateChunk__Output, _fedlineage_v1_UploadReceipt>;
  
}

export interface FederationDefinition extends grpc.ServiceDefinition {
  AbortRound: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_StatementReceipt, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt__Output>
  ChangeMembership: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_StatementReceipt, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt__Output>
  DownloadModel: MethodDefinition<_fedlineage_v1_DownloadModelRequest, _fedlineage_v1_ModelChunk, _fedlineage_v1_DownloadModelRequest__Output, _fedlineage_v1_ModelChunk__Output>
  Hello: MethodDefinition<_fedlineage_v1_HelloRequest, _fedlineage_v1_HelloResponse, _fedlineage_v1_HelloRequest__Output, _fedlineage_v1_HelloResponse__Output>
  ReportEvaluation: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_EvaluationReceipt, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_EvaluationReceipt__Output>
  RoundStatus: MethodDefinition<_fedlineage_v1_RoundStatusRequest, _fedlineage_v1_RoundStatusResponse, _fedlineage_v1_RoundStatusRequest__Output, _fedlineage_v1_RoundStatusResponse__Output>
  StartRound: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_StartRoundResponse, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StartRoundResponse__Output>
  SubmitApproval: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_StatementReceipt, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt__Output>
  SubmitCosignature: MethodDefinition<_fedlineage_v1_CosignatureRequest, _fedlineage_v1_CosignatureReceipt, _fedlineage_v1_CosignatureRequest__Output, _fedlineage_v1_CosignatureReceipt__Output>
  SubmitDeclined: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_StatementReceipt, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt__Output>
  SubmitPatientRewards: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_PatientRewardsReceipt, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_PatientRewardsReceipt__Output>
  SubmitSecAgg: MethodDefinition<_fedlineage_v1_SignedStatement, _fedlineage_v1_StatementReceipt, _fedlineage_v1_SignedStatement__Output, _fedlineage_v1_StatementReceipt__Output>
  Tasks: MethodDefinition<_fedlineage_v1_TasksRequest, _fedlineage_v1_Task, _fedlineage_v1_TasksRequest__Output, _fedlineage_v1_Task__Output>
  UploadUpdate: MethodDefinition<_fedlineage_v1_UpdateChunk, _fedlineage_v1_UploadReceipt, _fedlineage_v1_UpdateChunk__Output, _fedlineage_v1_UploadReceipt__Output>
}
