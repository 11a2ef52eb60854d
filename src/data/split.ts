/**
 * Outcome-stratified train/validation/test splits and k-fold assignments of a cohort, and sub-cohorts.
 *
 * @packageDocumentation
 */
import { Random } from '../core/random.js';
import { InvalidArgumentError } from '../errors.js';
import type { SyntheticCohort } from './cohort.js';

/** Options of {@link splitCohort}. */
export interface SplitOptions {
  /**
   * Fractions of patients in each part (non-negative, summing to 1).
   * @defaultValue { train: 0.7, val: 0.15, test: 0.15 }
   */
  fractions?: { train: number; val: number; test: number };
  /**
   * Seed of the shuffle.
   * @defaultValue 0
   */
  seed?: number;
}

/** Patient indices of each part, ascending. */
export interface CohortSplit {
  readonly train: number[];
  readonly val: number[];
  readonly test: number[];
}

/**
 * Splits a cohort into train/val/test, stratified on the binary outcome (`cohort.poor`): each
 * outcome class is shuffled with the seed and cut by the fractions (largest-remainder
 * rounding), so every part keeps the cohort's prevalence up to one patient per class.
 *
 * @param cohort - any object with a `poor` array (0/1 per patient).
 * @throws {@link InvalidArgumentError} (argument `fractions` or `seed`) for bad options.
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 100, seed: 1, layout: '2d' });
 * const { train, val, test } = splitCohort(cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 5 });
 * train.length + val.length + test.length; // 100
 * ```
 */
export function splitCohort(cohort: Pick<SyntheticCohort, 'poor'>, options: SplitOptions = {}): CohortSplit {
  const fractions = options.fractions ?? { train: 0.7, val: 0.15, test: 0.15 };
  const parts = [fractions?.train, fractions?.val, fractions?.test];
  if (
    parts.some((f) => typeof f !== 'number' || !Number.isFinite(f) || f < 0) ||
    Math.abs(parts.reduce<number>((a, b) => a + (b ?? 0), 0) - 1) > 1e-6
  ) {
    throw new InvalidArgumentError({
      argument: 'fractions',
      message: 'fractions must be { train, val, test }, non-negative and summing to 1.',
      received: fractions,
    });
  }
  const seed = options.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new InvalidArgumentError({ argument: 'seed', message: 'seed must be a finite number.', received: seed });
  }
  const rng = new Random(seed);
  const out: [number[], number[], number[]] = [[], [], []];
  for (const cls of [0, 1]) {
    const members: number[] = [];
    for (let i = 0; i < cohort.poor.length; i++) if (cohort.poor[i] === cls) members.push(i);
    const shuffled = rng.shuffle(members);
    const exact = parts.map((f) => f! * shuffled.length);
    const counts = exact.map(Math.floor);
    let left = shuffled.length - counts.reduce((a, b) => a + b, 0);
    const order = [0, 1, 2].sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!) || a - b);
    for (const p of order) {
      if (left === 0) break;
      counts[p]!++;
      left--;
    }
    let start = 0;
    for (let p = 0; p < 3; p++) {
      out[p]!.push(...shuffled.slice(start, start + counts[p]!));
      start += counts[p]!;
    }
  }
  for (const part of out) part.sort((a, b) => a - b);
  return { train: out[0], val: out[1], test: out[2] };
}

/**
 * Assigns every patient to one of `folds` folds, stratified on the binary outcome: each class is
 * shuffled with the seed and dealt round-robin (continuing from where the previous class ended),
 * so each fold holds its share of each class up to one patient and the fold sizes differ by at
 * most one. Fold `f`'s test patients are those with `fold[i] === f`; the others train.
 *
 * @param labels - 0/1 per patient.
 * @param folds - number of folds, 2 ≤ folds ≤ patients.
 * @returns the fold (0 … folds − 1) of each patient.
 * @throws {@link InvalidArgumentError} (argument `labels`, `folds` or `seed`).
 * @example
 * ```ts
 * const fold = stratifiedFolds([0, 0, 0, 1, 1, 0, 1, 0, 0, 1], 5, 3);
 * fold.filter((f) => f === 0).length; // 2
 * ```
 */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed = 0): number[] {
  if (labels == null || typeof labels.length !== 'number' || Array.from(labels).some((y) => y !== 0 && y !== 1)) {
    throw new InvalidArgumentError({ argument: 'labels', message: 'labels must be 0/1 values, one per patient.', received: labels });
  }
  if (!Number.isInteger(folds) || folds < 2 || folds > labels.length) {
    throw new InvalidArgumentError({ argument: 'folds', message: `folds must be an integer from 2 to the number of patients (${labels.length}).`, received: folds });
  }
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new InvalidArgumentError({ argument: 'seed', message: 'seed must be a finite number.', received: seed });
  const rng = new Random(seed);
  const fold = new Array<number>(labels.length).fill(0);
  let next = 0;
  for (const cls of [0, 1]) {
    const members: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) members.push(i);
    for (const i of rng.shuffle(members)) {
      fold[i] = next;
      next = (next + 1) % folds;
    }
  }
  return fold;
}

/**
 * A sub-cohort of the given patients (images copied, patient records and rows shared).
 * Patient `index` fields keep their position in the original cohort.
 *
 * @throws {@link InvalidArgumentError} (argument `indices`) for an index out of range.
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 20, seed: 1, layout: '2d' });
 * const test = subsetCohort(cohort, splitCohort(cohort).test);
 * test.patients.length; // about 15 % of the 20 patients
 * ```
 */
export function subsetCohort(cohort: SyntheticCohort, indices: readonly number[]): SyntheticCohort {
  const n = cohort.patients.length;
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new InvalidArgumentError({ argument: 'indices', message: `indices must be integers in [0, ${n}).`, received: i });
    }
  }
  const size = cohort.geometry.size;
  const images = new Float32Array(indices.length * size);
  indices.forEach((i, r) => images.set(cohort.images.subarray(i * size, (i + 1) * size), r * size));
  return {
    ...cohort,
    options: { ...cohort.options, patients: indices.length },
    images,
    rows: indices.map((i) => cohort.rows[i]!),
    patients: indices.map((i) => cohort.patients[i]!),
    mrs: Int32Array.from(indices, (i) => cohort.mrs[i]!),
    poor: Uint8Array.from(indices, (i) => cohort.poor[i]!),
    truePoorProbability: Float64Array.from(indices, (i) => cohort.truePoorProbability[i]!),
  };
}
