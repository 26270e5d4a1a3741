/**
 * Composition of the coordinator process: the study's log in LevelDB, the
 * round runner that folds and extends it, and the gRPC server that sites and
 * the hub talk to. `startCoordinator` is what the CLI and the tests call.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js'
import { pino, type Logger } from 'pino'
import {
  Ledger,
  createReplicaNode,
  equalBytes,
  loadSigner,
  logOrigin,
  peerKeyOf,
  openLevelStorage,
  parsePublicKey,
  toHex,
  type ReplicaNode,
  type Signer,
  type WitnessSubmitter,
} from '../ledger/index.ts'
import { WIRE_CHUNK_BYTES, federationService } from '../protos/index.ts'
import { loadPartyTls, serverCredentials, transportMode, transportNotice } from '../pki/index.ts'
import { studyReplicaAccess } from '../protocol/index.ts'
import { readFile } from 'node:fs/promises'
import { decodeDataset } from '../models/index.ts'
import { CoordinatorConfigError, AuthDeadlineError } from './errors.ts'
import type { HubConfig } from './config.ts'
import { ConnectionGate, type ConnectionGateStats } from './grpc/connection-gate.ts'
import { firstMessageDeadline } from './grpc/first-message.ts'
import { resolveLimits, type ServerLimits } from './grpc/limits.ts'
import { createFederationHandlers } from './grpc/service.ts'
import { UploadBudget } from './grpc/upload-budget.ts'
import { tolerantService } from './grpc/undecodable.ts'
import { REFUSAL_LOG_WINDOW_MS, RefusalLog, type RefusalLogStats } from './grpc/refusal-log.ts'
import { callOutcomes } from './grpc/call-outcomes.ts'
import { startDashboardServer } from './http/dashboard-server.ts'
import { CoordinatorMetrics } from './http/metrics.ts'
import type { RunningHttpServer } from '../web/index.ts'
import { RoundRunner, type RoundRunnerEvents } from './round-runner.ts'
import { NOISE_SEEDS_FILE } from './constants.ts'
import { openNoiseSeedStore } from './noise-seeds.ts'
import path from 'node:path'
import { SessionTable } from './sessions.ts'
import { TaskBroker } from './task-broker.ts'
import { startWitnessSubmission } from './witness-submission.ts'

export interface CoordinatorOptions {
  /** Logger; defaults to pino at `info` on stderr. */
  readonly logger?: Logger
  /** The signing key; defaults to loading `config.keyFile`. */
  readonly signer?: Signer
  /** Clock override (tests). */
  readonly now?: () => number
  /** How long an upload may go without a message before it is dropped (default UPLOAD_IDLE_MS). */
  readonly uploadIdleMs?: number
  /** The refusal log's window per peer and code (default REFUSAL_LOG_WINDOW_MS, 10 s). */
  readonly refusalLogWindowMs?: number
}

/** An upload that sends nothing for this long is dropped, unlogged: a stalled or trickling client holds no slot. */
export const UPLOAD_IDLE_MS = 30_000

/** How long a shutdown waits for calls in progress before it cuts them. */
const SHUTDOWN_GRACE_MS = 2_000

/**
 * The gRPC server's limits: a site needs a handful of concurrent calls (its
 * task stream, one download, one upload); idle and dead connections are
 * closed (keepalive pings from `limits`); a message is at most one upload
 * chunk (1 MiB) plus framing, so concurrent large messages cannot pile up memory.
 */
export function serverOptions(limits: Pick<ServerLimits, 'keepaliveTimeMs' | 'keepaliveTimeoutMs'>) {
  return {
    'grpc.max_concurrent_streams': 32,
    'grpc.max_receive_message_length': WIRE_CHUNK_BYTES + 64 * 1024,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': 30_000,
    // Channelz keeps per-call statistics for a channelz admin service this server does not offer: about 0.15 ms of every upload's CPU.
    'grpc.enable_channelz': 0,
  } as const
}

export interface RunningCoordinator {
  /** host:port actually bound (port 0 resolved). */
  readonly address: string
  readonly port: number
  readonly runner: RoundRunner
  readonly ledger: Ledger
  /** The log replica's libp2p node (undefined when p2p is disabled). */
  readonly replica: ReplicaNode | undefined
  /** Its multiaddrs, with /p2p/<peer id>: where other replicas sync from (`p2p.announce` when set, else as bound). Sites learn them at hello. */
  readonly p2pAddrs: readonly string[]
  /** The server limits in force (`hub.json` `limits` with their defaults filled in). */
  readonly limits: ServerLimits
  /** Connections open, refused at the caps, and closed at the auth deadline so far. */
  connectionStats(): ConnectionGateStats
  /** Upload bytes reserved by uploads in flight. */
  uploadBytesInFlight(): number
  /** Refusal lines logged, and refusals the rate limit only counted. */
  refusalStats(): RefusalLogStats
  /** host:port of the HTTP port (metrics, dashboard), when `http` is configured. */
  readonly httpAddress: string | undefined
  /** Sites with an open task stream, in id order. */
  connectedSites(): string[]
  /** Resolves when the study has completed (its final evaluation is logged). */
  readonly completed: Promise<void>
  /** Sends each checkpoint to the study policy's witnesses (undefined when it names none with a URL); its `cosigned` events say who cosigned what. */
  readonly witnesses: WitnessSubmitter | undefined
  on<E extends keyof RoundRunnerEvents>(event: E, listener: (...args: RoundRunnerEvents[E]) => void): void
  close(): Promise<void>
}

