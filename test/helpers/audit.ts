/**
 * Audit fixtures: honest study logs and the tools to make dishonest copies.
 *
 * - `syntheticStudy()` builds a small, fully signed study log in memory (no
 *   TF.js, no network): hub-signed round starts, site-signed envelopes and
 *   reports, every entry written by the protocol's decider (`step`), as the
 *   coordinator writes it.
 *   `signLog` chains its drafts and `memorySource` serves them as an
 *   `AuditSource`, for the unit tests of the replay.
 * - `useRecordedFederation()` runs a real 3-site, 3-round federation once per
 *   test file and hands each test a private copy of the coordinator's closed
 *   LevelDB ledger.
 * - `rewriteLog`, `storeBlobAs`, `deleteEntry`, `replaceEntry` and
 *   `withMalleatedSignature` turn a copy into the log a dishonest coordinator
 *   (holding the coordinator's own key) could write: validly signed and
 *   chained, but wrong.
 *
 * Each helper registers its own cleanup with vitest.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'
import { openLevelAuditSource, replayLog, type AuditInit, type AuditOutcome, type AuditSource } from '../../auditor/index.ts'
import {
  GENESIS_PREV_HASH,
  LedgerBlobMissingError,
  decodeEntry,
  encodeEntry,
  entryHash,
  openLevelStorage,
  readAll,
  sha256,
  signEntry,
  toHex,
  type AppendedEntry,
  type CanonicalValue,
  type Entry,
  type EntryDraft,
  type Signer,
} from '../../ledger/index.ts'
import { StudySpecSchema, encodeWeights, inputWidth, modelShapes, type StudySpec, type StudySpecInput, type TensorShape, type Weights } from '../../models/core/index.ts'
import { removeBlob, createTempDir, entryKey, testSigner, withRawLevel } from './ledger.ts'
import {
  StudyState,
  needsBlobs,
  step,
  type DeciderInput,
  lineageBody,
  readLineageRecord,
  type EntryKind,
  type LineageBody,
  type LineageRecord,
  consentTreeOf,
  encodeConsentClaim,
  proveConsentNonInclusion,
  type ConsentLeaf,
  signStatement,
} from '../../protocol/index.ts'

// ---- a synthetic study, in memory ------------------------------------------------------------------

export const SYNTHETIC_STUDY: StudySpecInput = {
  id: 'audit-unit',
  model: { kind: 'logreg' },
  data: {
    features: [
      { name: 'age', type: 'numeric' },
      { name: 'bmi', type: 'numeric' },
      { name: 'smoker', type: 'categorical', categories: ['no', 'yes'], dropFirst: true },
    ],
    label: { column: 'outcome', positive: ['yes'] },
  },
  training: { learningRate: 0.1, batchSize: 8, localSteps: 4 },
  strategy: { name: 'fedavg' },
  rounds: 2,
  minSites: 2,
  roundDeadlineMs: 60_000,
  seed: 7,
}

export interface SyntheticStudyInit {
  readonly study?: Partial<StudySpecInput>
  /** Rounds to commit (default: the spec's). */
  readonly rounds?: number
  /**
   * Give every envelope a consent claim (`ext.consent`) over the site's
   * patients (`syntheticPseudonym(site, k)`, k < 10), and withdraw the listed
   * patients: from `round` on each is left out of its site's tree, reported
   * in `revoked`, logged once as `consent-revoked` (just before the site's
   * update of `round`) and proven absent in every later claim.
   */
  readonly consent?: { readonly revocations?: readonly SyntheticRevocation[] }
  /** Number of sites (default 3, at most SYNTHETIC_SITE_NAMES.length). */
  readonly siteCount?: number
  /** Site `site`'s delta in `round` (default `syntheticDelta`), e.g. an attacker's. */
  readonly delta?: (shapes: readonly TensorShape[], round: number, site: number) => Weights
}

