/**
 * The report-field loss: how well a head predicts the fields of a patient's report (softmax
 * cross-entropy for a categorical field, binary cross-entropy per word of a text field, squared
 * error for a number), each group weighted by its mask (0 for a missing report or field) and
 * averaged over the groups present. With the head on the image embedding, the report teaches
 * the image: the semantic, structured half of this package's reading of the dual alignment.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';

/** One group of the target vector (see `ReportFieldTargets.groups`). */
export interface FieldLossGroup {
  readonly kind: 'categorical' | 'multilabel' | 'regression';
  readonly offset: number;
  readonly labels: readonly string[];
}

/**
 * Mean over present groups of each group's loss: `Σ_b Σ_g mask[b, g]·loss[b, g] / max(1, Σ mask)`.
 * Multi-label groups average their words' binary cross-entropies, so every group weighs the same.
 *
 * @param logits - `[B, width]` head outputs (raw: logits, or the regression value).
 * @param targets - `[B, width]` one-hot / multi-hot / regression targets.
 * @param mask - `[B, groups]`, 1 where the group's target is known.
 * @param groups - the groups in the order of `mask`'s columns.
 * @returns a scalar ≥ 0 (0 when nothing is present); the caller owns it.
 * @throws {@link ShapeError} when `targets`' or `mask`'s shape does not match `logits` and `groups`.
 * @example
 * ```ts
 * const loss = reportFieldLoss(logits, targets, mask, fieldTargets.groups);
 * ```
 */
export function reportFieldLoss(logits: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor, groups: readonly FieldLossGroup[]): tf.Scalar {
  const width = groups.reduce((w, g) => Math.max(w, g.offset + g.labels.length), 0);
  if (logits.rank !== 2 || logits.shape[1] !== width) throw new ShapeError({ argument: 'logits', expected: `[batch, ${width}]`, received: logits.shape });
  if (targets.rank !== 2 || targets.shape[0] !== logits.shape[0] || targets.shape[1] !== width) {
    throw new ShapeError({ argument: 'targets', expected: `[${logits.shape[0]}, ${width}]`, received: targets.shape });
  }
  if (mask.rank !== 2 || mask.shape[0] !== logits.shape[0] || mask.shape[1] !== groups.length) {
    throw new ShapeError({ argument: 'mask', expected: `[${logits.shape[0]}, ${groups.length}]`, received: mask.shape });
  }
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    const perGroup = groups.map((g) => {
      const z = tf.slice(logits, [0, g.offset], [-1, g.labels.length]);
      const y = tf.slice(tf.cast(targets, 'float32'), [0, g.offset], [-1, g.labels.length]);
      if (g.kind === 'categorical') return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1));
      if (g.kind === 'multilabel') {
        // stable BCE with logits: max(z, 0) − z·y + ln(1 + e^{−|z|})
        const bce = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
        return tf.mean(bce, 1);
      }
      return tf.sum(tf.square(tf.sub(z, y)), 1);
    }); // each [B]
    const losses = tf.stack(perGroup, 1); // [B, groups]
    return tf.div(tf.sum(tf.mul(losses, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
  });
}

/**
 * `[loss, correct, known]` of a batch of report-field head outputs: {@link reportFieldLoss} and,
 * over the categorical groups, how many known fields the head's most likely value gets right and
 * how many are known (the trainer's `val_fields` and `val_fields_accuracy` sum them over batches).
 *
 * @param logits - `[B, width]` head outputs; `targets`, `mask`, `groups`: as {@link reportFieldLoss}.
 * @returns `[3]`; the caller owns it.
 * @throws {@link ShapeError} as {@link reportFieldLoss}.
 * @internal
 */
export function reportFieldStats(logits: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor, groups: readonly FieldLossGroup[]): tf.Tensor1D {
  return tf.tidy(() => {
    const loss = reportFieldLoss(logits, targets, mask, groups);
    const m = tf.cast(mask, 'float32');
    let correct: tf.Tensor = tf.scalar(0);
    let known: tf.Tensor = tf.scalar(0);
    groups.forEach((g, i) => {
      if (g.kind !== 'categorical') return;
      const z = tf.slice(logits, [0, g.offset], [-1, g.labels.length]);
      const y = tf.slice(targets, [0, g.offset], [-1, g.labels.length]);
      const present = tf.reshape(tf.slice(m, [0, i], [-1, 1]), [-1]);
      const hit = tf.cast(tf.equal(tf.argMax(z, 1), tf.argMax(y, 1)), 'float32');
      correct = tf.add(correct, tf.sum(tf.mul(hit, present)));
      known = tf.add(known, tf.sum(present));
    });
    return tf.stack([loss, correct, known]) as tf.Tensor1D;
  });
}
