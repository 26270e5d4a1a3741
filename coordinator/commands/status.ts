/**
 * `fedlineage status --coordinator HOST:PORT [--watch [--interval S]]`: a
 * study's current round (deadline, time left, sites uploaded and missing),
 * the per-site metrics of the latest evaluated round with the sites far
 * below the weighted mean flagged, and the table of rounds. Read from the
 * coordinator's `RoundStatus` RPC, so it works while the study runs;
 * `--watch` redraws it every interval until Ctrl-C.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { processIo, type CliIo } from '../../cli/index.ts'
import type { RoundStatusResponse__Output } from '../../protos/index.ts'
import { CoordinatorConfigError } from '../errors.ts'
import type { HubClient } from '../hub-client.ts'
import { formatConsentTable, formatRoundTable, formatSiteControl } from '../round-table.ts'
import { DEFAULT_FLAG_RULE, formatCurrentRound, formatSiteMetrics, type FlagRule } from '../status-view.ts'
import { connectHub, type ConnectOptions } from './connect-options.ts'

/** Everything `status` prints for one answer of the coordinator. */
export function renderStatus(status: RoundStatusResponse__Output, rule: FlagRule = DEFAULT_FLAG_RULE): string {
  const out = [`study ${status.studyId}: ${status.committedRounds}/${status.roundsTarget} rounds committed${status.done ? ', done' : ''}`, formatCurrentRound(status)]
  const metrics = formatSiteMetrics(status, rule)
  if (metrics !== '') out.push('', metrics)
  out.push('', formatRoundTable(status.rounds))
  const consent = formatConsentTable(status.rounds)
  if (consent !== '') out.push('', `consent per round and site:\n${consent}`)
  const control = formatSiteControl(status)
  if (control !== '') out.push('', `site control (approvals, declined tasks):\n${control}`)
  return `${out.join('\n')}\n`
}

/** Clears a terminal and puts the cursor home, so each frame replaces the last. */
const CLEAR_SCREEN = '\x1b[2J\x1b[H'

export interface WatchInit {
  readonly intervalMs: number
  readonly signal: AbortSignal
  readonly rule?: FlagRule
}

/**
 * Prints the status every `intervalMs` until `signal` aborts. On a terminal
 * each frame replaces the last; elsewhere frames follow each other under a
 * rule with the time. A coordinator that does not answer is said in the
 * frame, and asked again at the next interval.
 */
export async function watchStatus(client: Pick<HubClient, 'status'>, io: CliIo, init: WatchInit): Promise<void> {
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true
  while (!init.signal.aborted) {
    let frame: string
    try {
      frame = renderStatus(await client.status(), init.rule)
    } catch (err) {
      frame = `coordinator did not answer: ${(err as Error).message}; asking again in ${init.intervalMs / 1000} s\n`
    }
    if (init.signal.aborted) break
    io.stdout.write(tty ? `${CLEAR_SCREEN}${frame}` : `--- ${new Date().toISOString()}\n${frame}`)
    await sleep(init.intervalMs, undefined, { signal: init.signal }).catch(() => undefined)
  }
}

export type StatusOptions = ConnectOptions & { readonly watch?: boolean; readonly interval: string; readonly flagGap: string }

function parseStatusOptions(opts: StatusOptions): { intervalMs: number; rule: FlagRule } {
  const interval = Number(opts.interval)
  if (!Number.isFinite(interval) || interval < 0.1) throw new CoordinatorConfigError(`--interval ${opts.interval}: must be a number of seconds, at least 0.1`)
  const gap = Number(opts.flagGap)
  if (!Number.isFinite(gap) || gap < 0 || gap > 1) throw new CoordinatorConfigError(`--flag-gap ${opts.flagGap}: must be between 0 and 1 (accuracy and AUC points below the weighted mean)`)
  return { intervalMs: Math.round(interval * 1000), rule: { ...DEFAULT_FLAG_RULE, gap } }
}

/** Prints the status once, or (`--watch`) until Ctrl-C. */
export async function runStatus(opts: StatusOptions, io: CliIo = processIo()): Promise<void> {
  const { intervalMs, rule } = parseStatusOptions(opts)
  const client = await connectHub(opts, (line) => io.stderr.write(`${line}\n`))
  try {
    if (opts.watch !== true) return void io.stdout.write(renderStatus(await client.status(), rule))
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      await watchStatus(client, io, { intervalMs, signal: stop.signal, rule })
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  } finally {
    client.close()
  }
}
