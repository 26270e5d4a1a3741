import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { RFC6962_SHA256, encodeCanonical, rootOf, signerFromSeed, toHex } from '../../../ledger/core/index.ts'
import {
  CONSENT_PROOF_FORMAT,
  checkConsentBundle,
  consentLeafHash,
  consentLeafOf,
  consentReceiptHash,
  consentRoot,
  consentSigningMessage,
  consentStatus,
  consentTreeOf,
  decodeConsent,
  decodeSignedConsent,
  encodeSignedConsent,
  findConsentLeaf,
  isConsentValid,
  makeConsentInclusionBundle,
  makeConsentNonInclusionBundle,
  proveConsentInclusion,
  proveConsentNonInclusion,
  pseudonymOf,
  revocationTimeFor,
  signConsent,
  verifyConsent,
  verifyConsentInclusion,
  verifyConsentNonInclusion,
  type ConsentInclusionProof,
  type ConsentLeaf,
  type ConsentNonInclusionProof,
  type ConsentReceipt,
  type ConsentRevocation,
  type SignedConsent,
} from '../../../protocol/index.ts'

const code = (c: string) => expect.objectContaining({ code: c })
const authority = signerFromSeed(new Uint8Array(32).fill(7))
const patientKey = signerFromSeed(new Uint8Array(32).fill(9))
const DAY_MS = 86_400_000
const T0 = Date.UTC(2024, 0, 1)

/** A 32-byte pseudonym whose every byte is `b`: easy to order by hand. */
const p = (b: number) => new Uint8Array(32).fill(b)

function receipt(overrides: Partial<ConsentReceipt> = {}): ConsentReceipt {
  return {
    t: 'consent',
    pseudonym: p(0x40),
    study: 'cardio-risk',
    purposes: ['HRESCH'],
    validFrom: T0,
    validUntil: T0 + 365 * DAY_MS,
    signer: authority.publicKey,
    ...overrides,
  }
}

function revocation(overrides: Partial<ConsentRevocation> = {}): ConsentRevocation {
  return { t: 'consent-revocation', pseudonym: p(0x40), study: 'cardio-risk', time: T0 + 10 * DAY_MS, signer: authority.publicKey, ...overrides }
}

const signedFor = (b: number) => signConsent(authority, receipt({ pseudonym: p(b) }))

/** A tree over receipts for pseudonyms filled with 0x10, 0x20, ... (n of them), and the signed receipts by pseudonym byte. */
function treeOf(n: number) {
  const signed = Array.from({ length: n }, (_, i) => signedFor(0x10 * (i + 1)))
  return { signed, tree: consentTreeOf(signed.map(consentLeafOf)) }
}

describe('pseudonymOf', () => {
  it('is HMAC-SHA256(secret, "fedlineage/pseudonym/v1" ‖ 0x00 ‖ patient id)', () => {
    // Prepare: printf 'fedlineage/pseudonym/v1\0patient-123' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf '01%.0s' {1..32})
    const secret = new Uint8Array(32).fill(1)
    const want = createHmac('sha256', secret).update(Buffer.from('fedlineage/pseudonym/v1\0patient-123', 'utf8')).digest('hex')
    // Execute
    const got = pseudonymOf(secret, 'patient-123')
    // Assert
    expect(toHex(got)).toBe(want)
    expect(got).toHaveLength(32)
  })

  it('differs per site secret and per patient', () => {
    const a = pseudonymOf(new Uint8Array(32).fill(1), 'p1')
    expect(toHex(pseudonymOf(new Uint8Array(32).fill(2), 'p1'))).not.toBe(toHex(a))
    expect(toHex(pseudonymOf(new Uint8Array(32).fill(1), 'p2'))).not.toBe(toHex(a))
  })

  it('refuses a short secret and an empty patient id', () => {
    expect(() => pseudonymOf(new Uint8Array(15), 'p1')).toThrow(code('PROTOCOL_INVALID_ARGUMENT'))
    expect(() => pseudonymOf(new Uint8Array(16), '')).toThrow(code('PROTOCOL_INVALID_ARGUMENT'))
  })
})

