/**
 * Plays one round of secure aggregation in memory, in the order the
 * coordinator runs it: advertise, share keys, forward the boxes, mask,
 * reveal, unmask. Dropouts can be placed at each phase; every message is
 * kept so tests can tamper with it before `unmask`.
 */
import type { SecAggParams } from '../../models/core/index.ts'
import { SiteSecAggSession, unmaskSum, type SecAggPublicKeys, type SecAggReveal, type UnmaskInput } from '../../protocol/index.ts'
import { seededRandomBytes } from './seeded-random-bytes.ts'

export interface RoundPlan {
  readonly study?: string
  readonly round?: number
  readonly seed?: number
  readonly params: Pick<SecAggParams, 'k' | 't'>
  /** Each participant's quantized input. */
  readonly inputs: ReadonlyMap<string, Uint32Array>
  /** Sites that advertise keys, then send no shares (not in U2). */
  readonly dropBeforeShares?: readonly string[]
  /** Sites that share, then send no masked input (U2 ∖ U3). */
  readonly dropBeforeMasking?: readonly string[]
  /** Survivors that send no reveal. */
  readonly dropBeforeReveal?: readonly string[]
}

export interface PlayedRound {
  readonly sessions: ReadonlyMap<string, SiteSecAggSession>
  readonly keys: ReadonlyMap<string, SecAggPublicKeys>
  /** Boxes by recipient, then sender: what the coordinator forwards. */
  readonly boxes: ReadonlyMap<string, Map<string, Uint8Array>>
  readonly masked: ReadonlyMap<string, Uint32Array>
  readonly survivors: readonly string[]
  /** Everything unmaskSum needs; `reveals` is a fresh, mutable copy. */
  readonly unmaskInput: UnmaskInput & { reveals: Map<string, SecAggReveal[]> }
  /** Σ x_u mod 2^32 over the survivors, computed in the clear. */
  readonly plainSum: Uint32Array
}

export async function playRound(plan: RoundPlan): Promise<PlayedRound> {
  const study = plan.study ?? 'secagg-study'
  const round = plan.round ?? 1
  const seed = plan.seed ?? 4242
  const participants = [...plan.inputs.keys()]
  const sessions = new Map(participants.map((site) => [site, new SiteSecAggSession({ study, round, site, seed, params: plan.params, randomBytes: seededRandomBytes(`${study}/${round}/${site}`) })]))
  const keys = new Map(participants.map((site) => [site, sessions.get(site)!.advertise()]))

  const sharing = participants.filter((s) => !plan.dropBeforeShares?.includes(s))
  const boxes = new Map(sharing.map((s) => [s, new Map<string, Uint8Array>()]))
  const bCommits = new Map<string, Uint8Array>()
  for (const from of sharing) {
    const { shares, bCommit } = await sessions.get(from)!.shareKeys(keys)
    bCommits.set(from, bCommit)
    for (const { to, box } of shares) boxes.get(to)?.set(from, box)
  }
  for (const site of sharing) sessions.get(site)!.receiveShares(boxes.get(site)!)

  const survivors = sharing.filter((s) => !plan.dropBeforeMasking?.includes(s))
  const masked = new Map(survivors.map((s) => [s, sessions.get(s)!.maskInput(plan.inputs.get(s)!)]))
  const reveals = new Map<string, SecAggReveal[]>()
  for (const s of survivors) if (!plan.dropBeforeReveal?.includes(s)) reveals.set(s, sessions.get(s)!.revealShares(survivors))

  const plainSum = new Uint32Array(plan.inputs.values().next().value!.length)
  for (const s of survivors) {
    const x = plan.inputs.get(s)!
    for (let i = 0; i < x.length; i++) plainSum[i] = plainSum[i]! + x[i]!
  }
  const unmaskInput = { study, round, seed, params: plan.params, keys, bCommits, sharedBy: sharing, survivors, reveals, masked: (s: string) => masked.get(s)! }
  return { sessions, keys, boxes, masked, survivors, unmaskInput, plainSum }
}

export { unmaskSum }
