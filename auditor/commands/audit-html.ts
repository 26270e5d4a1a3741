/**
 * Writes the audit's HTML report (html-report.ts): gathers what it shows
 * beyond the JSON report (the study view of the replayed state, the newest
 * cosigned checkpoint with each cosignature verified) and web/'s assets.
 */
import { writeFile } from 'node:fs/promises'
import { decodeEntry, openCheckpoint, readCheckpoint, toHex, verifyCosignature, type SignedCheckpoint } from '../../ledger/index.ts'
import { isEntryKind, readLineageRecord, studyView, type StudyState } from '../../protocol/index.ts'
import { REPORT_SCRIPTS, REPORT_STYLES, readWebAsset } from '../../web/index.ts'
import type { AuditReport } from '../core/index.ts'
import { renderAuditHtml, type CosignedCheckpointView, type FailedEntryView } from '../html-report.ts'
import type { AuditSource } from '../replay.ts'

/** Checkpoints looked at, newest first, for one that carries cosignatures. */
const MAX_CHECKPOINTS_SEARCHED = 256

/** The newest checkpoint of the source that witnesses cosigned, each cosignature verified against it. */
export async function newestCosigned(source: AuditSource, state: StudyState, coordinatorKey: string): Promise<CosignedCheckpointView | undefined> {
  if (source.checkpoints === undefined || source.cosignatures === undefined) return undefined
  const all: SignedCheckpoint[] = [...(await source.checkpoints())]
  const bySize = all.map((signed) => ({ signed, cp: readCheckpoint(signed) })).sort((a, b) => b.cp.size - a.cp.size)
  const siteOfKey = new Map([...state.sites].map(([id, key]) => [toHex(key), id]))
  for (const { signed, cp } of bySize.slice(0, MAX_CHECKPOINTS_SEARCHED)) {
    const cosigs = await source.cosignatures(cp.size)
    if (cosigs.length === 0) continue
    // Only a checkpoint the coordinator signed counts; a stray one is shown as nothing.
    try {
      if (coordinatorKey !== '') openCheckpoint(signed, Buffer.from(coordinatorKey, 'hex'))
    } catch {
      continue
    }
    return {
      size: cp.size,
      root: toHex(cp.root),
      cosignatures: cosigs.map((c) => ({ witness: toHex(c.witness), site: siteOfKey.get(toHex(c.witness)) ?? null, timeMs: c.timestamp * 1000, valid: verifyCosignature(signed, c) })),
    }
  }
  return undefined
}

/**
 * What the failing entry is, read from the source as stored: its kind and,
 * for a round's entry, its round (the replayed state stops before it, so
 * only the entry itself can say). Undefined when it cannot be read at all.
 */
export async function failedEntry(source: AuditSource, seq: number): Promise<FailedEntryView | undefined> {
  try {
    for await (const { bytes } of source.scan(seq, seq + 1)) {
      const entry = decodeEntry(bytes, seq)
      if (!isEntryKind(entry.kind)) return { seq, kind: entry.kind, round: null }
      const body = readLineageRecord(entry).body as { round?: number }
      return { seq, kind: entry.kind, round: typeof body.round === 'number' && body.round > 0 ? body.round : null }
    }
  } catch {
    // A tampered entry may not decode: the report then names the seq alone, as the failure does.
    return { seq, kind: null, round: null }
  }
  return undefined
}

/** Renders and writes the HTML report of an audit to `file`. */
export async function writeAuditHtml(file: string, audit: { readonly report: AuditReport; readonly state: StudyState }, source: AuditSource, description: string, nowMs: number): Promise<void> {
  const [scripts, styles] = await Promise.all([Promise.all(REPORT_SCRIPTS.map(readWebAsset)), Promise.all(REPORT_STYLES.map(readWebAsset))])
  const html = renderAuditHtml({
    report: audit.report,
    view: studyView(audit.state),
    cosigned: await newestCosigned(source, audit.state, audit.report.coordinatorKey),
    failedEntry: audit.report.failure === undefined ? undefined : await failedEntry(source, audit.report.failure.seq),
    source: description,
    generatedMs: nowMs,
    scripts,
    styles,
  })
  await writeFile(file, html)
}
