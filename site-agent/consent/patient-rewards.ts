/**
 * What the site keeps of each round's patient rewards: the allocation it
 * signed (`patient-rewards` statement, protocol/patient-reward-split.ts), one
 * entry per patient it trained on that round, beside the round's consent
 * leaves (rounds.ts):
 *
 *   <dir>/round-<R>-rewards.json   { format, study, site, round, amount, root, count,
 *                                    allocations: [{ pseudonym: hex, amount: decimal }] }   sorted, mode 0600
 *
 * Written before the statement is sent, so it exists for every root the log
 * can hold. Reading it rebuilds the allocation tree and checks it against
 * the recorded root and count; `fedlineage consent prove` proves a patient's
 * amount from it.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { equalBytes, fromHex, toHex } from '../../ledger/index.ts'
import { ConsentStoreCorruptError } from './errors.ts'
import { patientRewardsTreeOf, type PatientAllocation, type PatientRewardsTree } from '../../protocol/index.ts'

/** `format` of a patient-rewards round file. */
export const PATIENT_REWARDS_ROUND_FORMAT = 'fedlineage/patient-rewards-round/v1'

export interface PatientRewardsRoundRecord {
  readonly study: string
  readonly site: string
  readonly round: number
  /** The site's credit for the round, split over `allocations`. */
  readonly amount: bigint
  readonly allocations: readonly PatientAllocation[]
}

/** The path of round `round`'s patient-rewards file in `dir`. */
export function patientRewardsRoundPath(dir: string, round: number): string {
  return path.join(dir, `round-${round}-rewards.json`)
}

/** Writes round `record.round`'s file in `dir` atomically, owner-readable only. Returns the tree. */
export async function savePatientRewardsRound(dir: string, record: PatientRewardsRoundRecord): Promise<PatientRewardsTree> {
  const tree = patientRewardsTreeOf(record.allocations)
  const body = {
    format: PATIENT_REWARDS_ROUND_FORMAT,
    study: record.study,
    site: record.site,
    round: record.round,
    amount: record.amount.toString(),
    root: toHex(tree.root),
    count: tree.count,
    allocations: tree.allocations.map((a) => ({ pseudonym: a.pseudonym, amount: a.amount.toString() })),
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const file = patientRewardsRoundPath(dir, record.round)
  const temporary = `${file}.tmp-${process.pid}`
  await writeFile(temporary, `${JSON.stringify(body)}\n`, { mode: 0o600 })
  await rename(temporary, file)
  return tree
}

/**
 * Reads round `round`'s file from `dir`: undefined when the site passed no
 * rewards on for that round; ConsentStoreCorruptError (naming the file and
 * field) when it does not read or its allocations do not give its root.
 */
export async function loadPatientRewardsRound(dir: string, round: number): Promise<{ readonly record: PatientRewardsRoundRecord; readonly tree: PatientRewardsTree } | undefined> {
  const file = patientRewardsRoundPath(dir, round)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConsentStoreCorruptError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`, { cause: err })
  }
  const bad = (field: string, problem: string) => new ConsentStoreCorruptError(`${file}: ${field} ${problem}`)
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch (err) {
    throw new ConsentStoreCorruptError(`${file}: not JSON (${(err as Error).message})`, { cause: err })
  }
  if (body['format'] !== PATIENT_REWARDS_ROUND_FORMAT) throw bad('format', `is ${JSON.stringify(body['format'])}, want "${PATIENT_REWARDS_ROUND_FORMAT}"`)
  if (body['round'] !== round) throw bad('round', `is ${JSON.stringify(body['round'])}, want ${round}`)
  const { study, site, amount, root, count, allocations } = body
  if (typeof study !== 'string' || typeof site !== 'string') throw bad('study', 'and site must be strings')
  const decimal = /^(0|[1-9][0-9]*)$/
  if (typeof amount !== 'string' || !decimal.test(amount)) throw bad('amount', 'must be a decimal integer string')
  if (!Array.isArray(allocations)) throw bad('allocations', 'must be an array')
  const parsed = allocations.map((a: unknown, i): PatientAllocation => {
    const { pseudonym, amount: share } = (a ?? {}) as Record<string, unknown>
    if (typeof pseudonym !== 'string' || !/^[0-9a-f]{64}$/.test(pseudonym)) throw bad(`allocations[${i}].pseudonym`, 'must be 64 hex digits')
    if (typeof share !== 'string' || !decimal.test(share)) throw bad(`allocations[${i}].amount`, 'must be a decimal integer string')
    return { pseudonym, amount: BigInt(share) }
  })
  const tree = patientRewardsTreeOf(parsed)
  if (count !== tree.count) throw bad('count', `is ${JSON.stringify(count)}, the file holds ${tree.count} allocations`)
  if (typeof root !== 'string' || !equalBytes(fromHex(root), tree.root)) throw bad('root', `is ${JSON.stringify(root)}, the allocations give ${toHex(tree.root)}`)
  return { record: { study, site, round, amount: BigInt(amount), allocations: tree.allocations }, tree }
}
