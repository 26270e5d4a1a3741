import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeCanonical, encodeCanonical, fromHex, toHex, type CanonicalValue } from '../../../ledger/core/index.ts'

// Known answers from another stack: Python's cbor2 with canonical=True,
// written by test/vectors/external/cbor2-canonical.py (see its docstring).
type ValueDescription = null | boolean | { int: string } | { float: string } | { text: string } | { bytes: string } | { array: ValueDescription[] } | { map: [string, ValueDescription][] }

interface Vector {
  desc: string
  value: ValueDescription
  want: string
}

interface Refused {
  desc: string
  hex: string
  value?: ValueDescription
  want?: string
}

const file = JSON.parse(readFileSync(new URL('../../vectors/cbor-canonical-cbor2.json', import.meta.url), 'utf8')) as { source: string; vectors: Vector[]; refused: Refused[] }

/** The JS value a description stands for: integers as numbers when safe, else bigints. */
function rebuild(d: ValueDescription): CanonicalValue {
  if (d === null || typeof d === 'boolean') return d
  if ('int' in d) {
    const n = BigInt(d.int)
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
  }
  if ('float' in d) return Number(d.float)
  if ('text' in d) return d.text
  if ('bytes' in d) return fromHex(d.bytes)
  if ('array' in d) return d.array.map(rebuild)
  return Object.fromEntries(d.map.map(([key, value]) => [key, rebuild(value)]))
}

describe(`canonical CBOR against ${file.source}`, () => {
  it('has vectors', () => {
    expect(file.vectors.length).toBeGreaterThan(50)
    expect(file.refused.length).toBeGreaterThan(40)
  })

  it.each(file.vectors)('encodes $desc as $want', ({ value, want }) => {
    // Prepare
    const v = rebuild(value)
    // Execute
    const bytes = encodeCanonical(v)
    // Assert
    expect(toHex(bytes)).toBe(want)
  })

  it.each(file.vectors)('decodes $want back to $desc', ({ value, want }) => {
    // Execute
    const decoded = decodeCanonical(fromHex(want))
    // Assert
    expect(decoded).toEqual(rebuild(value))
  })

  it.each(file.refused)('refuses $desc ($hex) with LEDGER_NON_CANONICAL', ({ hex, value, want }) => {
    // Assert: refused on decode, and (when the value has an encoding) the canonical one is `want`.
    expect(() => decodeCanonical(fromHex(hex))).toThrow(expect.objectContaining({ code: 'LEDGER_NON_CANONICAL' }))
    if (value !== undefined) expect(toHex(encodeCanonical(rebuild(value)))).toBe(want)
  })
})
