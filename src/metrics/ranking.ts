/**
 * Ranking metrics of a binary classifier's scores: ROC-AUC (exact, Mann–Whitney with mid-ranks),
 * the ROC curve, average precision (AUPRC) and the precision–recall curve, and the Youden
 * threshold. Scores may be any finite numbers (probabilities, logits, risk scores): only their
 * order matters.
 *
 * @packageDocumentation
 */
import { assertBothClasses, checkOptions, countPositives, toBinaryLabels, toScores } from './validate.js';
import { InvalidArgumentError } from '../errors.js';
import { assertBoolean } from '../core/validate.js';

/**
 * Cumulative true and false positive counts at each distinct score, from the highest score down
 * (a sample counts as positive when its score is ≥ the threshold). @internal
 */
interface CumulativeCounts {
  thresholds: Float64Array;
  tps: Float64Array;
  fps: Float64Array;
}

/** Scores of one class sorted in decreasing order (native typed-array sort). */
function sortedClassScores(labels: Uint8Array, scores: Float64Array, cls: 0 | 1): Float64Array {
  let count = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === cls) count++;
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === cls) out[k++] = scores[i]!;
  return out.sort().reverse();
}

/** @internal */
function cumulativeCounts(labels: Uint8Array, scores: Float64Array): CumulativeCounts {
  // merge the positives' and the negatives' scores, both sorted decreasingly, one distinct value at a time
  const pos = sortedClassScores(labels, scores, 1);
  const neg = sortedClassScores(labels, scores, 0);
  const thresholds: number[] = [];
  const tps: number[] = [];
  const fps: number[] = [];
  let i = 0;
  let j = 0;
  while (i < pos.length || j < neg.length) {
    const v = i < pos.length && (j >= neg.length || pos[i]! >= neg[j]!) ? pos[i]! : neg[j]!;
    while (i < pos.length && pos[i] === v) i++;
    while (j < neg.length && neg[j] === v) j++;
    thresholds.push(v);
    tps.push(i);
    fps.push(j);
  }
  return { thresholds: Float64Array.from(thresholds), tps: Float64Array.from(tps), fps: Float64Array.from(fps) };
}

/** ROC-AUC of validated inputs that contain both classes. @internal */
export function rocAucUnchecked(labels: Uint8Array, scores: Float64Array): number {
  const n = labels.length;
  const sorted = Float64Array.from(scores).sort();
  let rankSumPositives = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 1) continue;
    const v = scores[i]!;
    // the tied block of v spans sorted positions lo..hi-1, sharing the 1-based mid-rank (lo + 1 + hi) / 2
    const lo = lowerBound(sorted, v);
    const hi = upperBound(sorted, v, lo);
    rankSumPositives += (lo + 1 + hi) / 2;
    positives++;
  }
  const negatives = n - positives;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** First index of `sorted` (increasing) whose value is not < v. */
function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index of `sorted` (increasing), from `from`, whose value is > v. */
function upperBound(sorted: Float64Array, v: number, from: number): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Area under the ROC curve, computed exactly as the Mann–Whitney U statistic with mid-ranks:
 * the probability that a random positive scores higher than a random negative, ties counting ½.
 *
 * `AUC = (R₊ − n₊(n₊+1)/2) / (n₊·n₋)` where `R₊` is the sum of the positives' mid-ranks
 * (tied scores share the average of their ranks). Equals scikit-learn's `roc_auc_score`.
 *
 * @param labels - 0/1 labels, length n.
 * @param scores - any finite numbers, length n (higher means more likely positive).
 * @returns AUC in [0, 1].
 * @throws {@link InvalidArgumentError} naming `labels` when they are not 0/1, are empty or hold a
 * single class (AUC needs at least one positive and one negative: vdafm throws rather than
 * returning NaN, so that an undefined AUC cannot be averaged silently); naming `scores` for a
 * NaN or infinite score.
 * @throws {@link ShapeError} naming `scores` when its length differs from `labels`.
 * @example
 * ```ts
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * rocAuc([0, 1], [0.5, 0.5]);                   // 0.5 (a tie counts ½)
 * ```
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const y = toBinaryLabels(labels);
  const s = toScores(scores, y.length);
  assertBothClasses(y, 'ROC-AUC');
  return rocAucUnchecked(y, s);
}

/** Points of a ROC curve, ordered by decreasing threshold. */
export interface RocCurve {
  /** False positive rate `FP / n₋` at each threshold, starting at 0. */
  fpr: Float64Array;
  /** True positive rate (sensitivity) `TP / n₊` at each threshold, starting at 0. */
  tpr: Float64Array;
  /**
   * Decision thresholds (a sample is positive when `score ≥ threshold`), decreasing; the first
   * is `+Infinity` (nothing predicted positive). scikit-learn 1.2 writes `max(score) + 1` there.
   */
  thresholds: Float64Array;
}

