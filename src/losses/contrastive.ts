/**
 * Symmetric InfoNCE (CLIP-style) contrastive loss with masks and optional supervised positives,
 * and the learnable, clamped logit scale.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize, readMask, zeroPadded } from '../ops/elementwise.js';
import { matMul } from '../ops/matmul.js';
import { assertPositiveNumber, assertRank, assertSameDims } from '../core/validate.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { type BaseLayerArgs } from '../layers/common.js';
import { variableFrom } from '../core/variables.js';

/** Large negative logit used to remove excluded samples from a softmax. */
const EXCLUDED = -1e9;

/** Options of {@link contrastiveLoss}. */
export interface ContrastiveLossOptions {
  /**
   * Fixed softmax temperature τ (logits = cos / τ). Give either this or `logitScale`.
   * @defaultValue 0.07 when neither is given
   */
  temperature?: number;
  /** Logit scale 1/τ as a number or a scalar tensor (e.g. {@link LogitScale.value}); differentiable. */
  logitScale?: number | tf.Scalar;
  /**
   * `[batch]`, bool or 0/1 (read as included where > 0.5, see {@link readMask}): samples with 0
   * (e.g. a missing modality) are excluded from the loss, as anchors and as negatives.
   * @defaultValue all included
   */
  mask?: tf.Tensor1D;
  /**
   * `[batch]` class labels (integers). When given, every included sample with the same label is a
   * positive (supervised contrastive); otherwise only the paired sample is.
   * @defaultValue undefined
   */
  labels?: tf.Tensor1D;
  /**
   * Whether the inputs are L2-normalised here (set false if they already are).
   * @defaultValue true
   */
  normalize?: boolean;
}

/** Result of {@link contrastiveLoss}; the caller owns every tensor. */
export type ContrastiveLossResult = {
  /** Scalar loss (mean of both directions), ≥ 0. */
  loss: tf.Scalar;
  /** `[batch, batch]` logits a→b: `scale · cos(a_i, b_j)`. */
  logitsAB: tf.Tensor2D;
  /** `[batch, batch]` logits b→a (the transpose). */
  logitsBA: tf.Tensor2D;
}

function checkPair(a: tf.Tensor, b: tf.Tensor, nameA: string, nameB: string): void {
  assertRank(a, 2, nameA, '[batch, dim]');
  assertRank(b, 2, nameB, '[batch, dim]');
  assertSameDims(b, a, [0, 1], nameB, nameA, '[batch, dim]');
}

function checkBatchVector(t: tf.Tensor | undefined, name: string, batch: number): void {
  if (!t) return;
  if (t.rank !== 1 || t.shape[0] !== batch) {
    throw new ShapeError({ argument: name, expected: `[${batch}]`, received: t.shape });
  }
}

/**
 * Cross-entropy of each row of `logits` against a target distribution spread uniformly over
 * `positives` (1 where j is a positive of anchor i), averaged over the rows where `rowMask` is 1.
 * Columns where `colMask` is 0 are removed from the softmax. Zero when no row is valid.
 */
function maskedInfoNce(logits: tf.Tensor2D, positives: tf.Tensor2D, rowMask: tf.Tensor1D, colMask: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const colBias = tf.mul(tf.sub(1, tf.reshape(colMask, [1, -1])), EXCLUDED);
    const logProbs = tf.logSoftmax(tf.add(logits, colBias));
    const pos = tf.mul(positives, tf.reshape(colMask, [1, -1]));
    const posCount = tf.maximum(tf.sum(pos, 1), 1);
    // Select (never multiply) so that the huge negative log-probabilities of excluded columns
    // cannot leak in as 0 · (−1e9) rounding.
    const picked = tf.where(tf.greater(pos, 0), logProbs, tf.zerosLike(logProbs));
    const perRow = tf.neg(tf.div(tf.sum(picked, 1), posCount));
    const rows = tf.sum(rowMask);
    const loss = tf.div(tf.sum(tf.mul(perRow, rowMask)), tf.maximum(rows, 1));
    // ≥ 0 exactly (guards −0 and float rounding below zero) while keeping NaN: tf.relu would not,
    // as tfjs-backend-wasm's Relu maps a NaN with the sign bit set to 0 and would hide divergence.
    return tf.maximum(loss, 0) as tf.Scalar;
  });
}

