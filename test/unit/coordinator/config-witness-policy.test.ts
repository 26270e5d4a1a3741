/** hub.json's study.witnessPolicy (tlog-policy text) is parsed at load: a bad one is refused, naming the field and the line. */
import { describe, expect, it } from 'vitest'
import { parseHubConfig, type HubConfigInput } from '../../../coordinator/index.ts'
import { cosignatureVerifierKey, signerFromSeed } from '../../../ledger/index.ts'
import { TEST_STUDY } from '../../helpers/federation.ts'

const withPolicy = (witnessPolicy: string): HubConfigInput => ({
  study: { ...TEST_STUDY, witnessPolicy },
  listen: '127.0.0.1:0',
  dataDir: 'ledger',
  keyFile: 'hub.key',
  sites: [
    { id: 'a', publicKey: 'aa'.repeat(32) },
    { id: 'b', publicKey: 'bb'.repeat(32) },
  ],
})

describe('hub.json study.witnessPolicy', () => {
  it('accepts a valid policy', () => {
    // Prepare
    const policy = `witness A ${cosignatureVerifierKey(signerFromSeed(new Uint8Array(32).fill(5)).publicKey)} http://127.0.0.1:7380\nquorum A\n`
    // Execute
    const cfg = parseHubConfig(withPolicy(policy), 'hub.json', '/srv/hub')
    // Assert
    expect(cfg.study.witnessPolicy).toBe(policy)
  })

  it('refuses a policy whose quorum names no witness, naming the field and the line', () => {
    // Execute / Assert
    expect(() => parseHubConfig(withPolicy('quorum hospitals\n'), 'hub.json', '/srv/hub')).toThrow(
      expect.objectContaining({ code: 'COORD_CONFIG_INVALID', message: expect.stringContaining('hub.json: study.witnessPolicy: witness policy line 1: quorum "hospitals"') }),
    )
  })
})
