/**
 * One scale of bench:replicas: a coordinator in this process (real gRPC on
 * 127.0.0.1:0, LevelDB in a temp dir, its libp2p replica sized to the study)
 * and n site agents, each its own process (site-process.ts) with its own
 * LevelDB replica dialing the coordinator over libp2p on loopback. The study
 * is small on purpose (an 8-unit MLP, two local steps): what is measured is
 * whether every replica ends with the whole log, not training.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pino } from 'pino'
import { parseHubConfig, startCoordinator } from '../../coordinator/index.ts'
import type { StudySpecInput } from '../../models/index.ts'
import { signerFromSeed, toHex } from '../../ledger/index.ts'
import { SYNTHETIC_SCHEMA } from '../../site-agent/index.ts'
import { benchSites, writeCohorts, type BenchSite } from '../round/cohorts.ts'
import { SITE_SPLIT, sharedLoopDeadlineMs } from '../round/federation.ts'
import type { SiteOutcome } from './site-process.ts'

/** One site's replica at the end of the study. */
export interface SiteReplicaResult {
  readonly site: string
  readonly replicaStarted: boolean
  /** Entries its verified replica held at the end (0 without one). */
  readonly entries: number
  /** It holds every entry the coordinator logged. */
  readonly fullLog: boolean
  /** From the study's completion at the coordinator to the site's finish, final sync included. */
  readonly catchUpMs: number
  readonly reconnects: number
  readonly peakRssBytes: number
  readonly error: string | null
}

export interface ReplicaScaleRun {
  readonly sites: number
  readonly rounds: number
  readonly coordinatorEntries: number
  /** The coordinator's open libp2p connections: the most sampled, and at the study's completion. */
  readonly coordinatorConnections: { readonly peak: number; readonly atCompletion: number }
  /** Study start (first process spawned) to completion at the coordinator. */
  readonly studyMs: number
  readonly results: readonly SiteReplicaResult[]
}

export interface ReplicaScaleOptions {
  readonly sites: number
  readonly rounds: number
  /** Called as each site process reports. */
  readonly onSite?: (result: SiteReplicaResult) => void
  /** Called as each round commits. */
  readonly onRound?: (round: number) => void
}

const SITE_PROCESS = new URL('./site-process.ts', import.meta.url).pathname
/**
 * A site process's young generation is kept small: a hundred of them share
 * this machine's memory, and V8's default semi-spaces (16 MiB each) add
 * ~50 MiB of resident memory per process that a tiny study never needs.
 */
const SITE_NODE_FLAGS = ['--max-semi-space-size=1']
/** How often the coordinator's connections are counted. */
const CONNECTION_SAMPLE_MS = 250
/** How long the sites may take after the study completed (final syncs) before they are killed and counted as they stand. */
const FINISH_TIMEOUT_MS = 180_000

/** A tiny study: what it replicates matters, not what it learns. */
function tinyStudy(sites: number, rounds: number): StudySpecInput {
  // Every site is its own process on this machine's cores: deadlines grow with their number, as in bench:round.
  const deadlineMs = 30 * sharedLoopDeadlineMs(sites)
  return {
    id: 'bench-replicas',
    model: { kind: 'mlp', hidden: [8] },
    data: SYNTHETIC_SCHEMA,
    training: { optimizer: 'sgd', learningRate: 0.05, batchSize: 32, localSteps: 2 },
    strategy: { name: 'fedavg' },
    rounds,
    minSites: sites,
    roundDeadlineMs: deadlineMs,
    evaluationDeadlineMs: deadlineMs,
    seed: 11,
  }
}

