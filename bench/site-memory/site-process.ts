/**
 * One site of bench:site-memory, as its own process: a full site agent run
 * from a site config file (as `fedlineage site` runs it) from a checkout
 * `root` (this one, or another worktree for a before/after in one run). It
 * samples its own memory every SAMPLE_MS and prints one JSON line per event
 * on stdout:
 * - `{ idle, rssBytes, arrayBuffersBytes }` as it joins the study (TF.js
 *   initialised, records read, no model fetched yet; after a full garbage
 *   collection): the base the bench subtracts;
 * - `{ phase, peakRssBytes, peakArrayBuffersBytes }` at round 0's
 *   `evaluated` (download, decode, evaluate the initial model),
 *   `trained` (train from it), `uploaded` (delta, encode, sign, send) and
 *   the end (the committed model's evaluation), each the peak since the
 *   previous one;
 * - `{ finished, hwmBytes, error }` at the end, with the kernel's high-water
 *   mark of resident memory (peaks between samples included).
 *
 * Usage: tsx bench/site-memory/site-process.ts '<SiteProcessInit JSON>'
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import type * as LedgerModule from '../../ledger/index.ts'
import type * as SiteAgentModule from '../../site-agent/index.ts'

export interface SiteProcessInit {
  /** The checkout whose site agent runs. */
  readonly root: string
  readonly configFile: string
  readonly seedHex: string
}

/** How often the process samples its own memory. */
const SAMPLE_MS = 50

const init = JSON.parse(process.argv[2] ?? '{}') as SiteProcessInit
const siteAgent = (await import(pathToFileURL(path.join(init.root, 'site-agent/index.ts')).href)) as typeof SiteAgentModule
const ledger = (await import(pathToFileURL(path.join(init.root, 'ledger/index.ts')).href)) as typeof LedgerModule
const config = await siteAgent.loadSiteConfig(init.configFile)
const signer = ledger.signerFromSeed(new Uint8Array(Buffer.from(init.seedHex, 'hex')))
const agent = new siteAgent.SiteAgent({ signer, logger: pino({ level: 'warn' }, pino.destination(2)) }, config)
const say = (value: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(value)}\n`)

let peakRss = 0
let peakArrayBuffers = 0
const sample = () => {
  const m = process.memoryUsage()
  peakRss = Math.max(peakRss, m.rss)
  peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers)
}
const sampler = setInterval(sample, SAMPLE_MS)
/** Reports the peak since the last phase and starts the next one. */
const phase = (name: string) => {
  sample()
  say({ phase: name, peakRssBytes: peakRss, peakArrayBuffersBytes: peakArrayBuffers })
  peakRss = 0
  peakArrayBuffers = 0
}

agent.onEvent((e) => {
  if (e.type === 'joined') {
    // Synchronously, before the first task (round 0's evaluation) can fetch a model: TF.js is up and the records are read.
    global.gc?.()
    const m = process.memoryUsage()
    say({ idle: true, rssBytes: m.rss, arrayBuffersBytes: m.arrayBuffers })
    peakRss = 0
    peakArrayBuffers = 0
  } else if (e.type === 'evaluated' && e.round === 0) phase('evaluateBase')
  else if (e.type === 'trained') phase('train')
  else if (e.type === 'uploaded') phase('upload')
  else if (e.type === 'update-refused') say({ refused: true, code: e.code, message: e.message })
})
let error: string | null = null
try {
  await agent.run()
} catch (err) {
  error = `${(err as Error).name}: ${(err as Error).message}`
}
clearInterval(sampler)
phase('evaluate')
const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024
say({ finished: true, hwmBytes: hwm, error })
// TF.js and gRPC may hold timers; the report is out, so the process ends here.
process.exit(error === null ? 0 : 1)
