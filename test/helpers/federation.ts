/**
 * A real federation for integration tests: synthetic hospital CSVs in a temp
 * dir, Ed25519 identities, a coordinator on 127.0.0.1:0 with its LevelDB in
 * the temp dir, and in-process site agents over real gRPC. Every helper
 * registers its own cleanup with vitest's `onTestFinished`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pino, type Logger } from 'pino'
import { onTestFinished } from 'vitest'
import { HubClient, parseHubConfig, startCoordinator, type HubConfig, type HubConfigInput, type RunningCoordinator } from '../../coordinator/index.ts'
import { sha256, signerFromSeed, toHex, writeIdentity, type Signer } from '../../ledger/index.ts'
import { provisionStudyKit } from '../../pki/index.ts'
import {
  DEMO_SITES,
  SYNTHETIC_SCHEMA,
  SiteAgent,
  parseSiteConfig,
  signApproval,
  siteCredentials,
  writeApprovalFile,
  writeSyntheticSite,
  type SiteAgentEvent,
  type SiteConfigInput,
  type SiteRunSummary,
} from '../../site-agent/index.ts'
import { encodeWeights, inputWidth, modelShapes, sizeOfShape, StudySpecSchema, type StudySpecInput } from '../../models/index.ts'
import { ENTRY_KINDS, encodeSpec, readLineageRecord, signStatement, specHash, type SignedStatement } from '../../protocol/index.ts'

export const quietLogger = pino({ level: process.env['FEDLINEAGE_TEST_LOG'] ?? 'silent' })

/** A logger at `info` whose lines are kept, parsed, in `lines` (what the hub's log would say). */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { logger, lines }
}

/** A deterministic test identity: the seed is SHA-256-free and readable, e.g. seed byte 1 for the hub. */
export function testSigner(n: number): Signer {
  return signerFromSeed(new Uint8Array(32).fill(n))
}

