/**
 * `fedlineage rewards --db DIR [--site ID]`: participant balances, derived
 * only by replaying the log's signed `round-rewarded` entries (no balance is
 * stored anywhere else), with the per-round breakdown. Works while the
 * coordinator runs: a store it holds is read as a consistent snapshot.
 */
import type { CliIo } from '../../cli/index.ts'
import { snapshotNotice, type StoreSnapshot } from '../../ledger/index.ts'
import { UnknownSiteError } from '../../protocol/index.ts'
import { foldStoredStudy } from './stored-study.ts'

export interface RewardsView {
  readonly study: string
  readonly balances: readonly { readonly site: string; readonly credits: bigint }[]
  readonly rounds: readonly { readonly round: number; readonly method: string; readonly pool: bigint; readonly allocations: readonly { readonly site: string; readonly amount: bigint }[] }[]
  readonly unallocated: bigint
}

/** Folds a log into its reward balances; a store held by a running process is read as a snapshot (`onSnapshot` says so). */
export async function rewardsOf(dbDir: string, init: { readonly onSnapshot?: (snapshot: StoreSnapshot) => void } = {}): Promise<RewardsView> {
  const state = await foldStoredStudy(dbDir, init)
  const rounds = [...state.rounds.values()]
    .filter((r) => r.rewards)
    .map((r) => ({ round: r.round, method: r.rewards!.body.method, pool: r.rewards!.body.pool, allocations: r.rewards!.body.allocations.map((a) => ({ site: a.site, amount: a.amount })) }))
  const balances = [...state.sites.keys()].sort().map((site) => ({ site, credits: state.balances.get(site) ?? 0n }))
  return { study: state.studyId, balances, rounds, unallocated: state.unallocated }
}

/** Prints the balances of every site, or of one with its per-round amounts. Throws UnknownSiteError for a site the study does not have. */
export async function printRewards(opts: { readonly db: string; readonly site?: string }, io: CliIo): Promise<void> {
  const view = await rewardsOf(opts.db, { onSnapshot: (s) => io.stderr.write(`${snapshotNotice(s)}\n`) })
  const out: string[] = [`study ${view.study}: ${view.rounds.length} rewarded rounds`]
  // A mistyped id must not read as a site that earned nothing.
  if (opts.site !== undefined && !view.balances.some((b) => b.site === opts.site))
    throw new UnknownSiteError(`--site "${opts.site}": no such site in study "${view.study}"; its sites are ${view.balances.map((b) => `"${b.site}"`).join(', ')}`)
  if (opts.site) {
    for (const r of view.rounds)
      out.push(`round ${String(r.round).padStart(3)}  ${r.method.padEnd(13)} ${String(r.allocations.find((a) => a.site === opts.site)?.amount ?? 0n).padStart(12)} of ${r.pool}`)
    out.push(`${opts.site}: ${view.balances.find((b) => b.site === opts.site)?.credits ?? 0n} credits`)
  } else {
    for (const b of view.balances) out.push(`${b.site.padEnd(24)} ${String(b.credits).padStart(14)} credits`)
    if (view.unallocated > 0n) out.push(`${'(unallocated)'.padEnd(24)} ${String(view.unallocated).padStart(14)} credits`)
  }
  io.stdout.write(out.join('\n') + '\n')
}
