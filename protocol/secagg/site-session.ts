/**
 * A site's side of one round of secure aggregation (Bonawitz et al. 2017,
 * over the round's k-regular graph as in SecAgg+). One session per site per
 * round holds the site's secrets in memory; it is the only place they exist.
 * The phases, in order, each called once:
 *
 * 1. `advertise()`: the site's two public keys.
 * 2. `shareKeys(peers)`: given every participant's keys, the site builds the
 *    round's graph, splits b and sSk t-of-k with Shamir and seals one box
 *    per neighbour; plus SHA-256(b), the commitment the unmasking checks.
 * 3. `receiveShares(boxes)`: the boxes its neighbours sent it (the senders
 *    are this site's neighbours in U2, the sites that shared).
 * 4. `maskInput(x)`: y = x + PRG(b) + Σ ±PRG(s_uv) over those senders.
 * 5. `revealShares(survivors)`: for each sender, its b share if it survived,
 *    else its sSk share. Never both for one site, and only once per round:
 *    that is what keeps a coordinator from unmasking one site's input.
 *
 * Pure and synchronous except for `shareKeys` (the Shamir library's `split`
 * is async) and the randomness it is given (`randomBytes`, for the keys and
 * the box nonces; the library draws the polynomials' randomness itself).
 */
import type { SecAggParams } from '../../models/core/index.ts'
import { equalBytes, sha256 } from '../../ledger/core/index.ts'
import { ProtocolInvalidArgumentError, SecAggDoubleRevealError, SecAggShareInvalidError, SecAggSurvivorsInvalidError, SecAggThresholdError } from '../errors.ts'
import { SECAGG_KEY_BYTES, SECAGG_NONCE_BYTES } from './constants.ts'
import { defaultRandomBytes, encInfo, generateSiteKeys, maskInfo, pairSecret } from './key-agreement.ts'
import { secAggGraph } from './neighbors.ts'
import { compareSiteIds } from '../study-state.ts'
import { addMask } from './mask-arithmetic.ts'
import { openShares, sealShares, type HeldShares } from './share-box.ts'
import { splitSecret } from './shamir.ts'
import type { RandomBytes, SecAggPublicKeys, SecAggReveal, SecAggSecrets, SecAggShareBox } from './types.ts'

/** A share of a 32-byte secret: 32 bytes and its x-coordinate. */
const SHARE_BYTES = SECAGG_KEY_BYTES + 1

export interface SiteSecAggSessionInit {
  readonly study: string
  /** The round number; boxes and masks are bound to it. */
  readonly round: number
  /** This site's id. */
  readonly site: string
  /** The round's logged seed of the graph (the same the coordinator and the audit use). */
  readonly seed: number
  /** The round's resolved parameters (`resolveSecAggParams`); k and t are used here. */
  readonly params?: Pick<SecAggParams, 'k' | 't'>
  /** Source of the keys and box nonces; default `nacl.randomBytes`. */
  readonly randomBytes?: RandomBytes
}

/** What a site sends in the share phase. */
export interface SecAggShareKeysResult {
  /** One box per neighbour, sorted by `to` in code-unit order. */
  readonly shares: readonly SecAggShareBox[]
  /** SHA-256(b): lets the unmasking (and the audit) reject a wrongly rebuilt self-mask seed. */
  readonly bCommit: Uint8Array
}

interface Neighbourhood {
  readonly neighbours: readonly string[]
  readonly encKeys: ReadonlyMap<string, Uint8Array>
  readonly maskSeeds: ReadonlyMap<string, Uint8Array>
}

export class SiteSecAggSession {
  readonly #init: SiteSecAggSessionInit
  readonly #randomBytes: RandomBytes
  readonly #keys: SecAggPublicKeys
  readonly #secrets: SecAggSecrets
  #neighbourhood: Neighbourhood | undefined
  // Set before shareKeys awaits, so that a second call cannot start while the first is splitting.
  #sharing = false
  #held: ReadonlyMap<string, HeldShares> | undefined
  /** k and t: from the constructor, or given to shareKeys (they are fixed only when the key phase closes, after the keys were advertised). */
  #params: Pick<SecAggParams, 'k' | 't'> | undefined
  #masked = false
  #revealed = false

