/**
 * The research hub's config file (`hub.json`): the study, who may take part,
 * where the coordinator listens and keeps its log. Validated on load; every
 * error names the file and the field path, e.g.
 * `hub.json: study.training.learningRate: Too small: expected number to be >0`.
 * Relative paths are resolved against the config file's folder, so a config
 * means the same thing from any working directory.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { StudySpecSchema, type StudySpec } from '../models/index.ts'
import { CoordinatorConfigError } from './errors.ts'
import { isLoopbackHost } from '../pki/index.ts'
import { parseWitnessPolicy, replicaAddressProblem, WitnessPolicyInvalidError } from '../ledger/index.ts'

const hexKey = z.string().regex(/^[0-9a-f]{64}$/i, 'must be a 64-hex-digit Ed25519 public key')
const siteId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -')

export const HubConfigSchema = z
  .strictObject({
    /** The study: model, data schema, training recipe, strategy, rounds and terms. It is logged in `study-created`; sites review and approve its hash. */
    study: StudySpecSchema,
    /** host:port to bind; port 0 picks a free one (printed on start). */
    listen: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')
      .default('127.0.0.1:50051'),
    /** Folder of the coordinator's LevelDB (its log and blobs). */
    dataDir: z.string().min(1),
    /** The coordinator's Ed25519 key file: it signs every log entry. */
    keyFile: z.string().min(1),
    /** Public key allowed to start rounds; defaults to the coordinator's own. */
    hubPublicKey: hexKey.optional(),
    /** The sites enrolled when the study is created (more join later with `fedlineage membership enroll`). */
    sites: z
      .array(
        z.strictObject({
          /** The site's id, as its site.json `siteId` says. */
          id: siteId,
          /** The site's Ed25519 public key (its `keyFile`'s `.pub`): it signs the site's statements and its TLS certificate carries it. */
          publicKey: hexKey,
        }),
      )
      .min(1, 'enroll at least one site'),
    /**
     * The coordinator's libp2p replica of the log: sites and auditors sync
     * from it. Across machines, listen on a fixed port (`/ip4/0.0.0.0/tcp/4001`)
     * and announce the address the sites reach (`/dns4/hub.example.org/tcp/4001`).
     */
    p2p: z
      .strictObject({
        /** Run the replica; without it sites and auditors cannot sync the log. */
        enabled: z.boolean().default(true),
        /** Multiaddrs to listen on; loopback and a free port by default (tests, the demo). */
        listen: z.array(z.string().min(1)).min(1).default(['/ip4/127.0.0.1/tcp/0']),
        /**
         * Multiaddrs the coordinator gives sites at hello and peers through
         * identify, instead of the bound ones: what another machine dials
         * (a DNS name, a public or NAT-mapped address). Default: as bound.
         */
        announce: z.array(z.string().min(1)).default([]),
        /** Other replicas to dial (multiaddrs with /p2p/<peer id>). */
        peers: z.array(z.string().min(1)).default([]),
      })
      .prefault({}),
    /**
     * The hub's own validation set, prepared with the study's schema
     * (`fedlineage dataset prepare`): gain-based rewards are measured on it,
     * and it goes into the log so every audit measures on the same rows.
     */
    validationDataset: z.string().min(1).optional(),
    /** Open the next round by itself once the previous one is evaluated (no hub command needed). */
    autoAdvance: z.boolean().default(false),
    /** Largest accepted clock skew of a signed hub request. */
    maxRequestAgeMs: z.number().int().positive().default(300_000),
    /**
     * Mutual TLS (`fedlineage provision`): the study CA certificate and the
     * coordinator's certificate, which carries the key in `keyFile`. Every
     * client must present a certificate from the same CA.
     */
    tls: z
      .strictObject({
        /** The study CA's certificate (`fedlineage provision ca`): the only issuer this party trusts. */
        ca: z.string().min(1),
        /** This party's certificate (`fedlineage provision issue`), for the key in `keyFile`. */
        cert: z.string().min(1),
      })
      .optional(),
    /**
     * The coordinator's read-only HTTP port: Prometheus metrics on `/metrics`,
     * the live dashboard on `/` and its JSON API under `/api/`. Off unless set
     * (or `fedlineage coordinator --http host:port`). It serves what the log
     * holds and counters, no keys or deltas; bind it to loopback or a network
     * you trust, since it has no authentication.
     */
    http: z
      .strictObject({
        /** host:port to bind; port 0 picks a free one (printed on start). */
        listen: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port'),
      })
      .optional(),
    /** Plaintext gRPC on a non-loopback `listen`: for a trusted test network only. */
    insecure: z.boolean().default(false),
    /**
     * The gRPC server's limits against clients that hold resources without
     * working (`grpc/limits.ts`; unset fields take their defaults there).
     */
    limits: z
      .strictObject({
        /** Open gRPC connections from all addresses together; default 4 × maxConnectionsPerAddress. A connection over it is closed as it arrives. */
        maxConnections: z.number().int().positive().optional(),
        /** Open gRPC connections from one address; default sites + auditors + 16, at least 64. */
        maxConnectionsPerAddress: z.number().int().positive().optional(),
        /** A connection that sends no request in this time is closed; a call without its first message ends with COORD_AUTH_DEADLINE. Default 10000. */
        authDeadlineMs: z.number().int().positive().optional(),
        /** An upload bringing fewer delta bytes per second over a window is dropped (COORD_UPLOAD_STALLED), unlogged. Default 16384. */
        uploadMinBytesPerSecond: z.number().int().nonnegative().optional(),
        /** The window of uploadMinBytesPerSecond. Default 10000. */
        uploadRateWindowMs: z.number().int().positive().optional(),
        /** Delta bytes all uploads may hold at once; one over it is refused with COORD_BUSY before its envelope is read. Default 1 GiB. */
        uploadBytesInFlight: z.number().int().positive().optional(),
        /** A download whose client reads nothing for this long ends with COORD_DOWNLOAD_STALLED. Default 60000. */
        downloadStallMs: z.number().int().positive().optional(),
        /** The server pings a connection that has gone this long without one (HTTP/2 PING), to find peers that are gone. Default 30000. */
        keepaliveTimeMs: z.number().int().positive().optional(),
        /**
         * A connection whose peer does not answer the ping in this time is dropped, with its calls (the site sees
         * UNAVAILABLE "Connection dropped" and reconnects). The answer is read on the coordinator's event loop, so
         * raise it only where that loop is shared with heavy work (sites in the same process, as in `bench:round`). Default 10000.
         */
        keepaliveTimeoutMs: z.number().int().positive().optional(),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const ids = new Set<string>()
    const keys = new Set<string>()
    cfg.sites.forEach((s, i) => {
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['sites', i, 'id'], message: `duplicate site id "${s.id}"` })
      if (keys.has(s.publicKey.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['sites', i, 'publicKey'], message: 'key already enrolled for another site' })
      ids.add(s.id)
      keys.add(s.publicKey.toLowerCase())
    })
    const method = cfg.study.rewards?.method
    if (method !== undefined && method !== 'examples' && cfg.validationDataset === undefined)
      ctx.addIssue({ code: 'custom', path: ['validationDataset'], message: `is required: study.rewards.method "${method}" measures gains on the hub's validation set` })
    if (cfg.tls === undefined && !cfg.insecure && !isLoopbackHost(cfg.listen))
      ctx.addIssue({
        code: 'custom',
        path: ['listen'],
        message: `${cfg.listen} is not a loopback address and no tls is configured: updates would cross the network in the clear. Provision certificates (\`fedlineage provision\`) and set "tls": { "ca", "cert" }, or set "insecure": true on a network you trust for testing only`,
      })
    for (const use of ['listen', 'announce'] as const)
      cfg.p2p[use].forEach((addr, i) => {
        const problem = replicaAddressProblem(addr, use)
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['p2p', use, i], message: problem })
      })
    const { maxConnections, maxConnectionsPerAddress } = cfg.limits
    if (maxConnections !== undefined && maxConnectionsPerAddress !== undefined && maxConnectionsPerAddress > maxConnections)
      ctx.addIssue({
        code: 'custom',
        path: ['limits', 'maxConnectionsPerAddress'],
        message: `is ${maxConnectionsPerAddress}, more than limits.maxConnections (${maxConnections}); lower it or raise maxConnections`,
      })
    if (cfg.study.witnessPolicy !== undefined) {
      try {
        parseWitnessPolicy(cfg.study.witnessPolicy)
      } catch (err) {
        if (!(err instanceof WitnessPolicyInvalidError)) throw err
        ctx.addIssue({ code: 'custom', path: ['study', 'witnessPolicy'], message: `${err.message} (see https://c2sp.org/tlog-policy)` })
      }
    }
    if (cfg.study.minSites > cfg.sites.length) ctx.addIssue({ code: 'custom', path: ['study', 'minSites'], message: `is ${cfg.study.minSites} but only ${cfg.sites.length} sites are enrolled` })
  })

