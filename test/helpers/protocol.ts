/**
 * A harness for the round decider (protocol/decider.ts) in unit tests: it
 * holds the study state, feeds inputs at a clock the test moves, signs
 * statements with fixed keys, and applies each step's entries the way the
 * coordinator shell does (fold them into the state, keep the blobs). No gRPC,
 * no LevelDB, no TF.js: the three sites and their keys are the synthetic
 * study's (test/helpers/audit.ts), so failures reproduce.
 *
 * `feed` never throws on a refusal: the test reads `refusal` and the
 * rejection entry it logged (if any) from the result.
 */
import { readAll, sha256, toHex, type CanonicalValue, type EntryDraft, type Signer } from '../../ledger/core/index.ts'
import { StudySpecSchema, encodeWeights, modelShapes, inputWidth, type StudySpec, type StudySpecInput, type TensorShape, type Weights } from '../../models/core/index.ts'
import {
  StudyState,
  isEmbeddedByBlob,
  needsBlobs,
  readLineageRecord,
  signStatement,
  specHash,
  step,
  type Decision,
  type DeciderInput,
  type EmbeddedStatement,
  type EvaluationStatement,
  type LineageRecord,
  type PatientRewardsStatement,
  type RoundAbortStatement,
  type RoundStartStatement,
  type SignedStatement,
  type StepResult,
  type UpdateEnvelope,
} from '../../protocol/index.ts'
import { SYNTHETIC_REQUEST_MAX_AGE_MS, SYNTHETIC_STUDY, SYNTHETIC_T0_MS, syntheticConsentExt, syntheticDelta, syntheticSites, type SyntheticRevocation, type SyntheticSite } from './audit.ts'
import { testSigner } from './ledger.ts'

/** The body of an envelope embedded inline (small envelopes, as every test study but the large-consent one has); throws for one by reference. */
export function inlineEnvelopeBody(e: EmbeddedStatement): Uint8Array {
  if (isEmbeddedByBlob(e)) throw new Error('the envelope is embedded by reference: read its body from the blob it names')
  return e.body
}

/** The study fields that make the synthetic study require consent (with a patient id column, as the spec demands). */
export const CONSENT_STUDY: Partial<StudySpecInput> = { consent: { purpose: 'HRESCH' }, data: { ...SYNTHETIC_STUDY.data, patientIdColumn: 'pid' } }

/** Consent and example-count rewards of 600 credits a round: sites 0, 1, 2 earn 160, 200, 240. */
export const REWARDED_CONSENT_STUDY: Partial<StudySpecInput> = { ...CONSENT_STUDY, rewards: { poolPerRound: '600', method: 'examples' } }

export interface HarnessInit {
  /** Fields over SYNTHETIC_STUDY. */
  readonly study?: Partial<StudySpecInput>
  /** Revocations the sites' consent claims report (studies with consent). */
  readonly revocations?: readonly SyntheticRevocation[]
}

/** A step the harness applied: the decision, and its entries read back as records at the seqs they got. */
export interface Fed extends Decision {
  readonly records: readonly LineageRecord[]
  /** The step's time. */
  readonly timeMs: number
}

/** Options of a site's update. */
export interface UpdateOptions {
  /** The delta to send (default: `syntheticDelta` for the site and round); bytes are sent as they are. */
  readonly delta?: Weights | Uint8Array
  /** Who signs (default: the site's enrolled key). */
  readonly signer?: Signer
  /** The envelope's `ext` (default: the synthetic consent claim in a study with consent, none otherwise); null: no `ext`. */
  readonly ext?: Record<string, CanonicalValue> | null
}

