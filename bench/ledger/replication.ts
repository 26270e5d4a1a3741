/**
 * Section 4a: replication lag p50/p99 to 5 peers (goal p99 < 250 ms).
 *
 * One coordinator ledger and node (`createReplicaNode` with the coordinator's
 * signer) in this process, and 5 replica nodes on 127.0.0.1, each over its
 * own LevelDB ledger in a temp dir and dialing the coordinator (real TCP,
 * noise, yamux, gossipsub). By default each replica runs in a process of its
 * own (`replica-process.ts`), as peers would; `inProcess` puts all six nodes
 * on this one event loop instead. The coordinator appends a steady stream of
 * update-accepted entries, `rate` entries/s in batches of `batch`, each batch
 * through `appendWithCheckpoint`, its checkpoint announced with
 * `ledgerSync.announce`.
 *
 * Lag of (checkpoint, replica) = time from the coordinator's durable append
 * of that checkpoint to the replica's first `synced` event whose size
 * reaches it (the replica has pulled the entries, checked them, and stored
 * them with `appendReplicated`: signatures, chain, Merkle root vs the
 * checkpoint, consistency with its last one, durable write). Split into
 * gossip delivery (append → the replica's first gossip message of that
 * checkpoint) and the rest (gossip → synced: pull stream, verification,
 * write). Timestamps are absolute (`performance.timeOrigin +
 * performance.now()`), the same clock in every process on the machine.
 *
 * Baseline, same run: `Ledger.appendReplicated` of the same entries and
 * checkpoints into a fresh ledger in this process, one call per checkpoint:
 * what a replica does per checkpoint without network, gossip or pull.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Ledger, checkpointTopic, createReplicaNode, decodeSignedCheckpoint, openLevelStorage, readCheckpoint, type EntryDraft, type ReplicaNode, type SignedCheckpoint } from '../../ledger/index.ts'
import { median } from '../support/median.ts'
import { COORDINATOR, STUDY_ID, cycle, tempDir } from './fixtures.ts'
import { percentile, round2 } from './timing.ts'

export const REPLICATION_GOAL_P99_MS = 250
const WAIT_MS = 30_000
const REPLICA_SCRIPT = fileURLToPath(new URL('./replica-process.ts', import.meta.url))

export interface MsSummary {
  readonly samples: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

export interface ReplicationResult {
  readonly measured: true
  readonly mode: 'processes' | 'in-process'
  readonly peers: number
  readonly targetRatePerSecond: number
  readonly achievedRatePerSecond: number
  readonly entriesPerCheckpoint: number
  readonly checkpoints: number
  readonly entries: number
  /** Over every (checkpoint, replica) pair. */
  readonly p50Ms: number
  readonly p99Ms: number
  readonly lag: MsSummary
  /** Coordinator's durable append → replica's first gossip message of that checkpoint. */
  readonly gossip: MsSummary
  /** That gossip message → the replica's synced event reaching the checkpoint (pull, verify, store). */
  readonly pullAndStore: MsSummary
  readonly perReplica: MsSummary[]
  /**
   * Lag p50 over the first and the last tenth of the checkpoints: equal when
   * the replicas keep up, growing when they fall behind the stream (a backlog).
   */
  readonly firstTenthP50Ms: number
  readonly lastTenthP50Ms: number
  /** Pairs whose replica never reached the checkpoint within the wait. */
  readonly missed: number
  readonly goalP99Ms: number
  readonly goalMet: boolean
  readonly coordinatorAppend: MsSummary
  readonly announce: MsSummary
  readonly baselineAppendReplicated: MsSummary
  /** Process CPU time / wall time of this process during the stream (the replicas' own processes not included). */
  readonly coordinatorProcessCpuCores: number
}

export interface ReplicationInit {
  readonly peers: number
  readonly ratePerSecond: number
  readonly batch: number
  readonly durationMs: number
  readonly inProcess: boolean
  readonly pool: readonly EntryDraft[]
  readonly onStep: (label: string) => void
}

export const REPLICATION_STEPS = 3

function summary(ms: readonly number[]): MsSummary {
  return {
    samples: ms.length,
    p50Ms: round2(median(ms)),
    p99Ms: round2(percentile(ms, 99)),
    maxMs: round2(ms.length > 0 ? Math.max(...ms) : Number.NaN),
    meanMs: round2(ms.length > 0 ? ms.reduce((a, b) => a + b, 0) / ms.length : Number.NaN),
  }
}

const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** What the stream needs from a replica, wherever it runs. Sizes and times arrive as events. */
interface Replica {
  readonly synced: { size: number; at: number }[]
  readonly gossip: Map<number, number>
  /** Resolves when every size up to `size` was reported synced, or rejects after `timeoutMs`. */
  reached(size: number, timeoutMs: number): Promise<void>
  stop(): Promise<void>
}

