/**
 * Differentiable building-block ops shared by every vdafm layer.
 *
 * They are written so that both the forward pass and the gradients run on fast kernels on
 * every backend (see docs/guides/backends.md):
 * - On 'wasm' with vdafm's own kernels active (src/kernels: the default in Node; call
 *   `initFastKernels()` on a browser main thread), matrix products run on vdafm's WebAssembly
 *   GEMM with transposes absorbed by its packing, and GELU / layer norm on fused kernels. The
 *   formulations below are what runs everywhere else (and give the same values).
 * - {@link matMul} never uses the `transposeA`/`transposeB` flags, in the forward pass *or*
 *   in its gradient (stock tfjs's BatchMatMul gradient uses them, and on the wasm backend the
 *   flagged variants miss the XNNPACK fast path and are ~20× slower). Its gradient is a
 *   `tf.customGrad` scoped to our own ops: no global gradient is re-registered.
 * - Batched rank-3 products (batch > 1) take a per-backend formulation, chosen at call time from
 *   `tf.getBackend()`: on 'wasm' they run as depthwise convolutions (src/core/batched-matmul.ts;
 *   wasm's BatchMatMul with batch > 1 is a naive loop), elsewhere as a plain batched matMul.
 * - {@link dense}, {@link layerNorm}, {@link gelu}, {@link maskedMean} and {@link dropout} are each
 *   one `tf.customGrad` node with a closed-form gradient: the tape records one node instead of
 *   5–12 stock kernels, each of which would keep a copy of its inputs for the backward pass (an
 *   Identity kernel per saved tensor), and the backward pass runs fewer, larger kernels.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { batchMatMulDepthwise, useDepthwiseBatchMatMul } from './batched-matmul.js';
import { columnSum, fastKernelsActive, fastMatMul, swapLast } from '../kernels/gemm.js';
import { geluForward, layerNormBackward, layerNormForward } from '../kernels/fused.js';

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
  if (fastKernelsActive()) return fastMatMul(a, b);
  if (r === 3 && useDepthwiseBatchMatMul(a.shape[0]!)) return batchMatMulDepthwise(a as tf.Tensor3D, b as tf.Tensor3D) as T;
  return matMulFast(a, b) as T;
}

/**
 * `op(a) · op(b)` for rank-2 or rank-3 operands, `op` a transpose of the last two axes when its
 * flag is set: vdafm's own GEMM (transposes absorbed by its packing) when the fast kernels are
 * active, else {@link matMul} on explicitly transposed operands. Differentiable.
 * @internal
 */
export function product<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T, transposeA = false, transposeB = false): T {
  if (fastKernelsActive()) return fastMatMul(a, b, { transposeA, transposeB });
  return matMul((transposeA ? swapLast(a) : a) as T, (transposeB ? swapLast(b) : b) as T);
}

type Grad = Parameters<typeof tf.customGrad>[0];

/**
 * Per-group column sums, not differentiable: `x` viewed as `[groups, rows, c]` (`rows` = the
 * rest) → `[groups, c]`. On wasm with the fast kernels: vdafm's column-sum kernel (one group) or
 * its GEMM (`ones[groups, 1, rows] · x`). Elsewhere the rows are split into up to 4 blocks summed
 * by one batched product with rows of ones, then the partial sums are added (a rank-2
 * `ones[1, rows] · x` makes XNNPACK pack all of `x` first, and `tf.sum` over a non-last axis
 * transposes first).
 * @internal shared with the convolution and normalisation ops
 */
export function columnSums(x: tf.Tensor, groups = 1): tf.Tensor2D {
  const c = x.shape[x.rank - 1]!;
  const rows = x.size / c / groups;
  if (fastKernelsActive()) {
    if (groups === 1) return tf.reshape(columnSum(tf.reshape(x, [rows, c])), [1, c]);
    return tf.reshape(fastMatMul(tf.ones([groups, 1, rows]) as tf.Tensor3D, tf.reshape(x, [groups, rows, c]) as tf.Tensor3D), [groups, c]);
  }
  const b = rows % 4 === 0 && rows >= 64 ? 4 : rows % 2 === 0 && rows >= 32 ? 2 : 1;
  const parts = tf.matMul(tf.ones([groups * b, 1, rows / b]), tf.reshape(x, [groups * b, rows / b, c])); // [groups·b, 1, c]
  return (b === 1 ? tf.reshape(parts, [groups, c]) : tf.sum(tf.reshape(parts, [groups, b, c]), 1)) as tf.Tensor2D;
}

