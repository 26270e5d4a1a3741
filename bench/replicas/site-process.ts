/**
 * One site of bench:replicas, as its own process: a full site agent (gRPC
 * to the coordinator, its own LevelDB replica of the log over libp2p, TF.js
 * training) run from a site config file, as `fedlineage site` runs it. It
 * prints one JSON line when done (SiteOutcome) and nothing else on stdout;
 * the agent's warnings go to stderr.
 *
 * Usage: tsx bench/replicas/site-process.ts <site.json> <seed hex>
 */
import { pino } from 'pino'
import { signerFromSeed } from '../../ledger/index.ts'
import { SiteAgent, loadSiteConfig } from '../../site-agent/index.ts'

/** What a site process reports, as one line of JSON on stdout. */
export interface SiteOutcome {
  readonly site: string
  /** Wall-clock time the replica started (`replicating`), or null when it never did. */
  readonly replicaStartedAtMs: number | null
  /** Entries the verified replica held when the agent finished (after its final sync), or null without a replica. */
  readonly replicaEntries: number | null
  /** Wall-clock time the agent finished, final sync included. */
  readonly finishedAtMs: number
  /** Times the agent said hello again. */
  readonly reconnects: number
  /** Largest resident set size sampled, in bytes. */
  readonly peakRssBytes: number
  /** Why the run failed, when it did. */
  readonly error: string | null
}

/** How often the process samples its own memory. */
const RSS_SAMPLE_MS = 500

const [configFile, seedHex] = process.argv.slice(2)
if (configFile === undefined || seedHex === undefined) throw new Error('usage: site-process.ts <site.json> <seed hex>')
const config = await loadSiteConfig(configFile)
const signer = signerFromSeed(new Uint8Array(Buffer.from(seedHex, 'hex')))
const agent = new SiteAgent({ signer, logger: pino({ level: 'warn' }, pino.destination(2)) }, config)

let replicaStartedAtMs: number | null = null
let replicaEntries: number | null = null
let reconnects = 0
let peakRssBytes = process.memoryUsage().rss
const sampler = setInterval(() => {
  peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)
}, RSS_SAMPLE_MS)
agent.onEvent((e) => {
  if (e.type === 'replicating') replicaStartedAtMs ??= Date.now()
  else if (e.type === 'reconnecting') reconnects++
  else if (e.type === 'done') replicaEntries = e.replicaEntries ?? null
})
let error: string | null = null
try {
  await agent.run()
} catch (err) {
  error = `${(err as Error).name}: ${(err as Error).message}`
}
clearInterval(sampler)
peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)
const outcome: SiteOutcome = { site: config.siteId, replicaStartedAtMs, replicaEntries, finishedAtMs: Date.now(), reconnects, peakRssBytes, error }
process.stdout.write(`${JSON.stringify(outcome)}\n`)
// TF.js and libp2p may hold timers; the outcome is out, so the process ends here.
process.exit(error === null ? 0 : 1)
