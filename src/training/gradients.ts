/**
 * Gradient utilities: clipping by global norm, finiteness checks, and the modality-balancing
 * coefficients (on-the-fly gradient modulation generalised to N modalities).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';

/**
 * Global L2 norm of a set of gradients, `sqrt(Σ ‖g‖²)`, as a scalar tensor (no read-back).
 *
 * @example
 * ```ts
 * globalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }).print(); // 5
 * ```
 */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const list = Object.values(grads);
    if (list.length === 0) return tf.scalar(0);
    // one reduction over the concatenated gradients (2 kernels, not 2 per variable)
    return tf.sqrt(tf.sum(tf.square(flatten(list)))) as tf.Scalar;
  });
}

/**
 * All tensors as one flat vector (a single concat kernel).
 * @internal shared with the optimizer
 */
export function flatten(tensors: tf.Tensor[]): tf.Tensor1D {
  const flat = tensors.map((t) => tf.reshape(t, [-1]));
  return (flat.length === 1 ? flat[0]! : tf.concat(flat, 0)) as tf.Tensor1D;
}

/**
 * Scales all gradients by `min(1, maxNorm / globalNorm)` (PyTorch `clip_grad_norm_`), on device.
 *
 * @returns the clipped gradients (new tensors; the caller owns them and the input) and the norm
 *   before clipping.
 * @example
 * ```ts
 * const { grads: clipped, norm } = clipByGlobalNorm(grads, 1.0);
 * ```
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0)) {
    throw new InvalidArgumentError({ argument: 'maxNorm', message: 'maxNorm must be a number > 0.', received: maxNorm });
  }
  const norm = globalNorm(grads);
  const clipped = tf.tidy(() => {
    const scale = tf.minimum(1, tf.div(maxNorm, tf.maximum(norm, 1e-12)));
    const out: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, scale);
    return out;
  });
  return { grads: clipped, norm };
}

/**
 * On-the-fly gradient modulation for N modalities (OGM-GE generalised; this package's reading of
 * "balanced multi-modal learning"). From each modality's confidence score s_m (e.g. the batch
 * mean of its auxiliary head's probability of the true class), ratio_m = s_m / mean(s_others);
 * a dominant modality (ratio > 1) gets coefficient 1 − tanh(α·(ratio − 1)), the others 1.
 * Computed on device, no read-back.
 *
 * @param scores - modality name → scalar confidence (≥ 0).
 * @param alpha - modulation strength α > 0.
 * @returns modality name → scalar coefficient in (0, 1]; the caller owns them.
 * @example
 * ```ts
 * const k = modulationCoefficients({ image: tf.scalar(0.5), clinical: tf.scalar(0.9) }, 1);
 * k.clinical.print(); // 1 − tanh(0.8) ≈ 0.336
 * k.image.print();    // 1
 * ```
 */
export function modulationCoefficients(scores: Record<string, tf.Scalar>, alpha: number): Record<string, tf.Scalar> {
  if (typeof alpha !== 'number' || !(alpha > 0)) {
    throw new InvalidArgumentError({ argument: 'alpha', message: 'alpha must be a number > 0.', received: alpha });
  }
  const names = Object.keys(scores);
  const out: Record<string, tf.Scalar> = {};
  if (names.length < 2) {
    for (const n of names) out[n] = tf.scalar(1);
    return out;
  }
  return tf.tidy(() => {
    for (const n of names) {
      const others = names.filter((o) => o !== n).map((o) => scores[o]!);
      const meanOthers = tf.div(tf.addN(others), others.length);
      const ratio = tf.div(scores[n]!, tf.maximum(meanOthers, 1e-8));
      out[n] = tf.sub(1, tf.tanh(tf.mul(alpha, tf.relu(tf.sub(ratio, 1))))) as tf.Scalar;
    }
    return out;
  });
}

/** A scalar 1 when every tensor is finite, else 0 (no read-back). */
export function allFinite(tensors: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (tensors.length === 0) return tf.scalar(1);
    // x·0 is 0 for every finite x and NaN for ±Inf or NaN: the sum is finite iff all elements are
    // (3 kernels over one concatenated vector instead of 3 per tensor)
    return tf.cast(tf.isFinite(tf.sum(tf.mul(flatten(tensors), 0))), 'float32') as tf.Scalar;
  });
}
