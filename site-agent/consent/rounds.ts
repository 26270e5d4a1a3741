/**
 * What the site keeps of each round's consent: the leaves of the consent
 * tree it committed to in its update (one per patient it trained on), so
 * that a patient can later be given a proof that their consent was among
 * those used (`fedlineage consent prove`). One JSON file per round in the
 * site's consent rounds folder (by default beside its log replica):
 *
 *   <dir>/round-<R>.json   { format, study, site, round, at, root, count,
 *                            leaves: [hex(pseudonym ‖ receiptHash)] }   sorted, mode 0600
 *
 * The file is written before the update is sent, so it exists for every
 * root the log can hold; a round whose update was refused and trained again
 * is overwritten by the new attempt. Reading it rebuilds the tree and checks
 * it against the recorded root and count. Leaves are pseudonyms and hashes:
 * no patient id, no receipt body (those stay in the consent store).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { equalBytes, fromHex, toHex } from '../../ledger/index.ts'
import { ConsentRoundMissingError, ConsentStoreCorruptError } from './errors.ts'
import { CONSENT_LEAF_DATA_BYTES, PSEUDONYM_LENGTH_BYTES, consentLeafAt, consentLeafData, consentTreeOf, type ConsentLeaf, type ConsentTree } from '../../protocol/index.ts'

/** `format` of a consent round file. */
export const CONSENT_ROUND_FORMAT = 'fedlineage/consent-round/v1'

/** One round's consent as the site committed to it. */
export interface ConsentRoundRecord {
  readonly study: string
  readonly site: string
  readonly round: number
  /** The round's time the consent was decided at (ms since the epoch). */
  readonly at: number
  /** The leaves, sorted by pseudonym (as `consentTreeOf` orders them). */
  readonly leaves: readonly ConsentLeaf[]
}

/** The path of round `round`'s file in `dir`. */
export function consentRoundPath(dir: string, round: number): string {
  return path.join(dir, `round-${round}.json`)
}

/** Writes round `record.round`'s file in `dir` (created if needed) atomically, owner-readable only. Returns the tree. */
export async function saveConsentRound(dir: string, record: ConsentRoundRecord): Promise<ConsentTree> {
  const tree = consentTreeOf(record.leaves)
  const leaves = Array.from({ length: tree.count }, (_, i) => toHex(consentLeafData(consentLeafAt(tree, i))))
  const body = { format: CONSENT_ROUND_FORMAT, study: record.study, site: record.site, round: record.round, at: record.at, root: toHex(tree.root), count: tree.count, leaves }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const file = consentRoundPath(dir, record.round)
  const temporary = `${file}.tmp-${process.pid}`
  await writeFile(temporary, `${JSON.stringify(body)}\n`, { mode: 0o600 })
  await rename(temporary, file)
  return tree
}

/**
 * Reads round `round`'s file from `dir` and rebuilds its tree. Throws
 * ConsentRoundMissingError when the site kept no file for that round, and
 * ConsentStoreCorruptError (naming the file and field) when it does not read
 * or its leaves do not give its recorded root and count.
 */
export async function loadConsentRound(dir: string, round: number): Promise<{ readonly record: ConsentRoundRecord; readonly tree: ConsentTree }> {
  const file = consentRoundPath(dir, round)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConsentRoundMissingError(round, dir, { cause: err })
    throw new ConsentStoreCorruptError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: err })
  }
  const bad = (field: string, problem: string) => new ConsentStoreCorruptError(`${file}: ${field} ${problem}`)
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch (err) {
    throw new ConsentStoreCorruptError(`${file}: not JSON (${(err as Error).message})`, { cause: err })
  }
  if (body['format'] !== CONSENT_ROUND_FORMAT) throw bad('format', `is ${JSON.stringify(body['format'])}, want "${CONSENT_ROUND_FORMAT}"`)
  if (body['round'] !== round) throw bad('round', `is ${JSON.stringify(body['round'])}, want ${round}`)
  const { study, site, at, root, count, leaves } = body
  if (typeof study !== 'string' || typeof site !== 'string') throw bad('study', 'and site must be strings')
  if (typeof at !== 'number' || !Number.isSafeInteger(at)) throw bad('at', 'must be an integer time in ms')
  if (!Array.isArray(leaves)) throw bad('leaves', 'must be an array')
  const parsed = leaves.map((hex: unknown, i): ConsentLeaf => {
    if (typeof hex !== 'string' || hex.length !== CONSENT_LEAF_DATA_BYTES * 2) throw bad(`leaves[${i}]`, `must be ${CONSENT_LEAF_DATA_BYTES * 2} hex digits`)
    const data = fromHex(hex)
    return { pseudonym: data.slice(0, PSEUDONYM_LENGTH_BYTES), receiptHash: data.slice(PSEUDONYM_LENGTH_BYTES) }
  })
  const tree = consentTreeOf(parsed)
  if (count !== tree.count) throw bad('count', `is ${JSON.stringify(count)}, the file holds ${tree.count} leaves`)
  if (typeof root !== 'string' || !equalBytes(fromHex(root), tree.root)) throw bad('root', `is ${JSON.stringify(root)}, the leaves give ${toHex(tree.root)}`)
  return { record: { study, site, round, at, leaves: parsed }, tree }
}
