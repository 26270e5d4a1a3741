/**
 * A site's config file (`site.json`): who the site is, which study it agreed
 * to join, where the coordinator is, where its local records are, and where
 * it may write (`stateDir`). Paths are resolved against the config file's
 * folder. Errors name file and field.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { SiteConfigError } from './errors.ts'
import { isLoopbackHost } from '../pki/index.ts'
import { replicaAddressProblem } from '../ledger/index.ts'
import { FhirRecordMappingSchema } from './consent/fhir-records.ts'
import { SitePolicySchema } from './policy.ts'

const DataSourceSchema = z.union([
  z.strictObject({
    /** One CSV; a stratified, seeded split holds out a validation part. */
    file: z.string().min(1),
    /** Share of the records held out for validation, per class (a stratified split). */
    validationFraction: z.number().gt(0).lt(1).default(0.2),
    /** Seed of the split's shuffle: the same seed gives the same split. */
    splitSeed: z.number().int().nonnegative().default(1),
  }),
  z.strictObject({
    /** Separate train and validation CSVs (e.g. FLamby's fixed split). */
    train: z.string().min(1),
    /** The validation CSV: evaluation reports are measured on it. */
    validation: z.string().min(1),
  }),
  z.strictObject({
    /** A FHIR R4 Bundle of Patient + Observation resources (JSON). */
    fhirBundle: z.string().min(1),
    /** Which LOINC codes (and Patient fields) fill which schema columns; see site-agent/consent/fhir-records.ts. */
    mapping: FhirRecordMappingSchema,
    /** Share of the records held out for validation, per class (a stratified split). */
    validationFraction: z.number().gt(0).lt(1).default(0.2),
    /** Seed of the split's shuffle: the same seed gives the same split. */
    splitSeed: z.number().int().nonnegative().default(1),
  }),
])