  constructor(init: SiteSecAggSessionInit) {
    this.#init = init
    this.#params = init.params
    this.#randomBytes = init.randomBytes ?? defaultRandomBytes
    const { keys, secrets } = generateSiteKeys(this.#randomBytes)
    this.#keys = keys
    this.#secrets = secrets
  }

  /** The site's public keys for this round. */
  advertise(): SecAggPublicKeys {
    return { cPk: this.#keys.cPk.slice(), sPk: this.#keys.sPk.slice() }
  }

  /**
   * Splits b and sSk t-of-k among this site's neighbours and seals one box
   * for each. `peers` are the advertised keys of every participant of the
   * round, this site included (with the keys it advertised). Throws
   * SecAggThresholdError when the site has fewer than t neighbours, and
   * SecAggKeyInvalidError naming a neighbour whose key is unusable. Called
   * once; after a throw nothing has left the session, and it may be called
   * again (say with the bad neighbour left out of `peers`).
   */
  async shareKeys(peers: ReadonlyMap<string, SecAggPublicKeys>, roundParams?: Pick<SecAggParams, 'k' | 't'>): Promise<SecAggShareKeysResult> {
    const { round, site } = this.#init
    if (this.#sharing) throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: shareKeys called twice`)
    if (roundParams !== undefined) this.#params = roundParams
    const params = this.#params
    if (params === undefined) throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: shareKeys without k and t`)
    this.#sharing = true
    try {
      return await this.#share(peers, params)
    } catch (err) {
      // Nothing left the session: a later call with other peers (the bad one left out) may share afresh.
      this.#sharing = false
      throw err
    }
  }

  async #share(peers: ReadonlyMap<string, SecAggPublicKeys>, params: Pick<SecAggParams, 'k' | 't'>): Promise<SecAggShareKeysResult> {
    const { study, round, site, seed } = this.#init
    const own = peers.get(site)
    if (own === undefined || !equalBytes(own.cPk, this.#keys.cPk) || !equalBytes(own.sPk, this.#keys.sPk)) {
      throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: the participants' keys do not list this site with the keys it advertised`)
    }
    const neighbours = secAggGraph([...peers.keys()], params.k, seed).get(site)!
    if (neighbours.length < params.t) {
      throw new SecAggThresholdError(
        `site "${site}" round ${round}: ${neighbours.length} neighbours cannot hold a ${params.t}-of-${neighbours.length} sharing; the round needs more participants`,
        site,
        neighbours.length,
        params.t,
      )
    }
    const encKeys = new Map<string, Uint8Array>()
    const maskSeeds = new Map<string, Uint8Array>()
    for (const v of neighbours) {
      const theirs = peers.get(v)!
      encKeys.set(v, pairSecret(this.#secrets.cSk, theirs.cPk, encInfo(study, round, site, v), v))
      maskSeeds.set(v, pairSecret(this.#secrets.sSk, theirs.sPk, maskInfo(study, round, site, v), v))
    }
    const bShares = await splitSecret(this.#secrets.b, neighbours.length, params.t)
    const sShares = await splitSecret(this.#secrets.sSk, neighbours.length, params.t)
    const shares = neighbours.map((to, i): SecAggShareBox => {
      const nonce = this.#randomBytes(SECAGG_NONCE_BYTES)
      if (nonce.length !== SECAGG_NONCE_BYTES) throw new ProtocolInvalidArgumentError(`randomBytes(${SECAGG_NONCE_BYTES}) returned ${nonce.length} bytes`)
      return { to, box: sealShares({ study, round, from: site, to }, { b: bShares[i]!, s: sShares[i]! }, encKeys.get(to)!, Uint8Array.from(nonce)) }
    })
    this.#neighbourhood = { neighbours, encKeys, maskSeeds }
    return { shares, bCommit: sha256(this.#secrets.b) }
  }

  /**
   * Opens the boxes this site's neighbours sent it (keyed by sender) and
   * keeps their shares; all or nothing. Throws SecAggShareInvalidError
   * naming the sender of a box that is not from a neighbour, does not open
   * or does not bind this study, round and pair, and SecAggThresholdError
   * when fewer than t neighbours sent shares (this site's own secrets could
   * then not be rebuilt).
   */
  receiveShares(boxes: ReadonlyMap<string, Uint8Array>): void {
    const { study, round, site } = this.#init
    const params = this.#params!
    const hood = this.#neighbourhood
    if (hood === undefined) throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: receiveShares before shareKeys`)
    if (this.#held !== undefined) throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: receiveShares called twice`)
    const held = new Map<string, HeldShares>()
    for (const from of [...boxes.keys()].sort(compareSiteIds)) {
      const key = hood.encKeys.get(from)
      if (key === undefined) {
        throw new SecAggShareInvalidError(`share box from site "${from}" to "${site}" (round ${round}): "${from}" is not a neighbour of "${site}" in this round's graph; drop the box`, from)
      }
      held.set(from, openShares(boxes.get(from)!, { study, round, from, to: site }, key, SHARE_BYTES))
    }
    if (held.size < params.t) {
      throw new SecAggThresholdError(`site "${site}" round ${round}: ${held.size} neighbours sent shares, fewer than the threshold ${params.t}; the round cannot unmask`, site, held.size, params.t)
    }
    this.#held = held
  }

  /**
   * The masked input y = x + PRG(b) + Σ_v ±PRG(s_uv) mod 2^32, over the
   * neighbours v that sent this site shares: + when this site's id is below
   * v's in code-unit order, − otherwise, so each pair's two masks cancel in
   * the sum. Neighbours that sent no shares (not in U2) are left out, as they
   * are of the sum. Called once: two masked inputs under the same masks would
   * give away their difference.
   */
  maskInput(quantized: Uint32Array): Uint32Array {
    const { round, site } = this.#init
    const held = this.#held
    if (held === undefined) throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: maskInput before receiveShares`)
    if (this.#masked) throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: maskInput called twice (two inputs under one mask reveal their difference)`)
    this.#masked = true
    const out = quantized.slice()
    const scratch = new Uint32Array(out.length)
    addMask(out, this.#secrets.b, 1, scratch)
    for (const v of held.keys()) addMask(out, this.#neighbourhood!.maskSeeds.get(v)!, site < v ? 1 : -1, scratch)
    return out
  }

  /**
   * This site's shares for the unmasking: for each neighbour it holds shares
   * from, its b share if the neighbour is in `survivors` (U3, whose masked
   * inputs were received), else its sSk share. Sorted by `of`. Callable once
   * per round, whatever the set (SecAggDoubleRevealError on a second call).
   * Throws SecAggThresholdError when fewer than t survivors are named, and
   * SecAggSurvivorsInvalidError when `survivors` repeats a site, omits this
   * site, or names a neighbour that sent this site no shares.
   */
  revealShares(survivors: readonly string[]): SecAggReveal[] {
    const { round, site } = this.#init
    const params = this.#params!
    const held = this.#held
    if (held === undefined) throw new ProtocolInvalidArgumentError(`site "${site}" round ${round}: revealShares before receiveShares`)
    if (this.#revealed) throw new SecAggDoubleRevealError(`site "${site}" round ${round}: shares were already revealed once; a second reveal could hand over both secrets of a site`, site)
    const alive = new Set(survivors)
    if (alive.size !== survivors.length) throw new SecAggSurvivorsInvalidError(`site "${site}" round ${round}: the survivor list repeats a site`, site)
    if (alive.size < params.t) {
      throw new SecAggThresholdError(`site "${site}" round ${round}: ${alive.size} survivors, fewer than the threshold ${params.t}; the round must be abandoned`, site, alive.size, params.t)
    }
    if (!alive.has(site)) throw new SecAggSurvivorsInvalidError(`site "${site}" round ${round}: asked to reveal but not listed among the survivors`, site)
    for (const v of this.#neighbourhood!.neighbours) {
      if (alive.has(v) && !held.has(v)) throw new SecAggSurvivorsInvalidError(`site "${site}" round ${round}: survivor "${v}" never sent this site its shares, so it cannot have masked with it`, v)
    }
    this.#revealed = true
    return [...held.entries()].map(([of, shares]): SecAggReveal => (alive.has(of) ? { of, kind: 'b', share: shares.b.slice() } : { of, kind: 's', share: shares.s.slice() }))
  }
}
