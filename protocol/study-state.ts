/**
 * The state of a study, derived only from its log: which sites are enrolled,
 * which rounds were opened, which updates were accepted, which models were
 * committed and evaluated. The coordinator rebuilds it on start by folding the
 * log (so a restart loses nothing the log acknowledged) and the auditor folds
 * the same records to know what to re-derive.
 *
 * `apply` enforces the round state machine: an entry that could not have been
 * written by a correct coordinator (an update for a round that is not open, a
 * second commit, a gap in round numbers) throws `LineageRecordError` naming
 * the entry. Pure: no I/O, no clock; it mutates only its own fields.
 */
import { consentSummaryOf, type ConsentClaim } from './consent-claim.ts'
import { dpSgdClaimOf } from './dp-sgd-claim.ts'
import { decodeStatement } from './statements.ts'
import { decodeCanonical, equalBytes, sha256, toHex } from '../ledger/core/index.ts'
import { StudySpecSchema, encodedSize, inputWidth, modelShapes, type StudySpec, type TensorShape } from '../models/core/index.ts'
import type { SiteInstructions } from './strategy.ts'
import { LineageRecordError } from './errors.ts'
import { applySecAgg } from './secagg-fold.ts'
import { ENTRY_KINDS, expandRewardedAllocations, inputsListHash, embeddedStatementHash, isEmbeddedByBlob, type LineageRecord, type RoundCommittedBody, type RoundRewardedBody } from './lineage.ts'

/** `abandoned`: closed by the rules (too few updates); `aborted`: closed by the hub's signed abort. */
export type RoundStatus = 'collecting' | 'committed' | 'abandoned' | 'aborted'

export interface AcceptedUpdate {
  readonly seq: number
  readonly site: string
  readonly envelopeHash: Uint8Array
  readonly delta: Uint8Array
  readonly examples: number
  readonly metrics: Readonly<Record<string, number>>
  /** The consent the signed envelope commits to (root, count, exclusions), when it carries a claim. */
  readonly consent?: Pick<ConsentClaim, 'at' | 'root' | 'count' | 'excluded'>
  /**
   * The envelope's DP-SGD claim (`ext.dpSgd`, dp-sgd-claim.ts), when it
   * carries one (an envelope by reference: its summary carries the claim
   * when it reads, nothing when it does not).
   */
  readonly dpSgd?: NonNullable<ReturnType<typeof dpSgdClaimOf>>
}

/** A `consent-revoked` entry: a site's patient withdrew, from `round` on. */
export interface RevocationRecord {
  readonly seq: number
  readonly site: string
  readonly pseudonym: Uint8Array
  /** The revocation's time, ms since the epoch. */
  readonly time: number
  /** The first round it applies to: the round whose update first reported it. */
  readonly round: number
}

/** A `patient-rewards` entry: a site passed its round credit on to its patients. */
export interface PatientRewardsRecord {
  readonly seq: number
  readonly site: string
  readonly amount: bigint
  readonly count: number
  /** Root of the allocation tree the site signed. */
  readonly root: Uint8Array
}

export interface EvaluationRecord {
  readonly seq: number
  readonly site: string
  readonly examples: number
  readonly metrics: Readonly<Record<string, number>>
  readonly timeMs: number
}

export interface RejectionRecord {
  readonly seq: number
  readonly site: string
  readonly code: string
  readonly reason: string
  /** What was refused: an update envelope, an evaluation report, a patient-rewards, approval or declined statement. */
  readonly type: 'update' | 'evaluation' | 'patient-rewards' | 'approval' | 'declined' | 'secagg-keys' | 'secagg-shares' | 'secagg-unmask'
  /** SHA-256 of the refused statement's body, so its signer can learn what became of it. */
  readonly statementHash: Uint8Array
}

/** An `approval` entry: the site approved the study's spec (its hash). */
export interface ApprovalRecord {
  readonly seq: number
  readonly site: string
  readonly spec: Uint8Array
  readonly timeMs: number
}

/** A `task-declined` entry: the site refused its fit task of the round, with its stable code. */
export interface DeclineRecord {
  readonly seq: number
  readonly site: string
  readonly code: string
  readonly reason: string
}

