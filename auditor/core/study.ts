/**
 * The study-level rules of an audit: the logged study spec, the initial model
 * it determines, the strategy each commit names, the round seeds and limits,
 * and the completion record. Each check recomputes its value with the very
 * function the coordinator used (`initialWeights`, `hashWeights`,
 * `createStrategy`, `roundSeed` and `StudySpecSchema`) and compares; none
 * re-implements one.
 *
 * Pure: no I/O, no clock. Each check throws an `AuditError` naming the entry
 * and both values, and returns what the next step needs.
 */
import { encodeCanonical, equalBytes, type CanonicalValue } from '../../ledger/core/index.ts'
import { StrategySpecSchema, StudySpecSchema, hashWeights, initialWeights, inputWidth, type StrategySpec, type StudySpec, type Weights } from '../../models/core/index.ts'
import { AuditGenesisMismatchError, AuditSpecInvalidError, AuditStateInvalidError, AuditStrategyMismatchError, entryLabel, hex } from '../errors.ts'
import { ENTRY_KINDS, roundSeed, type RoundCommittedBody, type RoundOpenedBody, type StudyCreatedBody, type StudyCompletedBody, type StudyState, createStrategy } from '../../protocol/index.ts'

/**
 * The study spec of `study-created` entry `seq`, from its decoded canonical
 * value. Requires `value = decodeCanonical(body.spec)`. The spec must parse
 * with `StudySpecSchema`, name the study the entry names, and be logged in its
 * parsed form (every default filled in), because that form is what the
 * coordinator ran with and what `body.spec` commits to.
 */
export function checkStudySpec(seq: number, body: StudyCreatedBody, value: CanonicalValue): StudySpec {
  const at = entryLabel(seq, ENTRY_KINDS.STUDY_CREATED)
  const result = StudySpecSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new AuditSpecInvalidError(`${at}: study spec field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, seq)
  }
  const spec = result.data
  if (spec.id !== body.study) throw new AuditSpecInvalidError(`${at}: the spec's id is "${spec.id}", the entry names study "${body.study}"`, seq)
  const canonical = encodeCanonical(spec as unknown as CanonicalValue)
  if (!equalBytes(canonical, body.spec)) {
    throw new AuditSpecInvalidError(`${at}: the logged spec (${body.spec.length} bytes) is not its own parsed form (${canonical.length} bytes): a default is missing or a field is extra`, seq)
  }
  return spec
}

/**
 * The initial model of the study, after checking that `body.genesis` is its
 * hash: `hashWeights(initialWeights(spec.model, inputWidth(spec.data), spec.seed))`.
 */
export function checkGenesis(seq: number, body: StudyCreatedBody, spec: StudySpec): Weights {
  const weights = initialWeights(spec.model, inputWidth(spec.data), spec.seed)
  const calculated = hashWeights(weights)
  if (!equalBytes(calculated, body.genesis)) {
    throw new AuditGenesisMismatchError(
      `${entryLabel(seq, ENTRY_KINDS.STUDY_CREATED)}: genesis is ${hex(body.genesis)}, but the spec's initial model (seed ${spec.seed}) hashes to ${hex(calculated)}`,
      seq,
      body.genesis,
      calculated,
    )
  }
  return weights
}

/**
 * The rules of opening a round that only the study spec knows: the study has
 * rounds left (`committedRounds < spec.rounds`, counted before this round),
 * and the batch-order seed is `roundSeed(spec.seed, round)`.
 */
export function checkRoundOpening(seq: number, state: StudyState, spec: StudySpec, body: RoundOpenedBody): void {
  const at = entryLabel(seq, ENTRY_KINDS.ROUND_OPENED)
  if (state.committedRounds >= spec.rounds) {
    throw new AuditStateInvalidError(`${at}: round ${body.round} opened after ${state.committedRounds} committed rounds, the study has ${spec.rounds}`, seq)
  }
  const seed = roundSeed(spec.seed, body.round)
  if (body.seed !== seed) throw new AuditStateInvalidError(`${at}: round ${body.round} seed is ${body.seed}, want ${seed} (study seed ${spec.seed})`, seq)
}

/** A strategy as the log names it: the resolved name and parameters. */
function describeStrategy(name: string, params: Readonly<Record<string, unknown>>): string {
  return JSON.stringify({ name, params })
}

/**
 * A commit's logged strategy equals the study's, to the last parameter:
 * `{name, params}` must parse as a `StrategySpec` equal to `spec.strategy`,
 * and `params` must be exactly the parameters that strategy resolves to (as
 * the coordinator logs them), so nothing is left to a default.
 * Returns the logged strategy, parsed.
 */
export function checkStrategy(seq: number, spec: StudySpec, body: RoundCommittedBody): StrategySpec {
  const at = `${entryLabel(seq, ENTRY_KINDS.ROUND_COMMITTED)}: round ${body.round}`
  const study = createStrategy(spec.strategy)
  const want = describeStrategy(study.name, study.parameters)
  const got = describeStrategy(body.strategy.name, body.strategy.params)
  const fail = (why: string): never => {
    throw new AuditStrategyMismatchError(`${at}: ${why}: logged ${got}, the study spec says ${want}`, seq, got, want)
  }
  const parsed = StrategySpecSchema.safeParse({ ...body.strategy.params, name: body.strategy.name })
  if (!parsed.success || Object.hasOwn(body.strategy.params, 'name')) fail('the logged strategy is not a strategy spec')
  const logged = parsed.data!
  if (!equalBytes(encodeCanonical(logged as unknown as CanonicalValue), encodeCanonical(spec.strategy as unknown as CanonicalValue))) fail('aggregated with another strategy')
  if (!equalBytes(encodeCanonical(body.strategy.params), encodeCanonical(study.parameters as CanonicalValue))) fail("the logged parameters are not the strategy's resolved parameters")
  return logged
}

/** `study-completed` names the number of committed rounds and the newest committed model. Requires the record applied. */
export function checkCompletion(seq: number, state: StudyState, body: StudyCompletedBody): void {
  const at = entryLabel(seq, ENTRY_KINDS.STUDY_COMPLETED)
  if (body.rounds !== state.committedRounds) throw new AuditStateInvalidError(`${at}: rounds is ${body.rounds}, the log committed ${state.committedRounds}`, seq)
  if (!equalBytes(body.model, state.currentModel)) {
    throw new AuditStateInvalidError(`${at}: final model is ${hex(body.model)}, the newest committed model is ${hex(state.currentModel)}`, seq)
  }
}