/** Patients per synthetic site when the study has consent. */
export const SYNTHETIC_PATIENTS = 10

/** The pseudonym of synthetic patient `patient` of site `site` (index into `sites`). */
export function syntheticPseudonym(site: number, patient: number): Uint8Array {
  return sha256(new TextEncoder().encode(`pseudonym/${site}/${patient}`))
}

/** Its consent-tree leaf: the pseudonym and a receipt hash that stands for a signed receipt. */
export function syntheticConsentLeaf(site: number, patient: number): ConsentLeaf {
  return { pseudonym: syntheticPseudonym(site, patient), receiptHash: sha256(new TextEncoder().encode(`receipt/${site}/${patient}`)) }
}

/** A synthetic study's revocation: patient `patient` of site `site` (an index) withdraws from round `round` on. */
export interface SyntheticRevocation {
  readonly site: number
  readonly patient: number
  readonly round: number
}

/**
 * The `ext` of site `site`'s envelope in round `round` (opened at
 * `openedMs`) of a synthetic study with consent: a claim over the site's
 * patients (`syntheticPseudonym(site, k)`, k < SYNTHETIC_PATIENTS) minus the
 * ones withdrawn by then, each reported in `revoked` (timed at T0 + 100 ms ·
 * the round it first applies to) and proven absent.
 */
export function syntheticConsentExt(site: number, round: number, openedMs: number, revocations: readonly SyntheticRevocation[] = []): Record<string, CanonicalValue> {
  const revoked = revocations.filter((r) => r.site === site && r.round <= round)
  const gone = new Set(revoked.map((r) => r.patient))
  const tree = consentTreeOf(
    Array.from({ length: SYNTHETIC_PATIENTS }, (_, k) => k)
      .filter((k) => !gone.has(k))
      .map((k) => syntheticConsentLeaf(site, k)),
  )
  const times = revoked.map((r) => ({ pseudonym: syntheticPseudonym(site, r.patient), time: SYNTHETIC_T0_MS + r.round * 100 }))
  return {
    consent: encodeConsentClaim({
      at: openedMs,
      root: tree.root,
      count: tree.count,
      excluded: { noConsent: 1, expired: 0, notYetValid: 0, revoked: revoked.length },
      revoked: times,
      nonInclusion: times.map((t) => proveConsentNonInclusion(tree, t.pseudonym)),
    }),
  }
}

export interface SyntheticSite {
  readonly id: string
  readonly signer: Signer
  readonly examples: number
}

/** The synthetic sites' ids, in site-id order. */
export const SYNTHETIC_SITE_NAMES = ['alpha-clinic', 'beta-hospital', 'gamma-center', 'kappa-care', 'lambda-health', 'mu-institute', 'nu-ward'] as const

/** The first `count` synthetic sites (3 by default), in site-id order: site i signs with testSigner(10 + i) and trains on 40 + 10·i examples. */
export function syntheticSites(count = 3): SyntheticSite[] {
  return SYNTHETIC_SITE_NAMES.slice(0, count).map((id, i) => ({ id, signer: testSigner(10 + i), examples: 40 + 10 * i }))
}

export interface SyntheticStudy {
  readonly spec: StudySpec
  /** Signs every entry (testSigner(1)). */
  readonly coordinator: Signer
  /** Signs round starts (testSigner(2): the hub is not the coordinator here). */
  readonly hub: Signer
  readonly sites: readonly SyntheticSite[]
  /** The entries in log order, unsigned. */
  readonly drafts: EntryDraft[]
  /** Every blob the log names: genesis, deltas, models. */
  readonly blobs: Uint8Array[]
  readonly shapes: readonly TensorShape[]
}

/** The synthetic studies' clock starts here (ms since the epoch). */
export const SYNTHETIC_T0_MS = 1_700_000_000_000

/** The synthetic study's freshness window for hub requests. */
export const SYNTHETIC_REQUEST_MAX_AGE_MS = 300_000