/**
 * Symmetric InfoNCE between two batches of embeddings (CLIP's loss):
 * logits_ij = s · cos(a_i, b_j); loss = ½ [CE(logits, positives) + CE(logitsᵀ, positives)].
 *
 * Numerically stable (log-softmax), finite for batch size 1 (loss 0) and when every sample is
 * masked (loss 0), never negative. With `labels`, all included samples sharing a label are
 * positives (supervised contrastive, useful for small cohorts).
 *
 * @param a - `[batch, dim]`.
 * @param b - `[batch, dim]` (the i-th row of `b` is paired with the i-th row of `a`).
 * @returns loss and both logit matrices; the caller owns them.
 * @throws {@link ShapeError} naming `a` or `b` (not rank 2, or `b` not of `a`'s shape), `mask` or
 *   `labels` (not `[batch]`).
 * @throws {@link InvalidArgumentError} naming `temperature` (given with `logitScale`, or not a
 *   finite number > 0), `logitScale` (a number that is not > 0) or `mask` (a dtype other than
 *   bool, float32 and int32, or, with {@link setValidateMasks} on, a value other than 0 and 1).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { contrastiveLoss } from 'vdafm';
 *
 * const image = tf.randomNormal([8, 32]);
 * const text = tf.add(image, tf.randomNormal([8, 32], 0, 0.1)); // well aligned
 * const { loss } = contrastiveLoss(image, text, { temperature: 0.1 });
 * console.log(loss.dataSync()[0] < Math.log(8)); // true: better than chance
 * ```
 */
