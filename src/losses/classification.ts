/**
 * Classification losses for the prognosis head: weighted binary cross-entropy, binary focal
 * loss, softmax cross-entropy, and a cumulative-link (ordinal) loss for mRS 0–6; class weights
 * from label frequencies.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertPositiveInt } from '../core/validate.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';

function checkLogitsLabels(logits: tf.Tensor, labels: tf.Tensor, what: string): void {
  if (logits.rank !== 1 && !(logits.rank === 2 && logits.shape[1] === 1)) {
    throw new ShapeError({ argument: 'logits', expected: '[batch] or [batch, 1]', received: logits.shape, message: `${what} takes binary logits of shape [batch] or [batch, 1].` });
  }
  if (labels.size !== logits.shape[0]) {
    throw new ShapeError({ argument: 'labels', expected: `[${logits.shape[0]}]`, received: labels.shape });
  }
}

function checkSampleWeights(sampleWeights: tf.Tensor | undefined, batch: number): void {
  if (sampleWeights && (sampleWeights.rank !== 1 || sampleWeights.shape[0] !== batch)) {
    throw new ShapeError({ argument: 'sampleWeights', expected: `[${batch}]`, received: sampleWeights.shape });
  }
}

function checkWeights(weights: ReadonlyArray<number> | undefined, n: number, argument: string): void {
  if (!weights) return;
  if (weights.length !== n || weights.some((w) => typeof w !== 'number' || !Number.isFinite(w) || w < 0)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must hold ${n} finite numbers ≥ 0.`, received: weights });
  }
}

/** Options of {@link binaryCrossEntropy}. */
export interface BinaryLossOptions {
  /**
   * Weights of class 0 and class 1 (e.g. from {@link classWeightsFromLabels}).
   * @defaultValue [1, 1]
   */
  classWeights?: [number, number];
  /** `[batch]` per-sample weights (e.g. 0 to drop a sample). @defaultValue all 1 */
  sampleWeights?: tf.Tensor1D;
}

/**
 * Weighted binary cross-entropy on logits, computed stably as
 * `max(z, 0) − z·y + log(1 + exp(−|z|))`, averaged with weights `w_y · sampleWeight`
 * (normalised by the sum of the weights).
 *
 * @param logits - `[batch]` or `[batch, 1]` raw scores.
 * @param labels - `[batch]` of 0/1.
 * @returns scalar loss, ≥ 0; the caller owns it.
 * @throws {@link ShapeError} naming `logits` (not `[batch]` or `[batch, 1]`), `labels` (not
 *   `batch` values) or `sampleWeights` (not `[batch]`).
 * @throws {@link InvalidArgumentError} (argument `classWeights`) unless it holds 2 finite numbers ≥
 *   0.
 * @example
 * ```ts
 * binaryCrossEntropy(tf.tensor1d([0]), tf.tensor1d([1])).print(); // log 2 ≈ 0.6931
 * ```
 */
export function binaryCrossEntropy(logits: tf.Tensor, labels: tf.Tensor, options: BinaryLossOptions = {}): tf.Scalar {
  checkLogitsLabels(logits, labels, 'binaryCrossEntropy');
  checkWeights(options.classWeights, 2, 'classWeights');
  checkSampleWeights(options.sampleWeights, logits.shape[0]!);
  return tf.tidy(() => {
    const z = tf.reshape(logits, [-1]);
    const y = tf.cast(tf.reshape(labels, [-1]), 'float32');
    const perSample = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    return weightedMean(perSample, y, options);
  });
}

function weightedMean(perSample: tf.Tensor, y: tf.Tensor, options: BinaryLossOptions): tf.Scalar {
  let w: tf.Tensor = tf.onesLike(perSample);
  if (options.classWeights) {
    const [w0, w1] = options.classWeights;
    w = tf.add(tf.mul(y, w1), tf.mul(tf.sub(1, y), w0));
  }
  if (options.sampleWeights) w = tf.mul(w, tf.reshape(options.sampleWeights, [-1]));
  return tf.div(tf.sum(tf.mul(perSample, w)), tf.maximum(tf.sum(w), 1e-12)) as tf.Scalar;
}

/** Options of {@link binaryFocalLoss}. */
export interface FocalLossOptions extends BinaryLossOptions {
  /** Focusing parameter γ ≥ 0 (0 gives cross-entropy). @defaultValue 2 */
  gamma?: number;
}

