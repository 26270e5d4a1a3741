/** Errors of the Byzantine bench; `code` is stable, `name` the class name. */
export class ByzantineBenchError extends Error {
  static readonly code: string = 'BENCH_BYZANTINE_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof ByzantineBenchError).code
  }
}

/** A command-line option has a value the bench cannot use. */
export class ByzantineUsageError extends ByzantineBenchError {
  static override readonly code = 'BENCH_BYZANTINE_USAGE'
}

/** The runs do not cover every seed of a cell exactly once, so a mean would compare different splits. */
export class UnpairedSeedsError extends ByzantineBenchError {
  static override readonly code = 'BENCH_BYZANTINE_UNPAIRED_SEEDS'
  readonly expected: readonly number[]
  readonly calculated: readonly number[]
  constructor(cell: string, calculated: readonly number[], expected: readonly number[]) {
    super(`cell ${cell}: runs for seeds [${calculated.join(', ')}], want exactly [${expected.join(', ')}]; run every strategy and attack on the same seeds`)
    this.expected = expected
    this.calculated = calculated
  }
}

/** A cell the report needs has no runs. */
export class MissingCellError extends ByzantineBenchError {
  static override readonly code = 'BENCH_BYZANTINE_MISSING_CELL'
}
