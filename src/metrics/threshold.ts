/**
 * Metrics of a binary classifier at a decision threshold: the confusion matrix and the rates
 * derived from it. A sample is predicted positive when `score ≥ threshold` (the convention of
 * ROC curves, so that the Youden threshold reproduces its ROC point).
 *
 * Rates whose denominator is zero are `NaN` (scikit-learn returns 0 with an
 * `UndefinedMetricWarning`): e.g. precision when nothing is predicted positive, sensitivity when
 * there is no positive.
 *
 * @packageDocumentation
 */
import { checkOptions, checkThreshold, toBinaryLabels, toScores } from './validate.js';

/** Options of the threshold metrics. */
export interface ThresholdOptions {
  /** Decision threshold: a sample is predicted positive when `score ≥ threshold`. @defaultValue 0.5 */
  threshold?: number;
}

/** A binary confusion matrix at a threshold. */
export interface ConfusionMatrix {
  /** The threshold used (`score ≥ threshold` is positive). */
  threshold: number;
  /** True positives. */
  tp: number;
  /** False positives. */
  fp: number;
  /** True negatives. */
  tn: number;
  /** False negatives. */
  fn: number;
}

/** Every threshold metric at one threshold, with the confusion matrix it came from. */
export interface ThresholdMetrics {
  /** The threshold used (`score ≥ threshold` is positive). */
  threshold: number;
  /** The confusion matrix. */
  confusion: ConfusionMatrix;
  /** (TP + TN) / n. */
  accuracy: number;
  /** (sensitivity + specificity) / 2; NaN when either is. */
  balancedAccuracy: number;
  /** Sensitivity (recall, TPR) TP / (TP + FN); NaN without positives. */
  sensitivity: number;
  /** Specificity (TNR) TN / (TN + FP); NaN without negatives. */
  specificity: number;
  /** Precision (PPV) TP / (TP + FP); NaN when nothing is predicted positive. */
  precision: number;
  /** Negative predictive value TN / (TN + FN); NaN when nothing is predicted negative. */
  npv: number;
  /** F1 = 2TP / (2TP + FP + FN) (harmonic mean of precision and sensitivity); NaN when the denominator is 0. */
  f1: number;
}

function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

function readThreshold(options: unknown): number {
  const opts = checkOptions(options);
  return opts.threshold === undefined ? 0.5 : checkThreshold(opts.threshold, 'options.threshold');
}

/** @internal */
export function confusionUnchecked(labels: Uint8Array, scores: Float64Array, threshold: number): ConfusionMatrix {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const positive = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (positive) tp++;
      else fn++;
    } else if (positive) fp++;
    else tn++;
  }
  return { threshold, tp, fp, tn, fn };
}

/**
 * Derives every threshold metric from a confusion matrix.
 *
 * @example
 * ```ts
 * metricsFromConfusion({ threshold: 0.5, tp: 3, fp: 1, tn: 4, fn: 2 }).f1; // 6 / 9
 * ```
 */
