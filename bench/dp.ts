/**
 * Bench: accuracy against ε for site-level DP-FedAvg on FLamby's
 * Fed-Heart-Disease task (4 centers, all of them every round: q = 1), run
 * through the real coordinator and four site agents over gRPC, as
 * bench:flamby runs FedAvg. The baseline (no DP) is measured in the same run.
 *
 * Usage: npm run bench:dp [-- --data DIR] [--seeds 42,43] [--rounds N] [--epsilons 100,30,10,3,1] [--dp-sgd-epsilons 10,3,1]
 *
 * For each target ε the noise multiplier is the smallest σ the RDP accountant
 * (models/core/rdp-accountant.ts) says reaches ε at δ = 1e-5 after `rounds`
 * rounds at q = 1, and the clip norm S is the median, over the baseline's
 * rounds, of its mean delta norm (Andrew et al. 2021 find the median a good
 * clip). The noise on the released average is σ·S/4 per coordinate. Each
 * run's ε is read back from its first seed's last commit (`dp.epsilon`; every
 * seed spends the same), so the table shows what the log says was spent.
 *
 * Patient-level DP-SGD rows (`--dp-sgd-epsilons`, default 10,3,1): every
 * site trains with DP-SGD under its own policy (`policy.dpSgd`), FLamby's
 * batch 4 Poisson-sampled at q = 4 / train rows, 100 steps a round, C =
 * DP_SGD_CLIP. One σ for all sites: the smallest the accountant gives for
 * the target ε after rounds·100 steps at the largest q (the smallest
 * center), so no site spends more than the target; the table shows the
 * largest ε a site logged in its last envelope (`ext.dpSgd.epsilon`). The
 * noise per coordinate of a step's gradient is σ·C/4.
 *
 * Prints a table; writes bench/results/dp.json and bench/results/dp.svg
 * (the chart: site-level rows).
 */
import { existsSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { noiseMultiplierFor } from '../models/core/index.ts'
import { backendName } from '../models/index.ts'
import { dpChart } from './dp/chart.ts'
import { prepareHeartDiseaseCenters } from './flamby/heart-disease.ts'
import { HEART_ROUNDS } from './flamby/protocol.ts'
import { runSeed, type SeedResult } from './flamby/run-seed.ts'
import { benchEnvironment } from './support/environment.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'
import { mean, std } from './support/stats.ts'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEFAULT_DATA_DIR = resolve(REPO_ROOT, '../shared/data/heart-disease')
const RESULTS_DIR = join(REPO_ROOT, 'bench/results')
const DELTA = 1e-5
const SITES = 4
/** DP-SGD's per-example clip norm C: the logistic model's per-example gradients on standardised features are mostly of norm 1 to 3. */
const DP_SGD_CLIP = 1

class UsageError extends Error {
  readonly code = 'BENCH_USAGE'
}

function parseOptions(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: { data: { type: 'string' }, seeds: { type: 'string' }, rounds: { type: 'string' }, epsilons: { type: 'string' }, 'dp-sgd-epsilons': { type: 'string' } },
    strict: true,
  })
  const list = (s: string | undefined, fallback: readonly number[]) => (s === undefined ? fallback : s.split(',').map((v) => Number(v.trim())))
  const seeds = list(values.seeds, [42, 43])
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UsageError(`--seeds ${values.seeds}: want comma-separated non-negative integers`)
  const epsilons = list(values.epsilons, [100, 30, 10, 3, 1])
  if (epsilons.some((e) => !(e > 0) || !Number.isFinite(e))) throw new UsageError(`--epsilons ${values.epsilons}: want comma-separated positive numbers`)
  const dpSgdEpsilons = list(values['dp-sgd-epsilons'], [10, 3, 1])
  if (dpSgdEpsilons.some((e) => !(e > 0) || !Number.isFinite(e))) throw new UsageError(`--dp-sgd-epsilons ${values['dp-sgd-epsilons']}: want comma-separated positive numbers`)
  const rounds = values.rounds === undefined ? HEART_ROUNDS : Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`--rounds ${values.rounds}: want a positive integer`)
  const dataDir = resolve(values.data ?? DEFAULT_DATA_DIR)
  if (!existsSync(join(dataDir, 'flamby_heart_split.csv')))
    throw new UsageError(`no heart-disease data at ${dataDir}; pass --data DIR (the folder holding processed.*.data and flamby_heart_split.csv)`)
  return { dataDir, seeds, rounds, epsilons, dpSgdEpsilons }
}

