/**
 * The sum of per-example gradients, each clipped to L2 norm C over all the
 * model's trainable tensors together: DP-SGD's sensitivity bound (Abadi et
 * al. 2016, "Deep Learning with Differential Privacy", Algorithm 1), for the
 * dense networks `tf-model.ts` builds.
 *
 * Batched, without one backward pass per example (Goodfellow 2015,
 * "Efficient Per-Example Gradient Computations"): for a dense layer
 * z = a·W + b, example i's gradient is outer(a_i, g_i) for W and g_i for b,
 * g_i = ∂loss_i/∂z_i. So ‖grad_i‖² = Σ_layers (‖a_i‖² + 1)·‖g_i‖², and the
 * clipped sum is aᵀ·(s ⊙ g) for W and Σ_i s_i·g_i for b, s_i = min(1, C/‖grad_i‖).
 * The g's come from TF.js's own autodiff: a zero tensor e is added to each
 * layer's pre-activation and the gradient of the summed loss with respect
 * to e is g, row by row (example i's loss depends only on row i).
 */
import * as tf from '@tensorflow/tfjs'
import type { DenseModel } from './tf-model.ts'

/** What one batch gives: the clipped gradient sum per trainable tensor, and what the clipping did. */
export interface ClippedGradientSum {
  /** Σ_i clip(grad_i, C), one tensor per trainable tensor, in the canonical order (kernel, bias per layer). */
  readonly sums: tf.Tensor[]
  /** ‖grad_i‖ before clipping, one per example. */
  readonly norms: tf.Tensor1D
  /** Σ_i loss_i, the summed binary cross-entropy of the batch (for local reporting only). */
  readonly lossSum: tf.Scalar
}

/** Each dense layer's kernel and bias variables, input to output. */
function layerVariables(model: DenseModel): { kernel: tf.Tensor2D; bias: tf.Tensor1D }[] {
  return model.network.layers.map((layer) => {
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read())
    return { kernel: kernel as tf.Tensor2D, bias: bias as tf.Tensor1D }
  })
}

/**
 * Σ_i clip(∂loss_i/∂θ, clipNorm) over the batch (`x`: [n, inputDim],
 * `y`: [n, 1] labels in {0, 1}), with the loss the binary cross-entropy on
 * the network's logit. Requires n >= 1 and clipNorm > 0. Run it inside
 * `tf.tidy`: the returned tensors belong to the caller's scope.
 */
export function clippedGradientSum(model: DenseModel, x: tf.Tensor2D, y: tf.Tensor2D, clipNorm: number): ClippedGradientSum {
  const layers = layerVariables(model)
  const hidden = model.spec.kind === 'mlp' && model.spec.activation === 'tanh' ? tf.tanh : tf.relu
  const last = layers.length - 1
  // Each layer's input a, from a forward pass of its own (TF.js disposes the gradient pass's intermediates).
  const inputs: tf.Tensor2D[] = []
  let a: tf.Tensor2D = x
  layers.forEach((l, i) => {
    inputs.push(a)
    const z = tf.add(tf.matMul(a, l.kernel), l.bias) as tf.Tensor2D
    a = i === last ? z : (hidden(z) as tf.Tensor2D)
  })
  const n = x.shape[0]
  const summedLoss = (...offsets: tf.Tensor[]): tf.Scalar => {
    let h: tf.Tensor2D = x
    layers.forEach((l, i) => {
      const z = tf.add(tf.add(tf.matMul(h, l.kernel), l.bias), offsets[i]!) as tf.Tensor2D
      h = i === last ? z : (hidden(z) as tf.Tensor2D)
    })
    return tf.losses.sigmoidCrossEntropy(y, h, undefined, undefined, tf.Reduction.SUM) as tf.Scalar
  }
  const offsets = layers.map((l) => tf.zeros([n, l.bias.shape[0]]))
  const { value, grads } = tf.valueAndGrads(summedLoss)(offsets)
  let squared: tf.Tensor1D = tf.zeros([n])
  grads.forEach((g, i) => {
    const gg = tf.sum(tf.square(g), 1)
    const aa = tf.sum(tf.square(inputs[i]!), 1)
    squared = tf.add(squared, tf.mul(gg, tf.add(aa, 1))) as tf.Tensor1D
  })
  const norms = tf.sqrt(squared) as tf.Tensor1D
  // s_i = min(1, C/‖grad_i‖); a zero gradient keeps s_i = 1 (the max guards the division).
  const scale = tf.minimum(1, tf.div(clipNorm, tf.maximum(norms, 1e-30))).reshape([n, 1])
  const sums = grads.flatMap((g, i) => {
    const scaled = tf.mul(g, scale)
    return [tf.matMul(inputs[i]!, scaled, true, false), tf.sum(scaled, 0)]
  })
  return { sums, norms, lossSum: value }
}
