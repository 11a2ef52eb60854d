/**
 * Differentiable building-block ops shared by every vdafm layer.
 *
 * They are written so that both the forward pass and the gradients run on fast kernels on
 * every backend (see docs/guides/backends.md):
 * - {@link matMul} never uses the `transposeA`/`transposeB` flags, in the forward pass *or*
 *   in its gradient (stock tfjs's BatchMatMul gradient uses them, and on the wasm backend the
 *   flagged variants miss the XNNPACK fast path and are ~20× slower). Its gradient is a
 *   `tf.customGrad` scoped to our own ops: no global gradient is re-registered.
 * - Batched rank-3 products (batch > 1) take a per-backend formulation, chosen at call time from
 *   `tf.getBackend()`: on 'wasm' they run as depthwise convolutions (src/core/batched-matmul.ts;
 *   wasm's BatchMatMul with batch > 1 is a naive loop), elsewhere as a plain batched matMul.
 * - {@link dense} keeps matrix products at rank 2; on 'wasm' the whole affine map is one
 *   `tf.customGrad` whose bias gradient is a plain product with a row of ones (wasm's Sum over
 *   axis 0 is a Transpose + Sum; the product was faster over a whole train step).
 * - {@link layerNorm}, {@link gelu} and {@link maskedMean} are plain functional ops.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { batchMatMulDepthwise, useDepthwiseBatchMatMul } from './batched-matmul.js';

/** Swaps the last two axes of a rank-2 or rank-3 tensor. */
function swapLast(x: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.transpose(x);
  if (x.rank === 3) return tf.transpose(x, [0, 2, 1]);
  return tf.transpose(x, [...Array.from({ length: x.rank - 2 }, (_, i) => i), x.rank - 1, x.rank - 2]);
}

const matMulFast = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy, swapLast(sb)), tf.matMul(swapLast(sa), dy)];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Matrix product `a · b` of two rank-2 (`[m, k]·[k, n]`) or two rank-3 (`[b, m, k]·[b, k, n]`)
 * tensors, whose gradient uses only plain (un-flagged) matrix products and explicit transposes.
 *
 * The formulation is chosen per backend when called: on 'wasm', a rank-3 product with batch > 1
 * runs (forward and backward) as depthwise convolutions, which reach XNNPACK where a batched
 * `BatchMatMul` does not; everywhere else (and for rank 2 or batch 1) it is a plain `tf.matMul`.
 * Both give the same values up to float32 rounding.
 *
 * @returns `[m, n]` or `[b, m, n]`; the caller owns it.
 * @throws {@link ShapeError} when the ranks are not both 2 or both 3, or the batch or inner
 *   sizes differ.
 * @example
 * ```ts
 * const c = matMul(tf.ones([2, 3]), tf.ones([3, 4])); // [2, 4], all 3
 * ```
 */
export function matMul<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T): T {
  if (a.rank !== 2 && a.rank !== 3) throw new ShapeError({ argument: 'a', expected: '[m, k] or [batch, m, k]', received: a.shape });
  const r = a.rank;
  if (b.rank !== r || b.shape[r - 2] !== a.shape[r - 1] || (r === 3 && b.shape[0] !== a.shape[0])) {
    const expected = r === 2 ? `[${a.shape[1]}, n]` : `[${a.shape[0]}, ${a.shape[2]}, n]`;
    throw new ShapeError({ argument: 'b', expected, received: b.shape });
  }
  if (r === 3 && useDepthwiseBatchMatMul(a.shape[0]!)) return batchMatMulDepthwise(a as tf.Tensor3D, b as tf.Tensor3D) as T;
  return matMulFast(a, b) as T;
}

const denseBiasFast = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, kernel, bias, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, kernel]);
  return {
    value: tf.add(tf.matMul(x, kernel), bias),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sk] = saved as [tf.Tensor2D, tf.Tensor2D];
      const d = dy as tf.Tensor2D;
      const dBias = tf.reshape(tf.matMul(tf.ones([1, d.shape[0]]), d), bias.shape);
      return [tf.matMul(d, tf.transpose(sk)), tf.matMul(tf.transpose(sx), d), dBias];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor) => tf.Tensor2D;

