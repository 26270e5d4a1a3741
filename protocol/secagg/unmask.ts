/**
 * The coordinator's and the audit's side of secure aggregation: from the
 * survivors' masked inputs and the shares the sites revealed, the sum of the
 * survivors' quantized inputs, Σ_{u ∈ U3} x_u mod 2^32. Pure and synchronous
 * (the round decider calls it while deciding, and the audit while replaying
 * the log), deterministic, and it fails with a typed error rather than return
 * a wrong sum:
 *
 * - each survivor's self-mask seed b_u is rebuilt from the b shares revealed
 *   of it (all of them, at least t) and must hash to its logged commitment;
 * - each dropped site v (shared, then sent no masked input) with a surviving
 *   neighbour has its mask key sSk_v rebuilt from the s shares, and
 *   X25519(sSk_v) must be its advertised sPk_v;
 * - a revealer may give one kind of share per site, the kind U3 calls for.
 *
 * Then sum = Σ y_u − Σ PRG(b_u) − Σ_{v dropped, u ∈ U3 ∩ N(v)} ±PRG(s_uv),
 * the sign + when u's id is below v's (the sign u masked with). Masked inputs
 * are read one at a time through `masked(site)`, so memory is the sum and one
 * scratch array, whatever the number of sites.
 */
import type { SecAggParams } from '../../models/core/index.ts'
import { equalBytes, sha256 } from '../../ledger/core/index.ts'
import { ProtocolInvalidArgumentError, SecAggDoubleRevealError, SecAggShareInvalidError, SecAggSurvivorsInvalidError, SecAggThresholdError } from '../errors.ts'
import { SECAGG_KEY_BYTES } from './constants.ts'
import { maskInfo, pairSecret, publicKeyOf } from './key-agreement.ts'
import { addMask, addWords } from './mask-arithmetic.ts'
import { secAggGraph } from './neighbors.ts'
import { compareSiteIds } from '../study-state.ts'
import { combineShares } from './shamir.ts'
import type { SecAggPublicKeys, SecAggReveal, SecAggShareKind } from './types.ts'

export interface UnmaskInput {
  readonly study: string
  readonly round: number
  /** The round's logged graph seed. */
  readonly seed: number
  /** The round's resolved parameters; k and t are used here. */
  readonly params: Pick<SecAggParams, 'k' | 't'>
  /** U1: every participant's advertised keys (the graph is built over these sites). */
  readonly keys: ReadonlyMap<string, SecAggPublicKeys>
  /** SHA-256(b) each site committed to in its share message (at least every survivor's). */
  readonly bCommits: ReadonlyMap<string, Uint8Array>
  /** U2: the sites whose share boxes were forwarded to their neighbours. */
  readonly sharedBy: readonly string[]
  /** U3: the sites whose masked inputs are summed (a subset of U2). */
  readonly survivors: readonly string[]
  /** The shares each revealer gave in the unmask phase (revealers are survivors). */
  readonly reveals: ReadonlyMap<string, readonly SecAggReveal[]>
  /** A survivor's masked input; called once per survivor, in code-unit order. All have one length. */
  readonly masked: (site: string) => Uint32Array
}

type SharesOf = Map<string, { kind: SecAggShareKind; shares: Uint8Array[] }>

/**
 * Σ_{u ∈ U3} x_u mod 2^32. Throws SecAggThresholdError (a secret with fewer
 * than t shares), SecAggShareInvalidError (a malformed share, a share from a
 * non-neighbour, a rebuilt secret that fails its check), SecAggDoubleRevealError
 * (both kinds of one site from one revealer, or the kind U3 does not call for)
 * and SecAggSurvivorsInvalidError (survivors outside U2 or without keys).
 */