/**
 * Binary focal loss (Lin et al.) on logits: `(1 − p_t)^γ · CE`, with p_t the probability of the
 * true class, computed from log-sigmoids for stability; class weights act as α.
 *
 * @param logits - `[batch]` or `[batch, 1]`.
 * @param labels - `[batch]` of 0/1.
 * @returns scalar loss, ≥ 0; the caller owns it.
 * @throws {@link ShapeError} naming `logits` (not `[batch]` or `[batch, 1]`), `labels` (not
 *   `batch` values) or `sampleWeights` (not `[batch]`).
 * @throws {@link InvalidArgumentError} naming `classWeights` (not 2 finite numbers ≥ 0) or `gamma`
 *   (not a finite number ≥ 0).
 * @example
 * ```ts
 * binaryFocalLoss(tf.tensor1d([3]), tf.tensor1d([1]), { gamma: 2 }); // far below the CE of 0.049
 * ```
 */
export function binaryFocalLoss(logits: tf.Tensor, labels: tf.Tensor, options: FocalLossOptions = {}): tf.Scalar {
  checkLogitsLabels(logits, labels, 'binaryFocalLoss');
  checkWeights(options.classWeights, 2, 'classWeights');
  checkSampleWeights(options.sampleWeights, logits.shape[0]!);
  const gamma = options.gamma ?? 2;
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma < 0) {
    throw new InvalidArgumentError({ argument: 'gamma', message: 'gamma must be a finite number ≥ 0.', received: gamma });
  }
  return tf.tidy(() => {
    const z = tf.reshape(logits, [-1]);
    const y = tf.cast(tf.reshape(labels, [-1]), 'float32');
    // log p_t = log σ(z) for y = 1, log σ(−z) for y = 0; with s = (2y − 1)·z, log p_t = log σ(s)
    const s = tf.mul(tf.sub(tf.mul(y, 2), 1), z);
    const logPt = tf.neg(tf.add(tf.relu(tf.neg(s)), tf.log1p(tf.exp(tf.neg(tf.abs(s))))));
    const focal = tf.pow(tf.sub(1, tf.exp(logPt)), gamma);
    return weightedMean(tf.mul(focal, tf.neg(logPt)), y, options);
  });
}

/**
 * Softmax cross-entropy for `classes` classes, with optional class weights.
 *
 * @param logits - `[batch, classes]`.
 * @param labels - `[batch]` integer class indices.
 * @returns scalar loss; the caller owns it.
 * @throws {@link ShapeError} naming `logits` (not rank 2), `labels` (not `batch` values) or
 *   `sampleWeights` (not `[batch]`).
 * @throws {@link InvalidArgumentError} (argument `classWeights`) unless it holds one finite number
 *   ≥ 0 per class.
 * @example
 * ```ts
 * softmaxCrossEntropy(tf.zeros([1, 4]), tf.tensor1d([2], 'int32')).print(); // log 4
 * ```
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor, options: { classWeights?: number[]; sampleWeights?: tf.Tensor1D } = {}): tf.Scalar {
  if (logits.rank !== 2) throw new ShapeError({ argument: 'logits', expected: '[batch, classes]', received: logits.shape });
  if (labels.size !== logits.shape[0]) throw new ShapeError({ argument: 'labels', expected: `[${logits.shape[0]}]`, received: labels.shape });
  const k = logits.shape[1];
  checkWeights(options.classWeights, k, 'classWeights');
  checkSampleWeights(options.sampleWeights, logits.shape[0]);
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(tf.reshape(labels, [-1]), 'int32'), k);
    const perSample = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1));
    let w: tf.Tensor = options.classWeights ? tf.sum(tf.mul(oneHot, tf.tensor1d(options.classWeights)), 1) : tf.onesLike(perSample);
    if (options.sampleWeights) w = tf.mul(w, options.sampleWeights);
    return tf.div(tf.sum(tf.mul(perSample, w)), tf.maximum(tf.sum(w), 1e-12)) as tf.Scalar;
  });
}

/**
 * Cumulative-link ordinal loss (CORAL-style): `K − 1` binary tasks "label > k" on the logits
 * `[batch, K − 1]`, summed BCE, averaged over the batch. The probability of each class follows
 * from {@link ordinalProbabilities}.
 *
 * @param logits - `[batch, K − 1]`: logit of P(label > k) for k = 0..K−2.
 * @param labels - `[batch]` integer classes in [0, K).
 * @returns scalar loss; the caller owns it.
 * @throws {@link ShapeError} naming `logits` (not rank 2), `labels` (not `batch` values) or
 *   `sampleWeights` (not `[batch]`).
 * @example
 * ```ts
 * ordinalLoss(tf.tensor2d([[5, 5, -5]]), tf.tensor1d([2], 'int32')); // small: P(>0), P(>1) high, P(>2) low
 * ```
 */
