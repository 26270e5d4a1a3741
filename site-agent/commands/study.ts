/**
 * `fedlineage study review` and `fedlineage study approve`: a site's data
 * steward reads the spec a coordinator runs, with its hash, and signs an
 * approval of exactly that hash.
 *
 *   fedlineage study review --coordinator HOST:PORT [--tls-ca ca.crt --tls-cert site.crt --key site.key] [--json]
 *   fedlineage study review --config site.json
 *   fedlineage study approve --spec-hash HEX --config site.json --out approval.json
 *
 * `review` reads the spec from the public RoundStatus (no session, no
 * signed hello needed); the hash it prints is SHA-256 of the spec's canonical
 * bytes, the same bytes `study-created` logs. `approve` signs with the
 * site's key (`keyFile` of site.json) and writes the approval file, which
 * the site config names as `approval`.
 */
import type { CliIo } from '../../cli/index.ts'
import { decodeCanonical, fromHex, loadSigner, sha256, toHex } from '../../ledger/index.ts'
import { StudySpecSchema, inputWidth, modelShapes, type StudySpec } from '../../models/index.ts'
import { clientCredentials, loadPartyTls, TlsConfigError, transportMode, transportNotice } from '../../pki/index.ts'
import { signApproval, writeApprovalFile, type ApprovalFile } from '../approval.ts'
import { loadSiteConfig } from '../config.ts'
import { CoordinatorClient } from '../coordinator-client.ts'
import { siteCredentials } from '../credentials.ts'
import { SiteConfigError } from '../errors.ts'
import { parameterCount } from '../policy.ts'

export interface StudyReviewOptions {
  readonly coordinator?: string
  readonly config?: string
  readonly key?: string
  readonly tlsCa?: string
  readonly tlsCert?: string
  readonly insecure?: boolean
  readonly json?: boolean
}

export interface StudyReview {
  readonly spec: StudySpec
  /** SHA-256 of the spec's canonical bytes, hex. */
  readonly specHash: string
  readonly requireApproval: boolean
  /** Sites whose approval is logged, with the hash each approved. */
  readonly approvals: readonly { readonly site: string; readonly spec: string }[]
}

/** A client for `opts`: the site config's coordinator and TLS, or the flags. */
async function connect(opts: StudyReviewOptions, io: CliIo): Promise<CoordinatorClient> {
  if (opts.config !== undefined) {
    const config = await loadSiteConfig(opts.config)
    const credentials = await siteCredentials(config)
    return new CoordinatorClient(opts.coordinator ?? config.coordinator, credentials)
  }
  if (opts.coordinator === undefined) throw new SiteConfigError('give --coordinator HOST:PORT or --config site.json')
  const tls = opts.tlsCa !== undefined || opts.tlsCert !== undefined
  if (tls && (opts.tlsCa === undefined || opts.tlsCert === undefined || opts.key === undefined))
    throw new TlsConfigError("mutual TLS needs all three: --tls-ca (the study CA certificate), --tls-cert (the site's certificate) and --key (the site key it was issued for)")
  const mode = transportMode(opts.coordinator, tls, opts.insecure === true, '--coordinator')
  if (mode !== 'tls') io.stderr.write(`warning: ${transportNotice(mode).message}\n`)
  if (!tls) return new CoordinatorClient(opts.coordinator)
  return new CoordinatorClient(opts.coordinator, clientCredentials(await loadPartyTls({ ca: opts.tlsCa!, cert: opts.tlsCert!, keyFile: opts.key! })))
}

/** Fetches the running spec and its hash. */
export async function studyReview(opts: StudyReviewOptions, io: CliIo): Promise<StudyReview> {
  const client = await connect(opts, io)
  try {
    const status = await client.roundStatus(1)
    const bytes = new Uint8Array(status.studySpec)
    const spec = StudySpecSchema.parse(decodeCanonical(bytes))
    const review: StudyReview = {
      spec,
      specHash: toHex(sha256(bytes)),
      requireApproval: status.requireApproval,
      approvals: status.approvals.map((a) => ({ site: a.siteId, spec: toHex(a.specHash) })),
    }
    io.stdout.write(opts.json ? `${JSON.stringify(review, null, 2)}\n` : `${formatReview(review)}\n`)
    return review
  } finally {
    client.close()
  }
}

