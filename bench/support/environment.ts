/**
 * What a benchmark ran on, printed beside its results (STYLE §7).
 */
import { cpus } from 'node:os'

export interface BenchEnvironment {
  readonly node: string
  readonly cpu: string
}

export function benchEnvironment(): BenchEnvironment {
  const all = cpus()
  const model = all[0]?.model.trim() ?? 'unknown'
  return { node: process.version, cpu: `${model} (${all.length} logical cores)` }
}
