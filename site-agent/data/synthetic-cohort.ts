/**
 * Synthetic hospital cohorts for the demo and the tests, so the whole system
 * runs without any real patient data. Pure and seeded: the same init always
 * gives the same patients.
 *
 * The cohorts are cardiology-like (the shape of UCI heart disease) with
 * plausible ranges and correlations: blood pressure rises with age and BMI,
 * maximum heart rate falls with age, diabetes follows BMI and age, and a
 * hidden "disease burden" drives chest-pain type, ST depression and a lower
 * maximum heart rate. Every site labels its patients with **one shared
 * ground-truth logistic model** of the observed features, drawn as a
 * Bernoulli, so a logistic regression can learn the same signal everywhere
 * (about 0.8 accuracy). Sites differ by covariate shift (`shift`: older, more
 * men, more smokers, heavier) and by baseline risk (`prevalence` sets the
 * intercept), the two kinds of heterogeneity a federated study meets.
 *
 * About 2% of cholesterol values are left unrecorded (`null`, written as an
 * empty cell) so the missing-value policy is exercised.
 */
// The pure surface models/core/index.ts, so the data pipeline loads no TF.js.
import type { StudySpecInput } from '../../models/core/index.ts'
import { SiteConfigError } from '../errors.ts'
import { gaussian, hashSeed, mulberry32, type Uniform } from './random.ts'

export const CHEST_PAIN_TYPES = ['typical', 'atypical', 'non-anginal', 'asymptomatic'] as const
export type ChestPain = (typeof CHEST_PAIN_TYPES)[number]

/** One synthetic patient. Keys are the CSV column names of SYNTHETIC_SCHEMA. */
export interface CohortRow {
  /** Years. */
  readonly age: number
  readonly sex: 'female' | 'male'
  /** Resting systolic blood pressure, mmHg. */
  readonly systolic_bp: number
  /** Serum cholesterol, mg/dl; null when not recorded. */
  readonly cholesterol: number | null
  /** kg/m². */
  readonly bmi: number
  readonly smoker: 0 | 1
  readonly diabetes: 0 | 1
  readonly chest_pain: ChestPain
  /** Maximum heart rate reached in the exercise test, beats per minute. */
  readonly max_heart_rate: number
  /** Exercise-induced ST depression, mm. */
  readonly st_depression: number
  /** Angiographic coronary artery disease. */
  readonly outcome: 'yes' | 'no'
}

export interface CohortInit {
  /** Mixed into the seed, so two sites given the same seed still differ. Letters, digits, `-`, `_`. */
  readonly siteId: string
  readonly seed: number
  /** Number of patients, 1 to 1,000,000. */
  readonly size: number
  /**
   * Target share of `outcome = yes`, in (0, 1). The shared model's intercept is
   * moved so the expected prevalence over this cohort equals it; the drawn
   * share varies around it by sampling noise. Omitted: the shared intercept.
   */
  readonly prevalence?: number
  /**
   * Covariate shift of the site's population, 0 = reference. Each +1 means
   * about 7 years older, 12 points more men, more smokers and diabetics and a
   * heavier cohort; negative values the reverse. Sensible range -2 to 2.
   */
  readonly shift?: number
}

/** A demo hospital: the cohort it holds and a human name for logs and dashboards. */
export interface DemoSite extends CohortInit {
  readonly name: string
}

/** Four demo hospitals of different sizes, case mix and populations. */
export const DEMO_SITES: readonly DemoSite[] = [
  { siteId: 'city-general', name: 'City General Hospital', seed: 101, size: 420, prevalence: 0.42, shift: 0 },
  { siteId: 'heart-institute', name: 'Regional Heart Institute (referral centre)', seed: 202, size: 260, prevalence: 0.58, shift: 0.8 },
  { siteId: 'valley-community', name: 'Valley Community Hospital (younger, more women)', seed: 303, size: 180, prevalence: 0.3, shift: -0.8 },
  { siteId: 'veterans-medical', name: 'Veterans Medical Center (older, mostly men, smokers)', seed: 404, size: 120, prevalence: 0.55, shift: 1.5 },
]