function nonce(...parts: number[]): Uint8Array {
  return sha256(new TextEncoder().encode(`nonce/${parts.join('/')}`)).slice(0, 16)
}

/** A small deterministic delta for `site` in `round`: values differ by site, round and position. */
export function syntheticDelta(shapes: readonly TensorShape[], round: number, site: number): Weights {
  return {
    tensors: shapes.map((s) => {
      const size = s.shape.reduce((a, b) => a * b, 1)
      const values = new Float32Array(size)
      for (let j = 0; j < size; j++) values[j] = ((j % 7) - 3) * 0.001 * (site + 1) + round * 0.0005
      return { name: s.name, shape: s.shape, values }
    }),
  }
}

function _draft<K extends EntryKind>(kind: K, timeMs: number, body: LineageBody<K>): EntryDraft {
  return { kind, timeMs, body: lineageBody(kind, body) }
}

/**
 * An honest log of a synthetic study with three sites, written by the
 * protocol's own decider (`step`), as the coordinator writes it: the study and
 * its enrolments, baseline evaluations, then per round the hub's signed
 * start, each site's signed update (the last one closes the round with its
 * commit), and each site's signed evaluation; the study completes itself when
 * the spec's rounds are done. Each input is one step, one second apart.
 */
export function syntheticStudy(init: SyntheticStudyInit = {}): SyntheticStudy {
  const spec = StudySpecSchema.parse({ ...SYNTHETIC_STUDY, ...init.study })
  const rounds = init.rounds ?? spec.rounds
  const coordinator = testSigner(1)
  const hub = testSigner(2)
  const sites = syntheticSites(init.siteCount)
  const shapes = modelShapes(spec.model, inputWidth(spec.data))
  const drafts: EntryDraft[] = []
  const blobs: Uint8Array[] = []
  const byHash = new Map<string, Uint8Array>()
  const state = new StudyState()
  let timeMs = SYNTHETIC_T0_MS
  const feed = (input: DeciderInput) => {
    timeMs += 1000
    const result = step(state, input, timeMs, { get: (h) => byHash.get(toHex(h)) })
    if (needsBlobs(result)) throw new Error(`synthetic study: the decider needs ${result.needs.length} blobs it should have`)
    if (result.refusal) throw result.refusal
    for (const e of result.entries) {
      const d = { kind: e.kind, timeMs, body: e.body }
      drafts.push(d)
      state.apply(readLineageRecord({ seq: drafts.length - 1, ...d }))
    }
    for (const blob of result.blobs) {
      const b = readAll(blob)
      blobs.push(b)
      byHash.set(toHex(sha256(b)), b)
    }
  }

  feed({ kind: 'create', spec, hubKey: hub.publicKey, sites: sites.map((s) => ({ id: s.id, publicKey: s.signer.publicKey })), requestMaxAgeMs: SYNTHETIC_REQUEST_MAX_AGE_MS })
  const evaluate = (round: number) => {
    // A round the protocol abandoned (a strategy without a model) has nothing to evaluate.
    if (state.modelOfRound(round) === undefined) return
    for (const s of sites) {
      const report = signStatement(s.signer, {
        t: 'evaluation',
        study: spec.id,
        round,
        site: s.id,
        model: state.modelOfRound(round)!,
        examples: 20,
        metrics: { loss: 0.7 - 0.01 * round },
        time: timeMs,
      })
      feed({ kind: 'evaluation', report })
    }
  }
  evaluate(0)
  for (let round = 1; round <= rounds; round++) {
    feed({ kind: 'round-start', request: signStatement(hub, { t: 'round-start', study: spec.id, round, time: timeMs + 1000, nonce: nonce(round) }) })
    const open = state.openRound
    // A plan the strategy can never aggregate is abandoned as it opens: no updates to send.
    if (open === undefined) continue
    sites.forEach((s, i) => {
      const bytes = encodeWeights((init.delta ?? syntheticDelta)(shapes, round, i))
      const ext = init.consent ? syntheticConsentExt(i, round, open.openedMs, init.consent.revocations) : undefined
      const envelope = signStatement(s.signer, {
        t: 'update',
        study: spec.id,
        round,
        site: s.id,
        base: open.base,
        delta: sha256(bytes),
        size: bytes.length,
        examples: s.examples,
        metrics: { trainLoss: 0.5 + 0.01 * i },
        nonce: nonce(round, i),
        time: timeMs,
        ...(ext ? { ext } : {}),
      })
      feed({ kind: 'update', envelope, delta: bytes })
    })
    evaluate(round)
  }
  return { spec, coordinator, hub, sites, drafts, blobs, shapes }
}

