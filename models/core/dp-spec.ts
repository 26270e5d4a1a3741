/**
 * The study spec's `dp` section: site-level differential privacy at the
 * coordinator (DP-FedAvg, McMahan et al. 2018, "Learning Differentially
 * Private Recurrent Language Models"). Each round the coordinator clips every
 * site's delta to L2 norm `clipNorm`, sums the clipped deltas, adds Gaussian
 * noise of standard deviation `noiseMultiplier · clipNorm` per coordinate
 * and divides by the number of planned sites (a fixed denominator: a site
 * that sends nothing does not change the scale), so that one site's whole
 * participation changes the released average by at most clipNorm / planned.
 * The RDP accountant (rdp-accountant.ts) turns (q, σ, rounds, δ) into ε.
 */
import { z } from 'zod'

export const DpSpecSchema = z.strictObject({
  /** S: the L2 norm every site's delta is clipped to before summing (the sensitivity of the sum to one site). */
  clipNorm: z.number().gt(0, 'must be > 0: the L2 norm each delta is clipped to').max(1e12, 'must be <= 1e12'),
  /**
   * z: the noise multiplier. The sum of clipped deltas gets N(0, (z·S)²) per
   * coordinate, the average N(0, (z·S/planned)²). Pick it for a target ε with
   * `noiseMultiplierFor` (models/core) or `npm run bench:dp`'s table.
   */
  noiseMultiplier: z.number().gt(0, 'must be > 0: without noise there is no privacy').max(1e6, 'must be <= 1e6'),
  /** δ of the (ε, δ) guarantee; it should be below 1 / (number of sites). */
  delta: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(1e-5),
  /**
   * The study's privacy budget ε at `delta`: a round whose commit would take
   * the accounted ε above it is refused at its start (COORD_DP_BUDGET_SPENT),
   * so training stops once the budget is spent. Absent: no limit (ε is still
   * accounted and logged every round).
   */
  epsilon: z.number().gt(0, 'must be > 0').max(1e6, 'must be <= 1e6').optional(),
  /**
   * Adaptive clipping (Andrew et al. 2021, "Differentially Private Learning
   * with Adaptive Clipping"): `clipNorm` is only the first round's clip C;
   * after each round C ← C · exp(−learningRate · (b̄ − targetQuantile)),
   * b̄ = (sites with ‖Δ‖ <= C + clippedCountStddev · N(0,1)) / planned, the
   * count's noise drawn from the round's seed. The deltas' noise multiplier
   * becomes (z⁻² − (2·clippedCountStddev)⁻²)^(−1/2), so that the round as a
   * whole still has noise multiplier z (what the accountant uses). C is
   * server state (`dp/clipNorm`), logged by hash with the commit. Absent: C fixed.
   */
  adaptiveClipping: z
    .strictObject({
      /** γ: the share of sites whose delta should fall within the clip (0.5: the median norm). */
      targetQuantile: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(0.5),
      /** η_C: the clip's geometric learning rate. */
      learningRate: z.number().gt(0, 'must be > 0').max(10, 'must be <= 10').default(0.2),
      /** σ_b: the noise on the count of unclipped sites, in sites (Andrew et al. suggest expected sites / 20); must exceed z/2. */
      clippedCountStddev: z.number().gt(0, 'must be > 0').max(1e6, 'must be <= 1e6'),
    })
    .optional(),
})
export type DpSpec = z.infer<typeof DpSpecSchema>

/** Strategies DP-FedAvg may wrap: the ones that average, whose output the noise calibration describes. */
export const DP_STRATEGIES: readonly string[] = ['fedavg', 'fedprox', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi']

/**
 * The study spec's `patientDp` section: every update must be trained with
 * patient-level DP-SGD at the site (the site's `policy.dpSgd`) and claim
 * (`ext.dpSgd`) an ε at most `maxEpsilon` at a δ at most `maxDelta`. The
 * coordinator refuses an update without such a claim, or whose ε is below
 * what the site's own logged claims of this study give (COORD_DP_SGD_*); a
 * site without `policy.dpSgd` refuses the study (SITE_POLICY_DP_SGD). The
 * coordinator checks the claim, not the training: that happens at the site.
 */
export const PatientDpSpecSchema = z.strictObject({
  /** The largest ε (over all the site's DP-SGD training, as its claim states it) an update may claim. */
  maxEpsilon: z.number().gt(0, 'must be > 0').max(1e6, 'must be <= 1e6'),
  /** The largest δ an update's claim may state. */
  maxDelta: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(1e-5),
})
export type PatientDpSpec = z.infer<typeof PatientDpSpecSchema>
