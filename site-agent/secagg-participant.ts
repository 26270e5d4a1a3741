/**
 * A site's part in one round of secure aggregation (PROTOCOL.md "Secure
 * aggregation"; the cryptography is protocol/secagg/, the round's rules
 * protocol/secagg-rules.ts). The agent creates one per round when the fit
 * task arrives, and this object answers the round's phases as their tasks
 * arrive, while the agent trains:
 *
 * - `advertise`: a fresh X25519 key pair pair for the round, sent signed;
 * - shares task: every other participant's signed keys, each checked
 *   against that site's enrolled key in the site's verified replica (so the
 *   coordinator cannot slip in keys of its own), then the Shamir shares of
 *   this site's secrets, one secretbox per neighbour;
 * - input task: the boxes addressed to this site, opened and kept;
 * - `maskedInput`: the trained delta, weighted (or, under DP, clipped and
 *   noised with this site's share of the noise), quantized and masked: the
 *   only form in which it leaves the site;
 * - unmask task: the survivor set, checked against the `secagg-phase` entry
 *   in the site's own replica (a coordinator that showed two sites two sets
 *   would have to fork the log), then the one reveal the session allows.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Signer } from '../ledger/index.ts'
import { encodeHeader, resolveSecAggParams, type StudySpec, type TensorShape, type Weights } from '../models/index.ts'
import {
  SiteSecAggSession,
  decodeStatement,
  encodeMaskedInput,
  quantizationScale,
  quantizeDelta,
  sampleDiscreteGaussian,
  signStatement,
  siteNoiseSigma,
  survivorsHash,
  verifyStatement,
  weightRatio,
  type SecAggPublicKeys,
  type SignedStatement,
  type SiteTask,
} from '../protocol/index.ts'
import { SiteSecAggError } from './errors.ts'

type SecAggTask = Extract<SiteTask, { kind: 'secagg' }>

export interface SecAggParticipantInit {
  readonly spec: StudySpec
  readonly site: string
  readonly round: number
  /** The round's logged seed (the graph's). */
  readonly seed: number
  readonly shapes: readonly TensorShape[]
  readonly signer: Signer
  readonly logger: Logger
  /** Sends a signed secure-aggregation message to the coordinator. */
  readonly submit: (statement: SignedStatement) => Promise<unknown>
  /** The enrolled Ed25519 keys of the study's sites, from the site's verified replica; undefined without one (then taken unverified). */
  readonly enrolledKeys: () => Promise<ReadonlyMap<string, Uint8Array> | undefined>
  /** U3 as the site's verified replica logs it (`secagg-phase` unmask); undefined without a replica; throws when the replica does not show it in time. */
  readonly loggedSurvivors: () => Promise<readonly string[] | undefined>
}

