/**
 * Bench: consent proofs at 1,000,000 receipts — how many inclusion and
 * non-inclusion proofs a site can generate, and a patient or auditor can
 * verify, per second, from one round's consent tree.
 *
 * Setup signs N receipts (pseudonymOf over `patient-<i>` with a fixed site
 * secret, one consent authority with a fixed seed), which takes most of the
 * run. Then, in the same run:
 *
 * - baseline: building the round's tree, from the signed receipts (decode
 *   every receipt, hash it, sort, 2N hashes: what the site does per round
 *   when it has only the receipts) and from leaves already decoded (what a
 *   store that keeps its leaves does);
 * - inclusion: proof generation, path verification (`verifyConsentInclusion`:
 *   decode the receipt, hash it, check the path), and a patient's full check
 *   of a JSON bundle (parse, Ed25519 signature, path);
 * - non-inclusion: proof generation and verification for pseudonyms not in
 *   the tree, and the JSON bundle check.
 *
 * Queries come from a fixed-seed sequence, so every run times the same work.
 *
 * Usage: npm run bench:consent [-- --receipts=N --queries=Q]   (defaults 1000000 and 20000)
 * Writes bench/results/consent.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { signerFromSeed, toHex } from '../ledger/core/index.ts'
import { benchEnvironment } from './support/environment.ts'
import { median } from './support/median.ts'
import { benchProgress } from './support/progress.ts'
import { stableJson } from './support/stable-json.ts'
import {
  checkConsentBundle,
  consentLeafOf,
  consentTreeOf,
  makeConsentInclusionBundle,
  makeConsentNonInclusionBundle,
  proveConsentInclusion,
  proveConsentNonInclusion,
  pseudonymOf,
  signConsent,
  verifyConsentInclusion,
  verifyConsentNonInclusion,
  type ConsentInclusionProof,
  type ConsentLeaf,
  type ConsentNonInclusionProof,
  type ConsentTree,
  type SignedConsent,
} from '../protocol/index.ts'

const SITE_SECRET = new Uint8Array(32).fill(0x5e)
const AUTHORITY_SEED = new Uint8Array(32).fill(0xa7)
const QUERY_SEED = 20240601
const STUDY = 'cardio-risk'
const VALID_FROM = Date.UTC(2024, 0, 1)
const BUILD_RUNS = 3

function parseArgs(argv: readonly string[]): { receipts: number; queries: number } {
  const value = (name: string, fallback: number) => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`))
    const n = arg === undefined ? fallback : Number(arg.slice(name.length + 3))
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${arg}`)
    return n
  }
  return { receipts: value('receipts', 1_000_000), queries: value('queries', 20_000) }
}

/** A fixed sequence of indices below `bound` (a linear congruential generator). */
function indices(count: number, bound: number, seed: number): number[] {
  let state = seed >>> 0
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state % bound
  })
}

interface Row {
  readonly operation: string
  readonly count: number
  readonly totalMs: number
  readonly perOpUs: number
  readonly perSecond: number
}

/** Runs `op` over every item once and reports the rate. */
function rate<T>(operation: string, items: readonly T[], op: (item: T) => void): Row {
  const started = performance.now()
  for (const item of items) op(item)
  const totalMs = performance.now() - started
  return { operation, count: items.length, totalMs, perOpUs: (totalMs * 1000) / items.length, perSecond: items.length / (totalMs / 1000) }
}

