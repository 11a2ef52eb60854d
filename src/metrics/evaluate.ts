/**
 * One-call evaluation of a binary classifier's probabilities ({@link evaluateBinary}) and a
 * markdown table of several evaluations ({@link formatMetricsTable}).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import {
  averagePrecisionUnchecked,
  rocAucUnchecked,
  type RocCurve,
  rocCurveUnchecked,
  type YoudenResult,
  youdenUnchecked,
} from './ranking.js';
import { confusionUnchecked, metricsFromConfusion, type ThresholdMetrics } from './threshold.js';
import { brierUnchecked, type CalibrationCurve, calibrationUnchecked } from './calibration.js';
import {
  type BootstrapOptions,
  type BootstrapResult,
  bootstrapStatistics,
  type IndexStatistic,
  resolveBootstrapOptions,
} from './bootstrap.js';
import { assertBothClasses, checkOptions, checkThreshold, countPositives, toBinaryLabels, toScores } from './validate.js';
import { assertPositiveInt } from '../core/validate.js';

/** Options of {@link evaluateBinary}. */
export interface EvaluateBinaryOptions {
  /** Operating threshold of `atThreshold` (`score ≥ threshold` is positive). @defaultValue 0.5 */
  threshold?: number;
  /** Equal-width bins of the ECE and the calibration curve. @defaultValue 10 */
  numBins?: number;
  /**
   * Stratified bootstrap CIs of the scalar metrics: `true` for the defaults of
   * {@link BootstrapOptions}, an options object, or `false` for none.
   * @defaultValue false
   */
  bootstrap?: boolean | BootstrapOptions;
}

/** Bootstrap CIs computed by {@link evaluateBinary}, all from the same resamples. */
export interface BinaryEvaluationCis {
  /** ROC-AUC. */
  rocAuc: BootstrapResult;
  /** Average precision. */
  averagePrecision: BootstrapResult;
  /** Brier score. */
  brier: BootstrapResult;
  /** Expected calibration error. */
  ece: BootstrapResult;
  /** Sensitivity at the Youden threshold chosen on the full sample (kept fixed across resamples). */
  sensitivityAtYouden: BootstrapResult;
  /** Specificity at the Youden threshold chosen on the full sample (kept fixed across resamples). */
  specificityAtYouden: BootstrapResult;
  /** Accuracy at `options.threshold`. */
  accuracy: BootstrapResult;
  /** Balanced accuracy at `options.threshold`. */
  balancedAccuracy: BootstrapResult;
  /** Sensitivity at `options.threshold`. */
  sensitivity: BootstrapResult;
  /** Specificity at `options.threshold`. */
  specificity: BootstrapResult;
  /** F1 at `options.threshold`. */
  f1: BootstrapResult;
}

/** Everything {@link evaluateBinary} computes. */
export interface BinaryEvaluation {
  /** Number of samples. */
  n: number;
  /** Number of positives (label 1). */
  numPositive: number;
  /** Number of negatives (label 0). */
  numNegative: number;
  /** numPositive / n. */
  prevalence: number;
  /** ROC-AUC (Mann–Whitney, ties ½). */
  rocAuc: number;
  /** Average precision (AUPRC, scikit-learn's definition). */
  averagePrecision: number;
  /** Brier score. */
  brier: number;
  /** Expected calibration error over `numBins` equal-width bins. */
  ece: number;
  /** The Youden-optimal operating point. */
  youden: YoudenResult;
  /** Threshold metrics at `options.threshold`. */
  atThreshold: ThresholdMetrics;
  /** Threshold metrics at the Youden threshold. */
  atYouden: ThresholdMetrics;
  /** ROC curve points (intermediate collinear points dropped). */
  rocCurve: RocCurve;
  /** Reliability-curve points over `numBins` bins. */
  calibrationCurve: CalibrationCurve;
  /** Bootstrap CIs, or `null` when `options.bootstrap` is false. */
  ci: BinaryEvaluationCis | null;
}