export type HubConfig = z.infer<typeof HubConfigSchema>
export type HubConfigInput = z.input<typeof HubConfigSchema>
export type { StudySpec }

/** Validates a config value; `source` names it in errors. Paths are resolved against `baseDir`. */
export function parseHubConfig(value: unknown, source: string, baseDir: string): HubConfig {
  const result = HubConfigSchema.safeParse(value)
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    throw new CoordinatorConfigError(lines.join('\n'))
  }
  const cfg = result.data
  const dataDir = path.resolve(baseDir, cfg.dataDir)
  return {
    ...cfg,
    dataDir,
    keyFile: path.resolve(baseDir, cfg.keyFile),
    ...(cfg.tls === undefined ? {} : { tls: { ca: path.resolve(baseDir, cfg.tls.ca), cert: path.resolve(baseDir, cfg.tls.cert) } }),
    ...(cfg.validationDataset === undefined ? {} : { validationDataset: path.resolve(baseDir, cfg.validationDataset) }),
  }
}

/** Reads and validates a hub config file. */
export async function loadHubConfig(file: string): Promise<HubConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new CoordinatorConfigError(`${file}: cannot read: ${(err as Error).message}`, { cause: err })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new CoordinatorConfigError(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  return parseHubConfig(value, path.basename(file), path.dirname(path.resolve(file)))
}

/** The config with `http.listen` set from `--http` (when given), checked like the file's field. */
export function withHttpListen(config: HubConfig, listen: string | undefined): HubConfig {
  if (listen === undefined) return config
  if (!/^[^\s:]+:\d{1,5}$/.test(listen)) throw new CoordinatorConfigError(`--http ${listen}: must be host:port, e.g. --http 127.0.0.1:8080`)
  return { ...config, http: { listen } }
}