export function contrastiveLoss(a: tf.Tensor2D, b: tf.Tensor2D, options: ContrastiveLossOptions = {}): ContrastiveLossResult {
  checkPair(a, b, 'a', 'b');
  if (options.temperature !== undefined && options.logitScale !== undefined) {
    throw new InvalidArgumentError({
      argument: 'temperature',
      message: 'Give either temperature or logitScale, not both.',
      received: options.temperature,
    });
  }
  if (options.temperature !== undefined) assertPositiveNumber(options.temperature, 'temperature');
  if (typeof options.logitScale === 'number') assertPositiveNumber(options.logitScale, 'logitScale');
  const batch = a.shape[0];
  checkBatchVector(options.mask, 'mask', batch);
  checkBatchVector(options.labels, 'labels', batch);
  return tf.tidy(() => {
    // excluded samples selected to zero first: their values reach no logit and no gradient
    const mask = options.mask ? readMask(options.mask, 'mask') : null;
    const ca = mask ? zeroPadded(a, mask) : a;
    const cb = mask ? zeroPadded(b, mask) : b;
    const na = options.normalize === false ? ca : l2Normalize(ca);
    const nb = options.normalize === false ? cb : l2Normalize(cb);
    const scale = options.logitScale ?? 1 / (options.temperature ?? 0.07);
    const logitsAB = tf.mul(matMul(na as tf.Tensor2D, tf.transpose(nb) as tf.Tensor2D), scale) as tf.Tensor2D;
    const logitsBA = tf.transpose(logitsAB) as tf.Tensor2D;
    const loss = symmetricInfoNce(logitsAB, {
      ...(mask ? { mask: mask as tf.Tensor1D } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
    });
    return { loss, logitsAB, logitsBA };
  });
}

/**
 * Symmetric InfoNCE on a square logit matrix (rows = modality A, columns = modality B):
 * ½ [CE(logits, positives) + CE(logitsᵀ, positivesᵀ)], positives = the diagonal, or equal
 * labels. Samples with `mask` 0 (bool or 0/1, read as included where > 0.5) are excluded as
 * anchors and as negatives. ≥ 0; 0 when no sample
 * is included.
 *
 * @param logits - `[batch, batch]`.
 * @returns scalar loss; the caller owns it.
 * @throws {@link ShapeError} naming `logits` (not square, rank 2), `mask` or `labels` (not
 *   `[batch]`).
 * @throws {@link InvalidArgumentError} naming `mask` for a dtype other than bool, float32 and
 *   int32 (or, with {@link setValidateMasks} on, a value other than 0 and 1).
 * @example
 * ```ts
 * const loss = symmetricInfoNce(tf.tensor2d([[5, 0], [0, 5]])); // small: the diagonal wins
 * ```
 */
export function symmetricInfoNce(logits: tf.Tensor2D, options: { mask?: tf.Tensor1D; labels?: tf.Tensor1D } = {}): tf.Scalar {
  assertRank(logits, 2, 'logits', '[batch, batch]');
  const batch = logits.shape[0];
  if (logits.shape[1] !== batch) throw new ShapeError({ argument: 'logits', expected: `[${batch}, ${batch}]`, received: logits.shape });
  checkBatchVector(options.mask, 'mask', batch);
  checkBatchVector(options.labels, 'labels', batch);
  return tf.tidy(() => {
    const mask = options.mask ? (readMask(options.mask, 'mask') as tf.Tensor1D) : (tf.ones([batch]) as tf.Tensor1D);
    // logits of excluded samples selected to zero: a NaN there reaches neither the loss nor a gradient
    const included = () => tf.cast(tf.mul(tf.reshape(mask, [-1, 1]), tf.reshape(mask, [1, -1])), 'bool');
    const clean = options.mask ? (tf.where(included(), logits, tf.zerosLike(logits)) as tf.Tensor2D) : logits;
    const positives = options.labels
      ? (tf.cast(tf.equal(tf.reshape(options.labels, [-1, 1]), tf.reshape(options.labels, [1, -1])), 'float32') as tf.Tensor2D)
      : (tf.eye(batch) as tf.Tensor2D);
    return tf.div(
      tf.add(maskedInfoNce(clean, positives, mask, mask), maskedInfoNce(tf.transpose(clean) as tf.Tensor2D, tf.transpose(positives) as tf.Tensor2D, mask, mask)),
      2,
    ) as tf.Scalar;
  });
}

/** Constructor arguments of {@link LogitScale}. */
export interface LogitScaleArgs extends BaseLayerArgs {
  /**
   * Initial temperature τ0 (the scale starts at 1/τ0).
   * @defaultValue 0.07
   */
  initialTemperature?: number;
  /** Smallest scale. @defaultValue 1 */
  min?: number;
  /** Largest scale. @defaultValue 100 */
  max?: number;
}

let logitScaleCount = 0;

/**
 * The learnable logit scale of a contrastive loss (CLIP): a variable s holding log(1/τ), used as
 * `exp(clamp(s, log min, log max))`, initialised at 1/0.07 and clamped to [1, 100]. Owns its
 * variable: call {@link LogitScale.dispose} when done.
 *
 * @throws {@link InvalidArgumentError} from the constructor naming `initialTemperature`, `min` or
 *   `max` (not a finite number > 0), or `max` below `min`.
 * @example
 * ```ts
 * const scale = new LogitScale();
 * const { loss } = contrastiveLoss(image, text, { logitScale: scale.value() });
 * scale.variable; // include it in the optimizer's variable list
 * ```
 */
export class LogitScale {
  /** The underlying variable, log(scale), `[]`. */
  readonly variable: tf.Variable<tf.Rank.R0>;
  readonly min: number;
  readonly max: number;
  readonly initialTemperature: number;

  constructor(args: LogitScaleArgs = {}) {
    const t0 = args.initialTemperature ?? 0.07;
    const min = args.min ?? 1;
    const max = args.max ?? 100;
    assertPositiveNumber(t0, 'initialTemperature');
    assertPositiveNumber(min, 'min');
    assertPositiveNumber(max, 'max');
    if (max < min) {
      throw new InvalidArgumentError({ argument: 'max', message: `max must be ≥ min (${min}).`, received: max });
    }
    this.min = min;
    this.max = max;
    this.initialTemperature = t0;
    const name = args.name ?? `vdafm_logit_scale_${++logitScaleCount}`;
    this.variable = variableFrom(tf.scalar(Math.log(1 / t0)), args.trainable ?? true, name);
  }

  /**
   * The clamped scale `exp(clamp(s, log min, log max))` as a differentiable scalar; the caller owns it.
   */
  value(): tf.Scalar {
    return tf.tidy(() => tf.exp(tf.clipByValue(this.variable, Math.log(this.min), Math.log(this.max))) as tf.Scalar);
  }

  /** The current temperature 1/scale as a number (reads the variable: not for hot loops). */
  temperature(): number {
    const s = this.value();
    const t = 1 / s.dataSync()[0]!;
    s.dispose();
    return t;
  }

  /** JSON-safe state (the configuration and the current log-scale). */
  toJSON(): { initialTemperature: number; min: number; max: number; logScale: number } {
    return { initialTemperature: this.initialTemperature, min: this.min, max: this.max, logScale: this.variable.dataSync()[0]! };
  }

  /**
   * Rebuilds a scale saved with {@link LogitScale.toJSON}.
   *
   * @throws {@link InvalidArgumentError} as the constructor, for a saved `initialTemperature`,
   *   `min` or `max` it refuses.
   */
  static fromJSON(json: { initialTemperature: number; min: number; max: number; logScale: number }): LogitScale {
    const s = new LogitScale({ initialTemperature: json.initialTemperature, min: json.min, max: json.max });
    s.variable.assign(tf.scalar(json.logScale));
    return s;
  }

  /** Disposes the variable. */
  dispose(): void {
    this.variable.dispose();
  }
}
