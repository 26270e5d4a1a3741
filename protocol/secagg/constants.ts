/**
 * Domain-separation labels of secure aggregation. Each derived key or
 * plaintext starts with one, so that a value made for one purpose is never
 * accepted for another (a box key is never a mask seed, a v1 box never
 * opens as a later version's).
 */

/** HKDF info label of the pairwise share-box key (with study, round and the two sites). */
export const SECAGG_ENC_INFO = 'fedlineage/secagg/v1/enc'
/** HKDF info label of the pairwise mask seed (with study, round and the two sites). */
export const SECAGG_MASK_INFO = 'fedlineage/secagg/v1/mask'
/** First field of a share box's plaintext. */
export const SECAGG_SHARES_LABEL = 'fedlineage/secagg/v1/shares'
/** Bytes of every seed and X25519 key. */
export const SECAGG_KEY_BYTES = 32
/** Bytes of a secretbox nonce, prepended to each box. */
export const SECAGG_NONCE_BYTES = 24
