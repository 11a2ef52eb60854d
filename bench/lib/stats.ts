/**
 * Timing helpers: warm-up + N timed repetitions, median and interquartile range.
 *
 * @packageDocumentation
 */
import { performance } from 'node:perf_hooks';
import type { RepPlan, Stats } from './types.js';

/** Quantile `p ∈ [0, 1]` of sorted values, linear interpolation (numpy's default). */
export function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

/**
 * The median of `values` with a distribution-free interval: the order statistics x₍k₎ and
 * x₍n+1−k₎ (1-based, sorted), k the largest with P(Binomial(n, ½) < k) ≤ (1 − `level`)/2, so the
 * interval covers the population median with probability at least `level` (any continuous
 * distribution). `coverage` is that exact probability, 1 − 2·P(Binomial(n, ½) < k). With too few
 * values for `level` (n < 6 at 0.95) the interval is the whole range [min, max] and `coverage`
 * says what it is worth.
 */
export function medianInterval(values: number[], level = 0.95): { median: number; lo: number; hi: number; coverage: number } {
  const x = [...values].sort((a, b) => a - b);
  const n = x.length;
  if (n === 0) return { median: Number.NaN, lo: Number.NaN, hi: Number.NaN, coverage: 0 };
  // cdf[j] = P(Binomial(n, ½) ≤ j)
  const cdf: number[] = [];
  let pmf = 0.5 ** n;
  let acc = 0;
  for (let j = 0; j <= n; j++) {
    acc += pmf;
    cdf.push(acc);
    pmf = (pmf * (n - j)) / (j + 1);
  }
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && cdf[k]! <= (1 - level) / 2) k++;
  return { median: quantile(x, 0.5), lo: x[k - 1]!, hi: x[n - k]!, coverage: 1 - 2 * cdf[k - 1]! };
}

/** Median, quartiles, IQR, min and max of `samples` (milliseconds). */
export function summarize(samples: number[], warmup: number): Stats {
  const sorted = [...samples].sort((x, y) => x - y);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  return {
    median: quantile(sorted, 0.5),
    q1,
    q3,
    iqr: q3 - q1,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    samples,
    warmup,
  };
}

/**
 * Runs `fn` `plan.warmup` times untimed, then up to `plan.reps` times timed (stopping early
 * once `plan.maxSeconds` of timed runs are spent and `plan.minReps` are done).
 * `fn` must finish its work before it returns/resolves (read back a value).
 */
export async function timeIt(fn: () => unknown, plan: RepPlan): Promise<Stats> {
  for (let i = 0; i < plan.warmup; i++) await fn();
  const samples: number[] = [];
  const budgetMs = (plan.maxSeconds ?? Number.POSITIVE_INFINITY) * 1000;
  const minReps = Math.max(1, plan.minReps ?? 1);
  let spent = 0;
  for (let i = 0; i < plan.reps; i++) {
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    samples.push(dt);
    spent += dt;
    if (spent > budgetMs && samples.length >= minReps) break;
  }
  return summarize(samples, plan.warmup);
}

/** Milliseconds since `t0` (a `performance.now()` value). */
function since(t0: number): number {
  return performance.now() - t0;
}

export { performance };