export class DeciderHarness {
  /** The fold of every entry fed so far (the coordinator's in-memory state). */
  readonly state = new StudyState()
  /** Every entry appended so far, with its step's time. */
  readonly drafts: EntryDraft[] = []
  /** Every blob the steps wrote, by hex hash. */
  readonly blobs = new Map<string, Uint8Array>()
  readonly spec: StudySpec
  readonly shapes: readonly TensorShape[]
  /** Signs round starts: testSigner(2), not a site's key. */
  readonly hub: Signer = testSigner(2)
  /** Enrolled sites; `enroll` adds more. */
  readonly sites: SyntheticSite[] = syntheticSites()
  readonly revocations: readonly SyntheticRevocation[]
  /** The clock: the time of the last step. */
  timeMs = SYNTHETIC_T0_MS
  #nonce = 0

  /** Creates the study (the three synthetic sites enrolled) at T0 + 1 s. */
  constructor(init: HarnessInit = {}) {
    this.spec = StudySpecSchema.parse({ ...SYNTHETIC_STUDY, ...init.study })
    this.shapes = modelShapes(this.spec.model, inputWidth(this.spec.data))
    this.revocations = init.revocations ?? []
    this.feed(this.createInput())
  }

  /** The `create` input of this study. */
  createInput(): DeciderInput {
    return {
      kind: 'create',
      spec: this.spec,
      hubKey: this.hub.publicKey,
      sites: this.sites.map((s) => ({ id: s.id, publicKey: s.signer.publicKey })),
      requestMaxAgeMs: SYNTHETIC_REQUEST_MAX_AGE_MS,
    }
  }

  /** The site with this id or index. */
  site(which: number | string): SyntheticSite {
    const site = typeof which === 'number' ? this.sites[which] : this.sites.find((s) => s.id === which)
    if (site === undefined) throw new Error(`harness: no site ${which}`)
    return site
  }

  /** Decides `input` at `timeMs` (default: one second after the last step) without applying anything. */
  decide(input: DeciderInput, timeMs = this.timeMs + 1000): StepResult {
    return step(this.state, input, timeMs, { get: (h) => this.blobs.get(toHex(h)) })
  }

  /**
   * Decides `input` at `timeMs` (default: one second after the last step),
   * appends and folds its entries, keeps its blobs, and moves the clock there.
   */
  feed(input: DeciderInput, timeMs = this.timeMs + 1000): Fed {
    const result = this.decide(input, timeMs)
    if (needsBlobs(result)) throw new Error(`harness: the decider needs ${result.needs.length} blobs the harness does not hold`)
    this.timeMs = timeMs
    const records: LineageRecord[] = []
    for (const e of result.entries) {
      const record = readLineageRecord({ seq: this.drafts.length, kind: e.kind, timeMs, body: e.body })
      this.drafts.push({ kind: e.kind, timeMs, body: e.body })
      this.state.apply(record)
      records.push(record)
    }
    for (const blob of result.blobs) {
      const b = readAll(blob)
      this.blobs.set(toHex(sha256(b)), b)
    }
    return { ...result, records, timeMs }
  }

  /** Feeds a tick at `timeMs`. */
  tick(timeMs: number): Fed {
    return this.feed({ kind: 'tick' }, timeMs)
  }

  /** Every entry so far, read back as records. */
  records(): LineageRecord[] {
    return this.drafts.map((d, seq) => readLineageRecord({ seq, kind: d.kind, timeMs: d.timeMs, body: d.body }))
  }

  /** A fresh 16-byte nonce, never the same twice in one harness. */
  nonce(): Uint8Array {
    return sha256(new TextEncoder().encode(`harness-nonce/${this.#nonce++}`)).slice(0, 16)
  }

  // ---- statements --------------------------------------------------------------------------------

  /** The hub's signed request for the next round, signed now. */
  roundStart(patch: Partial<RoundStartStatement> = {}, signer: Signer = this.hub): SignedStatement {
    return signStatement(signer, { t: 'round-start', study: this.spec.id, round: this.state.lastRound + 1, time: this.timeMs, nonce: this.nonce(), ...patch })
  }

