/**
 * DeLong's test for two correlated ROC curves scored on the same patients ({@link delongTest}),
 * and the variance of a single curve's AUC ({@link delongVariance}).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { resolveBootstrapOptions } from './bootstrap.js';
import { normalUpperQuantile, normalUpperTail } from './normal.js';
import { assertBothClasses, checkOptions, countPositives, toBinaryLabels, toScores } from './validate.js';

/** Options of {@link delongTest} and {@link delongVariance}. */
export interface DelongOptions {
  /** Confidence level of the Wald interval, in (0, 1). @defaultValue 0.95 */
  confidence?: number;
}

/** DeLong's test of the difference between two correlated ROC-AUCs. */
export interface DelongTestResult {
  /** ROC-AUC of `scoresA` (identical to {@link rocAuc}). */
  aucA: number;
  /** ROC-AUC of `scoresB`. */
  aucB: number;
  /** `aucA − aucB`. */
  difference: number;
  /** DeLong's estimate of the variance of `difference`: `varianceA + varianceB − 2·covariance`. */
  variance: number;
  /** `√variance`. */
  standardError: number;
  /**
   * `difference / standardError`; 0 when both are 0 (identical rankings), ±Infinity when only
   * the variance is 0 (see {@link delongTest}).
   */
  z: number;
  /** Two-sided p-value `P(|Z| ≥ |z|)` under the standard normal: in [0, 1], 1 when z = 0. */
  pValue: number;
  /** Wald interval `difference ± z₍₁₊c₎/₂ · standardError` at `confidence` (not clipped). */
  ci: [number, number];
  /** DeLong's variance of `aucA`. */
  varianceA: number;
  /** DeLong's variance of `aucB`. */
  varianceB: number;
  /** DeLong's covariance of `aucA` and `aucB` (positive when the models rank patients alike). */
  covariance: number;
  /** Confidence level of `ci`. */
  confidence: number;
  /** Number of positives n₊. */
  positives: number;
  /** Number of negatives n₋. */
  negatives: number;
}

/** A ROC-AUC with DeLong's variance and Wald interval. */
export interface DelongVarianceResult {
  /** ROC-AUC (identical to {@link rocAuc}). */
  auc: number;
  /** DeLong's estimate of the variance of `auc`. */
  variance: number;
  /** `√variance`. */
  standardError: number;
  /** `auc ± z₍₁₊c₎/₂ · standardError`, clipped to [0, 1] (as pROC's `ci.auc`). */
  ci: [number, number];
  /** Confidence level of `ci`. */
  confidence: number;
  /** Number of positives n₊. */
  positives: number;
  /** Number of negatives n₋. */
  negatives: number;
}

/** One model's AUC and DeLong placement values (V10 per positive, V01 per negative). */
interface Placements {
  auc: number;
  v10: Float64Array;
  v01: Float64Array;
}

/** 1-based midranks: tied values share the mean of the ranks they span. O(n log n). */
function midranks(values: Float64Array): Float64Array {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => {
    const va = values[a]!;
    const vb = values[b]!;
    return va < vb ? -1 : va > vb ? 1 : 0;
  });
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    const v = values[order[start]!]!;
    let end = start + 1;
    while (end < n && values[order[end]!] === v) end++;
    // sorted positions start..end-1 hold ranks start+1..end, whose mean is (start + 1 + end) / 2
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * DeLong's structural components (placement values) of one score vector, by the midrank
 * algorithm of Sun & Xu (2014). With X the positives' scores (m), Y the negatives' (n), and
 * Tx, Ty, Tz the midranks within X, within Y and within X ∪ Y:
 * `V10ᵢ = (Tzᵢ − Txᵢ)/n` (the fraction of negatives below positive i, ties ½),
 * `V01ⱼ = 1 − (Tz₍ₘ₊ⱼ₎ − Tyⱼ)/m` (the fraction of positives above negative j, ties ½), and the
 * AUC from the positives' rank sum, exactly as {@link rocAuc} computes it.
 */
