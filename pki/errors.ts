/**
 * Errors of the study's PKI. One class per condition with a stable,
 * `PKI_`-prefixed `code`; messages name the file or the party and say what to do.
 */
export class PkiError extends Error {
  static readonly code: string = 'PKI_ERROR'
  readonly code: string
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof PkiError).code
  }
}

/** A certificate or CA file that is missing, unreadable, not PEM, or not what it must be (Ed25519, signed by the study CA, valid now). */
export class CertificateInvalidError extends PkiError {
  static override readonly code = 'PKI_CERT_INVALID'
}

/** A certificate whose key is not the party's enrolled identity key. */
export class CertificateKeyMismatchError extends PkiError {
  static override readonly code = 'PKI_CERT_KEY_MISMATCH'
}

/** A TLS setting that cannot work: plaintext on a non-loopback address without `insecure`, a half-given TLS section. */
export class TlsConfigError extends PkiError {
  static override readonly code = 'PKI_TLS_CONFIG'
}

/** `provision` would overwrite a CA key or certificate without `--force`. */
export class ProvisionExistsError extends PkiError {
  static override readonly code = 'PKI_EXISTS'
}
