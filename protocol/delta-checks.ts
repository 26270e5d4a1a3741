/**
 * The byte checks of an update's delta, made once its envelope was admitted:
 * the length and SHA-256 it signed, the study model's layout, and finite
 * values (weights and the envelope's metrics). Pure; returns the decoded delta.
 */
import { equalBytes, sha256, toHex } from '../ledger/core/index.ts'
import { assertFinite, decodeWeights, type TensorShape, type Weights } from '../models/core/index.ts'
import { DeltaIntegrityError, DeltaShapeError, NonFiniteUpdateError } from './errors.ts'
import type { UpdateEnvelope } from './statements.ts'

/** Checks `bytes` against the admitted envelope `env`. Throws DeltaIntegrityError, DeltaShapeError or NonFiniteUpdateError. */
export function checkDelta(env: UpdateEnvelope, bytes: Uint8Array, shapes: readonly TensorShape[]): Weights {
  const who = `update from "${env.site}" for round ${env.round}`
  if (bytes.length !== env.size) throw new DeltaIntegrityError(`${who}: received ${bytes.length} bytes, the envelope declares ${env.size}`)
  const got = sha256(bytes)
  if (!equalBytes(got, env.delta)) throw new DeltaIntegrityError(`${who}: delta hashes to ${toHex(got).slice(0, 16)}…, the envelope signs ${toHex(env.delta).slice(0, 16)}…`)
  let delta: Weights
  try {
    delta = decodeWeights(bytes, shapes)
  } catch (err) {
    throw new DeltaShapeError(`${who}: ${(err as Error).message}`, { cause: err })
  }
  try {
    assertFinite(delta, who)
  } catch (err) {
    throw new NonFiniteUpdateError((err as Error).message, { cause: err })
  }
  for (const [k, v] of Object.entries(env.metrics)) if (!Number.isFinite(v)) throw new NonFiniteUpdateError(`${who}: metric "${k}" is ${v}`)
  return delta
}
