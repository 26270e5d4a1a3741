/**
 * c2sp.org/tlog-proof@v1 (ledger/core/tlog-proof.ts). The spec's own example
 * (https://c2sp.org/tlog-proof, "Format") is parsed as data; our proofs of a
 * 40-entry tree check, and every mutated sibling is refused with its code.
 */
import { describe, expect, it } from 'vitest'
import {
  GENESIS_PREV_HASH,
  RFC6962_SHA256,
  checkTlogProof,
  formatTlogProof,
  hashLeaf,
  inclusionProof,
  parseTlogProof,
  rootOf,
  signCheckpoint,
  signEntry,
  signerFromSeed,
  type TlogProof,
} from '../../../ledger/core/index.ts'

const SPEC_EXAMPLE = `c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
`

const LOG = signerFromSeed(new Uint8Array(32).fill(1))
const ORIGIN = 'fedlineage.example/study/proof'
/** 40 signed log entries, chained. */
const ENTRIES = (() => {
  let prev = GENESIS_PREV_HASH
  return Array.from({ length: 40 }, (_, i) => {
    const e = signEntry(LOG, i, prev, { kind: 'test-record', timeMs: 1_700_000_000_000 + i, body: { n: i } })
    prev = e.hash
    return e.bytes
  })
})()
const LEAVES = ENTRIES.map(hashLeaf)

/** Our proof of entry `index`, the entry's bytes as extra. */
function proofOf(index: number): TlogProof {
  const checkpoint = signCheckpoint(LOG, { origin: ORIGIN, size: ENTRIES.length, root: rootOf(RFC6962_SHA256, LEAVES) })
  return { index, proof: inclusionProof(RFC6962_SHA256, LEAVES, index, ENTRIES.length), checkpoint, extra: ENTRIES[index] }
}

const checkInclusion = (text: string) => checkTlogProof(text, LOG.publicKey).entry.seq

describe('tlog-proof format', () => {
  it("parses the spec's example: extra, index, five proof hashes, the checkpoint verbatim", () => {
    const p = parseTlogProof(SPEC_EXAMPLE)
    expect(p.index).toBe(73894)
    expect(p.proof).toHaveLength(5)
    expect(Buffer.from(p.extra!).toString('latin1').startsWith('age-v1.2.1-darwin-arm64.tar.gz')).toBe(true)
    expect(p.checkpoint.note).toBe(SPEC_EXAMPLE.slice(SPEC_EXAMPLE.indexOf('example.com/fancylog\n')))
  })

  it('writes what it reads, with and without extra', () => {
    const p = proofOf(13)
    const text = formatTlogProof(p)
    expect(text).toMatch(/^c2sp\.org\/tlog-proof@v1\nextra [A-Za-z0-9+/=]+\nindex 13\n([A-Za-z0-9+/]{43}=\n){6}\nfedlineage\.example\/study\/proof\n40\n/)
    expect(parseTlogProof(text)).toEqual(p)
    const { extra: _extra, ...bare } = p
    expect(parseTlogProof(formatTlogProof(bare))).toEqual(bare)
  })

  it.each([
    ['no header', (t: string) => t.replace('c2sp.org/tlog-proof@v1\n', '')],
    ['an index with a leading zero', (t: string) => t.replace('index 13', 'index 013')],
    ['no index line', (t: string) => t.replace('index 13\n', '')],
    ['a proof line that is not a 32-byte hash', (t: string) => t.replace('\n\n', '\nAAAA\n\n')],
    ['no blank line before the checkpoint', (t: string) => t.replace('\n\n', '\n')],
  ])('refuses %s with LEDGER_TLOG_PROOF_MALFORMED', (_what, mutate) => {
    expect(() => parseTlogProof(mutate(formatTlogProof(proofOf(13))))).toThrow(expect.objectContaining({ code: 'LEDGER_TLOG_PROOF_MALFORMED' }))
  })
})

describe('tlog-proof check', () => {
  it('checks our proof of every entry', () => {
    for (let i = 0; i < ENTRIES.length; i++) expect(checkInclusion(formatTlogProof(proofOf(i)))).toBe(i)
  })

  it.each<[string, (p: TlogProof) => TlogProof, string]>([
    ['a flipped bit in proof[0]', (p) => ({ ...p, proof: [new Uint8Array(p.proof[0]!).map((b, i) => (i === 0 ? b ^ 1 : b)), ...p.proof.slice(1)] }), 'LEDGER_ROOT_MISMATCH'],
    ['index + 1', (p) => ({ ...p, index: p.index + 1 }), 'LEDGER_ROOT_MISMATCH'],
    ['index - 1', (p) => ({ ...p, index: p.index - 1 }), 'LEDGER_ROOT_MISMATCH'],
    ['a truncated proof', (p) => ({ ...p, proof: p.proof.slice(0, -1) }), 'LEDGER_PROOF_WRONG_LENGTH'],
    ['a hash appended to the proof', (p) => ({ ...p, proof: [...p.proof, p.proof[0]!] }), 'LEDGER_PROOF_WRONG_LENGTH'],
    ['another entry as extra', (p) => ({ ...p, extra: ENTRIES[14] }), 'LEDGER_ROOT_MISMATCH'],
    ['no extra', ({ extra: _extra, ...p }) => p, 'LEDGER_TLOG_PROOF_MALFORMED'],
    [
      'a checkpoint by another key',
      (p) => ({ ...p, checkpoint: signCheckpoint(signerFromSeed(new Uint8Array(32).fill(2)), { origin: ORIGIN, size: 40, root: rootOf(RFC6962_SHA256, LEAVES) }) }),
      'LEDGER_CHECKPOINT_INVALID',
    ],
    ['a changed checkpoint size', (p) => ({ ...p, checkpoint: { note: p.checkpoint.note.replace('\n40\n', '\n41\n') } }), 'LEDGER_CHECKPOINT_INVALID'],
  ])('refuses %s (%s)', (_what, mutate, code) => {
    expect(() => checkInclusion(formatTlogProof(mutate(proofOf(13))))).toThrow(expect.objectContaining({ code }))
  })
})
