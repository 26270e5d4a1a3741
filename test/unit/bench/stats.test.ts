import { describe, expect, it } from 'vitest'
import { mean, std, weightedMean } from '../../../bench/support/stats.ts'

// FLamby FedAvg100 "Pooled Test" accuracies, seeds 42-46 (owkin/FLamby results_benchmark_fed_heart_disease/heart_seed4{2..6}.csv).
// python3 -c "import statistics as s; x=[0.7519685039370079,0.7637795275590551,0.7637795275590551,0.7007874015748031,0.7598425196850394]; print(s.mean(x), s.pstdev(x), s.stdev(x))"
const FLAMBY_POOLED = [0.7519685039370079, 0.7637795275590551, 0.7637795275590551, 0.7007874015748031, 0.7598425196850394]

describe('bench stats', () => {
  it('gives FLamby pooled mean and its published population std (ddof 0), and the sample std (ddof 1)', () => {
    // Execute
    const m = mean(FLAMBY_POOLED)
    const population = std(FLAMBY_POOLED, 0)
    const sample = std(FLAMBY_POOLED)

    // Assert
    expect(m).toBeCloseTo(0.7480314960629921, 12)
    expect(population).toBeCloseTo(0.02401252075901875, 12)
    expect(sample).toBeCloseTo(0.026846814364145388, 12)
  })

  it('is NaN where the statistic is undefined', () => {
    expect(mean([])).toBeNaN()
    expect(std([0.7])).toBeNaN()
    expect(std([0.7], 0)).toBe(0)
  })

  it('weights accuracies by test rows (FLamby FedAvg100 seed 42: 180 of 254 correct)', () => {
    // Prepare
    const clients = [0.7596153846153846, 0.6966292134831461, 0.6875, 0.6222222222222222]
    const testRows = [104, 89, 16, 45]

    // Execute
    const pooled = weightedMean(clients.map((value, i) => ({ value, weight: testRows[i]! })))

    // Assert
    expect(pooled * 254).toBeCloseTo(180, 9)
  })
})