/** Signs `drafts` as entries `from`, `from + 1`, … chained to `prevHash`. */
export function signLog(signer: Signer, drafts: readonly EntryDraft[], from = 0, prevHash: Uint8Array = GENESIS_PREV_HASH): AppendedEntry[] {
  const out: AppendedEntry[] = []
  let prev = prevHash
  drafts.forEach((d, i) => {
    const appended = signEntry(signer, from + i, prev, d)
    out.push(appended)
    prev = appended.hash
  })
  return out
}

export interface MemorySource extends AuditSource {
  /** Blobs by hex hash; tests may change them. */
  readonly blobs: Map<string, Uint8Array>
}

/** An in-memory AuditSource over signed entries and blobs (keyed by their SHA-256). */
export function memorySource(entries: readonly AppendedEntry[], blobs: readonly Uint8Array[]): MemorySource {
  const map = new Map(blobs.map((b) => [toHex(sha256(b)), b]))
  return {
    length: entries.length,
    blobs: map,
    async *scan(from = 0, to = entries.length) {
      for (let i = from; i < Math.min(to, entries.length); i++) yield entries[i]!
    },
    async getBlob(hash) {
      const bytes = map.get(toHex(hash))
      if (bytes === undefined) throw new LedgerBlobMissingError(hash)
      return bytes
    },
  }
}

/** The body of a draft as a plain map, for edits. */
export function bodyOf(d: { readonly body: CanonicalValue }): Record<string, CanonicalValue> {
  return { ...(d.body as Record<string, CanonicalValue>) }
}

/** A draft (or entry) with some body fields replaced. */
export function withBody(d: EntryDraft, patch: Record<string, CanonicalValue>): EntryDraft {
  return { kind: d.kind, timeMs: d.timeMs, body: { ...bodyOf(d), ...patch } }
}

type RecordOf<K extends EntryKind> = Extract<LineageRecord, { kind: K }>

/** The first record of `kind` matching `where`; throws when there is none, so a test never passes vacuously. */
export function findRecord<K extends EntryKind>(records: readonly LineageRecord[], kind: K, where: (r: RecordOf<K>) => boolean = () => true): RecordOf<K> {
  const found = records.find((r): r is RecordOf<K> => r.kind === kind && where(r as RecordOf<K>))
  if (found === undefined) throw new Error(`no ${kind} record matches`)
  return found
}

/** The study state after folding the first `count` drafts (all by default), as the replay does. */
export function foldDrafts(drafts: readonly EntryDraft[], count = drafts.length): StudyState {
  const state = new StudyState()
  for (const record of draftRecords(drafts.slice(0, count))) state.apply(record)
  return state
}

/** Reads drafts back as records (seq = index), for findRecord over a synthetic study. */
export function draftRecords(drafts: readonly EntryDraft[]): LineageRecord[] {
  return drafts.map((d, seq) => readLineageRecord({ seq, kind: d.kind, timeMs: d.timeMs, body: d.body }))
}

// ---- a recorded federation, on disk ----------------------------------------------------------------

