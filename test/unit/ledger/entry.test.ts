import { describe, expect, it } from 'vitest'
import {
  ENTRY_SIGNING_CONTEXT,
  GENESIS_PREV_HASH,
  decodeCanonical,
  decodeEntry,
  encodeCanonical,
  encodeEntry,
  entryHash,
  entrySigningMessage,
  sha256,
  signEntry,
  signerFromSeed,
  toHex,
  verifyEntry,
  verifySignature,
  type CanonicalValue,
  type EntryDraft,
} from '../../../ledger/core/index.ts'

const alice = signerFromSeed(new Uint8Array(32).fill(1))
const bob = signerFromSeed(new Uint8Array(32).fill(2))
const draft: EntryDraft = { kind: 'round-result', timeMs: 1_700_000_000_123, body: { round: 3, site: 'eu-3', delta: new Uint8Array(32).fill(7), loss: 0.25 } }
const prev = sha256(new TextEncoder().encode('entry 6'))

/** Entry 7 by alice after `prev`, and its CBOR map with the short keys. */
function entry7() {
  const signed = signEntry(alice, 7, prev, draft)
  const map = decodeCanonical(signed.bytes) as { readonly [key: string]: CanonicalValue }
  return { signed, map }
}

/** Canonical bytes of entry 7's map with `changes` applied (undefined deletes a field). */
function mutated(changes: Record<string, CanonicalValue | undefined>): Uint8Array {
  const map: Record<string, CanonicalValue> = { ...entry7().map }
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete map[key]
    else map[key] = value
  }
  return encodeCanonical(map)
}

describe('signEntry / decodeEntry', () => {
  it('round-trips: decode(sign(draft)) is the entry, and re-encodes to the same bytes', () => {
    // Prepare / Execute
    const { entry, bytes, hash } = signEntry(alice, 7, prev, draft)
    const decoded = decodeEntry(bytes)
    // Assert
    expect(decoded).toEqual(entry)
    expect(decoded).toMatchObject({ version: 1, seq: 7, kind: draft.kind, timeMs: draft.timeMs, body: draft.body, prevHash: prev, author: alice.publicKey })
    expect(encodeEntry(decoded)).toEqual(bytes)
    expect(hash).toEqual(sha256(bytes))
    expect(entryHash(bytes)).toEqual(hash)
  })

  it('lays out the map in canonical key order: v, seq, sig, body, kind, prev, time, author', () => {
    // Prepare / Execute
    const { bytes } = signEntry(alice, 0, GENESIS_PREV_HASH, draft)
    // Assert: a8 (map of 8) | 61 76 01 ("v": 1) | 63 736571 00 ("seq": 0) | 63 736967 5840 ("sig": 64 bytes)
    expect(toHex(bytes.subarray(0, 15))).toBe('a8' + '617601' + '63736571' + '00' + '63736967' + '5840')
    const keys = Object.keys(decodeCanonical(bytes) as object)
    expect(keys.sort()).toEqual(['author', 'body', 'kind', 'prev', 'seq', 'sig', 'time', 'v'])
  })

  it('signs context ‖ 0x00 ‖ the unsigned map, and only that (domain separation)', () => {
    // Prepare
    const { entry } = signEntry(alice, 7, prev, draft)
    const { sig: _sig, ...unsigned } = entry7().map
    const unsignedBytes = encodeCanonical(unsigned)
    const context = new TextEncoder().encode(ENTRY_SIGNING_CONTEXT)
    // Execute
    const message = entrySigningMessage(entry)
    // Assert
    expect(ENTRY_SIGNING_CONTEXT).toBe('fedlineage/entry/v1')
    expect(message).toEqual(Uint8Array.from([...context, 0x00, ...unsignedBytes]))
    expect(verifySignature(alice.publicKey, message, entry.signature)).toBe(true)
    expect(verifySignature(alice.publicKey, unsignedBytes, entry.signature)).toBe(false)
  })

  it('is deterministic: same inputs, same bytes', () => {
    expect(signEntry(alice, 7, prev, draft).bytes).toEqual(signEntry(alice, 7, prev, draft).bytes)
  })

  it('uses 32 zero bytes as the genesis prev hash', () => {
    expect(GENESIS_PREV_HASH).toEqual(new Uint8Array(32))
  })

  it.each([
    { desc: 'an upper-case kind', change: { kind: 'Round' }, field: 'kind' },
    { desc: 'an empty kind', change: { kind: '' }, field: 'kind' },
    { desc: 'a fractional time', change: { timeMs: 1.5 }, field: 'time' },
    { desc: 'a body with undefined inside', change: { body: { a: undefined } as unknown as CanonicalValue }, field: 'body' },
  ])('refuses to sign a draft with $desc (LEDGER_ENTRY_MALFORMED naming $field)', ({ change, field }) => {
    expect(() => signEntry(alice, 7, prev, { ...draft, ...change } as EntryDraft)).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_MALFORMED', field, seq: 7 }))
  })

  it('refuses to sign with a 31-byte prev hash', () => {
    expect(() => signEntry(alice, 7, prev.subarray(1), draft)).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_MALFORMED', field: 'prev' }))
  })
})