/**
 * Evaluates binary probabilities in one call: ROC-AUC, AUPRC, Brier score, ECE, the Youden
 * operating point, threshold metrics at a given threshold and at Youden's, the ROC and
 * calibration curves, and optionally stratified bootstrap CIs of the scalar metrics (all from one
 * set of resamples; the Youden threshold is chosen once on the full sample and kept fixed).
 *
 * @param labels - 0/1 labels with both classes, length n.
 * @param scores - probabilities in [0, 1], length n.
 * @param options - {@link EvaluateBinaryOptions}.
 * @returns a {@link BinaryEvaluation} (plain numbers and typed arrays, JSON-friendly after
 * `Array.from` on the curves).
 * @throws {@link InvalidArgumentError} naming `labels` (not 0/1, empty, or a single class: AUC is
 * undefined, so this throws instead of returning NaN), `scores` (NaN, outside [0, 1]) or an
 * option (`options.threshold`, `options.numBins`, `options.bootstrap.*`).
 * @throws {@link ShapeError} naming `scores` on a length mismatch.
 * @example
 * ```ts
 * const ev = evaluateBinary(labels, probs, { bootstrap: { numResamples: 1000, seed: 1 } });
 * console.log(ev.rocAuc, ev.ci?.rocAuc.lower, ev.ci?.rocAuc.upper, ev.youden.threshold);
 * ```
 */
export function evaluateBinary(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options?: EvaluateBinaryOptions,
): BinaryEvaluation {
  const opts = checkOptions(options);
  const threshold = opts.threshold === undefined ? 0.5 : checkThreshold(opts.threshold, 'options.threshold');
  const numBins = opts.numBins ?? 10;
  assertPositiveInt(numBins, 'options.numBins');
  const bootstrap = opts.bootstrap ?? false;
  if (typeof bootstrap !== 'boolean' && (bootstrap === null || typeof bootstrap !== 'object')) {
    throw new InvalidArgumentError({
      argument: 'options.bootstrap',
      message: 'options.bootstrap must be a boolean or a bootstrap options object.',
      received: bootstrap,
    });
  }
  const resolved = bootstrap === false ? null : resolveBootstrapOptions(bootstrap === true ? {} : bootstrap, 'options.bootstrap');

  const y = toBinaryLabels(labels);
  const s = toScores(scores, y.length, { probabilities: true });
  assertBothClasses(y, 'ROC-AUC');
  const n = y.length;
  const numPositive = countPositives(y);
  const youden = youdenUnchecked(y, s);
  const evaluation: BinaryEvaluation = {
    n,
    numPositive,
    numNegative: n - numPositive,
    prevalence: numPositive / n,
    rocAuc: rocAucUnchecked(y, s),
    averagePrecision: averagePrecisionUnchecked(y, s),
    brier: brierUnchecked(y, s),
    ece: 0,
    youden,
    atThreshold: metricsFromConfusion(confusionUnchecked(y, s, threshold)),
    atYouden: metricsFromConfusion(confusionUnchecked(y, s, youden.threshold)),
    rocCurve: rocCurveUnchecked(y, s, true),
    calibrationCurve: calibrationUnchecked(y, s, numBins),
    ci: null,
  };
  evaluation.ece = evaluation.calibrationCurve.ece;

  if (resolved) {
    const yr = new Uint8Array(n);
    const sr = new Float64Array(n);
    const on =
      (f: (labels: Uint8Array, scores: Float64Array) => number): IndexStatistic =>
      (idx) => {
        for (let i = 0; i < n; i++) {
          yr[i] = y[idx[i]!]!;
          sr[i] = s[idx[i]!]!;
        }
        return f(yr, sr);
      };
    const at = (t: number, pick: (m: ThresholdMetrics) => number) =>
      on((l, p) => pick(metricsFromConfusion(confusionUnchecked(l, p, t))));
    evaluation.ci = bootstrapStatistics(
      y,
      {
        rocAuc: on(rocAucUnchecked),
        averagePrecision: on(averagePrecisionUnchecked),
        brier: on(brierUnchecked),
        ece: on((l, p) => calibrationUnchecked(l, p, numBins).ece),
        sensitivityAtYouden: at(youden.threshold, (m) => m.sensitivity),
        specificityAtYouden: at(youden.threshold, (m) => m.specificity),
        accuracy: at(threshold, (m) => m.accuracy),
        balancedAccuracy: at(threshold, (m) => m.balancedAccuracy),
        sensitivity: at(threshold, (m) => m.sensitivity),
        specificity: at(threshold, (m) => m.specificity),
        f1: at(threshold, (m) => m.f1),
      },
      resolved,
    );
  }
  return evaluation;
}

