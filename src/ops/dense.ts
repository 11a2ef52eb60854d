/**
 * The dense-layer ops as single tape nodes with closed-form gradients: {@link dense} (affine
 * map), {@link layerNorm} and {@link gelu}. On 'wasm' with vdafm's kernels active, the products
 * run on its GEMM and layer norm / GELU on fused kernels (src/kernels/fused.ts); elsewhere the
 * stock formulations below run (same values). One node instead of 5–12 stock kernels, each of
 * which would keep a copy of its inputs for the backward pass, and fewer, larger kernels backward.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { geluForward, layerNormBackward, layerNormForward } from '../kernels/fused.js';
import { fastKernelsActive } from '../kernels/module.js';
import { columnSums, fastMatMul } from './matmul.js';

type Grad = Parameters<typeof tf.customGrad>[0];

/** Sums over every axis but the last: `[..., c]` → `[c]` (see {@link columnSums}). */
function sumToLast(x: tf.Tensor): tf.Tensor1D {
  return tf.reshape(columnSums(x), [x.shape[x.rank - 1]!]);
}

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
 * @throws {@link ShapeError} with vdafm's wasm kernels active (`fastKernelsActive()`), naming `b`
 *   when `kernel` is not `[in, out]` for `x`'s last axis or `bias` when it is not `[out]`
 *   (elsewhere tfjs's own `matMul` / `add` errors).
 * @throws {@link InvalidArgumentError} with those kernels active, naming `a.dtype`, `b.dtype` or
 *   `bias.dtype` for a tensor that is not float32.
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
 * @throws {@link ShapeError} with vdafm's wasm kernels active and a float32 `x`, naming `x` (rank 0
 *   or an empty last axis), `gamma` or `beta` (not `[d]`); elsewhere tfjs's own errors.
 * @throws {@link InvalidArgumentError} in that case too, naming `gamma.dtype` or `beta.dtype` (not
 *   float32) or `epsilon` (not a finite number ≥ 0).
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
