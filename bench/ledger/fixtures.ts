/**
 * Fixed-seed inputs for bench:ledger: keys, realistic entry drafts, temp
 * directories, and the LevelDB layout of ledger/storage.ts spelled out for
 * the raw-LevelDB baseline (as test/helpers/ledger.ts does, on purpose: it
 * pins the on-disk format rather than importing it).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Level } from 'level'
import { encodeCanonical, sha256, signerFromSeed, type EntryDraft, type Signer } from '../../ledger/index.ts'
import { mulberry32, nextUint32, type Random } from '../../models/core/index.ts'
import { embedStatement, lineageBody, signStatement } from '../../protocol/index.ts'

export const SEED = 20240611
export const STUDY_ID = 'bench-ledger'
/** Sites named in the update-accepted drafts (as in the audit section: 20 sites). */
export const SITES = 20
/** Delta size the envelopes declare: 1M float32 parameters. */
const DELTA_BYTES = 4_000_000
const T0_MS = 1_700_000_000_000

/** Deterministic signer number `n` (seed = 32 bytes of `n`), as test/helpers/ledger.ts. */
export function benchSigner(n: number): Signer {
  return signerFromSeed(new Uint8Array(32).fill(n))
}

/** The coordinator: authors every entry and checkpoint. */
export const COORDINATOR = benchSigner(1)

/** A Mulberry32 stream for `seed` mixed with a per-use label, so sections do not share streams. */
export function randomFor(label: number): Random {
  return mulberry32((SEED ^ Math.imul(label + 1, 0x9e3779b1)) >>> 0)
}

/** A uniform integer in [lo, hi). */
export function randomInt(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo))
}

/**
 * `count` drafts shaped like the coordinator's `update-accepted` records: the
 * site's signed update envelope (~210 bytes of canonical CBOR plus a 64-byte
 * Ed25519 signature, embedded), the delta hash, round, site and example count,
 * validated by `lineageBody` as the coordinator does. Entries are ~570 bytes.
 * Envelopes are signed here, once, by 20 site keys: sites sign them, the
 * coordinator only logs them, so their cost is not part of an append.
 */
export function updateAcceptedDrafts(count: number): EntryDraft[] {
  const random = randomFor(1)
  const sites = Array.from({ length: SITES }, (_, i) => ({ id: `site-${String(i).padStart(2, '0')}`, signer: benchSigner(10 + i) }))
  const out: EntryDraft[] = []
  let base = sha256(new TextEncoder().encode('bench-ledger/genesis'))
  for (let i = 0; i < count; i++) {
    const round = 1 + Math.floor(i / SITES)
    if (i % SITES === 0 && i > 0) base = sha256(base)
    const site = sites[i % SITES]!
    const seed = new Uint8Array(16)
    for (let j = 0; j < 16; j += 4) new DataView(seed.buffer).setUint32(j, nextUint32(random))
    const delta = sha256(seed)
    const examples = 50 + randomInt(random, 0, 2000)
    const timeMs = T0_MS + i * 37
    const envelope = signStatement(site.signer, {
      t: 'update',
      study: STUDY_ID,
      round,
      site: site.id,
      base,
      delta,
      size: DELTA_BYTES,
      examples,
      metrics: { trainLoss: 0.25 + random() * 0.5 },
      nonce: seed,
      time: timeMs,
    })
    out.push({ kind: 'update-accepted', timeMs: timeMs + 5, body: lineageBody('update-accepted', { round, site: site.id, envelope: embedStatement(envelope), delta, examples }) })
  }
  return out
}

/** `count` drafts cycled from `pool`, starting at pool position `from`. */
export function cycle<T>(pool: readonly T[], from: number, count: number): T[] {
  return Array.from({ length: count }, (_, i) => pool[(from + i) % pool.length]!)
}

/** A fresh temp directory and its removal. */
export async function tempDir(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `fedlineage-bench-ledger-${label}-`))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

// ---- the on-disk layout of ledger/storage.ts, for the raw baseline ------------------------------

export function entryKey(seq: number): string {
  return `entry/${seq.toString(16).padStart(16, '0')}`
}

export function nodeKey(level: number, index: number): string {
  return `node/${level.toString(16).padStart(2, '0')}/${index.toString(16).padStart(16, '0')}`
}

export const HEAD_KEY = 'meta/head'

export function headValue(length: number, headHash: Uint8Array, range: readonly Uint8Array[]): Uint8Array {
  return encodeCanonical({ length, head: headHash, range: [...range] })
}

/** A raw LevelDB with the ledger's encodings (utf8 keys, byte values). */
export async function openRawLevel(dir: string): Promise<Level<string, Uint8Array>> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open({ createIfMissing: true })
  return db
}