export interface RecordedLog {
  /** This test's private copy of the coordinator's ledger dir, removed when the test finishes. */
  readonly dir: string
  /** The entries as the coordinator wrote them. */
  readonly entries: readonly AppendedEntry[]
  readonly records: readonly LineageRecord[]
  readonly spec: StudySpec
  /** The coordinator's (and, in the test federation, the hub's) key: testSigner(1). */
  readonly coordinator: Signer
}

/**
 * Call at file or describe level. Returns a function for tests: the first
 * call runs a real 3-site, 3-round federation (gRPC, LevelDB, TF.js) to
 * completion inside the calling test, and every call returns a fresh copy of
 * its closed ledger directory.
 */
export function useRecordedFederation(): () => Promise<RecordedLog> {
  let recording: Promise<Omit<RecordedLog, 'dir'> & { readonly source: string }> | undefined
  let root: string | undefined
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true })
  })
  const record = async () => {
    // Imported here so that unit tests using the synthetic helpers never load TF.js.
    const { createFederation } = await import('./federation.ts')
    const fed = await createFederation({ siteCount: 3 })
    await Promise.all(fed.sites.map((s) => fed.runSite(s)))
    await fed.coordinator.completed
    await fed.coordinator.close()
    root = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-audit-recorded-'))
    const source = path.join(root, 'ledger')
    await cp(fed.config.dataDir, source, { recursive: true })
    const entries = await readStoredLog(source)
    return { source, entries, records: entries.map((e) => readLineageRecord(e.entry)), spec: fed.config.study, coordinator: testSigner(1) }
  }
  return async () => {
    recording ??= record()
    const { source, ...log } = await recording
    const dir = path.join(await createTempDir('fedlineage-audit-'), 'ledger')
    await cp(source, dir, { recursive: true })
    return { ...log, dir }
  }
}

/** Audits the ledger in `dir` as `fedlineage audit --db` does. */
export async function auditDir(dir: string, init: AuditInit = {}): Promise<AuditOutcome> {
  const { source, close } = await openLevelAuditSource(dir)
  try {
    return await replayLog(source, init)
  } finally {
    await close()
  }
}

// ---- dishonest copies ------------------------------------------------------------------------------

/** Every entry stored in the ledger in `dir`, decoded but not verified (it may be tampered with already). */
export async function readStoredLog(dir: string): Promise<AppendedEntry[]> {
  const storage = await openLevelStorage(dir, { createIfMissing: false })
  try {
    const out: AppendedEntry[] = []
    for await (const { seq, bytes } of storage.readEntries(0, Number.MAX_SAFE_INTEGER)) out.push({ entry: decodeEntry(bytes, seq), bytes, hash: entryHash(bytes) })
    return out
  } finally {
    await storage.close()
  }
}

/** An entry to re-sign as it is. */
export function draftOf(entry: Entry): EntryDraft {
  return { kind: entry.kind, timeMs: entry.timeMs, body: entry.body }
}

export interface RewriteInit {
  /** The first entry to rewrite; entries before it stay as they are. */
  readonly from: number
  /** Who signs the rewritten entries (the coordinator's own key, for a dishonest coordinator). */
  readonly signer: Signer
  /** The new draft of each entry from `from` on: the same, changed, or null to drop it. Default: keep. */
  readonly edit?: (entry: Entry, record: LineageRecord) => EntryDraft | null
  /** Blobs to store as well (under their SHA-256). */
  readonly blobs?: readonly Uint8Array[]
  /** Chain the first rewritten entry to this hash rather than to the stored entry before it. */
  readonly prevHash?: Uint8Array
}

/**
 * Rewrites the log in `dir` from `init.from` on: each entry passes through
 * `edit`, and the results are signed as entries `from`, `from + 1`, … chained
 * to entry `from - 1`, replacing the old ones; the head follows, and entries
 * left past the new end are deleted. The result is a validly signed, validly
 * chained log that says whatever `edit` made it say.
 */
