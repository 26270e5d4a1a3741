/**
 * site.json's state folder and libp2p addresses. What the agent writes (its
 * replica, its consent rounds) goes under `stateDir`, so the config itself can
 * be read-only (the container's /config); the defaults keep today's layout,
 * beside the config.
 */
import { describe, expect, it } from 'vitest'
import { parseSiteConfig, type SiteConfigInput } from '../../../site-agent/index.ts'

const base: SiteConfigInput = { siteId: 'st-marys', study: 's', coordinator: '127.0.0.1:50051', keyFile: 'k', data: { file: 'cohort.csv' } }
const consent = { store: 'consent.json', secretFile: 'secret', authorities: ['ab'.repeat(32)] }

describe('site.json state folder', () => {
  it('keeps the replica and consent rounds beside the config by default', () => {
    const cfg = parseSiteConfig({ ...base, consent }, 'site.json', '/config')
    expect(cfg.stateDir).toBe('/config')
    expect(cfg.p2p.dataDir).toBe('/config/st-marys-replica')
    expect(cfg.consent?.roundsDir).toBe('/config/st-marys-replica-consent')
  })

  it('puts them under stateDir when given, while inputs stay relative to the config', () => {
    const cfg = parseSiteConfig({ ...base, consent, stateDir: '/state' }, 'site.json', '/config')
    expect(cfg.p2p.dataDir).toBe('/state/st-marys-replica')
    expect(cfg.consent?.roundsDir).toBe('/state/st-marys-replica-consent')
    expect(cfg.consent?.store).toBe('/config/consent.json')
    expect(cfg.keyFile).toBe('/config/k')
  })

  it('resolves a relative stateDir against the config folder, and an explicit p2p.dataDir wins', () => {
    const cfg = parseSiteConfig({ ...base, stateDir: 'var', p2p: { dataDir: '/elsewhere/replica' } }, 'site.json', '/srv/site')
    expect(cfg.stateDir).toBe('/srv/site/var')
    expect(cfg.p2p.dataDir).toBe('/elsewhere/replica')
  })
})

describe('site.json p2p addresses', () => {
  it('listens on loopback and announces what it binds, by default', () => {
    const cfg = parseSiteConfig(base, 'site.json', '/config')
    expect(cfg.p2p.listen).toEqual(['/ip4/127.0.0.1/tcp/0'])
    expect(cfg.p2p.announce).toEqual([])
  })

  it('takes a fixed listen port and an announced name', () => {
    const cfg = parseSiteConfig({ ...base, p2p: { listen: ['/ip4/0.0.0.0/tcp/4002'], announce: ['/dns4/site.st-marys.example/tcp/4002'] } }, 'site.json', '/config')
    expect(cfg.p2p.announce).toEqual(['/dns4/site.st-marys.example/tcp/4002'])
  })

  it('refuses an announced address without a port to dial, naming the field', () => {
    expect(() => parseSiteConfig({ ...base, p2p: { announce: ['/dns4/site.example/tcp/0'] } }, 'site.json', '/config')).toThrowError(
      expect.objectContaining({ code: 'SITE_CONFIG_INVALID', message: expect.stringMatching(/site\.json: p2p\.announce\.0: .*port 0 cannot be dialed/) }),
    )
  })

  it('refuses a listen address that is not a multiaddr, naming the field', () => {
    expect(() => parseSiteConfig({ ...base, p2p: { listen: ['localhost:4002'] } }, 'site.json', '/config')).toThrowError(
      expect.objectContaining({ code: 'SITE_CONFIG_INVALID', message: expect.stringMatching(/site\.json: p2p\.listen\.0: .*not a multiaddr/) }),
    )
  })
})