export function unmaskSum(input: UnmaskInput): Uint32Array {
  const { study, round, params, keys } = input
  const graph = secAggGraph([...keys.keys()], params.k, input.seed)
  const shared = new Set(input.sharedBy)
  const survivors = [...new Set(input.survivors)].sort(compareSiteIds)
  if (survivors.length !== input.survivors.length) throw new SecAggSurvivorsInvalidError(`round ${round}: the survivor list repeats a site`, 'survivors')
  for (const s of input.sharedBy) if (!keys.has(s)) throw new SecAggSurvivorsInvalidError(`round ${round}: site "${s}" shared without advertised keys`, s)
  const alive = new Set(survivors)
  for (const u of survivors) if (!shared.has(u)) throw new SecAggSurvivorsInvalidError(`round ${round}: survivor "${u}" never shared its keys, so its input cannot be unmasked`, u)
  if (survivors.length < params.t) {
    throw new SecAggThresholdError(`round ${round}: ${survivors.length} survivors, fewer than the threshold ${params.t}; abandon the round`, survivors[0] ?? 'survivors', survivors.length, params.t)
  }

  const collected = collectReveals(input, graph, shared, alive)

  const need = (site: string, kind: SecAggShareKind): Uint8Array => {
    const got = collected.get(site)
    const have = got?.kind === kind ? got.shares.length : 0
    if (have < params.t) {
      throw new SecAggThresholdError(`round ${round}: ${have} ${kind} shares revealed of site "${site}", fewer than the threshold ${params.t}; its mask cannot be removed`, site, have, params.t)
    }
    try {
      return combineShares(got!.shares)
    } catch (err) {
      if (err instanceof ProtocolInvalidArgumentError) throw new SecAggShareInvalidError(`round ${round}: the ${kind} shares of site "${site}" do not combine (${err.message})`, site, { cause: err })
      throw err
    }
  }

  // Rebuild and check every secret before reading any input.
  const selfSeeds = survivors.map((u) => {
    const b = need(u, 'b')
    const commit = input.bCommits.get(u)
    if (commit === undefined) throw new SecAggShareInvalidError(`round ${round}: survivor "${u}" has no logged b commitment`, u)
    if (!equalBytes(sha256(b), commit))
      throw new SecAggShareInvalidError(`round ${round}: the self-mask seed rebuilt for site "${u}" does not match its commitment: a revealer gave a wrong b share of "${u}"`, u)
    return b
  })
  const pairSeeds: { seed: Uint8Array; sign: 1 | -1 }[] = []
  for (const v of [...shared].sort(compareSiteIds)) {
    if (alive.has(v)) continue
    const survivingNeighbours = graph.get(v)!.filter((u) => alive.has(u))
    if (survivingNeighbours.length === 0) continue
    const sSk = need(v, 's')
    if (!equalBytes(publicKeyOf(sSk), keys.get(v)!.sPk)) {
      throw new SecAggShareInvalidError(`round ${round}: the mask key rebuilt for dropped site "${v}" is not the key it advertised: a revealer gave a wrong s share of "${v}"`, v)
    }
    for (const u of survivingNeighbours) {
      // u masked with +PRG(s_uv) when u < v; removing it takes the opposite sign.
      pairSeeds.push({ seed: pairSecret(sSk, keys.get(u)!.sPk, maskInfo(study, round, u, v), u), sign: u < v ? -1 : 1 })
    }
  }

  let sum: Uint32Array | undefined
  for (const u of survivors) {
    const y = input.masked(u)
    if (sum === undefined) sum = new Uint32Array(y.length)
    if (y.length !== sum.length) throw new ProtocolInvalidArgumentError(`round ${round}: masked input of site "${u}" has ${y.length} words, want ${sum.length}`)
    addWords(sum, y)
  }
  const acc = sum!
  const scratch = new Uint32Array(acc.length)
  for (const b of selfSeeds) addMask(acc, b, -1, scratch)
  for (const { seed, sign } of pairSeeds) addMask(acc, seed, sign, scratch)
  return acc
}

/** Checks every reveal and groups the shares by the site they are of. */
function collectReveals(input: UnmaskInput, graph: ReadonlyMap<string, readonly string[]>, shared: ReadonlySet<string>, alive: ReadonlySet<string>): SharesOf {
  const { round } = input
  const out: SharesOf = new Map()
  for (const revealer of [...input.reveals.keys()].sort(compareSiteIds)) {
    if (!alive.has(revealer)) throw new SecAggShareInvalidError(`round ${round}: site "${revealer}" revealed shares but is not a survivor; only survivors are asked`, revealer)
    const neighbours = new Set(graph.get(revealer) ?? [])
    const seen = new Map<string, SecAggShareKind>()
    for (const { of, kind, share } of input.reveals.get(revealer)!) {
      const before = seen.get(of)
      if (before !== undefined) {
        if (before !== kind) throw new SecAggDoubleRevealError(`round ${round}: site "${revealer}" revealed both a b and an s share of site "${of}"`, revealer)
        throw new SecAggShareInvalidError(`round ${round}: site "${revealer}" revealed two ${kind} shares of site "${of}"`, revealer)
      }
      seen.set(of, kind)
      if (!neighbours.has(of) || !shared.has(of)) throw new SecAggShareInvalidError(`round ${round}: site "${revealer}" revealed a share of "${of}", which never sent it shares`, revealer)
      const want: SecAggShareKind = alive.has(of) ? 'b' : 's'
      if (kind !== want) {
        throw new SecAggDoubleRevealError(
          `round ${round}: site "${revealer}" revealed a ${kind} share of "${of}", which ${alive.has(of) ? 'survived (only b may be revealed)' : 'dropped (only s may be revealed)'}`,
          revealer,
        )
      }
      if (share.length !== SECAGG_KEY_BYTES + 1)
        throw new SecAggShareInvalidError(`round ${round}: site "${revealer}" revealed a ${share.length}-byte share of "${of}", want ${SECAGG_KEY_BYTES + 1}`, revealer)
      let entry = out.get(of)
      if (entry === undefined) out.set(of, (entry = { kind, shares: [] }))
      entry.shares.push(share)
    }
  }
  return out
}
