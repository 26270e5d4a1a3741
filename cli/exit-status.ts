/**
 * The exit status of a failed command, by its error code. Scripts branch on
 * these, so they are part of the CLI's contract:
 *
 * - 1: a failure, including an audit that found a fault (a verdict, never a usage error);
 * - 2: bad input or configuration (a malformed argument, key file or config);
 * - 3: an audit that checked what it could and found no fault, but could not
 *   check everything (`AUDIT_PARTIAL`): neither passed nor failed.
 */
import { EXIT_FAILURE } from './constants.ts'

/** An invocation that cannot work as written. */
export const EXIT_USAGE = 2
/** An audit whose verdict is partial: no fault found in what it could check, and not everything checked. */
export const EXIT_PARTIAL = 3
/** The code of a partial audit verdict. */
export const PARTIAL_AUDIT_CODE = 'AUDIT_PARTIAL'

/** Exit status by error code (see the module doc). */
export function exitStatusOf(code: string): number {
  if (code === PARTIAL_AUDIT_CODE) return EXIT_PARTIAL
  if (code.startsWith('AUDIT_')) return EXIT_FAILURE
  return /CONFIG_INVALID|_MALFORMED$|IDENTITY_INVALID|^PKI_TLS_CONFIG$/.test(code) ? EXIT_USAGE : EXIT_FAILURE
}
