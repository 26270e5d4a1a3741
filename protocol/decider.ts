/**
 * The round decider: `step(state, input, timeMs)`, the one function that
 * turns what arrives from outside into lineage entries and site tasks. The
 * coordinator shell feeds it inputs and appends what comes out, in one
 * durable batch per step; the auditor feeds it the inputs the log records
 * and requires the logged entries byte for byte. The loop (admit, accept or
 * refuse, close on quorum or deadline, aggregate, reward, complete) is
 * written here once.
 *
 * The state is the fold of the log (`StudyState.apply`): `step` never mutates
 * it and returns no new state. The new state is the old one with the emitted
 * entries applied, which is exactly what the shell does after appending them,
 * so the state can never hold anything the log does not (decide/evolve; a
 * returned state object would be a second source of truth).
 *
 * Inputs:
 * - `create`: the study spec, hub key and enrolled sites, at the first start;
 * - `enroll`: a site added to a running study;
 * - `round-start`: the hub's signed request to open the next round;
 * - `round-abort`: the hub's signed request to abort the open round;
 * - `update`: a site's signed envelope with its delta (bytes, or a reader
 *   over the file the upload was streamed into), or with the refusal the
 *   transport already made (an oversize stream);
 * - `evaluation`, `patient-rewards`: a site's signed statements;
 * - `approval`, `declined`: a site approved the study's spec hash, or
 *   declined its fit task of the open round (site-control.ts);
 * - `tick`: time passed (a deadline may have come);
 * - `cosignature`: a site witnessed a checkpoint.
 *
 * Refusals: a statement that does not decode, names no enrolled site, is not
 * validly signed by it, or was already taken in is refused and not logged
 * (nothing binds a site to it). Every other refusal of a site's statement is
 * logged (`update-rejected`, `statement-rejected`) with its code and reason,
 * whatever the timing, and returned as `refusal`.
 *
 * Pure: no I/O, no clock, no randomness. All entries of one step carry the
 * step's `timeMs`.
 */
import { bytesReader, encodeCanonical, equalBytes, sha256, toHex, type BlobReader, type CanonicalValue } from '../ledger/core/index.ts'
import { encodeWeights, initialWeights, inputWidth, minimumUpdates, type StudySpec } from '../models/core/index.ts'
import { checkEvaluation, checkMembership, checkRoundAbort, checkRoundStart, checkUpdateEnvelope } from './admission.ts'
import { checkUpdateConsent, type ConsentAdmission } from './consent-rules.ts'
import { checkUpdateDpSgd } from './dp-sgd-rules.ts'
import { dpSgdClaimOf } from './dp-sgd-claim.ts'
import { checkDelta } from './delta-checks.ts'
import { dpAccountAfter, dpSamplingRate } from './dp-accounting.ts'
import {
  DpBudgetSpentError,
  DpSeedInvalidError,
  EntryTooLargeError,
  ProtocolError,
  RoundStateError,
  SecAggMessageError,
  SignatureInvalidError,
  StudyMismatchError,
  UpdateReplayedError,
  UpdateTooLargeError,
} from './errors.ts'
import { ENTRY_BODY_MAX_BYTES, ENTRY_KINDS, embedLargeStatement, embedStatement, lineageBody, planFields, type LineageBody } from './lineage.ts'
import { checkPatientRewards } from './patient-rewards.ts'
import { checkApproval, checkDeclined } from './site-control.ts'
import { commitRound, type BlobView, type CloseResult, type DecidedEntry } from './round-close.ts'
import { decideClose } from './round-rules.ts'
import { decodeSecAggStatement, decodeStatement, statementHash, verifyStatement, type MembershipStatement, type SecAggStatement, type SignedStatement, type StatementType } from './statements.ts'
import { advanceSecAgg, checkSecAggMessage, secAggMessageEntry, type SecAggPending } from './secagg-rules.ts'
import { commitSecAggRound } from './secagg-commit.ts'
import { consentSummaryOf } from './consent-claim.ts'
import { planRound } from './round-plan.ts'
import type { AcceptedUpdate, DeclineRecord, StudyState } from './study-state.ts'
import { compareSiteIds } from './study-state.ts'
import { completionDue, fitTask, type AddressedTask, type PendingStatements } from './tasks.ts'

export type { BlobView, DecidedEntry } from './round-close.ts'

