/**
 * The strategies the bench compares, with the parameters each gets at n = 10
 * sites: fedavg; fedavg+validation (normZ 3, minCosine 0, rejectDuplicates);
 * fedmedian; fedtrimmedavg (beta 0.3, cuts 3 a side); krum (f 3, the most
 * n ≥ 2f + 3 allows); multi-krum (f 3, keep 5); bulyan (f 1, the most
 * n ≥ 4f + 3 allows, so 2 and 3 attackers break its assumption).
 */
import { UpdateValidationSchema, type UpdateValidationSpec } from '../../models/index.ts'

export interface StrategyRow {
  readonly label: string
  /** Parsed with `StrategySpecSchema` at the start of each run. */
  readonly spec: Record<string, unknown>
  /** When set, `validateUpdates` screens the replies before the strategy sees them. */
  readonly validation?: UpdateValidationSpec
}

export const STRATEGIES: readonly StrategyRow[] = [
  { label: 'fedavg', spec: { name: 'fedavg' } },
  { label: 'fedavg+validation', spec: { name: 'fedavg' }, validation: UpdateValidationSchema.parse({ normZ: 3, minCosine: 0, rejectDuplicates: true }) },
  { label: 'fedmedian', spec: { name: 'fedmedian' } },
  { label: 'fedtrimmedavg', spec: { name: 'fedtrimmedavg', beta: 0.3 } },
  { label: 'krum', spec: { name: 'krum', numMaliciousClients: 3 } },
  { label: 'multi-krum', spec: { name: 'krum', numMaliciousClients: 3, numClientsToKeep: 5 } },
  { label: 'bulyan', spec: { name: 'bulyan', numMaliciousClients: 1 } },
]

/** The undefended baseline every goal is measured against (its clean run). */
export const BASELINE_STRATEGY = 'fedavg'
