/**
 * Constants of the ledger's byte formats. Changing any of them changes entry
 * bytes or hashes, which is a breaking change of the on-disk and wire format.
 */

/** The only entry format version; `v` in the entry map. */
export const ENTRY_VERSION = 1

/**
 * Domain-separation context for entry signatures. The signed message is
 * UTF-8(ENTRY_SIGNING_CONTEXT) ‖ 0x00 ‖ canonical bytes of the unsigned entry,
 * so an entry signature can never be replayed as a signature over any other
 * kind of message signed with the same key (and vice versa).
 */
export const ENTRY_SIGNING_CONTEXT = 'fedlineage/entry/v1'

/** Separates the signing context from the message it prefixes. */
export const SIGNING_CONTEXT_SEPARATOR = 0x00

/** SHA-256 digest length: entry hashes, `prev`, blob names. */
export const HASH_LENGTH_BYTES = 32

/** Ed25519 public key length (RFC 8032 §5.1.5). */
export const PUBLIC_KEY_LENGTH_BYTES = 32

/** Ed25519 private key seed length (RFC 8032 §5.1.5). */
export const SEED_LENGTH_BYTES = 32

/** Ed25519 signature length, R ‖ S (RFC 8032 §5.1.6). */
export const SIGNATURE_LENGTH_BYTES = 64

/**
 * Entry kinds are short lowercase slugs (`round-result`, `model-published`):
 * a letter, then up to 63 letters, digits or hyphens.
 */
export const ENTRY_KIND_PATTERN = /^[a-z][a-z0-9-]{0,63}$/