  /** The hub's signed abort of the open round (or, with none open, the last one), signed now. */
  roundAbort(patch: Partial<RoundAbortStatement> = {}, signer: Signer = this.hub): SignedStatement {
    return signStatement(signer, {
      t: 'round-abort',
      study: this.spec.id,
      round: this.state.lastRound,
      reason: 'site beta-clinic reported a data breach',
      time: this.timeMs,
      nonce: this.nonce(),
      ...patch,
    })
  }

  /**
   * Site `which`'s signed update for the open round (or, with none open, the
   * last one) from its base, with its delta bytes.
   */
  update(which: number | string, patch: Partial<UpdateEnvelope> = {}, options: UpdateOptions = {}): { envelope: SignedStatement; delta: Uint8Array } {
    const site = this.site(which)
    const index = this.sites.indexOf(site)
    const round = patch.round ?? this.state.lastRound
    const record = this.state.rounds.get(round)
    const delta = options.delta instanceof Uint8Array ? options.delta : encodeWeights(options.delta ?? syntheticDelta(this.shapes, round, index))
    const ext = options.ext === null ? undefined : (options.ext ?? (this.spec.consent ? syntheticConsentExt(index, round, record?.openedMs ?? this.timeMs, this.revocations) : undefined))
    const envelope = signStatement(options.signer ?? site.signer, {
      t: 'update',
      study: this.spec.id,
      round,
      site: site.id,
      base: record?.base ?? this.state.currentModel,
      delta: sha256(delta),
      size: delta.length,
      examples: site.examples,
      metrics: { trainLoss: 0.5 + 0.01 * index },
      nonce: this.nonce(),
      time: this.timeMs,
      ...(ext === undefined ? {} : { ext }),
      ...patch,
    })
    return { envelope, delta }
  }

  /** The `update` input of `update(...)`. */
  updateInput(which: number | string, patch: Partial<UpdateEnvelope> = {}, options: UpdateOptions = {}): DeciderInput {
    return { kind: 'update', ...this.update(which, patch, options) }
  }

  /** Site `which`'s signed evaluation of round `round`'s model (default: the newest). */
  evaluation(which: number | string, round = this.state.currentModelRound, patch: Partial<EvaluationStatement> = {}, signer?: Signer): SignedStatement {
    const site = this.site(which)
    return signStatement(signer ?? site.signer, {
      t: 'evaluation',
      study: this.spec.id,
      round,
      site: site.id,
      model: this.state.modelOfRound(round) ?? new Uint8Array(32),
      examples: 20,
      metrics: { loss: 0.7 - 0.01 * round, accuracy: 0.6 },
      time: this.timeMs,
      ...patch,
    })
  }

  /**
   * Site `which`'s signed patient-rewards statement for round `round`
   * (default: the newest committed): its allocation and the consent count of
   * its accepted update, over an arbitrary root.
   */
  patientRewards(which: number | string, round = this.state.currentModelRound, patch: Partial<PatientRewardsStatement> = {}, signer?: Signer): SignedStatement {
    const site = this.site(which)
    const r = this.state.rounds.get(round)
    const amount = r?.rewards?.body.allocations.find((a) => a.site === site.id)?.amount ?? 0n
    const count = r?.accepted.get(site.id)?.consent?.count ?? 0
    return signStatement(signer ?? site.signer, {
      t: 'patient-rewards',
      study: this.spec.id,
      round: Math.max(round, 1),
      site: site.id,
      amount,
      count,
      root: sha256(new TextEncoder().encode(`allocation-root/${site.id}/${round}`)),
      time: this.timeMs,
      ...patch,
    })
  }

  /** The hub's signed enrolment (with `key`) or removal of site `site` in the running study. */
  membership(action: 'enroll' | 'remove', site: string, key?: Uint8Array, signer: Signer = this.hub): SignedStatement {
    return signStatement(signer, { t: 'membership', study: this.spec.id, action, site, ...(key ? { key } : {}), time: this.timeMs, nonce: this.nonce() })
  }