export async function rewriteLog(dir: string, init: RewriteInit): Promise<AppendedEntry[]> {
  const stored = await readStoredLog(dir)
  const prevHash = init.prevHash ?? (init.from === 0 ? GENESIS_PREV_HASH : stored[init.from - 1]!.hash)
  const drafts: EntryDraft[] = []
  for (const { entry } of stored.slice(init.from)) {
    const next = init.edit ? init.edit(entry, readLineageRecord(entry)) : draftOf(entry)
    if (next !== null) drafts.push(next)
  }
  const appended = signLog(init.signer, drafts, init.from, prevHash)
  const length = init.from + appended.length
  const storage = await openLevelStorage(dir, { createIfMissing: false })
  try {
    await storage.writeBatch({
      entries: appended.map((a) => ({ seq: a.entry.seq, bytes: a.bytes })),
      head: { length, headHash: appended.at(-1)?.hash ?? prevHash },
      blobs: (init.blobs ?? []).map((bytes) => ({ hash: sha256(bytes), bytes })),
    })
  } finally {
    await storage.close()
  }
  if (length < stored.length) {
    await withRawLevel(dir, (db) => db.batch(stored.slice(length).map((s) => ({ type: 'del' as const, key: entryKey(s.entry.seq) }))))
  }
  return appended
}

/** Stores `bytes` under the name `hash` whether or not they hash to it: a swapped or corrupted blob. */
export async function storeBlobAs(dir: string, hash: Uint8Array, bytes: Uint8Array): Promise<void> {
  const storage = await openLevelStorage(dir, { createIfMissing: false })
  try {
    await storage.writeBatch({ entries: [], blobs: [{ hash, bytes }] })
  } finally {
    await storage.close()
  }
}

/** The bytes stored under `hash` in the ledger in `dir`, unchecked. Throws when there are none. */
export async function readBlob(dir: string, hash: Uint8Array): Promise<Uint8Array> {
  const storage = await openLevelStorage(dir, { createIfMissing: false })
  try {
    const bytes = await storage.readBlob(hash)
    if (bytes === undefined) throw new LedgerBlobMissingError(hash)
    return bytes
  } finally {
    await storage.close()
  }
}

/** Deletes the blob stored under `hash`: a model or delta the log names but nobody kept. */
export async function deleteBlob(dir: string, hash: Uint8Array): Promise<void> {
  await removeBlob(dir, toHex(hash))
}

/** Deletes entry `seq` from the store and leaves the head alone: a gap in the log. */
export async function deleteEntry(dir: string, seq: number): Promise<void> {
  await withRawLevel(dir, (db) => db.del(entryKey(seq)))
}

/** Overwrites the bytes of entry `seq` (and the head, when it is the last entry). */
export async function replaceEntry(dir: string, seq: number, bytes: Uint8Array): Promise<void> {
  const stored = await readStoredLog(dir)
  const storage = await openLevelStorage(dir, { createIfMissing: false })
  try {
    const last = seq === stored.length - 1
    await storage.writeBatch({ entries: [{ seq, bytes }], head: last ? { length: stored.length, headHash: entryHash(bytes) } : undefined, blobs: [] })
  } finally {
    await storage.close()
  }
}

/** Ed25519's group order L (RFC 8032 §5.1). */
export const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n

/**
 * The entry re-encoded with S + L in place of its signature's scalar S. A
 * verifier that skips the S < L check accepts it as the same signature, so
 * one entry would have two encodings and two hashes; RFC 8032 §5.1.7 refuses it.
 */
export function withMalleatedSignature(entry: Entry): Uint8Array {
  const sig = entry.signature
  let s = 0n
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!)
  const malleated = s + GROUP_ORDER
  const out = Uint8Array.from(sig)
  for (let i = 0; i < 32; i++) out[32 + i] = Number((malleated >> BigInt(8 * i)) & 0xffn)
  return encodeEntry({ ...entry, signature: out })
}
