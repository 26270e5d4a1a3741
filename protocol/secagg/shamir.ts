/**
 * Shamir secret sharing over GF(2^8), in the format of the
 * `shamir-secret-sharing` library (each share: one byte per secret byte, then
 * its x-coordinate as the last byte). Sites split with the library's `split`
 * (audited; it draws its own coefficients and x-coordinates from the
 * platform CSPRNG). The coordinator and the audit rebuild secrets inside the
 * round decider, which is synchronous, and the library's `combine` is declared
 * async: hence `combineShares` here, a synchronous Lagrange interpolation at
 * x = 0 over the same field (the AES polynomial x^8 + x^4 + x^3 + x + 1),
 * tested against the library's `combine` in both directions.
 */
import { split } from 'shamir-secret-sharing'
import { ProtocolInvalidArgumentError } from '../errors.ts'

// log/exp tables of GF(2^8) under 0x11b with generator 0x03, computed here rather than copied.
const EXP = new Uint8Array(510)
const LOG = new Uint8Array(256)
{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    EXP[i + 255] = x
    LOG[x] = i
    // x · 3 = x · 2 ⊕ x, reducing by 0x11b when x · 2 overflows a byte.
    const doubled = (x << 1) ^ (x & 0x80 ? 0x11b : 0)
    x = doubled ^ x
  }
}

function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!
}

function div(a: number, b: number): number {
  return a === 0 ? 0 : EXP[LOG[a]! + 255 - LOG[b]!]!
}

/**
 * Splits `secret` into `shares` shares, any `threshold` of which rebuild it
 * (the library's `split`; 2 <= threshold <= shares <= 255).
 */
export async function splitSecret(secret: Uint8Array, shares: number, threshold: number): Promise<Uint8Array[]> {
  // The library insists on an exact Uint8Array (not a Buffer or subclass).
  return split(Uint8Array.from(secret), shares, threshold)
}

/**
 * The secret whose shares these are: Σ_i y_i · Π_{j≠i} x_j / (x_i ⊕ x_j),
 * per byte (addition and subtraction are both XOR). Requires at least two
 * shares of one length >= 2 with distinct non-zero x-coordinates; throws
 * ProtocolInvalidArgumentError otherwise. Given fewer than the threshold, or
 * a wrong share, it returns a wrong secret: callers check the result against
 * a commitment.
 */
export function combineShares(shares: readonly Uint8Array[]): Uint8Array {
  if (shares.length < 2 || shares.length > 255) throw new ProtocolInvalidArgumentError(`combineShares needs 2..255 shares, got ${shares.length}`)
  const length = shares[0]!.length
  if (length < 2) throw new ProtocolInvalidArgumentError(`a share is ${length} bytes, want at least 2`)
  const xs = new Uint8Array(shares.length)
  const seen = new Uint8Array(256)
  shares.forEach((share, i) => {
    if (share.length !== length) throw new ProtocolInvalidArgumentError(`share ${i} is ${share.length} bytes, want ${length} like share 0`)
    const x = share[length - 1]!
    if (x === 0) throw new ProtocolInvalidArgumentError(`share ${i} has x-coordinate 0, which would be the secret itself`)
    if (seen[x]) throw new ProtocolInvalidArgumentError(`shares repeat the x-coordinate ${x}`)
    seen[x] = 1
    xs[i] = x
  })
  // The Lagrange basis at 0 depends only on the x-coordinates: compute it once.
  const basis = new Uint8Array(shares.length)
  for (let i = 0; i < shares.length; i++) {
    let l = 1
    for (let j = 0; j < shares.length; j++) if (j !== i) l = mul(l, div(xs[j]!, xs[i]! ^ xs[j]!))
    basis[i] = l
  }
  const secret = new Uint8Array(length - 1)
  for (let byte = 0; byte < length - 1; byte++) {
    let acc = 0
    for (let i = 0; i < shares.length; i++) acc ^= mul(shares[i]![byte]!, basis[i]!)
    secret[byte] = acc
  }
  return secret
}