/** The DataSchema of the synthetic cohorts, as zod input (defaults filled by `DataSchemaSchema.parse`). */
export const SYNTHETIC_SCHEMA: StudySpecInput['data'] = {
  missingTokens: [''],
  missing: 'drop-row',
  standardize: 'numeric',
  features: [
    { name: 'age', type: 'numeric' },
    { name: 'sex', type: 'categorical', categories: ['female', 'male'], dropFirst: true },
    { name: 'systolic_bp', type: 'numeric' },
    // Cholesterol is sometimes not recorded; dropping those patients would waste the rest of the record.
    { name: 'cholesterol', type: 'numeric', missing: 'impute-mean' },
    { name: 'bmi', type: 'numeric' },
    { name: 'smoker', type: 'numeric' },
    { name: 'diabetes', type: 'numeric' },
    { name: 'chest_pain', type: 'categorical', categories: [...CHEST_PAIN_TYPES], dropFirst: true },
    { name: 'max_heart_rate', type: 'numeric' },
    { name: 'st_depression', type: 'numeric' },
  ],
  label: { column: 'outcome', positive: ['yes'] },
}

/** Share of cholesterol cells left empty. */
const CHOLESTEROL_MISSING_RATE = 0.02

/**
 * The shared ground truth: log-odds of disease per unit of each feature,
 * centred on a typical patient. Clinically signed (age, male sex, blood
 * pressure, cholesterol, smoking, diabetes, asymptomatic chest pain and ST
 * depression raise risk; a high maximum heart rate lowers it) and scaled so
 * the Bayes accuracy is about 0.8.
 */
const TRUTH = {
  intercept: -0.4,
  age: 0.052,
  male: 0.86,
  systolicBp: 0.014,
  cholesterol: 0.007,
  bmi: 0.035,
  smoker: 0.63,
  diabetes: 0.75,
  chestPain: { typical: -1.25, atypical: -1.05, 'non-anginal': -0.7, asymptomatic: 1.25 } satisfies Record<ChestPain, number>,
  maxHeartRate: -0.029,
  stDepression: 0.75,
} as const

/**
 * A synthetic cohort of `init.size` patients. Deterministic in (siteId, seed, size, prevalence, shift).
 * Throws SiteConfigError when a parameter is out of range.
 */
export function generateCohort(init: CohortInit): CohortRow[] {
  checkInit(init)
  const shift = init.shift ?? 0
  const rand = mulberry32((hashSeed(init.siteId) ^ init.seed) >>> 0)
  const draws = Array.from({ length: init.size }, () => drawPatient(rand, shift))

  const intercept =
    init.prevalence === undefined
      ? TRUTH.intercept
      : interceptFor(
          draws.map((d) => d.logit),
          init.prevalence,
        )
  return draws.map(({ row, logit }) => {
    const outcome = rand() < sigmoid(logit + intercept) ? 'yes' : 'no'
    // Decided after the label: an unrecorded value does not change the patient's disease.
    const cholesterol = rand() < CHOLESTEROL_MISSING_RATE ? null : row.cholesterol
    return { ...row, cholesterol, outcome }
  })
}

/** CSV text with a header row, one patient per line, `\n` line ends; unrecorded values are empty cells. */
export function cohortToCsv(rows: readonly CohortRow[], init: { readonly patientIdPrefix?: string } = {}): string {
  const prefix = init.patientIdPrefix
  // With a prefix, a first `patient_id` column names each patient `<prefix>-1` … `<prefix>-n` (for consent).
  const lines = [(prefix === undefined ? [] : ['patient_id']).concat(COHORT_COLUMNS).join(',')]
  rows.forEach((row, i) => {
    const cells = COHORT_COLUMNS.map((c) => (row[c] === null ? '' : String(row[c])))
    lines.push((prefix === undefined ? cells : [`${prefix}-${i + 1}`, ...cells]).join(','))
  })
  return `${lines.join('\n')}\n`
}

/** Column order of `cohortToCsv`. */
export const COHORT_COLUMNS = [
  'age',
  'sex',
  'systolic_bp',
  'cholesterol',
  'bmi',
  'smoker',
  'diabetes',
  'chest_pain',
  'max_heart_rate',
  'st_depression',
  'outcome',
] as const satisfies readonly (keyof CohortRow)[]

// --- drawing ---------------------------------------------------------------

type Features = Omit<CohortRow, 'outcome'> & { readonly cholesterol: number }

