/**
 * TF.js models built from a `ModelSpec`: a stack of dense layers ending in a
 * single logit (no output activation; the sigmoid lives in the loss and in
 * prediction). Weights cross into and out of TF.js only as canonical `Weights`,
 * named and ordered by `modelShapes`.
 *
 * TF.js layer names are process-global and gain suffixes (`dense_Dense7`), so
 * tensors are matched by position in `model.weights`, never by TF.js name.
 */
import * as tf from '@tensorflow/tfjs'
import { assertFinite, assertShapes } from './core/delta.ts'
import { checkLayout } from './core/layout.ts'
import { modelShapes, type ModelSpec } from './core/study-spec.ts'
import { sizeOfShape, type Tensor, type TensorShape, type Weights } from './core/weights.ts'
import { InvalidModelInputError, ModelShapeMismatchError } from './errors.ts'

/** A built network with the layout it was built for. Dispose it when done. */
export interface DenseModel {
  readonly spec: ModelSpec
  readonly inputDim: number
  /** The canonical layout (`modelShapes(spec, inputDim)`). */
  readonly shapes: readonly TensorShape[]
  readonly network: tf.Sequential
}

/**
 * tfjs-layers exports initializer factories but not their base class, which
 * `getInitializer` requires custom initializers to extend; the class of one
 * of its own instances is a subclass of it.
 */
const InitializerBase = tf.initializers.zeros().constructor as new () => { apply(shape: number[], dtype?: tf.DataType): tf.Tensor }

type DenseInitializer = NonNullable<Parameters<typeof tf.layers.dense>[0]>['kernelInitializer']

/**
 * Starts a variable at given values. The variable takes the tensor's data
 * as its own (tfjs-core's Variable shares its initial value's storage), so
 * building from weights allocates each tensor once, where zeros then
 * `setModelWeights` would allocate it twice and leave holes in the WASM heap.
 */
class FromValues extends InitializerBase {
  constructor(
    private readonly name: string,
    private read: (() => Float32Array) | undefined,
  ) {
    super()
  }
  override apply(shape: number[]): tf.Tensor {
    const read = this.read
    if (read === undefined) throw new InvalidModelInputError('an initial-values initializer was applied twice; a layer is built once')
    // The layer keeps its initializer as long as the model lives: once used, it lets go of the caller's
    // array (the whole model, when it is a view of one buffer) so that training does not hold it.
    this.read = undefined
    const values = read()
    if (values.length !== sizeOfShape(shape))
      throw new ModelShapeMismatchError(`initial weights: tensor "${this.name}" has ${values.length} values, want ${sizeOfShape(shape)} for shape [${shape.join(',')}]`, this.name, null, null)
    // The backends copy the values into their own memory, except cpu, which adopts the array: it gets a copy.
    return tf.tensor(tf.getBackend() === 'cpu' ? values.slice() : values, shape, 'float32')
  }
}

/**
 * Reads tensor `index` (canonical order) of a model's starting weights. The
 * array returned may be reused by the next call: it is copied into TF.js
 * first. What lets a site load a model from its file one tensor at a time.
 */
export type TensorReader = (index: number) => Float32Array

/** Starting weights: in memory, or read tensor by tensor. */
export type WeightsSource = Weights | TensorReader

/**
 * Builds the network for `spec` over `inputDim` inputs. Variables start at
 * `initial` (which must have the model's layout, else
 * `ModelShapeMismatchError`; a reader is called once per tensor, in order,
 * while building), or at zero without it (callers then load
 * weights next; skipping TF.js's own random initialiser keeps building cheap
 * and free of unseeded randomness). Requires the TF.js backend to be
 * initialised (`initBackend`).
 */
export function buildModel(spec: ModelSpec, inputDim: number, initial?: WeightsSource): DenseModel {
  const shapes = modelShapes(spec, inputDim)
  if (initial !== undefined && typeof initial !== 'function') assertShapes(initial, shapes, 'weights')
  const read = (k: number) => (initial === undefined ? undefined : typeof initial === 'function' ? () => initial(k) : () => initial.tensors[k]!.values)
  // FromValues is an Initializer at run time (getInitializer checks instanceof); its TypeScript type cannot say so.
  const start = (k: number): DenseInitializer => (initial === undefined ? 'zeros' : (new FromValues(shapes[k]!.name, read(k)) as unknown as DenseInitializer))
  const network = tf.sequential()
  const hidden = spec.kind === 'mlp' ? spec.hidden : []
  const activation = spec.kind === 'mlp' ? spec.activation : undefined
  let fanIn = inputDim
  for (const units of [...hidden, 1]) {
    const layer = network.layers.length
    const last = layer === hidden.length
    network.add(
      tf.layers.dense({
        units,
        inputShape: [fanIn],
        activation: last ? 'linear' : activation,
        useBias: true,
        // The canonical layout lists each dense layer's kernel, then its bias.
        kernelInitializer: start(2 * layer),
        biasInitializer: start(2 * layer + 1),
      }),
    )
    fanIn = units
  }
  const model: DenseModel = { spec, inputDim, shapes, network }
  // Guards the positional mapping: TF.js must hold exactly the canonical layout.
  const built = network.weights.map((v, i): TensorShape => ({ name: shapes[i]?.name ?? v.name, shape: v.read().shape }))
  checkLayout(built, shapes, 'TF.js model')
  return model
}