/**
 * Affine map over the last axis: `x · kernel + bias`, for `x` of any rank ≥ 2.
 * The product is computed at rank 2 (`[prod(batch dims), in] · [in, out]`). On the 'wasm'
 * backend (read at call time) the biased map is one `tf.customGrad` whose gradients are plain
 * products only (the bias gradient is `ones[1, N] · dy` instead of a Sum over axis 0, which wasm
 * runs as Transpose + Sum);
 * elsewhere it is `matMul` + `tf.add`. Same values on every backend.
 *
 * @param x - `[..., in]`.
 * @param kernel - `[in, out]`.
 * @param bias - `[out]` or null.
 * @returns `[..., out]`; the caller owns it.
 * @example
 * ```ts
 * const y = dense(tf.ones([2, 5, 3]), tf.ones([3, 4]), tf.zeros([4])); // [2, 5, 4], all 3
 * ```
 */
export function dense(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    const inDim = x.shape[x.rank - 1]!;
    const outDim = kernel.shape[1]!;
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
    let y: tf.Tensor;
    if (bias && tf.getBackend() === 'wasm') y = denseBiasFast(flat, kernel as tf.Tensor2D, bias);
    else {
      y = matMul(flat, kernel as tf.Tensor2D);
      if (bias) y = tf.add(y, bias);
    }
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
  });
}

/**
 * Layer normalisation over the last axis: `(x − mean) / sqrt(var + epsilon) · gamma + beta`
 * (biased variance, as PyTorch `nn.LayerNorm` and Keras `LayerNormalization`).
 *
 * @param x - `[..., d]`.
 * @param gamma - `[d]` scale, or null for 1.
 * @param beta - `[d]` offset, or null for 0.
 * @example
 * ```ts
 * layerNorm(tf.tensor2d([[1, 2, 3]]), null, null, 1e-5); // ≈ [[-1.2247, 0, 1.2247]]
 * ```
 */
export function layerNorm(
  x: tf.Tensor,
  gamma: tf.Tensor | null,
  beta: tf.Tensor | null,
  epsilon: number,
): tf.Tensor {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), axis, true);
    let y = tf.mul(centred, tf.rsqrt(tf.add(variance, epsilon)));
    if (gamma) y = tf.mul(y, gamma);
    if (beta) y = tf.add(y, beta);
    return y;
  });
}

/**
 * Exact GELU, `0.5 · x · (1 + erf(x / √2))` (PyTorch `nn.GELU()` default).
 *
 * @example
 * ```ts
 * gelu(tf.tensor1d([0, 1])); // ≈ [0, 0.8413]
 * ```
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/**
 * Mean over the token axis of `x` counting only tokens where `mask` is 1.
 * A row with no valid token gives zeros (never NaN).
 *
 * @param x - `[batch, tokens, dim]`.
 * @param mask - `[batch, tokens]` of 0/1, or null for all valid.
 * @returns `[batch, dim]`; the caller owns it.
 * @example
 * ```ts
 * maskedMean(tf.tensor3d([[[1], [3]]]), tf.tensor2d([[1, 0]])); // [[1]]
 * ```
 */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor | null): tf.Tensor2D {
  return tf.tidy(() => {
    if (!mask) return tf.mean(x, 1) as tf.Tensor2D;
    const m = tf.expandDims(mask.dtype === x.dtype ? mask : tf.cast(mask, x.dtype), -1);
    const total = tf.sum(tf.mul(x, m), 1);
    const count = tf.maximum(tf.sum(m, 1), 1);
    return tf.div(total, count) as tf.Tensor2D;
  });
}

/**
 * Dropout with inverted scaling, applied only when `rate > 0`. `seed` makes the mask
 * reproducible; pass a different seed per call.
 *
 * @example
 * ```ts
 * const y = dropout(tf.ones([4, 4]), 0.5, 42); // zeros and 2s
 * ```
 */
export function dropout(x: tf.Tensor, rate: number, seed?: number): tf.Tensor {
  if (rate <= 0) return x;
  return tf.dropout(x, rate, undefined, seed);
}

const stopGradientOp = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.add(x, 0), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * Identity in the forward pass, zero gradient in the backward pass (tfjs-core has no
 * `stopGradient`). Used to anchor alignment losses on the vision side.
 *
 * @returns a new tensor equal to `x`; the caller owns it.
 * @example
 * ```ts
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(stopGradient(x), x)))(tf.tensor1d([2, 3]));
 * g.print(); // [2, 3]: only the second factor is differentiated
 * ```
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

/**
 * L2-normalises along the last axis: `x / max(‖x‖, epsilon)`. A zero vector stays zero and
 * has a finite (zero) gradient.
 *
 * @example
 * ```ts
 * l2Normalize(tf.tensor2d([[3, 4]])); // [[0.6, 0.8]]
 * ```
 */
export function l2Normalize(x: tf.Tensor, epsilon = 1e-8): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), epsilon * epsilon))));
}