/** The study a coordinator creates: validated spec, hub key, enrolled sites, and the hub's validation set. */
export interface CreateInput {
  readonly kind: 'create'
  readonly spec: StudySpec
  readonly hubKey: Uint8Array
  readonly sites: readonly { readonly id: string; readonly publicKey: Uint8Array }[]
  /** The hub's prepared validation set (canonical Dataset bytes), for gain-based rewards. */
  readonly validation?: Uint8Array
  /**
   * The validation set by its hash alone, when its bytes are not at hand:
   * the audit of a replica whose holder may not read the set. The study is
   * created naming it all the same; the set is neither written nor checked.
   */
  readonly validationHash?: Uint8Array
  readonly requestMaxAgeMs: number
}

/** A refusal the transport made before the delta was complete (e.g. more bytes than declared). */
export interface TransportRefusal {
  readonly code: string
  readonly reason: string
}

export type DeciderInput =
  | CreateInput
  | { readonly kind: 'enroll'; readonly site: string; readonly publicKey: Uint8Array }
  | {
      readonly kind: 'round-start'
      readonly request: SignedStatement
      /**
       * A study with `dp`: the round's secret noise seed, 32 bytes the shell
       * drew from a cryptographic RNG and keeps out of the log (the round logs
       * its SHA-256 only), or, when the seed is not at hand (the audit), that
       * hash as the log holds it.
       */
      readonly noiseSeed?: Uint8Array
      readonly noiseSeedHash?: Uint8Array
    }
  | { readonly kind: 'round-abort'; readonly request: SignedStatement }
  | { readonly kind: 'update'; readonly envelope: SignedStatement; readonly delta: Uint8Array | BlobReader; readonly transport?: undefined }
  | { readonly kind: 'update'; readonly envelope: SignedStatement; readonly delta?: undefined; readonly transport: TransportRefusal }
  | { readonly kind: 'evaluation'; readonly report: SignedStatement }
  | { readonly kind: 'patient-rewards'; readonly statement: SignedStatement }
  | { readonly kind: 'approval'; readonly statement: SignedStatement }
  | { readonly kind: 'declined'; readonly statement: SignedStatement }
  | { readonly kind: 'membership'; readonly request: SignedStatement }
  /** A site's signed secure-aggregation message: `secagg-keys`, `secagg-shares` or `secagg-unmask` (secagg-rules.ts). */
  | { readonly kind: 'secagg'; readonly statement: SignedStatement }
  | { readonly kind: 'tick' }
  | { readonly kind: 'cosignature'; readonly site: string; readonly witness: Uint8Array }

export interface Decision {
  /** Entries to append, in order, in one durable batch with `blobs`; each carries the step's time. */
  readonly entries: readonly DecidedEntry[]
  /**
   * Blobs the entries name (models, deltas, server state), stored in the same
   * batch. An accepted update's delta is its input's own `delta`, as given: a
   * reader stands for the file the shell streamed it into.
   */
  readonly blobs: readonly (Uint8Array | BlobReader)[]
  readonly tasks: readonly AddressedTask[]
  /** Why the input was refused (its logged rejection, if any, is in `entries`). */
  readonly refusal?: ProtocolError
  /** For an accepted update, round-start or evaluation: the index in `entries` of the entry that records it. */
  readonly recordedAt?: number
}

/** The decider lacks blobs: load these and call `step` again with them (nothing was decided). */
export interface NeedsBlobs {
  readonly needs: readonly Uint8Array[]
}

export type StepResult = Decision | NeedsBlobs

const NO_BLOBS: BlobView = { get: () => undefined }

function entry<K extends Parameters<typeof lineageBody>[0]>(kind: K, body: LineageBody<K>): DecidedEntry {
  return { kind, body: lineageBody(kind, body) }
}

const decided = (entries: DecidedEntry[], extra: Partial<Decision> = {}): Decision => ({ entries, blobs: [], tasks: [], ...extra })

/**
 * Decides what `input` at `timeMs` does to the study in `state` (see the
 * module doc). `blobs` supplies the models and deltas a commit needs; when
 * one is missing the result is `{ needs }` and nothing is decided.
 */