/**
 * Loads canonical weights into the network. Throws `ModelShapeMismatchError`
 * unless `weights` has the model's layout.
 *
 * One tensor at a time, so the backend holds the model once plus one
 * tensor while loading, not twice (at 50M parameters, 191 MiB of WASM heap,
 * which never shrinks once grown).
 */
export function setModelWeights(model: DenseModel, weights: Weights): void {
  assertShapes(weights, model.shapes, 'weights')
  // The cpu backend adopts the caller's array as the variable's storage, so it gets a copy; WASM and
  // tfjs-node copy into their own memory anyway, and a copy here would only add one more model.
  const adopts = tf.getBackend() === 'cpu'
  model.network.weights.forEach((variable, i) => {
    const t = weights.tensors[i]!
    const tensor = tf.tensor(adopts ? t.values.slice() : t.values, [...t.shape], 'float32')
    try {
      // The variable takes the tensor's data (no copy); disposing the tensor leaves it the variable's.
      variable.write(tensor)
    } finally {
      tensor.dispose()
    }
  })
}

/**
 * The network's current weights, canonically named and ordered. Into
 * `into`'s arrays when given (writable arrays of the model's layout, e.g. a
 * `WeightsEncoder`'s, so the trained model lands in its encoding without
 * another copy; `into` is returned), else into fresh arrays.
 */
export function getModelWeights(model: DenseModel, into?: Weights): Weights {
  if (into !== undefined) {
    assertShapes(into, model.shapes, 'trained weights output')
    // dataSync may return the backend's own storage (cpu backend), and is a fresh copy elsewhere: either way set() copies it once.
    model.network.weights.forEach((v, i) => into.tensors[i]!.values.set(v.read().dataSync() as Float32Array))
    return into
  }
  return {
    tensors: model.network.weights.map((v, i): Tensor => {
      const shape = model.shapes[i]!
      // dataSync may return the backend's own storage (cpu backend); copy before handing it out.
      return { name: shape.name, shape: shape.shape, values: new Float32Array(v.read().dataSync()) }
    }),
  }
}

/**
 * Where trained weights go one tensor at a time: called with each tensor's
 * index and values in canonical order; the values are valid only during the
 * call (copy or consume them there).
 */
export type TensorWriter = (index: number, values: Float32Array) => void

/** The slice of the WASM backend read here: where a tensor's data sits in its heap. */
interface WasmHeapAccess {
  getMemoryOffset(dataId: object): number
  readonly wasm: { readonly HEAPU8: Uint8Array }
}

/**
 * A float32 tensor's values without copying them, where the backend allows:
 * on WASM a view of its heap (`dataSync` would copy it, one model-sized
 * allocation more over a whole model), valid until the backend next
 * allocates; elsewhere `dataSync`.
 */
function valuesInPlace(tensor: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as Partial<WasmHeapAccess>
  if (tf.getBackend() === 'wasm' && typeof backend.getMemoryOffset === 'function' && backend.wasm !== undefined) {
    return new Float32Array(backend.wasm.HEAPU8.buffer, backend.getMemoryOffset(tensor.dataId), tensor.size)
  }
  return tensor.dataSync() as Float32Array
}

/**
 * Hands the network's current weights to `writer`, one tensor at a time,
 * each checked finite first. The values may be a view of the backend's own
 * memory: the writer must not keep them, and must not use TF.js meanwhile.
 */
export function writeModelWeights(model: DenseModel, writer: TensorWriter): void {
  model.network.weights.forEach((v, i) => {
    const shape = model.shapes[i]!
    const values = valuesInPlace(v.read())
    assertFinite({ tensors: [{ name: shape.name, shape: shape.shape, values }] }, 'trained weights')
    writer(i, values)
  })
}

/** Frees the network's variables. */
export function disposeModel(model: DenseModel): void {
  model.network.dispose()
}