/** A site's secure-aggregation keys for the round (its signed `secagg-keys`). */
export interface SecAggKeysRecord {
  readonly seq: number
  readonly cPk: Uint8Array
  readonly sPk: Uint8Array
  /** The signed statement, as logged: sites verify it against the sender's enrolled key. */
  readonly statement: { readonly body: Uint8Array; readonly signature: Uint8Array }
}

/** A site's shares (its signed `secagg-shares`): the commitment to its self-mask seed and one box per neighbour. */
export interface SecAggSharesRecord {
  readonly seq: number
  readonly bCommit: Uint8Array
  readonly boxes: ReadonlyMap<string, Uint8Array>
}

/** A revealed share (a `secagg-unmask` statement's reveal). */
export interface SecAggRevealRecord {
  readonly of: string
  readonly kind: 'b' | 's'
  readonly share: Uint8Array
}

/**
 * A secure-aggregation round's progress (secagg-rules.ts): the phase it is
 * in since when, what each site sent, and the sets each closed phase named.
 */
export interface SecAggRound {
  phase: 'keys' | 'shares' | 'input' | 'unmask'
  /** When the current phase began (ms): its deadline is this plus `phaseDeadlineMs`. */
  phaseSinceMs: number
  readonly keys: Map<string, SecAggKeysRecord>
  readonly shares: Map<string, SecAggSharesRecord>
  readonly reveals: Map<string, readonly SecAggRevealRecord[]>
  /** U1, with the neighbourhood size and threshold the `shares` phase fixed. */
  u1?: { readonly sites: readonly string[]; readonly k: number; readonly t: number }
  /** U2: the sites whose shares came. */
  u2?: readonly string[]
  /** U3: the survivors, whose masked inputs were accepted. */
  u3?: readonly string[]
}

export interface RoundRecord {
  readonly round: number
  readonly base: Uint8Array
  readonly openedMs: number
  readonly deadlineMs: number
  readonly seed: number
  /** The strategy's plan: each participating site's instructions. */
  readonly plan: ReadonlyMap<string, SiteInstructions>
  /** With site-level DP: the hash of the round's private noise seed and its sampling rate (`round-opened`'s `dp`). */
  readonly dp?: { readonly seed?: Uint8Array; readonly q: number }
  /** In a study with secure aggregation: the round's secure-aggregation state. */
  readonly secagg?: SecAggRound
  status: RoundStatus
  readonly accepted: Map<string, AcceptedUpdate>
  readonly rejected: RejectionRecord[]
  /** Planned sites that declined their fit task, by site: the round does not wait for them. */
  readonly declined: Map<string, DeclineRecord>
  /** Revocations first logged in this round, in log order. */
  readonly revocations: RevocationRecord[]
  commit?: { readonly seq: number; readonly timeMs: number; readonly body: RoundCommittedBody }
  rewards?: { readonly seq: number; readonly body: RoundRewardedBody }
  /** The sites' `patient-rewards` entries of this round, by site. */
  readonly patientRewards: Map<string, PatientRewardsRecord>
  abandonReason?: string
  /** Why the hub aborted the round, in its own words (`round-aborted`). */
  abortReason?: string
}

export class StudyState {
  studyId = ''
  spec: Uint8Array = new Uint8Array()
  genesis: Uint8Array = new Uint8Array()
  hubKey: Uint8Array = new Uint8Array()
  /** How far a hub request's signed time may be from the coordinator's clock, as logged at creation. */
  requestMaxAgeMs = 0
  /** Hash of the strategy's server state after the newest commit (stateful strategies only). */
  strategyState: Uint8Array | undefined
  #study: StudySpec | undefined
  #shapes: readonly TensorShape[] = []
  #deltaSizeBytes = 0
  /** Hash of the hub's validation set, when the study pays gain-based rewards. */
  validation: Uint8Array | undefined
  /** Credits earned per site, summed over every `round-rewarded` entry. */
  readonly balances = new Map<string, bigint>()
  /** Credits of rounds whose scores were all zero: kept by the hub. */
  unallocated = 0n
  created = false
  completed = false
  readonly sites = new Map<string, Uint8Array>()
  readonly rounds = new Map<number, RoundRecord>()
  /** Evaluations by round (0 = initial model), then by site. */
  readonly evaluations = new Map<number, Map<string, EvaluationRecord>>()
  /** Logged revocations by site, then by hex pseudonym. */
  readonly revocations = new Map<string, Map<string, RevocationRecord>>()
  /** Logged approvals by site (site-control.ts): the spec hash each approved. */
  readonly approvals = new Map<string, ApprovalRecord>()
  /**
   * Refusals logged per site since the newest round opened (or since the
   * study began): the decider logs at most MAX_LOGGED_REFUSALS_PER_ROUND of a
   * site's refusals per round, so one key cannot grow the log without bound.
   */
  readonly recentRefusals = new Map<string, number>()
  /** Sites the hub removed while the study ran, with the seq of their `site-removed` entry: planned into no later round. */
  readonly removed = new Map<string, number>()
  /** Hex hashes of every signed statement already taken in (replay detection). */
  readonly seenStatements = new Set<string>()
  lastRound = 0
  committedRounds = 0
  entries = 0