interface Row {
  readonly label: string
  /** Whose privacy: `site` (DP-FedAvg at the coordinator), `patient` (DP-SGD at each site), or `none`. */
  readonly level: 'none' | 'site' | 'patient'
  readonly targetEpsilon: number | null
  readonly noiseMultiplier: number | null
  readonly clipNorm: number | null
  /** Site level: σ·S/4, the noise's standard deviation per coordinate on the released average; patient level: σ·C/4, on each step's gradient. */
  readonly noiseStddev: number | null
  /** ε the last commit logged (site level), the largest ε a site's last envelope logged (patient level), null without DP. */
  readonly loggedEpsilon: number | null
  readonly pooledTest: readonly number[]
  readonly seconds: number
}

const fmt = (v: number | null, digits = 3) => (v === null ? '—' : v.toPrecision(digits))

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  const workDir = await mkdtemp(join(tmpdir(), 'fedlineage-dp-'))
  const cleanup = () => rmSync(workDir, { recursive: true, force: true })
  process.once('SIGINT', () => {
    cleanup()
    process.exit(130)
  })
  const rows: Row[] = []
  const progress = benchProgress((o.epsilons.length + o.dpSgdEpsilons.length + 1) * o.seeds.length * o.rounds, 'DP heart')
  try {
    const centers = await prepareHeartDiseaseCenters(o.dataDir, join(workDir, 'centers'))
    const run = async (label: string, study: Parameters<typeof runSeed>[0]['study'], sitePolicy?: Parameters<typeof runSeed>[0]['sitePolicy']) => {
      const results: SeedResult[] = []
      const started = performance.now()
      for (const seed of o.seeds)
        results.push(
          await runSeed({
            centers,
            seed,
            rounds: o.rounds,
            workDir,
            ...(study ? { study } : {}),
            ...(sitePolicy ? { sitePolicy } : {}),
            onRound: (r) => progress.tick(`${label} seed ${seed} round ${r}/${o.rounds}`),
          }),
        )
      return { results, seconds: (performance.now() - started) / 1000 }
    }
    const baseline = await run('no DP', undefined)
    rows.push({
      label: 'no DP',
      level: 'none',
      targetEpsilon: null,
      noiseMultiplier: null,
      clipNorm: null,
      noiseStddev: null,
      loggedEpsilon: null,
      pooledTest: baseline.results.map((r) => r.pooledTestSiteNorm),
      seconds: baseline.seconds,
    })
    const norms = baseline.results.flatMap((r) => r.meanDeltaNorms ?? []).sort((a, b) => a - b)
    const clipNorm = Number(norms[Math.floor(norms.length / 2)]!.toPrecision(3))
    for (const epsilon of o.epsilons) {
      const sigma = Number(noiseMultiplierFor(epsilon, 1, o.rounds, DELTA, 1e-4).toPrecision(4))
      const dp = { clipNorm, noiseMultiplier: sigma, delta: DELTA }
      const { results, seconds } = await run(`ε ${epsilon}`, { dp })
      rows.push({
        label: `ε ${epsilon}`,
        level: 'site',
        targetEpsilon: epsilon,
        noiseMultiplier: sigma,
        clipNorm,
        noiseStddev: (sigma * clipNorm) / SITES,
        loggedEpsilon: results[0]!.loggedEpsilon ?? Number.NaN,
        pooledTest: results.map((r) => r.pooledTestSiteNorm),
        seconds,
      })
    }
    // Patient-level DP-SGD at every site: σ for the target at the largest q (the smallest center).
    const q = Math.min(1, 4 / Math.min(...centers.map((c) => c.trainRows)))
    const steps = o.rounds * 100
    for (const epsilon of o.dpSgdEpsilons) {
      const sigma = Number(noiseMultiplierFor(epsilon, q, steps, DELTA, 1e-4).toPrecision(4))
      const dpSgd = { noiseMultiplier: sigma, clipNorm: DP_SGD_CLIP, delta: DELTA }
      const { results, seconds } = await run(`DP-SGD ε ${epsilon}`, undefined, { dpSgd })
      rows.push({
        label: `DP-SGD ε ${epsilon}`,
        level: 'patient',
        targetEpsilon: epsilon,
        noiseMultiplier: sigma,
        clipNorm: DP_SGD_CLIP,
        noiseStddev: (sigma * DP_SGD_CLIP) / 4,
        loggedEpsilon: results[0]!.siteEpsilon ?? Number.NaN,
        pooledTest: results.map((r) => r.pooledTestSiteNorm),
        seconds,
      })
    }
  } finally {
    progress.stop()
    cleanup()
  }

  const title = `Site-level DP-FedAvg and patient-level DP-SGD · FLamby Fed-Heart-Disease · ${SITES} sites (site level: q = 1) · ${o.rounds} rounds · δ = ${DELTA} · seeds ${o.seeds.join(',')}`
  const header = ['config', 'level', 'σ', 'clip S or C', 'noise std σS/4 or σC/4', 'ε (logged)', 'pooled test mean', 'sd', 'per seed', 's']
  const lines = rows.map((r) => [
    r.label,
    r.level,
    fmt(r.noiseMultiplier),
    fmt(r.clipNorm),
    fmt(r.noiseStddev),
    fmt(r.loggedEpsilon),
    mean(r.pooledTest).toFixed(3),
    r.pooledTest.length > 1 ? std(r.pooledTest).toFixed(3) : '—',
    r.pooledTest.map((a) => a.toFixed(3)).join(' '),
    r.seconds.toFixed(0),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const row = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')
  console.log(`${title}\n${row(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${lines.map(row).join('\n')}`)

  await mkdir(RESULTS_DIR, { recursive: true })
  const environment = { ...benchEnvironment(), backend: backendName() ?? 'unknown' }
  const baselineAccuracy = mean(rows[0]!.pooledTest)
  await writeFile(
    join(RESULTS_DIR, 'dp.json'),
    stableJson({
      protocol: `${title}. FLamby's FedAvg protocol (bench/flamby/protocol.ts) with the study's dp section (site level) or every site's policy.dpSgd (patient level: DP-SGD, batch 4 Poisson-sampled, clip C = ${DP_SGD_CLIP}, one σ for all sites from the accountant at the smallest center's q, ε the largest a site logged); pooled test = example-weighted mean of the 4 centers' test accuracies as the sites report them in the log. σ from the RDP accountant for the target ε; S = median of the baseline's per-round mean delta norms.`,
      environment,
      rows,
    }),
  )
  await writeFile(
    join(RESULTS_DIR, 'dp.svg'),
    dpChart(
      `Accuracy against ε, site-level DP-FedAvg, FLamby heart disease (${SITES} sites)`,
      rows.filter((r) => r.level === 'site').map((r) => ({ epsilon: r.loggedEpsilon!, accuracies: r.pooledTest })),
      baselineAccuracy,
    ),
  )
  console.log('wrote bench/results/dp.json and bench/results/dp.svg')
}

main().catch((err: unknown) => {
  const e = err as { code?: unknown; message?: string }
  console.error(`${typeof e.code === 'string' ? e.code : 'BENCH_FAILED'}: ${e.message ?? String(err)}`)
  process.exit(1)
})
