/**
 * Batch and group normalisation of channels-last feature maps, with analytic gradients built
 * for tfjs-backend-wasm's fast paths:
 *
 * - both are one custom-gradient node (nothing inside is taped; only the centred input and
 *   per-channel vectors are saved for the backward pass);
 * - every large elementwise op is same-shape, a `[n, s, c] ∘ [n, 1, c]` middle-axis broadcast
 *   or (one sample) a `[s, c] ∘ [c]` last-axis broadcast: wasm's 4-D broadcasts are ~3× slower
 *   per element;
 * - column sums over the positions are a batched `matMul` of a row of ones with `x` split into
 *   ≥ 4 row blocks (`[b, 1, s/b] · [b, s/b, c]`). A rank-2 `ones[1, s] · x` makes XNNPACK pack
 *   the whole of `x` as its weights first (~5× slower), and `tf.sum` over a non-last axis
 *   transposes first.
 *
 * The forward pass is `centred = x − mean`, `y = centred · (rstd·gamma) + beta`; the backward
 * pass is `dx = dy·A + centred·B + Q` with per-(sample, channel) `A, B, Q` (see
 * {@link groupNorm}).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { channelNormBackward, channelNormForward, channelNormSupported } from '../kernels/fused.js';
import { reshapeView } from './elementwise.js';
import { columnSums } from './matmul.js';

type Grad = Parameters<typeof tf.customGrad>[0];


/** `[n, s, c] ∘ [n, 1, c]`-style broadcast op; with one sample, as `[s, c] ∘ [c]` (wasm's faster path). */
function bcast(op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, big: tf.Tensor, v: tf.Tensor, n: number, s: number, c: number): tf.Tensor {
  return n === 1 ? op(tf.reshape(big, [s, c]), tf.reshape(v, [c])) : op(tf.reshape(big, [n, s, c]), tf.reshape(v, [n, 1, c]));
}

/** Group reduction of per-(sample, channel) values `[n, c]` → `[n, groups]` (identity when `groups = c`). */
function toGroups(t: tf.Tensor2D, n: number, groups: number, cg: number): tf.Tensor2D {
  return cg === 1 ? t : (tf.sum(tf.reshape(t, [n, groups, cg]), 2) as tf.Tensor2D);
}

/** Expands per-(sample, group) values `[n, groups]` to per-(sample, channel) `[n, c]`. */
function toChannels(t: tf.Tensor2D, n: number, groups: number, cg: number): tf.Tensor2D {
  return cg === 1 ? t : (tf.reshape(tf.tile(tf.reshape(t, [n, groups, 1]), [1, 1, cg]), [n, groups * cg]) as tf.Tensor2D);
}

/**
 * The shared normalisation node: statistics per (sample, group) of `x` `[n, s, c]` over the `s`
 * positions and the `c / groups` channels of the group. Batch norm is `n = 1, groups = c`.
 */
