/**
 * Bench: the lineage log as a transparency log — how fast it appends, how
 * fast a replica or auditor can verify it, what proofs cost at 1M entries,
 * and what an audit of a real round costs.
 *
 * 1. Appends per second (goal ≥ 20,000/s on 2 cores): update-accepted-shaped
 *    entries (~570 bytes, a site-signed envelope inside) through
 *    `Ledger.append` on a real LevelDB with sync writes, at batch sizes 1, 16,
 *    256, 1024. Baseline: the same key/value bytes as raw LevelDB sync
 *    batches. Cost split per entry from a profile of the pieces (`append.ts`).
 * 2. Entries verified per second during replay (goal ≥ 50,000/s): verifyLog
 *    and Ledger.scan over a 100k-entry log; baselines: the unverified read
 *    and the Merkle root recomputation; plus structural verification (chain +
 *    Merkle root vs the signed checkpoint) and where the time goes (`replay.ts`).
 * 3. Inclusion and consistency proofs at 1M entries: generation from LevelDB
 *    and verification, median and p99 µs, proof length (`proofs.ts`).
 * 4. (a) replication lag to 5 peers: a coordinator node streaming 200 entries/s in
 *    announced checkpoints to 5 replica nodes on 127.0.0.1 (`replication.ts`);
 *    (b) audit time per round at 20 sites × 1M parameters, log written by the
 *    coordinator's RoundRunner, timed with auditLog (`audit.ts`).
 *
 * Usage: npm run bench:ledger [-- --quick] [-- --full-1m] [-- --only append,replay,proofs,replication,audit]
 *   --quick    smaller sizes (10k replay log, 100k-leaf tree, 3 s replication stream, 100k-parameter audit), for a smoke run
 *   --full-1m  build the 1M tree through Ledger.append (signed entries; minutes) instead of
 *              writing the Ledger's stored-node format directly
 *   --replicas-in-process  run the 5 replica nodes on this process's event loop instead of
 *              one process each
 *   --entry-signatures off  append entries with a placeholder signature (no Ed25519 per entry), to
 *              weigh per-entry signatures; verification without them is the replay's structural row
 * Writes bench/results/ledger.json (stable keys). Fixed seeds throughout.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { APPEND_GOAL_PER_SECOND, PLACEHOLDER_SIGNER, appendSteps, runAppend, type AppendResult } from './ledger/append.ts'
import { AUDIT_FIXED_STEPS, AUDIT_STEPS_PER_ROUND, runAudit, type AuditBenchResult } from './ledger/audit.ts'
import { SEED, SITES, updateAcceptedDrafts } from './ledger/fixtures.ts'
import { PROOF_STEPS, runProofs, type ProofResult } from './ledger/proofs.ts'
import { REPLAY_GOAL_PER_SECOND, REPLAY_STEPS, runReplay, type ReplayResult } from './ledger/replay.ts'
import { REPLICATION_GOAL_P99_MS, REPLICATION_STEPS, runReplication, type ReplicationResult } from './ledger/replication.ts'
import { fmtInt, fmtMs, fmtUs, fmtX } from './ledger/timing.ts'
import { benchEnvironment } from './support/environment.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'

const SECTIONS = ['append', 'replay', 'proofs', 'replication', 'audit'] as const
type Section = (typeof SECTIONS)[number]

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'full-1m': { type: 'boolean', default: false },
    'replicas-in-process': { type: 'boolean', default: false },
    only: { type: 'string', default: SECTIONS.join(',') },
    'entry-signatures': { type: 'string', default: 'on' },
  },
})
if (args['entry-signatures'] !== 'on' && args['entry-signatures'] !== 'off') throw new Error(`--entry-signatures: "${args['entry-signatures']}", want on or off`)
const entrySignatures = args['entry-signatures'] === 'on'
const quick = args.quick
const only = new Set(args.only.split(',').map((s) => s.trim()))
for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section "${s}", want some of ${SECTIONS.join(',')}`)
const run = (s: Section) => only.has(s)

const config = {
  quick,
  seed: SEED,
  append: {
    plan: quick
      ? [
          { batch: 1, entries: 128 },
          { batch: 16, entries: 1024 },
          { batch: 256, entries: 4096 },
          { batch: 1024, entries: 4096 },
        ]
      : [
          { batch: 1, entries: 512 },
          { batch: 16, entries: 8192 },
          { batch: 256, entries: 16384 },
          { batch: 1024, entries: 16384 },
        ],
    splitSample: quick ? 1024 : 4096,
  },
  replay: { entries: quick ? 10_000 : 100_000, profileSample: quick ? 1024 : 4096 },
  proofs: { size: quick ? 100_000 : 1_000_000, samples: quick ? 500 : 2000, build: args['full-1m'] ? ('ledger-append' as const) : ('storage-direct' as const) },
  replication: { peers: 5, ratePerSecond: 200, batch: 20, durationMs: quick ? 3000 : 6000, inProcess: args['replicas-in-process'] },
  audit: { sites: SITES, hidden: quick ? [316, 316] : [1000, 990], rounds: quick ? 2 : 3 },
  draftPool: quick ? 1024 : 4096,
}

const started = performance.now()
const loadBefore = loadavg()
const steps =
  (run('append') ? appendSteps(config.append) : 0) +
  (run('replay') ? REPLAY_STEPS : 0) +
  (run('proofs') ? PROOF_STEPS : 0) +
  (run('replication') ? REPLICATION_STEPS : 0) +
  (run('audit') ? AUDIT_FIXED_STEPS + AUDIT_STEPS_PER_ROUND * config.audit.rounds : 0)
const progress = benchProgress(steps, 'bench:ledger')
const onStep = (label: string) => progress.tick(label)

const pool = run('append') || run('replay') || run('replication') ? updateAcceptedDrafts(config.draftPool) : []
let append: AppendResult | undefined
let replay: ReplayResult | undefined
let proofs: ProofResult | undefined
let replication: ReplicationResult | undefined
let audit: AuditBenchResult | undefined
try {
  if (run('append')) append = await runAppend({ plan: config.append.plan, pool, splitSample: config.append.splitSample, onStep, ...(entrySignatures ? {} : { signer: PLACEHOLDER_SIGNER }) })
  if (run('replay')) replay = await runReplay({ entries: config.replay.entries, pool, profileSample: config.replay.profileSample, onStep })
  if (run('proofs')) proofs = await runProofs({ ...config.proofs, onStep })
  if (run('replication')) replication = await runReplication({ ...config.replication, pool, onStep })
  if (run('audit')) audit = await runAudit({ ...config.audit, onStep })
} finally {
  progress.stop()
}
const runtimeS = (performance.now() - started) / 1000
const loadAverage = { before: loadBefore.map((x) => +x.toFixed(2)), after: loadavg().map((x) => +x.toFixed(2)) }
const environment = { ...benchEnvironment(), loadAverage }

console.log(
  `bench:ledger${quick ? ' --quick' : ''} — Node ${environment.node} · ${environment.cpu} · runtime ${runtimeS.toFixed(1)} s · load average (1/5/15 min) ${loadAverage.before.join('/')} before, ${loadAverage.after.join('/')} after`,
)

if (append) {
  console.log(
    `\n1. Appends per second — update-accepted entries (${append.rows[0]!.entryBytes} bytes), Ledger.append on LevelDB, sync writes; goal ≥ ${fmtInt(APPEND_GOAL_PER_SECOND)}/s.\n` +
      `   Baseline: the same puts (${append.rows.at(-1)!.opsPerEntry} per entry: entry, Merkle nodes, head) as raw LevelDB sync chained batches (as storage.ts), interleaved call by call with the appends.`,
  )
  console.table(
    append.rows.map((r) => ({
      batch: r.batch,
      entries: r.entries,
      'Ledger.append /s': fmtInt(r.ledger.perSecond),
      'µs/entry': fmtUs(r.ledger.usPerEntry),
      'call ms p50 / p99': `${fmtMs(r.ledger.call.medianUs / 1000)} / ${fmtMs(r.ledger.call.p99Us / 1000)}`,
      'raw chained /s (baseline)': fmtInt(r.rawLevelDbChained.perSecond),
      'raw chained µs/entry': fmtUs(r.rawLevelDbChained.usPerEntry),
      'storage share': `${r.storageSharePct.toFixed(0)} %`,
      'raw array µs/entry': fmtUs(r.rawLevelDb.usPerEntry),
    })),
  )
  const s = append.split
  console.log(`Cost split per entry (profile of the pieces, ${s.sampleEntries} entries; write = raw LevelDB at batch ${s.writeBatch}):`)
  console.table([
    { piece: 'signEntry', 'µs/entry': fmtUs(s.signEntryUs), of: '' },
    { piece: '  Ed25519 sign', 'µs/entry': fmtUs(s.signUs), of: 'signEntry' },
    { piece: '  canonical encode (body once; message, entry laid out)', 'µs/entry': fmtUs(s.encodeUs), of: 'signEntry' },
    { piece: '  chain hash (SHA-256 of entry)', 'µs/entry': fmtUs(s.chainHashUs), of: 'signEntry' },
    { piece: '  validation, objects (rest)', 'µs/entry': fmtUs(s.validateUs), of: 'signEntry' },
    { piece: 'hashLeaf + appendLeaf (Merkle)', 'µs/entry': fmtUs(s.merkleUs), of: '' },
    { piece: 'write (raw LevelDB sync chained batch, as storage.ts)', 'µs/entry': fmtUs(s.writeUs), of: '' },
    { piece: '  (same puts as an array batch)', 'µs/entry': fmtUs(s.writeArrayUs), of: 'not in sum' },
    { piece: 'sum of pieces', 'µs/entry': fmtUs(s.sumUs), of: '' },
    { piece: `measured Ledger.append @${s.writeBatch}`, 'µs/entry': fmtUs(s.appendUs), of: '' },
    { piece: 'other (queue, batch assembly, keys, head)', 'µs/entry': fmtUs(s.otherUs), of: '' },
  ])
  const short = APPEND_GOAL_PER_SECOND / append.bestPerSecond
  console.log(
    `Best ${fmtInt(append.bestPerSecond)} entries/s: goal ≥ ${fmtInt(APPEND_GOAL_PER_SECOND)}/s ${append.goalMet ? 'MET' : `NOT met (${fmtX(short)} short)`}. ` +
      `At 20,000/s an entry may cost 50 µs; the Ed25519 signature alone is ${fmtUs(s.signUs)} µs and signEntry ${fmtUs(s.signEntryUs)} µs, all on the main thread.`,
  )
}

if (replay) {
  console.log(
    `\n2. Replay — ${fmtInt(replay.entries)}-entry log (${replay.entryBytes}-byte entries; built at ${fmtInt(replay.build.perSecond)}/s in batches of ${replay.build.batch}); goal ≥ ${fmtInt(REPLAY_GOAL_PER_SECOND)} entries/s`,
  )
  console.table(
    replay.rows.map((r) => ({
      read: r.name,
      'entries/s': fmtInt(r.perSecond),
      'µs/entry': fmtUs(r.usPerEntry),
      'busy cores': r.cpuCores.toFixed(2),
      signatures: r.verifiesSignatures ? 'each entry' : r.name.startsWith('structural') ? '1 (checkpoint)' : 'none',
      role: r.baseline ? 'baseline' : '',
    })),
  )
  const p = replay.profile
  console.log(`Where the time goes (in-memory sample of ${p.sampleEntries} entries):`)
  console.table([
    { piece: 'decodeEntry (CBOR decode + canonical re-encode check)', 'µs/entry': fmtUs(p.decodeEntryUs), thread: 'main' },
    { piece: 'entrySigningMessage (re-encode unsigned entry)', 'µs/entry': fmtUs(p.signingMessageUs), thread: 'main' },
    { piece: 'entryHash (SHA-256)', 'µs/entry': fmtUs(p.entryHashUs), thread: 'main' },
    { piece: 'hashLeaf (SHA-256)', 'µs/entry': fmtUs(p.hashLeafUs), thread: 'main' },
    { piece: `Ed25519 verify, sync (one core: ${fmtInt(p.verifySyncPerSecond)}/s)`, 'µs/entry': fmtUs(p.verifySyncUs), thread: 'main' },
    {
      piece: `Ed25519 verify, async window ${p.signatureWindow}: ${fmtInt(p.verifyAsyncPerSecond)}/s on ${p.verifyAsyncCpuCores.toFixed(2)} busy cores`,
      'µs/entry': fmtUs(1e6 / p.verifyAsyncPerSecond),
      thread: 'libuv pool',
    },
  ])
  const worst = Math.min(replay.verifyLogPerSecond, replay.scanPerSecond)
  console.log(
    `verifyLog ${fmtInt(replay.verifyLogPerSecond)}/s, Ledger.scan ${fmtInt(replay.scanPerSecond)}/s: goal ≥ ${fmtInt(REPLAY_GOAL_PER_SECOND)}/s ${replay.goalMet ? 'MET' : `NOT met (${fmtX(REPLAY_GOAL_PER_SECOND / worst)} short)`}. ` +
      `Signatures alone top out at ${fmtInt(p.verifyAsyncPerSecond)}/s on this machine, so per-entry Ed25519 cannot reach the goal here. ` +
      `Structural verification (chain + Merkle root vs one signed checkpoint) runs at ${fmtInt(replay.structuralPerSecond)}/s (${replay.structuralGoalMet ? 'meets' : 'misses'} the goal).`,
  )
}

if (proofs) {
  console.log(
    `\n3. Proofs at ${fmtInt(proofs.size)} entries — ${proofs.samples} fixed-seed random positions per row; tree built ${proofs.build.how === 'storage-direct' ? 'straight into LevelDB in the stored-node format (placeholder entries)' : 'through Ledger.append'} in ${(proofs.build.ms / 1000).toFixed(1)} s (${fmtInt(proofs.build.perSecond)} leaves/s)`,
  )
  console.table(
    proofs.rows.map((r) => ({
      operation: r.name,
      'median µs': fmtUs(r.latency.medianUs),
      'p99 µs': fmtUs(r.latency.p99Us),
      'mean µs': fmtUs(r.latency.meanUs),
      [`hashes (median / max)`]: `${r.counts.median} / ${r.counts.max} ${r.counts.what === 'nodes read' ? 'nodes read' : ''}`.trim(),
      role: r.baseline ? 'baseline' : '',
    })),
  )
}

if (replication) {
  const r = replication
  console.log(
    `\n4a. Replication lag to ${r.peers} peers — coordinator streams ${r.targetRatePerSecond} entries/s (achieved ${fmtInt(r.achievedRatePerSecond)}/s) in checkpoints of ${r.entriesPerCheckpoint}, ` +
      `${r.checkpoints} checkpoints announced over gossipsub; replicas on 127.0.0.1, ${r.mode === 'processes' ? 'one process each' : 'all in this process'}; goal p99 < ${REPLICATION_GOAL_P99_MS} ms`,
  )
  const row = (what: string, m: { samples: number; p50Ms: number; p99Ms: number; maxMs: number; meanMs: number }, role = '') => ({
    what,
    samples: m.samples,
    'p50 ms': fmtMs(m.p50Ms),
    'p99 ms': fmtMs(m.p99Ms),
    'max ms': fmtMs(m.maxMs),
    'mean ms': fmtMs(m.meanMs),
    role,
  })
  console.table([
    row('lag: durable append → replica synced (all pairs)', r.lag),
    row('  of which: append → gossip received', r.gossip),
    row('  of which: gossip → synced (pull, verify, store)', r.pullAndStore),
    ...r.perReplica.map((m, i) => row(`  replica ${i + 1}`, m)),
    row('coordinator appendWithCheckpoint', r.coordinatorAppend),
    row('coordinator announce (gossip publish)', r.announce),
    row('appendReplicated of the same checkpoint, in process', r.baselineAppendReplicated, 'baseline'),
  ])
  console.log(
    `p99 ${fmtMs(r.p99Ms)} ms: goal < ${REPLICATION_GOAL_P99_MS} ms ${r.goalMet ? 'MET' : 'NOT met'}${r.missed > 0 ? ` (${r.missed} checkpoint×replica pairs never synced)` : ''}. ` +
      `Lag p50 over the first tenth of the checkpoints ${fmtMs(r.firstTenthP50Ms)} ms, over the last tenth ${fmtMs(r.lastTenthP50Ms)} ms` +
      `${r.lastTenthP50Ms > 2 * r.firstTenthP50Ms ? ': the replicas fall behind the stream (a growing backlog), so the lag is a throughput limit, not a fixed delay' : ''}. ` +
      `This process used ${r.coordinatorProcessCpuCores.toFixed(2)} cores during the stream.`,
  )
} else console.log('\n4a. Replication lag: not run (--only)')
if (audit) {
  console.log(
    `\n4b. Audit per round — ${audit.sites} sites × ${fmtInt(audit.parameters)} parameters (${(audit.deltaBytes / 1e6).toFixed(1)} MB deltas), ${audit.rounds} rounds, ${audit.logEntries} entries written by RoundRunner; auditLog ${audit.ok ? 'passed' : 'FAILED'}`,
  )
  console.table([
    ...audit.perRound.map((r) => ({
      round: String(r.round),
      entries: r.entries,
      'auditLog ms': fmtMs(r.auditMs),
      'blob read + SHA-256 ms (baseline)': fmtMs(r.blobReadHashMs),
      'decode + deriveRoundModel ms (baseline)': fmtMs(r.decodeDeriveMs),
      'coordinator ms (20 uploads + commit)': fmtMs(r.coordinatorMs),
    })),
    {
      round: 'median',
      entries: Math.round(audit.perRound.reduce((n, r) => n + r.entries, 0) / audit.perRound.length),
      'auditLog ms': fmtMs(audit.median.auditMs),
      'blob read + SHA-256 ms (baseline)': fmtMs(audit.median.blobReadHashMs),
      'decode + deriveRoundModel ms (baseline)': fmtMs(audit.median.decodeDeriveMs),
      'coordinator ms (20 uploads + commit)': fmtMs(audit.median.coordinatorMs),
    },
  ])
  console.log(
    `Whole audit ${fmtMs(audit.totalAuditMs)} ms (preamble: study-created with the genesis model, enrolments, round-0 evaluations ${fmtMs(audit.preambleAuditMs)} ms); verifyLog of the same log ${fmtMs(audit.verifyLogMs)} ms.`,
  )
}

const result = {
  bench: 'ledger',
  date: new Date().toISOString(),
  runtimeSeconds: +runtimeS.toFixed(1),
  environment,
  config: {
    ...config,
    sections: [...only],
    notes: [
      'Every write is a LevelDB batch with sync: true, as in production; temp dirs under os.tmpdir(), removed after each measurement.',
      'Entries of sections 1-2 are update-accepted records: a site-signed update envelope (embedded body + 64-byte signature), delta hash, round, site, examples; envelopes are pre-signed by 20 site keys (sites sign them, not the coordinator).',
      'Raw LevelDB baseline: the exact key/value pairs Ledger.append wrote (entries, Merkle nodes, head), recomputed outside the timer, in calls of the same batch size, interleaved call by call with the appends (chained batch as storage.ts; array-form batch for comparison).',
      'Replay reads come from a log just written, so from the OS page cache. busy cores = process CPU time / wall time.',
      "verifyLog checks signatures with node:crypto verify callbacks on libuv's threadpool (not worker threads), 128 in flight.",
      'Proof tree: storage-direct writes the Ledger on-disk layout (entries, perfect nodes, head + compact range; keys of ledger/storage.ts) straight into LevelDB in sync batches of 4096 with unsigned {n: seq} placeholder entries, then Ledger.open; proofs only read nodes. --full-1m builds it with Ledger.append.',
      'Proof rows: separate fixed-seed positions for warm-up, proof and readNodes-baseline calls; verifications use ledger.root() and hashLeaf of the entry bytes read outside the timer.',
      'Replication: coordinator node (createReplicaNode with the signer) in this process, 5 replica nodes on 127.0.0.1 each in a process of its own (--replicas-in-process: all in this one), each dialing the coordinator; 20 entries per appendWithCheckpoint every 100 ms, each checkpoint announced; lag = coordinator durable append → first replica synced event reaching that size, absolute clock across processes; baseline = appendReplicated of the same checkpoints in process. All processes share the 2 cores.',
      'Replay: verifyLog and Ledger.scan run LONG_READ_RUNS times each (replay.ts; 1 to fit the time budget), interleaved; the row is the fastest run, runs holds every run.',
      "Audit: per round = progress-callback time from the round's round-opened entry to the next one (updates, commit with re-derivation, evaluations).",
    ],
  },
  results: {
    append: append ?? null,
    replay: replay ?? null,
    proofs: proofs ?? null,
    replicationLag: replication ?? null,
    audit: audit ?? null,
  },
  goals: {
    appendPerSecond: append ? { goal: APPEND_GOAL_PER_SECOND, measured: append.bestPerSecond, met: append.goalMet } : null,
    replayVerifiedPerSecond: replay
      ? { goal: REPLAY_GOAL_PER_SECOND, verifyLog: replay.verifyLogPerSecond, scan: replay.scanPerSecond, structural: replay.structuralPerSecond, met: replay.goalMet }
      : null,
    replicationLagP99Ms: replication ? { goal: REPLICATION_GOAL_P99_MS, measured: replication.p99Ms, p50: replication.p50Ms, met: replication.goalMet } : null,
  },
}
const dir = new URL('./results/', import.meta.url)
await mkdir(dir, { recursive: true })
// Without entry signatures the results go beside, so the signed run's file stays the reference.
const file = entrySignatures ? 'ledger.json' : 'ledger-no-entry-signatures.json'
await writeFile(new URL(file, dir), stableJson({ ...result, entrySignatures }))
console.log(`\nwrote bench/results/${file}`)
