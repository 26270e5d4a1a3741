/**
 * A round that auto-advance cannot open is said, not only logged: the
 * runner emits `auto-advance-failed` with the decider's refusal, so a bench
 * or an embedding program stops instead of waiting for deadlines hours away.
 * Today's case: 2,000 enrolled sites make a round-opened entry (its plan,
 * compact as it is past 256 sites) larger than one log entry may be.
 */
import { describe, expect, it } from 'vitest'
import { RoundRunner } from '../../coordinator/index.ts'
import { Ledger, openLevelStorage, signerFromSeed } from '../../ledger/index.ts'
import { StudySpecSchema } from '../../models/index.ts'
import { signStatement } from '../../protocol/index.ts'
import { quietLogger, TEST_STUDY, testSigner } from '../helpers/federation.ts'
import { createTempDir } from '../helpers/ledger.ts'

const SITES = 2000

describe('auto-advance that cannot open the next round', () => {
  it('emits auto-advance-failed with the refusal', async () => {
    // Prepare: a study whose round plan (SITES sites) does not fit one log entry.
    const dir = await createTempDir()
    const ledger = await Ledger.open(await openLevelStorage(dir))
    const hub = testSigner(1)
    const signers = Array.from({ length: SITES }, (_, i) => signerFromSeed(new Uint8Array(32).map((_, k) => (k < 2 ? (i >> (8 * k)) & 0xff : 7))))
    const sites = signers.map((s, i) => ({ id: `hospital-${String(i).padStart(4, '0')}`, publicKey: s.publicKey }))
    const runner = await RoundRunner.open(
      { ledger, signer: hub, logger: quietLogger },
      { study: StudySpecSchema.parse({ ...TEST_STUDY, minSites: 1 }), sites, hubKey: hub.publicKey, autoAdvance: true, maxRequestAgeMs: 300_000 },
    )
    const failed = new Promise<Error>((resolve) => runner.on('auto-advance-failed', resolve))

    // Execute: a site's evaluation of the initial model is the next step; after it, auto-advance tries round 1 again.
    const report = { t: 'evaluation' as const, study: runner.state.studyId, round: 0, site: sites[0]!.id, model: runner.state.genesis, examples: 10, metrics: { loss: 0.5 }, time: Date.now() }
    await runner.acceptEvaluation(signStatement(signers[0]!, report))

    // Assert
    const err = await failed
    expect((err as Error & { code?: string }).code).toBe('COORD_ENTRY_TOO_LARGE')
    expect(runner.state.openRound).toBeUndefined()
    await runner.close()
    await ledger.close()
  })
})
