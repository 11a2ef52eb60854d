/**
 * Paired comparison of two models scored on the same patients: a stratified paired bootstrap of
 * the difference of any metric ({@link pairedBootstrap}) and the minimum detectable difference
 * of a planned comparison ({@link minimumDetectableDifference}). DeLong's test for two correlated
 * ROC curves is in `delong.ts`.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { assertBoolean } from '../core/validate.js';
import { rocAuc } from './ranking.js';
import { bootstrapStatistics, resolveBootstrapOptions } from './bootstrap.js';
import type { BinaryMetric, IndexStatistic } from './bootstrap.js';
import { normalUpperQuantile } from './normal.js';
import { checkOptions, toBinaryLabels, toScores } from './validate.js';

/** Options of {@link pairedBootstrap}. */
export interface PairedBootstrapOptions {
  /**
   * The metric whose difference is bootstrapped, called as `metric(labels, scores)` for each
   * model on each resample, e.g. `averagePrecision` or `(y, p) => -brierScore(y, p)`. It receives
   * buffers reused between calls: it must not modify them, and must copy them to keep them.
   * @defaultValue {@link rocAuc}
   */
  metric?: BinaryMetric;
  /** Number of bootstrap resamples B. @defaultValue 2000 */
  numResamples?: number;
  /** Confidence level of the percentile interval, in (0, 1). @defaultValue 0.95 */
  confidence?: number;
  /** Seed of the {@link Random} generator that draws the resamples. @defaultValue 0 */
  seed?: number;
  /** Also return every replicate of the difference in `samples`. @defaultValue false */
  returnSamples?: boolean;
}

/** The paired bootstrap of a metric's difference between two models. */
export interface PairedBootstrapResult {
  /** `estimateA − estimateB`: the observed difference on the full sample. */
  estimate: number;
  /** `metric(labels, scoresA)` on the full sample. */
  estimateA: number;
  /** `metric(labels, scoresB)` on the full sample. */
  estimateB: number;
  /** Mean of the valid replicates Δ* (NaN when none is valid). */
  mean: number;
  /** Standard deviation (denominator count − 1) of the valid replicates: the bootstrap SE of the difference. */
  standardError: number;
  /** Percentile interval: the (1 − c)/2 and (1 + c)/2 quantiles of the valid replicates (see {@link quantile}). */
  ci: [number, number];
  /**
   * Two-sided bootstrap p-value for "no difference": `min(1, 2·min(P*(Δ* ≤ 0), P*(Δ* ≥ 0)))` over
   * the valid replicates. A replicate exactly 0 counts in both tails, so identical models give 1.
   * 0 means no replicate fell on the far side of 0 (read it as p < 2/numValid).
   */
  pValue: number;
  /** Confidence level of `ci`. */
  confidence: number;
  /** Resamples drawn (B). */
  numResamples: number;
  /** Resamples whose difference was finite; mean, SE, CI and p use these. */
  numValid: number;
  /**
   * Resamples skipped as degenerate: the metric threw a vdafm error or returned a non-finite
   * value for A or B. A sizable fraction makes every summary conditional: treat it with suspicion.
   */
  numDegenerate: number;
  /** Seed used. */
  seed: number;
  /** With `returnSamples`: Δ* of every resample in drawing order (NaN for a degenerate one). */
  samples?: Float64Array;
}

/**
 * Paired, stratified bootstrap of the difference of any metric between two models scored on the
 * same patients: each resample draws patients with replacement, negatives and positives
 * separately (keeping n₋ and n₊, exactly the resamples of {@link bootstrapCi} with the same seed),
 * and computes `Δ* = metric(A) − metric(B)` on the *same* resampled patients, so the correlation
 * between the models is kept. Returns the observed difference, the replicates' mean and standard
 * deviation (the bootstrap SE), the percentile interval and a two-sided p-value.
 *
 * Use it for metrics other than AUC (average precision, Brier score, sensitivity at a threshold)
 * and as a check of {@link delongTest} on AUC, which it agrees with for moderate n; DeLong is
 * exact-to-compute and instant, the bootstrap costs 2·B metric evaluations.
 *
 * @param labels - 0/1 labels, length n.
 * @param scoresA - model A's finite scores, length n.
 * @param scoresB - model B's finite scores for the same patients, in the same order.
 * @param options - {@link PairedBootstrapOptions}.
 * @returns a {@link PairedBootstrapResult}; `samples` only with `returnSamples: true`.
 * @throws {@link InvalidArgumentError} naming `labels` (not 0/1, empty), `scoresA` / `scoresB`
 * (NaN or ±Infinity), `options.metric` (not a function), `options.numResamples` (not a positive
 * integer), `options.confidence` (outside (0, 1)), `options.seed` (not finite) or
 * `options.returnSamples`; whatever `metric` throws on the full sample (for the default
 * {@link rocAuc}: labels of a single class, naming `labels`).
 * @throws {@link ShapeError} naming `scoresA` or `scoresB` when its length differs from `labels`.
 * @example
 * ```ts
 * const labels = [0, 0, 0, 0, 1, 1, 1, 1];
 * const a = [0.1, 0.2, 0.3, 0.6, 0.5, 0.7, 0.8, 0.9];
 * const b = [0.2, 0.1, 0.5, 0.4, 0.3, 0.6, 0.45, 0.7];
 * const r = pairedBootstrap(labels, a, b, { numResamples: 500, seed: 1 });
 * r.estimate; // 0.125 (AUC 0.9375 − 0.8125)
 * r.ci;       // [0, 0.5]: the 2.5 % and 97.5 % quantiles of the 500 replicates
 * r.pValue;   // 0.644 (replicates equal to 0 count in both tails)
 * ```
 */