export async function tempDir(prefix = 'fedlineage-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  onTestFinished(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

export interface TestSite {
  readonly id: string
  readonly signer: Signer
  readonly csv: string
  /** Patients in the CSV; with `patientIds`, their ids are `<id>-1` … `<id>-<patients>`. */
  readonly patients: number
}

export interface TestFederation {
  readonly dir: string
  readonly hub: Signer
  readonly sites: readonly TestSite[]
  readonly config: HubConfig
  coordinator: RunningCoordinator
  /** Starts (or restarts, same data dir) the coordinator. */
  restartCoordinator(): Promise<RunningCoordinator>
  /** Runs a site agent in this process until the study is done. */
  runSite(site: TestSite, onEvent?: (e: SiteAgentEvent) => void): Promise<SiteRunSummary>
  /** The site's config as `runSite` uses it (paths relative to `dir`). */
  siteConfig(site: TestSite): SiteConfigInput
  /** Writes that config to `<dir>/<site id>.site.json` (for commands that take `--config`) and returns the path. */
  writeSiteConfig(site: TestSite): Promise<string>
}

export interface FederationInit {
  siteCount?: number
  study?: Partial<StudySpecInput>
  autoAdvance?: boolean
  hub?: Partial<HubConfigInput>
  /** Write each site's CSV with a first column `patient_id` = `<site id>-<row>` (for studies with consent). */
  patientIds?: boolean
  /** More site config for `runSite` (e.g. `consent`); relative paths resolve against `dir`. */
  siteConfig?: (site: TestSite, index: number) => Partial<SiteConfigInput>
  /**
   * Mutual TLS: a study CA in `<dir>/ca`, key files for every party, and a
   * certificate each (`<dir>/<name>.crt`; the coordinator's for 127.0.0.1).
   */
  tls?: boolean
  /** The coordinator's upload idle limit (default its own, 30 s). */
  uploadIdleMs?: number
  /** The coordinator's logger (default: silent). */
  logger?: Logger
  /** The coordinator's refusal log window (default its own, 10 s). */
  refusalLogWindowMs?: number
  /** How many of the sites the hub config enrols (default: all); the rest exist, with data and keys, to be enrolled later. */
  enrolledSites?: number
  /**
   * Each site approves a spec: `true` the study's own, or the spec hash the
   * function returns for it (undefined: no approval). The signed approval is
   * written to `<dir>/<site id>.approval.json` and named in the site config.
   */
  approve?: boolean | ((site: TestSite, index: number) => Uint8Array | undefined)
  /** Build in this directory, which the caller removes (for a federation shared by a file's tests, made in `beforeAll`); default a temp dir removed when the test finishes. */
  dir?: string
}

/** Writes a test identity's key file (the test keys have known seeds), as `fedlineage keygen` would. */
async function writeTestKey(dir: string, name: string, seedByte: number): Promise<void> {
  await writeIdentity(dir, name, { seed: new Uint8Array(32).fill(seedByte) })
}

/** The study CA and a certificate for each party, as `fedlineage provision` makes them. */
async function provisionTestTls(dir: string, hub: Signer, sites: readonly TestSite[]): Promise<{ ca: string; cert: (name: string) => string }> {
  const kit = await provisionStudyKit(
    dir,
    [
      { name: 'coordinator', role: 'coordinator', publicKey: hub.publicKey, hosts: ['127.0.0.1', 'localhost'] },
      { name: 'hub', role: 'hub', publicKey: hub.publicKey },
      ...sites.map((s) => ({ name: s.id, role: 'site' as const, publicKey: s.signer.publicKey })),
    ],
    { study: TEST_STUDY.id, caValidDays: 1, validDays: 1 },
  )
  return { ca: kit.caCert, cert: (name) => kit.certs[name]! }
}

/** A synthetic cohort CSV with a first `patient_id` column, `<site id>-1` …; returns the path. */
export const TEST_STUDY: StudySpecInput = {
  id: 'test-study',
  model: { kind: 'logreg' },
  data: SYNTHETIC_SCHEMA,
  training: { optimizer: 'sgd', learningRate: 0.1, batchSize: 16, localSteps: 20 },
  strategy: { name: 'fedavg' },
  rounds: 3,
  minSites: 2,
  roundDeadlineMs: 30_000,
  evaluationDeadlineMs: 10_000,
  seed: 3,
}

export async function createFederation(opts: FederationInit = {}): Promise<TestFederation> {
  const dir = opts.dir ?? (await tempDir())
  const hub = testSigner(1)
  const sites: TestSite[] = []
  for (const [i, site] of DEMO_SITES.slice(0, opts.siteCount ?? 3).entries()) {
    const csv = (await writeSyntheticSite(dir, site, { patientIds: opts.patientIds === true })).trainCsv
    sites.push({ id: site.siteId, signer: testSigner(10 + i), csv, patients: site.size })
  }
  const tls = opts.tls === true ? await provisionTestTls(dir, hub, sites) : undefined
  if (tls) {
    await writeTestKey(dir, 'hub', 1)
    for (const [i, s] of sites.entries()) await writeTestKey(dir, s.id, 10 + i)
  }
  const input: HubConfigInput = {
    study: { ...TEST_STUDY, ...opts.study },
    listen: '127.0.0.1:0',
    dataDir: path.join(dir, 'ledger'),
    keyFile: path.join(dir, tls ? 'hub.key' : 'unused.key'),
    ...(tls ? { tls: { ca: tls.ca, cert: tls.cert('coordinator') } } : {}),
    sites: sites.slice(0, opts.enrolledSites ?? sites.length).map((s) => ({ id: s.id, publicKey: toHex(s.signer.publicKey) })),
    autoAdvance: opts.autoAdvance ?? true,
    ...opts.hub,
  }
  const config = parseHubConfig(input, 'test hub config', dir)
  const approvals = new Map<string, string>()
  if (opts.approve !== undefined && opts.approve !== false) {
    const own = specHash(encodeSpec(config.study))
    for (const [i, site] of sites.entries()) {
      const hash = opts.approve === true ? own : opts.approve(site, i)
      if (hash === undefined) continue
      const file = path.join(dir, `${site.id}.approval.json`)
      await writeApprovalFile(file, signApproval(site.signer, config.study.id, site.id, hash, Date.now()))
      approvals.set(site.id, file)
    }
  }
  const start = () =>
    startCoordinator(config, {
      signer: hub,
      logger: opts.logger ?? quietLogger,
      ...(opts.uploadIdleMs === undefined ? {} : { uploadIdleMs: opts.uploadIdleMs }),
      ...(opts.refusalLogWindowMs === undefined ? {} : { refusalLogWindowMs: opts.refusalLogWindowMs }),
    })
  const fed: TestFederation = {
    dir,
    hub,
    sites,
    config,
    coordinator: await start(),
    async restartCoordinator() {
      await fed.coordinator.close()
      fed.coordinator = await start()
      return fed.coordinator
    },
    siteConfig(site) {
      return {
        siteId: site.id,
        study: config.study.id,
        coordinator: fed.coordinator.address,
        keyFile: tls ? `${site.id}.key` : 'unused.key',
        ...(tls ? { tls: { ca: tls.ca, cert: tls.cert(site.id) } } : {}),
        data: { file: site.csv, validationFraction: 0.25, splitSeed: 5 },
        backend: 'auto',
        reconnectTimeoutMs: 30_000,
        ...(approvals.has(site.id) ? { approval: approvals.get(site.id)! } : {}),
        ...opts.siteConfig?.(site, sites.indexOf(site)),
      }
    },
    async writeSiteConfig(site) {
      const file = path.join(dir, `${site.id}.site.json`)
      await writeFile(file, JSON.stringify(fed.siteConfig(site), null, 2))
      return file
    },
    async runSite(site, onEvent) {
      const cfg = parseSiteConfig(fed.siteConfig(site), 'test site config', dir)
      const credentials = await siteCredentials(cfg)
      const agent = new SiteAgent({ signer: site.signer, logger: quietLogger, ...(credentials ? { credentials } : {}) }, cfg)
      if (onEvent) agent.onEvent(onEvent)
      return agent.run()
    },
  }
  // A shared federation (`dir` given) is closed by its caller, in afterAll.
  if (opts.dir === undefined) onTestFinished(() => fed.coordinator.close())
  return fed
}

/**
 * A 2-site federation (no auto-advance) with round 1 open, a delta of the
 * study model (every value 0.001), and each site's valid signed envelope
 * for it: what upload tests start from.
 */
export async function openRoundWithEnvelopes(opts: FederationInit = {}): Promise<{ fed: TestFederation; delta: Uint8Array; envelopes: SignedStatement[] }> {
  const fed = await createFederation({ siteCount: 2, autoAdvance: false, ...opts })
  const hub = new HubClient(fed.coordinator.address)
  const opened = await hub.startNextRound(fed.hub)
  hub.close()
  const spec = StudySpecSchema.parse({ ...TEST_STUDY, ...opts.study })
  const delta = encodeWeights({
    tensors: modelShapes(spec.model, inputWidth(spec.data)).map((s) => ({ name: s.name, shape: [...s.shape], values: new Float32Array(sizeOfShape(s.shape)).fill(0.001) })),
  })
  const envelopes = fed.sites.map((site) =>
    signStatement(site.signer, {
      t: 'update',
      study: spec.id,
      round: 1,
      site: site.id,
      base: new Uint8Array(opened.baseModelHash),
      delta: sha256(delta),
      size: delta.length,
      examples: 50,
      metrics: { trainLoss: 0.4 },
      nonce: new Uint8Array(randomBytes(16)),
      time: Date.now(),
    }),
  )
  return { fed, delta, envelopes }
}

/** The codes of the update refusals in a federation's log, in log order. */
export async function loggedRejections(fed: TestFederation): Promise<string[]> {
  const codes: string[] = []
  for await (const { entry } of fed.coordinator.ledger.scan()) {
    const r = readLineageRecord(entry)
    if (r.kind === ENTRY_KINDS.UPDATE_REJECTED) codes.push(r.body.code)
  }
  return codes
}
