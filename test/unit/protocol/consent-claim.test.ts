/**
 * The consent claim of an update envelope (protocol/consent-claim.ts): it
 * reads back what it encodes, refuses malformed values naming the field, and
 * `checkConsentNonInclusion` accepts exactly the claims that prove each
 * required pseudonym absent from their own tree, with the mutated siblings
 * of STYLE.md §6 failing with their codes.
 */
import { describe, expect, it } from 'vitest'
import { encodeCanonical, decodeCanonical, type CanonicalValue } from '../../../ledger/core/index.ts'
import {
  checkConsentNonInclusion,
  consentClaimOf,
  consentSummaryOf,
  consentTreeOf,
  encodeConsentClaim,
  proveConsentNonInclusion,
  readConsentClaim,
  type ConsentClaim,
  type ConsentLeaf,
  type ConsentNonInclusionProof,
} from '../../../protocol/index.ts'

const code = (c: string) => expect.objectContaining({ code: c })

/** A 32-byte pseudonym whose every byte is `b`: easy to order by hand. */
const p = (b: number) => new Uint8Array(32).fill(b)
const leaf = (b: number): ConsentLeaf => ({ pseudonym: p(b), receiptHash: new Uint8Array(32).fill(255 - b) })

/** A tree of leaves 0x10, 0x20, …, 0x70 and a claim over it proving 0x35 and 0x80 absent. */
function fixture(): { claim: ConsentClaim; proofs: ConsentNonInclusionProof[] } {
  const tree = consentTreeOf([0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70].map(leaf))
  const proofs = [proveConsentNonInclusion(tree, p(0x35)), proveConsentNonInclusion(tree, p(0x80))]
  return {
    proofs,
    claim: {
      at: 1_700_000_000_000,
      root: tree.root,
      count: tree.count,
      excluded: { noConsent: 3, expired: 1, notYetValid: 0, revoked: 2 },
      revoked: [
        { pseudonym: p(0x80), time: 1_699_000_000_000 },
        { pseudonym: p(0x35), time: 1_698_000_000_000 },
      ],
      nonInclusion: [proofs[1]!, proofs[0]!],
    },
  }
}

/** The claim as it travels: encoded, through canonical CBOR bytes, and back. */
function roundTrip(claim: ConsentClaim): ConsentClaim {
  return readConsentClaim(decodeCanonical(encodeCanonical(encodeConsentClaim(claim))))
}

const flip = (b: Uint8Array, i = 0) => {
  const out = Uint8Array.from(b)
  out[i] = out[i]! ^ 1
  return out
}

describe('consent claim codec', () => {
  it('reads back what it encodes, sorted by pseudonym', () => {
    // Prepare
    const { claim } = fixture()

    // Execute
    const back = roundTrip(claim)

    // Assert
    expect(back.root).toEqual(claim.root)
    expect(back.count).toBe(7)
    expect(back.excluded).toEqual(claim.excluded)
    expect(back.revoked.map((r) => r.pseudonym[0])).toEqual([0x35, 0x80])
    expect(back.nonInclusion.map((x) => x.pseudonym[0])).toEqual([0x35, 0x80])
    expect(() => checkConsentNonInclusion(back, [p(0x35), p(0x80)])).not.toThrow()
  })

  it('finds the claim in an ext map and summarises it without the proofs', () => {
    // Prepare
    const ext = { consent: encodeConsentClaim(fixture().claim), other: 1 }

    // Execute
    const claim = consentClaimOf(ext)
    const summary = consentSummaryOf(ext)

    // Assert
    expect(claim?.count).toBe(7)
    expect(summary).toEqual({ at: claim!.at, root: claim!.root, count: 7, excluded: claim!.excluded })
    expect(consentClaimOf(undefined)).toBeUndefined()
    expect(consentClaimOf({ other: 1 })).toBeUndefined()
    expect(consentSummaryOf({ consent: 'junk' })).toBeUndefined()
  })

  it.each<[string, (v: Record<string, CanonicalValue>) => Record<string, CanonicalValue>, string]>([
    ['a short root', (v) => ({ ...v, root: new Uint8Array(31) }), 'root'],
    ['a negative count', (v) => ({ ...v, count: -1 }), 'count'],
    ['a missing exclusion count', (v) => ({ ...v, excluded: { noConsent: 0, expired: 0, notYetValid: 0 } }), 'excluded.revoked'],
    ['an unknown field', (v) => ({ ...v, extra: 1 }), '(root)'],
    ['unsorted revocations', (v) => ({ ...v, revoked: [...(v['revoked'] as CanonicalValue[])].reverse() }), 'revoked.1.pseudonym'],
    ['a repeated proof', (v) => ({ ...v, nonInclusion: [(v['nonInclusion'] as CanonicalValue[])[0]!, (v['nonInclusion'] as CanonicalValue[])[0]!] }), 'nonInclusion.1.pseudonym'],
    [
      'a short path node',
      (v) => {
        const [first, ...rest] = v['nonInclusion'] as Record<string, CanonicalValue>[]
        const left = first!['left'] as Record<string, CanonicalValue>
        return { ...v, nonInclusion: [{ ...first!, left: { ...left, path: [new Uint8Array(3)] } }, ...rest] }
      },
      'nonInclusion.0.left.path.0',
    ],
  ])('refuses %s, naming the field', (_what, mutate, field) => {
    // Prepare
    const value = encodeConsentClaim(fixture().claim) as Record<string, CanonicalValue>

    // Execute / Assert
    expect(() => readConsentClaim(mutate(value))).toThrow(expect.objectContaining({ code: 'PROTOCOL_CONSENT_INVALID', field }))
  })
})