function drawPatient(rand: Uniform, shift: number): { row: Features; logit: number } {
  const age = Math.round(clamp(54 + 7 * shift + 9.5 * gaussian(rand), 28, 89))
  const male = rand() < clamp(0.55 + 0.12 * shift, 0.15, 0.9) ? 1 : 0
  const bmi = round1(clamp(27.2 + 0.9 * shift + 4.6 * gaussian(rand), 16.5, 48))
  const smoker = rand() < sigmoid(-1.0 + 0.6 * shift + 0.35 * male) ? 1 : 0
  const diabetes = rand() < sigmoid(-2.4 + 0.11 * (bmi - 27) + 0.035 * (age - 55) + 0.25 * shift) ? 1 : 0
  const systolicBp = Math.round(clamp(120 + 0.5 * (age - 55) + 0.9 * (bmi - 27) + 4 * male + 15 * gaussian(rand), 88, 215))
  const cholesterol = Math.round(clamp(210 + 2.2 * (bmi - 27) + 0.5 * (age - 55) - 8 * male + 38 * gaussian(rand), 120, 420))

  // Hidden disease burden: what the risk factors predict plus what they do not.
  const burden = 0.04 * (age - 55) + 0.5 * smoker + 0.6 * diabetes + 0.015 * (systolicBp - 130) + 0.008 * (cholesterol - 210) + 0.4 * male + gaussian(rand)
  const chestPain = pick(rand, CHEST_PAIN_TYPES, [0.2 - 0.3 * burden, 0.5 - 0.6 * burden, 0.7 - 0.5 * burden, 0.1 + 0.8 * burden])
  const maxHeartRate = Math.round(clamp(205 - 0.75 * age - 5 * burden + 14 * gaussian(rand), 75, 202))
  const stDepression = round1(clamp(0.3 + 0.55 * burden + 0.9 * gaussian(rand), 0, 6.2))

  const logit =
    TRUTH.age * (age - 55) +
    TRUTH.male * male +
    TRUTH.systolicBp * (systolicBp - 130) +
    TRUTH.cholesterol * (cholesterol - 210) +
    TRUTH.bmi * (bmi - 27) +
    TRUTH.smoker * smoker +
    TRUTH.diabetes * diabetes +
    TRUTH.chestPain[chestPain] +
    TRUTH.maxHeartRate * (maxHeartRate - 150) +
    TRUTH.stDepression * stDepression
  const row: Features = {
    age,
    sex: male === 1 ? 'male' : 'female',
    systolic_bp: systolicBp,
    cholesterol,
    bmi,
    smoker,
    diabetes,
    chest_pain: chestPain,
    max_heart_rate: maxHeartRate,
    st_depression: stDepression,
  }
  return { row, logit }
}

/** The intercept whose mean predicted risk over `logits` equals `prevalence` (bisection; the mean is monotone in it). */
function interceptFor(logits: readonly number[], prevalence: number): number {
  let lo = -30
  let hi = 30
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    const mean = logits.reduce((s, z) => s + sigmoid(z + mid), 0) / logits.length
    if (mean < prevalence) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

function pick<T>(rand: Uniform, options: readonly T[], logits: readonly number[]): T {
  const weights = logits.map((z) => Math.exp(z))
  let u = rand() * weights.reduce((s, w) => s + w, 0)
  for (let i = 0; i < options.length; i++) {
    u -= weights[i] as number
    if (u < 0) return options[i] as T
  }
  return options[options.length - 1] as T
}

function checkInit(init: CohortInit): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(init.siteId)) throw new SiteConfigError(`siteId ${JSON.stringify(init.siteId)}: want 1-64 letters, digits, "-" or "_"`)
  if (!Number.isSafeInteger(init.seed)) throw new SiteConfigError(`site ${JSON.stringify(init.siteId)}: seed is ${init.seed}, want an integer`)
  if (!Number.isInteger(init.size) || init.size < 1 || init.size > 1_000_000) throw new SiteConfigError(`site ${JSON.stringify(init.siteId)}: size is ${init.size}, want an integer from 1 to 1000000`)
  if (init.prevalence !== undefined && !(init.prevalence > 0 && init.prevalence < 1))
    throw new SiteConfigError(`site ${JSON.stringify(init.siteId)}: prevalence is ${init.prevalence}, want 0 < prevalence < 1`)
  if (init.shift !== undefined && !Number.isFinite(init.shift)) throw new SiteConfigError(`site ${JSON.stringify(init.siteId)}: shift is ${init.shift}, want a finite number`)
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z))
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x))
}

function round1(x: number): number {
  return Math.round(x * 10) / 10
}