describe('signConsent / verifyConsent', () => {
  it('round-trips a receipt signed by the consent authority', () => {
    // Prepare
    const r = receipt()
    // Execute
    const signed = signConsent(authority, r)
    const verified = verifyConsent(signed, [authority.publicKey])
    // Assert
    expect(verified).toEqual({ ...r, purposes: ['HRESCH'] })
    expect(decodeConsent(signed.body, 'consent')).toEqual(verified)
  })

  it('round-trips a receipt signed by the patient and a revocation', () => {
    const own = signConsent(patientKey, receipt({ signer: patientKey.publicKey, validUntil: null }))
    expect(verifyConsent(own)).toMatchObject({ t: 'consent', validUntil: null })
    const rev = signConsent(authority, revocation())
    expect(verifyConsent(rev)).toEqual(revocation())
    expect(decodeConsent(rev.body, 'consent-revocation').time).toBe(T0 + 10 * DAY_MS)
  })

  it('encodes a receipt as the canonical CBOR map, keys in RFC 8949 order (known answer built by hand)', () => {
    // Prepare: map(7); keys by encoded length, then bytewise: t, study, signer, purposes, pseudonym, validFrom, validUntil.
    const text = (s: string) => Buffer.concat([Buffer.from([0x60 + s.length]), Buffer.from(s, 'utf8')]).toString('hex')
    const bytes32 = (b: Uint8Array) => `5820${toHex(b)}`
    const want = [
      'a7',
      text('t') + text('consent'),
      text('study') + text('cardio-risk'),
      text('signer') + bytes32(authority.publicKey),
      text('purposes') + '81' + text('HRESCH'),
      text('pseudonym') + bytes32(p(0x40)),
      text('validFrom') + '1b' + T0.toString(16).padStart(16, '0'), // uint64: 1704067200000 ms
      text('validUntil') + 'f6', // null
    ].join('')
    // Execute
    const signed = signConsent(authority, receipt({ validUntil: null }))
    // Assert
    expect(toHex(signed.body)).toBe(want)
  })

  it('signs over the consent context, not the bare body', () => {
    const signed = signConsent(authority, receipt())
    const message = consentSigningMessage(signed.body)
    expect(new TextDecoder().decode(message.subarray(0, 21))).toBe('fedlineage/consent/v1')
    expect(message[21]).toBe(0)
    expect(toHex(authority.sign(message))).toBe(toHex(signed.signature))
  })

  it('refuses to sign for another key, unsorted or duplicate purposes, an empty period and no purpose, naming the field', () => {
    expect(() => signConsent(authority, receipt({ signer: patientKey.publicKey }))).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_INVALID', field: 'signer' }))
    expect(() => signConsent(authority, receipt({ purposes: ['TREAT', 'HRESCH'] }))).toThrow(expect.objectContaining({ field: 'purposes' }))
    expect(() => signConsent(authority, receipt({ purposes: ['HRESCH', 'HRESCH'] }))).toThrow(expect.objectContaining({ field: 'purposes' }))
    expect(() => signConsent(authority, receipt({ purposes: [] }))).toThrow(expect.objectContaining({ field: 'purposes' }))
    expect(() => signConsent(authority, receipt({ purposes: ['has space'] }))).toThrow(expect.objectContaining({ field: 'purposes.0' }))
    expect(() => signConsent(authority, receipt({ validUntil: T0 }))).toThrow(expect.objectContaining({ field: 'validUntil' }))
    expect(() => signConsent(authority, receipt({ validFrom: -1 }))).toThrow(expect.objectContaining({ field: 'validFrom' }))
    expect(() => signConsent(authority, receipt({ pseudonym: new Uint8Array(31) }))).toThrow(expect.objectContaining({ field: 'pseudonym' }))
  })

  it('decodes with errors that name the field', () => {
    const base = { ...receipt() } as Record<string, unknown>
    const withOut = (k: string) => encodeCanonical(Object.fromEntries(Object.entries(base).filter(([key]) => key !== k)) as never)
    expect(() => decodeConsent(withOut('study'))).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_INVALID', field: 'study' }))
    expect(() => decodeConsent(encodeCanonical({ ...base, extra: 1 } as never))).toThrow(expect.objectContaining({ field: '(root)' }))
    expect(() => decodeConsent(encodeCanonical({ ...base, validFrom: 'yesterday' } as never))).toThrow(expect.objectContaining({ field: 'validFrom' }))
    expect(() => decodeConsent(encodeCanonical({ ...base, t: 'hello' } as never))).toThrow(expect.objectContaining({ field: 't' }))
    expect(() => decodeConsent(new Uint8Array([0xa1, 0x61]))).toThrow(expect.objectContaining({ field: 'encoding' }))
    expect(() => decodeConsent(signConsent(authority, revocation()).body, 'consent')).toThrow(expect.objectContaining({ field: 't' }))
  })

  it('refuses a tampered body, a foreign signature and an untrusted signer', () => {
    // Prepare
    const signed = signConsent(authority, receipt())
    const other = signConsent(authority, receipt({ purposes: ['HRESCH', 'TREAT'] }))
    // Execute / Assert
    expect(() => verifyConsent({ body: other.body, signature: signed.signature })).toThrow(code('PROTOCOL_CONSENT_SIGNATURE_INVALID'))
    const flipped = signed.signature.slice()
    flipped[3] = flipped[3]! ^ 1
    expect(() => verifyConsent({ body: signed.body, signature: flipped })).toThrow(code('PROTOCOL_CONSENT_SIGNATURE_INVALID'))
    expect(() => verifyConsent(signed, [patientKey.publicKey])).toThrow(code('PROTOCOL_CONSENT_UNTRUSTED_SIGNER'))
    expect(() => verifyConsent({ body: signed.body, signature: new Uint8Array(63) })).toThrow(expect.objectContaining({ field: 'signature' }))
  })

  it('encodes a signed consent as one canonical map and decodes it back', () => {
    const signed = signConsent(authority, receipt())
    const bytes = encodeSignedConsent(signed)
    expect(decodeSignedConsent(bytes)).toEqual(signed)
    // Known answer independent of our tree code: SHA-256 over those bytes.
    expect(toHex(consentReceiptHash(signed))).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(() => decodeSignedConsent(encodeCanonical({ body: signed.body, signature: signed.signature, x: 1 }))).toThrow(expect.objectContaining({ field: 'x' }))
    expect(() => decodeSignedConsent(encodeCanonical([1]))).toThrow(expect.objectContaining({ field: '(root)' }))
  })
})

