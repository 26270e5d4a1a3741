/**
 * Constants of the pure model core. The encoding limits are part of the
 * canonical format: a decoder refuses what exceeds them, so the encoder
 * refuses it too and every encodable value round-trips.
 */

/** First four bytes of every canonical weights encoding: ASCII "FLW1". */
export const WEIGHTS_MAGIC = Uint8Array.of(0x46, 0x4c, 0x57, 0x31)

/** Most tensors one encoding may hold (an 8-hidden-layer MLP has 18). */
export const MAX_TENSORS = 1024

/** Longest tensor name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 256

/** Highest tensor rank (dense layers use 1 and 2). */
export const MAX_RANK = 8

/** Largest single dimension; keeps every dimension a positive int32 for TF.js. */
export const MAX_DIM = 0x7fff_ffff

/** Probabilities are clipped to [LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON] before taking logs. */
export const LOG_LOSS_EPSILON = 1e-7
