/** The one line a failed command prints: `CODE: message`. */
import { UNCODED_ERROR } from './constants.ts'

/**
 * The stable code of an error: a remote peer's code when it carries one
 * (`remoteCode`, set by RPC clients), else its own `code` (`LEDGER_CHAIN_BROKEN`,
 * `ENOENT`), else UNCODED_ERROR.
 */
export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return UNCODED_ERROR
  const { remoteCode, code } = err as { remoteCode?: unknown; code?: unknown }
  if (typeof remoteCode === 'string' && remoteCode.length > 0) return remoteCode
  if (typeof code === 'string' && code.length > 0) return code
  return UNCODED_ERROR
}

/** `CODE: message`. */
export function formatCliError(err: unknown): string {
  return `${errorCode(err)}: ${err instanceof Error ? err.message : String(err)}`
}