/** Sums over every axis but the last: `[..., c]` → `[c]` (see {@link columnSums}). */
function sumToLast(x: tf.Tensor): tf.Tensor1D {
  return tf.reshape(columnSums(x), [x.shape[x.rank - 1]!]);
}

/** The affine map as one tape node: forward `x·K (+ b)` at rank 2, gradients as plain products. */
function denseNode(hasBias: boolean): (...t: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    const kernel = args[1] as tf.Tensor2D;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inDim = x.shape[x.rank - 1]!;
    const outDim = kernel.shape[1];
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, inDim]) as tf.Tensor2D);
    save([flat, kernel]);
    const fast = fastKernelsActive();
    let y: tf.Tensor;
    if (fast) y = fastMatMul(flat, kernel, hasBias ? { bias: args[2] as tf.Tensor1D } : {});
    else {
      y = tf.matMul(flat, kernel);
      if (hasBias) y = tf.add(y, args[2] as tf.Tensor);
    }
    const outShape = [...x.shape.slice(0, -1), outDim];
    return {
      value: x.rank === 2 ? y : tf.reshape(y, outShape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sk] = saved as [tf.Tensor2D, tf.Tensor2D];
        const d = (dy.rank === 2 ? dy : tf.reshape(dy, [-1, outDim])) as tf.Tensor2D;
        // dx = dy·Kᵀ, dK = xᵀ·dy: transposes absorbed by the GEMM's packing when it is active
        const dx = fast ? fastMatMul(d, sk, { transposeB: true }) : tf.matMul(d, tf.transpose(sk));
        const dk = fast ? fastMatMul(sx, d, { transposeA: true }) : tf.matMul(tf.transpose(sx), d);
        const grads = [x.rank === 2 ? dx : tf.reshape(dx, x.shape), dk];
        if (hasBias) grads.push(sumToLast(d));
        return grads;
      },
    };
  }) as Grad) as (...t: tf.Tensor[]) => tf.Tensor;
}

const denseWithBias = denseNode(true);
const denseNoBias = denseNode(false);

/**
 * Affine map over the last axis: `x · kernel + bias`, for `x` of any rank ≥ 2.
 * One tape node on every backend: the product runs at rank 2 (`[prod(batch dims), in] · [in,
 * out]`) and the gradients are plain products with explicit transposes (the bias gradient is
 * `ones[1, N] · dy`, not a Sum over axis 0, which wasm runs as Transpose + Sum). Only `x` and
 * `kernel` are kept for the backward pass (stock ops would also keep copies for every reshape
 * and the bias add).
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
  return bias ? denseWithBias(x, kernel, bias) : denseNoBias(x, kernel);
}

/**
 * Layer normalisation over the last axis: `(x − mean) / sqrt(var + epsilon) · gamma + beta`
 * (biased variance, as PyTorch `nn.LayerNorm` and Keras `LayerNormalization`).
 *
 * One tape node with the closed-form gradient
 * `dx = rstd · (g − mean(g) − x̂ · mean(g · x̂))`, `g = dy · gamma`. On wasm with the fast
 * kernels both passes are vdafm's fused kernels (native/fused.c, ~4× the stock composition);
 * elsewhere stock ops keeping `x̂` and `rstd`.
 *
 * @param x - `[..., d]`.
 * @param gamma - `[d]` scale, or null for 1.
 * @param beta - `[d]` offset, or null for 0.
 * @returns `[..., d]`; the caller owns it.
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
  const fast = fastKernelsActive() && x.dtype === 'float32';
  const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xx = args[0] as tf.Tensor;
    const g = gamma ? (args[1] as tf.Tensor) : null;
    const b = beta ? (args[gamma ? 2 : 1] as tf.Tensor) : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    if (fast) {
      // vdafm's fused kernels (native/fused.c): one pass forward, one backward; keeps x, mean, rstd
      const f = layerNormForward(xx, g, b, epsilon)!;
      save(g ? [xx, f.mean, f.rstd, g] : [xx, f.mean, f.rstd]);
      return {
        value: f.y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const r = layerNormBackward(dy, saved[0]!, saved[1]!, saved[2]!, saved[3] ?? null, b !== null)!;
          return [r.dx, ...(r.dgamma ? [r.dgamma] : []), ...(r.dbeta ? [r.dbeta] : [])];
        },
      };
    }
    const axis = xx.rank - 1;
    const mean = tf.mean(xx, axis, true);
    const centred = tf.sub(xx, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), axis, true), epsilon));
    const xhat = tf.mul(centred, rstd);
    save(g ? [xhat, rstd, g] : [xhat, rstd]);
    let y = g ? tf.mul(xhat, g) : xhat;
    if (b) y = tf.add(y, b);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const gy = sg ? tf.mul(dy, sg) : dy;
        const inner = tf.sub(tf.sub(gy, tf.mean(gy, axis, true)), tf.mul(sx, tf.mean(tf.mul(gy, sx), axis, true)));
        const grads: tf.Tensor[] = [tf.mul(inner, sr)];
        if (sg) grads.push(sumToLast(tf.mul(dy, sx)));
        if (b) grads.push(sumToLast(dy));
        return grads;
      },
    };
  }) as Grad) as (...t: tf.Tensor[]) => tf.Tensor;
  const inputs = [x];
  if (gamma) inputs.push(gamma);
  if (beta) inputs.push(beta);
  return node(...inputs);
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * `exp(z)` for `z ≤ 0` as `σ(z) / (1 − σ(z))`: tfjs-backend-wasm's Exp kernel is a scalar loop
 * (~8 ns per element), its Sigmoid is vectorised; the four kernels together are ~4× faster.
 * Relative error a few float32 ulps; underflows to 0 where `exp` does.
 */
