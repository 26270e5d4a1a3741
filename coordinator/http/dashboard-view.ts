/**
 * What the dashboard's JSON API answers: the study view of the log
 * (protocol's `studyView`, the same reading the audit's HTML report shows),
 * plus what only the running coordinator knows: which sites are online and
 * when each was last seen, which were sent the open round's fit task, and
 * the log's size, head, newest checkpoint and newest cosigned checkpoint.
 * Nothing secret: no keys beyond the public ones the log holds, no deltas
 * (their hashes only), no session tokens.
 */
import { readCheckpoint, toHex, type Ledger } from '../../ledger/index.ts'
import { studyView, type StudyView } from '../../protocol/index.ts'
import type { RoundRunner } from '../round-runner.ts'
import type { SitePresence } from '../task-broker.ts'

export interface DashboardComponents {
  readonly runner: RoundRunner
  readonly ledger: Ledger
  readonly presence: () => readonly SitePresence[]
  readonly fitTasksSent: (round: number) => ReadonlyMap<string, number>
  /** When each site finished downloading a model, by its hex hash. */
  readonly modelDownloads: (modelHex: string) => ReadonlyMap<string, number>
  /** Per site, the newest log size its replica cosigned (from this run). */
  readonly cosignedSizes: () => ReadonlyMap<string, number>
  readonly now: () => number
}

export interface SiteStatusView {
  readonly id: string
  readonly online: boolean
  /** When its task stream was last open; null when it never connected to this run. */
  readonly lastSeenMs: number | null
  readonly removed: boolean
  readonly approved: boolean
  readonly balance: string
  /** The newest log size its replica cosigned, or null. */
  readonly cosignedSize: number | null
}

export interface CurrentRoundView {
  readonly round: number
  readonly status: string
  readonly openedMs: number
  readonly deadlineMs: number
  /** When each site was sent the round's fit task (this run), by site. */
  readonly taskSentMs: Readonly<Record<string, number>>
  /** When each site finished downloading the round's base model (this run), by site. */
  readonly downloadedMs: Readonly<Record<string, number>>
}

export interface LogView {
  readonly size: number
  readonly head: string
  readonly checkpoint: { readonly size: number; readonly root: string } | null
  /** The newest checkpoint a site cosigned, with every cosignature of it. */
  readonly cosigned: { readonly size: number; readonly cosignatures: readonly { readonly witness: string; readonly site: string | null; readonly timeMs: number }[] } | null
}

export interface DashboardView extends StudyView {
  readonly generatedMs: number
  readonly siteStatus: readonly SiteStatusView[]
  readonly current: CurrentRoundView | null
  readonly log: LogView
}

export async function dashboardView(c: DashboardComponents): Promise<DashboardView> {
  const state = c.runner.state
  const view = studyView(state)
  const presence = new Map(c.presence().map((p) => [p.site, p]))
  const cosigned = c.cosignedSizes()
  const siteStatus = view.sites.map((s): SiteStatusView => {
    const p = presence.get(s.id)
    return {
      id: s.id,
      online: p?.online === true,
      lastSeenMs: p?.lastSeenMs ?? null,
      removed: s.removed,
      approved: s.approvalSeq !== null,
      balance: view.balances[s.id] ?? '0',
      cosignedSize: cosigned.get(s.id) ?? null,
    }
  })
  const last = state.rounds.get(state.lastRound)
  const current: CurrentRoundView | null =
    last === undefined
      ? null
      : {
          round: last.round,
          status: last.status,
          openedMs: last.openedMs,
          deadlineMs: last.deadlineMs,
          taskSentMs: Object.fromEntries(c.fitTasksSent(last.round)),
          downloadedMs: Object.fromEntries(c.modelDownloads(toHex(last.base))),
        }
  return { ...view, generatedMs: c.now(), siteStatus, current, log: await logView(c, state.sites) }
}

async function logView(c: DashboardComponents, sites: ReadonlyMap<string, Uint8Array>): Promise<LogView> {
  const latest = await c.ledger.latestCheckpoint()
  const cp = latest === undefined ? undefined : readCheckpoint(latest)
  const newestCosigned = Math.max(0, ...c.cosignedSizes().values())
  const siteOfKey = new Map([...sites].map(([id, key]) => [toHex(key), id]))
  const cosignatures = newestCosigned > 0 ? await c.ledger.cosignatures(newestCosigned) : []
  return {
    size: c.ledger.length,
    head: toHex(c.ledger.headHash),
    checkpoint: cp === undefined ? null : { size: cp.size, root: toHex(cp.root) },
    cosigned:
      newestCosigned > 0
        ? { size: newestCosigned, cosignatures: cosignatures.map((s) => ({ witness: toHex(s.witness), site: siteOfKey.get(toHex(s.witness)) ?? null, timeMs: s.timestamp * 1000 })) }
        : null,
  }
}
