/**
 * A differentiable embedding lookup that trains on every backend.
 *
 * tfjs's `tf.gather` has no gradient on the wasm backend (its gradient needs
 * `UnsortedSegmentSum`, which tfjs-backend-wasm 4.22 lacks). This op keeps the fast `gather`
 * forward pass and supplies its own gradient, a `scatterND` into a zero table (which sums the
 * rows of repeated ids), a kernel every backend has. The gradient is scoped to this op: no
 * global gradient is re-registered.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

const lookupFast = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [table, ids, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([ids]);
  return {
    value: tf.gather(table, ids),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sids] = saved as [tf.Tensor1D];
      const dTable = tf.scatterND(tf.reshape(sids, [-1, 1]), dy, table.shape);
      // ids are integers: their gradient is zero.
      return [dTable, tf.zerosLike(sids)];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (table: tf.Tensor, ids: tf.Tensor) => tf.Tensor;

/**
 * Looks up rows of an embedding table: `out[..., :] = table[ids[...], :]`.
 *
 * Forward pass is `tf.gather`; the gradient with respect to `table` is a `scatterND` that adds
 * up the output gradients of repeated ids (so it trains on cpu, wasm and webgl alike). No
 * gradient flows to `ids`.
 *
 * Ids must already be valid integers in `[0, rows)`; use {@link sanitizeIds} on untrusted
 * float inputs.
 *
 * @param table - `[rows, dim]` float32.
 * @param ids - int32 ids of any shape `[...]`.
 * @returns `[..., dim]`; the caller owns it.
 * @example
 * ```ts
 * const table = tf.tensor2d([[0, 0], [1, 1], [2, 2]]);
 * embeddingLookup(table, tf.tensor2d([[2, 0]], [1, 2], 'int32')); // [[[2, 2], [0, 0]]]
 * ```
 */
export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const flat = tf.reshape(ids, [-1]);
    const rows = lookupFast(table, flat);
    return tf.reshape(rows, [...ids.shape, table.shape[1]!]);
  });
}

/**
 * Turns float or int "ids" into valid int32 row indices: rounds to the nearest integer and
 * replaces anything outside `[0, rows)` (and NaN) with `fallback`.
 *
 * Layers call it on their id inputs because a symbolic model feeds ids as float32 and a
 * validity check inside `call` would need a slow device → host read.
 *
 * @param ids - any shape, any numeric dtype.
 * @param rows - number of table rows.
 * @param fallback - the index used for out-of-range ids. @defaultValue 0
 * @returns int32 tensor of the same shape; the caller owns it.
 * @example
 * ```ts
 * sanitizeIds(tf.tensor1d([0.9, 7, -1]), 5, 0); // int32 [1, 0, 0]
 * ```
 */
export function sanitizeIds(ids: tf.Tensor, rows: number, fallback = 0): tf.Tensor {
  return tf.tidy(() => {
    const r = tf.round(tf.cast(ids, 'float32'));
    const ok = tf.logicalAnd(tf.greaterEqual(r, 0), tf.less(r, rows));
    return tf.cast(tf.where(ok, r, tf.fill(r.shape, fallback)), 'int32');
  });
}