function placements(labels: Uint8Array, scores: Float64Array, m: number, n: number): Placements {
  const x = new Float64Array(m);
  const y = new Float64Array(n);
  const z = new Float64Array(m + n);
  let i = 0;
  let j = 0;
  for (let k = 0; k < labels.length; k++) {
    if (labels[k] === 1) x[i++] = scores[k]!;
    else y[j++] = scores[k]!;
  }
  z.set(x);
  z.set(y, m);
  const tx = midranks(x);
  const ty = midranks(y);
  const tz = midranks(z);
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let rankSumPositives = 0;
  for (let k = 0; k < m; k++) {
    rankSumPositives += tz[k]!;
    v10[k] = (tz[k]! - tx[k]!) / n;
  }
  for (let k = 0; k < n; k++) v01[k] = 1 - (tz[m + k]! - ty[k]!) / m;
  return { auc: (rankSumPositives - (m * (m + 1)) / 2) / (m * n), v10, v01 };
}

/** Sample covariance (denominator length − 1) of two equally long vectors of length ≥ 2. */
function covariance(a: Float64Array, b: Float64Array): number {
  const len = a.length;
  let ma = 0;
  let mb = 0;
  for (let k = 0; k < len; k++) {
    ma += a[k]!;
    mb += b[k]!;
  }
  ma /= len;
  mb /= len;
  let s = 0;
  for (let k = 0; k < len; k++) s += (a[k]! - ma) * (b[k]! - mb);
  return s / (len - 1);
}

/** DeLong's (co)variance of two AUCs: `S10(a, b)/m + S01(a, b)/n`. */
function delongCovariance(a: Placements, b: Placements): number {
  return covariance(a.v10, b.v10) / a.v10.length + covariance(a.v01, b.v01) / a.v01.length;
}

function difference(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k]! - b[k]!;
  return out;
}

/** `[estimate − h, estimate + h]` with `h = z₍₁₊c₎/₂ · standardError`. */
function waldInterval(estimate: number, standardError: number, confidence: number): [number, number] {
  const half = normalUpperQuantile((1 - confidence) / 2) * standardError;
  return [estimate - half, estimate + half];
}

/**
 * Validates DeLong's inputs: the options, and 0/1 labels with at least two of each class (each
 * class's placement values need a sample variance).
 */
function resolveDelong(
  labels: unknown,
  options: unknown,
  what: string,
): { y: Uint8Array; m: number; n: number; confidence: number } {
  const opts = checkOptions(options);
  const { confidence } = resolveBootstrapOptions({ confidence: opts.confidence });
  const y = toBinaryLabels(labels);
  assertBothClasses(y, what);
  const m = countPositives(y);
  const n = y.length - m;
  if (m < 2 || n < 2) {
    throw new InvalidArgumentError({
      argument: 'labels',
      message:
        `${what} needs at least 2 positives and 2 negatives: DeLong's variance estimates the spread ` +
        `of the placement values within each class.`,
      received: `${m} positives, ${n} negatives`,
      fix: 'Evaluate on more patients.',
    });
  }
  return { y, m, n, confidence };
}

/**
 * DeLong's test for two correlated ROC curves: compares the AUCs of two models scored on the
 * same patients, accounting for the correlation between them (DeLong, DeLong & Clarke-Pearson,
 * Biometrics 1988).
 *
 * Each model's AUC is the mean of its structural components (placement values): for positive i,
 * `V10ᵢ` = the fraction of negatives it outscores; for negative j, `V01ⱼ` = the fraction of
 * positives that outscore it (ties count ½ in both, so the AUC is exactly {@link rocAuc}). With
 * the sample (co)variances `S10` over the n₊ positives and `S01` over the n₋ negatives (denominator
 * count − 1), `Var(Δ) = S10(Δ)/n₊ + S01(Δ)/n₋` for `Δ = aucA − aucB` (computed from the
 * differences of the placement values, which equals `varianceA + varianceB − 2·covariance` and is
 * never negative). `z = Δ / √Var(Δ)`, the p-value is two-sided under the standard normal, and the
 * interval is the Wald interval `Δ ± z₍₁₊c₎/₂ · SE`. The placement values are computed with midranks
 * in O(n log n) (Sun & Xu, IEEE Signal Processing Letters 2014). Same values as pROC's
 * `roc.test(method = 'delong', paired = TRUE)` (tested).
 *
 * Zero variance: when A and B rank every positive–negative pair alike (identical scores, or one a
 * strictly increasing transform of the other), Δ = 0 and Var(Δ) = 0; then z = 0 and p = 1 (not
 * NaN), as pROC does. When Var(Δ) = 0 but Δ ≠ 0 (e.g. A separates perfectly and B is constant),
 * z = ±Infinity and p = 0.
 *
 * Use it for AUC; for any other metric, or for small samples where the normal approximation is
 * doubtful, use {@link pairedBootstrap}.
 *
 * @param labels - 0/1 labels, length n, with at least 2 positives and 2 negatives.
 * @param scoresA - model A's finite scores, length n (only their order matters).
 * @param scoresB - model B's finite scores for the same patients, in the same order.
 * @param options - {@link DelongOptions}.
 * @returns a {@link DelongTestResult}.
 * @throws {@link InvalidArgumentError} naming `labels` (not 0/1, empty, a single class, or fewer
 * than 2 positives or 2 negatives), `scoresA` / `scoresB` (NaN or ±Infinity), `options` or
 * `options.confidence` (outside (0, 1)).
 * @throws {@link ShapeError} naming `scoresA` or `scoresB` when its length differs from `labels`
 * (the message gives both lengths).
 * @example
 * ```ts
 * const labels = [0, 0, 0, 1, 1, 1];
 * const t = delongTest(labels, [0.1, 0.3, 0.6, 0.4, 0.8, 0.9], [0.2, 0.1, 0.3, 0.35, 0.6, 0.7]);
 * t.aucA;       // 0.8888… (8 of 9 pairs ordered)
 * t.aucB;       // 1
 * t.difference; // −0.1111…
 * t.z;          // −0.7071… (SE 0.1571…)
 * t.pValue;     // 0.4795…: far from significant on 6 patients
 * ```
 */
