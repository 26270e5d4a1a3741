/**
 * The study's PKI: what gRPC needs for mutual TLS, bound to the identities
 * the log knows.
 *
 * - A study CA held by the hub (study-ca.ts) signs one certificate per party
 *   (certificate.ts): the coordinator's (server, with its hosts), and the
 *   hub's, each site's and each auditor's (client). Each carries the party's
 *   enrolled Ed25519 key, and each party's TLS key is its identity key file,
 *   so nobody hands a private key to anyone.
 * - credentials.ts turns a party's files into grpc-js credentials after
 *   checking them; peer-identity.ts reads the key of the client on a call,
 *   which the coordinator compares with the enrolled key of the site the
 *   call speaks for.
 * - transport-policy.ts: plaintext only on loopback, or with an explicit
 *   `insecure`, and loudly.
 */
export { CertificateInvalidError, CertificateKeyMismatchError, PkiError, ProvisionExistsError, TlsConfigError } from './errors.ts'
export { checkIssuedBy, issueCaCertificate, issuePartyCertificate, parseCertificate, PARTY_ROLES, rawEd25519Key, type CertificateRequest, type PartyRole } from './certificate.ts'
export { CA_CERT_FILE, createStudyCa, loadStudyCa, readCaCertificate, type StudyCa } from './study-ca.ts'
export { provisionStudyKit, type KitParty, type StudyKit, type StudyKitInit } from './study-kit.ts'
export { clientCredentials, loadPartyTls, serverCredentials, type PartyTls, type TlsFiles } from './credentials.ts'
export { peerPublicKey, type CallWithAuthContext } from './peer-identity.ts'
export { isLoopbackHost, transportMode, transportNotice, type TransportMode } from './transport-policy.ts'
export { CA_VALID_DAYS, PARTY_VALID_DAYS } from './constants.ts'
export { registerPkiCommands } from './cli.ts'
