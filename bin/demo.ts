/**
 * `fedlineage demo` (what `npm start` runs): a real federation on this
 * machine. One coordinator and four hospital site agents run as separate
 * processes on 127.0.0.1, each site on its own synthetic cohort; this process
 * plays the research hub, starting each round with a signed request and
 * printing a live table; at the end it verifies the coordinator's log.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { HubClient, NOISE_SEEDS_FILE, formatConsentTable, formatRoundHeader, formatRoundRow, rewardsOf, roundRow, secAggRoundsOf, type HubConfigInput } from '../coordinator/index.ts'
import type { RoundStatusResponse__Output } from '../protos/index.ts'
import { Ledger, checkpointVerifierKey, cosignatureVerifierKey, fromHex, loadSigner, logOrigin, mirrorLog, openLevelStorage, toHex, verifyLog, writeIdentity } from '../ledger/index.ts'
import { CA_VALID_DAYS, PARTY_VALID_DAYS, clientCredentials, loadPartyTls, provisionStudyKit } from '../pki/index.ts'
import { DEMO_SITES, cohortToCsv, generateCohort, prepareDatasetFile, studyApprove, studyReview, writeSyntheticSite, type SiteConfigInput } from '../site-agent/index.ts'
import { PassThrough } from 'node:stream'
import { STUDY_ID, demoDp, demoStudy, importDemoConsents } from './demo-study.ts'
import { writeComposeKit } from './compose-kit.ts'

const BIN = fileURLToPath(new URL('./fedlineage.mjs', import.meta.url))

/** Loopback ports free right now: the witness policy names each site's witness URL before the sites start. */
async function freeLoopbackPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer()
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((server) => (server.address() as AddressInfo).port)
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}
export interface DemoOptions {
  readonly rounds: number
  readonly dir?: string
  /** Write deploy/compose.yaml's study into this folder instead of running the demo. */
  readonly compose?: string
  /** Keep the coordinator (and its dashboard) up this many seconds after the study and its audit. */
  readonly keepDashboard?: number
  /** Run site-level DP-FedAvg with this total ε (δ 1e-5); the auditor is given the noise seeds. */
  readonly dp?: number
  /** Run secure aggregation: the hub sees only the sum of the sites' masked deltas; with `dp`, the sites add the noise. */
  readonly secagg?: boolean
}

/** `demo --compose DIR`: writes the compose study and says what to run next. */
export async function writeComposeStudy(dir: string, rounds: number): Promise<void> {
  const kit = await writeComposeKit(dir, rounds)
  process.stdout.write(
    `compose study written to ${kit.dir}: the hub and ${kit.sites.length} sites (${kit.sites.join(', ')}), ${rounds} rounds\n` +
      'the containers run as uid 1000: if that is not you, run `sudo chown -R 1000:1000` on that folder\n' +
      'next: docker compose -f deploy/compose.yaml up --build\n',
  )
}

function launch(args: string[], logFile: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEDLINEAGE_LOG_LEVEL: process.env['FEDLINEAGE_LOG_LEVEL'] ?? 'info' } })
  const log = createWriteStream(logFile)
  child.stdout!.pipe(log, { end: false })
  child.stderr!.pipe(log, { end: false })
  return child
}

