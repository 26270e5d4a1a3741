/**
 * Who is on the other end of a gRPC call: the Ed25519 key in the client's
 * certificate, which the TLS handshake has already checked against the study
 * CA. Parsed once per distinct certificate.
 */
import { X509Certificate } from 'node:crypto'
import { toHex } from '../ledger/index.ts'
import { rawEd25519Key } from './certificate.ts'

/** The part of a grpc-js call this needs (`call.getAuthContext()`). */
export interface CallWithAuthContext {
  getAuthContext(): { readonly sslPeerCertificate?: { readonly raw?: Buffer } } | undefined
}

const CACHE_LIMIT = 1024
const keys = new Map<string, Uint8Array | null>()

/** The peer certificate's raw Ed25519 key; undefined on a plaintext call or a non-Ed25519 certificate. */
export function peerPublicKey(call: CallWithAuthContext): Uint8Array | undefined {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw
  if (raw === undefined) return undefined
  const id = toHex(raw)
  let key = keys.get(id)
  if (key === undefined) {
    key = rawEd25519Key(new X509Certificate(raw)) ?? null
    if (keys.size >= CACHE_LIMIT) keys.delete(keys.keys().next().value!)
    keys.set(id, key)
  }
  return key ?? undefined
}
