/**
 * The plain data of secure aggregation that crosses between the site, the
 * coordinator and the audit. Keys and shares are raw bytes: X25519 keys are
 * 32 bytes, a share is the secret's length plus one byte (the share's
 * x-coordinate, last, as the shamir-secret-sharing library writes it).
 */

/** A source of cryptographic randomness: n fresh bytes per call (default `nacl.randomBytes`). */
export type RandomBytes = (n: number) => Uint8Array

/** What a site advertises in the key phase: its two X25519 public keys. */
export interface SecAggPublicKeys {
  /** The encryption key: pairs of sites derive their share-box key from it. */
  readonly cPk: Uint8Array
  /** The mask key: pairs of sites derive their pairwise mask seed from it. */
  readonly sPk: Uint8Array
}

/** A site's round secrets; they never leave the site except as shares. */
export interface SecAggSecrets {
  readonly cSk: Uint8Array
  readonly sSk: Uint8Array
  /** The 32-byte seed of the site's self-mask PRG(b). */
  readonly b: Uint8Array
}

/** One encrypted box of shares, for neighbour `to` (24-byte nonce, then the secretbox). */
export interface SecAggShareBox {
  readonly to: string
  readonly box: Uint8Array
}

/** Which secret a revealed share belongs to: `b` (self-mask seed) of a survivor, `s` (mask secret key) of a dropped site. */
export type SecAggShareKind = 'b' | 's'

/** One share a site reveals in the unmask phase: its share of site `of`'s secret `kind`. */
export interface SecAggReveal {
  readonly of: string
  readonly kind: SecAggShareKind
  readonly share: Uint8Array
}
