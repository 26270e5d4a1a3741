/**
 * What an audit without a DP study's noise seeds can and cannot check. Given
 * empty bytes for a round's seed, the decider computes that round's commit
 * without noise (round-close.ts): the inputs, failures, clip norms (`clipped`),
 * equal weights, the planned-site denominator, the noise scale, the strategy
 * parameters and the ε accounting (`dp`) are all re-derived and must match
 * the log. What depends on the noise cannot be: the model, the server state
 * the optimiser carries on from it, and the `updateNorm` metric. Those are
 * taken from the logged entry, and the round is reported as not re-derived.
 * With the seeds (an authorised auditor) nothing is taken on trust.
 */
import { fromHex, sha256, toHex } from '../ledger/core/index.ts'
import { ProtocolInvalidArgumentError } from './errors.ts'
import { ENTRY_KINDS } from './lineage.ts'
import type { DecidedEntry } from './round-close.ts'

/** Metrics of a commit that depend on the DP noise (the distance the noised model moved). */
export const NOISE_DEPENDENT_METRICS: readonly string[] = ['updateNorm']

/**
 * The commit a seedless re-derivation decided (`decided`), with the fields
 * that depend on the noise taken from the logged commit body `logged`.
 * Any other entry kind is returned as it is.
 */
export function withLoggedNoise(decided: DecidedEntry, logged: Readonly<Record<string, unknown>>): DecidedEntry {
  if (decided.kind !== ENTRY_KINDS.ROUND_COMMITTED) return decided
  const { state: _state, ...body } = decided.body as Record<string, unknown> & { metrics: Record<string, number> }
  const metrics: Record<string, number> = { ...body.metrics }
  const loggedMetrics = (logged['metrics'] ?? {}) as Record<string, unknown>
  for (const k of NOISE_DEPENDENT_METRICS) {
    delete metrics[k]
    if (typeof loggedMetrics[k] === 'number') metrics[k] = loggedMetrics[k] as number
  }
  return {
    kind: decided.kind,
    body: { ...body, model: logged['model'], metrics, ...(logged['state'] === undefined ? {} : { state: logged['state'] }) } as DecidedEntry['body'],
  }
}

/** The seeds file the coordinator keeps (`dp-seeds.json`) and an authorised auditor is given: `{ "seeds": ["<64 hex digits>", …] }`. */
export function encodeNoiseSeeds(seeds: readonly Uint8Array[]): string {
  return `${JSON.stringify({ seeds: seeds.map(toHex) }, null, 1)}\n`
}

/** A seeds file's seeds by the hex SHA-256 the log commits to. Throws `ProtocolInvalidArgumentError` naming `file` and what is wrong. */
export function parseNoiseSeeds(text: string, file: string): ReadonlyMap<string, Uint8Array> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new ProtocolInvalidArgumentError(`${file}: not JSON (${(err as Error).message}); want { "seeds": ["<64 hex digits>", …] }`)
  }
  const list = (parsed as { seeds?: unknown } | null)?.seeds
  if (!Array.isArray(list)) throw new ProtocolInvalidArgumentError(`${file}: want { "seeds": ["<64 hex digits>", …] }`)
  const out = new Map<string, Uint8Array>()
  list.forEach((hex: unknown, i) => {
    if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new ProtocolInvalidArgumentError(`${file}: seeds[${i}] is not 64 lowercase hex digits`)
    const seed = fromHex(hex)
    out.set(toHex(sha256(seed)), seed)
  })
  return out
}