/** One row of {@link formatMetricsTable}. */
export interface MetricsTableRow {
  /** Row label (model or modality set); `|` is escaped. */
  name: string;
  /** The evaluation to show. */
  evaluation: BinaryEvaluation;
}

/** Options of {@link formatMetricsTable}. */
export interface MetricsTableOptions {
  /** Decimal places. @defaultValue 3 */
  digits?: number;
}

/**
 * Renders evaluations as a markdown table with columns Model, n (positives), AUC [CI], AUPRC,
 * sensitivity and specificity at the Youden threshold, Brier and ECE. The AUC column shows the
 * bootstrap interval when the evaluation has one (`AUC [95% CI]` header when every interval
 * shares that level). Undefined values print as `n/a`. Columns are padded so the raw text lines
 * up in a terminal.
 *
 * @param rows - one {@link MetricsTableRow} per model.
 * @param options - {@link MetricsTableOptions}.
 * @returns the table, lines joined by `\n`, no trailing newline.
 * @throws {@link InvalidArgumentError} naming `rows` (not an array, or a row without `name` /
 * `evaluation`) or `options.digits`.
 * @example
 * ```ts
 * console.log(formatMetricsTable([{ name: 'toy model', evaluation: evaluateBinary(labels, probs, { bootstrap: { seed: 1 } }) }]));
 * // | Model     |  n (pos) |         AUC [95% CI] | AUPRC | Sens @ Youden | Spec @ Youden | Brier |   ECE |
 * // | :-------- | -------: | -------------------: | ----: | ------------: | ------------: | ----: | ----: |
 * // | toy model | 300 (94) | 0.889 [0.850, 0.922] | 0.759 |         0.936 |         0.714 | 0.139 | 0.123 |
 * ```
 */
export function formatMetricsTable(rows: ReadonlyArray<MetricsTableRow>, options?: MetricsTableOptions): string {
  if (!Array.isArray(rows)) {
    throw new InvalidArgumentError({ argument: 'rows', message: 'rows must be an array of { name, evaluation }.', received: rows });
  }
  const opts = checkOptions(options);
  const digits = opts.digits ?? 3;
  if (typeof digits !== 'number' || !Number.isInteger(digits) || digits < 0 || digits > 15) {
    throw new InvalidArgumentError({ argument: 'options.digits', message: 'options.digits must be an integer in [0, 15].', received: digits });
  }
  rows.forEach((row: unknown, i) => {
    const r = row as Partial<MetricsTableRow> | null;
    if (!r || typeof r.name !== 'string' || !r.evaluation || typeof r.evaluation.rocAuc !== 'number') {
      throw new InvalidArgumentError({
        argument: `rows[${i}]`,
        message: `rows[${i}] must be { name: string, evaluation: BinaryEvaluation }.`,
        received: r === null ? null : typeof r,
      });
    }
  });
  const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
  const levels = new Set(rows.flatMap((r) => (r.evaluation.ci ? [r.evaluation.ci.rocAuc.confidence] : [])));
  const someWithoutCi = rows.some((r) => !r.evaluation.ci);
  const aucHeader =
    levels.size === 0
      ? 'AUC'
      : levels.size === 1 && !someWithoutCi
        ? `AUC [${+(100 * [...levels][0]!).toFixed(4)}% CI]`
        : 'AUC [CI]';
  const header = ['Model', 'n (pos)', aucHeader, 'AUPRC', 'Sens @ Youden', 'Spec @ Youden', 'Brier', 'ECE'];
  const body = rows.map(({ name, evaluation: e }) => {
    const ci = e.ci?.rocAuc;
    const auc = ci ? `${fmt(e.rocAuc)} [${fmt(ci.lower)}, ${fmt(ci.upper)}]` : fmt(e.rocAuc);
    return [
      name.replace(/\|/g, '\\|').replace(/\r?\n/g, ' '),
      `${e.n} (${e.numPositive})`,
      auc,
      fmt(e.averagePrecision),
      fmt(e.youden.sensitivity),
      fmt(e.youden.specificity),
      fmt(e.brier),
      fmt(e.ece),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, 3, ...body.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (c === 0 ? `:${'-'.repeat(w - 1)}` : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...body.map(line)].join('\n');
}