describe('consentStatus: validFrom inclusive, validUntil exclusive', () => {
  const r = receipt()
  const until = r.validUntil!
  const q = (atMs: number, more: { revokedAtMs?: number; study?: string; purpose?: string } = {}) => ({ study: 'cardio-risk', purpose: 'HRESCH', atMs, ...more })

  it.each([
    ['one ms before validFrom', T0 - 1, 'not-yet-valid'],
    ['at validFrom', T0, 'valid'],
    ['one ms before validUntil', until - 1, 'valid'],
    ['at validUntil', until, 'expired'],
    ['after validUntil', until + DAY_MS, 'expired'],
  ] as const)('%s is %s', (_desc, atMs, want) => {
    expect(consentStatus(r, q(atMs))).toBe(want)
    expect(isConsentValid(r, q(atMs))).toBe(want === 'valid')
  })

  it('never expires an open-ended receipt', () => {
    expect(consentStatus(receipt({ validUntil: null }), q(Number.MAX_SAFE_INTEGER))).toBe('valid')
  })

  it('checks the study and the purpose first', () => {
    expect(consentStatus(r, q(T0, { study: 'other' }))).toBe('wrong-study')
    expect(consentStatus(r, q(T0, { purpose: 'TREAT' }))).toBe('purpose-not-covered')
  })

  it('honours a revocation from its time on, and not one made before the consent started', () => {
    const revokedAt = T0 + 10 * DAY_MS
    expect(consentStatus(r, q(revokedAt - 1, { revokedAtMs: revokedAt }))).toBe('valid')
    expect(consentStatus(r, q(revokedAt, { revokedAtMs: revokedAt }))).toBe('revoked')
    expect(consentStatus(r, q(until + 1, { revokedAtMs: revokedAt }))).toBe('revoked')
    expect(consentStatus(r, q(T0, { revokedAtMs: T0 }))).toBe('revoked')
    expect(consentStatus(r, q(T0 + DAY_MS, { revokedAtMs: T0 - 1 }))).toBe('valid')
  })

  it('revocationTimeFor takes the earliest revocation of the same pseudonym and study made at or after validFrom', () => {
    const revs = [
      revocation({ time: T0 - 5 }), // before the consent: a new consent followed it
      revocation({ time: T0 + 30 * DAY_MS }),
      revocation({ time: T0 + 20 * DAY_MS }),
      revocation({ time: T0 + DAY_MS, study: 'other-study' }),
      revocation({ time: T0 + DAY_MS, pseudonym: p(0x41) }),
    ]
    expect(revocationTimeFor(r, revs)).toBe(T0 + 20 * DAY_MS)
    expect(revocationTimeFor(r, [])).toBeUndefined()
  })
})

