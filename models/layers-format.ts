/**
 * A study model in TF.js's standard *layers* format: the `model.json` +
 * binary weights pair that `tf.loadLayersModel` reads in a browser, in Node
 * and in tfjs-converter's Python side, so a model leaves fedlineage in a
 * format the rest of the world already loads.
 *
 * Written with TF.js's own serialiser (`model.save` through a save handler)
 * and read back with its own loader (`tf.loadLayersModel` over the files), so
 * the format is TF.js's, not an imitation of it. Weights are float32 in both
 * the canonical encoding and TF.js, so the round trip is exact: the weights
 * read back hash to the model hash the log names (`fromLayersModel`).
 */
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend.ts'
import { checkLayout } from './core/layout.ts'
import { modelShapes, type ModelSpec } from './core/study-spec.ts'
import type { Tensor, TensorShape, Weights } from './core/weights.ts'
import { InvalidModelInputError } from './errors.ts'
import { buildModel, disposeModel, setModelWeights } from './tf-model.ts'

/** The weights file `model.json`'s manifest names; the two files live side by side. */
export const LAYERS_WEIGHTS_FILE = 'weights.bin'

/** One weight's entry in the manifest, as TF.js writes it. */
export interface LayersWeightSpec {
  readonly name: string
  readonly shape: readonly number[]
  readonly dtype: string
}

/** `model.json` of the layers format (the fields TF.js's loader reads). */
export interface LayersModelJson {
  readonly format: 'layers-model'
  readonly generatedBy: string
  readonly convertedBy: string | null
  /** The Keras-style topology TF.js serialises; opaque here, TF.js reads it back. */
  readonly modelTopology: unknown
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: readonly LayersWeightSpec[] }[]
}

/** The two files of an exported model. */
export interface LayersModelFiles {
  readonly modelJson: LayersModelJson
  readonly weightsBin: Uint8Array
}

/** Serialises `weights` of `spec` over `inputDim` inputs in the layers format. Throws `ModelShapeMismatchError` for weights of another layout. */
export async function toLayersModel(spec: ModelSpec, inputDim: number, weights: Weights): Promise<LayersModelFiles> {
  await initBackend()
  const model = buildModel(spec, inputDim)
  try {
    setModelWeights(model, weights)
    let saved: tf.io.ModelArtifacts | undefined
    await model.network.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      }),
    )
    if (saved?.weightData === undefined || saved.weightSpecs === undefined) throw new InvalidModelInputError('TF.js saved no weights')
    const weightsBin = new Uint8Array(tf.io.concatenateArrayBuffers(saved.weightData as ArrayBuffer | ArrayBuffer[]))
    return {
      modelJson: {
        format: 'layers-model',
        generatedBy: saved.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: saved.convertedBy ?? null,
        modelTopology: saved.modelTopology,
        weightsManifest: [{ paths: [LAYERS_WEIGHTS_FILE], weights: saved.weightSpecs.map((w) => ({ name: w.name, shape: [...w.shape], dtype: w.dtype })) }],
      },
      weightsBin,
    }
  } finally {
    disposeModel(model)
  }
}

/**
 * Loads the files with `tf.loadLayersModel` and returns its weights in the
 * canonical layout of `spec` over `inputDim` inputs. Throws
 * `InvalidModelInputError` when TF.js cannot load them and
 * `ModelShapeMismatchError` when the loaded network is not that layout.
 */
export async function fromLayersModel(files: LayersModelFiles, spec: ModelSpec, inputDim: number): Promise<Weights> {
  await initBackend()
  const manifest = files.modelJson.weightsManifest
  let network: tf.LayersModel
  try {
    network = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: files.modelJson.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: manifest.flatMap((group) => group.weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: w.dtype as 'float32' }))),
        // A copy: TF.js may keep the buffer, and the caller's view may be a slice of a larger one.
        weightData: files.weightsBin.slice().buffer,
      }),
    )
  } catch (err) {
    throw new InvalidModelInputError(`TF.js cannot load the layers model: ${(err as Error).message}`, { cause: err })
  }
  try {
    const expected = modelShapes(spec, inputDim)
    const loaded = network.weights.map((v, i): TensorShape => ({ name: expected[i]?.name ?? v.name, shape: v.shape as number[] }))
    checkLayout(loaded, expected, 'layers model')
    return {
      tensors: network.weights.map((v, i): Tensor => ({ name: expected[i]!.name, shape: expected[i]!.shape, values: new Float32Array(v.read().dataSync()) })),
    }
  } finally {
    network.dispose()
  }
}
