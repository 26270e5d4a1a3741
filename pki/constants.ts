/** The PKI's constants, apart from the code that uses them so that help can name them without loading it. */

/** Who holds a certificate; the coordinator's is a server certificate, every other a client one. */
export const PARTY_ROLES = ['coordinator', 'hub', 'site', 'auditor'] as const

/** CA lifetime: a study's length with margin. Party certificates: about a year, as browsers cap server certificates. */
export const CA_VALID_DAYS = 825
export const PARTY_VALID_DAYS = 397
