/**
 * Batched matrix products (`[n, m, k]·[n, k, p]`) formulated per backend, so that both the
 * forward pass and the gradients run on fast kernels.
 *
 * tfjs-backend-wasm 4.22 sends every `BatchMatMul` whose batch is larger than 1 (or that has a
 * transpose flag) to a naive scalar triple loop (~1 GFLOP/s); only batch-1, unflagged products
 * reach XNNPACK. On wasm, {@link batchMatMulDepthwise} therefore computes the `n` independent
 * products as ONE depthwise convolution (XNNPACK: input `[1, m, k, n]`, filter `[1, k, n, p]`,
 * channel multiplier `p`, 'valid' padding), and its gradients are again such convolutions (wasm
 * has no depthwise backprop kernels, so the gradient is a `tf.customGrad` scoped to this op: no
 * global gradient is registered). On the cpu backend the depthwise kernel is slower than the
 * batched matMul, so {@link useDepthwiseBatchMatMul} selects it only on 'wasm', read at call time.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';

/**
 * Whether batched products should take the depthwise-convolution formulation on the backend
 * active right now (`tf.getBackend()`, read at call time): true on 'wasm' only.
 *
 * @param batch - number of independent products `n`; a single product (batch 1) already runs
 *   on the fast kernel everywhere.
 * @example
 * ```ts
 * useDepthwiseBatchMatMul(128); // true on the wasm backend, false on cpu / webgl
 * ```
 */
export function useDepthwiseBatchMatMul(batch: number): boolean {
  return batch > 1 && tf.getBackend() === 'wasm';
}

/**
 * `contract(x [M, K, N], f [K, N, P]) → [M, N, P]` with `y[m, n, p] = Σ_k x[m, k, n]·f[k, n, p]`:
 * N independent products as one depthwise convolution. Not differentiable by itself.
 */
function contract(x: tf.Tensor3D, f: tf.Tensor3D): tf.Tensor3D {
  const [m, k, n] = x.shape;
  const p = f.shape[2];
  const y = tf.depthwiseConv2d(tf.reshape(x, [1, m, k, n]) as tf.Tensor4D, tf.reshape(f, [1, k, n, p]) as tf.Tensor4D, 1, 'valid');
  return tf.reshape(y, [m, n, p]);
}

/** `a [n, m, k] · b [n, k, p] → [n, m, p]` on the depthwise kernel (not differentiable). */
function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  // x[m, k, n] = a[n, m, k]; f[k, n, p] = b[n, k, p]; y[m, n, p] → [n, m, p].
  return tf.transpose(contract(tf.transpose(a, [1, 2, 0]), tf.transpose(b, [1, 0, 2])), [1, 0, 2]);
}

const bmmOp = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: bmm(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      const d = dy as tf.Tensor3D;
      // dA[n, m, k] = Σ_p dC[n, m, p]·b[n, k, p]: x = dC as [m, p, n], f = b as [p, n, k].
      const da = tf.transpose(contract(tf.transpose(d, [1, 2, 0]), tf.transpose(sb, [2, 0, 1])), [1, 0, 2]);
      // dB[n, k, p] = Σ_m a[n, m, k]·dC[n, m, p]: x = a as [k, m, n], f = dC as [m, n, p].
      const db = tf.transpose(contract(tf.transpose(sa, [2, 1, 0]), tf.transpose(d, [1, 0, 2])), [1, 0, 2]);
      return [da, db];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;

/**
 * Batched matrix product `a · b` (`[n, m, k]·[n, k, p] → [n, m, p]`) computed as depthwise
 * convolutions, forward and backward. On tfjs-backend-wasm this is ~3× faster than a batched
 * `tf.matMul` (which runs a naive loop there for n > 1); on the cpu backend it is slower, so
 * call it through `matMul` (src/ops/matmul.ts), which picks it only on wasm. It gives the same
 * values as `tf.matMul` (up to float32 rounding) on every backend.
 *
 * @param a - `[n, m, k]`.
 * @param b - `[n, k, p]`.
 * @returns `[n, m, p]`; the caller owns it.
 * @throws {@link ShapeError} when the operands are not rank 3 or their batch or inner sizes differ.
 * @example
 * ```ts
 * const c = batchMatMulDepthwise(tf.ones([4, 2, 3]), tf.ones([4, 3, 5])); // [4, 2, 5], all 3
 * ```
 */
export function batchMatMulDepthwise(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (a.rank !== 3) throw new ShapeError({ argument: 'a', expected: '[n, m, k]', received: a.shape });
  if (b.rank !== 3 || b.shape[0] !== a.shape[0] || b.shape[1] !== a.shape[2]) {
    throw new ShapeError({ argument: 'b', expected: `[${a.shape[0]}, ${a.shape[2]}, p]`, received: b.shape });
  }
  return bmmOp(a, b);
}
