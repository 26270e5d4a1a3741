import { describe, expect, it } from 'vitest'
import { InvalidModelInputError, binaryAccuracy, logLoss, rocAuc } from '../../../models/core/index.ts'

describe('rocAuc', () => {
  it('counts a positive–negative tie as one half (hand example)', () => {
    // Prepare: pairs (positive, negative): 0.4>0.1 → 1, 0.4=0.4 → ½, 0.8 beats both → 2; 3.5 of 4 pairs.
    // Ranks: 0.1 → 1, the two 0.4s → 2.5 each, 0.8 → 4; R₊ = 6.5; (6.5 − 3) / (2 · 2) = 0.875.
    const probs = [0.1, 0.4, 0.4, 0.8]
    const labels = [0, 0, 1, 1]
    // Execute
    const auc = rocAuc(probs, labels)
    // Assert
    expect(auc).toBe(0.875)
  })

  it('is 1 for a perfect ranking, 0 for a reversed one and ½ when all scores tie', () => {
    // Prepare
    const labels = [0, 1, 0, 1]
    // Execute
    const perfect = rocAuc([0.1, 0.9, 0.2, 0.8], labels)
    const reversed = rocAuc([0.9, 0.1, 0.8, 0.2], labels)
    const tied = rocAuc([0.5, 0.5, 0.5, 0.5], labels)
    // Assert
    expect([perfect, reversed, tied]).toEqual([1, 0, 0.5])
  })

  it('is NaN when a class is absent or a probability is NaN', () => {
    // Prepare / Execute
    const onlyPositive = rocAuc([0.2, 0.7], [1, 1])
    const onlyNegative = rocAuc([0.2, 0.7], [0, 0])
    const withNaN = rocAuc([NaN, 0.7], [0, 1])
    // Assert
    expect(onlyPositive).toBeNaN()
    expect(onlyNegative).toBeNaN()
    expect(withNaN).toBeNaN()
  })

  it('rejects mismatched lengths and non-binary labels', () => {
    // Prepare / Execute
    const lengths = (): number => rocAuc([0.5], [0, 1])
    const labels = (): number => rocAuc([0.5, 0.5], [0, 2])
    // Assert
    expect(lengths).toThrow(InvalidModelInputError)
    expect(labels).toThrow(InvalidModelInputError)
  })
})

describe('binaryAccuracy', () => {
  it('predicts positive strictly above the threshold', () => {
    // Prepare
    const probs = [0.5, 0.51, 0.2, 0.9]
    const labels = [0, 1, 1, 1]
    // Execute
    const accuracy = binaryAccuracy(probs, labels)
    const strict = binaryAccuracy(probs, labels, 0.95)
    // Assert
    expect(accuracy).toBe(0.75)
    expect(strict).toBe(0.25)
  })

  it('is NaN for empty input', () => {
    // Prepare / Execute
    const accuracy = binaryAccuracy([], [])
    // Assert
    expect(accuracy).toBeNaN()
  })
})

describe('logLoss', () => {
  it('is the mean binary cross-entropy', () => {
    // Prepare
    const probs = [0.5, 0.8, 0.25]
    const labels = [1, 1, 0]
    // Execute
    const loss = logLoss(probs, labels)
    // Assert
    expect(loss).toBeCloseTo((Math.log(2) - Math.log(0.8) - Math.log(0.75)) / 3, 15)
  })

  it('clips probabilities to [1e-7, 1 − 1e-7]', () => {
    // Prepare
    const probs = [0, 1]
    const labels = [1, 0]
    // Execute
    const loss = logLoss(probs, labels)
    // Assert
    expect(loss).toBeCloseTo(-Math.log(1e-7), 6)
    expect(Number.isFinite(loss)).toBe(true)
  })
})
