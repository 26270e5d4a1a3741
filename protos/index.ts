/**
 * The gRPC contract between site agents and the coordinator: the one place
 * that loads `federation.proto`. `LOADER_OPTIONS` must match the flags of
 * `npm run gen` (proto-loader-gen-types), otherwise the committed types in
 * `protos/gen/` would describe different runtime objects; `npm run gen:check`
 * keeps the generated files in step with the .proto.
 */
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { fileURLToPath } from 'node:url'
import type { ProtoGrpcType } from './gen/federation.ts'
import type { FederationClient } from './gen/fedlineage/v1/Federation.ts'

export const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
}

/** Absolute path of the service definition, resolved from this module so it works from any cwd. */
export const FEDERATION_PROTO_PATH = fileURLToPath(new URL('./federation.proto', import.meta.url))

/**
 * The trailer that carries a refusal's stable error code (e.g. COORD_WRONG_ROUND)
 * beside gRPC's status, so clients branch on codes, never on message text.
 */
export const ERROR_CODE_METADATA_KEY = 'fl-error-code'

/** The stable error code a client received: the trailer, else the `CODE: ` prefix of `details`. */
export function errorCodeOf(err: unknown): string | undefined {
  const e = err as Partial<grpc.ServiceError> | undefined
  const fromMeta = e?.metadata?.get(ERROR_CODE_METADATA_KEY)?.[0]
  if (typeof fromMeta === 'string') return fromMeta
  return /^([A-Z][A-Z0-9_]+): /.exec(e?.details ?? '')?.[1]
}

/** Chunk size for weights on the wire: far below gRPC's 4 MiB default message limit. */
export const WIRE_CHUNK_BYTES = 1 << 20

let cached: ProtoGrpcType | undefined

/** The loaded package definition (loaded once per process). */
export function loadFederationProto(): ProtoGrpcType {
  if (cached === undefined) {
    const definition = protoLoader.loadSync(FEDERATION_PROTO_PATH, LOADER_OPTIONS)
    // The single cast in the project from the untyped loader to the generated types.
    cached = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType
  }
  return cached
}

/** The Federation service definition, for `server.addService`. */
export function federationService(): ProtoGrpcType['fedlineage']['v1']['Federation']['service'] {
  return loadFederationProto().fedlineage.v1.Federation.service
}

/** A typed client of the Federation service. */
export function createFederationClient(address: string, credentials = grpc.credentials.createInsecure(), options?: grpc.ClientOptions): FederationClient {
  const Ctor = loadFederationProto().fedlineage.v1.Federation
  // No channelz: nothing here serves its admin API, and its per-call bookkeeping costs every call CPU.
  return new Ctor(address, credentials, { 'grpc.enable_channelz': 0, ...options })
}

export type { FederationClient, FederationHandlers } from './gen/fedlineage/v1/Federation.ts'
export type { SignedStatement, SignedStatement__Output } from './gen/fedlineage/v1/SignedStatement.ts'
export type { HelloRequest, HelloRequest__Output } from './gen/fedlineage/v1/HelloRequest.ts'
export type { HelloResponse, HelloResponse__Output } from './gen/fedlineage/v1/HelloResponse.ts'
export type { TasksRequest, TasksRequest__Output } from './gen/fedlineage/v1/TasksRequest.ts'
export type { Task, Task__Output } from './gen/fedlineage/v1/Task.ts'
export type { FitTask, FitTask__Output } from './gen/fedlineage/v1/FitTask.ts'
export type { EvaluateTask, EvaluateTask__Output } from './gen/fedlineage/v1/EvaluateTask.ts'
export type { SecAggTask, SecAggTask__Output } from './gen/fedlineage/v1/SecAggTask.ts'
export type { StudyDone, StudyDone__Output } from './gen/fedlineage/v1/StudyDone.ts'
export type { RoundCancelled, RoundCancelled__Output } from './gen/fedlineage/v1/RoundCancelled.ts'
export type { DownloadModelRequest, DownloadModelRequest__Output } from './gen/fedlineage/v1/DownloadModelRequest.ts'
export type { ModelChunk, ModelChunk__Output } from './gen/fedlineage/v1/ModelChunk.ts'
export type { UpdateChunk, UpdateChunk__Output } from './gen/fedlineage/v1/UpdateChunk.ts'
export type { UploadReceipt, UploadReceipt__Output } from './gen/fedlineage/v1/UploadReceipt.ts'
export type { EvaluationReceipt, EvaluationReceipt__Output } from './gen/fedlineage/v1/EvaluationReceipt.ts'
export type { StartRoundResponse, StartRoundResponse__Output } from './gen/fedlineage/v1/StartRoundResponse.ts'
export type { RoundStatusRequest, RoundStatusRequest__Output } from './gen/fedlineage/v1/RoundStatusRequest.ts'
export type { RoundStatusResponse, RoundStatusResponse__Output } from './gen/fedlineage/v1/RoundStatusResponse.ts'
export type { RoundSummary, RoundSummary__Output } from './gen/fedlineage/v1/RoundSummary.ts'
export type { SecAggProgress, SecAggProgress__Output } from './gen/fedlineage/v1/SecAggProgress.ts'
export type { SiteMetric, SiteMetric__Output } from './gen/fedlineage/v1/SiteMetric.ts'
export { grpc }
export type { CosignatureRequest, CosignatureRequest__Output } from './gen/fedlineage/v1/CosignatureRequest.ts'
export type { CosignatureReceipt, CosignatureReceipt__Output } from './gen/fedlineage/v1/CosignatureReceipt.ts'
export type { SiteConsent, SiteConsent__Output } from './gen/fedlineage/v1/SiteConsent.ts'