export function step(state: StudyState, input: DeciderInput, timeMs: number, blobs: BlobView = NO_BLOBS): StepResult {
  const result = decideInput(state, input, timeMs, blobs)
  if (needsBlobs(result)) return result
  // Every entry must fit a tlog-tiles bundle: an input that would make a larger one is refused, unlogged (the ledger would refuse the append).
  for (const e of result.entries) {
    const size = encodeCanonical(e.body).length
    if (size > ENTRY_BODY_MAX_BYTES)
      return refuse(new EntryTooLargeError(`${input.kind}: its ${e.kind} entry would have a body of ${size} bytes, over the ${ENTRY_BODY_MAX_BYTES} a log entry may carry; send a smaller statement`))
  }
  return result
}

function decideInput(state: StudyState, input: DeciderInput, timeMs: number, blobs: BlobView): StepResult {
  switch (input.kind) {
    case 'create':
      return create(state, input)
    case 'enroll':
      return enroll(state, input.site, input.publicKey)
    case 'round-start':
      return roundStart(state, input, timeMs)
    case 'round-abort':
      return roundAbort(state, input.request, timeMs)
    case 'update':
      return update(state, input, timeMs, blobs)
    case 'evaluation':
      return evaluation(state, input.report, timeMs)
    case 'patient-rewards':
      return patientRewards(state, input.statement, timeMs)
    case 'approval':
      return approval(state, input.statement)
    case 'declined':
      return declined(state, input.statement, timeMs, blobs)
    case 'membership':
      return membership(state, input.request, timeMs)
    case 'secagg':
      return secAgg(state, input.statement, timeMs, blobs)
    case 'tick':
      return tick(state, timeMs, blobs)
    case 'cosignature':
      return cosignature(state, input.site, input.witness)
  }
}

/** True when `result` asks for blobs. */
export function needsBlobs(result: StepResult): result is NeedsBlobs {
  return 'needs' in result
}

// ---- study ------------------------------------------------------------------------------------

function create(state: StudyState, input: CreateInput): Decision {
  if (state.created) throw new RoundStateError(`study "${state.studyId}" already exists`)
  const spec = input.spec
  const genesis = encodeWeights(initialWeights(spec.model, inputWidth(spec.data), spec.seed))
  const entries = [
    entry(ENTRY_KINDS.STUDY_CREATED, {
      study: spec.id,
      spec: encodeSpec(spec),
      genesis: sha256(genesis),
      hub: input.hubKey,
      ...(input.validation ? { validation: sha256(input.validation) } : input.validationHash ? { validation: input.validationHash } : {}),
      requestMaxAgeMs: input.requestMaxAgeMs,
    }),
    ...[...input.sites].sort((a, b) => compareSiteIds(a.id, b.id)).map((s) => entry(ENTRY_KINDS.SITE_ENROLLED, { site: s.id, key: s.publicKey })),
  ]
  return decided(entries, { blobs: input.validation ? [genesis, input.validation] : [genesis] })
}

/** The spec as `study-created` logs it: canonical CBOR of its validated (defaults filled) form. */
export function encodeSpec(spec: StudySpec): Uint8Array {
  return encodeCanonical(spec as unknown as CanonicalValue)
}

function enroll(state: StudyState, site: string, publicKey: Uint8Array): Decision {
  const known = state.sites.get(site)
  if (known && !equalBytes(known, publicKey)) throw new StudyMismatchError(`site "${site}" is enrolled in the log with another key`)
  if (known) return decided([])
  if (state.completed) throw new RoundStateError(`study "${state.studyId}" is complete: the log takes no more entries`)
  return decided([entry(ENTRY_KINDS.SITE_ENROLLED, { site, key: publicKey })])
}

/**
 * The hub enrols or removes a site while the study runs: logged with its
 * signed request, so the audit re-decides it; the next round plans by it.
 * A refused request is not logged (like a refused round start).
 */
function membership(state: StudyState, request: SignedStatement, timeMs: number): Decision {
  let m: MembershipStatement
  try {
    m = checkMembership(state, request, timeMs, state.requestMaxAgeMs)
  } catch (err) {
    return refuse(err)
  }
  const logged = embedStatement(request)
  if (m.action === 'enroll') return decided([entry(ENTRY_KINDS.SITE_ENROLLED, { site: m.site, key: m.key!, request: logged })], { recordedAt: 0 })
  return decided([entry(ENTRY_KINDS.SITE_REMOVED, { site: m.site, request: logged })], { recordedAt: 0 })
}

// ---- rounds ------------------------------------------------------------------------------------

