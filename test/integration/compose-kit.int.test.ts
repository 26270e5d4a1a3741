/**
 * deploy/compose.yaml and the study `fedlineage demo --compose` writes for
 * it. No Docker engine runs here, so the file is checked by reading it
 * against the images and the configs: every path a config names lies in a
 * volume its service mounts, inputs on read-only mounts and what the
 * programs write on named volumes; the names and ports the sites dial are
 * the hub's. Then the same study runs as the containers would run it, across
 * two network namespaces: the hub in one, the three sites in the other
 * (`hub` resolving to the hub's address), each process with its config,
 * key and data folders mounted read-only and its state in its own folder.
 *
 * The compose file is parsed with Python's yaml module (no YAML parser in
 * node_modules); without it, or without root and `ip netns` for the run, the
 * parts are skipped, with the reason in their names and printed.
 */
import { spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseHubConfig, type HubConfig } from '../../coordinator/index.ts'
import { parseSiteConfig, type SiteConfig } from '../../site-agent/index.ts'
import { createNetnsPair, exitedWithin, fedlineageIn, netnsSkipReason, verifiedHeadOf, waitForOutput, type NetnsPair, type NsProcess } from '../helpers/netns.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const COMPOSE_FILE = path.join(ROOT, 'deploy/compose.yaml')
const ROUNDS = 2

/** The compose file as JSON through Python's yaml module, or why it cannot be read here. */
function loadCompose(): { compose: Compose } | { skip: string } {
  const r = spawnSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)', COMPOSE_FILE], { encoding: 'utf8' })
  if (r.error) return { skip: `python3 is not installed (${r.error.message}): no YAML parser to read deploy/compose.yaml` }
  if (r.status !== 0 && /No module named .?yaml/.test(r.stderr)) return { skip: 'python3 has no yaml module (pip install pyyaml): no YAML parser to read deploy/compose.yaml' }
  if (r.status !== 0) throw new Error(`deploy/compose.yaml does not parse: ${r.stderr}`)
  return { compose: JSON.parse(r.stdout) as Compose }
}

interface Service {
  build?: { context: string; dockerfile: string }
  image?: string
  volumes?: string[]
  ports?: string[]
  read_only?: boolean
  tmpfs?: string[]
  cap_drop?: string[]
  user?: string
  networks?: string[]
}
interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
  networks?: Record<string, unknown>
}

/** One mount of a service: where it comes from on the host, where the container sees it. */
interface Mount {
  readonly target: string
  readonly readOnly: boolean
  /** A named volume (declared at the top level), else a bind mount of `source`. */
  readonly volume?: string
  readonly source: string
}

const parsed = loadCompose()
const yamlSkip = 'skip' in parsed ? parsed.skip : undefined
const netSkip = yamlSkip ?? netnsSkipReason()
if (yamlSkip) process.stderr.write(`compose-kit.int.test.ts: SKIPPED, ${yamlSkip}\n`)
else if (netSkip) process.stderr.write(`compose-kit.int.test.ts: the run across namespaces is SKIPPED, ${netSkip}\n`)

/** A service's mounts; `./study` is the generated study in `studyDir`, named volumes are folders in `volumesDir`. */
function mountsOf(service: Service, studyDir: string, volumesDir: string): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source, target, mode] = spec.split(':') as [string, string, string | undefined]
    const readOnly = mode === 'ro'
    if (source.startsWith('./') || source.startsWith('../')) {
      expect(source.startsWith('./study/'), `${spec}: bind mounts come from the generated study`).toBe(true)
      return { target, readOnly, source: path.join(studyDir, source.slice('./study/'.length)) }
    }
    return { target, readOnly, volume: source, source: path.join(volumesDir, source) }
  })
}

