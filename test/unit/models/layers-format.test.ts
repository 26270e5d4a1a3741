/**
 * The TF.js layers export: TF.js's own loader reads back exactly the
 * weights that were written (their canonical hash is unchanged), and an
 * independent reader of the format (the Python standard library, from
 * TF.js's documented layout) computes the same logits as our forward pass.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { LAYERS_WEIGHTS_FILE, ModelShapeMismatchError, fromLayersModel, hashWeights, initialWeights, predictLogits, toHex, toLayersModel, type ModelSpec } from '../../../models/index.ts'

const FORWARD_PY = fileURLToPath(new URL('../../fixtures/python/layers_forward.py', import.meta.url))
const hasPython = spawnSync('python3', ['--version']).status === 0
const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const SPECS: readonly [string, ModelSpec, number][] = [
  ['logistic regression', { kind: 'logreg' }, 7],
  ['relu mlp', { kind: 'mlp', hidden: [16, 4], activation: 'relu' }, 12],
  ['tanh mlp', { kind: 'mlp', hidden: [5], activation: 'tanh' }, 3],
]

describe('TF.js layers format', () => {
  it.each(SPECS)('%s: tf.loadLayersModel reads back weights of the same canonical hash', async (_name, spec, inputDim) => {
    // Prepare
    const weights = initialWeights(spec, inputDim, 11)

    // Execute
    const files = await toLayersModel(spec, inputDim, weights)
    const back = await fromLayersModel(files, spec, inputDim)

    // Assert
    expect(files.modelJson.format).toBe('layers-model')
    expect(files.modelJson.weightsManifest[0]!.paths).toEqual([LAYERS_WEIGHTS_FILE])
    expect(toHex(hashWeights(back))).toBe(toHex(hashWeights(weights)))
  })

  it('refuses layers files of another layout', async () => {
    const spec: ModelSpec = { kind: 'mlp', hidden: [4], activation: 'relu' }
    const files = await toLayersModel(spec, 6, initialWeights(spec, 6, 1))
    await expect(fromLayersModel(files, { kind: 'mlp', hidden: [5], activation: 'relu' }, 6)).rejects.toBeInstanceOf(ModelShapeMismatchError)
  })

  it.skipIf(!hasPython)('an independent Python reader of the files computes the logits of our forward pass', async () => {
    // Prepare: an MLP with seeded weights, and rows of inputs.
    const spec: ModelSpec = { kind: 'mlp', hidden: [16, 4], activation: 'tanh' }
    const inputDim = 12
    const weights = initialWeights(spec, inputDim, 5)
    const files = await toLayersModel(spec, inputDim, weights)
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fedlineage-layers-'))
    dirs.push(dir)
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(files.modelJson))
    await writeFile(path.join(dir, LAYERS_WEIGHTS_FILE), files.weightsBin)
    const rows = Array.from({ length: 20 }, (_, r) => Array.from({ length: inputDim }, (_, k) => Math.fround(Math.sin(r * 13 + k) * 2)))

    // Execute
    const python = JSON.parse(execFileSync('python3', [FORWARD_PY], { input: JSON.stringify({ dir, rows }) }).toString()) as number[]
    const ours = predictLogits(spec, weights, { features: Float32Array.from(rows.flat()), labels: new Float32Array(rows.length), count: rows.length, width: inputDim })

    // Assert: float64 in both, same weights; only the tanh implementations differ (libm vs fdlibm transcription).
    expect(python).toHaveLength(rows.length)
    python.forEach((logit, i) => expect(logit).toBeCloseTo(ours[i]!, 12))
  })
})