function replicaEvents() {
  const synced: { size: number; at: number }[] = []
  const gossip = new Map<number, number>()
  const waiters = new Set<() => void>()
  return {
    synced,
    gossip,
    onSynced(size: number, at: number) {
      synced.push({ size, at })
      for (const w of waiters) w()
    },
    onGossip(size: number, at: number) {
      if (!gossip.has(size)) gossip.set(size, at)
    },
    reached(size: number, timeoutMs: number) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (synced.some((s) => s.size >= size)) {
            clearTimeout(timer)
            waiters.delete(check)
            resolve()
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`replica did not reach size ${size} within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
  }
}

async function startInProcess(dir: string, hub: string, initial: number, ledgers: Ledger[]): Promise<Replica> {
  const ledger = await Ledger.open(await openLevelStorage(dir))
  ledgers.push(ledger)
  const node = await createReplicaNode({ ledger, origin: STUDY_ID, coordinatorKey: COORDINATOR.publicKey, peers: [hub] })
  const events = replicaEvents()
  const topic = checkpointTopic(STUDY_ID)
  node.services.pubsub.addEventListener('message', (e) => {
    const at = now()
    if (e.detail.topic === topic) events.onGossip(readCheckpoint(decodeSignedCheckpoint(e.detail.data)).size, at)
  })
  node.services.ledgerSync.addEventListener('synced', (e) => events.onSynced(e.detail, now()))
  if (ledger.length < initial) await events.reached(initial, WAIT_MS)
  return { synced: events.synced, gossip: events.gossip, reached: events.reached, stop: async () => void (await node.stop()) }
}

async function startProcess(dir: string, hub: string, initial: number, children: ChildProcess[]): Promise<Replica> {
  const child = fork(REPLICA_SCRIPT, [dir, hub, String(initial)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(child)
  const events = replicaEvents()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica process in ${dir} not ready within ${WAIT_MS} ms`)), WAIT_MS)
    child.once('exit', (code) => reject(new Error(`replica process in ${dir} exited with ${code} before it was ready`)))
    child.on('message', (msg: { type: string; size?: number; at?: number }) => {
      if (msg.type === 'ready') {
        clearTimeout(timer)
        resolve()
      } else if (msg.type === 'synced') events.onSynced(msg.size!, msg.at!)
      else if (msg.type === 'gossip') events.onGossip(msg.size!, msg.at!)
    })
  })
  return {
    synced: events.synced,
    gossip: events.gossip,
    reached: events.reached,
    stop: async () => {
      if (child.exitCode === null && child.connected) child.send({ type: 'stop' })
      await Promise.race([exited, sleep(10_000)])
      if (child.exitCode === null) child.kill()
    },
  }
}