/** Reads a prepared validation set and checks it decodes (a bad file fails at start, not at the first commit). */
async function readValidationSet(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(file))
    decodeDataset(bytes)
  } catch (err) {
    throw new CoordinatorConfigError(`validationDataset ${file}: ${(err as Error).message}; prepare it with \`fedlineage dataset prepare\``, { cause: err })
  }
  return bytes
}

export async function startCoordinator(config: HubConfig, options: CoordinatorOptions = {}): Promise<RunningCoordinator> {
  const logger = options.logger ?? pino({ level: process.env['FEDLINEAGE_LOG_LEVEL'] ?? 'info' }, pino.destination(2))
  const signer = options.signer ?? (await loadSigner(config.keyFile))
  const now = options.now ?? Date.now
  const validation = config.validationDataset ? await readValidationSet(config.validationDataset) : undefined
  const hubKey = config.hubPublicKey ? parsePublicKey(config.hubPublicKey, 'hubPublicKey') : signer.publicKey
  if (config.autoAdvance && !equalBytes(hubKey, signer.publicKey)) {
    // The coordinator signs the round starts it makes itself, with its own key; a separate hub key would refuse every one and stall the study.
    throw new CoordinatorConfigError(
      "autoAdvance is set, but hubPublicKey is another key than the coordinator's own (keyFile): the coordinator would sign round starts the hub key check refuses, and the study would stall. Either remove hubPublicKey (the coordinator then acts as the hub) or set autoAdvance to false and open each round with `fedlineage round start --key <hub key>`",
    )
  }
  // TLS files are checked before anything opens: a certificate for another key fails the start, saying which.
  const tls = config.tls ? await loadPartyTls({ ...config.tls, keyFile: config.keyFile }) : undefined
  if (tls && !equalBytes(tls.publicKey, signer.publicKey))
    throw new CoordinatorConfigError(
      `tls.cert ${config.tls!.cert}: carries key ${toHex(tls.publicKey)}, not the coordinator's signing key; issue the coordinator certificate for ${toHex(signer.publicKey)}`,
    )
  const storage = await openLevelStorage(config.dataDir)
  const ledger = await Ledger.open(storage)
  let runner: RoundRunner
  try {
    runner = await RoundRunner.open(
      {
        ledger,
        signer,
        logger,
        now,
        ...(config.study.dp === undefined || config.study.secureAggregation !== undefined ? {} : { noiseSeeds: await openNoiseSeedStore(path.join(config.dataDir, NOISE_SEEDS_FILE)) }),
      },
      {
        study: config.study,
        sites: config.sites.map((s) => ({ id: s.id, publicKey: parsePublicKey(s.publicKey, `site "${s.id}" publicKey`) })),
        hubKey,
        autoAdvance: config.autoAdvance,
        maxRequestAgeMs: config.maxRequestAgeMs,
        validation,
      },
    )
  } catch (err) {
    await ledger.close()
    throw err
  }
  let replica: ReplicaNode | undefined
  if (config.p2p.enabled) {
    try {
      replica = await createReplicaNode({
        ledger,
        origin: logOrigin(runner.state.studyId),
        coordinatorKey: signer.publicKey,
        signer,
        listen: config.p2p.listen,
        announce: config.p2p.announce,
        peers: config.p2p.peers,
        // Its libp2p identity is the coordinator's key, and it serves the study's data under the study's policy.
        privateKey: await peerKeyOf(signer),
        // Every site, auditor and the hub may connect at once; room for sites enrolled later.
        expectedPeers: config.sites.length + (config.study.auditors?.length ?? 0) + 16,
        access: studyReplicaAccess(() => runner.state, signer.publicKey),
      })
    } catch (err) {
      await runner.close()
      await ledger.close()
      throw err
    }
    const sync = replica.services.ledgerSync
    // Every role shows a proof of equivocation; here it would mean this coordinator's key signed a forked log.
    sync.addEventListener('misbehaviour', (e) => logger.error({ proof: e.detail.kind }, 'proof of misbehaviour received: this coordinator key signed conflicting logs'))
    // Gossip every checkpoint the runner signs; a replica that misses one catches up at the next.
    runner.on('checkpoint', (cp) => void sync.announce(cp).catch((err: unknown) => logger.warn({ err }, 'checkpoint announcement failed')))
    void sync.announce().catch(() => undefined)
  }
  const witnesses = await startWitnessSubmission(config.study.witnessPolicy, ledger, runner, logger)
  const p2pAddrs = replica ? replica.getMultiaddrs().map((a) => a.toString()) : []
  const broker = new TaskBroker(now)
  runner.on('task', (siteId, task) => broker.send(siteId, task))
  const completed = new Promise<void>((resolve) => {
    if (runner.state.completed) resolve()
    runner.on('study-completed', () => resolve())
  })

  const limits = resolveLimits(config.limits, config.sites.length + (config.study.auditors?.length ?? 0))
  // The gate exists before the server: the interceptor tells it which connections have sent a request.
  let gate: ConnectionGate | undefined
  // Metrics are counted only when the HTTP port that serves them is on.
  const metrics = config.http
    ? new CoordinatorMetrics({ runner, logLength: () => ledger.length, connectionStats: () => gate!.stats(), connectedSites: () => broker.connectedSites(), witnesses })
    : undefined
  const refusals = new RefusalLog({ windowMs: options.refusalLogWindowMs ?? REFUSAL_LOG_WINDOW_MS }, { logger })
  const server = new Server({
    ...serverOptions(limits),
    interceptors: [
      firstMessageDeadline({
        deadlineMs: limits.authDeadlineMs,
        onFirstMessage: (address, port) => gate?.markActive(address, port),
        // No request arrived, so no site is claimed: the line names the peer and the call.
        onDeadline: (rpc, peer, message) => refusals.refused({ rpc, site: undefined, peer, code: AuthDeadlineError.code, message }),
      }),
      ...(metrics ? [callOutcomes((method, code) => metrics.recordCall(method, code))] : []),
    ],
  })
  const uploadBudget = new UploadBudget(limits.uploadBytesInFlight)
  const mode = transportMode(config.listen, tls !== undefined, config.insecure, 'listen')
  const credentials = tls ? serverCredentials(tls) : ServerCredentials.createInsecure()
  server.addService(
    tolerantService(federationService()),
    createFederationHandlers({
      runner,
      sessions: new SessionTable(now),
      broker,
      logger,
      coordinatorKey: signer.publicKey,
      p2pAddrs,
      now,
      maxHelloAgeMs: config.maxRequestAgeMs,
      uploadIdleMs: options.uploadIdleMs ?? UPLOAD_IDLE_MS,
      uploadRate: { minBytesPerSecond: limits.uploadMinBytesPerSecond, windowMs: limits.uploadRateWindowMs },
      uploadBudget,
      downloadStallMs: limits.downloadStallMs,
      requirePeerCertificates: tls !== undefined,
      refusals,
    }),
  )
  // grpc-js serves the sockets the gate lets through; it binds nothing itself.
  const injector = server.createConnectionInjector(credentials)
  const connections = new ConnectionGate(limits, { inject: (socket) => injector.injectConnection(socket), logger, refusals })
  gate = connections
  /** Stops serving and closes every part, in order: what a shutdown and a failed start share. */
  const closeParts = async () => {
    server.forceShutdown()
    injector.destroy()
    await connections.close()
    await replica?.stop()
    await witnesses?.close()
    await runner.close()
    await ledger.close()
  }
  const host = config.listen.slice(0, config.listen.lastIndexOf(':'))
  const port = await gate.listen(host, Number(config.listen.slice(config.listen.lastIndexOf(':') + 1)))
  const address = `${host}:${port}`
  logger.info({ address, p2p: p2pAddrs, study: runner.state.studyId, entries: ledger.length, transport: mode }, 'coordinator listening')
  const notice = transportNotice(mode)
  logger[notice.level]({ transport: mode }, notice.message)
  let http: RunningHttpServer | undefined
  if (config.http && metrics) {
    const at = config.http.listen.lastIndexOf(':')
    try {
      http = await startDashboardServer(
        { runner, ledger, metrics, presence: () => broker.presence(), fitTasksSent: (round) => broker.fitTasksSent(round), modelDownloads: (model) => broker.modelDownloads(model), logger, now },
        config.http.listen.slice(0, at),
        Number(config.http.listen.slice(at + 1)),
      )
    } catch (err) {
      await closeParts()
      throw new CoordinatorConfigError(`http.listen ${config.http.listen}: cannot bind (${(err as Error).message}); pick a free port or another address`, { cause: err })
    }
    logger.info({ http: http.address }, 'dashboard and metrics listening')
  }

  let closing: Promise<void> | undefined
  return {
    address,
    port,
    runner,
    ledger,
    replica,
    p2pAddrs,
    limits,
    connectionStats: () => gate.stats(),
    uploadBytesInFlight: () => uploadBudget.bytesInFlight,
    refusalStats: () => refusals.stats(),
    httpAddress: http?.address,
    connectedSites: () => broker.connectedSites(),
    completed,
    witnesses,
    on: (event, listener) => void runner.on(event, listener as never),
    close: () =>
      (closing ??= (async () => {
        await http?.close()
        broker.endAll()
        // Calls in progress get a grace period to finish; a client holding a call open does not hold the shutdown.
        await new Promise<void>((resolve) => {
          const grace = setTimeout(resolve, SHUTDOWN_GRACE_MS)
          server.tryShutdown(() => {
            clearTimeout(grace)
            resolve()
          })
        })
        await closeParts()
        refusals.flush()
      })()),
  }
}
