/**
 * A site's session (protocol/secagg/site-session.ts): boxes bound to study,
 * round and pair; one reveal per round; the checks on the survivor set.
 */
import { describe, expect, it } from 'vitest'
import { SiteSecAggSession, secAggGraph } from '../../../../protocol/index.ts'
import { playRound } from '../../../helpers/secagg.ts'
import { seededRandomBytes } from '../../../helpers/seeded-random-bytes.ts'

const inputs = (sites: readonly string[], words = 4) => new Map(sites.map((s) => [s, new Uint32Array(words).fill(s.length)]))
const FIVE = ['a', 'b', 'c', 'd', 'e']

describe('SiteSecAggSession', () => {
  it("seals one box for each neighbour in the round's graph, sorted by recipient", async () => {
    // Prepare: 8 sites, k = 4.
    const sites = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8']
    const sessions = sites.map((site) => new SiteSecAggSession({ study: 'st', round: 2, site, seed: 99, params: { k: 4, t: 3 }, randomBytes: seededRandomBytes(site) }))
    const keys = new Map(sessions.map((s, i) => [sites[i]!, s.advertise()]))

    // Execute
    const { shares, bCommit } = await sessions[0]!.shareKeys(keys)

    // Assert
    expect(shares.map((s) => s.to)).toEqual(secAggGraph(sites, 4, 99).get('s1'))
    expect(bCommit.length).toBe(32)
  })

  it('refuses a second reveal, whatever the survivor set (PROTOCOL_SECAGG_DOUBLE_REVEAL)', async () => {
    // Prepare
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputs(FIVE) })
    const a = played.sessions.get('a')!

    // Execute / Assert: the harness already revealed once for every survivor.
    expect(() => a.revealShares(played.survivors)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_DOUBLE_REVEAL', site: 'a' }))
    expect(() => a.revealShares(['a', 'b', 'c'])).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_DOUBLE_REVEAL', site: 'a' }))
  })

  it('reveals b shares of survivors and s shares of the dropped, never both', async () => {
    // Prepare: e shares and drops before masking.
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputs(FIVE), dropBeforeMasking: ['e'], dropBeforeReveal: ['a'] })

    // Execute
    const reveals = played.sessions.get('a')!.revealShares(['a', 'b', 'c', 'd'])

    // Assert
    expect(reveals.map((r) => [r.of, r.kind])).toEqual([
      ['b', 'b'],
      ['c', 'b'],
      ['d', 'b'],
      ['e', 's'],
    ])
  })

  it.each([
    { desc: 'fewer survivors than t', survivors: ['a', 'b'], code: 'PROTOCOL_SECAGG_THRESHOLD' },
    { desc: 'a survivor list without the site', survivors: ['b', 'c', 'd'], code: 'PROTOCOL_SECAGG_SURVIVORS_INVALID' },
    { desc: 'a repeated survivor', survivors: ['a', 'b', 'b', 'c'], code: 'PROTOCOL_SECAGG_SURVIVORS_INVALID' },
    { desc: 'a survivor that never sent its shares (not in U2)', survivors: ['a', 'b', 'c', 'e'], code: 'PROTOCOL_SECAGG_SURVIVORS_INVALID' },
  ])('refuses to reveal for $desc, and may still reveal once afterwards', async ({ survivors, code }) => {
    // Prepare: e never shares; a has not revealed yet.
    const played = await playRound({ params: { k: 4, t: 3 }, inputs: inputs(FIVE), dropBeforeShares: ['e'], dropBeforeReveal: ['a'] })
    const a = played.sessions.get('a')!

    // Execute / Assert
    expect(() => a.revealShares(survivors)).toThrow(expect.objectContaining({ code }))
    expect(a.revealShares(['a', 'b', 'c', 'd']).length).toBe(3)
  })

  it('refuses a box from the same sites in another round, naming its sender (PROTOCOL_SECAGG_SHARE_INVALID)', async () => {
    // Prepare: the same sites, keys and randomness, one round apart.
    const round1 = await playRound({ round: 1, params: { k: 4, t: 3 }, inputs: inputs(FIVE) })
    const sessions2 = FIVE.map((site) => new SiteSecAggSession({ study: 'secagg-study', round: 2, site, seed: 4242, params: { k: 4, t: 3 } }))
    const keys2 = new Map(sessions2.map((s, i) => [FIVE[i]!, s.advertise()]))
    await sessions2[0]!.shareKeys(keys2)

    // Execute / Assert: a's round-2 session is given b's round-1 box (and the others' honest round-1 boxes).
    expect(() => sessions2[0]!.receiveShares(round1.boxes.get('a')!)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_SHARE_INVALID', site: 'b' }))
  })

  it('refuses a box sealed for another site (forwarded to the wrong recipient)', async () => {
    // Prepare: sessions that have shared but not yet received.
    const sessions = FIVE.map((site) => new SiteSecAggSession({ study: 'st', round: 1, site, seed: 1, params: { k: 4, t: 3 }, randomBytes: seededRandomBytes(`wrong/${site}`) }))
    const keys = new Map(sessions.map((s, i) => [FIVE[i]!, s.advertise()]))
    const sent = await Promise.all(sessions.map((s) => s.shareKeys(keys)))
    const forC = (from: number) => sent[from]!.shares.find((s) => s.to === 'c')!.box
    const boxesForB = new Map(FIVE.filter((s) => s !== 'b').map((from) => [from, sent[FIVE.indexOf(from)]!.shares.find((s) => s.to === 'b')!.box]))

    // Execute: d's box for c is handed to b as if d had sent it to b.
    boxesForB.set('d', forC(3))

    // Assert
    expect(() => sessions[1]!.receiveShares(boxesForB)).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_SHARE_INVALID', site: 'd' }))
  })

  it('refuses a box from a site that is not a neighbour', async () => {
    const sites = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8']
    const sessions = sites.map((site) => new SiteSecAggSession({ study: 'st', round: 1, site, seed: 5, params: { k: 2, t: 2 } }))
    const keys = new Map(sessions.map((s, i) => [sites[i]!, s.advertise()]))
    await sessions[0]!.shareKeys(keys)
    const stranger = sites.find((s) => s !== 's1' && !secAggGraph(sites, 2, 5).get('s1')!.includes(s))!
    expect(() => sessions[0]!.receiveShares(new Map([[stranger, new Uint8Array(100)]]))).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_SHARE_INVALID', site: stranger }))
  })

  it('refuses fewer boxes than the threshold, and a second masked input', async () => {
    // Prepare
    const sessions = FIVE.map((site) => new SiteSecAggSession({ study: 'st', round: 1, site, seed: 1, params: { k: 4, t: 3 } }))
    const keys = new Map(sessions.map((s, i) => [FIVE[i]!, s.advertise()]))
    const sent = await Promise.all(sessions.map((s) => s.shareKeys(keys)))
    const boxFor = (from: number, to: string) => sent[from]!.shares.find((s) => s.to === to)!.box

    // Execute / Assert: a gets only b's and c's boxes.
    expect(() =>
      sessions[0]!.receiveShares(
        new Map([
          ['b', boxFor(1, 'a')],
          ['c', boxFor(2, 'a')],
        ]),
      ),
    ).toThrow(expect.objectContaining({ code: 'PROTOCOL_SECAGG_THRESHOLD', have: 2, need: 3 }))
    sessions[0]!.receiveShares(new Map(['b', 'c', 'd'].map((from) => [from, boxFor(FIVE.indexOf(from), 'a')])))
    sessions[0]!.maskInput(new Uint32Array(3))
    expect(() => sessions[0]!.maskInput(new Uint32Array(3))).toThrow(expect.objectContaining({ code: 'PROTOCOL_INVALID_ARGUMENT' }))
  })

  it('refuses a neighbour whose advertised key is a low-order point (PROTOCOL_SECAGG_KEY_INVALID), and may share again without it', async () => {
    const sessions = FIVE.map((site) => new SiteSecAggSession({ study: 'st', round: 1, site, seed: 1, params: { k: 4, t: 3 } }))
    const keys = new Map(sessions.map((s, i) => [FIVE[i]!, s.advertise()]))
    keys.set('c', { cPk: keys.get('c')!.cPk, sPk: new Uint8Array(32) })
    await expect(sessions[0]!.shareKeys(keys)).rejects.toMatchObject({ code: 'PROTOCOL_SECAGG_KEY_INVALID', site: 'c' })

    // Nothing was sent, so the site may share once the coordinator leaves the bad key out.
    keys.delete('c')
    const { shares } = await sessions[0]!.shareKeys(keys)
    expect(shares.map((s) => s.to)).toEqual(['b', 'd', 'e'])
    await expect(sessions[0]!.shareKeys(keys)).rejects.toMatchObject({ code: 'PROTOCOL_INVALID_ARGUMENT' })
  })

  it('refuses a second shareKeys while the first is still splitting', async () => {
    const sessions = FIVE.map((site) => new SiteSecAggSession({ study: 'st', round: 1, site, seed: 1, params: { k: 4, t: 3 } }))
    const keys = new Map(sessions.map((s, i) => [FIVE[i]!, s.advertise()]))
    const first = sessions[0]!.shareKeys(keys)
    await expect(sessions[0]!.shareKeys(keys)).rejects.toMatchObject({ code: 'PROTOCOL_INVALID_ARGUMENT' })
    expect((await first).shares.length).toBe(4)
  })
})
