/**
 * Logistic regression on plain arrays (no tfjs): the non-neural reference models of a study
 * (an oracle on a scenario's true features, a model on the table and the report's parsed
 * fields) and the ceilings of a synthetic scenario. Fitted by Newton's method (IRLS) with an L2
 * penalty on the weights (not the intercept) on standardised features, so the fit is
 * deterministic and independent of the features' scales.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /**
   * L2 penalty λ on the standardised weights (the loss is the mean log-loss + λ/2·‖w‖²).
   * @defaultValue 1e-4
   */
  l2?: number;
  /** Newton iterations at most. @defaultValue 50 */
  maxIterations?: number;
  /** Stop when the largest weight change is below this. @defaultValue 1e-9 */
  tolerance?: number;
}

/** A fitted logistic regression (see {@link fitLogistic}); JSON-safe. */
export interface LogisticModel {
  /** Intercept on the original feature scale. */
  intercept: number;
  /** One weight per feature, on the original feature scale. */
  weights: number[];
  /** Newton iterations used. */
  iterations: number;
  /** Whether the weight change fell below the tolerance. */
  converged: boolean;
}

function checkDesign(x: ArrayLike<ArrayLike<number>>, y: ArrayLike<number>): number {
  if (!x || typeof x.length !== 'number' || x.length === 0) {
    throw new InvalidArgumentError({ argument: 'x', message: 'x must be a non-empty list of feature rows.', received: x });
  }
  if (!y || y.length !== x.length) {
    throw new InvalidArgumentError({ argument: 'y', message: `y must hold one label per row of x (${x.length}).`, received: y?.length });
  }
  const d = x[0]!.length;
  for (let i = 0; i < x.length; i++) {
    const row = x[i]!;
    if (row.length !== d) {
      throw new InvalidArgumentError({ argument: 'x', message: `Every row of x must have ${d} features (row 0 has ${d}).`, received: `row ${i}: ${row.length}` });
    }
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(row[j]!)) throw new InvalidArgumentError({ argument: 'x', message: 'x must hold finite numbers.', received: `x[${i}][${j}] = ${row[j]}` });
    }
    if (y[i] !== 0 && y[i] !== 1) throw new InvalidArgumentError({ argument: 'y', message: 'y must hold 0/1 labels.', received: `y[${i}] = ${y[i]}` });
  }
  return d;
}

/** Solves `A·x = b` for a symmetric positive definite `A` (Cholesky), in place of a copy. */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = Float64Array.from(a);
  for (let j = 0; j < n; j++) {
    let s = l[j * n + j]!;
    for (let k = 0; k < j; k++) s -= l[j * n + k]! * l[j * n + k]!;
    const d = Math.sqrt(Math.max(s, 1e-300));
    l[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let t = l[i * n + j]!;
      for (let k = 0; k < j; k++) t -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = t / d;
    }
  }
  const z = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let t = z[i]!;
    for (let k = 0; k < i; k++) t -= l[i * n + k]! * z[k]!;
    z[i] = t / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let t = z[i]!;
    for (let k = i + 1; k < n; k++) t -= l[k * n + i]! * z[k]!;
    z[i] = t / l[i * n + i]!;
  }
  return z;
}

const sigmoid = (t: number): number => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));

/**
 * Fits a logistic regression P(y = 1 | x) = σ(b + w·x) by penalised Newton iterations.
 *
 * @param x - `[n][d]` feature rows (finite numbers).
 * @param y - `[n]` labels 0/1.
 * @returns the model on the original feature scale.
 * @throws {@link InvalidArgumentError} for empty or ragged `x`, non-finite features, labels
 *   other than 0/1 or of another length, or bad options.
 * @example
 * ```ts
 * const model = fitLogistic([[0], [1], [2], [3]], [0, 0, 1, 1]);
 * predictLogistic(model, [[1.5]]); // [≈ 0.5]
 * ```
 */
export function fitLogistic(x: ArrayLike<ArrayLike<number>>, y: ArrayLike<number>, options: LogisticOptions = {}): LogisticModel {
  const d = checkDesign(x, y);
  const l2 = options.l2 ?? 1e-4;
  const maxIterations = options.maxIterations ?? 50;
  const tolerance = options.tolerance ?? 1e-9;
  if (!(l2 >= 0)) throw new InvalidArgumentError({ argument: 'l2', message: 'l2 must be ≥ 0.', received: l2 });
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new InvalidArgumentError({ argument: 'maxIterations', message: 'maxIterations must be a positive integer.', received: maxIterations });
  }
  const n = x.length;
  // standardise (constant columns keep scale 1)
  const mean = new Float64Array(d);
  const scale = new Float64Array(d).fill(1);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i]![j]! / n;
  for (let j = 0; j < d; j++) {
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i]![j]! - mean[j]!) ** 2;
    const sd = Math.sqrt(v / n);
    if (sd > 1e-12) scale[j] = sd;
  }
  const p = d + 1; // intercept first
  const z = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    z[i * p] = 1;
    for (let j = 0; j < d; j++) z[i * p + 1 + j] = (x[i]![j]! - mean[j]!) / scale[j]!;
  }
  const beta = new Float64Array(p);
  let converged = false;
  let it = 0;
  for (; it < maxIterations && !converged; it++) {
    const grad = new Float64Array(p);
    const hess = new Float64Array(p * p);
    for (let i = 0; i < n; i++) {
      let eta = 0;
      for (let k = 0; k < p; k++) eta += z[i * p + k]! * beta[k]!;
      const mu = sigmoid(eta);
      const w = Math.max(mu * (1 - mu), 1e-12);
      const r = mu - y[i]!;
      for (let a = 0; a < p; a++) {
        const za = z[i * p + a]!;
        grad[a]! += (r * za) / n;
        for (let b = 0; b <= a; b++) hess[a * p + b]! += (w * za * z[i * p + b]!) / n;
      }
    }
    for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) hess[b * p + a] = hess[a * p + b]!;
    for (let a = 1; a < p; a++) {
      grad[a]! += l2 * beta[a]!;
      hess[a * p + a]! += l2;
    }
    hess[0]! += 1e-12;
    const step = solveSpd(hess, grad, p);
    let largest = 0;
    for (let a = 0; a < p; a++) {
      beta[a]! -= step[a]!;
      largest = Math.max(largest, Math.abs(step[a]!));
    }
    converged = largest < tolerance;
  }
  const weights = Array.from({ length: d }, (_, j) => beta[1 + j]! / scale[j]!);
  const intercept = beta[0]! - weights.reduce((s, w, j) => s + w * mean[j]!, 0);
  return { intercept, weights, iterations: it, converged };
}

/**
 * P(y = 1 | x) of a fitted model for each row.
 *
 * @throws {@link InvalidArgumentError} when a row's length differs from the model's feature count.
 * @example
 * ```ts
 * predictLogistic({ intercept: 0, weights: [1], iterations: 1, converged: true }, [[0]]); // [0.5]
 * ```
 */
export function predictLogistic(model: LogisticModel, x: ArrayLike<ArrayLike<number>>): Float64Array {
  const d = model.weights.length;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const row = x[i]!;
    if (row.length !== d) throw new InvalidArgumentError({ argument: 'x', message: `Every row must have the model's ${d} features.`, received: `row ${i}: ${row.length}` });
    let eta = model.intercept;
    for (let j = 0; j < d; j++) eta += model.weights[j]! * row[j]!;
    out[i] = sigmoid(eta);
  }
  return out;
}