describe('decodeEntry rejections name the field', () => {
  it.each([
    { desc: 'version 2', change: { v: 2 }, field: 'v' },
    { desc: 'no version', change: { v: undefined }, field: 'v' },
    { desc: 'a negative seq', change: { seq: -1 }, field: 'seq' },
    { desc: 'a fractional seq', change: { seq: 1.5 }, field: 'seq' },
    { desc: 'a seq beyond 2^53', change: { seq: 2n ** 60n }, field: 'seq' },
    { desc: 'a string seq', change: { seq: '7' }, field: 'seq' },
    { desc: 'a 31-byte prev', change: { prev: new Uint8Array(31) }, field: 'prev' },
    { desc: 'a text prev', change: { prev: '00'.repeat(32) }, field: 'prev' },
    { desc: 'no prev', change: { prev: undefined }, field: 'prev' },
    { desc: 'an upper-case kind', change: { kind: 'Round-result' }, field: 'kind' },
    { desc: 'a kind starting with a digit', change: { kind: '1round' }, field: 'kind' },
    { desc: 'a 65-character kind', change: { kind: `a${'b'.repeat(64)}` }, field: 'kind' },
    { desc: 'a numeric kind', change: { kind: 5 }, field: 'kind' },
    { desc: 'a fractional time', change: { time: 0.5 }, field: 'time' },
    { desc: 'a text time', change: { time: '2024-01-01' }, field: 'time' },
    { desc: 'no body', change: { body: undefined }, field: 'body' },
    { desc: 'a 33-byte author', change: { author: new Uint8Array(33) }, field: 'author' },
    { desc: 'no author', change: { author: undefined }, field: 'author' },
    { desc: 'a 63-byte sig', change: { sig: new Uint8Array(63) }, field: 'sig' },
    { desc: 'no sig', change: { sig: undefined }, field: 'sig' },
    { desc: 'an extra field', change: { extra: 1 }, field: '"extra"' },
  ])('$desc -> field $field', ({ change, field }) => {
    // Prepare
    const bytes = mutated(change)
    // Execute / Assert
    expect(() => decodeEntry(bytes, 7)).toThrow(
      expect.objectContaining({
        code: 'LEDGER_ENTRY_MALFORMED',
        name: 'LedgerEntryMalformedError',
        field,
        seq: 7,
        message: expect.stringMatching(new RegExp(`^entry 7: ${field.replace(/"/g, '\\"')} `)),
      }),
    )
  })

  it('a 64-character kind is still fine', () => {
    const bytes = mutated({ kind: `a${'b'.repeat(63)}` })
    expect(decodeEntry(bytes).kind).toHaveLength(64)
  })

  it.each([
    { desc: 'an array', bytes: encodeCanonical([1, 2]), field: 'entry' },
    { desc: 'a number', bytes: encodeCanonical(7), field: 'entry' },
    { desc: 'trailing bytes', bytes: Uint8Array.from([...entry7().signed.bytes, 0]), field: 'encoding' },
    { desc: 'a truncated entry', bytes: entry7().signed.bytes.subarray(0, 50), field: 'encoding' },
    { desc: 'a non-canonical map header (a8 as b8 08)', bytes: Uint8Array.from([0xb8, 0x08, ...entry7().signed.bytes.subarray(1)]), field: 'encoding' },
  ])('$desc -> field $field', ({ bytes, field }) => {
    expect(() => decodeEntry(bytes, 7)).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_MALFORMED', field, seq: 7 }))
  })

  it("labels the error with the entry's own seq when the caller gives none", () => {
    expect(() => decodeEntry(mutated({ kind: 'X' }))).toThrow(expect.objectContaining({ seq: 7, message: expect.stringMatching(/^entry 7: kind /) }))
  })
})

