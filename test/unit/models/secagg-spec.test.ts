/**
 * The secure-aggregation spec (models/core/secagg-spec.ts): Flower's
 * defaults, and the resolution of numShares and reconstructionThreshold for a
 * round, with its refusals.
 */
import { describe, expect, it } from 'vitest'
import { SecAggSpecSchema, resolveSecAggParams, secAggDegree, secAggHeadroom } from '../../../models/core/index.ts'

describe('SecAggSpecSchema', () => {
  it("defaults to Flower's quantization and the complete graph with a majority threshold", () => {
    expect(SecAggSpecSchema.parse({})).toEqual({ numShares: 1, reconstructionThreshold: 0.5, maxWeight: 1000, clippingRange: 8, quantizationRange: 2 ** 22, phaseDeadlineMs: 60_000 })
  })

  it.each([
    { desc: 'numShares 1.5', spec: { numShares: 1.5 } },
    { desc: 'numShares 0', spec: { numShares: 0 } },
    { desc: 'numShares 256 (beyond GF(2^8))', spec: { numShares: 256 } },
    { desc: 'a threshold fraction below a majority', spec: { reconstructionThreshold: 0.4 } },
    { desc: 'a quantization range above 2^31', spec: { quantizationRange: 2 ** 32 } },
    { desc: 'an unknown field', spec: { modulusRange: 2 ** 32 } },
  ])('refuses $desc', ({ spec }) => {
    expect(SecAggSpecSchema.safeParse(spec).success).toBe(false)
  })
})

describe('resolveSecAggParams', () => {
  it('resolves the defaults to the complete graph and the least strict majority', () => {
    // 10 sites: k = 9, t = ⌊0.5·9⌋ + 1 = 5.
    expect(resolveSecAggParams(SecAggSpecSchema.parse({}), 10)).toMatchObject({ participants: 10, k: 9, t: 5 })
    // 9 sites: k = 8, t = 5 (4 would be only half).
    expect(resolveSecAggParams(SecAggSpecSchema.parse({}), 9)).toMatchObject({ k: 8, t: 5 })
  })

  it('resolves fractions of the other participants and of k', () => {
    // 21 sites, 0.3 → k = ⌈0.3·20⌉ = 6; threshold 2/3 → ⌊4⌋ + 1 = 5.
    expect(resolveSecAggParams(SecAggSpecSchema.parse({ numShares: 0.3, reconstructionThreshold: 2 / 3 }), 21)).toMatchObject({ k: 6, t: 5 })
    // A fraction of 1 for the threshold is every neighbour.
    expect(resolveSecAggParams(SecAggSpecSchema.parse({ numShares: 4, reconstructionThreshold: 1 }), 10)).toMatchObject({ k: 4, t: 4 })
  })

  it('raises an odd k by one when n is odd too (no k-regular graph exists)', () => {
    expect(secAggDegree(11, 3)).toBe(4)
    expect(secAggDegree(10, 3)).toBe(3)
    expect(secAggDegree(11, 10)).toBe(10)
    expect(resolveSecAggParams(SecAggSpecSchema.parse({ numShares: 3, reconstructionThreshold: 3 }), 11)).toMatchObject({ k: 4, t: 3 })
  })

  it.each([
    { desc: '2 participants', spec: {}, n: 2, field: 'participants' },
    { desc: 'numShares above n − 1', spec: { numShares: 6 }, n: 6, field: 'numShares' },
    { desc: 'a threshold above k', spec: { numShares: 4, reconstructionThreshold: 5 }, n: 10, field: 'reconstructionThreshold' },
    { desc: 'a threshold of half of k', spec: { numShares: 4, reconstructionThreshold: 2 }, n: 10, field: 'reconstructionThreshold' },
    { desc: 'sums that overflow 32 bits', spec: { numShares: 4, reconstructionThreshold: 3 }, n: 1024, field: 'quantizationRange' },
  ])('refuses $desc (MODEL_SECAGG_SPEC_INVALID, naming the field)', ({ spec, n, field }) => {
    expect(() => resolveSecAggParams(SecAggSpecSchema.parse(spec), n)).toThrow(expect.objectContaining({ code: 'MODEL_SECAGG_SPEC_INVALID', field }))
  })

  it('states the headroom n · Q/2 < 2^31', () => {
    expect(secAggHeadroom(1023, 2 ** 22)).toBe(2 ** 21)
    expect(secAggHeadroom(1024, 2 ** 22)).toBe(0)
  })
})
