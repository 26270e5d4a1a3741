/**
 * hub.json's libp2p addresses: where the coordinator's replica listens and
 * what it announces to sites. Defaults keep the loopback behaviour of tests
 * and the demo; a bad address is refused at load, naming the field.
 */
import { describe, expect, it } from 'vitest'
import { parseHubConfig, type HubConfigInput } from '../../../coordinator/index.ts'
import { TEST_STUDY } from '../../helpers/federation.ts'

const good = (p2p?: HubConfigInput['p2p']): HubConfigInput => ({
  study: TEST_STUDY,
  listen: '127.0.0.1:0',
  dataDir: 'ledger',
  keyFile: 'hub.key',
  sites: [
    { id: 'a', publicKey: 'aa'.repeat(32) },
    { id: 'b', publicKey: 'bb'.repeat(32) },
  ],
  ...(p2p === undefined ? {} : { p2p }),
})

describe('hub.json p2p', () => {
  it('listens on loopback, a free port, and announces what it binds, by default', () => {
    const cfg = parseHubConfig(good(), 'hub.json', '/srv/hub')
    expect(cfg.p2p.listen).toEqual(['/ip4/127.0.0.1/tcp/0'])
    expect(cfg.p2p.announce).toEqual([])
  })

  it('takes a wildcard listen address and announced DNS and IP addresses', () => {
    const cfg = parseHubConfig(good({ listen: ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001'], announce: ['/dns4/hub.example.org/tcp/4001', '/ip4/203.0.113.7/tcp/4001'] }), 'hub.json', '/srv/hub')
    expect(cfg.p2p.announce).toEqual(['/dns4/hub.example.org/tcp/4001', '/ip4/203.0.113.7/tcp/4001'])
  })

  it.each<[string, NonNullable<HubConfigInput['p2p']>, string, RegExp]>([
    ['a listen address that is not a multiaddr', { listen: ['0.0.0.0:4001'] }, 'p2p.listen.0', /not a multiaddr/],
    ['a DNS name to listen on', { listen: ['/dns4/hub.example.org/tcp/4001'] }, 'p2p.listen.0', /listen on an IP and a TCP port/],
    ['an empty listen list', { listen: [] }, 'p2p.listen', /./],
    ['an announced port 0', { announce: ['/ip4/203.0.113.7/tcp/0'] }, 'p2p.announce.0', /port 0 cannot be dialed/],
    ['an announced address with a peer id', { announce: ['/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWCXXkqThkqFvoH4Pkm7etY7NmNs1nbMoJovfowpizywGj'] }, 'p2p.announce.0', /without \/p2p\//],
    ['an announced UDP address', { announce: ['/ip4/203.0.113.7/udp/4001'] }, 'p2p.announce.0', /TCP/],
  ])('refuses %s, naming the field', (_what, p2p, field, why) => {
    expect(() => parseHubConfig(good(p2p), 'hub.json', '/srv/hub')).toThrowError(
      expect.objectContaining({ code: 'COORD_CONFIG_INVALID', message: expect.stringMatching(new RegExp(`hub\\.json: ${field.replace(/\./g, '\\.')}: .*${why.source}`)) }),
    )
  })
})