function expNonPositive(z: tf.Tensor): tf.Tensor {
  const s = tf.sigmoid(z);
  return tf.div(s, tf.sub(1, s));
}

const geluNode = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sc] = saved as [tf.Tensor, tf.Tensor];
      // d/dx [x·Φ(x)] = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π)
      const pdf = tf.mul(expNonPositive(tf.mul(tf.square(sx), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(sc, tf.mul(sx, pdf)));
    },
  };
}) as Grad) as (x: tf.Tensor) => tf.Tensor;

/** GELU on vdafm's fused kernel (wasm): forward returns `y` and the derivative, kept for backward. */
const geluFusedNode = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const f = geluForward(x, 'derivative')!;
  save([f.derivative!]);
  return { value: f.y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
}) as Grad) as (x: tf.Tensor) => tf.Tensor;

/**
 * Exact GELU, `0.5 · x · (1 + erf(x / √2))` (PyTorch `nn.GELU()` default), as one tape node
 * with the closed-form gradient `Φ(x) + x·φ(x)`. On wasm with the fast kernels it is vdafm's
 * fused kernel (native/fused.c: a vectorised erf accurate to 9e-8, ~8× the stock composition);
 * elsewhere stock ops, with the derivative's `exp` run as a sigmoid (wasm's Exp kernel is a
 * scalar loop).
 *
 * @returns a tensor of `x`'s shape; the caller owns it.
 * @example
 * ```ts
 * gelu(tf.tensor1d([0, 1])); // ≈ [0, 0.8413]
 * ```
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return fastKernelsActive() && x.dtype === 'float32' ? geluFusedNode(x) : geluNode(x);
}

/**
 * Mean over the token axis of `x` counting only tokens where `mask` is 1.
 * A row with no valid token gives zeros (never NaN). One tape node; the mask gets no gradient.
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
  if (x.rank !== 3) return tf.tidy(() => tf.mean(x, 1) as tf.Tensor2D);
  return tf.tidy(() => {
    const [b, n, d] = x.shape as [number, number, number];
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      // weights[b, 1, n] = mask / max(count, 1): the mean is one batched product weights · x.
      // Built inside the node, so that none of these ops is recorded on the tape.
      let w: tf.Tensor;
      if (mask) {
        const m = mask.dtype === x.dtype ? mask : tf.cast(mask, x.dtype);
        w = tf.reshape(tf.div(m, tf.maximum(tf.sum(m, 1, true), 1)), [b, 1, n]);
      } else {
        w = tf.fill([b, 1, n], 1 / n);
      }
      save([w]);
      return {
        value: tf.reshape(b === 1 ? tf.matMul(tf.reshape(w, [1, n]), tf.reshape(xx, [n, d])) : matMul(w as tf.Tensor3D, xx as tf.Tensor3D), [b, d]),
        // dx[b, t, :] = w[b, t] · dy[b, :]
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.reshape(saved[0]!, [b, n, 1]), tf.reshape(dy, [b, 1, d])),
      };
    }) as Grad) as (x: tf.Tensor) => tf.Tensor;
    return node(x) as tf.Tensor2D;
  });
}

/**
 * A dropout mask `[...shape]` with values `1 / (1 − rate)` (kept) and 0 (dropped), drawn from
 * vdafm's seeded generator in JavaScript (tf.randomUniform draws through seedrandom, several
 * times slower). The same seed gives the same mask on every backend.
 * @internal
 */
