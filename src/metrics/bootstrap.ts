/**
 * Stratified bootstrap confidence intervals (percentile method) for any metric, reproducible
 * under a seed through vdafm's {@link Random}.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, VdafmError } from '../errors.js';
import { Random } from '../core/random.js';
import { assertPositiveInt } from '../core/validate.js';
import { checkOptions, toBinaryLabels, toScores } from './validate.js';

/** Options of the bootstrap. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples B. @defaultValue 1000 */
  numResamples?: number;
  /** Confidence level of the interval, in (0, 1). @defaultValue 0.95 */
  confidence?: number;
  /** Seed of the {@link Random} generator that draws the resamples. @defaultValue 0 */
  seed?: number;
}

/** A bootstrap percentile confidence interval. */
export interface BootstrapResult {
  /** The metric on the original sample. */
  estimate: number;
  /** Lower bound: the (1 − confidence)/2 quantile of the valid replicates (NaN when none is valid). */
  lower: number;
  /** Upper bound: the (1 + confidence)/2 quantile of the valid replicates (NaN when none is valid). */
  upper: number;
  /** Confidence level used. */
  confidence: number;
  /** Resamples drawn (B). */
  numResamples: number;
  /** Resamples whose metric was finite; the interval is computed from these. */
  numValid: number;
  /**
   * Resamples skipped as degenerate: the metric threw a vdafm error (e.g. an undefined metric)
   * or returned NaN/±Infinity. If this is a sizable fraction of B, the interval is conditional on
   * the non-degenerate resamples: treat it with suspicion.
   */
  numDegenerate: number;
  /** Seed used. */
  seed: number;
  /** Always `'percentile'`. */
  method: 'percentile';
}

/**
 * The q-quantile of `values` with linear interpolation between order statistics (numpy's
 * default, Hyndman–Fan type 7): with sorted `x` of length m and `h = (m − 1)·q`,
 * `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`.
 *
 * @param values - finite numbers (not modified).
 * @param q - quantile in [0, 1].
 * @throws {@link InvalidArgumentError} naming `values` (empty, non-finite entry) or `q`.
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.5);  // 2.5
 * quantile([1, 2, 3, 4], 0.25); // 1.75
 * ```
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
    throw new InvalidArgumentError({ argument: 'q', message: 'q must be a number in [0, 1].', received: q });
  }
  const x = toScores(values, values?.length ?? 0, { argument: 'values' });
  if (x.length === 0) {
    throw new InvalidArgumentError({ argument: 'values', message: 'values must not be empty.', received: [] });
  }
  x.sort();
  return sortedQuantile(x, q);
}

function sortedQuantile(sorted: Float64Array, q: number): number {
  const m = sorted.length;
  if (m === 0) return Number.NaN;
  const h = (m - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, m - 1);
  const a = sorted[lo]!;
  return a + (h - lo) * (sorted[hi]! - a);
}

/** Validated bootstrap options. @internal */
export interface ResolvedBootstrapOptions {
  numResamples: number;
  confidence: number;
  seed: number;
}

/**
 * Validates bootstrap options (`argument` prefixes the names in errors).
 *
 * @throws {@link InvalidArgumentError}
 * @internal
 */
export function resolveBootstrapOptions(options: unknown, argument = 'options'): ResolvedBootstrapOptions {
  const opts = checkOptions(options, argument);
  const numResamples = opts.numResamples ?? 1000;
  assertPositiveInt(numResamples, `${argument}.numResamples`);
  const confidence = opts.confidence ?? 0.95;
  if (typeof confidence !== 'number' || !(confidence > 0 && confidence < 1)) {
    throw new InvalidArgumentError({
      argument: `${argument}.confidence`,
      message: `${argument}.confidence must be a number in (0, 1), e.g. 0.95.`,
      received: confidence,
    });
  }
  const seed = opts.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new InvalidArgumentError({
      argument: `${argument}.seed`,
      message: `${argument}.seed must be a finite number.`,
      received: seed,
    });
  }
  return { numResamples, confidence, seed };
}

/** A statistic of the sample selected by `indices` (indices may repeat). */
export type IndexStatistic = (indices: Uint32Array) => number;

/**
 * Runs one stratified bootstrap for several statistics at once (every statistic sees the same
 * resamples). @internal
 */
export function bootstrapStatistics<K extends string>(
  strata: ArrayLike<number>,
  statistics: Record<K, IndexStatistic>,
  options: ResolvedBootstrapOptions,
): Record<K, BootstrapResult> {
  const n = strata.length;
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = strata[i]!;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  const ordered = [...groups.keys()].sort((a, b) => a - b).map((k) => Uint32Array.from(groups.get(k)!));
  const names = Object.keys(statistics) as K[];
  const identity = new Uint32Array(n);
  for (let i = 0; i < n; i++) identity[i] = i;
  const estimates = names.map((k) => statistics[k](identity));
  const replicates = names.map(() => [] as number[]);
  const degenerate = names.map(() => 0);
  const rng = new Random(options.seed);
  const indices = new Uint32Array(n);
  for (let r = 0; r < options.numResamples; r++) {
    let k = 0;
    for (const members of ordered) {
      for (let j = 0; j < members.length; j++) indices[k++] = members[rng.int(members.length)]!;
    }
    names.forEach((name, s) => {
      let v: number;
      try {
        v = statistics[name](indices);
      } catch (e) {
        if (!VdafmError.isInstance(e)) throw e;
        v = Number.NaN;
      }
      if (Number.isFinite(v)) replicates[s]!.push(v);
      else degenerate[s]!++;
    });
  }
  const alpha = 1 - options.confidence;
  const out = {} as Record<K, BootstrapResult>;
  names.forEach((name, s) => {
    const sorted = Float64Array.from(replicates[s]!).sort();
    out[name] = {
      estimate: estimates[s]!,
      lower: sortedQuantile(sorted, alpha / 2),
      upper: sortedQuantile(sorted, 1 - alpha / 2),
      confidence: options.confidence,
      numResamples: options.numResamples,
      numValid: sorted.length,
      numDegenerate: degenerate[s]!,
      seed: options.seed,
      method: 'percentile',
    };
  });
  return out;
}

