/**
 * A site's SCAFFOLD control variate on disk (a real temp folder): it survives
 * a restart (read back by a fresh reader), a round trained again after a
 * restart starts from the same c_i as the first time, and a damaged file is
 * refused rather than taken for zero.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { TensorShape, Weights } from '../../../models/index.ts'
import { controlVariateFile, controlVariateFor, readControlVariate, writeControlVariate } from '../../../site-agent/index.ts'

const SHAPES: readonly TensorShape[] = [
  { name: 'output/kernel', shape: [2, 1] },
  { name: 'output/bias', shape: [1] },
]
const weights = (k: [number, number], b: number): Weights => ({
  tensors: [
    { name: 'output/kernel', shape: [2, 1], values: Float32Array.from(k) },
    { name: 'output/bias', shape: [1], values: Float32Array.of(b) },
  ],
})
const values = (w: Weights) => w.tensors.map((t) => [...t.values])

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-cv-'))
  onTestFinished(() => rm(dir, { recursive: true, force: true }))
  return dir
}

describe('the site control variate store', () => {
  it('is zero before the first round, and after a restart gives the stored c_i (before the round for the same round, after it for the next)', async () => {
    // Prepare
    const dir = await stateDir()
    const file = controlVariateFile(dir, 'site-a', 'study-1', Uint8Array.of(0xab, 0xcd, ...new Array(30).fill(0)))
    const before = weights([0.25, -0.5], 0.125)
    const after = weights([1.5, 2], -3)

    // Execute: nothing stored, then round 4 stored, then read back by a fresh read (as a restarted agent does).
    const none = await readControlVariate(file, SHAPES)
    await writeControlVariate(file, { round: 4, before, after })
    const restarted = await readControlVariate(file, SHAPES)

    // Assert
    expect(none).toBeUndefined()
    expect(values(controlVariateFor(none, 1, SHAPES))).toEqual([[0, 0], [0]])
    expect(path.basename(file)).toBe('site-a-control-variate-study-1-abcd000000000000.cbor')
    expect(restarted?.round).toBe(4)
    expect(values(controlVariateFor(restarted, 4, SHAPES))).toEqual(values(before))
    expect(values(controlVariateFor(restarted, 5, SHAPES))).toEqual(values(after))
  })

  it('refuses a damaged file or one of another model with SITE_CONTROL_VARIATE_INVALID', async () => {
    // Prepare
    const dir = await stateDir()
    const damaged = path.join(dir, 'damaged.cbor')
    await writeFile(damaged, Uint8Array.of(0xff, 0x00))
    const other = path.join(dir, 'other.cbor')
    await writeControlVariate(other, { round: 1, before: weights([0, 0], 0), after: weights([0, 0], 0) })

    // Execute + Assert
    await expect(readControlVariate(damaged, SHAPES)).rejects.toMatchObject({ code: 'SITE_CONTROL_VARIATE_INVALID' })
    await expect(readControlVariate(other, [{ name: 'output/kernel', shape: [3, 1] }, SHAPES[1]!])).rejects.toMatchObject({ code: 'SITE_CONTROL_VARIATE_INVALID' })
  })

  it('refuses to store under a folder it cannot create, naming the file and stateDir', async () => {
    // Prepare: the state "folder" is a regular file, so nothing can be created under it.
    const dir = await stateDir()
    const blocker = path.join(dir, 'not-a-folder')
    await writeFile(blocker, 'x')
    const file = controlVariateFile(path.join(blocker, 'state'), 'site-a', 'study-1', new Uint8Array(32))

    // Execute + Assert
    await expect(writeControlVariate(file, { round: 1, before: weights([0, 0], 0), after: weights([0, 0], 0) })).rejects.toMatchObject({
      code: 'SITE_CONTROL_VARIATE_INVALID',
      message: expect.stringMatching(/stateDir/),
    })
  })
})
