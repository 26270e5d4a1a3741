/**
 * `fedlineage demo --compose DIR`: writes what deploy/compose.yaml mounts for
 * the demo's study, a hub and three hospital sites, each in its own
 * container, and exits. Each party's files sit in the folders its container
 * mounts, and every config names paths as the container sees them:
 *
 *   DIR/hub/                    → hub   /config (read-only): hub.json, hub.key, ca.crt,
 *                                        coordinator.crt, hub.crt, hub-validation.fld
 *   DIR/sites/<id>/config/      → site  /config (read-only): site.json, approval.json, ca.crt, <id>.crt
 *   DIR/sites/<id>/keys/        → site  /keys   (read-only): <id>.key, the consent pseudonym secret
 *   DIR/sites/<id>/data/        → site  /data   (read-only): the cohort CSV and the consent store
 *   DIR/sites/<id>/consent-office/, DIR/pki/ (the study CA key), DIR/auditor/: never mounted
 *
 * What the containers write goes to named volumes: the hub's log in
 * /var/lib/fedlineage, each site's replica and consent rounds in /state.
 *
 * One process makes every party's key here, which only a demo may do: in a
 * real study each site runs `fedlineage keygen` itself and sends the hub its
 * public key (README, "Running a study across machines").
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseHubConfig, type HubConfigInput } from '../coordinator/index.ts'
import { fromHex, loadSigner, writeIdentity } from '../ledger/index.ts'
import { CA_VALID_DAYS, PARTY_VALID_DAYS, provisionStudyKit } from '../pki/index.ts'
import { encodeSpec, specHash } from '../protocol/index.ts'
import { DEMO_SITES, cohortToCsv, generateCohort, prepareDatasetFile, signApproval, writeApprovalFile, writeSyntheticSite, type SiteConfigInput } from '../site-agent/index.ts'
import { STUDY_ID, demoStudy, importDemoConsents } from './demo-study.ts'

/** The compose service (and host name) of the coordinator; sites dial it by this name. */
export const HUB_SERVICE = 'hub'
export const GRPC_PORT = 50051
export const P2P_PORT = 4001
/** How many of the demo's hospitals the compose study runs. */
export const COMPOSE_SITES = 3

export interface ComposeKit {
  readonly dir: string
  readonly sites: readonly string[]
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw err
  }
}

/** Writes the compose study into `dir` (which must be empty or absent: a kit's keys are never overwritten). */
export async function writeComposeKit(dir: string, rounds: number): Promise<ComposeKit> {
  dir = path.resolve(dir)
  if (!(await isEmptyOrMissing(dir)))
    throw new Error(`${dir} is not empty: it holds a study's keys. To start a new study, remove it and the containers' volumes (docker compose down -v), then run this again`)
  const hubDir = path.join(dir, 'hub')
  const hub = await writeIdentity(hubDir, 'hub')
  const auditor = await writeIdentity(path.join(dir, 'auditor'), 'auditor')
  const sites = await Promise.all(
    DEMO_SITES.slice(0, COMPOSE_SITES).map(async (site) => {
      const root = path.join(dir, 'sites', site.siteId)
      const keys = path.join(root, 'keys')
      const identity = await writeIdentity(keys, site.siteId)
      const { trainCsv } = await writeSyntheticSite(path.join(root, 'data'), site, { patientIds: true })
      const consent = await importDemoConsents({ authority: path.join(root, 'consent-office'), keys, data: path.join(root, 'data') }, site.siteId, site.size)
      await mkdir(path.join(root, 'config'), { recursive: true })
      return { site, root, identity, trainCsv, consent }
    }),
  )

  // The study CA and one certificate per party; the coordinator's names the host the sites dial.
  const kit = await provisionStudyKit(
    path.join(dir, 'pki'),
    [
      { name: 'coordinator', role: 'coordinator', publicKey: fromHex(hub.publicKeyHex), hosts: [HUB_SERVICE, 'localhost', '127.0.0.1'] },
      { name: 'hub', role: 'hub', publicKey: fromHex(hub.publicKeyHex) },
      ...sites.map((s) => ({ name: s.site.siteId, role: 'site' as const, publicKey: fromHex(s.identity.publicKeyHex) })),
    ],
    { study: STUDY_ID, caValidDays: CA_VALID_DAYS, validDays: PARTY_VALID_DAYS },
  )
  for (const name of ['coordinator', 'hub']) await copyFile(kit.certs[name]!, path.join(hubDir, `${name}.crt`))
  await copyFile(kit.caCert, path.join(hubDir, 'ca.crt'))

  // The hub: listens on every interface of its container, announces its service name to the sites.
  const hubConfig: HubConfigInput = {
    study: demoStudy(rounds, auditor.publicKeyHex),
    validationDataset: 'hub-validation.fld',
    listen: `0.0.0.0:${GRPC_PORT}`,
    dataDir: '/var/lib/fedlineage/ledger',
    keyFile: 'hub.key',
    tls: { ca: 'ca.crt', cert: 'coordinator.crt' },
    p2p: { listen: [`/ip4/0.0.0.0/tcp/${P2P_PORT}`], announce: [`/dns4/${HUB_SERVICE}/tcp/${P2P_PORT}`] },
    sites: sites.map((s) => ({ id: s.site.siteId, publicKey: s.identity.publicKeyHex })),
    // No hub process starts rounds in compose: the coordinator opens each once the previous one is evaluated.
    autoAdvance: true,
  }
  const hubJson = path.join(hubDir, 'hub.json')
  await writeFile(hubJson, `${JSON.stringify(hubConfig, null, 2)}\n`)
  const hubCsv = path.join(hubDir, 'hub-validation.csv')
  await writeFile(hubCsv, cohortToCsv(generateCohort({ siteId: 'hub-validation', seed: 2026, size: 400 })))
  await prepareDatasetFile(hubJson, hubCsv, path.join(hubDir, 'hub-validation.fld'))

  // Each site: its data steward's approval of this exact spec, and its config in container paths.
  const spec = specHash(encodeSpec(parseHubConfig(hubConfig, 'hub.json', '/config').study))
  for (const s of sites) {
    const config = path.join(s.root, 'config')
    await copyFile(kit.caCert, path.join(config, 'ca.crt'))
    await copyFile(kit.certs[s.site.siteId]!, path.join(config, `${s.site.siteId}.crt`))
    await writeApprovalFile(path.join(config, 'approval.json'), signApproval(await loadSigner(s.identity.keyFile), STUDY_ID, s.site.siteId, spec, Date.now()))
    const siteConfig: SiteConfigInput = {
      siteId: s.site.siteId,
      study: STUDY_ID,
      coordinator: `${HUB_SERVICE}:${GRPC_PORT}`,
      keyFile: `/keys/${path.basename(s.identity.keyFile)}`,
      tls: { ca: 'ca.crt', cert: `${s.site.siteId}.crt` },
      approval: 'approval.json',
      data: { file: `/data/${path.basename(s.trainCsv)}`, validationFraction: 0.25, splitSeed: 11 },
      consent: { store: `/data/${path.basename(s.consent.store)}`, secretFile: `/keys/${path.basename(s.consent.secret)}`, authorities: [s.consent.authority] },
      // /config is read-only: the replica and the consent rounds go to the writable state volume.
      stateDir: '/state',
    }
    await writeFile(path.join(config, 'site.json'), `${JSON.stringify(siteConfig, null, 2)}\n`)
  }
  return { dir, sites: sites.map((s) => s.site.siteId) }
}
