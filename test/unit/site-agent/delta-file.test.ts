import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sha256 } from '../../../ledger/index.ts'
import { encodeWeights, initialWeights, modelShapes, type ModelSpec } from '../../../models/index.ts'
import { DeltaFileWriter, SiteModelIntegrityError } from '../../../site-agent/index.ts'
import { tempDir } from '../../helpers/federation.ts'

const SPEC: ModelSpec = { kind: 'mlp', hidden: [7, 3], activation: 'relu' }
const SHAPES = modelShapes(SPEC, 5)

describe('DeltaFileWriter', () => {
  it('writes encodeWeights byte for byte, with its SHA-256, and reads back in chunks', async () => {
    // Prepare
    const weights = initialWeights(SPEC, 5, 11)
    const file = path.join(await tempDir(), 'delta.flw')
    // Execute
    const writer = new DeltaFileWriter(file, SHAPES)
    // In pieces of any size, across tensor boundaries too.
    for (const t of weights.tensors) for (let j = 0; j < t.values.length; j += 5) writer.append(t.values.subarray(j, j + 5))
    const delta = await writer.finish()
    const chunks: Uint8Array[] = []
    for await (const c of delta.chunks()) chunks.push(c)
    // Assert
    const want = encodeWeights(weights)
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(want))).toBe(true)
    expect(delta.length).toBe(want.length)
    expect(Buffer.from(delta.hash).equals(Buffer.from(sha256(want)))).toBe(true)
    expect(Buffer.concat(chunks).equals(Buffer.from(want))).toBe(true)
  })

  it('refuses values past the encoding, and an unfinished file, leaving nothing behind', async () => {
    const weights = initialWeights(SPEC, 5, 12)
    const dir = await tempDir()
    const writer = new DeltaFileWriter(path.join(dir, 'delta.flw'), SHAPES)
    const total = weights.tensors.reduce((n, t) => n + t.values.length, 0)
    expect(() => writer.append(new Float32Array(total + 1))).toThrow(SiteModelIntegrityError)
    writer.append(weights.tensors[0]!.values)
    await expect(writer.finish()).rejects.toThrow(/of the encoding's \d+ bytes written/)
    const { readdir } = await import('node:fs/promises')
    expect(await readdir(dir)).toEqual([])
  })
})
