/**
 * Secure aggregation end to end (site-session.ts and unmask.ts): the
 * unmasked sum equals the plain sum of the survivors' quantized inputs, with
 * dropouts at every phase, on the complete graph and on a sparse one; and
 * each way a coordinator or a site could cheat is refused.
 */
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../../../../models/core/index.ts'
import { quantizeDelta, unmaskSum } from '../../../../protocol/index.ts'
import { playRound } from '../../../helpers/secagg.ts'

const P = { maxWeight: 1000, clippingRange: 8, quantizationRange: 2 ** 22 }

function inputsFor(n: number, words: number, seed = 1): Map<string, Uint32Array> {
  const random = mulberry32(seed)
  const out = new Map<string, Uint32Array>()
  for (let i = 0; i < n; i++) {
    const delta = Float32Array.from({ length: words }, () => 20 * random() - 10)
    out.set(`hospital-${String.fromCharCode(97 + i)}`, quantizeDelta(delta, 0.1 + 0.9 * random(), P))
  }
  return out
}

describe('secure sum', () => {
  it.each([
    { desc: 'complete graph, no dropout', n: 5, k: 4, t: 3, drops: [] as string[] },
    { desc: 'complete graph, 1 dropout', n: 5, k: 4, t: 3, drops: ['hospital-c'] },
    { desc: 'complete graph, t − 1 = 2 dropouts', n: 6, k: 5, t: 3, drops: ['hospital-a', 'hospital-f'] },
    { desc: 'sparse graph (k = 5 of 11), no dropout', n: 12, k: 5, t: 3, drops: [] },
    { desc: 'sparse graph, 1 dropout', n: 12, k: 5, t: 3, drops: ['hospital-e'] },
    { desc: 'sparse graph, t − 1 = 2 dropouts', n: 12, k: 5, t: 3, drops: ['hospital-b', 'hospital-k'] },
  ])("equals the plain sum of the survivors' inputs: $desc", async ({ n, k, t, drops }) => {
    // Prepare / Execute: the dropped sites share their keys, then send no masked input.
    const played = await playRound({ params: { k, t }, inputs: inputsFor(n, 257), dropBeforeMasking: drops })
    const sum = unmaskSum(played.unmaskInput)

    // Assert
    expect(played.survivors.length).toBe(n - drops.length)
    expect(sum).toEqual(played.plainSum)
  })

  it('survives dropouts in every phase: before sharing, before masking, and survivors that do not reveal', async () => {
    // Prepare: 12 sites, k = 8, t = 5 (3 losses per neighbourhood tolerated); one leaves before sharing, one before masking, one after masking (counted, silent).
    const played = await playRound({
      params: { k: 8, t: 5 },
      inputs: inputsFor(12, 100, 2),
      dropBeforeShares: ['hospital-d'],
      dropBeforeMasking: ['hospital-h'],
      dropBeforeReveal: ['hospital-a'],
    })

    // Execute
    const sum = unmaskSum(played.unmaskInput)

    // Assert: hospital-a's input is in the sum though it revealed nothing.
    expect(played.survivors).toContain('hospital-a')
    expect(sum).toEqual(played.plainSum)
  })

  it('hides each input: the masked input differs from the input in (nearly) every word', async () => {
    const inputs = inputsFor(4, 1000, 3)
    const played = await playRound({ params: { k: 3, t: 2 }, inputs })
    const x = inputs.get('hospital-a')!
    const y = played.masked.get('hospital-a')!
    let same = 0
    for (let i = 0; i < x.length; i++) if (x[i] === y[i]) same++
    expect(same).toBeLessThan(3)
  })

  it('refuses to unmask below the threshold, naming the site whose mask cannot be removed (PROTOCOL_SECAGG_THRESHOLD)', async () => {
    // Prepare: n = 5 complete, t = 3; a and b stay silent, so c, d and e each have only 2 b shares revealed (a and b still have 3).
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputsFor(5, 10), dropBeforeReveal: ['hospital-a', 'hospital-b'] })

    // Execute / Assert
    expect(() => unmaskSum(played.unmaskInput)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_THRESHOLD', site: 'hospital-c', have: 2, need: 3 }))
  })

  it("detects a revealer that lies about a survivor's b share, by its commitment (PROTOCOL_SECAGG_SHARE_INVALID)", async () => {
    // Prepare: hospital-b flips one bit of its share of hospital-c's b.
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputsFor(5, 10) })
    const lies = played.unmaskInput.reveals.get('hospital-b')!.map((r) => (r.of === 'hospital-c' ? { ...r, share: Uint8Array.from(r.share, (v, i) => (i === 0 ? v ^ 1 : v)) } : r))
    played.unmaskInput.reveals.set('hospital-b', lies)

    // Execute / Assert
    expect(() => unmaskSum(played.unmaskInput)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_SHARE_INVALID', site: 'hospital-c' }))
  })

  it("detects a revealer that lies about a dropped site's mask key, by its public key (PROTOCOL_SECAGG_SHARE_INVALID)", async () => {
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputsFor(5, 10), dropBeforeMasking: ['hospital-e'] })
    const lies = played.unmaskInput.reveals.get('hospital-a')!.map((r) => (r.of === 'hospital-e' ? { ...r, share: Uint8Array.from(r.share, (v, i) => (i === 5 ? v ^ 0x80 : v)) } : r))
    played.unmaskInput.reveals.set('hospital-a', lies)
    expect(() => unmaskSum(played.unmaskInput)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_SHARE_INVALID', site: 'hospital-e' }))
  })

  it('refuses a revealer that hands over both kinds for one site, or the kind the survivors do not call for (PROTOCOL_SECAGG_DOUBLE_REVEAL)', async () => {
    // Prepare: hospital-a adds an s share of survivor hospital-b (a forged extra reveal).
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputsFor(5, 10), dropBeforeMasking: ['hospital-e'] })
    const honest = played.unmaskInput.reveals.get('hospital-a')!
    const ofB = honest.find((r) => r.of === 'hospital-b')!

    // Execute / Assert: both kinds of b
    played.unmaskInput.reveals.set('hospital-a', [...honest, { of: 'hospital-b', kind: 's', share: ofB.share }])
    expect(() => unmaskSum(played.unmaskInput)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_DOUBLE_REVEAL', site: 'hospital-a' }))
    // An s share of a survivor, alone.
    played.unmaskInput.reveals.set('hospital-a', [...honest.filter((r) => r.of !== 'hospital-b'), { of: 'hospital-b', kind: 's', share: ofB.share }])
    expect(() => unmaskSum(played.unmaskInput)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_DOUBLE_REVEAL', site: 'hospital-a' }))
    // A b share of the dropped site.
    played.unmaskInput.reveals.set(
      'hospital-a',
      honest.map((r) => (r.of === 'hospital-e' ? { ...r, kind: 'b' as const } : r)),
    )
    expect(() => unmaskSum(played.unmaskInput)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_DOUBLE_REVEAL', site: 'hospital-a' }))
  })

  it('refuses reveals from a site that is not a survivor, and survivors that never shared', async () => {
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputsFor(5, 10), dropBeforeMasking: ['hospital-e'] })
    played.unmaskInput.reveals.set('hospital-e', [])
    expect(() => unmaskSum(played.unmaskInput)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_SHARE_INVALID', site: 'hospital-e' }))
    played.unmaskInput.reveals.delete('hospital-e')
    expect(() => unmaskSum({ ...played.unmaskInput, sharedBy: played.survivors.filter((s) => s !== 'hospital-a') })).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_SECAGG_SURVIVORS_INVALID', site: 'hospital-a' }),
    )
  })

  it('gives the same sum whatever the order of the reveals and survivors (the audit replays it)', async () => {
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputsFor(5, 64), dropBeforeMasking: ['hospital-b'] })
    const reversed = new Map([...played.unmaskInput.reveals].reverse())
    const sum = unmaskSum({ ...played.unmaskInput, reveals: reversed, survivors: [...played.survivors].reverse() })
    expect(sum).toEqual(played.plainSum)
  })

  it("reads each survivor's masked input once, in code-unit order, after every secret checked out", async () => {
    // Prepare
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputsFor(5, 16), dropBeforeMasking: ['hospital-c'] })
    const recorder = (log: string[]) => (site: string) => {
      log.push(site)
      return played.masked.get(site)!
    }
    const reads: string[] = []

    // Execute
    unmaskSum({ ...played.unmaskInput, masked: recorder(reads) })
    const lying = new Map(played.unmaskInput.reveals)
    lying.set(
      'hospital-a',
      lying.get('hospital-a')!.map((r) => ({ ...r, share: r.share.map((v) => v ^ 0xff) })),
    )
    const readsBeforeFailure: string[] = []
    expect(() => unmaskSum({ ...played.unmaskInput, reveals: lying, masked: recorder(readsBeforeFailure) })).toThrow()

    // Assert
    expect(reads).toEqual(['hospital-a', 'hospital-b', 'hospital-d', 'hospital-e'])
    expect(readsBeforeFailure).toEqual([])
  })
})
