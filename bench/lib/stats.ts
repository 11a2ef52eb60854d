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
