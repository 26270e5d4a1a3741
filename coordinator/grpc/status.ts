/**
 * The one mapper from errors to gRPC statuses. Every handler error leaves
 * through `toServiceError`: the status code says what kind of failure it is,
 * `details` carries `CODE: message`, and the `fl-error-code` trailer carries
 * the stable code alone so clients branch on it, never on message text.
 */
import { Metadata, status, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js'
import { ERROR_CODE_METADATA_KEY } from '../../protos/index.ts'

export { ERROR_CODE_METADATA_KEY, errorCodeOf } from '../../protos/index.ts'
import { ProtocolError } from '../../protocol/index.ts'

const STATUS_BY_CODE: Readonly<Record<string, status>> = {
  COORD_UNKNOWN_SITE: status.PERMISSION_DENIED,
  COORD_NOT_HUB: status.PERMISSION_DENIED,
  COORD_PEER_MISMATCH: status.PERMISSION_DENIED,
  COORD_BAD_SIGNATURE: status.UNAUTHENTICATED,
  COORD_SESSION_INVALID: status.UNAUTHENTICATED,
  COORD_STREAM_REPLACED: status.ABORTED,
  COORD_STALE_REQUEST: status.FAILED_PRECONDITION,
  COORD_STUDY_MISMATCH: status.FAILED_PRECONDITION,
  COORD_WRONG_ROUND: status.FAILED_PRECONDITION,
  COORD_ROUND_STATE: status.FAILED_PRECONDITION,
  COORD_WRONG_BASE_MODEL: status.FAILED_PRECONDITION,
  COORD_UPDATE_REPLAYED: status.ALREADY_EXISTS,
  COORD_DUPLICATE_UPDATE: status.ALREADY_EXISTS,
  COORD_UPDATE_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  COORD_ENTRY_TOO_LARGE: status.INVALID_ARGUMENT,
  COORD_DELTA_INTEGRITY: status.INVALID_ARGUMENT,
  COORD_DELTA_SHAPE: status.INVALID_ARGUMENT,
  COORD_EXAMPLES_OUT_OF_RANGE: status.INVALID_ARGUMENT,
  COORD_NON_FINITE: status.INVALID_ARGUMENT,
  COORD_STATEMENT_INVALID: status.INVALID_ARGUMENT,
  COORD_UPLOAD_PROTOCOL: status.INVALID_ARGUMENT,
  COORD_REQUEST_UNDECODABLE: status.INVALID_ARGUMENT,
  COORD_UPLOAD_STALLED: status.DEADLINE_EXCEEDED,
  COORD_AUTH_DEADLINE: status.DEADLINE_EXCEEDED,
  COORD_DOWNLOAD_STALLED: status.DEADLINE_EXCEEDED,
  COORD_BUSY: status.RESOURCE_EXHAUSTED,
  COORD_STORE_FAILED: status.UNAVAILABLE,
  COORD_MODEL_NOT_FOUND: status.NOT_FOUND,
  COORD_CONSENT_MISSING: status.FAILED_PRECONDITION,
  COORD_CONSENT_INVALID: status.INVALID_ARGUMENT,
  COORD_CONSENT_PROOF_MISSING: status.FAILED_PRECONDITION,
  COORD_CONSENT_PROOF_INVALID: status.INVALID_ARGUMENT,
  COORD_DP_SGD_MISSING: status.FAILED_PRECONDITION,
  COORD_DP_SGD_INVALID: status.INVALID_ARGUMENT,
  COORD_DP_SGD_OVER_BUDGET: status.FAILED_PRECONDITION,
  COORD_PATIENT_REWARDS_INVALID: status.FAILED_PRECONDITION,
  COORD_PATIENT_REWARDS_AMOUNT_MISMATCH: status.INVALID_ARGUMENT,
  COORD_PATIENT_REWARDS_COUNT_MISMATCH: status.INVALID_ARGUMENT,
  COORD_APPROVAL_SPEC_MISMATCH: status.FAILED_PRECONDITION,
  COORD_APPROVAL_DUPLICATE: status.ALREADY_EXISTS,
  COORD_DECLINE_INVALID: status.FAILED_PRECONDITION,
  COORD_SECAGG_MESSAGE_INVALID: status.FAILED_PRECONDITION,
  COORD_DP_BUDGET_SPENT: status.FAILED_PRECONDITION,
  COORD_DP_SEED_INVALID: status.INTERNAL,
  COORD_MEMBERSHIP_INVALID: status.FAILED_PRECONDITION,
}

/** Maps any error to a gRPC ServiceError. Unknown errors become INTERNAL without leaking their text. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata()
  if (err instanceof ProtocolError) {
    metadata.set(ERROR_CODE_METADATA_KEY, err.code)
    return { code: STATUS_BY_CODE[err.code] ?? status.FAILED_PRECONDITION, details: `${err.code}: ${err.message}`, metadata }
  }
  metadata.set(ERROR_CODE_METADATA_KEY, 'COORD_INTERNAL')
  return { code: status.INTERNAL, details: 'COORD_INTERNAL: internal error (see the coordinator log)', metadata }
}

/**
 * Ends a server stream with the error's status and `fl-error-code` trailer.
 * Never `call.destroy(err)`: grpc-js sends a stream's status from its `_final`,
 * which a destroyed stream never runs, so the client would wait for its
 * deadline. grpc-js's own 'error' listener on the stream takes the status from
 * the error (code, details, metadata) and ends the call.
 */
export function failStream<Req, Res>(call: ServerWritableStream<Req, Res>, err: unknown): void {
  call.emit('error', toServiceError(err))
}
