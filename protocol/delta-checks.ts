/**
 * The byte checks of an update's delta, made once its envelope was admitted:
 * the length and SHA-256 it signed, the study model's layout, and finite
 * values (weights and the envelope's metrics). Pure. The delta is read
 * through a `BlobReader` a slice at a time, so checking a 50M-parameter
 * delta holds one slice of it, never the whole (the coordinator reads it
 * from the file the upload was streamed into).
 */
import { READ_SLICE_BYTES, equalBytes, readAll, sha256Reader, toHex, type BlobReader } from '../ledger/core/index.ts'
import { decodeWeights, encodedSize, encodeHeader, valueSlices, valuesFromBytes, type TensorShape } from '../models/core/index.ts'
import { DeltaIntegrityError, DeltaShapeError, NonFiniteUpdateError } from './errors.ts'
import type { UpdateEnvelope } from './statements.ts'

/** Checks the delta `source` against the admitted envelope `env`. Throws DeltaIntegrityError, DeltaShapeError or NonFiniteUpdateError. */
/** `masked`: a secure-aggregation masked input, whose words are not floats (their values are not checked). */
export function checkDelta(env: UpdateEnvelope, source: BlobReader, shapes: readonly TensorShape[], options: { readonly masked?: boolean } = {}): void {
  const who = `update from "${env.site}" for round ${env.round}`
  if (source.size !== env.size) throw new DeltaIntegrityError(`${who}: received ${source.size} bytes, the envelope declares ${env.size}`)
  const got = sha256Reader(source)
  if (!equalBytes(got, env.delta)) throw new DeltaIntegrityError(`${who}: delta hashes to ${toHex(got).slice(0, 16)}…, the envelope signs ${toHex(env.delta).slice(0, 16)}…`)
  const header = encodeHeader(shapes)
  if (source.size !== encodedSize(shapes) || !equalBytes(source.read(0, header.length), header)) {
    // Not the study's layout: decoding names the first difference (bounded: the envelope's size was admitted).
    try {
      decodeWeights(readAll(source), shapes)
    } catch (err) {
      throw new DeltaShapeError(`${who}: ${(err as Error).message}`, { cause: err })
    }
    throw new DeltaShapeError(`${who}: not in the study model's layout`)
  }
  if (options.masked !== true)
    for (const { tensor, start, count, offset } of valueSlices(shapes, READ_SLICE_BYTES >> 2)) {
      const v = valuesFromBytes(source.read(offset, 4 * count))
      for (let j = 0; j < count; j++) {
        const x = v[j]!
        // x - x is 0 for every finite x and NaN for NaN and both infinities (as assertFinite).
        if (x - x !== 0) throw new NonFiniteUpdateError(`${who} tensor "${tensor.name}" index ${start + j}: value ${x}, want a finite number`)
      }
    }
  for (const [k, v] of Object.entries(env.metrics)) if (!Number.isFinite(v)) throw new NonFiniteUpdateError(`${who}: metric "${k}" is ${v}`)
}