/** The spec in readable form, its hash, and the command that approves it. */
export function formatReview(r: StudyReview): string {
  const s = r.spec
  const parameters = parameterCount(modelShapes(s.model, inputWidth(s.data)))
  const features = s.data.features.map((f) => (f.type === 'categorical' ? `${f.name} (categorical: ${f.categories.join('/')})` : `${f.name} (${f.type})`))
  const lines = [
    `study "${s.id}"${s.title ? `: ${s.title}` : ''}`,
    `  model       ${s.model.kind === 'mlp' ? `mlp, hidden ${s.model.hidden.join('x')}, ${s.model.activation}` : s.model.kind}; ${parameters} parameters`,
    `  features    ${features.join(', ')}`,
    `  label       ${s.data.label.column} (positive: ${s.data.label.positive.join(', ')})`,
    `  training    ${s.training.optimizer}, learning rate ${s.training.learningRate}, batch ${s.training.batchSize}, ${s.training.localSteps} local steps per round`,
    `  strategy    ${Object.entries(s.strategy)
      .map(([k, v]) => (k === 'name' ? String(v) : `${k} ${String(v)}`))
      .join(', ')}`,
    `  rounds      ${s.rounds}, at least ${s.minSites} sites per round, round deadline ${s.roundDeadlineMs} ms`,
    `  rewards     ${s.rewards === undefined ? 'none' : JSON.stringify(s.rewards)}`,
    `  privacy     ${privacyLine(s)}`,
    `  consent     ${s.consent === undefined ? 'not required: every record is used' : `required for purpose ${s.consent.purpose}`}`,
    `  approval    ${r.requireApproval ? 'required: sites train only after their approval is logged' : 'not required by the study'}; logged: ${r.approvals.length === 0 ? 'none' : r.approvals.map((a) => a.site).join(', ')}`,
    '',
    `spec hash ${r.specHash}`,
    `approve it with: fedlineage study approve --spec-hash ${r.specHash} --config site.json --out approval.json`,
  ]
  return lines.join('\n')
}

/** What the study promises of differential privacy: site-level DP at the coordinator, and whether it requires patient-level DP-SGD of every site. */
function privacyLine(s: StudySpec): string {
  const site =
    s.dp === undefined ? 'no site-level DP' : `site-level DP (σ ${s.dp.noiseMultiplier}, clip ${s.dp.clipNorm}, δ ${s.dp.delta}${s.dp.epsilon === undefined ? '' : `, budget ε ${s.dp.epsilon}`})`
  const patient =
    s.patientDp === undefined
      ? 'patient-level DP-SGD left to each site (policy.dpSgd)'
      : `patient-level DP-SGD required of every site at ε <= ${s.patientDp.maxEpsilon}, δ <= ${s.patientDp.maxDelta} (set policy.dpSgd)`
  return `${site}; ${patient}`
}

export interface StudyApproveOptions {
  readonly specHash: string
  readonly config: string
  readonly out: string
}

/** Signs the approval of `specHash` with the site's key and writes the approval file. */
export async function studyApprove(opts: StudyApproveOptions, io: CliIo, nowMs: number = Date.now()): Promise<ApprovalFile> {
  let hash: Uint8Array
  try {
    hash = fromHex(opts.specHash.trim().toLowerCase(), 32)
  } catch (err) {
    throw new SiteConfigError(`--spec-hash ${JSON.stringify(opts.specHash)}: want the 64 hex digits \`fedlineage study review\` prints`, { cause: err })
  }
  const config = await loadSiteConfig(opts.config)
  const signer = await loadSigner(config.keyFile)
  const file = await writeApprovalFile(opts.out, signApproval(signer, config.study, config.siteId, hash, nowMs))
  io.stdout.write(
    `site "${config.siteId}" approves spec ${file.spec} of study "${config.study}": wrote ${opts.out}\nset "approval": "${opts.out}" in ${opts.config}; the agent submits it to be logged at its next hello\n`,
  )
  return file
}