describe('verifyEntry', () => {
  it('accepts the entry at its position and returns its hash', () => {
    // Prepare
    const { signed } = entry7()
    // Execute
    const hash = verifyEntry(signed.entry, signed.bytes, { seq: 7, prevHash: prev, trustedAuthors: [bob.publicKey, alice.publicKey] })
    // Assert
    expect(hash).toEqual(signed.hash)
  })

  it.each([
    { desc: 'another position', expected: { seq: 8, prevHash: prev }, code: 'LEDGER_SEQ_GAP', seq: 8 },
    { desc: 'another prev hash', expected: { seq: 7, prevHash: GENESIS_PREV_HASH }, code: 'LEDGER_CHAIN_BROKEN', seq: 7 },
    { desc: 'an untrusted author', expected: { seq: 7, prevHash: prev, trustedAuthors: [bob.publicKey] }, code: 'LEDGER_UNTRUSTED_AUTHOR', seq: 7 },
    { desc: 'an empty trusted set', expected: { seq: 7, prevHash: prev, trustedAuthors: [] }, code: 'LEDGER_UNTRUSTED_AUTHOR', seq: 7 },
  ])('rejects $desc with $code', ({ expected, code, seq }) => {
    const { signed } = entry7()
    expect(() => verifyEntry(signed.entry, signed.bytes, expected)).toThrow(expect.objectContaining({ code, seq, message: expect.stringMatching(new RegExp(`^entry ${seq}: `)) }))
  })

  it('reports both hashes when the chain is broken', () => {
    const { signed } = entry7()
    expect(() => verifyEntry(signed.entry, signed.bytes, { seq: 7, prevHash: GENESIS_PREV_HASH })).toThrow(expect.objectContaining({ expected: GENESIS_PREV_HASH, calculated: prev }))
  })

  it.each([
    { desc: 'a changed body', change: { body: { round: 4 } } },
    { desc: 'a changed time', change: { time: draft.timeMs + 1 } },
    { desc: 'a changed kind', change: { kind: 'round-resulr' } },
    { desc: "another author's key", change: { author: bob.publicKey } },
    { desc: "another entry's signature", change: { sig: signEntry(alice, 8, prev, draft).entry.signature } },
  ])('rejects $desc with LEDGER_SIGNATURE_INVALID', ({ change }) => {
    // Prepare
    const bytes = mutated(change)
    const entry = decodeEntry(bytes, 7)
    // Execute / Assert
    expect(() => verifyEntry(entry, bytes, { seq: 7, prevHash: prev })).toThrow(expect.objectContaining({ code: 'LEDGER_SIGNATURE_INVALID', seq: 7, message: expect.stringMatching(/^entry 7: /) }))
  })
})

