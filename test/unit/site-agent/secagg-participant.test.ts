/**
 * A site's part in secure aggregation (site-agent/secagg-participant.ts)
 * against a coordinator that misbehaves: keys not signed by the sender's
 * enrolled key, a survivor set other than the one the site's replica logs,
 * and a second unmask request. In each case the site sends nothing more.
 */
import { describe, expect, it } from 'vitest'
import { StudySpecSchema, inputWidth, modelShapes, resolveSecAggParams } from '../../../models/index.ts'
import { SiteSecAggSession, decodeStatement, signStatement, type SignedStatement } from '../../../protocol/index.ts'
import { SecAggParticipant } from '../../../site-agent/index.ts'
import { TEST_STUDY, quietLogger, testSigner } from '../../helpers/federation.ts'

const spec = StudySpecSchema.parse({ ...TEST_STUDY, minSites: 3, secureAggregation: {} })
const shapes = modelShapes(spec.model, inputWidth(spec.data))
const SITES = ['a-lab', 'b-lab', 'c-lab', 'd-lab']
const signers = new Map(SITES.map((s, i) => [s, testSigner(20 + i)]))
const ROUND = 1
const SEED = 77

/** Site a-lab's participant, with what it submits recorded; `survivors` is what its replica logs. */
function participant(survivors: readonly string[] | undefined = undefined) {
  const sent: SignedStatement[] = []
  const p = new SecAggParticipant({
    spec,
    site: 'a-lab',
    round: ROUND,
    seed: SEED,
    shapes,
    signer: signers.get('a-lab')!,
    logger: quietLogger,
    submit: async (s) => {
      sent.push(s)
    },
    enrolledKeys: async () => new Map([...signers].map(([s, k]) => [s, k.publicKey])),
    loggedSurvivors: async () => survivors,
  })
  return { p, sent }
}

/** The other sites' sessions and their signed keys. */
function others(signerFor: (site: string) => ReturnType<typeof testSigner> = (s) => signers.get(s)!) {
  return SITES.slice(1).map((site) => {
    const session = new SiteSecAggSession({ study: spec.id, round: ROUND, site, seed: SEED })
    const { cPk, sPk } = session.advertise()
    return { site, session, keys: signStatement(signerFor(site), { t: 'secagg-keys', study: spec.id, round: ROUND, site, cPk, sPk, time: Date.now() }) }
  })
}

/** Runs a-lab to the point of unmasking: keys, shares, the boxes of the others. */
async function toUnmask(survivors: readonly string[] | undefined) {
  const { p, sent } = participant(survivors)
  await p.advertise()
  const peers = others()
  const keys = [sent[0]!, ...peers.map((o) => o.keys)]
  const { k, t } = resolveSecAggParams(spec.secureAggregation!, SITES.length)
  await p.onTask({ kind: 'secagg', round: ROUND, phase: 'shares', k, t, sites: SITES, keys })
  // The others share too, so a-lab gets a box from each.
  const allKeys = new Map(keys.map((s) => decodeStatement('secagg-keys', s.body)).map((s) => [s.site, { cPk: s.cPk, sPk: s.sPk }]))
  const boxes: { from: string; box: Uint8Array }[] = []
  for (const o of peers) {
    const { shares } = await o.session.shareKeys(allKeys, { k, t })
    boxes.push({ from: o.site, box: shares.find((x) => x.to === 'a-lab')!.box })
  }
  await p.onTask({ kind: 'secagg', round: ROUND, phase: 'input', sites: SITES, boxes })
  return { p, sent }
}

describe('SecAggParticipant', () => {
  it('refuses to share when a participant’s keys are not signed by its enrolled key (a coordinator substituting keys)', async () => {
    // Prepare
    const { p, sent } = participant()
    await p.advertise()
    const forged = others((site) => (site === 'c-lab' ? testSigner(99) : signers.get(site)!))
    const { k, t } = resolveSecAggParams(spec.secureAggregation!, SITES.length)

    // Execute
    const result = p.onTask({ kind: 'secagg', round: ROUND, phase: 'shares', k, t, sites: SITES, keys: [sent[0]!, ...forged.map((o) => o.keys)] })

    // Assert
    await expect(result).rejects.toMatchObject({ code: 'SITE_SECAGG_REFUSED', message: expect.stringMatching(/"c-lab" are not signed by its enrolled key/) })
    expect(sent).toHaveLength(1)
  })

  it('reveals nothing when the survivor set sent differs from the one its replica logs', async () => {
    // Prepare
    const { p, sent } = await toUnmask(['a-lab', 'b-lab', 'c-lab'])

    // Execute
    const result = p.onTask({ kind: 'secagg', round: ROUND, phase: 'unmask', sites: SITES })

    // Assert
    await expect(result).rejects.toMatchObject({ code: 'SITE_SECAGG_REFUSED', message: expect.stringMatching(/not the log's/) })
    expect(sent).toHaveLength(2)
  })

  it('reveals once for the logged set, and refuses a second request (which could hand over both secrets of a site)', async () => {
    // Prepare
    const { p, sent } = await toUnmask(SITES)

    // Execute
    await p.onTask({ kind: 'secagg', round: ROUND, phase: 'unmask', sites: SITES })
    const again = p.onTask({ kind: 'secagg', round: ROUND, phase: 'unmask', sites: SITES })

    // Assert
    expect(sent).toHaveLength(3)
    await expect(again).rejects.toMatchObject({ code: 'PROTOCOL_SECAGG_DOUBLE_REVEAL' })
    expect(sent).toHaveLength(3)
  })
})