export const SiteConfigSchema = z.strictObject({
  /** The site's id, as the hub enrolled it. */
  siteId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, _ . -'),
  /** The study this site agreed to join; the agent refuses any other. */
  study: z.string().min(1),
  /** The coordinator's gRPC address, host:port (the host its TLS certificate names). */
  coordinator: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port'),
  /** The site's Ed25519 key file (`fedlineage keygen`): it signs every update and report, and is the site's TLS key. */
  keyFile: z.string().min(1),
  /** Where the site's records are: one CSV, a train and a validation CSV, or a FHIR R4 Bundle. */
  data: DataSourceSchema,
  /** TF.js backend: auto tries tfjs-node, then WASM, then plain JS. */
  backend: z.enum(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'),
  /**
   * The folder the agent writes to: the global model it works on and its
   * delta before upload (`<stateDir>/<siteId>-models`, one model and one delta
   * at a time, so the agent's memory holds neither: at most the model's size
   * twice on disk), its replica of the log (`<stateDir>/<siteId>-replica`)
   * and its consent rounds (`<replica>-consent`), unless `p2p.dataDir` or
   * `consent.roundsDir` say otherwise, and in a SCAFFOLD study its control
   * variate (`<stateDir>/<siteId>-control-variate-<studyId>-<spec hash, 16 hex>.cbor`). Default: the config file's folder. Set
   * it when the config is read-only (the container image mounts `/config`
   * read-only and `/state` writable: `"stateDir": "/state"`).
   */
  stateDir: z.string().min(1).optional(),
  /**
   * The site's replica of the lineage log, synced over libp2p from the
   * coordinator. The site dials out to the coordinator's announced
   * addresses, so it needs no inbound port unless other replicas (an
   * auditor's `--peer`) dial it: then listen on a fixed port and announce it.
   */
  p2p: z
    .strictObject({
      /** Keep a verified replica of the log; without it tasks cannot be checked against the log. */
      enabled: z.boolean().default(true),
      /** Multiaddrs the replica's libp2p node listens on. */
      listen: z.array(z.string().min(1)).min(1).default(['/ip4/127.0.0.1/tcp/0']),
      /** Multiaddrs other replicas are told to dial instead of the bound ones (DNS name, NAT-mapped address). Default: as bound. */
      announce: z.array(z.string().min(1)).default([]),
      /** Replicas to dial besides the coordinator's (which the site learns at hello). */
      peers: z.array(z.string().min(1)).default([]),
      /** LevelDB folder of the replica (relative to the config's folder); default `<siteId>-replica` in `stateDir`. */
      dataDir: z.string().min(1).optional(),
      /**
       * How long a task waits for the verified replica to show what it names
       * (its round's opening, the model to evaluate, the round's credit)
       * before the site refuses it.
       */
      verifyTimeoutMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  /**
   * Mutual TLS (`fedlineage provision`): the study CA certificate the site
   * trusts, and the site's certificate, which carries the key in `keyFile`.
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
   * The site's signed approval of a study spec (`fedlineage study approve
   * --out`): the agent trains and reports only under the spec whose hash it
   * names, and submits it to be logged. Any other spec is refused
   * (SITE_SPEC_UNAPPROVED) until reviewed and approved anew.
   */
  approval: z.string().min(1).optional(),
  /** What this site allows to leave (policy.ts): record floors, rounds, models, strategies. */
  policy: SitePolicySchema,
  /** Plaintext gRPC to a non-loopback coordinator: for a trusted test network only. */
  insecure: z.boolean().default(false),
  /** How long to keep retrying an unreachable coordinator before giving up. */
  reconnectTimeoutMs: z.number().int().positive().default(120_000),
  /**
   * The site's own read-only Prometheus port (`/metrics`): training time and
   * examples, uploads by outcome, evaluations, reconnects. Off unless set (or
   * `fedlineage site --metrics host:port`); it carries counts, never records.
   */
  metrics: z
    .strictObject({
      /** host:port to bind; port 0 picks a free one (printed on start). */
      listen: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port'),
    })
    .optional(),
  /**
   * Run a C2SP witness (tlog-witness) beside the agent, with the site's key:
   * it cosigns the study log's checkpoints that the coordinator submits to
   * it, never a smaller or inconsistent tree. The study's `witnessPolicy`
   * names it by its verifier key and URL (the agent logs both at start).
   * Off unless set.
   */
  witness: z
    .strictObject({
      /** host:port of its HTTP service (POST /add-checkpoint); port 0 picks a free one (logged). */
      listen: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port'),
      /**
       * The log's checkpoint verifier key (`name+keyid+base64`), from the hub
       * out of band. Default: the coordinator key the site learns at hello,
       * under the study's origin (the key its replica already checks against).
       */
      log: z.string().min(1).optional(),
      /** Folder of the witness's state; default `<siteId>-witness` in `stateDir`. Never delete it while the key is in use. */
      stateDir: z.string().min(1).optional(),
    })
    .optional(),
  /**
   * Deadline of one call to the coordinator (hello, evaluation report…);
   * model transfers get proportionally longer (coordinator-client.ts). Raise
   * it where many sites share one machine or one event loop: a call that
   * misses it costs a reconnect.
   */
  requestTimeoutMs: z.number().int().positive().default(10_000),
  /**
   * The site's consents, for studies that require consent (`study.consent`):
   * each round the agent trains only on records whose patient's consent is
   * valid at the round's time. Ignored (with a warning) in a study without consent.
   */
  consent: z
    .strictObject({
      /** The consent store file (`fedlineage consent import --store`); re-read when it changes. */
      store: z.string().min(1),
      /** The pseudonym secret (64 hex digits, mode 0600), created by the first `fedlineage consent import`. */
      secretFile: z.string().min(1),
      /** The purpose consents must cover; when given, it must equal the study's `consent.purpose`. */
      purpose: z
        .string()
        .regex(/^[\x21-\x7e]{1,128}$/, 'must be a purpose code such as HRESCH')
        .optional(),
      /** Public keys (64 hex) of the consent authorities whose signed receipts the site trusts: listed, never inferred. */
      authorities: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be an Ed25519 public key as 64 hex digits')).min(1),
      /** Where the site keeps each round's consent leaves (for `fedlineage consent prove`); default `<p2p.dataDir>-consent`. */
      roundsDir: z.string().min(1).optional(),
    })
    .optional(),
})

export type SiteConfig = z.infer<typeof SiteConfigSchema>
export type SiteConfigInput = z.input<typeof SiteConfigSchema>
export type SiteDataSource = SiteConfig['data']

export function parseSiteConfig(value: unknown, source: string, baseDir: string): SiteConfig {
  const result = SiteConfigSchema.safeParse(value)
  if (!result.success) {
    throw new SiteConfigError(result.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n'))
  }
  const cfg = result.data
  const addressProblems = (['listen', 'announce'] as const).flatMap((use) =>
    cfg.p2p[use].flatMap((addr, i) => {
      const problem = replicaAddressProblem(addr, use)
      return problem === undefined ? [] : [`${source}: p2p.${use}.${i}: ${problem}`]
    }),
  )
  if (addressProblems.length > 0) throw new SiteConfigError(addressProblems.join('\n'))
  if (cfg.tls === undefined && !cfg.insecure && !isLoopbackHost(cfg.coordinator))
    throw new SiteConfigError(
      `${source}: coordinator: ${cfg.coordinator} is not a loopback address and no tls is configured: the site's updates would cross the network in the clear. Ask the hub for the study CA certificate and a certificate for this site's key, and set "tls": { "ca", "cert" }; or set "insecure": true on a network you trust for testing only`,
    )
  const abs = (p: string) => path.resolve(baseDir, p)
  const data: SiteDataSource =
    'file' in cfg.data
      ? { ...cfg.data, file: abs(cfg.data.file) }
      : 'fhirBundle' in cfg.data
        ? { ...cfg.data, fhirBundle: abs(cfg.data.fhirBundle) }
        : { train: abs(cfg.data.train), validation: abs(cfg.data.validation) }
  const stateDir = abs(cfg.stateDir ?? '.')
  const replicaDir = cfg.p2p.dataDir === undefined ? path.join(stateDir, `${cfg.siteId}-replica`) : abs(cfg.p2p.dataDir)
  const p2p = { ...cfg.p2p, dataDir: replicaDir }
  const consent = cfg.consent && {
    ...cfg.consent,
    store: abs(cfg.consent.store),
    secretFile: abs(cfg.consent.secretFile),
    roundsDir: abs(cfg.consent.roundsDir ?? `${replicaDir}-consent`),
  }
  const tls = cfg.tls && { ca: abs(cfg.tls.ca), cert: abs(cfg.tls.cert) }
  const approval = cfg.approval && abs(cfg.approval)
  const witness = cfg.witness && { ...cfg.witness, stateDir: cfg.witness.stateDir === undefined ? path.join(stateDir, `${cfg.siteId}-witness`) : abs(cfg.witness.stateDir) }
  return {
    ...cfg,
    stateDir,
    keyFile: abs(cfg.keyFile),
    data,
    p2p,
    ...(consent ? { consent } : {}),
    ...(tls ? { tls } : {}),
    ...(approval ? { approval } : {}),
    ...(witness ? { witness } : {}),
  }
}

export async function loadSiteConfig(file: string): Promise<SiteConfig> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new SiteConfigError(`${file}: ${(err as Error).message}`, { cause: err })
  }
  return parseSiteConfig(value, path.basename(file), path.dirname(path.resolve(file)))
}