function roundStart(state: StudyState, input: Extract<DeciderInput, { kind: 'round-start' }>, timeMs: number): Decision {
  const request = input.request
  let round: number
  try {
    round = checkRoundStart(state, request, timeMs, state.requestMaxAgeMs, state.study.rounds).round
  } catch (err) {
    return refuse(err)
  }
  const study = state.study
  const { plan, eligible: siteIds, seed } = planRound(state, round)
  let dp: { seed?: Uint8Array; q: number } | undefined
  if (study.dp !== undefined) {
    const q = dpSamplingRate(plan.sites.length, siteIds.length)
    if (study.dp.epsilon !== undefined) {
      const after = dpAccountAfter(state, round, q, study.dp)
      if (after.epsilon > study.dp.epsilon)
        return refuse(
          new DpBudgetSpentError(
            `study "${state.studyId}": round ${round} would take ε to ${after.epsilon.toPrecision(4)} at δ ${study.dp.delta} (${after.steps} DP rounds, this one at q ${q.toPrecision(4)}, σ ${study.dp.noiseMultiplier}), above the budget dp.epsilon ${study.dp.epsilon}; the budget is spent and training stops here (the newest model stays the study's result)`,
          ),
        )
    }
    // Under secure aggregation the sites add the noise (distributed DP): the coordinator draws none and commits to no seed.
    if (study.secureAggregation !== undefined) dp = { q }
    else {
      const seedHash = input.noiseSeed !== undefined ? (input.noiseSeed.length === 32 ? sha256(input.noiseSeed) : undefined) : input.noiseSeedHash
      if (seedHash === undefined || seedHash.length !== 32)
        return refuse(
          new DpSeedInvalidError(
            `study "${state.studyId}" has dp: round ${round} needs a 32-byte private noise seed (or its SHA-256 when replaying), got ${input.noiseSeed?.length ?? input.noiseSeedHash?.length ?? 'none'}`,
          ),
        )
      dp = { seed: seedHash, q }
    }
  }
  const deadline = timeMs + study.roundDeadlineMs
  const opened = entry(ENTRY_KINDS.ROUND_OPENED, {
    round,
    base: state.currentModel,
    deadline,
    seed,
    request: embedStatement(request),
    ...planFields(plan.sites.map((p) => ({ site: p.siteId, instructions: p.instructions }))),
    ...(dp === undefined ? {} : { dp }),
  })
  const record = {
    round,
    base: state.currentModel,
    openedMs: timeMs,
    deadlineMs: deadline,
    seed,
    plan: new Map(plan.sites.map((p) => [p.siteId, p.instructions])),
  }
  // A plan smaller than the strategy's minimum (Krum 2f + 3, Bulyan 4f + 3) can never aggregate: abandon it at once, with the reason.
  const needed = minimumUpdates(study.strategy)
  if (plan.sites.length < needed) {
    const reason = `${study.strategy.name} needs at least ${needed} updates a round, but only ${plan.sites.length} sites can be planned`
    return decided([opened, entry(ENTRY_KINDS.ROUND_ABANDONED, { round, reason, accepted: 0 })], { recordedAt: 0 })
  }
  const tasks = plan.sites.flatMap((p) => {
    const task = fitTask(state, record, p.siteId)
    return task ? [{ siteId: p.siteId, task }] : []
  })
  return decided([opened], { tasks, recordedAt: 0 })
}

/**
 * The hub aborts the open round: logged with its signed request, the reason
 * and the hub key, and closed without a model (nothing it accepted is
 * aggregated); every site is told to drop its task of the round. A refused
 * request is not logged (like a refused round start). The next round starts
 * from the same base model.
 */
function roundAbort(state: StudyState, request: SignedStatement, timeMs: number): Decision {
  let req
  try {
    req = checkRoundAbort(state, request, timeMs, state.requestMaxAgeMs)
  } catch (err) {
    return refuse(err)
  }
  const open = state.openRound!
  const aborted = entry(ENTRY_KINDS.ROUND_ABORTED, { round: req.round, reason: req.reason, accepted: open.accepted.size, by: state.hubKey, request: embedStatement(request) })
  return decided([aborted], { tasks: [{ siteId: null, task: { kind: 'cancel', round: req.round, reason: req.reason } }], recordedAt: 0 })
}

/**
 * A site's update: the envelope checks, its consent, its DP-SGD claim
 * (when the study requires one), then the delta bytes;
 * accepted with any revocations it first reports, then the round closes if
 * that made it complete.
 */
