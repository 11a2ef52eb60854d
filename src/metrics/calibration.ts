/**
 * Calibration of predicted probabilities: the Brier score, the reliability (calibration) curve
 * over equal-width bins and the expected calibration error (ECE). Scores must be probabilities
 * in [0, 1].
 *
 * @packageDocumentation
 */
import { assertPositiveInt } from '../core/validate.js';
import { checkOptions, toBinaryLabels, toScores } from './validate.js';

/** @internal */
export function brierUnchecked(labels: Uint8Array, scores: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = labels[i]! - scores[i]!;
    sum += d * d;
  }
  return sum / labels.length;
}

/**
 * Brier score: the mean squared error of probabilities, `(1/n) Σ (yᵢ − pᵢ)²`. 0 is perfect,
 * 0.25 is what always predicting 0.5 scores. Equals scikit-learn's `brier_score_loss`.
 *
 * @param labels - 0/1 labels, length n (one class is fine).
 * @param scores - probabilities in [0, 1], length n.
 * @returns the score in [0, 1].
 * @throws {@link InvalidArgumentError} naming `labels` (not 0/1, empty) or `scores` (NaN,
 * outside [0, 1]).
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * brierScore([0, 1, 1], [0.1, 0.9, 0.6]); // (0.01 + 0.01 + 0.16) / 3 = 0.06
 * ```
 */
export function brierScore(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const y = toBinaryLabels(labels);
  return brierUnchecked(y, toScores(scores, y.length, { probabilities: true }));
}

/** Options of {@link calibrationCurve} and {@link expectedCalibrationError}. */
export interface CalibrationOptions {
  /** Number M of equal-width bins over [0, 1]. @defaultValue 10 */
  numBins?: number;
}

/** Reliability-curve points: one entry per non-empty bin, in increasing bin order. */
export interface CalibrationCurve {
  /** Number M of equal-width bins. */
  numBins: number;
  /** Index b (0 ≤ b < M) of each non-empty bin. */
  binIndex: Int32Array;
  /** Lower edge b/M of each bin. */
  binLower: Float64Array;
  /** Upper edge (b+1)/M of each bin. */
  binUpper: Float64Array;
  /** Number of samples in each bin. */
  count: Int32Array;
  /** Mean predicted probability in each bin (the x of a reliability diagram). */
  meanPredicted: Float64Array;
  /** Observed fraction of positives in each bin (the y of a reliability diagram). */
  fractionPositive: Float64Array;
  /** Expected calibration error over these bins (see {@link expectedCalibrationError}). */
  ece: number;
}

function readBins(options: unknown): number {
  const opts = checkOptions(options);
  const m = opts.numBins ?? 10;
  assertPositiveInt(m, 'options.numBins');
  return m;
}

/** @internal */
export function calibrationUnchecked(labels: Uint8Array, scores: Float64Array, numBins: number): CalibrationCurve {
  const n = labels.length;
  const counts = new Float64Array(numBins);
  const sumP = new Float64Array(numBins);
  const sumY = new Float64Array(numBins);
  for (let i = 0; i < n; i++) {
    const p = scores[i]!;
    const b = Math.min(Math.floor(p * numBins), numBins - 1);
    counts[b]! += 1;
    sumP[b]! += p;
    sumY[b]! += labels[i]!;
  }
  const bins: number[] = [];
  for (let b = 0; b < numBins; b++) if (counts[b]! > 0) bins.push(b);
  const k = bins.length;
  const curve: CalibrationCurve = {
    numBins,
    binIndex: Int32Array.from(bins),
    binLower: new Float64Array(k),
    binUpper: new Float64Array(k),
    count: new Int32Array(k),
    meanPredicted: new Float64Array(k),
    fractionPositive: new Float64Array(k),
    ece: 0,
  };
  let ece = 0;
  bins.forEach((b, j) => {
    const c = counts[b]!;
    curve.binLower[j] = b / numBins;
    curve.binUpper[j] = (b + 1) / numBins;
    curve.count[j] = c;
    curve.meanPredicted[j] = sumP[b]! / c;
    curve.fractionPositive[j] = sumY[b]! / c;
    ece += (c / n) * Math.abs(curve.fractionPositive[j]! - curve.meanPredicted[j]!);
  });
  curve.ece = ece;
  return curve;
}

/**
 * Reliability (calibration) curve points for plotting: the mean predicted probability and the
 * observed fraction of positives in each non-empty equal-width bin.
 *
 * Binning: M bins over [0, 1]; a probability p goes to bin `b = min(⌊p·M⌋, M − 1)`, i.e. bins
 * are `[b/M, (b+1)/M)` with the last one closed at 1. This matches scikit-learn's
 * `calibration_curve(strategy='uniform')` except for a probability lying exactly on an inner bin
 * edge (scikit-learn 1.2 puts it in the lower bin, with edges stretched by 1e-8).
 *
 * @param labels - 0/1 labels, length n.
 * @param scores - probabilities in [0, 1], length n.
 * @param options - {@link CalibrationOptions}.
 * @throws {@link InvalidArgumentError} naming `labels`, `scores` or `options.numBins`.
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * const c = calibrationCurve([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.6], { numBins: 2 });
 * c.meanPredicted;    // [0.125, 0.7]
 * c.fractionPositive; // [0, 1]
 * ```
 */
export function calibrationCurve(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options?: CalibrationOptions,
): CalibrationCurve {
  const m = readBins(options);
  const y = toBinaryLabels(labels);
  return calibrationUnchecked(y, toScores(scores, y.length, { probabilities: true }), m);
}

/**
 * Expected calibration error over M equal-width bins:
 * `ECE = Σ_b (n_b / n) · |ȳ_b − p̄_b|`, where `n_b` is the number of samples in bin b, `ȳ_b` the
 * fraction of positives and `p̄_b` the mean predicted probability there (empty bins contribute
 * 0). Bins as in {@link calibrationCurve}. This is the binary, positive-class form (the
 * probability itself is binned, not the max-class confidence). 0 is perfectly calibrated.
 *
 * @param labels - 0/1 labels, length n.
 * @param scores - probabilities in [0, 1], length n.
 * @param options - {@link CalibrationOptions}.
 * @throws {@link InvalidArgumentError} naming `labels`, `scores` or `options.numBins`.
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * expectedCalibrationError([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.6], { numBins: 2 });
 * // 0.5·|0 − 0.125| + 0.5·|1 − 0.7| = 0.2125
 * ```
 */
export function expectedCalibrationError(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options?: CalibrationOptions,
): number {
  return calibrationCurve(labels, scores, options).ece;
}
