/**
 * Gaussian noise from a private seed: ChaCha20's keystream (RFC 8439's known
 * answer), the polar method on it, the same values for the same seed, and
 * the moments of a standard normal.
 */
import { createCipheriv } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { InvalidModelInputError, normalStream, standardNormals } from '../../../models/core/index.ts'

describe('standardNormals', () => {
  it('reads the ChaCha20 keystream of RFC 8439 (key 0, nonce 0, counter 0) as its first uniforms', () => {
    // RFC 8439 A.1 test vector 1 (block counter 0): the keystream starts 76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28.
    const stream = createCipheriv('chacha20', new Uint8Array(32), new Uint8Array(16)).update(new Uint8Array(16))
    expect(Buffer.from(stream).toString('hex')).toBe('76b8e0ada0f13d90405d6ae55386bd28')
    // Uniforms u1, u2 from those 16 bytes, then the polar method, by hand:
    // python3 -c "import math;u=lambda a,b:((a>>5)*2**26+(b>>6))/2**53;v1=2*u(0x76b8e0ad,0xa0f13d90)-1;v2=2*u(0x405d6ae5,0x5386bd28)-1;s=v1*v1+v2*v2;f=math.sqrt(-2*math.log(s)/s);print(s<1,repr(v1*f),repr(v2*f))"
    const [z1, z2] = standardNormals(new Uint8Array(32), 2)
    // Within 2 ulp: Python's log is the platform's, ours fdlibm's.
    expect(Math.abs(z1! - -0.2393954894412069)).toBeLessThan(1e-15)
    expect(Math.abs(z2! - -1.6419752434829733)).toBeLessThan(1e-15)
  })

  it('gives the same values for the same seed, and others for another seed', () => {
    const seed = new Uint8Array(32).fill(7)
    const other = new Uint8Array(32).fill(8)
    expect(standardNormals(seed, 1001)).toEqual(standardNormals(seed, 1001))
    expect(standardNormals(seed, 1001).slice(0, 10)).toEqual(standardNormals(seed, 10))
    expect(standardNormals(other, 10)).not.toEqual(standardNormals(seed, 10))
  })

  it('has the moments of N(0, 1) over 200 000 values', () => {
    const z = standardNormals(new Uint8Array(32).fill(42), 200_000)
    let sum = 0
    let squares = 0
    let fourth = 0
    for (const v of z) {
      sum += v
      squares += v * v
      fourth += v ** 4
    }
    const n = z.length
    // Standard errors: mean 1/√n ≈ 0.0022, variance √(2/n) ≈ 0.0032, fourth moment √(96/n) ≈ 0.022.
    expect(Math.abs(sum / n)).toBeLessThan(0.01)
    expect(Math.abs(squares / n - 1)).toBeLessThan(0.015)
    expect(Math.abs(fourth / n - 3)).toBeLessThan(0.1)
  })

  it('refuses a seed that is not 32 bytes', () => {
    expect(() => standardNormals(new Uint8Array(16), 1)).toThrow(InvalidModelInputError)
  })
})

describe('normalStream', () => {
  it('gives, taken in pieces of any size (pairs cut in two included), the values of one whole draw', () => {
    // Prepare
    const seed = new Uint8Array(32).fill(9)
    const whole = standardNormals(seed, 1000)
    const take = normalStream(seed)
    // Execute: pieces of 1, 2, 3, 0, 7, … summing to 1000
    const pieces: Float64Array[] = []
    let taken = 0
    for (let k = 0; taken < 1000; k++) {
      const n = Math.min([1, 2, 3, 0, 7, 64, 5][k % 7]!, 1000 - taken)
      pieces.push(take(n))
      taken += n
    }
    // Assert
    const joined = new Float64Array(1000)
    let at = 0
    for (const p of pieces) {
      joined.set(p, at)
      at += p.length
    }
    expect(Buffer.from(joined.buffer).equals(Buffer.from(whole.buffer))).toBe(true)
  })
})