function update(state: StudyState, input: Extract<DeciderInput, { kind: 'update' }>, timeMs: number, blobs: BlobView): StepResult {
  const signed = input.envelope
  if (!isBindingSiteStatement(state, 'update', signed)) return refuse(admissionError(() => checkUpdateEnvelope(state, signed, state.deltaSizeBytes, timeMs)))
  let consent: ConsentAdmission
  const delta = input.delta === undefined || !(input.delta instanceof Uint8Array) ? input.delta : bytesReader(input.delta)
  const env = decodeStatement('update', signed.body)
  try {
    checkUpdateEnvelope(state, signed, state.deltaSizeBytes, timeMs)
    consent = checkUpdateConsent(state, env, state.study.consent !== undefined)
    checkUpdateDpSgd(state, env)
    if (input.transport !== undefined) throw transportRefusal(input.transport)
    const sa = state.openRound?.secagg
    if (sa !== undefined && (sa.phase !== 'input' || !sa.u2!.includes(env.site)))
      throw new SecAggMessageError(
        `update from "${env.site}" for round ${env.round}: a masked input is taken only in the input phase (the round is in its ${sa.phase} phase) from a site whose shares were logged; wait for the input task`,
      )
    // A masked input is uniform words mod 2^32: its layout and size are checked, its values are not floats.
    checkDelta(env, delta!, state.shapes, { masked: sa !== undefined })
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err
    if (refusalsCapped(state, env.site)) return refuse(err)
    const logged = embedLargeStatement(signed)
    return decided([entry(ENTRY_KINDS.UPDATE_REJECTED, { round: env.round, site: env.site, code: err.code, reason: err.message, envelope: logged.embedded })], {
      refusal: err,
      blobs: logged.blob === undefined ? [] : [logged.blob],
    })
  }
  const open = state.openRound!
  // New revocations go first, so that the update that reports them is checked against them on replay.
  const revocations = consent.newRevocations.map((r) => entry(ENTRY_KINDS.CONSENT_REVOKED, { round: env.round, site: env.site, pseudonym: r.pseudonym, time: r.time }))
  const acceptedEntry = updateAcceptedEntry(signed)
  const consentSummary = consentSummaryOf(env.ext)
  const fresh: AcceptedUpdate = {
    seq: state.entries + revocations.length,
    site: env.site,
    envelopeHash: statementHash(signed),
    delta: env.delta,
    examples: env.examples,
    metrics: env.metrics,
    ...(consentSummary === undefined ? {} : { consent: consentSummary }),
  }
  const accepted = new Map(open.accepted)
  accepted.set(env.site, fresh)
  const entries = [...revocations, acceptedEntry]
  const close = closeIfDue(state, accepted, { site: env.site, delta: delta! }, timeMs, blobs)
  if (close !== undefined && 'needs' in close) return close
  return {
    entries: [...entries, ...(close?.entries ?? [])],
    blobs: [input.delta!, ...envelopeBlobs(signed), ...(close?.blobs ?? [])],
    tasks: close?.tasks ?? [],
    recordedAt: revocations.length,
  }
}

/**
 * The `update-accepted` entry of an admitted update envelope: what the
 * decider writes for it. The audit of a step it cannot re-run (the delta is
 * not at hand) still holds the logged entry to it.
 */
export function updateAcceptedEntry(signed: SignedStatement): DecidedEntry {
  const env = decodeStatement('update', signed.body)
  const logged = embedLargeStatement(signed)
  if (logged.blob === undefined) return entry(ENTRY_KINDS.UPDATE_ACCEPTED, { round: env.round, site: env.site, envelope: logged.embedded, delta: env.delta, examples: env.examples })
  // By reference: what the state fold reads from the envelope comes along (lineage.ts).
  const consent = consentSummaryOf(env.ext)
  const dpSgd = dpSgdClaimOf(env.ext)
  const summary = {
    metrics: { ...env.metrics },
    ...(consent === undefined ? {} : { consent: { at: consent.at, root: consent.root, count: consent.count, excluded: { ...consent.excluded } } }),
    ...(dpSgd === undefined || !('claim' in dpSgd) ? {} : { dpSgd: { ...dpSgd.claim } }),
  }
  return entry(ENTRY_KINDS.UPDATE_ACCEPTED, { round: env.round, site: env.site, envelope: logged.embedded, delta: env.delta, examples: env.examples, summary })
}

/** The blob an accepted update's entry names for its envelope's body, when it is embedded by reference (none when inline). */
function envelopeBlobs(signed: SignedStatement): Uint8Array[] {
  const { blob } = embedLargeStatement(signed)
  return blob === undefined ? [] : [blob]
}

