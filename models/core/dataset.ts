/**
 * A prepared, in-memory training or validation set: what a site's data
 * pipeline produces and what local training and evaluation consume.
 * Plain typed arrays so it crosses module boundaries without TF.js.
 */
export interface Dataset {
  /** Row-major `count x width` matrix of model inputs. */
  readonly features: Float32Array
  /** `count` binary labels, 0 or 1. */
  readonly labels: Float32Array
  readonly count: number
  readonly width: number
}
