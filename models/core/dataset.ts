/**
 * A prepared, in-memory training or validation set: what a site's data
 * pipeline produces and what local training and evaluation consume.
 * Plain typed arrays so it crosses module boundaries without TF.js.
 */
import { InvalidModelInputError } from '../errors.ts'

export interface Dataset {
  /** Row-major `count x width` matrix of model inputs. */
  readonly features: Float32Array
  /** `count` binary labels, 0 or 1. */
  readonly labels: Float32Array
  readonly count: number
  readonly width: number
}

/**
 * Throws `InvalidModelInputError` unless `data` is internally consistent:
 * `count >= 1` rows of `width >= 1` finite features, arrays of matching
 * lengths, and every label 0 or 1. `context` starts the message.
 */
export function assertDataset(data: Dataset, context: string): void {
  const where = context === '' ? '' : `${context}: `
  if (!Number.isSafeInteger(data.count) || data.count < 1 || !Number.isSafeInteger(data.width) || data.width < 1) {
    throw new InvalidModelInputError(`${where}dataset is ${data.count} x ${data.width}, want at least 1 x 1`)
  }
  if (data.features.length !== data.count * data.width) {
    throw new InvalidModelInputError(`${where}${data.features.length} feature values, want ${data.count} x ${data.width} = ${data.count * data.width}`)
  }
  if (data.labels.length !== data.count) {
    throw new InvalidModelInputError(`${where}${data.labels.length} labels, want ${data.count}`)
  }
  for (let i = 0; i < data.labels.length; i++) {
    const y = data.labels[i]!
    if (y !== 0 && y !== 1) throw new InvalidModelInputError(`${where}label of row ${i} is ${y}, want 0 or 1`)
  }
  const f = data.features
  for (let i = 0; i < f.length; i++) {
    if (f[i]! - f[i]! !== 0) {
      throw new InvalidModelInputError(`${where}feature ${i % data.width} of row ${Math.floor(i / data.width)} is ${f[i]}, want a finite number`)
    }
  }
}