function transportRefusal(t: TransportRefusal): ProtocolError {
  // The transport's codes are the protocol's own (oversize streams are its only source today).
  if (t.code === UpdateTooLargeError.code) return new UpdateTooLargeError(t.reason)
  const err = new ProtocolError(t.reason)
  Object.defineProperty(err, 'code', { value: t.code })
  return err
}

function tick(state: StudyState, timeMs: number, blobs: BlobView): StepResult {
  if (!state.created || state.completed) return decided([])
  const open = state.openRound
  if (open) {
    const close = closeIfDue(state, open.accepted, undefined, timeMs, blobs)
    if (close !== undefined && 'needs' in close) return close
    return close ? decided([...close.entries], { blobs: close.blobs, tasks: close.tasks }) : decided([])
  }
  return completeIfDue(state, timeMs)
}

/** The entries that close the open round now, if it is due: commit (or a strategy's `none`) or abandon. */
function closeIfDue(
  state: StudyState,
  accepted: ReadonlyMap<string, AcceptedUpdate>,
  fresh: { readonly site: string; readonly delta: BlobReader } | undefined,
  timeMs: number,
  blobs: BlobView,
  declinedNow?: DeclineRecord,
): Close | NeedsBlobs | undefined {
  const open = state.openRound!
  if (open.secagg !== undefined)
    return secAggCloseIfDue(state, accepted, timeMs, blobs, { ...(fresh === undefined ? {} : { acceptedFrom: fresh.site }), ...(declinedNow === undefined ? {} : { declinedFrom: declinedNow.site }) })
  const decision = decideClose(accepted.size, open.plan.size, open.deadlineMs, state.study.minSites, timeMs, open.declined.size + (declinedNow === undefined ? 0 : 1))
  if (decision.action === 'wait') return undefined
  if (decision.action === 'abandon') return abandonedClose(open.round, decision.reason, accepted.size)
  const round = declinedNow === undefined ? open : { ...open, declined: new Map([...open.declined, [declinedNow.site, declinedNow]]) }
  return withCloseTasks(state, open.round, commitRound(state, round, accepted, fresh, blobs), timeMs)
}

type Close = { entries: readonly DecidedEntry[]; blobs: readonly Uint8Array[]; tasks: readonly AddressedTask[] }

/** A round closed without a model: logged with its reason; sites still training for it drop the task, as for an aborted round (nothing they send could count). */
function abandonedClose(round: number, reason: string, accepted: number): Close {
  return {
    entries: [entry(ENTRY_KINDS.ROUND_ABANDONED, { round, reason, accepted })],
    blobs: [],
    tasks: [{ siteId: null, task: { kind: 'cancel', round, reason } }],
  }
}

/** A commit's result with what the sites are told: evaluate the new model, or drop the task of a round the commit abandoned. */
function withCloseTasks(state: StudyState, round: number, result: CloseResult, timeMs: number): Close | NeedsBlobs {
  if (result.kind === 'needs') return { needs: result.hashes }
  const committed = result.entries.find((e) => e.kind === ENTRY_KINDS.ROUND_COMMITTED)
  const model = committed ? (committed.body as { model: Uint8Array }).model : undefined
  const abandoned = result.entries.find((e) => e.kind === ENTRY_KINDS.ROUND_ABANDONED)
  const tasks: AddressedTask[] = model
    ? [{ siteId: null, task: { kind: 'evaluate', round, model, deadlineMs: timeMs + state.study.evaluationDeadlineMs } }]
    : abandoned
      ? [{ siteId: null, task: { kind: 'cancel', round, reason: (abandoned.body as { reason: string }).reason } }]
      : []
  return { entries: result.entries, blobs: result.blobs, tasks }
}

// ---- evaluations, patient rewards, witnesses ----------------------------------------------------

function evaluation(state: StudyState, report: SignedStatement, timeMs: number): Decision {
  if (!isBindingSiteStatement(state, 'evaluation', report)) return refuse(admissionError(() => checkEvaluation(state, report)))
  let ev
  try {
    ev = checkEvaluation(state, report)
  } catch (err) {
    return refuseLogged(state, 'evaluation', report, err)
  }
  const reported = entry(ENTRY_KINDS.EVALUATION_REPORTED, { round: ev.round, site: ev.site, model: ev.model, report: embedStatement(report) })
  // The newest model's last outstanding report may complete the study.
  const completion = ev.round > 0 && ev.round === state.currentModelRound ? completeIfDue(state, timeMs, { evaluationFrom: ev.site }) : decided([])
  return { entries: [reported, ...completion.entries], blobs: [], tasks: completion.tasks, recordedAt: 0 }
}

