/**
 * The canonical bytes of a prepared Dataset, so a hub's validation set can be
 * stored in the lineage log by hash and every auditor scores contributions on
 * exactly the rows the coordinator used:
 *
 *   "FLD1" ‖ u32le count ‖ u32le width ‖ count·width float32le features (row-major) ‖ count float32le labels
 */
import { InvalidModelInputError } from '../errors.ts'
import { assertDataset, type Dataset } from './dataset.ts'

const MAGIC = [0x46, 0x4c, 0x44, 0x31] // "FLD1"
const HEADER_BYTES = 12

export function encodeDataset(data: Dataset): Uint8Array {
  assertDataset(data, 'dataset')
  const out = new Uint8Array(HEADER_BYTES + 4 * (data.features.length + data.labels.length))
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  view.setUint32(4, data.count, true)
  view.setUint32(8, data.width, true)
  let at = HEADER_BYTES
  for (const v of data.features) {
    view.setFloat32(at, v, true)
    at += 4
  }
  for (const v of data.labels) {
    view.setFloat32(at, v, true)
    at += 4
  }
  return out
}

export function decodeDataset(bytes: Uint8Array): Dataset {
  if (bytes.length < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw new InvalidModelInputError('dataset bytes: bad magic, want "FLD1"')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(4, true)
  const width = view.getUint32(8, true)
  const want = HEADER_BYTES + 4 * (count * width + count)
  if (bytes.length !== want) throw new InvalidModelInputError(`dataset bytes: ${bytes.length} bytes, a ${count} x ${width} dataset has ${want}`)
  const features = new Float32Array(count * width)
  const labels = new Float32Array(count)
  let at = HEADER_BYTES
  for (let i = 0; i < features.length; i++, at += 4) features[i] = view.getFloat32(at, true)
  for (let i = 0; i < count; i++, at += 4) labels[i] = view.getFloat32(at, true)
  const data = { features, labels, count, width }
  assertDataset(data, 'dataset bytes')
  return data
}
