/**
 * One replica of bench:ledger's replication section, in a process of its
 * own (forked by replication.ts): opens a LevelDB ledger in `dir`, starts a
 * replica node dialing the coordinator at `hub`, and reports over IPC, with
 * absolute timestamps (`performance.timeOrigin + performance.now()`, ms, the
 * same clock in every process on the machine):
 *   { type: 'ready', length }                when connected and caught up with
 *                                             the coordinator's first checkpoint
 *   { type: 'gossip', size, at }             first gossip of each checkpoint size
 *   { type: 'synced', size, at }             every `synced` event
 * and stops on { type: 'stop' }.
 *
 * Usage (by replication.ts only): replica-process.ts <dir> <hub multiaddr> <initial size>
 */
import { Ledger, checkpointTopic, decodeSignedCheckpoint, openLevelStorage, readCheckpoint, createReplicaNode } from '../../ledger/index.ts'
import { COORDINATOR, STUDY_ID } from './fixtures.ts'

const [dir, hub, initial] = process.argv.slice(2)
if (dir === undefined || hub === undefined || initial === undefined || process.send === undefined) throw new Error('replica-process.ts: run by bench/ledger/replication.ts over IPC')
const send = (msg: object) => process.send!(msg)
const now = () => performance.timeOrigin + performance.now()

const ledger = await Ledger.open(await openLevelStorage(dir))
const node = await createReplicaNode({ ledger, origin: STUDY_ID, coordinatorKey: COORDINATOR.publicKey, peers: [hub] })
const sync = node.services.ledgerSync
const topic = checkpointTopic(STUDY_ID)
const gossiped = new Set<number>()
node.services.pubsub.addEventListener('message', (e) => {
  const at = now()
  if (e.detail.topic !== topic) return
  try {
    const size = readCheckpoint(decodeSignedCheckpoint(e.detail.data)).size
    if (gossiped.has(size)) return
    gossiped.add(size)
    send({ type: 'gossip', size, at })
  } catch {
    // Not ours to judge: the service's validator refuses bad checkpoints.
  }
})
sync.addEventListener('synced', (e) => send({ type: 'synced', size: e.detail, at: now() }))
await new Promise<void>((resolve) => {
  const check = () => {
    if (ledger.length >= Number(initial)) {
      sync.removeEventListener('synced', check)
      resolve()
    }
  }
  sync.addEventListener('synced', check)
  check()
})
send({ type: 'ready', length: ledger.length })
process.on('message', (msg: { type?: string }) => {
  if (msg.type !== 'stop') return
  void (async () => {
    await node.stop()
    await ledger.close()
    process.exit(0)
  })()
})