/** A promise with its settle functions. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A round cancelled before anyone waits must not surface as an unhandled rejection.
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

export class SecAggParticipant {
  readonly #init: SecAggParticipantInit
  readonly #session: SiteSecAggSession
  readonly #boxes = deferred<void>()
  #t = 0

  constructor(init: SecAggParticipantInit) {
    this.#init = init
    // k and t are fixed when the key phase closes; the session takes them at shareKeys.
    this.#session = new SiteSecAggSession({ study: init.spec.id, round: init.round, site: init.site, seed: init.seed })
  }

  /** Sends this round's public keys, signed. */
  async advertise(): Promise<void> {
    const { cPk, sPk } = this.#session.advertise()
    await this.#init.submit(signStatement(this.#init.signer, { t: 'secagg-keys', study: this.#init.spec.id, round: this.#init.round, site: this.#init.site, cPk, sPk, time: Date.now() }))
  }

  /** Answers one phase task. Throws SiteSecAggError (the agent logs it; the site then drops out of the round). */
  async onTask(task: SecAggTask): Promise<void> {
    if (task.phase === 'shares') return this.#shareKeys(task)
    if (task.phase === 'input') return this.#receive(task)
    return this.#unmask(task)
  }

  /** The round ended without a model: a masked input still waiting for its boxes is not sent. */
  cancel(reason: string): void {
    this.#boxes.reject(new SiteSecAggError(`round ${this.#init.round} closed before its input phase: ${reason}`))
  }

  async #shareKeys(task: Extract<SecAggTask, { phase: 'shares' }>): Promise<void> {
    const { spec, round, site } = this.#init
    const params = resolveSecAggParams(spec.secureAggregation!, task.sites.length)
    if (params.k !== task.k || params.t !== task.t)
      throw new SiteSecAggError(`round ${round}: the task says k ${task.k}, t ${task.t} for ${task.sites.length} sites, the study's spec gives k ${params.k}, t ${params.t}; not sharing`)
    const enrolled = await this.#init.enrolledKeys()
    if (enrolled === undefined) this.#init.logger.warn({ round }, "secure aggregation: no verified replica, the participants' keys are checked against their own signatures only")
    const peers = new Map<string, SecAggPublicKeys>()
    for (const signed of task.keys) {
      const k = decodeStatement('secagg-keys', signed.body)
      if (k.study !== spec.id || k.round !== round) throw new SiteSecAggError(`round ${round}: the keys of "${k.site}" are for study "${k.study}" round ${k.round}; not sharing`)
      const key = enrolled?.get(k.site)
      if (enrolled !== undefined && (key === undefined || !verifyStatement(key, signed)))
        throw new SiteSecAggError(`round ${round}: the keys said to be from "${k.site}" are not signed by its enrolled key; the coordinator may be substituting keys, not sharing`)
      peers.set(k.site, { cPk: k.cPk, sPk: k.sPk })
    }
    const listed = [...peers.keys()].sort()
    const named = [...task.sites].sort()
    if (listed.length !== named.length || listed.some((s, i) => s !== named[i]))
      throw new SiteSecAggError(`round ${round}: the keys sent are not those of the ${task.sites.length} participants named; not sharing`)
    this.#t = params.t
    const { shares, bCommit } = await this.#session.shareKeys(peers, { k: params.k, t: params.t })
    await this.#init.submit(signStatement(this.#init.signer, { t: 'secagg-shares', study: spec.id, round, site, bCommit, shares: shares.map((s) => ({ to: s.to, box: s.box })), time: Date.now() }))
  }

  #receive(task: Extract<SecAggTask, { phase: 'input' }>): void {
    try {
      this.#session.receiveShares(new Map(task.boxes.map((b) => [b.from, b.box])))
      this.#boxes.resolve()
    } catch (err) {
      this.#boxes.reject(err)
      throw err
    }
  }

  /**
   * The trained delta as its masked input, once the boxes are in: the only
   * form in which it leaves the site. `examples` is what the envelope
   * declares (the weight min(examples, maxWeight) / maxWeight is the
   * coordinator's too). Under DP the delta is clipped to dp.clipNorm less the
   * rounding's worst case, every site weighs 1, and this site adds its share
   * of the noise, N_Z(0, (z·S·scale)² / t) per coordinate.
   */
  async maskedInput(delta: Weights, examples: number, waitMs: number): Promise<Uint8Array> {
    const { spec, shapes } = this.#init
    const secagg = spec.secureAggregation!
    const flat = new Float32Array(delta.tensors.reduce((n, t) => n + t.values.length, 0))
    let at = 0
    for (const t of delta.tensors) {
      flat.set(t.values, at)
      at += t.values.length
    }
    let words: Uint32Array
    const scale = quantizationScale(secagg)
    if (spec.dp !== undefined) {
      // Rounding moves each coordinate by at most 1/2 unit: clip so the quantized vector's norm stays within S·scale.
      const clip = spec.dp.clipNorm - Math.sqrt(flat.length) / (2 * scale)
      if (!(clip > 0)) throw new SiteSecAggError(`dp.clipNorm ${spec.dp.clipNorm} is too small for the quantization (scale ${scale}, ${flat.length} values); raise secureAggregation.quantizationRange`)
      let norm = 0
      for (const v of flat) norm += v * v
      norm = Math.sqrt(norm)
      if (norm > clip) for (let i = 0; i < flat.length; i++) flat[i] = flat[i]! * (clip / norm)
      words = quantizeDelta(flat, 1, secagg)
    } else words = quantizeDelta(flat, weightRatio(examples, secagg.maxWeight), secagg)
    await Promise.race([
      this.#boxes.promise,
      new Promise((_, reject) => setTimeout(() => reject(new SiteSecAggError(`round ${this.#init.round}: no share boxes came within ${waitMs} ms; the masked input is not sent`)), waitMs).unref()),
    ])
    if (spec.dp !== undefined) {
      const sigma = siteNoiseSigma(spec.dp.noiseMultiplier, spec.dp.clipNorm, scale, this.#t)
      const noise = sampleDiscreteGaussian(sigma, words.length, (n) => new Uint8Array(randomBytes(n)))
      for (let i = 0; i < words.length; i++) words[i] = (words[i]! + noise[i]!) >>> 0
    }
    return encodeMaskedInput(encodeHeader(shapes), this.#session.maskInput(words))
  }

  async #unmask(task: Extract<SecAggTask, { phase: 'unmask' }>): Promise<void> {
    const { spec, round, site } = this.#init
    const logged = await this.#init.loggedSurvivors()
    const given = [...task.sites].sort()
    if (logged !== undefined && (logged.length !== given.length || logged.some((s, i) => s !== given[i])))
      throw new SiteSecAggError(`round ${round}: the survivors sent [${given.join(', ')}] are not the log's [${logged.join(', ')}]; nothing is revealed`)
    if (logged === undefined) this.#init.logger.warn({ round }, 'secure aggregation: no verified replica, the survivor set is taken unverified')
    const reveals = this.#session.revealShares(given)
    await this.#init.submit(
      signStatement(this.#init.signer, {
        t: 'secagg-unmask',
        study: spec.id,
        round,
        site,
        survivors: survivorsHash(given),
        reveals: reveals.map((r) => ({ of: r.of, kind: r.kind, share: r.share })),
        time: Date.now(),
      }),
    )
  }
}
