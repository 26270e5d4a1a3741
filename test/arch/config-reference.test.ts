/**
 * docs/config.md is the reference of every hub.json and site.json field,
 * generated from the zod schemas and their doc comments: it must be current,
 * and every field must say what it is for.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONFIG_REFERENCE_FILE, renderConfigReference, undocumentedFields } from '../../docs/tools/config-reference.ts'

describe('docs/config.md', () => {
  it('is what the schemas generate (run `npx tsx docs/tools/config-reference.ts` after changing a config schema)', () => {
    expect(readFileSync(CONFIG_REFERENCE_FILE, 'utf8')).toBe(renderConfigReference())
  })

  it('explains every field with a doc comment above it in the schema', () => {
    expect(undocumentedFields()).toEqual([])
  })
})