/**
 * `study-completed` once `completionDue` (tasks.ts): the newest round's
 * evaluations and owed patient rewards are all in, in whatever order they
 * came, or its evaluation deadline passed. `pending` names a statement being
 * decided in this very step.
 */
function completeIfDue(state: StudyState, timeMs: number, pending: PendingStatements = {}): Decision {
  if (!completionDue(state, timeMs, pending)) return decided([])
  const done = entry(ENTRY_KINDS.STUDY_COMPLETED, { rounds: state.committedRounds, model: state.currentModel })
  return decided([done], { tasks: [{ siteId: null, task: { kind: 'done', rounds: state.committedRounds, model: state.currentModel } }] })
}

function patientRewards(state: StudyState, statement: SignedStatement, timeMs: number): Decision {
  if (!isBindingSiteStatement(state, 'patient-rewards', statement)) return refuse(admissionError(() => checkPatientRewards(state, statement)))
  let st
  try {
    st = checkPatientRewards(state, statement)
  } catch (err) {
    return refuseLogged(state, 'patient-rewards', statement, err)
  }
  const logged = entry(ENTRY_KINDS.PATIENT_REWARDS, { round: st.round, site: st.site, statement: embedStatement(statement) })
  // The newest round's last owed statement may complete the study.
  const completion = st.round === state.currentModelRound ? completeIfDue(state, timeMs, { patientRewardsFrom: st.site }) : decided([])
  return { entries: [logged, ...completion.entries], blobs: [], tasks: completion.tasks, recordedAt: 0 }
}

function approval(state: StudyState, statement: SignedStatement): Decision {
  if (!isBindingSiteStatement(state, 'approval', statement)) return refuse(admissionError(() => checkApproval(state, statement)))
  let st
  try {
    st = checkApproval(state, statement)
  } catch (err) {
    return refuseLogged(state, 'approval', statement, err)
  }
  return decided([entry(ENTRY_KINDS.APPROVAL, { site: st.site, spec: st.spec, statement: embedStatement(statement) })], { recordedAt: 0 })
}

/** A site declined its fit task: logged, then the round closes if every other planned site has answered. */
function declined(state: StudyState, statement: SignedStatement, timeMs: number, blobs: BlobView): StepResult {
  if (!isBindingSiteStatement(state, 'declined', statement)) return refuse(admissionError(() => checkDeclined(state, statement)))
  let st
  try {
    st = checkDeclined(state, statement)
  } catch (err) {
    return refuseLogged(state, 'declined', statement, err)
  }
  const logged = entry(ENTRY_KINDS.TASK_DECLINED, { round: st.round, site: st.site, code: st.code, reason: st.reason, statement: embedStatement(statement) })
  const record: DeclineRecord = { seq: state.entries, site: st.site, code: st.code, reason: st.reason }
  const close = closeIfDue(state, state.openRound!.accepted, undefined, timeMs, blobs, record)
  if (close !== undefined && 'needs' in close) return close
  return { entries: [logged, ...(close?.entries ?? [])], blobs: close?.blobs ?? [], tasks: close?.tasks ?? [], recordedAt: 0 }
}

function cosignature(state: StudyState, site: string, witness: Uint8Array): Decision {
  const key = state.sites.get(site)
  if (!key || !equalBytes(key, witness)) return refuse(new SignatureInvalidError(`cosignature from "${site}": witness key is not the site's enrolled key`))
  return decided([])
}

// ---- secure aggregation ------------------------------------------------------------------------

/**
 * A site's secure-aggregation message (secagg-rules.ts): refused unlogged
 * when not binding (undecodable, unsigned by an enrolled site, replayed),
 * logged as `statement-rejected` when it breaks the round's rules, else
 * logged; then the phase closes if that completed it.
 */