export function metricsFromConfusion(confusion: ConfusionMatrix): ThresholdMetrics {
  const { tp, fp, tn, fn } = confusion;
  const sensitivity = ratio(tp, tp + fn);
  const specificity = ratio(tn, tn + fp);
  return {
    threshold: confusion.threshold,
    confusion: { ...confusion },
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
    balancedAccuracy: (sensitivity + specificity) / 2,
    sensitivity,
    specificity,
    precision: ratio(tp, tp + fp),
    npv: ratio(tn, tn + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
  };
}

/**
 * The confusion matrix at a threshold (`score ≥ threshold` is predicted positive).
 *
 * @param labels - 0/1 labels, length n.
 * @param scores - finite scores, length n.
 * @param options - {@link ThresholdOptions}.
 * @throws {@link InvalidArgumentError} naming `labels`, `scores` or `options.threshold`.
 * @throws {@link ShapeError} naming `scores` when its length differs from `labels`.
 * @example
 * ```ts
 * confusionMatrix([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5]);
 * // { threshold: 0.5, tp: 1, fp: 1, tn: 1, fn: 1 }
 * ```
 */
export function confusionMatrix(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options?: ThresholdOptions,
): ConfusionMatrix {
  const threshold = readThreshold(options);
  const y = toBinaryLabels(labels);
  return confusionUnchecked(y, toScores(scores, y.length), threshold);
}

/**
 * Every threshold metric (accuracy, balanced accuracy, sensitivity, specificity, precision, NPV,
 * F1) at one threshold, in one pass.
 *
 * @param labels - 0/1 labels, length n.
 * @param scores - finite scores, length n.
 * @param options - {@link ThresholdOptions}.
 * @throws {@link InvalidArgumentError} naming `labels`, `scores` or `options.threshold`.
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * const m = thresholdMetrics([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5], { threshold: 0.4 });
 * m.sensitivity; // 1
 * m.specificity; // 0.5
 * ```
 */
export function thresholdMetrics(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options?: ThresholdOptions,
): ThresholdMetrics {
  return metricsFromConfusion(confusionMatrix(labels, scores, options));
}

/**
 * Accuracy (TP + TN) / n at a threshold.
 *
 * @throws as {@link confusionMatrix}.
 * @example
 * ```ts
 * accuracy([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5]); // 0.5
 * ```
 */
export function accuracy(labels: ArrayLike<number>, scores: ArrayLike<number>, options?: ThresholdOptions): number {
  return thresholdMetrics(labels, scores, options).accuracy;
}

/**
 * Balanced accuracy (sensitivity + specificity) / 2 at a threshold. NaN when a class is absent
 * (scikit-learn then averages only the recall of the class present).
 *
 * @throws as {@link confusionMatrix}.
 * @example
 * ```ts
 * balancedAccuracy([0, 0, 0, 1], [0.1, 0.2, 0.6, 0.9]); // (1 + 2/3) / 2
 * ```
 */
export function balancedAccuracy(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options?: ThresholdOptions,
): number {
  return thresholdMetrics(labels, scores, options).balancedAccuracy;
}

/**
 * Sensitivity (recall, true positive rate) TP / (TP + FN) at a threshold; NaN without positives.
 *
 * @throws as {@link confusionMatrix}.
 * @example
 * ```ts
 * sensitivity([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5]); // 0.5
 * ```
 */
export function sensitivity(labels: ArrayLike<number>, scores: ArrayLike<number>, options?: ThresholdOptions): number {
  return thresholdMetrics(labels, scores, options).sensitivity;
}

/**
 * Specificity (true negative rate) TN / (TN + FP) at a threshold; NaN without negatives.
 *
 * @throws as {@link confusionMatrix}.
 * @example
 * ```ts
 * specificity([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5]); // 0.5
 * ```
 */
export function specificity(labels: ArrayLike<number>, scores: ArrayLike<number>, options?: ThresholdOptions): number {
  return thresholdMetrics(labels, scores, options).specificity;
}

/**
 * Precision (positive predictive value) TP / (TP + FP) at a threshold; NaN when nothing is
 * predicted positive.
 *
 * @throws as {@link confusionMatrix}.
 * @example
 * ```ts
 * precision([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5]); // 0.5
 * ```
 */
export function precision(labels: ArrayLike<number>, scores: ArrayLike<number>, options?: ThresholdOptions): number {
  return thresholdMetrics(labels, scores, options).precision;
}

/**
 * F1 score 2TP / (2TP + FP + FN) at a threshold (the harmonic mean of precision and
 * sensitivity, 0 when TP = 0); NaN only when there is no positive and none is predicted.
 *
 * @throws as {@link confusionMatrix}.
 * @example
 * ```ts
 * f1Score([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5]); // 0.5
 * ```
 */
export function f1Score(labels: ArrayLike<number>, scores: ArrayLike<number>, options?: ThresholdOptions): number {
  return thresholdMetrics(labels, scores, options).f1;
}