/**
 * Stratified bootstrap percentile CI of any statistic of a sample, given each sample's stratum
 * (e.g. its class). Each resample draws, for every stratum in increasing stratum order, as many
 * indices as the stratum has, uniformly with replacement from that stratum (`rng.int`), so
 * every resample keeps the strata sizes. The statistic receives the resampled indices.
 *
 * Degenerate resamples (the statistic throws a vdafm error or returns a non-finite value) are
 * skipped and counted in `numDegenerate`; any other error propagates. The estimate is the
 * statistic on the original sample (all indices in order); if that throws, the error propagates.
 *
 * @param strata - one stratum value per sample, length n ≥ 1 (finite numbers).
 * @param statistic - maps resampled indices (length n, may repeat) to a number.
 * @param options - {@link BootstrapOptions}.
 * @throws {@link InvalidArgumentError} naming `strata`, `statistic` or an option.
 * @example
 * ```ts
 * const values = [3, 1, 4, 1, 5, 9, 2, 6];
 * const mean = (idx: Uint32Array) => idx.reduce((a, i) => a + values[i]!, 0) / idx.length;
 * const ci = stratifiedBootstrap(new Array(values.length).fill(0), mean, { numResamples: 500, seed: 1 });
 * ci.estimate; // 3.875, ci.lower < 3.875 < ci.upper
 * ```
 */
export function stratifiedBootstrap(
  strata: ArrayLike<number>,
  statistic: IndexStatistic,
  options?: BootstrapOptions,
): BootstrapResult {
  const s = toScores(strata, (strata as ArrayLike<number> | undefined)?.length ?? 0, { argument: 'strata' });
  if (s.length === 0) {
    throw new InvalidArgumentError({ argument: 'strata', message: 'strata must not be empty.', received: [] });
  }
  if (typeof statistic !== 'function') {
    throw new InvalidArgumentError({ argument: 'statistic', message: 'statistic must be a function.', received: statistic });
  }
  return bootstrapStatistics(s, { value: statistic }, resolveBootstrapOptions(options)).value;
}

/** A binary metric as the bootstrap calls it: validated labels and scores of one resample. */
export type BinaryMetric = (labels: Uint8Array, scores: Float64Array) => number;

/**
 * Stratified bootstrap percentile confidence interval for any binary metric: positives and
 * negatives are resampled separately (each resample keeps n₊ and n₋), the metric is computed
 * on each of B resamples, and the interval is the ((1−c)/2, (1+c)/2) quantiles (numpy's
 * linear interpolation, see {@link quantile}) of the finite replicates. Resampling order as in
 * {@link stratifiedBootstrap} with the labels as strata (negatives first), so a seed reproduces
 * the interval exactly.
 *
 * Because class counts are kept, ranking metrics such as {@link rocAuc} never see a single-class
 * resample; degenerate resamples (a metric that throws a vdafm error or returns NaN, e.g.
 * precision when nothing is predicted positive) are skipped and reported in `numDegenerate`.
 *
 * @param labels - 0/1 labels, length n.
 * @param scores - finite scores, length n.
 * @param metric - e.g. `rocAuc`, or `(y, s) => sensitivity(y, s, { threshold: 0.3 })`. It receives
 * buffers that are reused between calls: copy them if you keep them.
 * @param options - {@link BootstrapOptions}.
 * @returns the estimate on the full sample and its interval.
 * @throws {@link InvalidArgumentError} / {@link ShapeError} for bad labels, scores or options;
 * whatever `metric` throws on the full sample (e.g. a single class for `rocAuc`).
 * @example
 * ```ts
 * const ci = bootstrapCi(labels, scores, rocAuc, { numResamples: 2000, seed: 7 });
 * console.log(`AUC ${ci.estimate.toFixed(3)} [${ci.lower.toFixed(3)}, ${ci.upper.toFixed(3)}]`);
 * ```
 */
export function bootstrapCi(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  metric: BinaryMetric,
  options?: BootstrapOptions,
): BootstrapResult {
  const y = toBinaryLabels(labels);
  const s = toScores(scores, y.length);
  if (typeof metric !== 'function') {
    throw new InvalidArgumentError({ argument: 'metric', message: 'metric must be a function (labels, scores) => number.', received: metric });
  }
  const resolved = resolveBootstrapOptions(options);
  const n = y.length;
  const yr = new Uint8Array(n);
  const sr = new Float64Array(n);
  const statistic: IndexStatistic = (idx) => {
    for (let i = 0; i < n; i++) {
      yr[i] = y[idx[i]!]!;
      sr[i] = s[idx[i]!]!;
    }
    return metric(yr, sr);
  };
  return bootstrapStatistics(y, { value: statistic }, resolved).value;
}
