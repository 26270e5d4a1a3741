import { describe, expect, it } from 'vitest'
import { stableJson } from '../../../bench/support/stable-json.ts'

describe('stableJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    // Prepare
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }
    const b = { a: { c: null, d: [3, { y: 2, z: 1 }] }, b: 1 }

    // Execute
    const text = stableJson(a)

    // Assert
    expect(text).toBe(stableJson(b))
    expect(text).toBe('{\n  "a": {\n    "c": null,\n    "d": [\n      3,\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n')
  })

  it('writes NaN as null, as JSON.stringify does', () => {
    expect(stableJson({ std: Number.NaN })).toBe('{\n  "std": null\n}\n')
  })
})
