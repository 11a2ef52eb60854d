/**
 * Batch and group normalisation of channels-last feature maps, with analytic gradients whose
 * reductions are `matMul`s with a row of ones (fast on every backend; tfjs reduces over
 * non-last axes by transposing first, and its broadcast gradients do exactly that).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

type Grad = Parameters<typeof tf.customGrad>[0];

/** Column sums of `[rows, c]` as `ones[1, rows] · x` → `[1, c]`. */
function colSums(x: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(tf.ones([1, x.shape[0]]), x);
}

/** Per-sample column sums of `[n, rows, c]` → `[n, 1, c]`. */
function colSumsBatched(x: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(tf.ones([x.shape[0], 1, x.shape[1]]), x);
}

/** Receives the batch statistics (`mean`, biased `variance`, both `[c]`) computed by a training-mode call. */
export type BatchStatsCallback = (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;

/**
 * Training-mode batch normalisation over the rows of `x` `[rows, c]` (rows = batch × spatial
 * positions): `y = (x − mean) / sqrt(var + epsilon) · gamma + beta` with the batch's biased
 * variance. `onStats` receives the batch mean and variance (to update moving statistics; the
 * callee must not keep them past the call without `tf.keep`).
 *
 * @param x - `[rows, c]`.
 * @param gamma - `[c]`. @param beta - `[c]`.
 * @returns `[rows, c]`; the caller owns it.
 * @example
 * ```ts
 * batchNormTrain(tf.tensor2d([[1], [3]]), tf.ones([1]), tf.zeros([1]), 1e-5); // ≈ [[-1], [1]]
 * ```
 */
export function batchNormTrain(
  x: tf.Tensor2D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  onStats?: BatchStatsCallback,
): tf.Tensor2D {
  const f = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, g, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const rows = xx.shape[0];
    const mean = tf.div(colSums(xx), rows);
    const centred = tf.sub(xx, mean);
    const variance = tf.div(colSums(tf.square(centred) as tf.Tensor2D), rows);
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(centred, rstd) as tf.Tensor2D;
    if (onStats) onStats(tf.reshape(mean, [-1]) as tf.Tensor1D, tf.reshape(variance, [-1]) as tf.Tensor1D);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sg] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const d = dy as tf.Tensor2D;
        const dBeta = colSums(d);
        const dGamma = colSums(tf.mul(d, sx) as tf.Tensor2D);
        // dx = gamma·rstd/rows · (rows·dy − Σdy − xhat·Σ(dy·xhat))
        const inner = tf.sub(tf.sub(tf.mul(d, rows), dBeta), tf.mul(sx, dGamma));
        const dx = tf.mul(inner, tf.div(tf.mul(sr, sg), rows));
        return [dx, tf.reshape(dGamma, [-1]), tf.reshape(dBeta, [-1])];
      },
    };
  }) as Grad);
  return f(x, gamma, beta) as tf.Tensor2D;
}

/**
 * Group normalisation (Wu & He) of `x` `[n, positions, c]`: statistics per sample over all
 * positions and the `c / groups` channels of each group; per-channel `gamma`/`beta`.
 * `groups = 1` normalises each sample over all positions and channels (PyTorch
 * `GroupNorm(1, c)`, a "layer norm" for feature maps).
 *
 * @param x - `[n, positions, c]` with `c` divisible by `groups`.
 * @returns `[n, positions, c]`; the caller owns it.
 * @example
 * ```ts
 * groupNorm(tf.tensor3d([[[1, 5], [3, 7]]]), tf.ones([2]), tf.zeros([2]), 2, 1e-5); // ≈ [[[-1, -1], [1, 1]]]
 * ```
 */
export function groupNorm(x: tf.Tensor3D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number): tf.Tensor3D {
  const [n, s, c] = x.shape;
  const cg = c / groups;
  const count = s * cg;
  /** Per-(sample, group) sums of `[n, s, c]` → `[n, 1, groups, 1]`. */
  const groupSums = (t: tf.Tensor3D) => tf.reshape(tf.sum(tf.reshape(colSumsBatched(t), [n, groups, cg]), 2), [n, 1, groups, 1]);
  const f = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, g, b, save] = args as [tf.Tensor3D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const x4 = tf.reshape(xx, [n, s, groups, cg]);
    const mean = tf.div(groupSums(xx), count);
    const centred = tf.sub(x4, mean);
    const variance = tf.div(groupSums(tf.reshape(tf.square(centred), [n, s, c]) as tf.Tensor3D), count);
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.reshape(tf.mul(centred, rstd), [n, s, c]) as tf.Tensor3D;
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sg] = saved as [tf.Tensor3D, tf.Tensor, tf.Tensor1D];
        const d = dy as tf.Tensor3D;
        const flatD = tf.reshape(d, [n * s, c]) as tf.Tensor2D;
        const dBeta = colSums(flatD);
        const dGamma = colSums(tf.reshape(tf.mul(d, sx), [n * s, c]) as tf.Tensor2D);
        const gy = tf.mul(d, sg) as tf.Tensor3D;
        const sumG = groupSums(gy);
        const sumGX = groupSums(tf.mul(gy, sx) as tf.Tensor3D);
        // dx = rstd/count · (count·gy − Σgy − xhat·Σ(gy·xhat)), sums per (sample, group)
        const inner = tf.sub(tf.sub(tf.mul(tf.reshape(gy, [n, s, groups, cg]), count), sumG), tf.mul(tf.reshape(sx, [n, s, groups, cg]), sumGX));
        const dx = tf.reshape(tf.mul(inner, tf.div(sr, count)), [n, s, c]);
        return [dx, tf.reshape(dGamma, [-1]), tf.reshape(dBeta, [-1])];
      },
    };
  }) as Grad);
  return f(x, gamma, beta) as tf.Tensor3D;
}