/** The mount a container path lies in (the deepest), and the path on the host. */
function onHost(mounts: readonly Mount[], containerPath: string): { mount: Mount; host: string } | undefined {
  const mount = mounts.filter((m) => containerPath === m.target || containerPath.startsWith(`${m.target}/`)).sort((a, b) => b.target.length - a.target.length)[0]
  return mount && { mount, host: path.join(mount.source, path.relative(mount.target, containerPath)) }
}

/** The image's Dockerfile instructions a check needs. */
async function imageOf(service: Service): Promise<{ config: string; volumes: string[]; expose: string[] }> {
  const dockerfile = await readFile(path.join(ROOT, service.build!.dockerfile), 'utf8')
  const cmd = JSON.parse(/^CMD\s+(.+)$/m.exec(dockerfile)![1]!) as string[]
  return {
    config: cmd[cmd.indexOf('--config') + 1]!,
    volumes: JSON.parse(/^VOLUME\s+(.+)$/m.exec(dockerfile)![1]!) as string[],
    expose: (/^EXPOSE\s+(.+)$/m.exec(dockerfile)?.[1] ?? '').split(/\s+/).filter(Boolean),
  }
}

/** Every file path a config reads, and every folder it writes, as the container sees them. */
function pathsOf(config: HubConfig | SiteConfig): { reads: [string, string][]; writes: [string, string][] } {
  if ('sites' in config)
    return {
      reads: [
        ['keyFile', config.keyFile],
        ['tls.ca', config.tls!.ca],
        ['tls.cert', config.tls!.cert],
        ...(config.validationDataset ? [['validationDataset', config.validationDataset] as [string, string]] : []),
      ],
      writes: [['dataDir', config.dataDir]],
    }
  return {
    reads: [
      ['keyFile', config.keyFile],
      ['tls.ca', config.tls!.ca],
      ['tls.cert', config.tls!.cert],
      ['approval', config.approval!],
      ['data.file', 'file' in config.data ? config.data.file : ''],
      ['consent.store', config.consent!.store],
      ['consent.secretFile', config.consent!.secretFile],
    ],
    writes: [
      ['p2p.dataDir', config.p2p.dataDir!],
      ['consent.roundsDir', config.consent!.roundsDir!],
    ],
  }
}