export function dropoutMask(shape: number[], rate: number, seed: number | undefined): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  const keep = 1 - rate;
  const scale = 1 / keep;
  // xorshift32 seeded through a SplitMix32 scramble; each 32-bit draw gives two 16-bit uniforms
  // (keep probability resolved to 1/65536), branch-free: ~2.5 ns per element in V8.
  let z = (seed === undefined ? Math.floor(Math.random() * 4294967296) : Math.floor(seed) ^ 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  let s = (z ^ (z >>> 16)) | 0 || 0x6d2b79f5;
  const threshold = Math.round(keep * 65536);
  for (let i = 0; i < size; i += 2) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    values[i] = scale * (((s & 0xffff) - threshold) >>> 31);
    if (i + 1 < size) values[i + 1] = scale * (((s >>> 16) - threshold) >>> 31);
  }
  return tf.tensor(values, shape, 'float32');
}

/**
 * Dropout with inverted scaling, applied only when `rate > 0`: `x · mask` with the mask's kept
 * entries `1 / (1 − rate)`. `seed` makes the mask reproducible (the same on every backend); pass a
 * different seed per call. One tape node whose gradient is `dy · mask`.
 *
 * @param x - any shape.
 * @param rate - fraction dropped, in [0, 1).
 * @returns a tensor of `x`'s shape (`x` itself when `rate ≤ 0`).
 * @example
 * ```ts
 * const y = dropout(tf.ones([4, 4]), 0.5, 42); // zeros and 2s
 * ```
 */
export function dropout(x: tf.Tensor, rate: number, seed?: number): tf.Tensor {
  if (rate <= 0) return x;
  return tf.tidy(() => {
    const mask = dropoutMask(x.shape, rate, seed);
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([mask]);
      return { value: tf.mul(xx, mask), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
    }) as Grad) as (x: tf.Tensor) => tf.Tensor;
    return node(x);
  });
}

const residualAddNode = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b] = args as [tf.Tensor, tf.Tensor];
  // a reshape to the same shape shares dy's data (no copy), so each input gets its own tensor
  return { value: tf.add(a, b), gradFunc: (dy: tf.Tensor) => [dy, tf.reshape(dy, dy.shape)] };
}) as Grad) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * `a + b` for two tensors of the same shape (residual connections), as a tape node that keeps
 * nothing for the backward pass (stock Add keeps copies of both inputs to undo broadcasting).
 * Falls back to `tf.add` when the shapes differ.
 *
 * @returns a tensor of the common shape; the caller owns it.
 * @example
 * ```ts
 * residualAdd(tf.ones([2, 3]), tf.ones([2, 3])); // all 2
 * ```
 */
export function residualAdd(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.util.arraysEqual(a.shape, b.shape) ? residualAddNode(a, b) : tf.add(a, b);
}

/**
 * Multiplies token vectors by a per-token (or per-sample) 0/1 or weight mask: `x · mask[..., None]`,
 * with `x` `[batch, tokens, dim]` and `mask` `[batch, tokens]` or `[batch, 1]`. The mask is a
 * constant (no gradient); the tape node keeps only the mask (stock Multiply keeps `x` too).
 *
 * @returns `[batch, tokens, dim]`; the caller owns it.
 * @example
 * ```ts
 * maskTokens(tf.ones([1, 2, 3]), tf.tensor2d([[1, 0]])); // [[[1, 1, 1], [0, 0, 0]]]
 * ```
 */
export function maskTokens(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const m = tf.expandDims(mask.dtype === xx.dtype ? mask : tf.cast(mask, xx.dtype), -1);
      save([m]);
      return { value: tf.mul(xx, m), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
    }) as Grad) as (x: tf.Tensor) => tf.Tensor;
    return node(x);
  });
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
