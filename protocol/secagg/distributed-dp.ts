/**
 * Distributed differential privacy for secure aggregation (placeholder
 * signatures; implemented in the next commit).
 */
import { ProtocolInvalidArgumentError } from '../errors.ts'
import type { RandomBytes } from './types.ts'

export function sampleDiscreteGaussian(sigma: number, count: number, randomBytes: RandomBytes): Int32Array {
  void sigma
  void count
  void randomBytes
  throw new ProtocolInvalidArgumentError('sampleDiscreteGaussian: not implemented')
}

export function siteNoiseSigma(noiseMultiplier: number, clipNorm: number, scale: number, threshold: number): number {
  return (noiseMultiplier * clipNorm * scale) / Math.sqrt(threshold)
}

export function ddgTau(sigma: number, sites: number): number {
  void sigma
  void sites
  throw new ProtocolInvalidArgumentError('ddgTau: not implemented')
}
