/**
 * One scale of the bench: a real federation in this process (coordinator on
 * 127.0.0.1:0 over real gRPC, LevelDB in a temp dir, n site agents training
 * with TF.js) run for the study's rounds, with every round's timings taken
 * from the coordinator's and the sites' events.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pino } from 'pino'
import { parseHubConfig, startCoordinator, type HubConfig, type RunningCoordinator } from '../../coordinator/index.ts'
import { signerFromSeed, toHex, writeIdentity } from '../../ledger/index.ts'
import { clientCredentials, loadPartyTls, provisionStudyKit, type StudyKit } from '../../pki/index.ts'
import type { StudySpecInput } from '../../models/index.ts'
import { SiteAgent, parseSiteConfig, type SiteAgentEvent } from '../../site-agent/index.ts'
import { benchSites, writeCohorts, type BenchSite } from './cohorts.ts'

/** What one round cost, as the events reported it (ms, except bytes). */
export interface RoundEvents {
  readonly round: number
  /** `round-opened` to `round-committed`. */
  wallMs: number
  /** Per site, in site order: `trained.durationMs`. */
  readonly trainMs: number[]
  /** Per site: `uploaded.durationMs`, the upload RPC as the site saw it. */
  readonly uploadMs: number[]
  uploadBytes: number
  verifyMs: number
  aggregateMs: number
  /** Appends of `update-accepted` entries with their delta blobs. */
  logUpdatesMs: number
  /** The `round-committed` append with the model blob. */
  logCommitMs: number
  /** verify + log of the last accepted update, then aggregate + commit log: the coordinator's work no site training can overlap. */
  tailMs: number
}

export interface ScaleRun {
  readonly config: HubConfig
  /** Times a site lost its session or task stream and said hello again (`reconnecting` events), over the whole run. */
  readonly reconnects: number
  /** The reconnects by reason (the agent's `reconnecting` event), most frequent first. */
  readonly reconnectReasons: Readonly<Record<string, number>>
  /** The coordinator's connection gate at the end: open, refused at a cap, closed for sending no request in time. */
  readonly connections: { readonly open: number; readonly refused: number; readonly timedOut: number }
  /** The deadline of one site call in this run (see sharedLoopDeadlineMs). */
  readonly requestTimeoutMs: number
  readonly csvFiles: readonly string[]
  readonly rounds: readonly RoundEvents[]
  readonly coordinator: RunningCoordinator
  /** Stops the coordinator and removes the temp dir. */
  close(): Promise<void>
}

export interface ScaleOptions {
  readonly sites: number
  /** Mutual TLS with a study CA for every gRPC call (else plaintext on loopback). */
  readonly tls: boolean
  readonly study: Omit<StudySpecInput, 'minSites'>
  readonly onRound?: (round: number) => void
  /** Deadline of one site call; default sharedLoopDeadlineMs(sites). */
  readonly requestTimeoutMs?: number | undefined
}

/** The sites' default call deadline (coordinator-client.ts), which 16 sites in one process meet. */
const SOLO_REQUEST_TIMEOUT_MS = 10_000
/** Sites that share one event loop within the default deadline. */
const SITES_PER_DEADLINE = 16

/**
 * A site call's deadline when `sites` agents and the coordinator share this
 * one event loop: a call waits behind the others' training, uploads and
 * evaluations, whose sum grows with the number of sites, so the deadline
 * grows with it (10 s per 16 sites). A fixed 10 s made 1,000 sites reconnect
 * over and over: every missed deadline is a new hello, which adds to the
 * very queue it timed out in.
 */
export function sharedLoopDeadlineMs(sites: number): number {
  return SOLO_REQUEST_TIMEOUT_MS * Math.max(1, Math.ceil(sites / SITES_PER_DEADLINE))
}

const silent = pino({ level: 'silent' })
/** Each site holds out a stratified quarter of its records for validation (fixed seed). */
export const SITE_SPLIT = { kind: 'fraction', validationFraction: 0.25, seed: 5 } as const