export function ordinalLoss(logits: tf.Tensor2D, labels: tf.Tensor, options: { sampleWeights?: tf.Tensor1D } = {}): tf.Scalar {
  if (logits.rank !== 2) throw new ShapeError({ argument: 'logits', expected: '[batch, classes − 1]', received: logits.shape });
  if (labels.size !== logits.shape[0]) throw new ShapeError({ argument: 'labels', expected: `[${logits.shape[0]}]`, received: labels.shape });
  checkSampleWeights(options.sampleWeights, logits.shape[0]);
  return tf.tidy(() => {
    const k1 = logits.shape[1];
    const y = tf.reshape(tf.cast(labels, 'float32'), [-1, 1]);
    const thresholds = tf.reshape(tf.range(0, k1, 1, 'float32'), [1, -1]);
    const target = tf.cast(tf.greater(y, thresholds), 'float32'); // [B, K−1]
    const z = logits;
    const bce = tf.add(tf.sub(tf.relu(z), tf.mul(z, target)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    const perSample = tf.sum(bce, 1);
    const w = options.sampleWeights ?? tf.onesLike(perSample);
    return tf.div(tf.sum(tf.mul(perSample, w)), tf.maximum(tf.sum(w), 1e-12)) as tf.Scalar;
  });
}

/**
 * Class probabilities `[batch, K]` from cumulative ordinal logits `[batch, K − 1]`:
 * P(y = 0) = 1 − σ(z_0), P(y = k) = σ(z_{k−1}) − σ(z_k), P(y = K−1) = σ(z_{K−2}), with the
 * cumulative probabilities made monotone first (a running minimum), so every probability is ≥ 0.
 *
 * @throws {@link ShapeError} naming `logits` when it is not rank 2.
 * @example
 * ```ts
 * ordinalProbabilities(tf.tensor2d([[0, 0]])).print(); // [[0.5, 0, 0.5]]
 * ```
 */
export function ordinalProbabilities(logits: tf.Tensor2D): tf.Tensor2D {
  if (logits.rank !== 2) throw new ShapeError({ argument: 'logits', expected: '[batch, classes − 1]', received: logits.shape });
  return tf.tidy(() => {
    const p = tf.sigmoid(logits); // P(y > k)
    const k1 = logits.shape[1];
    const cols: tf.Tensor[] = [];
    let prev: tf.Tensor = tf.onesLike(tf.slice(p, [0, 0], [-1, 1]));
    for (let k = 0; k < k1; k++) {
      const cur = tf.minimum(tf.slice(p, [0, k], [-1, 1]), prev);
      cols.push(tf.sub(prev, cur));
      prev = cur;
    }
    cols.push(prev);
    return tf.concat(cols, 1) as tf.Tensor2D;
  });
}

/**
 * "Balanced" class weights from label frequencies: `w_c = n / (K · n_c)` (scikit-learn's
 * `class_weight='balanced'`); a class absent from the labels gets weight 0.
 *
 * @param labels - class indices (0/1 for binary).
 * @param numClasses - K. @defaultValue max(label) + 1, at least 2
 * @throws {@link InvalidArgumentError} naming `labels` (empty), `labels[i]` (not a non-negative
 *   integer, or not below `numClasses`) or `numClasses` (not a positive integer).
 * @example
 * ```ts
 * classWeightsFromLabels([0, 0, 0, 1]); // [0.667, 2]
 * ```
 */
export function classWeightsFromLabels(labels: ArrayLike<number>, numClasses?: number): number[] {
  const n = labels.length;
  if (n === 0) throw new InvalidArgumentError({ argument: 'labels', message: 'labels must not be empty.', received: [] });
  let max = 1;
  for (let i = 0; i < n; i++) {
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0) {
      throw new InvalidArgumentError({ argument: `labels[${i}]`, message: 'labels must be non-negative integers.', received: v });
    }
    max = Math.max(max, v);
  }
  const k = numClasses ?? max + 1;
  assertPositiveInt(k, 'numClasses');
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    const v = labels[i]!;
    if (v >= k) throw new InvalidArgumentError({ argument: `labels[${i}]`, message: `labels must be < numClasses (${k}).`, received: v });
    counts[v]! += 1;
  }
  return counts.map((c) => (c === 0 ? 0 : n / (k * c)));
}
