/**
 * Binary-classification metrics from predicted probabilities and 0/1 labels,
 * computed in float64. A NaN probability makes every metric NaN rather than
 * a plausible-looking number.
 */
import { InvalidModelInputError } from '../errors.ts'
import { LOG_LOSS_EPSILON } from './constants.ts'

type Numbers = ArrayLike<number>

/** Throws `InvalidModelInputError` unless the arrays pair up and every label is 0 or 1. */
function checkInputs(probs: Numbers, labels: Numbers): void {
  if (probs.length !== labels.length) {
    throw new InvalidModelInputError(`${probs.length} probabilities, ${labels.length} labels; want equal counts`)
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!
    if (y !== 0 && y !== 1) throw new InvalidModelInputError(`label ${i}: ${y}, want 0 or 1`)
  }
}

function hasNaN(values: Numbers): boolean {
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) return true
  return false
}

/**
 * Fraction of examples whose prediction (p > threshold, as FLamby's heart
 * metric) equals the label. NaN for empty input.
 */
export function binaryAccuracy(probs: Numbers, labels: Numbers, threshold = 0.5): number {
  checkInputs(probs, labels)
  if (probs.length === 0 || hasNaN(probs)) return NaN
  let correct = 0
  for (let i = 0; i < probs.length; i++) if ((probs[i]! > threshold ? 1 : 0) === labels[i]) correct++
  return correct / probs.length
}

/**
 * Area under the ROC curve via the Mann–Whitney U statistic:
 * AUC = (R₊ − n₊(n₊+1)/2) / (n₊ · n₋), where R₊ is the sum of the positives'
 * ranks among all scores and tied scores share their average rank (so a tie
 * between a positive and a negative counts one half). NaN when either class
 * is absent, as the AUC is undefined there.
 */
export function rocAuc(probs: Numbers, labels: Numbers): number {
  checkInputs(probs, labels)
  const n = probs.length
  let positives = 0
  for (let i = 0; i < n; i++) positives += labels[i]!
  const negatives = n - positives
  if (positives === 0 || negatives === 0 || hasNaN(probs)) return NaN
  // Compared, not subtracted: Infinity - Infinity would make the comparator inconsistent.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (probs[a]! < probs[b]! ? -1 : probs[a]! > probs[b]! ? 1 : 0))
  let positiveRankSum = 0
  for (let start = 0; start < n; ) {
    let end = start + 1
    while (end < n && probs[order[end]!] === probs[order[start]!]) end++
    // Ranks are 1-based: the tie group start..end-1 shares the mean of ranks start+1..end.
    const averageRank = (start + 1 + end) / 2
    for (let k = start; k < end; k++) if (labels[order[k]!] === 1) positiveRankSum += averageRank
    start = end
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

/**
 * Mean binary cross-entropy −[y·ln p + (1−y)·ln(1−p)], with p clipped to
 * [1e-7, 1 − 1e-7] so a confident mistake costs a large but finite loss.
 * NaN for empty input.
 */
export function logLoss(probs: Numbers, labels: Numbers): number {
  checkInputs(probs, labels)
  if (probs.length === 0) return NaN
  let sum = 0
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(Math.max(probs[i]!, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON)
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p)
  }
  return sum / probs.length
}
