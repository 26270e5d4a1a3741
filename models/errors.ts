/**
 * Errors of the models folder (encoding, aggregation, training). One class per
 * condition; `name` is the class name and `code` a stable, `MODEL_`-prefixed
 * identifier that logs, gRPC statuses and exit codes map from. Code branches
 * on `code` or `instanceof`, never on messages.
 *
 * The pure core throws these only when a precondition is broken or a
 * verification fails; shells catch them at their boundary and add context
 * (round, site, peer).
 */
import type { TensorShape } from './core/weights.ts'

export class ModelError extends Error {
  static readonly code: string = 'MODEL_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof ModelError).code
  }
}

/** Bytes that are not a well-formed canonical weights encoding (or hex that is not strict hex). */
export class ModelEncodingError extends ModelError {
  static override readonly code = 'MODEL_ENCODING_INVALID'
}

/**
 * Weights whose layout differs from the one expected: a tensor's shape, its
 * name at a position, a missing or extra tensor, or a values array whose
 * length does not fit its own shape. `expected` is null for an unexpected
 * extra tensor; `actual` is null for a missing one.
 */
export class ModelShapeMismatchError extends ModelError {
  static override readonly code = 'MODEL_SHAPE_MISMATCH'
  readonly tensor: string
  readonly expected: TensorShape | null
  readonly actual: TensorShape | null
  constructor(message: string, tensor: string, expected: TensorShape | null, actual: TensorShape | null) {
    super(message)
    this.tensor = tensor
    this.expected = expected
    this.actual = actual
  }
}

/** A NaN or an infinity where only finite numbers are valid. `index` is the flat (row-major) index. */
export class NonFiniteValueError extends ModelError {
  static override readonly code = 'MODEL_NON_FINITE'
  readonly tensor: string
  readonly index: number
  readonly value: number
  constructor(message: string, tensor: string, index: number, value: number) {
    super(message)
    this.tensor = tensor
    this.index = index
    this.value = value
  }
}

/** An aggregation was asked to combine zero updates. */
export class EmptyAggregationError extends ModelError {
  static override readonly code = 'MODEL_EMPTY_AGGREGATION'
}

/** An update's example count is not a positive safe integer, or the total overflows. */
export class InvalidExampleCountError extends ModelError {
  static override readonly code = 'MODEL_INVALID_EXAMPLE_COUNT'
  readonly siteId: string
  readonly exampleCount: number
  constructor(message: string, siteId: string, exampleCount: number) {
    super(message)
    this.siteId = siteId
    this.exampleCount = exampleCount
  }
}

/** Two updates of one aggregation came from the same site. */
export class DuplicateSiteError extends ModelError {
  static override readonly code = 'MODEL_DUPLICATE_SITE'
  readonly siteId: string
  constructor(message: string, siteId: string) {
    super(message)
    this.siteId = siteId
  }
}

/** A strategy name no factory knows (e.g. read from a newer study spec). */
export class UnknownStrategyError extends ModelError {
  static override readonly code = 'MODEL_UNKNOWN_STRATEGY'
  readonly strategy: string
  constructor(message: string, strategy: string) {
    super(message)
    this.strategy = strategy
  }
}

/** An argument that breaks a documented precondition (a round number, a dataset size, metric inputs). */
export class InvalidModelInputError extends ModelError {
  static override readonly code = 'MODEL_INVALID_INPUT'
}

/** A TF.js backend was asked for by name (argument or env) and cannot be loaded. */
export class BackendUnavailableError extends ModelError {
  static override readonly code = 'MODEL_BACKEND_UNAVAILABLE'
  readonly backend: string
  constructor(message: string, backend: string, options?: ErrorOptions) {
    super(message, options)
    this.backend = backend
  }
}

/**
 * A robust aggregation asked of too few updates for its parameters (Krum
 * needs n ≥ 2f + 3, Bulyan n ≥ 4f + 3, a trimmed mean must keep at least one
 * value). Strategies turn it into an abandoned round with this message.
 */
export class StrategyPreconditionError extends ModelError {
  static override readonly code = 'MODEL_STRATEGY_PRECONDITION'
}

/**
 * A secure-aggregation spec (`secagg`, models/core/secagg-spec.ts) that
 * cannot run with a round's participants: too few sites, more shares than
 * neighbours, a threshold above the shares or not a strict majority of them,
 * or sums that would overflow 32 bits. `field` names the spec field at fault.
 */
export class SecAggSpecError extends ModelError {
  static override readonly code = 'MODEL_SECAGG_SPEC_INVALID'
  readonly field: string
  constructor(message: string, field: string) {
    super(message)
    this.field = field
  }
}
