/**
 * Secure aggregation (issue 15): Bonawitz et al. 2017, "Practical Secure
 * Aggregation for Privacy-Preserving Machine Learning", over a random
 * k-regular graph of sites as in SecAgg+ (Bell et al. 2020). The
 * coordinator learns only the sum of the surviving sites' quantized deltas,
 * and the audit replays that sum from the log with the same functions.
 *
 * - `site-session.ts`: a site's round (keys, share boxes, masked input,
 *   one reveal).
 * - `unmask.ts`: the coordinator's and the audit's sum, pure and synchronous.
 * - `fixed-point.ts`: deltas to uint32 words and the sum back to float64.
 * - `neighbors.ts`: the round's graph from its logged seed.
 * - `key-agreement.ts`, `share-box.ts`, `shamir.ts`, `prg.ts`: the
 *   cryptography (X25519 + HKDF, secretbox, GF(2^8) Shamir, AES-CTR masks).
 * - `discrete-gaussian.ts`, `distributed-dp.ts`: the discrete Gaussian noise
 *   each site adds, and its accounting for the sum.
 *
 * The spec and its resolution into (k, t, quantization) live in
 * models/core/secagg-spec.ts; the errors in protocol/errors.ts.
 */
export type { RandomBytes, SecAggPublicKeys, SecAggReveal, SecAggSecrets, SecAggShareBox, SecAggShareKind } from './types.ts'
export { SECAGG_ENC_INFO, SECAGG_KEY_BYTES, SECAGG_MASK_INFO, SECAGG_NONCE_BYTES, SECAGG_SHARES_LABEL } from './constants.ts'
export { dequantizeSum, quantizationScale, quantizeDelta, weightRatio } from './fixed-point.ts'
export { expandMask } from './prg.ts'
export { assertUsablePublicKey, defaultRandomBytes, encInfo, generateSiteKeys, maskInfo, pairSecret, publicKeyOf } from './key-agreement.ts'
export { combineShares, splitSecret } from './shamir.ts'
export { secAggGraph } from './neighbors.ts'
export { openShares, sealShares, type HeldShares, type ShareBinding } from './share-box.ts'
export { SiteSecAggSession, type SecAggShareKeysResult, type SiteSecAggSessionInit } from './site-session.ts'
export { unmaskSum, type UnmaskInput } from './unmask.ts'
export { sampleDiscreteGaussian } from './discrete-gaussian.ts'
export { addNoiseWords, clipForRounding, ddgEpsilon, ddgRdp, ddgTau, siteNoiseSigma, type DdgRound } from './distributed-dp.ts'