export async function runReplication(init: ReplicationInit): Promise<ReplicationResult> {
  const origin = STUDY_ID
  const coordinatorKey = COORDINATOR.publicKey
  const dirs = await Promise.all([tempDir('repl-coordinator'), ...Array.from({ length: init.peers }, (_, i) => tempDir(`repl-replica-${i}`)), tempDir('repl-baseline')])
  const ledgers: Ledger[] = []
  const children: ChildProcess[] = []
  const replicas: Replica[] = []
  let hub: ReplicaNode | undefined
  try {
    const coordinator = await Ledger.open(await openLevelStorage(dirs[0]!.dir))
    ledgers.push(coordinator)
    // Every checkpoint's entries and checkpoint, for the baseline.
    const published: { bytes: Uint8Array[]; checkpoint: SignedCheckpoint }[] = []
    const appendBatch = async (from: number) => {
      const r = await coordinator.appendWithCheckpoint(COORDINATOR, cycle(init.pool, from, init.batch), [], { origin })
      published.push({ bytes: r.appended.map((a) => a.bytes), checkpoint: r.checkpoint })
      return r.checkpoint
    }
    // A first checkpoint before anyone connects: replicas catch up with it on connect.
    await appendBatch(0)
    const initial = coordinator.length

    hub = await createReplicaNode({ ledger: coordinator, origin, coordinatorKey, signer: COORDINATOR })
    const hubAddr = hub.getMultiaddrs()[0]!.toString()
    const started = await Promise.all(
      Array.from({ length: init.peers }, (_, i) => (init.inProcess ? startInProcess(dirs[1 + i]!.dir, hubAddr, initial, ledgers) : startProcess(dirs[1 + i]!.dir, hubAddr, initial, children))),
    )
    replicas.push(...started)
    const pubsub = hub.services.pubsub
    const topic = checkpointTopic(origin)
    const subscribed = performance.now()
    while (pubsub.getSubscribers(topic).length < init.peers) {
      if (performance.now() - subscribed > WAIT_MS) throw new Error(`only ${pubsub.getSubscribers(topic).length} of ${init.peers} replicas subscribed to ${topic}`)
      await sleep(20)
    }
    // Let gossipsub's first heartbeat settle the mesh before the clock starts.
    await sleep(1500)
    init.onStep(`${init.peers} replicas connected`)

    // ---- the stream
    const sizes: number[] = []
    const readyAt: number[] = []
    const appendMs: number[] = []
    const announceMs: number[] = []
    const periodMs = (1000 * init.batch) / init.ratePerSecond
    const ticks = Math.max(1, Math.round(init.durationMs / periodMs))
    const cpu0 = process.cpuUsage()
    const start = performance.now()
    for (let k = 0; k < ticks; k++) {
      const wait = start + k * periodMs - performance.now()
      if (wait > 0) await sleep(wait)
      const a0 = now()
      const checkpoint = await appendBatch(coordinator.length)
      const ready = now()
      appendMs.push(ready - a0)
      sizes.push(coordinator.length)
      readyAt.push(ready)
      await hub.services.ledgerSync.announce(checkpoint)
      announceMs.push(now() - ready)
    }
    const streamMs = performance.now() - start
    const cpu = process.cpuUsage(cpu0)
    const finalSize = coordinator.length
    await Promise.allSettled(replicas.map((r) => r.reached(finalSize, WAIT_MS)))
    init.onStep(`${ticks} checkpoints streamed`)

    // ---- lags, from the events
    const lags: number[][] = []
    const byCheckpoint: number[][] = sizes.map(() => [])
    const gossip: number[] = []
    const pullAndStore: number[] = []
    let missed = 0
    for (const r of replicas) {
      const mine: number[] = []
      sizes.forEach((size, k) => {
        const synced = r.synced.find((s) => s.size >= size)
        if (synced === undefined) {
          missed++
          return
        }
        mine.push(synced.at - readyAt[k]!)
        byCheckpoint[k]!.push(synced.at - readyAt[k]!)
        const heard = r.gossip.get(size)
        if (heard !== undefined) {
          gossip.push(heard - readyAt[k]!)
          pullAndStore.push(synced.at - heard)
        }
      })
      lags.push(mine)
    }

    // ---- baseline: the same checkpoints through appendReplicated, in process
    const baseline = await Ledger.open(await openLevelStorage(dirs[1 + init.peers]!.dir))
    ledgers.push(baseline)
    const replicatedMs: number[] = []
    for (const p of published) {
      const t0 = performance.now()
      await baseline.appendReplicated(p.bytes, p.checkpoint, { coordinatorKey, origin })
      replicatedMs.push(performance.now() - t0)
    }
    init.onStep('appendReplicated baseline')

    const lag = summary(lags.flat())
    const tenth = Math.max(1, Math.floor(sizes.length / 10))
    return {
      measured: true,
      mode: init.inProcess ? 'in-process' : 'processes',
      peers: init.peers,
      targetRatePerSecond: init.ratePerSecond,
      achievedRatePerSecond: Math.round(((finalSize - initial) * 1000) / streamMs),
      entriesPerCheckpoint: init.batch,
      checkpoints: ticks,
      entries: finalSize - initial,
      p50Ms: lag.p50Ms,
      p99Ms: lag.p99Ms,
      lag,
      gossip: summary(gossip),
      pullAndStore: summary(pullAndStore),
      perReplica: lags.map(summary),
      firstTenthP50Ms: round2(median(byCheckpoint.slice(0, tenth).flat())),
      lastTenthP50Ms: round2(median(byCheckpoint.slice(-tenth).flat())),
      missed,
      goalP99Ms: REPLICATION_GOAL_P99_MS,
      goalMet: missed === 0 && lag.p99Ms < REPLICATION_GOAL_P99_MS,
      coordinatorAppend: summary(appendMs),
      announce: summary(announceMs),
      // The first checkpoint (before the nodes started) is the baseline's warm-up.
      baselineAppendReplicated: summary(replicatedMs.slice(1)),
      coordinatorProcessCpuCores: round2((cpu.user + cpu.system) / 1000 / streamMs),
    }
  } finally {
    await Promise.allSettled(replicas.map((r) => r.stop()))
    for (const c of children) if (c.exitCode === null) c.kill()
    await hub?.stop()
    await Promise.allSettled(ledgers.map((l) => l.close()))
    await Promise.all(dirs.map((d) => d.remove()))
  }
}