describe.skipIf(yamlSkip !== undefined)(`deploy/compose.yaml and its study${yamlSkip === undefined ? '' : ` [skipped: ${yamlSkip}]`}`, () => {
  const compose = 'compose' in parsed ? parsed.compose : ({ services: {} } as Compose)
  let dir = ''
  let studyDir = ''
  let volumesDir = ''
  let hubConfig: HubConfig
  const siteConfigs = new Map<string, SiteConfig>()

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-compose-'))
    studyDir = path.join(dir, 'study')
    volumesDir = path.join(dir, 'volumes')
    const made = spawnSync(process.execPath, [path.join(ROOT, 'bin/fedlineage.mjs'), 'demo', '--compose', studyDir, '--rounds', String(ROUNDS)], { encoding: 'utf8', timeout: 120_000 })
    if (made.status !== 0) throw new Error(`demo --compose failed: ${made.stdout}${made.stderr}`)
    for (const [name, service] of Object.entries(compose.services)) {
      const image = await imageOf(service)
      const file = onHost(mountsOf(service, studyDir, volumesDir), image.config)!.host
      const value: unknown = JSON.parse(await readFile(file, 'utf8'))
      if (name === 'hub') hubConfig = parseHubConfig(value, 'hub.json', path.posix.dirname(image.config))
      else siteConfigs.set(name, parseSiteConfig(value, 'site.json', path.posix.dirname(image.config)))
    }
  }, 150_000)

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('has the hub and one service per enrolled site, built from the two images, on one network', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['hub', ...hubConfig.sites.map((s) => s.id)].sort())
    expect(compose.services['hub']!.build!.dockerfile).toBe('coordinator/Dockerfile')
    for (const s of hubConfig.sites) {
      expect(compose.services[s.id]!.build!.dockerfile).toBe('site-agent/Dockerfile')
      expect(siteConfigs.get(s.id)!.siteId).toBe(s.id)
    }
    for (const service of Object.values(compose.services)) {
      expect(service.build!.context).toBe('..')
      expect(service.networks).toEqual(Object.keys(compose.networks ?? {}))
    }
  })

  it.each(['hub', 'city-general', 'heart-institute', 'valley-community'])('%s: mounts every volume its image declares, the config read-only and the state on a named volume', async (name) => {
    const service = compose.services[name]!
    const image = await imageOf(service)
    const mounts = mountsOf(service, studyDir, volumesDir)
    // Prepare: the container's view of each path its config names.
    const config = name === 'hub' ? hubConfig : siteConfigs.get(name)!
    const { reads, writes } = pathsOf(config)

    // Assert: no declared volume is left anonymous, and nothing else is writable (read-only root, no capabilities, not root).
    expect(mounts.map((m) => m.target).sort()).toEqual([...image.volumes].sort())
    expect(service.read_only).toBe(true)
    expect(service.tmpfs).toEqual(['/tmp'])
    expect(service.cap_drop).toEqual(['ALL'])
    expect(service.user).toBeUndefined()
    for (const m of mounts) {
      if (m.volume === undefined) expect(m.readOnly, `${m.target} is a bind mount of the study: read-only`).toBe(true)
      else expect(Object.keys(compose.volumes ?? {})).toContain(m.volume)
    }
    // Every file it reads exists in a mount; keys are the owner's alone.
    for (const [field, p] of reads) {
      const found = onHost(mounts, p)
      expect(found, `${name}: ${field} ${p} is in no mount`).toBeDefined()
      const info = await stat(found!.host)
      expect(info.isFile(), `${name}: ${field} ${p} → ${found!.host}`).toBe(true)
      if (/key|secret/i.test(field)) expect(info.mode & 0o077, `${name}: ${field} is readable by others`).toBe(0)
    }
    // Every folder it writes is on a writable named volume.
    for (const [field, p] of writes) {
      const found = onHost(mounts, p)
      expect(found?.mount.volume, `${name}: ${field} ${p} is not on a named volume`).toBeDefined()
      expect(found!.mount.readOnly).toBe(false)
    }
  })

  it('gives the sites the hub by its service name, on the ports the hub listens on, publishes and its image exposes', async () => {
    const hub = compose.services['hub']!
    const grpcPort = hubConfig.listen.slice(hubConfig.listen.lastIndexOf(':') + 1)
    const p2pPort = /\/tcp\/(\d+)$/.exec(hubConfig.p2p.listen[0]!)![1]!
    expect(hubConfig.listen.startsWith('0.0.0.0:')).toBe(true)
    expect(hubConfig.p2p.announce).toEqual([`/dns4/hub/tcp/${p2pPort}`])
    expect(hub.ports!.map((p) => p.split(':').pop())).toEqual([grpcPort, p2pPort])
    expect((await imageOf(hub)).expose).toEqual([grpcPort, p2pPort])
    for (const site of siteConfigs.values()) expect(site.coordinator).toBe(`hub:${grpcPort}`)
    // The coordinator's certificate names the host the sites dial, so TLS checks it.
    const cert = new X509Certificate(await readFile(onHost(mountsOf(hub, studyDir, volumesDir), hubConfig.tls!.cert)!.host))
    expect(cert.checkHost('hub')).toBe('hub')
  })

  describe.skipIf(netSkip !== undefined)(`run as the containers would, across two network namespaces${netSkip === undefined ? '' : ` [skipped: ${netSkip}]`}`, () => {
    let net: NetnsPair | undefined
    const procs: NsProcess[] = []

    afterAll(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
      await Promise.all(procs.map((p) => p.exited))
      net?.remove()
    })

    /** The service's config with every container path replaced by where it is on this host. */
    async function hostConfig(name: string): Promise<{ file: string; readOnly: string[]; mounts: Mount[] }> {
      const service = compose.services[name]!
      const mounts = mountsOf(service, studyDir, volumesDir)
      for (const m of mounts) if (m.volume) await mkdir(m.source, { recursive: true })
      const map = (p: string) => onHost(mounts, p)!.host
      const image = await imageOf(service)
      const raw = JSON.parse(await readFile(map(image.config), 'utf8')) as Record<string, unknown>
      const configDir = path.posix.dirname(image.config)
      const abs = (p: unknown) => map(path.posix.resolve(configDir, String(p)))
      const tls = raw['tls'] as { ca: string; cert: string }
      const common = { keyFile: abs(raw['keyFile']), tls: { ca: abs(tls.ca), cert: abs(tls.cert) } }
      let config: Record<string, unknown>
      if (name === 'hub') config = { ...raw, ...common, dataDir: abs(raw['dataDir']), validationDataset: abs(raw['validationDataset']) }
      else {
        const data = raw['data'] as Record<string, unknown>
        const consent = raw['consent'] as Record<string, unknown>
        config = {
          ...raw,
          ...common,
          approval: abs(raw['approval']),
          data: { ...data, file: abs(data['file']) },
          consent: { ...consent, store: abs(consent['store']), secretFile: abs(consent['secretFile']) },
          ...(raw['stateDir'] === undefined ? {} : { stateDir: abs(raw['stateDir']) }),
        }
      }
      // Beside the original, so what a config leaves relative or unset resolves inside the (read-only) config folder, as in the container.
      const file = path.join(path.dirname(map(image.config)), `host-${path.posix.basename(image.config)}`)
      await writeFile(file, JSON.stringify(config, null, 2))
      return { file, readOnly: mounts.filter((m) => m.readOnly).map((m) => m.source), mounts }
    }

    it(`runs the study (${ROUNDS} rounds): every site ends with a verified replica of the hub's whole log in its state volume`, async () => {
      // Prepare: `hub` resolves to namespace a's address inside namespace b, as the compose network's DNS does.
      net = createNetnsPair({ namesOfA: ['hub'] })
      const hub = await hostConfig('hub')
      const sites = await Promise.all(hubConfig.sites.map(async (s) => ({ id: s.id, ...(await hostConfig(s.id)) })))

      // Execute: the hub, then the sites, each with its study folders read-only.
      const coordinator = fedlineageIn(net.a, ['coordinator', '--config', hub.file], { readOnly: hub.readOnly })
      procs.push(coordinator)
      const announced = (await waitForOutput(coordinator, /^log replica on (\S+)$/m, 60_000))[1]!
      const agents = sites.map((s) => fedlineageIn(net!.b, ['site', '--config', s.file], { readOnly: s.readOnly }))
      procs.push(...agents)
      const codes = await Promise.all(agents.map((a) => exitedWithin(a, 240_000)))
      coordinator.child.kill('SIGTERM')
      await coordinator.exited

      // Assert: every site finished, over TLS, and its replica (in its state volume) is the hub's log.
      agents.forEach((a, i) => expect(codes[i], a.output()).toBe(0))
      expect(announced).toMatch(/^\/dns4\/hub\/tcp\/4001\/p2p\/12D3Koo/)
      expect(coordinator.output()).toMatch(new RegExp(`study \\S+ completed: ${ROUNDS} rounds`))
      const hubLog = await verifiedHeadOf(onHost(hub.mounts, hubConfig.dataDir)!.host)
      for (const [i, s] of sites.entries()) {
        expect(agents[i]!.output()).toMatch(/"transport":"tls"/)
        const replica = onHost(s.mounts, siteConfigs.get(s.id)!.p2p.dataDir!)!
        expect(replica.mount.volume).toBeDefined()
        expect(await verifiedHeadOf(replica.host)).toEqual(hubLog)
      }
    }, 400_000)
  })
})
