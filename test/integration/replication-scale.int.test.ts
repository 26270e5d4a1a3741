/**
 * Replication with many sites on one IP address (one host, loopback, one
 * NAT), as a study's replicas run in the benchmarks and behind a hospital
 * group's gateway. Nothing is mocked, nothing sleeps: every wait is on an
 * event, with a deadline.
 */
import { describe, expect, it } from 'vitest'
import { checkpointTopic, toHex } from '../../ledger/index.ts'
import { testDrafts } from '../helpers/ledger.ts'
import { COORDINATOR, ORIGIN, appendCheckpointed, createCoordinatorLedger, startReplica, waitForSize, waitForSubscribers } from '../helpers/replica.ts'

/** More than gossipsub's 10 peers per IP plus the 4 its graylist threshold tolerates. */
const SITES = 20

describe('replication with many replicas on one address', () => {
  it('keeps every replica following the log live through gossip', async () => {
    // Prepare: a coordinator sized for the study, and 20 replicas on 127.0.0.1 that dial it
    const coordinator = await startReplica({ fixture: await createCoordinatorLedger(3), signer: COORDINATOR, expectedPeers: SITES })
    const replicas = await Promise.all(Array.from({ length: SITES }, () => startReplica({ peers: [coordinator] })))
    await Promise.all(replicas.map((r) => waitForSize(r, 3)))
    await waitForSubscribers(coordinator.node, checkpointTopic(ORIGIN), SITES)

    // Execute: the study goes on, one announced append at a time; nobody calls syncWith
    const appends = 12
    for (let i = 0; i < appends; i++) await coordinator.sync.announce(await appendCheckpointed(coordinator.fixture, testDrafts(1, 3 + i)))

    // Assert: every replica holds the whole log, through gossip alone
    await Promise.all(replicas.map((r) => waitForSize(r, 3 + appends)))
    const root = toHex(await coordinator.fixture.ledger.root())
    for (const r of replicas) expect(toHex(await r.fixture.ledger.root())).toBe(root)
  })
})
