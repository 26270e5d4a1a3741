/** `fedlineage coordinator --http host:port`: the flag sets hub.json's `http.listen`, checked the same way. */
import { describe, expect, it } from 'vitest'
import { CoordinatorConfigError, parseHubConfig, withHttpListen, type HubConfigInput } from '../../../coordinator/index.ts'
import { TEST_STUDY } from '../../helpers/federation.ts'

const BASE: HubConfigInput = {
  study: TEST_STUDY,
  dataDir: 'ledger',
  keyFile: 'hub.key',
  sites: [
    { id: 'a', publicKey: 'aa'.repeat(32) },
    { id: 'b', publicKey: 'bb'.repeat(32) },
  ],
}

describe('the HTTP port setting', () => {
  it('is off unless set, and the flag overrides the file', () => {
    const off = parseHubConfig(BASE, 'hub.json', '/tmp')
    const file = parseHubConfig({ ...BASE, http: { listen: '127.0.0.1:9100' } }, 'hub.json', '/tmp')
    expect(off.http).toBeUndefined()
    expect(withHttpListen(off, undefined).http).toBeUndefined()
    expect(withHttpListen(file, '127.0.0.1:0').http).toEqual({ listen: '127.0.0.1:0' })
    expect(withHttpListen(file, undefined).http).toEqual({ listen: '127.0.0.1:9100' })
  })

  it.each(['8080', 'localhost', 'host:port', ':80'])('refuses --http %s with a config error naming the flag', (value) => {
    const cfg = parseHubConfig(BASE, 'hub.json', '/tmp')
    expect(() => withHttpListen(cfg, value)).toThrow(CoordinatorConfigError)
    expect(() => withHttpListen(cfg, value)).toThrow(/^--http /)
  })

  it('refuses a malformed http.listen in the file, naming the field', () => {
    expect(() => parseHubConfig({ ...BASE, http: { listen: 'nope' } }, 'hub.json', '/tmp')).toThrow(/hub\.json: http\.listen: must be host:port/)
  })
})
