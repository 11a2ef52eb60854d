/**
 * What the table layers share: validation of the feature counts and input shapes, and the
 * per-feature categorical indices into one stacked embedding table.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertDim, assertNonNegativeInt, assertRank, assertSameDims, type Shape } from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';


function checkCardinalities(value: unknown, argument = 'cardinalities'): number[] {
  if (!Array.isArray(value) || value.some((c) => typeof c !== 'number' || !Number.isInteger(c) || c < 1)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be an array of positive integers (vocabulary size of each categorical feature, unseen index included).`,
      received: value,
    });
  }
  return [...(value as number[])];
}

/**
 * Validates the feature counts of a table layer (`numScalar` + `cardinalities`). @internal
 *
 * @throws {@link InvalidArgumentError} naming `numScalar` (not a non-negative integer, or no
 *   feature at all) or `cardinalities` (not an array of positive integers).
 */
export function checkFeatureCounts(numScalar: unknown, cardinalities: unknown): { numScalar: number; cardinalities: number[] } {
  assertNonNegativeInt(numScalar, 'numScalar');
  const cards = checkCardinalities(cardinalities);
  if (numScalar + cards.length === 0) {
    throw new InvalidArgumentError({ argument: 'numScalar', message: 'The table needs at least one feature.', received: 0 });
  }
  return { numScalar, cardinalities: cards };
}

/**
 * Parses `values` or `[values, mask]` shapes and checks them against the feature count. @internal
 *
 * @throws {@link InvalidArgumentError} (argument `inputs`) for more than two inputs.
 * @throws {@link ShapeError} naming `values` (not `[batch, features]`) or `mask` (not rank 2, or
 *   not of `values`' shape).
 */
export function parseTableShapes(inputShape: Shape | Shape[], features: number, layerName: string): { values: Shape; mask: Shape | null } {
  const list: Shape[] = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
  if (list.length > 2) {
    throw new InvalidArgumentError({ argument: 'inputs', message: `${layerName} takes values or [values, mask].`, received: `${list.length} inputs` });
  }
  const values = list[0]!;
  assertRank(values, 2, 'values', '[batch, features]');
  assertDim(values, 1, features, 'values', `[batch, ${features}]`, 'Use the preprocessor that the layer was configured with.');
  const mask = list[1] ?? null;
  if (mask) {
    assertRank(mask, 2, 'mask', '[batch, features]');
    assertSameDims(mask, values, [0, 1], 'mask', 'values', '[batch, features]');
  }
  return { values, mask };
}

/** Per-feature categorical indices (rounded; outside `[0, card)` → 0) offset into one stacked table. @internal */
export function categoricalIds(cat: tf.Tensor, cardinalities: number[]): tf.Tensor {
  return tf.tidy(() => {
    const r = tf.round(cat);
    const card = tf.tensor1d(cardinalities);
    const ok = tf.logicalAnd(tf.greaterEqual(r, 0), tf.less(r, card));
    const local = tf.where(ok, r, tf.zerosLike(r));
    const offsets: number[] = [];
    cardinalities.reduce((acc, c) => {
      offsets.push(acc);
      return acc + c;
    }, 0);
    return tf.cast(tf.add(local, tf.tensor1d(offsets)), 'int32');
  });
}