/** Key files and certificates for the hub (which also coordinates) and each site, as `fedlineage provision` makes them. */
async function provisionBench(dir: string, hubSeed: Uint8Array, sites: readonly BenchSite[]): Promise<StudyKit> {
  await writeIdentity(dir, 'hub', { seed: hubSeed })
  for (const s of sites) await writeIdentity(dir, s.cohort.siteId, { seed: s.seed })
  const hubKey = signerFromSeed(hubSeed).publicKey
  return provisionStudyKit(
    dir,
    [{ name: 'coordinator', role: 'coordinator', publicKey: hubKey, hosts: ['127.0.0.1'] }, ...sites.map((s) => ({ name: s.cohort.siteId, role: 'site' as const, publicKey: s.signer.publicKey }))],
    { study: 'bench-round', caValidDays: 1, validDays: 1 },
  )
}

/** Runs the study to completion at `sites` sites; the coordinator stays open for the baseline until `close()`. */
export async function runScale(opts: ScaleOptions): Promise<ScaleRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-bench-round-'))
  const sites = benchSites(opts.sites)
  const csvFiles = await writeCohorts(dir, sites)
  const hubSeed = new Uint8Array(32).fill(1)
  const hub = signerFromSeed(hubSeed)
  const kit = opts.tls ? await provisionBench(dir, hubSeed, sites) : undefined
  const sharedDeadlineMs = opts.requestTimeoutMs ?? sharedLoopDeadlineMs(opts.sites)
  const config = parseHubConfig(
    {
      study: { ...opts.study, minSites: opts.sites },
      listen: '127.0.0.1:0',
      dataDir: path.join(dir, 'ledger'),
      keyFile: path.join(dir, kit ? 'hub.key' : 'unused.key'),
      ...(kit ? { tls: { ca: kit.caCert, cert: kit.certs['coordinator']! } } : {}),
      sites: sites.map((s) => ({ id: s.cohort.siteId, publicKey: toHex(s.signer.publicKey) })),
      autoAdvance: true,
      // The deadline to send a first request and the keepalive ping's timeout measure a client's
      // promptness; here every site shares the coordinator's event loop, so they get the same allowance
      // as the sites' own calls. A ping is answered only when the loop next reads its socket: with
      // hundreds of sites training, one turn of the loop outlasted the fixed 10 s, and the coordinator
      // dropped live connections (the "Connection dropped" reconnects at 512 and 1,000 sites).
      limits: { authDeadlineMs: sharedDeadlineMs, keepaliveTimeoutMs: sharedDeadlineMs },
    },
    'bench hub config',
    dir,
  )

  const rounds = new Map<number, RoundEvents & { opened: number; lastUpdate: number }>()
  const at = (round: number) => {
    let r = rounds.get(round)
    if (!r) {
      r = {
        round,
        wallMs: NaN,
        trainMs: sites.map(() => NaN),
        uploadMs: sites.map(() => NaN),
        uploadBytes: 0,
        verifyMs: 0,
        aggregateMs: 0,
        logUpdatesMs: 0,
        logCommitMs: 0,
        tailMs: 0,
        opened: NaN,
        lastUpdate: 0,
      }
      rounds.set(round, r)
    }
    return r
  }

  // The coordinator opens round 1 as it starts (autoAdvance), possibly before
  // the listeners attach; round 1 is the warm-up round and is not summarised.
  const coordinator = await startCoordinator(config, { signer: hub, logger: silent })
  coordinator.on('round-opened', (round) => void (at(round).opened = performance.now()))
  coordinator.on('round-committed', (round) => {
    const r = at(round)
    r.wallMs = performance.now() - r.opened
    opts.onRound?.(round)
  })
  const lastPhase = new Map<number, string>()
  coordinator.on('timing', (round, phase, ms) => {
    const r = at(round)
    if (phase === 'verify') {
      r.verifyMs += ms
      r.lastUpdate = ms
    } else if (phase === 'aggregate') {
      r.aggregateMs += ms
      r.tailMs = r.lastUpdate + ms
    } else if (lastPhase.get(round) === 'aggregate') {
      r.logCommitMs += ms
      r.tailMs += ms
    } else {
      r.logUpdatesMs += ms
      r.lastUpdate += ms
    }
    lastPhase.set(round, phase)
  })

  const credentials = kit
    ? await Promise.all(sites.map((s) => loadPartyTls({ ca: kit.caCert, cert: kit.certs[s.cohort.siteId]!, keyFile: path.join(dir, `${s.cohort.siteId}.key`) }).then(clientCredentials)))
    : []
  const requestTimeoutMs = opts.requestTimeoutMs ?? sharedLoopDeadlineMs(opts.sites)
  let reconnects = 0
  // Why sites reconnected, by reason with its varying parts (ids, numbers) blanked, for the report.
  const reasons = new Map<string, number>()
  const runs = sites.map((site, i) => {
    // Site replicas stay off here: every site runs in this one process, and 4-16 replicas
    // pulling, verifying and fsyncing on the coordinator's event loop and disk would be
    // charged to the coordinator. In a deployment each site replicates on its own machine.
    const cfg = parseSiteConfig(
      {
        siteId: site.cohort.siteId,
        study: config.study.id,
        coordinator: coordinator.address,
        keyFile: kit ? `${site.cohort.siteId}.key` : 'unused.key',
        ...(kit ? { tls: { ca: kit.caCert, cert: kit.certs[site.cohort.siteId]! } } : {}),
        data: { file: csvFiles[i]!, validationFraction: SITE_SPLIT.validationFraction, splitSeed: SITE_SPLIT.seed },
        backend: 'auto',
        reconnectTimeoutMs: Math.max(30_000, 3 * requestTimeoutMs),
        requestTimeoutMs,
        p2p: { enabled: false },
      },
      'bench site config',
      dir,
    )
    const agent = new SiteAgent({ signer: site.signer, logger: silent, ...(credentials[i] ? { credentials: credentials[i] } : {}) }, cfg)
    agent.onEvent((e: SiteAgentEvent) => {
      if (e.type === 'trained') at(e.round).trainMs[i] = e.durationMs
      else if (e.type === 'reconnecting') {
        reconnects++
        const reason = e.reason.replace(/[0-9a-f]{16,}/g, '…').replace(/\d+/g, 'N')
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
      } else if (e.type === 'uploaded') {
        at(e.round).uploadMs[i] = e.durationMs
        at(e.round).uploadBytes += e.bytes
      } else if (e.type === 'update-refused') throw new Error(`bench: ${site.cohort.siteId}'s update for round ${e.round} was refused: ${e.message}`)
    })
    return agent.run()
  })
  // A round the coordinator cannot open (e.g. a plan too large for one log entry) would leave every
  // site waiting until the study's deadlines, hours at this scale: the bench stops at once instead.
  const advanceFailed = new Promise<never>((_, reject) =>
    coordinator.on('auto-advance-failed', (err) => reject(new Error(`bench: the coordinator could not open the next round at ${opts.sites} sites: ${err.message}`, { cause: err }))),
  )
  try {
    await Promise.race([Promise.all([...runs, coordinator.completed]), advanceFailed])
  } catch (err) {
    // The count so far is the figure a failed run still has to show.
    console.error(`bench: ${opts.sites} sites: ${reconnects} reconnects before the failure`, Object.fromEntries(reasons))
    await coordinator.close()
    await rm(dir, { recursive: true, force: true })
    throw err
  }

  return {
    config,
    reconnects,
    reconnectReasons: Object.fromEntries([...reasons].sort((a, b) => b[1] - a[1])),
    connections: coordinator.connectionStats(),
    requestTimeoutMs,
    csvFiles,
    rounds: [...rounds.values()].sort((a, b) => a.round - b.round).map(({ opened: _o, lastUpdate: _l, ...r }) => r),
    coordinator,
    async close() {
      await coordinator.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