function main(): void {
  const { receipts: n, queries } = parseArgs(process.argv.slice(2))
  const environment = benchEnvironment()
  // Timings on a shared machine vary with its load; record it beside them.
  const loadAtStart = loadavg()[0]!
  const authority = signerFromSeed(AUTHORITY_SEED)

  // Setup: n signed receipts, one per patient.
  const setupStarted = performance.now()
  const progress = benchProgress(n / 10_000, 'signing receipts')
  const signed: SignedConsent[] = new Array(n)
  for (let i = 0; i < n; i++) {
    const pseudonym = pseudonymOf(SITE_SECRET, `patient-${i}`)
    // Some patients consent for one year, others open-ended; all for the research purpose.
    const validUntil = i % 3 === 0 ? VALID_FROM + 365 * 86_400_000 : null
    const purposes = i % 5 === 0 ? ['HRESCH', 'TREAT'] : ['HRESCH']
    signed[i] = signConsent(authority, { t: 'consent', pseudonym, study: STUDY, purposes, validFrom: VALID_FROM, validUntil, signer: authority.publicKey })
    if (i % 10_000 === 9_999) progress.tick(`${i + 1}`)
  }
  progress.stop()
  const setupMs = performance.now() - setupStarted

  // Baseline: building the tree (and so the root).
  let leaves: ConsentLeaf[] = []
  const fromReceipts = rate('build tree from signed receipts (decode + hash + sort + root)', [0], () => {
    leaves = signed.map(consentLeafOf)
    consentTreeOf(leaves)
  })
  let tree: ConsentTree | undefined
  const buildSamples: number[] = []
  for (let r = 0; r < BUILD_RUNS; r++) {
    const started = performance.now()
    tree = consentTreeOf(leaves)
    buildSamples.push(performance.now() - started)
  }
  const built = tree!
  const buildMs = median(buildSamples)
  const fromLeaves: Row = { operation: `build tree from decoded leaves (sort + root; median of ${BUILD_RUNS})`, count: 1, totalMs: buildMs, perOpUs: buildMs * 1000, perSecond: 1000 / buildMs }

  // Queries: present receipts by index, absent pseudonyms from ids no patient has.
  const present = indices(queries, n, QUERY_SEED).map((i) => ({ signed: signed[i]!, pseudonym: consentLeafOf(signed[i]!).pseudonym }))
  const absent = Array.from({ length: queries }, (_, i) => pseudonymOf(SITE_SECRET, `absent-${i}`))
  const bundleQueries = Math.min(queries, 2_000)

  const inclusionProofs: ConsentInclusionProof[] = []
  const proveInclusion = rate('inclusion: prove', present, (q) => {
    inclusionProofs.push(proveConsentInclusion(built, q.pseudonym))
  })
  let k = 0
  const verifyInclusion = rate('inclusion: verify path (decode + hash receipt + path)', present, (q) => {
    verifyConsentInclusion(q.signed, inclusionProofs[k++]!, built.root)
  })
  const inclusionBundles = present.slice(0, bundleQueries).map((q, i) => JSON.stringify(makeConsentInclusionBundle(1, q.signed, inclusionProofs[i]!, built.root)))
  const checkInclusionBundle = rate('inclusion: check JSON bundle (parse + Ed25519 + path)', inclusionBundles, (text) => {
    checkConsentBundle(JSON.parse(text), { root: built.root, count: built.count, trustedSigners: [authority.publicKey] })
  })

  const nonInclusionProofs: ConsentNonInclusionProof[] = []
  const proveNonInclusion = rate('non-inclusion: prove (two neighbours)', absent, (p) => {
    nonInclusionProofs.push(proveConsentNonInclusion(built, p))
  })
  const verifyNonInclusion = rate('non-inclusion: verify (order + adjacency + two paths)', nonInclusionProofs, (proof) => {
    verifyConsentNonInclusion(proof, built.root)
  })
  const nonInclusionBundles = nonInclusionProofs.slice(0, bundleQueries).map((proof) => JSON.stringify(makeConsentNonInclusionBundle(1, proof, built.root)))
  const checkNonInclusionBundle = rate('non-inclusion: check JSON bundle (parse + paths)', nonInclusionBundles, (text) => {
    checkConsentBundle(JSON.parse(text), { root: built.root, count: built.count })
  })

  const rows = [fromReceipts, fromLeaves, proveInclusion, verifyInclusion, checkInclusionBundle, proveNonInclusion, verifyNonInclusion, checkNonInclusionBundle]
  const treeBytes = built.pseudonyms.byteLength + built.receiptHashes.byteLength + built.levels.reduce((s, l) => s + l.byteLength, 0)
  const sampleProof = inclusionProofs[0]!
  const sampleNonInclusion = JSON.stringify(makeConsentNonInclusionBundle(1, nonInclusionProofs[0]!, built.root))

  console.log(`Consent proofs on a tree of ${n.toLocaleString('en-US')} receipts, ${queries.toLocaleString('en-US')} queries each (bundles: ${bundleQueries.toLocaleString('en-US')})`)
  const loadAtEnd = loadavg()[0]!
  console.log(`Node ${environment.node} · ${environment.cpu} · 1-minute load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end`)
  console.log(
    `setup: signed ${n.toLocaleString('en-US')} receipts in ${(setupMs / 1000).toFixed(1)} s · tree ${(treeBytes / 1e6).toFixed(1)} MB · root ${toHex(built.root).slice(0, 16)}… · path ${sampleProof.proof.length} hashes · non-inclusion bundle ${sampleNonInclusion.length} bytes of JSON`,
  )
  console.table(
    rows.map((r) => ({
      operation: r.operation,
      count: r.count,
      'total ms': +r.totalMs.toFixed(1),
      'µs / op': +r.perOpUs.toFixed(r.perOpUs < 1000 ? 1 : 0),
      'per second': r.perSecond >= 100 ? Math.round(r.perSecond) : +r.perSecond.toFixed(3),
    })),
  )

  const result = {
    bench: 'consent',
    date: new Date().toISOString(),
    environment: { ...environment, loadAverage: { start: loadAtStart, end: loadAtEnd } },
    workload: { receipts: n, queries, bundleQueries, querySeed: QUERY_SEED, buildRuns: BUILD_RUNS },
    setup: { signMs: setupMs, treeBytes, root: toHex(built.root), pathHashes: sampleProof.proof.length, nonInclusionBundleBytes: sampleNonInclusion.length },
    baseline: { buildFromReceiptsMs: fromReceipts.totalMs, buildFromLeavesMs: buildMs, buildFromLeavesSamplesMs: buildSamples },
    results: rows,
  }
  const dir = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}consent.json`, stableJson(result))
  console.log(`wrote ${dir}consent.json`)
}

main()
