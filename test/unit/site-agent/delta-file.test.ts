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
    weights.tensors.forEach((t, i) => writer.write(i, t.values))
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

  it('refuses tensors out of order or of the wrong size, and an unfinished file, leaving nothing behind', async () => {
    const weights = initialWeights(SPEC, 5, 12)
    const dir = await tempDir()
    const writer = new DeltaFileWriter(path.join(dir, 'delta.flw'), SHAPES)
    expect(() => writer.write(1, weights.tensors[1]!.values)).toThrow(SiteModelIntegrityError)
    expect(() => writer.write(0, new Float32Array(2))).toThrow(SiteModelIntegrityError)
    writer.write(0, weights.tensors[0]!.values)
    await expect(writer.finish()).rejects.toThrow(/1 of 6 tensors/)
    const { readdir } = await import('node:fs/promises')
    expect(await readdir(dir)).toEqual([])
  })
})
