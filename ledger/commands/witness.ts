/**
 * `fedlineage witness --key FILE --log VKEY [--log VKEY...] [--listen HOST:PORT] [--state DIR] [--name NAME]`:
 * runs a C2SP witness (ledger/witness/server.ts) until stopped. Prints its
 * URL and its cosignature verifier key (what a study's witness policy names).
 *
 * `FEDLINEAGE_WITNESS_KILL_AFTER_PERSIST=1` makes the process SIGKILL itself
 * after persisting a new tree and before replying: the crash the rollback
 * test needs, at the one point where it matters.
 */
import type { CliIo } from '../../cli/index.ts'
import { parseVerifierKey, type NoteVerifierKey } from '../core/signed-note.ts'
import { LedgerInvalidArgumentError } from '../errors.ts'
import { loadSigner } from '../identity.ts'
import { startWitness } from '../witness/server.ts'

/** The environment variable of the crash hook (tests only). */
export const WITNESS_KILL_AFTER_PERSIST_ENV = 'FEDLINEAGE_WITNESS_KILL_AFTER_PERSIST'

export interface WitnessCommandOptions {
  readonly key: string
  readonly log: readonly string[]
  readonly listen: string
  readonly state: string
  readonly name?: string
}

export function parseWitnessOptions(raw: Record<string, unknown>): WitnessCommandOptions {
  const log = raw['log']
  const logs = Array.isArray(log) ? log.map(String) : log === undefined ? [] : [String(log)]
  return {
    key: String(raw['key']),
    log: logs,
    listen: String(raw['listen']),
    state: String(raw['state']),
    ...(raw['name'] === undefined ? {} : { name: String(raw['name']) }),
  }
}

export async function runWitness(opts: WitnessCommandOptions, io: CliIo): Promise<void> {
  const m = /^(\[[^\]]+\]|[^\s:]+):(\d{1,5})$/.exec(opts.listen)
  if (!m) throw new LedgerInvalidArgumentError(`--listen ${opts.listen}: must be host:port, e.g. --listen 127.0.0.1:7380`)
  if (opts.log.length === 0) throw new LedgerInvalidArgumentError('--log: name at least one log verifier key (the coordinator prints it: `fedlineage log checkpoint --db DIR`)')
  const logs: NoteVerifierKey[] = opts.log.map((v) => {
    try {
      return parseVerifierKey(v)
    } catch (err) {
      throw new LedgerInvalidArgumentError(`--log ${v.slice(0, 80)}: ${(err as Error).message}`, { cause: err })
    }
  })
  const signer = await loadSigner(opts.key)
  const kill = process.env[WITNESS_KILL_AFTER_PERSIST_ENV] === '1'
  const witness = await startWitness({
    signer,
    ...(opts.name === undefined ? {} : { name: opts.name }),
    logs,
    stateDir: opts.state,
    host: m[1]!.replace(/^\[|\]$/g, ''),
    port: Number(m[2]),
    ...(kill ? { afterPersist: () => process.kill(process.pid, 'SIGKILL') } : {}),
  })
  // Scripts and tests read these two lines; keep their shape.
  io.stdout.write(`witness listening on ${witness.url}\n`)
  io.stdout.write(`verifier key: ${witness.verifierKey}\n`)
  await new Promise<void>((resolve) => {
    const stop = () => void witness.close().then(resolve)
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