  /** The study spec, parsed from `study-created`. Requires `created`. */
  get study(): StudySpec {
    if (this.#study === undefined) throw new LineageRecordError('the study has not been created', -1)
    return this.#study
  }

  /** Tensor shapes of the study model, in canonical order. */
  get shapes(): readonly TensorShape[] {
    return this.#shapes
  }

  /** The exact canonical size of a delta (or model) of the study model. */
  get deltaSizeBytes(): number {
    return this.#deltaSizeBytes
  }

  /** The open round, if one is collecting. */
  get openRound(): RoundRecord | undefined {
    const r = this.rounds.get(this.lastRound)
    return r?.status === 'collecting' ? r : undefined
  }

  /** Hash of the newest committed model, or the initial one. */
  get currentModel(): Uint8Array {
    for (let r = this.lastRound; r >= 1; r--) {
      const rec = this.rounds.get(r)
      if (rec?.commit) return rec.commit.body.model
    }
    return this.genesis
  }

  /** Round number of the newest committed model (0 for the initial one). */
  /** Enrolled sites the hub has not removed, in enrolment order: those a new round may plan and whose evaluations are awaited. */
  get activeSites(): string[] {
    return [...this.sites.keys()].filter((s) => !this.removed.has(s))
  }

  /** The sites a new round may plan: the active ones, and of those only the approving ones in a study that requires approval. */
  plannableSites(): string[] {
    const study = this.study
    return this.activeSites.filter((s) => !study.requireApproval || this.approvals.has(s))
  }

  /**
   * True when `hash` is a server state that a committed round of this study
   * named and that its sites read: SCAFFOLD's server control variate c, which
   * every planned site needs to train. Other strategies' states (server
   * optimisers' moments) stay with the coordinator and the auditors.
   */
  isSharedState(hash: Uint8Array): boolean {
    if (!this.created || this.study.strategy.name !== 'scaffold') return false
    const hex = toHex(hash)
    for (const r of this.rounds.values()) if (r.commit?.body.state !== undefined && toHex(r.commit.body.state) === hex) return true
    return false
  }

  get currentModelRound(): number {
    for (let r = this.lastRound; r >= 1; r--) if (this.rounds.get(r)?.commit) return r
    return 0
  }

  /** The model a round produced (0: the initial model), if committed. */
  modelOfRound(round: number): Uint8Array | undefined {
    if (round === 0) return this.created ? this.genesis : undefined
    return this.rounds.get(round)?.commit?.body.model
  }

  /** The pseudonyms logged as revoked at `site` so far, in log order. */
  revokedPseudonyms(site: string): Uint8Array[] {
    return [...(this.revocations.get(site)?.values() ?? [])].map((r) => r.pseudonym)
  }

  /** True when `hash` is a model of this study's lineage. */
  isLineageModel(hash: Uint8Array): boolean {
    const hex = toHex(hash)
    if (this.created && toHex(this.genesis) === hex) return true
    for (const r of this.rounds.values()) if (r.commit && toHex(r.commit.body.model) === hex) return true
    return false
  }

  apply(record: LineageRecord): void {
    const fail = (why: string): never => {
      throw new LineageRecordError(`entry ${record.seq} (${record.kind}): ${why}`, record.seq)
    }
    if (!this.created && record.kind !== ENTRY_KINDS.STUDY_CREATED) fail('the log must start with study-created')
    if (this.completed) fail('entry after study-completed')
    this.entries++
    switch (record.kind) {
      case ENTRY_KINDS.STUDY_CREATED: {
        if (this.created) fail('a second study-created')
        const parsed = parseSpec(record.body.spec)
        if (typeof parsed === 'string') fail(`the study spec does not parse: ${parsed}`)
        const study = parsed as StudySpec
        if (study.id !== record.body.study) fail(`the spec is for study "${study.id}", the entry says "${record.body.study}"`)
        this.created = true
        this.studyId = record.body.study
        this.spec = record.body.spec
        this.genesis = record.body.genesis
        this.hubKey = record.body.hub
        this.validation = record.body.validation
        this.requestMaxAgeMs = record.body.requestMaxAgeMs
        this.#study = study
        this.#shapes = modelShapes(study.model, inputWidth(study.data))
        this.#deltaSizeBytes = encodedSize(this.#shapes)
        return
      }
      case ENTRY_KINDS.SITE_ENROLLED: {
        if (this.sites.has(record.body.site)) fail(`site "${record.body.site}" enrolled twice`)
        this.sites.set(record.body.site, record.body.key)
        if (record.body.request !== undefined) this.seenStatements.add(toHex(sha256(record.body.request.body)))
        return
      }
      case ENTRY_KINDS.SITE_REMOVED: {
        const site = record.body.site
        if (!this.sites.has(site)) fail(`removal of unenrolled site "${site}"`)
        if (this.removed.has(site)) fail(`site "${site}" removed twice`)
        this.removed.set(site, record.seq)
        this.seenStatements.add(toHex(sha256(record.body.request.body)))
        return
      }
      case ENTRY_KINDS.ROUND_OPENED: {
        const b = record.body
        this.recentRefusals.clear()
        if (this.openRound) fail(`round ${b.round} opened while round ${this.lastRound} is open`)
        if (b.round !== this.lastRound + 1) fail(`round ${b.round} opened after round ${this.lastRound}`)
        if (toHex(b.base) !== toHex(this.currentModel)) fail(`round ${b.round} base is not the current model`)
        this.lastRound = b.round
        this.rounds.set(b.round, {
          round: b.round,
          base: b.base,
          openedMs: record.timeMs,
          deadlineMs: b.deadline,
          seed: b.seed,
          // A compact plan logs what every site shares once (lineage.ts planFields): each site's instructions are both, merged.
          plan: new Map(b.plan.map((p) => [p.site, b.shared === undefined ? p.instructions : { ...b.shared, ...p.instructions }])),
          ...(b.dp === undefined ? {} : { dp: { ...(b.dp.seed === undefined ? {} : { seed: b.dp.seed }), q: b.dp.q } }),
          ...(this.#study?.secureAggregation === undefined ? {} : { secagg: { phase: 'keys' as const, phaseSinceMs: record.timeMs, keys: new Map(), shares: new Map(), reveals: new Map() } }),
          status: 'collecting',
          accepted: new Map(),
          rejected: [],
          declined: new Map(),
          revocations: [],
          patientRewards: new Map(),
        })
        this.seenStatements.add(toHex(sha256(b.request.body)))
        return
      }
      case ENTRY_KINDS.UPDATE_ACCEPTED: {
        const b = record.body
        const round = this.openRound
        if (!round || round.round !== b.round) fail(`update for round ${b.round}, but the open round is ${round?.round ?? 'none'}`)
        if (!this.sites.has(b.site)) fail(`update from unenrolled site "${b.site}"`)
        if (round!.accepted.has(b.site)) fail(`second update from "${b.site}" in round ${b.round}`)
        const sa = round!.secagg
        if (sa !== undefined && (sa.phase !== 'input' || !sa.u2!.includes(b.site))) fail(`masked input from "${b.site}" outside the input phase or from a site that shared no keys`)
        const envelopeHash = embeddedStatementHash(b.envelope)
        // An envelope embedded by reference brings what the fold reads in `summary` (lineage.ts).
        let metrics: Readonly<Record<string, number>>
        let consent: AcceptedUpdate['consent']
        let dpSgd: AcceptedUpdate['dpSgd']
        if (isEmbeddedByBlob(b.envelope)) {
          const summary = b.summary ?? fail(`update of "${b.site}" embeds its envelope by reference without a summary`)
          metrics = summary.metrics
          consent = summary.consent
          if (summary.dpSgd !== undefined) dpSgd = { claim: summary.dpSgd }
        } else {
          const envelope = decodeStatement('update', b.envelope.body)
          metrics = envelope.metrics
          consent = consentSummaryOf(envelope.ext)
          dpSgd = dpSgdClaimOf(envelope.ext)
        }
        round!.accepted.set(b.site, {
          seq: record.seq,
          site: b.site,
          envelopeHash,
          delta: b.delta,
          examples: b.examples,
          metrics,
          ...(consent === undefined ? {} : { consent }),
          ...(dpSgd === undefined ? {} : { dpSgd }),
        })
        this.seenStatements.add(toHex(envelopeHash))
        return
      }
      case ENTRY_KINDS.CONSENT_REVOKED: {
        const b = record.body
        const round = this.openRound
        if (!round || round.round !== b.round) fail(`revocation for round ${b.round}, but the open round is ${round?.round ?? 'none'}`)
        if (!this.sites.has(b.site)) fail(`revocation at unenrolled site "${b.site}"`)
        // Logged in the batch of the update that reports it, before that update.
        if (round!.accepted.has(b.site)) fail(`revocation at "${b.site}" after its update of round ${b.round} was accepted`)
        if (b.time > round!.openedMs) fail(`revocation at ${b.time} applies from round ${b.round}, which opened before it, at ${round!.openedMs}`)
        let bySite = this.revocations.get(b.site)
        if (!bySite) this.revocations.set(b.site, (bySite = new Map()))
        const key = toHex(b.pseudonym)
        if (bySite.has(key)) fail(`pseudonym ${key} at "${b.site}" revoked twice (first in round ${bySite.get(key)!.round})`)
        const revocation: RevocationRecord = { seq: record.seq, site: b.site, pseudonym: b.pseudonym, time: b.time, round: b.round }
        bySite.set(key, revocation)
        round!.revocations.push(revocation)
        return
      }
      case ENTRY_KINDS.UPDATE_REJECTED: {
        const b = record.body
        if (!this.sites.has(b.site)) fail(`rejection of unenrolled site "${b.site}"`)
        this.recentRefusals.set(b.site, (this.recentRefusals.get(b.site) ?? 0) + 1)
        const statementHash = embeddedStatementHash(b.envelope)
        this.rounds.get(b.round)?.rejected.push({ seq: record.seq, site: b.site, code: b.code, reason: b.reason, type: 'update', statementHash })
        this.seenStatements.add(toHex(statementHash))
        return
      }
      case ENTRY_KINDS.STATEMENT_REJECTED: {
        const b = record.body
        if (!this.sites.has(b.site)) fail(`rejection of unenrolled site "${b.site}"`)
        this.recentRefusals.set(b.site, (this.recentRefusals.get(b.site) ?? 0) + 1)
        const statementHash = sha256(b.statement.body)
        this.rounds.get(b.round)?.rejected.push({ seq: record.seq, site: b.site, code: b.code, reason: b.reason, type: b.type, statementHash })
        this.seenStatements.add(toHex(statementHash))
        return
      }
      case ENTRY_KINDS.ROUND_COMMITTED: {
        const round = this.openRound
        if (!round || round.round !== record.body.round) fail(`commit of round ${record.body.round}, but the open round is ${round?.round ?? 'none'}`)
        const b = withInputs(record.body, round!, fail)
        if (toHex(b.parent) !== toHex(round!.base)) fail(`round ${b.round} parent is not the round's base model`)
        const sites = b.inputs.map((i) => i.site)
        const sorted = [...sites].sort(compareSiteIds)
        if (sites.some((s, i) => s !== sorted[i] || (i > 0 && s === sorted[i - 1]))) fail('inputs are not sorted by site id without duplicates')
        for (const input of b.inputs) {
          const acc = round!.accepted.get(input.site)
          if (!acc) fail(`input from "${input.site}" has no accepted update`)
          if (toHex(acc!.delta) !== toHex(input.delta) || acc!.examples !== input.examples) fail(`input from "${input.site}" differs from its accepted update`)
        }
        // A commit aggregates every accepted update: leaving one out would drop a site's work silently.
        if (b.inputs.length !== round!.accepted.size) fail(`commits ${b.inputs.length} inputs, but ${round!.accepted.size} updates were accepted`)
        if (round!.secagg !== undefined && round!.secagg.phase !== 'unmask') fail(`commit of a secure-aggregation round in its ${round!.secagg.phase} phase, before the unmasking`)
        if ((round!.secagg !== undefined) !== (b.secagg !== undefined))
          fail(round!.secagg === undefined ? 'a secagg record in a round without secure aggregation' : 'no secagg record in a secure-aggregation round')
        round!.status = 'committed'
        round!.commit = { seq: record.seq, timeMs: record.timeMs, body: b }
        this.strategyState = b.state
        this.committedRounds++
        return
      }
      case ENTRY_KINDS.ROUND_ABANDONED: {
        const round = this.openRound
        if (!round || round.round !== record.body.round) fail(`abandons round ${record.body.round}, which is not open`)
        if (record.body.accepted !== round!.accepted.size) fail(`says ${record.body.accepted} updates were accepted, the log holds ${round!.accepted.size}`)
        round!.status = 'abandoned'
        round!.abandonReason = record.body.reason
        return
      }
      case ENTRY_KINDS.ROUND_ABORTED: {
        const b = record.body
        const round = this.openRound
        if (!round || round.round !== b.round) fail(`aborts round ${b.round}, which is not open`)
        if (toHex(b.by) !== toHex(this.hubKey)) fail(`aborted by key ${toHex(b.by)}, not the study's hub key ${toHex(this.hubKey)}`)
        if (b.accepted !== round!.accepted.size) fail(`says ${b.accepted} updates were accepted, the log holds ${round!.accepted.size}`)
        round!.status = 'aborted'
        round!.abortReason = b.reason
        this.seenStatements.add(toHex(sha256(b.request.body)))
        return
      }
      case ENTRY_KINDS.EVALUATION_REPORTED: {
        const b = record.body
        const model = this.modelOfRound(b.round)
        if (!model || toHex(model) !== toHex(b.model)) fail(`evaluation of round ${b.round} names a model that round did not produce`)
        if (!this.sites.has(b.site)) fail(`evaluation from unenrolled site "${b.site}"`)
        let byRound = this.evaluations.get(b.round)
        if (!byRound) this.evaluations.set(b.round, (byRound = new Map()))
        if (byRound.has(b.site)) fail(`second evaluation from "${b.site}" for round ${b.round}`)
        const report = decodeStatement('evaluation', b.report.body)
        byRound.set(b.site, { seq: record.seq, site: b.site, examples: report.examples, metrics: report.metrics, timeMs: record.timeMs })
        this.seenStatements.add(toHex(sha256(b.report.body)))
        return
      }
      case ENTRY_KINDS.ROUND_REWARDED: {
        // Past 256 inputs the allocations are logged as columns: the state holds them as the list either way.
        const expanded = expandRewardedAllocations(record.body)
        const b = typeof expanded === 'string' ? fail(`round ${record.body.round} rewards: ${expanded}`) : expanded
        const round = this.rounds.get(b.round)
        if (!round?.commit) fail(`rewards round ${b.round}, which has not committed`)
        if (round!.rewards) fail(`round ${b.round} rewarded twice`)
        const inputs = round!.commit!.body.inputs.map((i) => i.site)
        const sites = b.allocations.map((a) => a.site)
        if (sites.length !== inputs.length || sites.some((s, i) => s !== inputs[i])) fail(`allocations name [${sites.join(', ')}], the round's inputs are [${inputs.join(', ')}]`)
        const paid = b.allocations.reduce((n, a) => n + a.amount, 0n)
        if (paid + b.unallocated !== b.pool) fail(`allocations sum to ${paid} + ${b.unallocated} unallocated, the pool is ${b.pool}`)
        round!.rewards = { seq: record.seq, body: b }
        for (const a of b.allocations) this.balances.set(a.site, (this.balances.get(a.site) ?? 0n) + a.amount)
        this.unallocated += b.unallocated
        return
      }
      case ENTRY_KINDS.PATIENT_REWARDS: {
        const b = record.body
        const round = this.rounds.get(b.round)
        if (!round?.rewards) fail(`patient rewards for round ${b.round}, which has no round-rewarded entry`)
        if (!this.sites.has(b.site)) fail(`patient rewards from unenrolled site "${b.site}"`)
        if (round!.patientRewards.has(b.site)) fail(`second patient rewards from "${b.site}" for round ${b.round}`)
        const st = decodeStatement('patient-rewards', b.statement.body)
        if (st.round !== b.round || st.site !== b.site) fail(`the embedded statement is for "${st.site}" round ${st.round}, the entry says "${b.site}" round ${b.round}`)
        round!.patientRewards.set(b.site, { seq: record.seq, site: b.site, amount: st.amount, count: st.count, root: st.root })
        this.seenStatements.add(toHex(sha256(b.statement.body)))
        return
      }
      case ENTRY_KINDS.APPROVAL: {
        const b = record.body
        if (!this.sites.has(b.site)) fail(`approval from unenrolled site "${b.site}"`)
        if (this.approvals.has(b.site)) fail(`second approval from "${b.site}" (first at entry ${this.approvals.get(b.site)!.seq})`)
        const st = decodeStatement('approval', b.statement.body)
        if (st.site !== b.site || toHex(st.spec) !== toHex(b.spec)) fail(`the embedded statement is "${st.site}" approving ${toHex(st.spec)}, the entry says "${b.site}" approving ${toHex(b.spec)}`)
        if (toHex(b.spec) !== toHex(sha256(this.spec))) fail(`"${b.site}" approves spec ${toHex(b.spec)}, the study runs ${toHex(sha256(this.spec))}`)
        this.approvals.set(b.site, { seq: record.seq, site: b.site, spec: b.spec, timeMs: record.timeMs })
        this.seenStatements.add(toHex(sha256(b.statement.body)))
        return
      }
      case ENTRY_KINDS.TASK_DECLINED: {
        const b = record.body
        const round = this.openRound
        if (!round || round.round !== b.round) fail(`decline of round ${b.round}, but the open round is ${round?.round ?? 'none'}`)
        if (!round!.plan.has(b.site)) fail(`decline from "${b.site}", which round ${b.round} did not plan`)
        if (round!.accepted.has(b.site) || round!.declined.has(b.site)) fail(`decline from "${b.site}" after its update or decline in round ${b.round}`)
        const st = decodeStatement('declined', b.statement.body)
        if (st.site !== b.site || st.round !== b.round || st.code !== b.code || st.reason !== b.reason) fail(`the embedded statement differs from the entry's site, round, code or reason`)
        round!.declined.set(b.site, { seq: record.seq, site: b.site, code: b.code, reason: b.reason })
        this.seenStatements.add(toHex(sha256(b.statement.body)))
        return
      }
      case ENTRY_KINDS.SECAGG_KEYS:
      case ENTRY_KINDS.SECAGG_SHARES:
      case ENTRY_KINDS.SECAGG_UNMASK:
      case ENTRY_KINDS.SECAGG_PHASE:
        applySecAgg(this, record, fail)
        return
      case ENTRY_KINDS.STUDY_COMPLETED: {
        if (this.openRound) fail('study completed while a round is open')
        if (record.body.rounds !== this.committedRounds) fail(`says ${record.body.rounds} rounds, the log committed ${this.committedRounds}`)
        if (toHex(record.body.model) !== toHex(this.currentModel)) fail('names another final model than the last committed one')
        this.completed = true
        return
      }
    }
  }
}

/**
 * A commit body with its input list: as logged, or, for a compact commit
 * (`inputsHash`), rebuilt from the round's accepted updates (sorted by site
 * id) and held to the logged hash.
 */
function withInputs(b: RoundCommittedBody, round: RoundRecord, fail: (why: string) => never): RoundCommittedBody {
  if (b.inputsHash === undefined) return b
  if (b.inputs.length > 0) fail('lists its inputs and names their hash: a commit does one or the other')
  const inputs = [...round.accepted.values()].sort((x, y) => compareSiteIds(x.site, y.site)).map((a) => ({ site: a.site, delta: a.delta, examples: a.examples, envelope: a.envelopeHash }))
  if (!equalBytes(inputsListHash(inputs), b.inputsHash)) fail(`its inputs hash ${toHex(b.inputsHash)} is not the hash of the round's ${inputs.length} accepted updates`)
  return { ...b, inputs }
}

/** The study spec of a `study-created` entry, parsed, or why it does not parse. */
function parseSpec(bytes: Uint8Array): StudySpec | string {
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    return `not canonical CBOR: ${(err as Error).message}`
  }
  const parsed = StudySpecSchema.safeParse(value)
  if (!parsed.success) return `${parsed.error.issues[0]?.path.join('.') || '(root)'}: ${parsed.error.issues[0]?.message ?? 'invalid'}`
  return parsed.data
}

/** Site ids sort by UTF-16 code units: the aggregation order everywhere. */
export function compareSiteIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