/** `fedlineage audit <args>` as a separate process (the auditor knows only what its arguments say); its output goes to `logFile` too. */
async function runAuditor(args: readonly string[], logFile: string): Promise<{ code: number | null; out: string }> {
  const audit = spawn(process.execPath, [BIN, 'audit', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  audit.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  audit.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const code = await exited(audit, 120_000)
  await writeFile(logFile, out)
  return { code, out }
}

/** The audit's verdict: its last `audit …` or `CODE: message` line. */
function verdictOf(run: { code: number | null; out: string }): string {
  return (
    run.out
      .trim()
      .split('\n')
      .filter((l) => /^audit |^AUDIT_|^[A-Z_]+: /.test(l))
      .pop() ?? `auditor exited with ${run.code}`
  )
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(null)
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}

/** Resolves with the gRPC address and the log replica's multiaddr the coordinator prints once it listens. */
function listeningAddress(child: ChildProcess, timeoutMs: number): Promise<{ grpc: string; replica: string; dashboard: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coordinator did not start within ${timeoutMs} ms`)), timeoutMs)
    const lines = createInterface({ input: child.stdout! })
    let grpc: string | undefined
    let replica: string | undefined
    lines.on('line', (line) => {
      const g = /^coordinator listening on (\S+)/.exec(line)
      if (g) grpc = g[1]
      const r = /^log replica on (\S+)/.exec(line)
      if (r && grpc) replica ??= r[1]
      // The dashboard line follows the replica's (coordinator --http).
      const d = /^dashboard on (\S+)/.exec(line)
      if (d && grpc && replica) {
        clearTimeout(timer)
        resolve({ grpc, replica, dashboard: d[1]! })
      }
    })
    child.once('exit', (code) => reject(new Error(`coordinator exited with code ${code} before listening`)))
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runDemo(opts: DemoOptions): Promise<void> {
  if (opts.dp !== undefined && !(Number.isFinite(opts.dp) && opts.dp > 0)) throw new Error(`--dp ${opts.dp}: want the privacy budget ε, a number > 0 (e.g. --dp 30)`)
  const started = Date.now()
  const dir = opts.dir ? path.resolve(opts.dir) : await mkdtemp(path.join(os.tmpdir(), 'fedlineage-demo-'))
  await mkdir(path.join(dir, 'keys'), { recursive: true })
  await mkdir(path.join(dir, 'data'), { recursive: true })
  await mkdir(path.join(dir, 'logs'), { recursive: true })
  process.stdout.write(`fedlineage demo in ${dir}\n`)

  // 1. Identities: the hub (which also signs the log) and one key per hospital.
  const hub = await writeIdentity(path.join(dir, 'keys'), 'hub', { force: true })
  // The regulator the study names as its auditor: replicas serve it every delta, and no one else but the coordinator.
  const auditor = await writeIdentity(path.join(dir, 'keys'), 'auditor', { force: true })
  const sites = await Promise.all(
    DEMO_SITES.map(async (site) => ({
      site,
      identity: await writeIdentity(path.join(dir, 'keys'), site.siteId, { force: true }),
      csv: (await writeSyntheticSite(path.join(dir, 'data'), site, { patientIds: true })).trainCsv,
      consent: await importDemoConsents({ authority: path.join(dir, 'keys'), keys: path.join(dir, 'keys'), data: path.join(dir, 'data') }, site.siteId, site.size),
    })),
  )

  // 1b. The study CA and a certificate per party, each for the party's enrolled key: gRPC runs over mutual TLS.
  const kit = await provisionStudyKit(
    path.join(dir, 'keys'),
    [
      { name: 'coordinator', role: 'coordinator', publicKey: fromHex(hub.publicKeyHex), hosts: ['localhost', '127.0.0.1'] },
      { name: 'hub', role: 'hub', publicKey: fromHex(hub.publicKeyHex) },
      ...sites.map((s) => ({ name: s.site.siteId, role: 'site' as const, publicKey: fromHex(s.identity.publicKeyHex) })),
    ],
    { study: STUDY_ID, caValidDays: CA_VALID_DAYS, validDays: PARTY_VALID_DAYS },
  )
  const tls = { ca: path.relative(dir, kit.caCert), certs: Object.fromEntries(Object.entries(kit.certs).map(([k, v]) => [k, path.relative(dir, v)])) }
  process.stdout.write(`gRPC over mutual TLS: study CA in ${path.dirname(kit.caCert)}, one certificate per party for its enrolled key\n`)

  // 2. The hub's own validation cohort, on which rewards are measured (it never leaves the hub's machine either).
  const hubCsv = path.join(dir, 'data', 'hub-validation.csv')
  await writeFile(hubCsv, cohortToCsv(generateCohort({ siteId: 'hub-validation', seed: 2026, size: 400 })))

  // 2b. Each hospital runs a C2SP witness beside its site agent, with its site key; the study's
  //     tlog-policy asks three of the four to cosign a checkpoint before the audit accepts it.
  const witnessPorts = await freeLoopbackPorts(sites.length)
  const names = sites.map((s) => s.site.siteId.replace(/[^A-Za-z0-9_.-]/g, '-'))
  const witnessPolicy = [
    `log ${checkpointVerifierKey(logOrigin(STUDY_ID), fromHex(hub.publicKeyHex))}`,
    ...sites.map((s, i) => `witness ${names[i]} ${cosignatureVerifierKey(fromHex(s.identity.publicKeyHex))} http://127.0.0.1:${witnessPorts[i]}`),
    `group hospitals 3 ${names.join(' ')}`,
    'quorum hospitals',
    '',
  ].join('\n')
  process.stdout.write(`witness policy (c2sp.org/tlog-policy), part of the study spec:\n${witnessPolicy.replace(/^/gm, '  ').trimEnd()}\n`)

  // 3. The study, as the hub defines it.
  const hubConfig: HubConfigInput = {
    study: demoStudy(opts.rounds, auditor.publicKeyHex, witnessPolicy, opts.dp, opts.secagg === true),
    validationDataset: 'data/hub-validation.fld',
    listen: '127.0.0.1:0',
    dataDir: 'ledger',
    keyFile: 'keys/hub.key',
    tls: { ca: tls.ca, cert: tls.certs.coordinator! },
    sites: sites.map((s) => ({ id: s.site.siteId, publicKey: s.identity.publicKeyHex })),
  }
  await writeFile(path.join(dir, 'hub.json'), JSON.stringify(hubConfig, null, 2))
  await prepareDatasetFile(path.join(dir, 'hub.json'), hubCsv, path.join(dir, 'data', 'hub-validation.fld'))

  const children: ChildProcess[] = []
  const killAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'))
  process.once('SIGINT', () => {
    killAll()
    process.exit(130)
  })
  try {
    // 4. The coordinator, then the four sites, each its own process.
    const coordinator = launch(['coordinator', '--config', path.join(dir, 'hub.json'), '--http', '127.0.0.1:0'], path.join(dir, 'logs', 'coordinator.log'))
    children.push(coordinator)
    const { grpc: listening, replica, dashboard } = await listeningAddress(coordinator, 30_000)
    process.stdout.write(`dashboard on ${dashboard} (live while the demo runs; --keep-dashboard SECONDS keeps it after), Prometheus metrics on ${dashboard}metrics\n`)
    // Clients dial the certificate's host name, not the IP: TLS servernames are names (RFC 6066).
    const address = listening.replace(/^127\.0\.0\.1:/, 'localhost:')
    process.stdout.write(`coordinator listening on ${address}, log replica on ${replica}; starting ${sites.length} site agents\n`)
    for (const s of sites) {
      const siteConfig: SiteConfigInput = {
        siteId: s.site.siteId,
        study: STUDY_ID,
        coordinator: address,
        keyFile: path.relative(dir, s.identity.keyFile),
        tls: { ca: tls.ca, cert: tls.certs[s.site.siteId]! },
        data: { file: path.relative(dir, s.csv), validationFraction: 0.25, splitSeed: 11 },
        consent: { store: path.relative(dir, s.consent.store), secretFile: path.relative(dir, s.consent.secret), authorities: [s.consent.authority] },
        witness: { listen: `127.0.0.1:${witnessPorts[sites.indexOf(s)]}` },
      }
      const file = path.join(dir, `site-${s.site.siteId}.json`)
      await writeFile(file, JSON.stringify(siteConfig, null, 2))
      // The site's data steward reviews the spec the coordinator runs and approves its hash.
      const quiet = { stdout: new PassThrough(), stderr: new PassThrough(), setExitCode: () => undefined }
      const review = await studyReview({ config: file }, quiet)
      const approval = path.join(dir, `approval-${s.site.siteId}.json`)
      await studyApprove({ specHash: review.specHash, config: file, out: approval }, quiet)
      await writeFile(file, JSON.stringify({ ...siteConfig, approval: path.relative(dir, approval) }, null, 2))
      if (s === sites[0]) process.stdout.write(`each site's data steward reviewed the spec and approved its hash ${review.specHash.slice(0, 16)}… (fedlineage study review / study approve)\n`)
      children.push(launch(['site', '--config', file], path.join(dir, 'logs', `site-${s.site.siteId}.log`)))
    }

    // 5. This process is the hub: start each round, print it once evaluated.
    const client = new HubClient(address, clientCredentials(await loadPartyTls({ ca: path.join(dir, tls.ca), cert: path.join(dir, tls.certs.hub!), keyFile: hub.keyFile })))
    const hubSigner = await loadSigner(hub.keyFile)
    process.stdout.write('\n' + formatRoundHeader() + '\n')
    let printed = -1
    const printReady = async (): Promise<{ done: boolean; lastEvaluated: number }> => {
      const status = await client.status()
      let lastEvaluated = -1
      for (const r of status.rounds) {
        const round = Number(r.round)
        const ready = round === 0 ? r.evaluations.length >= sites.length || status.rounds.length > 1 : r.state === 'evaluated'
        if (!ready) break
        lastEvaluated = round
        if (round > printed) {
          process.stdout.write(formatRoundRow(roundRow(r)) + '\n')
          printed = round
        }
      }
      return { done: status.done, lastEvaluated }
    }
    // Round 0: every site has joined and scored the initial model.
    for (const until = Date.now() + 120_000; (await printReady()).lastEvaluated < 0; await sleep(100))
      if (Date.now() > until || coordinator.exitCode !== null) throw new Error(`sites did not all join; see ${path.join(dir, 'logs')}`)
    for (let round = 1; round <= opts.rounds; round++) {
      await client.startNextRound(hubSigner)
      for (;;) {
        const { lastEvaluated } = await printReady()
        if (lastEvaluated >= round) break
        if (coordinator.exitCode !== null) throw new Error('the coordinator exited; see logs/coordinator.log')
        await sleep(100)
      }
    }
    while (!(await printReady()).done) await sleep(100)
    const finalStatus: RoundStatusResponse__Output | undefined = await client.status().catch(() => undefined)
    client.close()

    // 6. Sites leave on their own once told the study is done, each with a verified replica of the log.
    const siteCodes = await Promise.all(children.slice(1).map((c) => exited(c, 60_000)))
    if (siteCodes.some((c) => c !== 0)) process.stdout.write(`warning: site agents exited with ${siteCodes.join(', ')}; see ${path.join(dir, 'logs')}\n`)

    // 7. The study's auditor, as a separate process that knows only the replica's multiaddr and its
    //    own key, joins as a fresh replica, syncs the log and the blobs over libp2p, and re-derives
    //    every model. Replicas serve the sites' deltas to it because the study names its key.
    // A DP study's noise seeds stay with the coordinator; the demo hands them to its authorised auditor, who then re-derives every noised model.
    // Under secure aggregation the sites add the noise: the coordinator draws no seeds.
    const dpSeeds = opts.dp === undefined || opts.secagg === true ? [] : ['--dp-seeds', path.join(dir, 'ledger', NOISE_SEEDS_FILE)]
    const { code: auditCode, out: auditOut } = await runAuditor(
      ['--peer', replica, '--key', auditor.keyFile, ...dpSeeds, '--report', path.join(dir, 'audit.json'), '--html', path.join(dir, 'audit.html')],
      path.join(dir, 'logs', 'audit.log'),
    )
    // 7b. The same log as C2SP tlog-tiles on the dashboard's port: mirrored into a store of its own,
    //     the checkpoint's signature, every tile and every entry checked on the way.
    const mirror = await Ledger.open(await openLevelStorage(path.join(dir, 'mirror')))
    try {
      const m = await mirrorLog({ url: dashboard, logKey: fromHex(hub.publicKeyHex), origin: logOrigin(STUDY_ID), into: mirror })
      process.stdout.write(
        `log mirrored from its tiles (${dashboard}checkpoint, ${dashboard}tile/…): ${m.checkpoint.size} entries; ${m.bundles} entry bundles and ${m.tiles} tiles checked against the signed checkpoint\n`,
      )
    } finally {
      await mirror.close()
    }
    // 7c. The auditor again, now from the tiles mirror alone: the entries came over HTTP, the models and
    //     deltas (not part of tlog-tiles) from the coordinator's replica under the auditor's key.
    const tilesAudit = await runAuditor(
      ['--db', path.join(dir, 'mirror'), '--key', auditor.keyFile, '--fetch-from', replica, '--coordinator-key', hub.publicKeyHex, ...dpSeeds],
      path.join(dir, 'logs', 'audit-tiles-mirror.log'),
    )
    process.stdout.write(`the tiles mirror, audited: ${verdictOf(tilesAudit)}\n`)
    if (tilesAudit.code !== 0) throw new Error(`the audit of the tiles mirror failed: see ${path.join(dir, 'logs', 'audit-tiles-mirror.log')}`)
    if (opts.keepDashboard !== undefined && opts.keepDashboard > 0) {
      process.stdout.write(`\nthe study is done; the dashboard stays up at ${dashboard} for ${opts.keepDashboard} s\n`)
      await sleep(opts.keepDashboard * 1000)
    }
    coordinator.kill('SIGTERM')
    await exited(coordinator, 15_000)

    // 8. Anyone holding a copy of the log can check it offline too: chain, signatures, head.
    const storage = await openLevelStorage(path.join(dir, 'ledger'))
    try {
      const verified = await verifyLog(storage)
      process.stdout.write(`\nlog verified: ${verified.entries} entries, head ${toHex(verified.headHash)}\n`)
      // The C2SP verifier key of the log: with it, any signed-note tool checks the checkpoints (fedlineage log checkpoint prints them).
      process.stdout.write(`log verifier key: ${checkpointVerifierKey(logOrigin(STUDY_ID), fromHex(hub.publicKeyHex))}\n`)
    } finally {
      await storage.close()
    }
    if (finalStatus) {
      const last = finalStatus.rounds.filter((r) => r.consent.length > 0).slice(-1)
      const table = formatConsentTable(last)
      if (table) process.stdout.write(`\nconsent in the last round: records each site trained on and left out; its signed envelope commits to the consent root\n${table}\n`)
    }
    if (opts.secagg === true) {
      const rounds = await secAggRoundsOf(path.join(dir, 'ledger'))
      const last = rounds.at(-1)
      process.stdout.write(
        `\nsecure aggregation: the coordinator saw only masked inputs; ${rounds.length} rounds each summed ${last?.survivors.length ?? 0} of them and unmasked the sum from the survivors' logged reveals (threshold t ${last?.t ?? '?'} of k ${last?.k ?? '?'} neighbours; ${rounds.reduce((n, r) => n + r.dropped.length, 0)} dropouts), and the audit re-derived every model from the masked inputs\n`,
      )
    }
    if (opts.dp !== undefined && opts.secagg === true) {
      const dp = demoDp(opts.dp, opts.rounds)
      process.stdout.write(
        `privacy: distributed DP under secure aggregation, each site clips its delta to L2 norm ${dp.clipNorm} and adds its share of discrete Gaussian noise, so the sum carries noise multiplier ≥ ${dp.noiseMultiplier.toFixed(3)}; ε ≤ ${dp.epsilon} at δ = ${dp.delta.toExponential()} over ${opts.rounds} rounds (each round's ε is in its commit)\n`,
      )
    } else if (opts.dp !== undefined) {
      const dp = demoDp(opts.dp, opts.rounds)
      process.stdout.write(
        `\nprivacy: site-level DP-FedAvg, each delta clipped to L2 norm ${dp.clipNorm}, Gaussian noise multiplier ${dp.noiseMultiplier.toFixed(3)} from a per-round seed the log commits to by hash; ε ≤ ${dp.epsilon} at δ = ${dp.delta.toExponential()} over ${opts.rounds} rounds (each round's ε is in its commit)\n`,
      )
    }
    const rewards = await rewardsOf(path.join(dir, 'ledger'))
    const paid =
      opts.secagg === true
        ? 'by examples, as the hub never sees a single delta under secure aggregation'
        : opts.dp === undefined
          ? "exact Shapley on the hub's validation set"
          : 'by examples, as DP studies pay no gain-based rewards'
    process.stdout.write(`\nreward balances (${paid}, 1000 credits a round, from the log):\n`)
    for (const b of rewards.balances) process.stdout.write(`  ${b.site.padEnd(22)} ${String(b.credits).padStart(6)} credits\n`)
    const verdict = verdictOf({ code: auditCode, out: auditOut })
    const witnessing = auditOut.split('\n').find((l) => l.startsWith('witnesses: '))
    if (witnessing !== undefined) process.stdout.write(`${witnessing}\n`)
    process.stdout.write(`${verdict}\n`)
    if (auditCode !== 0) throw new Error(`the audit failed: see ${path.join(dir, 'logs', 'audit.log')}`)
    process.stdout.write(`audit report to read and print: ${path.join(dir, 'audit.html')}\n`)
    process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s. Inspect: npx fedlineage audit --db ${path.join(dir, 'ledger')}\n`)
  } finally {
    killAll()
  }
}
