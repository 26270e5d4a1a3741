import { ProtocolError } from '../protocol/index.ts'

/**
 * Errors of the coordinator. One class per condition with a stable `code`;
 * `coordinator/grpc/status.ts` maps each to a gRPC status, and the CLI maps
 * them to exit codes. Messages name the site, round and both values.
 */
export class CoordinatorError extends ProtocolError {
  static override readonly code: string = 'COORD_ERROR'
}

export class CoordinatorConfigError extends CoordinatorError {
  static override readonly code = 'COORD_CONFIG_INVALID'
}
/** A call whose TLS client certificate is not the one of the party it speaks for. */
export class PeerIdentityError extends CoordinatorError {
  static override readonly code = 'COORD_PEER_MISMATCH'
}
/** A site opened a newer task stream: the older one ends with this status (one stream per site). */
export class TaskStreamReplacedError extends CoordinatorError {
  static override readonly code = 'COORD_STREAM_REPLACED'
}
/** An upload that sent nothing for the idle limit, or less than the minimum rate over a window: dropped, nothing logged. */
export class UploadStalledError extends CoordinatorError {
  static override readonly code = 'COORD_UPLOAD_STALLED'
}
/** A download whose client read nothing for the stall limit: ended, so it holds no stream or file. */
export class DownloadStalledError extends CoordinatorError {
  static override readonly code = 'COORD_DOWNLOAD_STALLED'
}
/** A call that sent no request message within the authentication deadline: ended, nothing logged. */
export class AuthDeadlineError extends CoordinatorError {
  static override readonly code = 'COORD_AUTH_DEADLINE'
}
/** Too many upload bytes are in flight: the upload is refused before its envelope is read, unlogged; retry later. */
export class CoordinatorBusyError extends CoordinatorError {
  static override readonly code = 'COORD_BUSY'
}
/** The coordinator's log could not be written after its state took the entries: it refuses input until restarted. */
export class CoordinatorStoreError extends CoordinatorError {
  static override readonly code = 'COORD_STORE_FAILED'
}
/** Request bytes that are not a message of the call's type. */
export class RequestUndecodableError extends CoordinatorError {
  static override readonly code = 'COORD_REQUEST_UNDECODABLE'
}
export class SessionInvalidError extends CoordinatorError {
  static override readonly code = 'COORD_SESSION_INVALID'
}
export class UploadProtocolError extends CoordinatorError {
  static override readonly code = 'COORD_UPLOAD_PROTOCOL'
}
export class QuorumUnmetError extends CoordinatorError {
  static override readonly code = 'COORD_QUORUM_UNMET'
}
export class ModelNotFoundError extends CoordinatorError {
  static override readonly code = 'COORD_MODEL_NOT_FOUND'
}
