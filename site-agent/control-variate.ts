/**
 * A site's own SCAFFOLD control variate c_i, kept in its state folder so that
 * it survives a restart (`<stateDir>/<siteId>-control-variate-<studyId>-<spec>.cbor`,
 * `<spec>` the first 16 hex digits of the spec's hash, so that a study run
 * again under the same id with another spec starts from c_i = 0).
 * It never leaves the site: the server derives the site's Δc_i from its
 * delta (models/core/scaffold.ts).
 *
 * The file holds the round it was last advanced for and c_i both before and
 * after that round, so that a site that restarts mid-round and trains the
 * same round again starts from the same c_i as the first time instead of
 * advancing it twice. Canonical CBOR, written to a temporary file and renamed
 * into place, so a crash leaves the old record or the new one, never half.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { decodeCanonical, encodeCanonical, toHex } from '../ledger/index.ts'
import { decodeWeights, encodeWeights, ModelError, type TensorShape, type Weights } from '../models/index.ts'
import { SiteControlVariateError } from './errors.ts'

/** The stored record: c_i before and after training round `round`. */
export interface ControlVariateRecord {
  readonly round: number
  readonly before: Weights
  readonly after: Weights
}

/** Where a site keeps its control variate for one study (its id and the SHA-256 of its spec's canonical bytes). */
export function controlVariateFile(stateDir: string, siteId: string, studyId: string, specHash: Uint8Array): string {
  return path.join(stateDir, `${siteId}-control-variate-${studyId}-${toHex(specHash).slice(0, 16)}.cbor`)
}

function zeros(shapes: readonly TensorShape[]): Weights {
  return { tensors: shapes.map((s) => ({ name: s.name, shape: s.shape, values: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) })) }
}

/** The stored record, or undefined when the site has none yet. Throws `SiteControlVariateError` for a file it cannot read as this model's. */
export async function readControlVariate(file: string, shapes: readonly TensorShape[]): Promise<ControlVariateRecord | undefined> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new SiteControlVariateError(`${file}: cannot read the site's control variate (${(err as Error).message})`, { cause: err })
  }
  try {
    const v = decodeCanonical(bytes) as { round?: unknown; before?: unknown; after?: unknown }
    if (typeof v.round !== 'number' || !(v.before instanceof Uint8Array) || !(v.after instanceof Uint8Array)) throw new Error('want a map of round, before and after')
    return { round: v.round, before: decodeWeights(v.before, shapes), after: decodeWeights(v.after, shapes) }
  } catch (err) {
    const why = err instanceof ModelError ? `${err.code}: ${err.message}` : (err as Error).message
    throw new SiteControlVariateError(`${file}: not this study's control variate (${why}); move it away to start again from c_i = 0`, { cause: err })
  }
}

/**
 * c_i to train `round` with: the stored c_i before that round when it was
 * already trained once (a restart mid-round), else the newest stored c_i, or
 * zeros when none is stored.
 */
export function controlVariateFor(record: ControlVariateRecord | undefined, round: number, shapes: readonly TensorShape[]): Weights {
  if (record === undefined) return zeros(shapes)
  return record.round === round ? record.before : record.after
}

/** Stores c_i before and after `round`, replacing the file in one rename. Throws `SiteControlVariateError` when the folder is not writable. */
export async function writeControlVariate(file: string, record: ControlVariateRecord): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    await writeFile(temporary, encodeCanonical({ round: record.round, before: encodeWeights(record.before), after: encodeWeights(record.after) }), { mode: 0o600 })
    await rename(temporary, file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new SiteControlVariateError(`${file}: cannot store the site's control variate (${code}); set "stateDir" in the site config to a writable folder`, { cause: err })
  }
}
