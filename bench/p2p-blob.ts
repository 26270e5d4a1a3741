/**
 * Bench: what serving and fetching a model over `/fl/blob` costs in memory
 * (issue 10: "memory bounded by one model"). One blob the size of a
 * 50M-parameter model (200 MB of float32) is fetched over libp2p on loopback
 * by 4 peers at once. The server and the 4 fetchers run in two processes of
 * their own (`support/blob-peer-process.ts`), so each end's memory is its
 * own; both sample `process.memoryUsage()` every 20 ms.
 *
 * Reported per end: peak RSS and ArrayBuffer bytes above the process's
 * figure just before the transfer, as a multiple of the blob's size (4
 * fetchers of a blob held whole cost ~4 on each side), and the throughput
 * (4 × blob bytes ÷ wall time, MiB/s).
 *
 * Usage: npm run bench:p2p-blob [-- --size-mib 200] [-- --fetchers 4] [-- --trials 3] [-- --before DIR]
 * `--before DIR` runs another checkout's ledger (e.g. main's worktree) for
 * both ends in the same run, trial for trial interleaved with this one's.
 * Writes bench/results/p2p-blob.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Ledger, openLevelStorage, signerFromSeed, toHex } from '../ledger/index.ts'
import { startBlobPeer } from './support/blob-peer-child.ts'
import { benchEnvironment } from './support/environment.ts'
import { median } from './support/median.ts'
import { stableJson } from './support/stable-json.ts'

const here = fileURLToPath(new URL('..', import.meta.url))
const { values: args } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '200' }, fetchers: { type: 'string', default: '4' }, trials: { type: 'string', default: '3' }, before: { type: 'string' } },
})
const sizeMib = Number(args['size-mib'])
const fetchers = Number(args.fetchers)
const trials = Number(args.trials)
if (!Number.isInteger(sizeMib) || sizeMib < 1 || sizeMib > 1024) throw new Error(`--size-mib must be 1 to 1024, got ${args['size-mib']}`)
if (!Number.isInteger(fetchers) || fetchers < 1 || fetchers > 16) throw new Error(`--fetchers must be 1 to 16, got ${args.fetchers}`)
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, got ${args.trials}`)
const MIB = 1024 * 1024
const sizeBytes = sizeMib * MIB
const ORIGIN = 'bench-p2p-blob'
const coordinatorKeyHex = toHex(signerFromSeed(new Uint8Array(32).fill(7)).publicKey)

interface Trial {
  readonly ms: number
  readonly serverRssGrowthBytes: number
  readonly serverArrayBuffersGrowthBytes: number
  readonly fetchersRssGrowthBytes: number
  readonly fetchersArrayBuffersGrowthBytes: number
}

/** The served store: one blob of random bytes (incompressible, as trained weights nearly are), written once for every trial. */
async function writeStore(dir: string): Promise<string> {
  const ledger = await Ledger.open(await openLevelStorage(dir))
  const blob = new Uint8Array(sizeBytes)
  for (let offset = 0; offset < sizeBytes; offset += 64 * 1024) crypto.getRandomValues(blob.subarray(offset, offset + 64 * 1024))
  const hash = await ledger.putBlob(blob)
  await ledger.close()
  return toHex(hash)
}

async function trial(root: string, storeDir: string, hashHex: string, scratch: string): Promise<Trial> {
  const server = await startBlobPeer({ role: 'serve', root, dir: storeDir, origin: ORIGIN, coordinatorKeyHex })
  const fetchDir = await mkdtemp(path.join(scratch, 'fetch-'))
  try {
    const fetch = await startBlobPeer({ role: 'fetch', root, dir: fetchDir, origin: ORIGIN, coordinatorKeyHex, fetchers, address: server.ready.address!, hashHex })
    try {
      // The server's figure just before the transfer: started, dialed by every fetcher, idle.
      const serverBefore = (await server.peak()).now
      fetch.tell('go')
      const done = await fetch.next((e) => e['fetched'] === true || e['error'] !== undefined)
      if (done['error'] !== undefined) throw new Error(`fetching from ${root}: ${String(done['error'])}`)
      const [serverPeak, fetchPeak] = [(await server.peak()).peak, (await fetch.peak()).peak]
      return {
        ms: done['ms'] as number,
        serverRssGrowthBytes: serverPeak.rssBytes - serverBefore.rssBytes,
        serverArrayBuffersGrowthBytes: serverPeak.arrayBuffersBytes - serverBefore.arrayBuffersBytes,
        fetchersRssGrowthBytes: fetchPeak.rssBytes - fetch.ready.idle.rssBytes,
        fetchersArrayBuffersGrowthBytes: fetchPeak.arrayBuffersBytes - fetch.ready.idle.arrayBuffersBytes,
      }
    } finally {
      await fetch.stop()
    }
  } finally {
    await server.stop()
    await rm(fetchDir, { recursive: true, force: true })
  }
}

const scratch = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-bench-p2p-blob-'))
try {
  const storeDir = path.join(scratch, 'store')
  await mkdir(storeDir)
  const hashHex = await writeStore(storeDir)
  const roots = [{ label: 'this checkout', root: here }, ...(args.before === undefined ? [] : [{ label: `before (${args.before})`, root: args.before }])]
  const results = new Map<string, Trial[]>(roots.map((r) => [r.label, []]))
  for (let t = 0; t < trials; t++) for (const r of roots) results.get(r.label)!.push(await trial(r.root, storeDir, hashHex, scratch))

  const rows = roots.map((r) => {
    const ts = results.get(r.label)!
    const m = (f: (x: Trial) => number) => median(ts.map(f))
    return {
      checkout: r.label,
      'server RSS growth ÷ blob': (m((x) => x.serverRssGrowthBytes) / sizeBytes).toFixed(2),
      'server ArrayBuffers growth ÷ blob': (m((x) => x.serverArrayBuffersGrowthBytes) / sizeBytes).toFixed(2),
      [`${fetchers} fetchers RSS growth ÷ blob`]: (m((x) => x.fetchersRssGrowthBytes) / sizeBytes).toFixed(2),
      [`${fetchers} fetchers ArrayBuffers growth ÷ blob`]: (m((x) => x.fetchersArrayBuffersGrowthBytes) / sizeBytes).toFixed(2),
      'MiB/s': ((fetchers * sizeMib) / (m((x) => x.ms) / 1000)).toFixed(1),
    }
  })
  console.log(`one ${sizeMib} MiB blob fetched over libp2p (loopback) by ${fetchers} peers at once, median of ${trials}`)
  console.table(rows)
  const outDir = new URL('./results/', import.meta.url)
  await mkdir(outDir, { recursive: true })
  await writeFile(
    new URL('p2p-blob.json', outDir),
    stableJson({
      bench: 'p2p-blob',
      date: new Date().toISOString(),
      environment: benchEnvironment(),
      config: { sizeBytes, fetchers, trials, ...(args.before === undefined ? {} : { before: args.before }) },
      results: Object.fromEntries(roots.map((r, i) => [r.label, { trials: results.get(r.label), medians: rows[i] }])),
    }),
  )
  console.log('wrote bench/results/p2p-blob.json')
} finally {
  await rm(scratch, { recursive: true, force: true })
}