function normalise(
  x: tf.Tensor3D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  epsilon: number,
  onStats?: (mean: tf.Tensor2D, variance: tf.Tensor2D) => void,
  relu = false,
): tf.Tensor3D {
  const [n, s, c] = x.shape;
  const cg = c / groups;
  const count = s * cg;
  if (channelNormSupported(c)) {
    // one vdafm kernel each way on wasm (native/fused.c chnorm_fwd / chnorm_bwd): x, mean and
    // variance kept, the centred input (and the ReLU's mask) recomputed in the backward pass
    const fused = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, g, b, save] = args as [tf.Tensor3D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
      const out = channelNormForward(xx, g, b, groups, epsilon, relu)!;
      if (onStats) onStats(out.mean, out.variance);
      save(relu ? [xx, out.mean, out.variance, g, b] : [xx, out.mean, out.variance, g]);
      return {
        value: out.y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sm, sv, sg, sb] = saved as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D | undefined];
          const r = channelNormBackward(dy as tf.Tensor3D, sx, sm, sv, sg, epsilon, sb ?? null)!;
          return [r.dx, r.dgamma, r.dbeta];
        },
      };
    }) as Grad);
    return fused(x, gamma, beta) as tf.Tensor3D;
  }
  const f = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, g, b, save] = args as [tf.Tensor3D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mean = tf.div(toGroups(columnSums(xx, n), n, groups, cg), count) as tf.Tensor2D; // [n, groups]
    const centred = bcast(tf.sub, xx, toChannels(mean, n, groups, cg), n, s, c);
    const variance = tf.div(toGroups(columnSums(tf.square(centred), n), n, groups, cg), count) as tf.Tensor2D;
    const rstd = toChannels(tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor2D, n, groups, cg); // [n, c]
    if (onStats) onStats(mean, variance);
    save([centred, rstd, g]);
    const y = tf.add(tf.reshape(bcast(tf.mul, centred, tf.mul(rstd, g), n, s, c), [n * s, c]), b);
    return {
      value: tf.reshape(y, [n, s, c]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sc, sr, sg] = saved as [tf.Tensor, tf.Tensor2D, tf.Tensor1D];
        // Per-(sample, channel) sums of dy and dy·centred.
        const sumDy = columnSums(dy, n); // [n, c]
        const sumT = columnSums(tf.mul(dy, sc), n); // [n, c]
        const dBeta = tf.sum(sumDy, 0);
        const dGamma = tf.sum(tf.mul(sr, sumT), 0); // Σ dy·xhat, xhat = centred·rstd
        // dx = rstd/count · (count·gy − Σgy − xhat·Σ(gy·xhat)), gy = dy·gamma, sums per (sample, group)
        //    = dy·A + centred·B + Q, A = rstd·gamma, B = −rstd³/count·Σ(gamma·dy·centred), Q = −rstd/count·Σ(gamma·dy)
        const sumG = toChannels(toGroups(tf.mul(sumDy, sg) as tf.Tensor2D, n, groups, cg), n, groups, cg);
        const sumGC = toChannels(toGroups(tf.mul(sumT, sg) as tf.Tensor2D, n, groups, cg), n, groups, cg);
        const a = tf.mul(sr, sg);
        const bb = tf.mul(tf.pow(sr, 3), tf.mul(sumGC, -1 / count));
        const q = tf.mul(sr, tf.mul(sumG, -1 / count));
        const dx = bcast(tf.add, tf.add(bcast(tf.mul, dy, a, n, s, c), bcast(tf.mul, sc, bb, n, s, c)), q, n, s, c);
        return [tf.reshape(dx, [n, s, c]), dGamma, dBeta];
      },
    };
  }) as Grad);
  const y = f(x, gamma, beta) as tf.Tensor3D;
  return relu ? tf.relu(y) : y;
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
 * @param relu - follow with ReLU (fused into the normalisation on wasm).
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
  relu = false,
): tf.Tensor2D {
  const [rows, c] = x.shape;
  const stats = onStats ? (mean: tf.Tensor2D, variance: tf.Tensor2D) => onStats(tf.reshape(mean, [c]) as tf.Tensor1D, tf.reshape(variance, [c]) as tf.Tensor1D) : undefined;
  return reshapeView(normalise(reshapeView(x, [1, rows, c]), gamma, beta, c, epsilon, stats, relu), [rows, c]);
}

/**
 * Group normalisation (Wu & He) of `x` `[n, positions, c]`: statistics per sample over all
 * positions and the `c / groups` channels of each group; per-channel `gamma`/`beta`.
 * `groups = 1` normalises each sample over all positions and channels (PyTorch
 * `GroupNorm(1, c)`, a "layer norm" for feature maps).
 *
 * @param x - `[n, positions, c]` with `c` divisible by `groups`.
 * @param relu - follow with ReLU (fused into the normalisation on wasm).
 * @returns `[n, positions, c]`; the caller owns it.
 * @example
 * ```ts
 * groupNorm(tf.tensor3d([[[1, 5], [3, 7]]]), tf.ones([2]), tf.zeros([2]), 2, 1e-5); // ≈ [[[-1, -1], [1, 1]]]
 * ```
 */
export function groupNorm(x: tf.Tensor3D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number, relu = false): tf.Tensor3D {
  return normalise(x, gamma, beta, groups, epsilon, undefined, relu);
}