export function delongTest(
  labels: ArrayLike<number>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  options?: DelongOptions,
): DelongTestResult {
  const { y, m, n, confidence } = resolveDelong(labels, options, "DeLong's test");
  const a = placements(y, toScores(scoresA, y.length, { argument: 'scoresA' }), m, n);
  const b = placements(y, toScores(scoresB, y.length, { argument: 'scoresB' }), m, n);
  const d10 = difference(a.v10, b.v10);
  const d01 = difference(a.v01, b.v01);
  const variance = covariance(d10, d10) / m + covariance(d01, d01) / n;
  const standardError = Math.sqrt(variance);
  const diff = a.auc - b.auc;
  const z = diff === 0 && standardError === 0 ? 0 : diff / standardError;
  return {
    aucA: a.auc,
    aucB: b.auc,
    difference: diff,
    variance,
    standardError,
    z,
    pValue: 2 * normalUpperTail(Math.abs(z)),
    ci: waldInterval(diff, standardError, confidence),
    varianceA: delongCovariance(a, a),
    varianceB: delongCovariance(b, b),
    covariance: delongCovariance(a, b),
    confidence,
    positives: m,
    negatives: n,
  };
}

/**
 * One model's ROC-AUC with DeLong's variance and a Wald confidence interval: the single-curve
 * case of {@link delongTest}, `Var(AUC) = S10/n₊ + S01/n₋` from the placement values. A fast,
 * deterministic alternative to a bootstrap CI of the AUC (same values as pROC's
 * `var(roc, method = 'delong')` and `ci.auc(roc, method = 'delong')`, tested).
 *
 * @param labels - 0/1 labels, length n, with at least 2 positives and 2 negatives.
 * @param scores - finite scores, length n.
 * @param options - {@link DelongOptions}.
 * @returns a {@link DelongVarianceResult}; `ci` is clipped to [0, 1].
 * @throws {@link InvalidArgumentError} / {@link ShapeError} as {@link delongTest}, naming
 * `labels`, `scores` or `options.confidence`.
 * @example
 * ```ts
 * const r = delongVariance([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.8, 0.9]);
 * r.auc;           // 0.8888…
 * r.standardError; // 0.1571… (√2 / 9)
 * r.ci;            // [0.5809…, 1] (the upper bound clipped at 1)
 * ```
 */
export function delongVariance(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options?: DelongOptions,
): DelongVarianceResult {
  const { y, m, n, confidence } = resolveDelong(labels, options, "DeLong's variance");
  const p = placements(y, toScores(scores, y.length), m, n);
  const variance = delongCovariance(p, p);
  const standardError = Math.sqrt(variance);
  const [lower, upper] = waldInterval(p.auc, standardError, confidence);
  return {
    auc: p.auc,
    variance,
    standardError,
    ci: [Math.max(0, lower), Math.min(1, upper)],
    confidence,
    positives: m,
    negatives: n,
  };
}
