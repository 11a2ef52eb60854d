/**
 * A differentiable slice that does not copy its whole input on the wasm backend ({@link fastSlice},
 * on the `VdafmSlice` kernel of src/kernels/slice.ts), and {@link splitRows} for bookkeeping.
 * Every other backend runs the stock `tf.slice`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { onWasmHeap } from '../kernels/backend.js';
import { sliceRaw } from '../kernels/slice.js';

/**
 * `tf.slice(x, begin, size)` (explicit begin and size, no -1) that on the wasm backend copies only
 * the slice (see the module comment). Differentiable: the gradient pads `dy` back to `x`'s shape.
 *
 * @param x - any rank.
 * @param begin - start index per axis.
 * @param size - length per axis (explicit, ≥ 0).
 * @returns a tensor of shape `size`; the caller owns it.
 * @example
 * ```ts
 * fastSlice(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), [0, 1], [2, 2]); // [[2, 3], [5, 6]]
 * ```
 */
export function fastSlice<T extends tf.Tensor>(x: T, begin: number[], size: number[]): T {
  if (!onWasmHeap()) return tf.slice(x, begin, size);
  const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xx = args[0] as tf.Tensor;
    return {
      value: sliceRaw(xx, begin, size),
      gradFunc: (dy: tf.Tensor) =>
        tf.pad(
          dy,
          x.shape.map((n, a) => [begin[a]!, n - begin[a]! - size[a]!] as [number, number]),
        ),
    };
  }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
  return node(x) as T;
}

/**
 * Splits `x` along axis 0 into consecutive parts of the given sizes, without gradient (for
 * optimizer updates and other bookkeeping); on wasm each part copies only its own elements.
 *
 * @returns one tensor per size; the caller owns them.
 */
export function splitRows(x: tf.Tensor, sizes: number[]): tf.Tensor[] {
  const rest = x.shape.slice(1);
  let offset = 0;
  return sizes.map((s) => {
    const part = sliceRaw(x, [offset, ...rest.map(() => 0)], [s, ...rest]);
    offset += s;
    return part;
  });
}
