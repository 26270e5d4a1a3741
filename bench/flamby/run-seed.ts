/**
 * One seed of the benchmark: a fresh coordinator (own LevelDB in a temp
 * dir) and four in-process site agents over gRPC on 127.0.0.1, run until
 * the study completes; then the final model's test accuracies as the sites
 * reported them in the log, checked against our own evaluation of the model
 * blob in the log.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { parseHubConfig, startCoordinator, type HubConfig } from '../../coordinator/index.ts'
import { signerFromSeed, toHex, type Signer } from '../../ledger/index.ts'
import { SiteAgent, parseSiteConfig, type SiteConfigInput } from '../../site-agent/index.ts'
import type { StudySpecInput } from '../../models/index.ts'
import type { HeartCenter } from './heart-disease.ts'
import { evaluatePerCenter, evaluatePooledNormalisation, loggedModel } from './check.ts'
import { heartStudy, siteIdOf } from './protocol.ts'
import type { FlambyStrategy } from './strategies.ts'
import { weightedMean } from '../support/stats.ts'

export interface SeedResult {
  readonly seed: number
  /** Example-weighted mean of the four centers' test accuracies. */
  readonly pooledTest: number
  /** FLamby's "Pooled Test": all test rows standardised with the pooled train statistics (see check.ts). */
  readonly pooledTestSiteNorm: number
  /** Test accuracy per center, in center order 0-3. */
  readonly clientTests: readonly number[]
  /** Wall time from coordinator start to study completion. */
  readonly seconds: number
  readonly finalModelHash: string
  readonly logEntries: number
  /** Each committed round's `meanDeltaNorm` metric (the mean L2 norm of the deltas it aggregated; clipped ones under DP). */
  readonly meanDeltaNorms?: readonly number[]
  /** With `dp`: the ε the last commit logged (`dp.epsilon`). */
  readonly loggedEpsilon?: number
  /** With a site policy's `dpSgd`: the largest ε the sites' last-round envelopes logged (`ext.dpSgd.epsilon`). */
  readonly siteEpsilon?: number
}

export interface RunSeedInit {
  readonly centers: readonly HeartCenter[]
  readonly seed: number
  readonly rounds: number
  /** Parent of this seed's temp dir (the LevelDB log). */
  readonly workDir: string
  /** Called once per evaluated round (1..rounds). */
  readonly onRound?: (round: number) => void
  /** Study fields over FLamby's protocol (e.g. `dp`, for bench:dp). */
  readonly study?: Partial<StudySpecInput>
  /** The strategy and its settings (default: FedAvg). */
  readonly strategy?: FlambyStrategy
  /** Every site's policy (e.g. `dpSgd`, for bench:dp's patient-level rows). */
  readonly sitePolicy?: SiteConfigInput['policy']
}

const silent = pino({ level: 'silent' })
/** Fixed bench identities: the hub is seed byte 1, center i is 10 + i. */
const signer = (n: number): Signer => signerFromSeed(new Uint8Array(32).fill(n))

export async function runSeed(init: RunSeedInit): Promise<SeedResult> {
  const dir = await mkdtemp(join(init.workDir, `seed-${init.seed}-`))
  const hub = signer(1)
  const sites = init.centers.map((center) => ({ center, id: siteIdOf(center), signer: signer(10 + center.centerId) }))
  const config: HubConfig = parseHubConfig(
    {
      study: { ...heartStudy(init.seed, init.rounds, init.strategy), ...init.study },
      listen: '127.0.0.1:0',
      dataDir: join(dir, 'ledger'),
      keyFile: join(dir, 'unused.key'),
      sites: sites.map((s) => ({ id: s.id, publicKey: toHex(s.signer.publicKey) })),
      autoAdvance: true,
    },
    `bench hub config (seed ${init.seed})`,
    dir,
  )

  const started = performance.now()
  const coordinator = await startCoordinator(config, { signer: hub, logger: silent })
  try {
    coordinator.on('round-evaluated', (round) => {
      if (round > 0) init.onRound?.(round)
    })
    const agents = sites.map((s) => {
      const cfg = parseSiteConfig(
        {
          siteId: s.id,
          study: config.study.id,
          coordinator: coordinator.address,
          keyFile: 'unused.key',
          data: { train: s.center.trainCsv, validation: s.center.testCsv },
          backend: 'auto',
          ...(init.sitePolicy === undefined ? {} : { policy: init.sitePolicy }),
        },
        `bench site config (${s.id})`,
        dir,
      )
      return new SiteAgent({ signer: s.signer, logger: silent }, cfg)
    })
    await Promise.all([...agents.map((a) => a.run()), coordinator.completed])
    const seconds = Math.round(performance.now() - started) / 1000

    const state = coordinator.runner.state
    const final = state.evaluations.get(init.rounds)
    const reported = sites.map((s) => {
      const e = final?.get(s.id)
      if (!e || e.metrics['accuracy'] === undefined) throw new Error(`seed ${init.seed}: no round-${init.rounds} accuracy from site "${s.id}" in the log`)
      return { examples: e.examples, accuracy: e.metrics['accuracy'] }
    })

    // Independent check: decode the final model from the log and evaluate it ourselves.
    const weights = await loggedModel(coordinator.ledger, state.currentModel, config.study)
    const own = await evaluatePerCenter(weights, config.study, init.centers)
    reported.forEach((r, i) => {
      const o = own[i]!
      if (o.examples !== r.examples || o.accuracy !== r.accuracy) {
        throw new Error(`seed ${init.seed} site "${sites[i]!.id}": reported accuracy ${r.accuracy} on ${r.examples} examples, own evaluation of the logged model gives ${o.accuracy} on ${o.examples}`)
      }
    })

    return {
      seed: init.seed,
      pooledTest: (await evaluatePooledNormalisation(weights, config.study, init.centers)).accuracy,
      pooledTestSiteNorm: weightedMean(reported.map((r) => ({ value: r.accuracy, weight: r.examples }))),
      clientTests: reported.map((r) => r.accuracy),
      seconds,
      finalModelHash: toHex(state.currentModel),
      logEntries: coordinator.ledger.length,
      meanDeltaNorms: [...state.rounds.values()].flatMap((r) => (r.commit === undefined ? [] : [r.commit.body.metrics['meanDeltaNorm'] ?? Number.NaN])),
      ...siteEpsilonOf([...(state.rounds.get(init.rounds)?.accepted.values() ?? [])]),
      ...(state.rounds.get(init.rounds)?.commit?.body.dp === undefined ? {} : { loggedEpsilon: state.rounds.get(init.rounds)!.commit!.body.dp!.epsilon }),
    }
  } finally {
    await coordinator.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** The largest ε the sites' DP-SGD claims logged in `accepted` (nothing when none carries one). */
function siteEpsilonOf(accepted: readonly { readonly dpSgd?: { readonly claim: { readonly epsilon: number } } | { readonly invalid: string } }[]): { siteEpsilon?: number } {
  const epsilons = accepted.flatMap((a) => (a.dpSgd !== undefined && 'claim' in a.dpSgd ? [a.dpSgd.claim.epsilon] : []))
  return epsilons.length === 0 ? {} : { siteEpsilon: Math.max(...epsilons) }
}