function secAgg(state: StudyState, signed: SignedStatement, timeMs: number, blobs: BlobView): StepResult {
  let message: SecAggStatement
  try {
    message = decodeSecAggStatement(signed.body)
  } catch (err) {
    return refuse(err)
  }
  if (!state.created || state.completed) return refuse(new RoundStateError(`${message.t} from "${message.site}": the study takes no more entries`))
  const key = state.sites.get(message.site)
  if (key === undefined || !verifyStatement(key, signed)) return refuse(new SignatureInvalidError(`${message.t} from "${message.site}": not signed by an enrolled site's key`))
  if (state.seenStatements.has(toHex(statementHash(signed)))) return refuse(new UpdateReplayedError(`${message.t} from "${message.site}": this signed statement was already received`))
  try {
    checkSecAggMessage(state, message)
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err
    if (refusalsCapped(state, message.site)) return refuse(err)
    return decided([entry(ENTRY_KINDS.STATEMENT_REJECTED, { type: message.t, round: message.round, site: message.site, code: err.code, reason: err.message, statement: embedStatement(signed) })], {
      refusal: err,
    })
  }
  const logged = secAggMessageEntry(message, signed)
  const close = secAggCloseIfDue(state, state.openRound!.accepted, timeMs, blobs, { message, signed })
  if (close !== undefined && 'needs' in close) return close
  return { entries: [logged, ...(close?.entries ?? [])], blobs: close?.blobs ?? [], tasks: close?.tasks ?? [], recordedAt: 0 }
}

/** The entries that advance a secure-aggregation round now, if its phase is due: the next phase, an abandon, or the commit. */
function secAggCloseIfDue(state: StudyState, accepted: ReadonlyMap<string, AcceptedUpdate>, timeMs: number, blobs: BlobView, pending: SecAggPending): Close | NeedsBlobs | undefined {
  const open = state.openRound!
  const next = advanceSecAgg(state, timeMs, pending)
  if (next.kind === 'wait') return undefined
  if (next.kind === 'entries') return { entries: next.entries, blobs: [], tasks: next.tasks }
  if (next.kind === 'abandon') return abandonedClose(open.round, next.reason, accepted.size)
  const reveals = new Map(open.secagg!.reveals)
  if (pending.message?.t === 'secagg-unmask') reveals.set(pending.message.site, pending.message.reveals)
  return withCloseTasks(state, open.round, commitSecAggRound(state, open, reveals, blobs), timeMs)
}

// ---- refusals ----------------------------------------------------------------------------------

/**
 * True when a refusal of `signed` belongs in the log: it decodes as `type`,
 * names an enrolled site, is validly signed by that site's key, was never
 * taken in before, and the study still takes entries.
 */
function isBindingSiteStatement(state: StudyState, type: Extract<StatementType, 'update' | 'evaluation' | 'patient-rewards' | 'approval' | 'declined'>, signed: SignedStatement): boolean {
  if (!state.created || state.completed) return false
  let site: string
  try {
    site = decodeStatement(type, signed.body).site
  } catch {
    return false
  }
  const key = state.sites.get(site)
  return key !== undefined && verifyStatement(key, signed) && !state.seenStatements.has(toHex(statementHash(signed)))
}

/** The admission error `check` throws (it must throw: the statement is not binding). */
function admissionError(check: () => unknown): unknown {
  try {
    check()
  } catch (err) {
    return err
  }
  return new RoundStateError('the study takes no more entries')
}

function refuse(err: unknown): Decision {
  if (!(err instanceof ProtocolError)) throw err
  return decided([], { refusal: err })
}

/** Refusals of one site logged per round at most; past it a refusal is still answered, but not logged. */
export const MAX_LOGGED_REFUSALS_PER_ROUND = 16

/** True once `site` has had MAX_LOGGED_REFUSALS_PER_ROUND refusals logged since the newest round opened. */
function refusalsCapped(state: StudyState, site: string): boolean {
  return (state.recentRefusals.get(site) ?? 0) >= MAX_LOGGED_REFUSALS_PER_ROUND
}

function refuseLogged(state: StudyState, type: 'evaluation' | 'patient-rewards' | 'approval' | 'declined', signed: SignedStatement, err: unknown): Decision {
  if (!(err instanceof ProtocolError)) throw err
  const st = decodeStatement(type, signed.body)
  if (refusalsCapped(state, st.site)) return refuse(err)
  // An approval names no round: its refusal is logged under round 0.
  const round = 'round' in st ? st.round : 0
  return decided([entry(ENTRY_KINDS.STATEMENT_REJECTED, { type, round, site: st.site, code: err.code, reason: err.message, statement: embedStatement(signed) })], { refusal: err })
}