describe('consent tree', () => {
  it('the empty tree has the empty root, SHA-256("")', () => {
    // printf '' | sha256sum
    expect(toHex(consentTreeOf([]).root)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(consentRoot([])).toMatchObject({ count: 0 })
  })

  it('a leaf is SHA-256(0x00 ‖ pseudonym ‖ SHA-256(signed receipt bytes))', () => {
    const signed = signedFor(0x20)
    const leaf = consentLeafOf(signed)
    const want = createHash('sha256')
      .update(Buffer.from([0]))
      .update(p(0x20))
      .update(createHash('sha256').update(encodeSignedConsent(signed)).digest())
      .digest('hex')
    expect(toHex(consentLeafHash(leaf))).toBe(want)
    expect(toHex(consentTreeOf([leaf]).root)).toBe(want)
  })

  it('is the RFC 6962 root over the leaves sorted by pseudonym, whatever the input order', () => {
    // Prepare
    const signed = [0x30, 0x10, 0xf0, 0x20, 0x05].map(signedFor)
    const leaves = signed.map(consentLeafOf)
    const sorted = [...leaves].sort((a, b) => a.pseudonym[0]! - b.pseudonym[0]!)
    const before = leaves.map((l) => toHex(l.pseudonym))
    // Execute
    const tree = consentTreeOf(leaves)
    // Assert
    expect(toHex(tree.root)).toBe(toHex(rootOf(RFC6962_SHA256, sorted.map(consentLeafHash))))
    expect(toHex(consentTreeOf([...leaves].reverse()).root)).toBe(toHex(tree.root))
    expect(consentRoot(signed)).toEqual({ root: tree.root, count: 5 })
    expect(leaves.map((l) => toHex(l.pseudonym))).toEqual(before) // input not sorted in place
    expect(findConsentLeaf(tree, p(0x20))).toBe(2)
    expect(findConsentLeaf(tree, p(0x21))).toBe(-4)
  })

  it('refuses two receipts for one pseudonym, and a revocation as a leaf', () => {
    const a = signedFor(0x10)
    const b = signConsent(authority, receipt({ pseudonym: p(0x10), purposes: ['HRESCH', 'TREAT'] }))
    expect(() => consentRoot([a, b])).toThrow(code('PROTOCOL_CONSENT_DUPLICATE_PSEUDONYM'))
    expect(() => consentLeafOf(signConsent(authority, revocation()))).toThrow(expect.objectContaining({ field: 't' }))
    expect(() => consentTreeOf([{ pseudonym: p(1), receiptHash: new Uint8Array(31) }])).toThrow(expect.objectContaining({ field: 'leaves[0].receiptHash' }))
  })
})

describe('consent inclusion proofs', () => {
  it('verify for every leaf of trees of 1 to 9 leaves', () => {
    for (let n = 1; n <= 9; n++) {
      const { signed, tree } = treeOf(n)
      for (const s of signed) {
        const pseudonym = decodeConsent(s.body, 'consent').pseudonym
        const proof = proveConsentInclusion(tree, pseudonym)
        expect(verifyConsentInclusion(s, proof, tree.root).pseudonym).toEqual(pseudonym)
      }
    }
  })

  describe('fail when tampered', () => {
    const { signed, tree } = treeOf(7)
    const target = signed[2]!
    const good = proveConsentInclusion(tree, p(0x30))
    const check =
      (s: SignedConsent, proof: ConsentInclusionProof, root = tree.root) =>
      () =>
        verifyConsentInclusion(s, proof, root)

    it('accepts the untampered proof', () => {
      expect(check(target, good)).not.toThrow()
    })

    it.each(good.proof.map((_, i) => i))('flipped bit in proof[%i]', (i) => {
      const proof = good.proof.map((h, j) => (j === i ? h.map((x, k) => (k === 0 ? x ^ 1 : x)) : h))
      expect(check(target, { ...good, proof })).toThrow(code('LEDGER_ROOT_MISMATCH'))
    })

    it.each([
      ['index + 1', { index: good.index + 1 }, 'LEDGER_ROOT_MISMATCH'],
      ['index - 1', { index: good.index - 1 }, 'LEDGER_ROOT_MISMATCH'],
      ['count × 2', { count: good.count * 2 }, 'LEDGER_PROOF_WRONG_LENGTH'],
      ['count beyond the index', { index: 7 }, 'LEDGER_PROOF_INDEX_OUT_OF_RANGE'],
      ['truncated', { proof: good.proof.slice(0, -1) }, 'LEDGER_PROOF_WRONG_LENGTH'],
      ['trailing garbage', { proof: [...good.proof, new Uint8Array(32)] }, 'LEDGER_PROOF_WRONG_LENGTH'],
    ] as const)('%s', (_desc, change, want) => {
      expect(check(target, { ...good, ...change })).toThrow(code(want))
    })

    it('altered receipt: another receipt for the same patient, or another patient’s receipt at this index', () => {
      const renewed = signConsent(authority, receipt({ pseudonym: p(0x30), validUntil: null }))
      expect(check(renewed, good)).toThrow(code('LEDGER_ROOT_MISMATCH'))
      expect(check(signed[3]!, good)).toThrow(code('LEDGER_ROOT_MISMATCH'))
      const resigned = { body: target.body, signature: authority.sign(new Uint8Array(1)) } // same body, another signature
      expect(check(resigned, good)).toThrow(code('LEDGER_ROOT_MISMATCH'))
    })

    it('swapped roots', () => {
      expect(check(target, good, treeOf(6).tree.root)).toThrow(code('LEDGER_ROOT_MISMATCH'))
    })

    it('mutating a returned proof does not change the tree', () => {
      const proof = proveConsentInclusion(tree, p(0x30))
      const first = proof.proof[0]!
      first[0] = first[0]! ^ 0xff
      expect(check(target, proveConsentInclusion(tree, p(0x30)))).not.toThrow()
    })

    it('a pseudonym without a leaf has no inclusion proof', () => {
      expect(() => proveConsentInclusion(tree, p(0x31))).toThrow(code('PROTOCOL_CONSENT_PSEUDONYM_ABSENT'))
    })
  })
})

describe('consent non-inclusion proofs', () => {
  it('verify between every pair of leaves and at both edges, for trees of 0 to 9 leaves', () => {
    for (let n = 0; n <= 9; n++) {
      const { tree } = treeOf(n)
      // Leaves are 0x10, 0x20, ...; 0x08 is before all, 0x18 between the first two, ..., 0x10·n + 8 after all.
      for (let k = 0; k <= n; k++) {
        const proof = proveConsentNonInclusion(tree, p(0x10 * k + 8))
        expect(proof.left?.index ?? -1).toBe(k - 1)
        expect(proof.right?.index ?? n).toBe(k)
        expect(() => verifyConsentNonInclusion(proof, tree.root)).not.toThrow()
      }
    }
  })

  it('a pseudonym with a leaf has no non-inclusion proof', () => {
    expect(() => proveConsentNonInclusion(treeOf(3).tree, p(0x20))).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_PSEUDONYM_PRESENT', index: 1 }))
  })

  describe('fail when tampered', () => {
    const { tree } = treeOf(7)
    const good = proveConsentNonInclusion(tree, p(0x38)) // between 0x30 (index 2) and 0x40 (index 3)
    const leafAt = (i: number): ConsentLeaf => ({ pseudonym: p(0x10 * (i + 1)), receiptHash: consentLeafOf(signedFor(0x10 * (i + 1))).receiptHash })
    const neighbourAt = (i: number) => ({ index: i, leaf: leafAt(i), proof: proveConsentInclusion(tree, p(0x10 * (i + 1))).proof })
    const check =
      (proof: ConsentNonInclusionProof, root = tree.root) =>
      () =>
        verifyConsentNonInclusion(proof, root)
    const field = (f: string) => expect.objectContaining({ code: 'PROTOCOL_CONSENT_NON_INCLUSION_INVALID', field: f })

    it('accepts the untampered proof', () => {
      expect(good.left?.index).toBe(2)
      expect(check(good)).not.toThrow()
    })

    it('non-adjacent indices, each path valid on its own', () => {
      expect(check({ ...good, left: neighbourAt(1) })).toThrow(field('right.index'))
      expect(check({ ...good, right: neighbourAt(4) })).toThrow(field('right.index'))
    })

    it('swapped neighbours', () => {
      expect(check({ ...good, left: good.right, right: good.left })).toThrow(field('right.index'))
    })

    it('unsorted neighbours at adjacent indices', () => {
      // A right neighbour that claims a smaller pseudonym than the left one.
      const right = { ...good.right!, leaf: { ...good.right!.leaf, pseudonym: p(0x2f) } }
      expect(check({ ...good, right })).toThrow(field('right.leaf.pseudonym'))
    })

    it('the pseudonym equal to a neighbour', () => {
      expect(check({ ...good, pseudonym: p(0x30) })).toThrow(field('left.leaf.pseudonym'))
      expect(check({ ...good, pseudonym: p(0x40) })).toThrow(field('right.leaf.pseudonym'))
    })

    it('the pseudonym outside its neighbours', () => {
      expect(check({ ...good, pseudonym: p(0x48) })).toThrow(field('right.leaf.pseudonym'))
    })

    it('a missing neighbour inside the tree', () => {
      expect(check({ ...good, left: null })).toThrow(field('right.index'))
      expect(check({ ...good, right: null })).toThrow(field('left.index'))
      expect(check({ ...good, left: null, right: null })).toThrow(field('left'))
    })

    it('neighbours given for the empty tree, and a non-empty root for it', () => {
      const empty = treeOf(0).tree
      expect(check({ ...good, count: 0 }, empty.root)).toThrow(field('left'))
      expect(check({ pseudonym: p(1), count: 0, left: null, right: null }, tree.root)).toThrow(code('LEDGER_ROOT_MISMATCH'))
    })

    it('a flipped bit in a neighbour path, a wrong count, an altered neighbour leaf, swapped roots', () => {
      const flip = (h: Uint8Array) => h.map((x, k) => (k === 31 ? x ^ 0x80 : x))
      expect(check({ ...good, left: { ...good.left!, proof: [flip(good.left!.proof[0]!), ...good.left!.proof.slice(1)] } })).toThrow(code('LEDGER_ROOT_MISMATCH'))
      expect(check({ ...good, right: { ...good.right!, proof: [...good.right!.proof.slice(0, -1), flip(good.right!.proof.at(-1)!)] } })).toThrow(code('LEDGER_ROOT_MISMATCH'))
      expect(check({ ...good, count: 14 })).toThrow(code('LEDGER_PROOF_WRONG_LENGTH'))
      expect(check({ ...good, left: { ...good.left!, leaf: { ...good.left!.leaf, receiptHash: new Uint8Array(32) } } })).toThrow(code('LEDGER_ROOT_MISMATCH'))
      expect(check(good, treeOf(8).tree.root)).toThrow(code('LEDGER_ROOT_MISMATCH'))
    })

    it('an edge proof whose only neighbour is not at the edge', () => {
      const first = proveConsentNonInclusion(tree, p(0x01))
      expect(check(first)).not.toThrow()
      expect(check({ ...first, right: neighbourAt(1) })).toThrow(field('right.index'))
      const last = proveConsentNonInclusion(tree, p(0xff))
      expect(check(last)).not.toThrow()
      expect(check({ ...last, left: neighbourAt(5) })).toThrow(field('left.index'))
    })
  })
})

describe('consent proof bundles', () => {
  const { signed, tree } = treeOf(5)
  const viaJson = <T>(v: T): unknown => JSON.parse(JSON.stringify(v))

  it('an inclusion bundle survives JSON and checks against the trusted root', () => {
    // Prepare
    const proof = proveConsentInclusion(tree, p(0x20))
    const bundle = makeConsentInclusionBundle(3, signed[1]!, proof, tree.root)
    // Execute
    const checked = checkConsentBundle(viaJson(bundle), { root: tree.root, count: 5, trustedSigners: [authority.publicKey] })
    // Assert
    expect(bundle).toMatchObject({ format: CONSENT_PROOF_FORMAT, kind: 'inclusion', round: 3, count: 5, index: 1 })
    expect(checked).toMatchObject({ kind: 'inclusion', round: 3, count: 5, pseudonym: p(0x20) })
  })

  it('a non-inclusion bundle survives JSON and reveals only the neighbours’ hashes', () => {
    const bundle = makeConsentNonInclusionBundle(3, proveConsentNonInclusion(tree, p(0x25)), tree.root)
    expect(bundle.left).toEqual(expect.objectContaining({ index: 1, pseudonym: toHex(p(0x20)) }))
    expect(Object.keys(bundle.left!).sort()).toEqual(['index', 'path', 'pseudonym', 'receiptHash'])
    expect(checkConsentBundle(viaJson(bundle), { root: tree.root })).toMatchObject({ kind: 'non-inclusion', pseudonym: p(0x25) })
  })

  it('refuses another root or count than the trusted one, an untrusted signer, a tampered path and malformed fields', () => {
    const bundle = makeConsentInclusionBundle(3, signed[1]!, proveConsentInclusion(tree, p(0x20)), tree.root)
    expect(() => checkConsentBundle(viaJson(bundle), { root: treeOf(4).tree.root })).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_BUNDLE_MISMATCH', field: 'root' }))
    expect(() => checkConsentBundle(viaJson(bundle), { count: 6 })).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_BUNDLE_MISMATCH', field: 'count' }))
    expect(() => checkConsentBundle(viaJson(bundle), { trustedSigners: [patientKey.publicKey] })).toThrow(code('PROTOCOL_CONSENT_UNTRUSTED_SIGNER'))
    const path = [...bundle.path]
    path[0] = `${path[0]!.slice(0, -1)}${path[0]!.endsWith('0') ? '1' : '0'}`
    expect(() => checkConsentBundle({ ...bundle, path })).toThrow(code('LEDGER_ROOT_MISMATCH'))
    expect(() => checkConsentBundle({ ...bundle, round: 0 })).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_INVALID', field: 'round' }))
    expect(() => checkConsentBundle({ ...bundle, root: 'XY' })).toThrow(expect.objectContaining({ field: 'root' }))
    expect(() => checkConsentBundle({ ...bundle, format: 'other' })).toThrow(expect.objectContaining({ field: 'format' }))
    const forged = { ...bundle, receipt: toHex(encodeSignedConsent({ body: signed[1]!.body, signature: signed[2]!.signature })) }
    expect(() => checkConsentBundle(forged)).toThrow(code('PROTOCOL_CONSENT_SIGNATURE_INVALID'))
  })
})