describe('checkConsentNonInclusion', () => {
  it('passes with nothing to prove, even in the empty tree', () => {
    // Prepare
    const empty = consentTreeOf([])
    const claim: ConsentClaim = { ...fixture().claim, root: empty.root, count: 0, revoked: [], nonInclusion: [proveConsentNonInclusion(empty, p(1))] }

    // Execute / Assert
    expect(() => checkConsentNonInclusion(claim, [])).not.toThrow()
    expect(() => checkConsentNonInclusion(claim, [p(1)])).not.toThrow()
  })

  it('refuses a missing proof', () => {
    // Prepare
    const { claim } = fixture()

    // Execute / Assert
    expect(() => checkConsentNonInclusion(claim, [p(0x35), p(0x45)])).toThrow(code('PROTOCOL_CONSENT_PROOF_MISSING'))
  })

  it('refuses a root that includes the pseudonym: no proof can show it absent', () => {
    // Prepare: the site's tree includes the revoked 0x35; the old proof is kept.
    const { claim } = fixture()
    const dishonest = consentTreeOf([0x10, 0x20, 0x30, 0x35, 0x40, 0x50, 0x60, 0x70].map(leaf))

    // Execute / Assert: against the new root and count, and with the proof of the new tree refused outright.
    expect(() => checkConsentNonInclusion({ ...claim, root: dishonest.root }, [p(0x35)])).toThrow(code('LEDGER_ROOT_MISMATCH'))
    expect(() => checkConsentNonInclusion({ ...claim, root: dishonest.root, count: dishonest.count }, [p(0x35)])).toThrow(code('PROTOCOL_CONSENT_COUNT_MISMATCH'))
    expect(() => proveConsentNonInclusion(dishonest, p(0x35))).toThrow(code('PROTOCOL_CONSENT_PSEUDONYM_PRESENT'))
  })

  const mutations: [string, (proof: ConsentNonInclusionProof) => ConsentNonInclusionProof, string][] = [
    ['a flipped bit in left.proof[0]', (x) => ({ ...x, left: { ...x.left!, proof: [flip(x.left!.proof[0]!), ...x.left!.proof.slice(1)] } }), 'LEDGER_ROOT_MISMATCH'],
    ['left.index + 1', (x) => ({ ...x, left: { ...x.left!, index: x.left!.index + 1 } }), 'PROTOCOL_CONSENT_NON_INCLUSION_INVALID'],
    ['both indices - 1', (x) => ({ ...x, left: { ...x.left!, index: x.left!.index - 1 }, right: { ...x.right!, index: x.right!.index - 1 } }), 'LEDGER_ROOT_MISMATCH'],
    ['count × 2', (x) => ({ ...x, count: x.count * 2 }), 'PROTOCOL_CONSENT_COUNT_MISMATCH'],
    ['a truncated path', (x) => ({ ...x, right: { ...x.right!, proof: x.right!.proof.slice(1) } }), 'LEDGER_PROOF_WRONG_LENGTH'],
    ['trailing garbage', (x) => ({ ...x, right: { ...x.right!, proof: [...x.right!.proof, new Uint8Array(32)] } }), 'LEDGER_PROOF_WRONG_LENGTH'],
    ['a dropped neighbour', (x) => ({ ...x, right: null }), 'PROTOCOL_CONSENT_NON_INCLUSION_INVALID'],
    ['another pseudonym', (x) => ({ ...x, pseudonym: p(0x45) }), 'PROTOCOL_CONSENT_NON_INCLUSION_INVALID'],
  ]
  it.each(mutations)('refuses the proof with %s', (_what, mutate, want) => {
    // Prepare: the proof of 0x35 (neighbours 0x30 and 0x40), mutated, required for the pseudonym it names.
    const { claim, proofs } = fixture()
    const mutated = mutate(proofs[0]!)
    const bad: ConsentClaim = { ...claim, nonInclusion: [mutated, proofs[1]!] }

    // Execute / Assert
    expect(() => checkConsentNonInclusion(bad, [mutated.pseudonym])).toThrow(code(want))
  })

  it('refuses swapped roots', () => {
    // Prepare
    const { claim } = fixture()
    const other = consentTreeOf([0x11, 0x21, 0x31, 0x41, 0x51, 0x61, 0x71].map(leaf))

    // Execute / Assert
    expect(() => checkConsentNonInclusion({ ...claim, root: other.root }, [p(0x80)])).toThrow(code('LEDGER_ROOT_MISMATCH'))
  })
})
