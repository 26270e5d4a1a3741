/**
 * The box a site sends each neighbour through the coordinator: its shares of
 * b and of sSk, sealed with `nacl.secretbox` (XSalsa20-Poly1305) under the
 * pair's encryption secret, a fresh 24-byte nonce prepended. The plaintext is
 * the canonical CBOR of [label, study, round, from, to, bShare, sShare], so a
 * box replayed into another study or round, or forwarded to another site,
 * fails to open or fails its binding, and the recipient names the sender.
 */
import nacl from 'tweetnacl'
import { decodeCanonical, encodeCanonical } from '../../ledger/core/index.ts'
import { SecAggShareInvalidError } from '../errors.ts'
import { SECAGG_NONCE_BYTES, SECAGG_SHARES_LABEL } from './constants.ts'

/** Who a box is from and for, in which study and round: what it binds. */
export interface ShareBinding {
  readonly study: string
  readonly round: number
  readonly from: string
  readonly to: string
}

/** A pair of shares one site holds of another's secrets. */
export interface HeldShares {
  readonly b: Uint8Array
  readonly s: Uint8Array
}

/** Seals a box; `nonce` must be 24 fresh random bytes and `key` the pair's 32-byte encryption secret. */
export function sealShares(binding: ShareBinding, shares: HeldShares, key: Uint8Array, nonce: Uint8Array): Uint8Array {
  const plaintext = encodeCanonical([SECAGG_SHARES_LABEL, binding.study, binding.round, binding.from, binding.to, shares.b, shares.s])
  const sealed = nacl.secretbox(plaintext, nonce, key)
  const box = new Uint8Array(SECAGG_NONCE_BYTES + sealed.length)
  box.set(nonce, 0)
  box.set(sealed, SECAGG_NONCE_BYTES)
  return box
}

/**
 * Opens a box and checks that it binds `expected` and carries two shares of
 * `shareBytes` bytes each. Throws SecAggShareInvalidError naming the sender.
 */
export function openShares(box: Uint8Array, expected: ShareBinding, key: Uint8Array, shareBytes: number): HeldShares {
  const from = expected.from
  const fail = (why: string, cause?: unknown): never => {
    throw new SecAggShareInvalidError(
      `share box from site "${from}" to "${expected.to}" (round ${expected.round}): ${why}; ask "${from}" to resend its shares`,
      from,
      cause === undefined ? undefined : { cause },
    )
  }
  if (box.length < SECAGG_NONCE_BYTES + nacl.secretbox.overheadLength) fail(`${box.length} bytes is too short for a box`)
  const plaintext = nacl.secretbox.open(Uint8Array.from(box.subarray(SECAGG_NONCE_BYTES)), Uint8Array.from(box.subarray(0, SECAGG_NONCE_BYTES)), key)
  if (plaintext === null) return fail('does not open under the pair key (another round, study or recipient, or tampered)')
  let value: unknown
  try {
    value = decodeCanonical(plaintext)
  } catch (err) {
    return fail('plaintext is not canonical CBOR', err)
  }
  if (!Array.isArray(value) || value.length !== 7) return fail('plaintext is not a 7-field shares record')
  const [label, study, round, boxFrom, boxTo, b, s] = value as unknown[]
  if (label !== SECAGG_SHARES_LABEL) fail(`label is ${JSON.stringify(label)}, want "${SECAGG_SHARES_LABEL}"`)
  if (study !== expected.study || round !== expected.round || boxFrom !== expected.from || boxTo !== expected.to) {
    fail(
      `binds study ${JSON.stringify(study)} round ${String(round)} from ${JSON.stringify(boxFrom)} to ${JSON.stringify(boxTo)}, want study "${expected.study}" round ${expected.round} from "${from}" to "${expected.to}"`,
    )
  }
  if (!(b instanceof Uint8Array) || b.length !== shareBytes || !(s instanceof Uint8Array) || s.length !== shareBytes) fail(`shares are not two ${shareBytes}-byte strings`)
  return { b: b as Uint8Array, s: s as Uint8Array }
}