/** Options of {@link rocCurve}. */
export interface RocCurveOptions {
  /**
   * Drop points that lie on a straight line between their neighbours (scikit-learn's
   * `drop_intermediate`): the curve's shape and area are unchanged, it just has fewer points.
   * @defaultValue true
   */
  dropIntermediate?: boolean;
}

/**
 * ROC curve points for plotting: false and true positive rates at every distinct score used as a
 * threshold, from `+Infinity` (point (0, 0)) down to the lowest score (point (1, 1)).
 *
 * Matches scikit-learn's `roc_curve` (except the first threshold, see {@link RocCurve}).
 *
 * @param labels - 0/1 labels, length n.
 * @param scores - finite scores, length n.
 * @throws {@link InvalidArgumentError} as {@link rocAuc} (single class, bad labels or scores),
 * or naming `options.dropIntermediate` when it is not a boolean.
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * const { fpr, tpr, thresholds } = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], thresholds [Infinity, 0.8, 0.4, 0.35, 0.1]
 * ```
 */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, options?: RocCurveOptions): RocCurve {
  const opts = checkOptions(options);
  const drop = opts.dropIntermediate ?? true;
  assertBoolean(drop, 'options.dropIntermediate');
  const y = toBinaryLabels(labels);
  const s = toScores(scores, y.length);
  assertBothClasses(y, 'The ROC curve');
  return rocCurveUnchecked(y, s, drop);
}

/** @internal */
export function rocCurveUnchecked(labels: Uint8Array, scores: Float64Array, dropIntermediate: boolean): RocCurve {
  const { thresholds, tps, fps } = cumulativeCounts(labels, scores);
  let keep: number[];
  const m = tps.length;
  if (dropIntermediate && m > 2) {
    keep = [0];
    for (let i = 1; i < m - 1; i++) {
      const d2f = fps[i + 1]! - 2 * fps[i]! + fps[i - 1]!;
      const d2t = tps[i + 1]! - 2 * tps[i]! + tps[i - 1]!;
      if (d2f !== 0 || d2t !== 0) keep.push(i);
    }
    keep.push(m - 1);
  } else {
    keep = Array.from({ length: m }, (_, i) => i);
  }
  const p = tps[m - 1]!;
  const nNeg = fps[m - 1]!;
  const fpr = new Float64Array(keep.length + 1);
  const tpr = new Float64Array(keep.length + 1);
  const thr = new Float64Array(keep.length + 1);
  thr[0] = Number.POSITIVE_INFINITY;
  keep.forEach((i, k) => {
    fpr[k + 1] = fps[i]! / nNeg;
    tpr[k + 1] = tps[i]! / p;
    thr[k + 1] = thresholds[i]!;
  });
  return { fpr, tpr, thresholds: thr };
}

/** Points of a precision–recall curve, ordered by decreasing threshold. */
export interface PrecisionRecallCurve {
  /** Precision `TP / (TP + FP)`; the first point is 1 by convention. */
  precision: Float64Array;
  /** Recall `TP / n₊`; the first point is 0. */
  recall: Float64Array;
  /** Thresholds (`score ≥ threshold` is positive), decreasing; the first is `+Infinity`. */
  thresholds: Float64Array;
}

/**
 * Precision–recall curve points for plotting, at every distinct score, ordered by decreasing
 * threshold and starting at (recall 0, precision 1). This is scikit-learn's
 * `precision_recall_curve` in reverse order.
 *
 * @param labels - 0/1 labels with at least one positive, length n.
 * @param scores - finite scores, length n.
 * @throws {@link InvalidArgumentError} naming `labels` when there is no positive (recall is
 * undefined), or for bad labels/scores as {@link rocAuc}.
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * const pr = precisionRecallCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // recall [0, 0.5, 0.5, 1, 1], precision [1, 1, 0.5, 2/3, 0.5]
 * ```
 */
export function precisionRecallCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): PrecisionRecallCurve {
  const y = toBinaryLabels(labels);
  const s = toScores(scores, y.length);
  assertHasPositive(y, 'The precision-recall curve');
  const { thresholds, tps, fps } = cumulativeCounts(y, s);
  const m = tps.length;
  const p = tps[m - 1]!;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const thr = new Float64Array(m + 1);
  precision[0] = 1;
  thr[0] = Number.POSITIVE_INFINITY;
  for (let i = 0; i < m; i++) {
    precision[i + 1] = tps[i]! / (tps[i]! + fps[i]!);
    recall[i + 1] = tps[i]! / p;
    thr[i + 1] = thresholds[i]!;
  }
  return { precision, recall, thresholds: thr };
}