describe('hand layout equals encodeCanonical (signEntry, encodeEntry and entrySigningMessage lay the map out themselves)', () => {
  const context = new TextEncoder().encode(ENTRY_SIGNING_CONTEXT)
  /** The reference: encodeCanonical of the whole map, as the format defines it. */
  function reference(e: { seq: number; prevHash: Uint8Array; kind: string; timeMs: number; body: CanonicalValue; author: Uint8Array; signature: Uint8Array }) {
    const unsigned = { v: 1, seq: e.seq, prev: e.prevHash, kind: e.kind, time: e.timeMs, body: e.body, author: e.author }
    return { bytes: encodeCanonical({ ...unsigned, sig: e.signature }), message: Uint8Array.from([...context, 0x00, ...encodeCanonical(unsigned)]) }
  }
  const seqs = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]
  const times = [0, -0, 1, -1, 23, -24, -25, 255, -256, -257, 65_536, -65_537, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 1_700_000_000_123, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]
  const kinds = ['a', 'round-result', `a${'b'.repeat(22)}`, `a${'b'.repeat(23)}`, `a${'b'.repeat(63)}`]
  const bodies: CanonicalValue[] = [null, 0, -1.5, 'é', [], {}, draft.body, { z: [1, { y: new Uint8Array(300) }], a: 2n ** 63n, s: 'x'.repeat(70_000) }]

  it.each(seqs.flatMap((seq) => times.map((timeMs) => ({ seq, timeMs }))))('seq $seq, time $timeMs', ({ seq, timeMs }) => {
    for (const kind of kinds) {
      const body = bodies[(seq + kinds.indexOf(kind)) % bodies.length]!
      const { entry, bytes, hash } = signEntry(alice, seq, prev, { kind, timeMs, body })
      const want = reference(entry)
      expect(toHex(bytes)).toBe(toHex(want.bytes))
      expect(toHex(encodeEntry(entry))).toBe(toHex(want.bytes))
      expect(toHex(entrySigningMessage(entry))).toBe(toHex(want.message))
      expect(hash).toEqual(sha256(want.bytes))
      expect(verifySignature(alice.publicKey, want.message, entry.signature)).toBe(true)
    }
  })

  it('every body of the list, under each kind', () => {
    for (const body of bodies) {
      for (const kind of kinds) {
        const { entry, bytes } = signEntry(alice, 3, GENESIS_PREV_HASH, { kind, timeMs: 5, body })
        expect(toHex(bytes)).toBe(toHex(reference(entry).bytes))
      }
    }
  })

  it('a signer that returns a Buffer, or a signature of the wrong length, still gets the canonical bytes of what it returned', () => {
    for (const signature of [Buffer.alloc(64, 9), new Uint8Array(63).fill(1), new Uint8Array(0)]) {
      const odd = { publicKey: alice.publicKey, sign: () => signature }
      const { entry, bytes } = signEntry(odd, 7, prev, draft)
      expect(toHex(bytes)).toBe(toHex(reference(entry).bytes))
    }
  })

  it('entries that are not valid fall back to encodeCanonical of the map (same bytes as before)', () => {
    const { entry } = signEntry(alice, 7, prev, draft)
    for (const change of [{ kind: 'Not-a-kind' }, { kind: 'ü' }, { timeMs: 1.5 }, { seq: -1 }, { prevHash: 'x' as unknown as Uint8Array }]) {
      const odd = { ...entry, ...change }
      expect(toHex(encodeEntry(odd))).toBe(toHex(reference(odd).bytes))
      expect(toHex(entrySigningMessage(odd))).toBe(toHex(reference(odd).message))
    }
  })

  it('bodies cborg refuses (circular, a function) are still LEDGER_ENTRY_MALFORMED naming body', () => {
    const circular: Record<string, unknown> = { a: 1 }
    circular.self = circular
    for (const body of [circular, { f: () => 1 }, new Map([['a', 1]])]) {
      expect(() => signEntry(alice, 7, prev, { ...draft, body: body as unknown as CanonicalValue })).toThrow(expect.objectContaining({ code: 'LEDGER_ENTRY_MALFORMED', field: 'body', seq: 7 }))
    }
  })

  // Both bodies hold a float (0.25, -1.5), now float16 (f93400, f9be00) where
  // they were float64 before the shortest-float profile; cbor2's canonical
  // re-encoding of both entries' bytes gives the same bytes.
  it('golden: entry 7 and a far entry hash as they did before the hand layout', () => {
    expect(toHex(signEntry(alice, 7, prev, draft).hash)).toBe('f3e32fdb96a6556f95eb8be2d2fec084a3bb249a17ef708e3fe7e8a9456fbd97')
    const far = signEntry(alice, 2 ** 40 + 5, GENESIS_PREV_HASH, { kind: 'k', timeMs: -(2 ** 33), body: [null, true, 'é', -1.5, 2n ** 63n] })
    expect(toHex(far.hash)).toBe('7f900b3c2323fa97781f0f41636592310cdf6b063973bde59dd20fda2c30a4c0')
  })
})
