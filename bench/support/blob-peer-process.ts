/**
 * One end of `/fl/blob` in a process of its own, so that its memory is
 * measured without the other end's: the test of bounded blob transfers and
 * bench/p2p-blob.ts run it. It loads the ledger from `root` (this checkout,
 * or another one's worktree for a before/after comparison in one run) and
 * prints one JSON object a line.
 *
 * - `serve`: opens the store in `dir` and serves it on loopback; prints
 *   `{ ready, address, idle }`, where `idle` is its memory once settled.
 * - `fetch`: starts `fetchers` nodes, each over a fresh store in `dir`,
 *   dials `address`, prints `{ ready, idle }`, and on a line `go` fetches
 *   blob `hashHex` on all at once; prints `{ fetched, ms }` (or `{ error }`).
 *
 * Both sample `process.memoryUsage()` every SAMPLE_MS. A line `peak` on stdin
 * prints `{ peak, now }`: the highest rss and arrayBuffers since the previous
 * one, and the figures now;
 * closing stdin stops the process.
 *
 * Usage: node --import tsx blob-peer-process.ts '<BlobPeerInit as JSON>'
 */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'

export type BlobPeerInit =
  | { readonly role: 'serve'; readonly root: string; readonly dir: string; readonly origin: string; readonly coordinatorKeyHex: string }
  | {
      readonly role: 'fetch'
      readonly root: string
      readonly dir: string
      readonly origin: string
      readonly coordinatorKeyHex: string
      readonly fetchers: number
      readonly address: string
      readonly hashHex: string
    }

/** Memory figures a line reports, in bytes. */
export interface MemorySample {
  readonly rssBytes: number
  readonly arrayBuffersBytes: number
}

/** How often memory is sampled: often enough to see a 64 MB buffer that lives for a fraction of a second. */
export const SAMPLE_MS = 20

type LedgerModule = typeof import('../../ledger/index.ts')

function sample(): MemorySample {
  const m = process.memoryUsage()
  return { rssBytes: m.rss, arrayBuffersBytes: m.arrayBuffers }
}

function print(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

async function main(): Promise<void> {
  const init = JSON.parse(process.argv[2] ?? '') as BlobPeerInit
  const ledgerModule = (await import(pathToFileURL(path.join(init.root, 'ledger/index.ts')).href)) as LedgerModule
  const { Ledger, openLevelStorage, createReplicaNode, fromHex } = ledgerModule
  const coordinatorKey = fromHex(init.coordinatorKeyHex, 32)
  let peak = sample()
  const timer = setInterval(() => {
    const now = sample()
    peak = { rssBytes: Math.max(peak.rssBytes, now.rssBytes), arrayBuffersBytes: Math.max(peak.arrayBuffersBytes, now.arrayBuffersBytes) }
  }, SAMPLE_MS)
  const opened: { close(): Promise<void> }[] = []
  const nodes: { stop(): void | Promise<void> }[] = []
  const stop = async () => {
    clearInterval(timer)
    for (const n of nodes) await n.stop()
    for (const l of opened) await l.close()
  }
  let go: () => void = () => undefined
  const told = new Promise<void>((resolve) => {
    go = resolve
  })
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim() === 'go') go()
      if (line.trim() !== 'peak') return
      print({ peak, now: sample() })
      peak = sample()
    })
    .on('close', () => void stop().then(() => process.exit(0)))

  if (init.role === 'serve') {
    const ledger = await Ledger.open(await openLevelStorage(init.dir))
    opened.push(ledger)
    const node = await createReplicaNode({ ledger, origin: init.origin, coordinatorKey, syncOnConnect: false })
    nodes.push(node)
    // Settle before the idle figure: what starting allocated is collected, as it would be in a long-running node.
    await new Promise((resolve) => setTimeout(resolve, 500))
    print({ ready: true, address: node.getMultiaddrs()[0]!.toString(), idle: sample() })
    peak = sample()
    return
  }

  const hash = fromHex(init.hashHex, 32)
  const fetchers = await Promise.all(
    Array.from({ length: init.fetchers }, async (_, i) => {
      const dir = path.join(init.dir, `fetcher-${i}`)
      await mkdir(dir, { recursive: true })
      const ledger = await Ledger.open(await openLevelStorage(dir))
      opened.push(ledger)
      const node = await createReplicaNode({ ledger, origin: init.origin, coordinatorKey, syncOnConnect: false })
      nodes.push(node)
      await node.dial(multiaddr(init.address))
      return node
    }),
  )
  print({ ready: true, idle: sample() })
  await told
  peak = sample()
  const started = performance.now()
  try {
    await Promise.all(fetchers.map((node) => node.services.ledgerSync.fetchBlob(hash)))
    print({ fetched: true, ms: performance.now() - started })
  } catch (err) {
    print({ error: (err as Error).message })
  }
}

await main()
