/**
 * Errors of contribution scoring and reward splitting (`contribution.ts`,
 * `shapley.ts`, `reward.ts`). They extend `CoordinatorError` and follow its
 * rules (one class per condition, stable `COORD_` code); they live here only
 * until they join `coordinator/errors.ts`.
 */
import { ProtocolError } from './errors.ts'

/** A contribution-scoring input that breaks a documented precondition (a parameter, a missing utility, a seed). */
export class ContributionInputError extends ProtocolError {
  static override readonly code = 'COORD_CONTRIBUTION_INVALID'
}

/** Exact Shapley values were asked for more sites than the 2^n coalitions allow (`MAX_EXACT_SHAPLEY_SITES`). */
export class ShapleyTooManySitesError extends ProtocolError {
  static override readonly code = 'COORD_SHAPLEY_TOO_MANY_SITES'
  constructor(
    message: string,
    readonly sites: number,
    readonly limit: number,
  ) {
    super(message)
  }
}

/** A coalition's utility came out NaN or infinite; `coalition` lists its site ids in code-unit order. */
export class ContributionUtilityError extends ProtocolError {
  static override readonly code = 'COORD_UTILITY_NOT_FINITE'
  constructor(
    message: string,
    readonly coalition: readonly string[],
    readonly value: number,
  ) {
    super(message)
  }
}

/** A reward split input that breaks a precondition (negative pool, negative or non-finite score, duplicate id). */
export class RewardInputError extends ProtocolError {
  static override readonly code = 'COORD_REWARD_INVALID'
}