/** Runs the study with `sites` site processes and reports each replica. */
export async function runReplicaScale(opts: ReplicaScaleOptions): Promise<ReplicaScaleRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-bench-replicas-'))
  const hub = signerFromSeed(new Uint8Array(32).fill(1))
  const sites = benchSites(opts.sites)
  try {
    const csvFiles = await writeCohorts(dir, sites)
    const config = parseHubConfig(
      {
        study: tinyStudy(opts.sites, opts.rounds),
        listen: '127.0.0.1:0',
        dataDir: path.join(dir, 'coordinator-ledger'),
        keyFile: path.join(dir, 'unused.key'),
        sites: sites.map((s) => ({ id: s.cohort.siteId, publicKey: toHex(s.signer.publicKey) })),
        autoAdvance: true,
      },
      'bench hub config',
      dir,
    )
    const coordinator = await startCoordinator(config, { signer: hub, logger: pino({ level: 'silent' }) })
    try {
      coordinator.on('round-committed', (round) => opts.onRound?.(round))
      let peak = 0
      const count = (): number => coordinator.replica?.getConnections().length ?? 0
      const sampler = setInterval(() => void (peak = Math.max(peak, count())), CONNECTION_SAMPLE_MS)
      const started = Date.now()
      const outcomes = sites.map((site, i) => runSite(dir, site, csvFiles[i]!, coordinator.address, opts.sites))
      await coordinator.completed
      const completedAtMs = Date.now()
      const atCompletion = count()
      const coordinatorEntries = coordinator.ledger.length
      const results = await Promise.all(
        outcomes.map(async (outcome) => {
          const o = await outcome
          const result: SiteReplicaResult = {
            site: o.site,
            replicaStarted: o.replicaStartedAtMs !== null,
            entries: o.replicaEntries ?? 0,
            fullLog: o.replicaEntries === coordinatorEntries,
            catchUpMs: Math.max(0, o.finishedAtMs - completedAtMs),
            reconnects: o.reconnects,
            peakRssBytes: o.peakRssBytes,
            error: o.error,
          }
          opts.onSite?.(result)
          return result
        }),
      )
      clearInterval(sampler)
      return {
        sites: opts.sites,
        rounds: opts.rounds,
        coordinatorEntries,
        coordinatorConnections: { peak: Math.max(peak, atCompletion), atCompletion },
        studyMs: completedAtMs - started,
        results,
      }
    } finally {
      await coordinator.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Writes the site's config, runs its process, and resolves with what it reported (a process that died reports an error). */
async function runSite(dir: string, site: BenchSite, csv: string, coordinator: string, sites: number): Promise<SiteOutcome> {
  const id = site.cohort.siteId
  const configFile = path.join(dir, `${id}.json`)
  const requestTimeoutMs = sharedLoopDeadlineMs(sites)
  await writeFile(
    configFile,
    JSON.stringify({
      siteId: id,
      study: 'bench-replicas',
      coordinator,
      keyFile: 'unused.key',
      data: { file: csv, validationFraction: SITE_SPLIT.validationFraction, splitSeed: SITE_SPLIT.seed },
      backend: 'cpu',
      requestTimeoutMs,
      reconnectTimeoutMs: Math.max(120_000, 3 * requestTimeoutMs),
      p2p: { dataDir: path.join(dir, `${id}-replica`), verifyTimeoutMs: 3 * requestTimeoutMs },
    }),
  )
  const child = spawn(process.execPath, [...SITE_NODE_FLAGS, '--import', 'tsx', SITE_PROCESS, configFile, toHex(site.seed)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString('utf8')).slice(-2000)))
  let reported: SiteOutcome | undefined
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{')) reported = JSON.parse(line) as SiteOutcome
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), FINISH_TIMEOUT_MS + 60 * sharedLoopDeadlineMs(sites))
  // 'close', not 'exit': 'exit' can fire before the last stdout line is read, which lost the reports of sites that finished well.
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)))
  clearTimeout(killer)
  return (
    reported ?? {
      site: id,
      replicaStartedAtMs: null,
      replicaEntries: null,
      finishedAtMs: Date.now(),
      reconnects: 0,
      peakRssBytes: 0,
      error: `process exited with code ${code} without reporting: ${stderr.trim().split('\n').at(-1) ?? ''}`,
    }
  )
}
