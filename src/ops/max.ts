/**
 * Max over the last axis whose gradient goes to the first maximum, as two kernels of vdafm's own
 * on the wasm backend.
 *
 * The fine-grained alignment loss takes, for every text token, the max over an image's visual
 * tokens of a `[B, Nt, B, Nv]` similarity tensor (a million elements for B 32, Nt 64, Nv 16).
 * Its gradient with stock wasm kernels is argMax + oneHot + Cast + Multiply over the whole
 * tensor (~25 ms per step; the stock max gradient's `Equal` is slower still). vdafm registers
 * `VdafmMaxLast` (max and index of the first max in one pass) and `VdafmScatterLast` (the
 * gradient: `dy` written at those indices) for the wasm backend, computed in JavaScript on views
 * of tfjs's heap (src/kernels/max.ts). Stock kernels are never replaced; other backends use stock ops.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { onWasmHeap } from '../kernels/backend.js';
import { MAX_LAST_KERNEL_NAME, SCATTER_LAST_KERNEL_NAME } from '../kernels/max.js';

const maxLastNode = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const n = x.shape[x.rank - 1]!;
  const [values, index] = tf.engine().runKernel(MAX_LAST_KERNEL_NAME, { x }, {}) as tf.Tensor[];
  save([index!]);
  return {
    value: values!,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.engine().runKernel(SCATTER_LAST_KERNEL_NAME, { dy, index: saved[0]! }, { n } as unknown as tf.NamedAttrMap) as tf.Tensor,
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

const maxLastStock = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.max(x, -1),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const sx = saved[0]!;
      const n = sx.shape[sx.rank - 1]!;
      if (n === 1) return [tf.expandDims(dy, -1)];
      // oneHot in its default int32, then cast: tfjs-backend-wasm 4.22's float32 oneHot is wrong.
      const at = tf.cast(tf.oneHot(tf.argMax(sx, -1), n), 'float32');
      return [tf.mul(at, tf.expandDims(dy, -1))];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * Max over the last axis, `[..., n]` → `[...]`, whose gradient goes to the FIRST maximum of
 * each row (on every backend). On wasm it runs vdafm's own kernels (one pass for max and
 * index; the gradient writes `dy` at the indices); elsewhere argMax + oneHot.
 *
 * @param x - float32, rank ≥ 1, last axis ≥ 1.
 * @returns the maxima; the caller owns them.
 * @example
 * ```ts
 * maxLastAxis(tf.tensor2d([[1, 3, 3], [2, 0, 1]])); // [3, 2]; gradient [[0, 1, 0], [1, 0, 0]]
 * ```
 */
export function maxLastAxis(x: tf.Tensor): tf.Tensor {
  if (onWasmHeap() && x.dtype === 'float32') {
    return maxLastNode(x);
  }
  return maxLastStock(x);
}