export function pairedBootstrap(
  labels: ArrayLike<number>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  options?: PairedBootstrapOptions,
): PairedBootstrapResult {
  const opts = checkOptions(options);
  const metric = opts.metric ?? rocAuc;
  if (typeof metric !== 'function') {
    throw new InvalidArgumentError({
      argument: 'options.metric',
      message: 'options.metric must be a function (labels, scores) => number.',
      received: metric,
    });
  }
  const returnSamples = opts.returnSamples ?? false;
  assertBoolean(returnSamples, 'options.returnSamples');
  const resolved = resolveBootstrapOptions({
    numResamples: opts.numResamples ?? 2000,
    confidence: opts.confidence,
    seed: opts.seed,
  });
  const y = toBinaryLabels(labels);
  const n = y.length;
  const a = toScores(scoresA, n, { argument: 'scoresA' });
  const b = toScores(scoresB, n, { argument: 'scoresB' });
  const fn = metric as BinaryMetric;
  const estimateA = fn(y, a);
  const estimateB = fn(y, b);

  const yr = new Uint8Array(n);
  const ar = new Float64Array(n);
  const br = new Float64Array(n);
  const recorded: number[] = [];
  const statistic: IndexStatistic = (idx) => {
    for (let i = 0; i < n; i++) {
      const k = idx[i]!;
      yr[i] = y[k]!;
      ar[i] = a[k]!;
      br[i] = b[k]!;
    }
    let delta: number;
    try {
      delta = fn(yr, ar) - fn(yr, br);
    } catch (e) {
      recorded.push(Number.NaN);
      throw e; // the bootstrap counts a vdafm error as a degenerate resample and rethrows others
    }
    recorded.push(delta);
    return delta;
  };
  const interval = bootstrapStatistics(y, { value: statistic }, resolved).value;
  // the statistic ran once on the full sample, then once per resample: keep the resamples
  const samples = Float64Array.from(recorded.slice(recorded.length - resolved.numResamples));
  const summary = summarise(samples);
  const result: PairedBootstrapResult = {
    estimate: estimateA - estimateB,
    estimateA,
    estimateB,
    mean: summary.mean,
    standardError: summary.standardError,
    ci: [interval.lower, interval.upper],
    pValue: summary.pValue,
    confidence: resolved.confidence,
    numResamples: resolved.numResamples,
    numValid: interval.numValid,
    numDegenerate: interval.numDegenerate,
    seed: resolved.seed,
  };
  if (returnSamples) result.samples = samples;
  return result;
}

/** Mean, SD and the two-sided p-value of the finite replicates. */
function summarise(samples: Float64Array): { mean: number; standardError: number; pValue: number } {
  let count = 0;
  let sum = 0;
  let atMost = 0;
  let atLeast = 0;
  for (const v of samples) {
    if (!Number.isFinite(v)) continue;
    count++;
    sum += v;
    if (v <= 0) atMost++;
    if (v >= 0) atLeast++;
  }
  if (count === 0) return { mean: Number.NaN, standardError: Number.NaN, pValue: Number.NaN };
  const mean = sum / count;
  let squares = 0;
  for (const v of samples) if (Number.isFinite(v)) squares += (v - mean) ** 2;
  return {
    mean,
    standardError: count > 1 ? Math.sqrt(squares / (count - 1)) : Number.NaN,
    pValue: Math.min(1, (2 * Math.min(atMost, atLeast)) / count),
  };
}

/** Options of {@link minimumDetectableDifference}. */
export interface MinimumDetectableDifferenceOptions {
  /** Two-sided significance level α, in (0, 1). @defaultValue 0.05 */
  alpha?: number;
  /** Power 1 − β, the probability of detecting a true difference of that size, in (0, 1). @defaultValue 0.8 */
  power?: number;
}

function checkOpenUnit(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a number in (0, 1).`, received: value });
  }
  return value;
}

/**
 * The smallest true difference a paired comparison can expect to detect: `MDE = (z₁₋α/₂ + z₁₋β)
 * · SE(Δ)`, with `SE(Δ)` the standard error of the difference (DeLong's `standardError` or the
 * paired bootstrap's), α the two-sided level and 1 − β the power. A true difference of this
 * size is declared significant with probability 1 − β; anything much smaller is noise at this
 * sample size. The defaults (α = 0.05, power 0.8) give `2.8016 · SE`.
 *
 * Plan with it before running a comparison: SE(Δ) shrinks about as 1/√n, so the MDE at another
 * test-set size n′ is about `MDE · √(n / n′)`.
 *
 * @param standardError - SE of the difference, a finite number ≥ 0.
 * @param options - {@link MinimumDetectableDifferenceOptions}.
 * @returns the minimum detectable difference, in the metric's units.
 * @throws {@link InvalidArgumentError} naming `standardError` (negative or not finite),
 * `options`, `options.alpha` or `options.power` (outside (0, 1)).
 * @example
 * ```ts
 * minimumDetectableDifference(0.0143);                  // 0.04006… (= 2.8016 · 0.0143)
 * minimumDetectableDifference(0.0143, { power: 0.9 });  // 0.04635…
 * ```
 */
export function minimumDetectableDifference(
  standardError: number,
  options?: MinimumDetectableDifferenceOptions,
): number {
  if (typeof standardError !== 'number' || !Number.isFinite(standardError) || standardError < 0) {
    throw new InvalidArgumentError({
      argument: 'standardError',
      message: 'standardError must be a finite number >= 0 (the standard error of the difference).',
      received: standardError,
    });
  }
  const opts = checkOptions(options);
  const alpha = checkOpenUnit(opts.alpha ?? 0.05, 'options.alpha');
  const power = checkOpenUnit(opts.power ?? 0.8, 'options.power');
  return (normalUpperQuantile(alpha / 2) + normalUpperQuantile(1 - power)) * standardError;
}