  /** Site `which`'s signed approval of the study's spec (its hash, as the log holds the spec). */
  approval(which: number | string): SignedStatement {
    const site = this.site(which)
    return signStatement(site.signer, { t: 'approval', study: this.spec.id, site: site.id, spec: specHash(this.state.spec), time: this.timeMs })
  }

  /** Site `which`'s signed refusal of the open round's fit task, with a policy code. */
  declined(which: number | string, round = this.state.openRound?.round ?? 1, code = 'SITE_POLICY_MIN_RECORDS'): SignedStatement {
    const site = this.site(which)
    return signStatement(site.signer, { t: 'declined', study: this.spec.id, site: site.id, round, code, reason: 'fewer consenting records than the site policy allows', time: this.timeMs })
  }

  // ---- scenarios ---------------------------------------------------------------------------------

  /** Enrolls a new site signing with testSigner(`keyNumber`). */
  enroll(id: string, keyNumber: number, examples = 30): Fed {
    const site: SyntheticSite = { id, signer: testSigner(keyNumber), examples }
    this.sites.push(site)
    return this.feed({ kind: 'enroll', site: id, publicKey: site.signer.publicKey })
  }

  /** Opens the next round; throws when the decider refuses. */
  openRound(): Fed {
    const fed = this.feed({ kind: 'round-start', request: this.roundStart() })
    if (fed.refusal) throw fed.refusal
    return fed
  }

  /** Feeds an update from each listed site (default: every site in the open round's plan); returns the last step. */
  submit(which: readonly (number | string)[] = [...(this.state.openRound?.plan.keys() ?? [])]): Fed {
    let last: Fed | undefined
    for (const w of which) {
      last = this.feed(this.updateInput(w))
      if (last.refusal) throw last.refusal
    }
    if (last === undefined) throw new Error('harness: no site to submit')
    return last
  }

  /** Feeds an evaluation of round `round`'s model from each listed site (default: all); returns the last step. */
  evaluate(round = this.state.currentModelRound, which: readonly (number | string)[] = this.sites.map((s) => s.id)): Fed {
    let last: Fed | undefined
    for (const w of which) {
      last = this.feed({ kind: 'evaluation', report: this.evaluation(w, round) })
      if (last.refusal) throw last.refusal
    }
    if (last === undefined) throw new Error('harness: no site to evaluate')
    return last
  }

  /** Opens a round and has every planned site submit: the last update commits it. */
  runRound(): Fed {
    this.openRound()
    return this.submit()
  }
}

/** The entry kinds of a step, in order. */
export function kindsOf(result: { readonly entries: readonly { readonly kind: string }[] }): string[] {
  return result.entries.map((e) => e.kind)
}

/**
 * Rounds 1-2 of a study with every kind of entry: a membership change, an
 * approval, a declined task, consent and a revocation, rewards, rejections,
 * an abandoned round; it completes when the study's target is 1 round.
 */
export function everyKindScript(h: DeciderHarness): void {
  h.evaluate(0)
  h.feed({ kind: 'membership', request: h.membership('enroll', 'late-lab', testSigner(33).publicKey) })
  h.feed({ kind: 'membership', request: h.membership('remove', 'late-lab') })
  h.feed({ kind: 'approval', statement: h.approval(0) })
  h.openRound()
  h.submit([0])
  h.feed({ kind: 'declined', statement: h.declined(1) })
  h.tick(h.state.openRound!.deadlineMs)
  h.openRound()
  h.feed(h.updateInput(0, { base: sha256(Uint8Array.of(5)) }))
  h.submit()
  h.evaluate()
  h.feed({ kind: 'patient-rewards', statement: h.patientRewards(0, 2, { amount: 1n }) })
  for (const i of [0, 1, 2]) h.feed({ kind: 'patient-rewards', statement: h.patientRewards(i) })
}