function assertHasPositive(labels: Uint8Array, metric: string): void {
  if (countPositives(labels) === 0) {
    throw new InvalidArgumentError({
      argument: 'labels',
      message: `${metric} is undefined when labels contain no positive (recall divides by the number of positives).`,
      received: `0 positives, ${labels.length} negatives`,
      fix: 'Evaluate on a sample with at least one positive (use a stratified split).',
    });
  }
}

/** Average precision of validated inputs with at least one positive. @internal */
export function averagePrecisionUnchecked(labels: Uint8Array, scores: Float64Array): number {
  const { tps, fps } = cumulativeCounts(labels, scores);
  const m = tps.length;
  const p = tps[m - 1]!;
  let ap = 0;
  let previousRecall = 0;
  for (let i = 0; i < m; i++) {
    const recall = tps[i]! / p;
    ap += (recall - previousRecall) * (tps[i]! / (tps[i]! + fps[i]!));
    previousRecall = recall;
  }
  return ap;
}

/**
 * Average precision (AUPRC), as scikit-learn's `average_precision_score` defines it:
 * `AP = Σₖ (Rₖ − Rₖ₋₁) · Pₖ`, summed over the distinct scores taken as thresholds from the
 * highest down, with `Pₖ`/`Rₖ` the precision and recall when every sample scoring ≥ the k-th
 * threshold is called positive and `R₀ = 0`. It is a step-wise (not trapezoidal, hence not
 * optimistic) area under the precision–recall curve; tied scores enter as one step. A random
 * ranking scores about the prevalence.
 *
 * @param labels - 0/1 labels with at least one positive, length n.
 * @param scores - finite scores, length n.
 * @returns AP in [0, 1].
 * @throws {@link InvalidArgumentError} naming `labels` when there is no positive (scikit-learn
 * warns and returns 0; vdafm throws), or for bad labels/scores as {@link rocAuc}. All-positive
 * labels are allowed (AP = 1).
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.8333… = 0.5·1 + 0.5·(2/3)
 * ```
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const y = toBinaryLabels(labels);
  const s = toScores(scores, y.length);
  assertHasPositive(y, 'Average precision');
  return averagePrecisionUnchecked(y, s);
}

/** The operating point that maximises Youden's J. */
export interface YoudenResult {
  /** The threshold (an observed score; `score ≥ threshold` is positive). */
  threshold: number;
  /** Youden's J = sensitivity + specificity − 1 = TPR − FPR at that threshold. */
  j: number;
  /** Sensitivity (TPR) at the threshold. */
  sensitivity: number;
  /** Specificity (1 − FPR) at the threshold. */
  specificity: number;
}

/** @internal */
export function youdenUnchecked(labels: Uint8Array, scores: Float64Array): YoudenResult {
  const { thresholds, tps, fps } = cumulativeCounts(labels, scores);
  const m = tps.length;
  const p = tps[m - 1]!;
  const nNeg = fps[m - 1]!;
  let best = 0;
  let bestJ = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < m; i++) {
    const j = tps[i]! / p - fps[i]! / nNeg;
    if (j > bestJ) {
      bestJ = j;
      best = i;
    }
  }
  return {
    threshold: thresholds[best]!,
    j: bestJ,
    sensitivity: tps[best]! / p,
    specificity: 1 - fps[best]! / nNeg,
  };
}

/**
 * Selects the decision threshold that maximises Youden's J = TPR − FPR over every observed score
 * (a sample is positive when `score ≥ threshold`). Among equal J the highest threshold wins (the
 * first maximum of scikit-learn's `roc_curve` order). The threshold is always an observed score,
 * never the curve's `+Infinity` start, so a useless classifier (J ≤ 0 everywhere) still gets a real
 * score as threshold rather than "predict nothing" (for constant scores, that score).
 *
 * @param labels - 0/1 labels with both classes, length n.
 * @param scores - finite scores, length n.
 * @throws {@link InvalidArgumentError} / {@link ShapeError} as {@link rocAuc}.
 * @example
 * ```ts
 * youdenThreshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
 * // { threshold: 0.8, j: 0.5, sensitivity: 0.5, specificity: 1 } (0.35 ties at J = 0.5; the higher wins)
 * ```
 */
export function youdenThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>): YoudenResult {
  const y = toBinaryLabels(labels);
  const s = toScores(scores, y.length);
  assertBothClasses(y, "Youden's J");
  return youdenUnchecked(y, s);
}
