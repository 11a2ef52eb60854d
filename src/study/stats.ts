/**
 * The small statistics the study needs on top of src/metrics: Student's t quantiles and the
 * t-interval of a mean over seeds, the log-loss, and the logistic recalibration (calibration
 * slope and intercept) of a vector of probabilities.
 *
 * @packageDocumentation
 */
import { fitLogistic } from '../metrics/logistic.js';

/** Arithmetic mean (NaN for an empty list). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (denominator n − 1; NaN below two values). */
export function sampleSd(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** Median (NaN for an empty list). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-14). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/**
 * Student's t cumulative distribution function P(T ≤ t) with `df` degrees of freedom.
 *
 * @example
 * ```ts
 * studentTCdf(2.262157, 9); // ≈ 0.975
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Student's t quantile: the t with P(T ≤ t) = p, for `df` > 0 degrees of freedom (bisection on
 * {@link studentTCdf} to 1e-12).
 *
 * @example
 * ```ts
 * studentTQuantile(0.975, 9); // 2.2621571…
 * studentTQuantile(0.975, 1); // 12.7062047…
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return Number.NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The mean of per-seed values with its t-interval. */
export interface TInterval {
  /** Number of values (seeds). */
  n: number;
  mean: number;
  /** Sample standard deviation over the values (NaN below 2). */
  sd: number;
  /** `sd / √n`. */
  se: number;
  /** Two-sided Student quantile t₍₁₊c₎/₂,ₙ₋₁ (NaN below 2 values). */
  t: number;
  /** `mean ∓ t·se` (NaN below 2 values). */
  lower: number;
  upper: number;
  confidence: number;
}

/**
 * The mean of `values` with its two-sided t-interval `mean ± t₍₁₊c₎/₂,ₙ₋₁ · sd/√n`.
 *
 * @example
 * ```ts
 * tInterval([0.01, 0.03, 0.02, 0.04]); // mean 0.025, sd 0.0129, t 3.1824, [0.00446, 0.04554]
 * ```
 */
export function tInterval(values: readonly number[], confidence = 0.95): TInterval {
  const n = values.length;
  const m = mean(values);
  const sd = sampleSd(values);
  const se = sd / Math.sqrt(n);
  const t = n >= 2 ? studentTQuantile((1 + confidence) / 2, n - 1) : Number.NaN;
  return { n, mean: m, sd, se, t, lower: m - t * se, upper: m + t * se, confidence };
}

/**
 * The smallest true mean difference that a t-test over `n` seeds with standard deviation `sd`
 * detects with probability `power` at two-sided level `alpha`:
 * `(t₁₋α/₂,ₙ₋₁ + t_power,ₙ₋₁) · sd/√n` (NaN below 2 seeds).
 *
 * @example
 * ```ts
 * seedsMde(0.02, 10); // (2.262 + 0.883) · 0.02/√10 ≈ 0.0199
 * ```
 */
export function seedsMde(sd: number, n: number, alpha = 0.05, power = 0.8): number {
  if (n < 2 || !Number.isFinite(sd)) return Number.NaN;
  return (studentTQuantile(1 - alpha / 2, n - 1) + studentTQuantile(power, n - 1)) * (sd / Math.sqrt(n));
}

const EPS = 1e-7;
const clip = (p: number) => Math.min(1 - EPS, Math.max(EPS, p));

/** Mean binary log-loss −[y·ln p + (1 − y)·ln(1 − p)], probabilities clipped to [1e-7, 1 − 1e-7]. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = clip(probabilities[i]!);
    s -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / labels.length;
}

/** logit(p), p clipped to [1e-7, 1 − 1e-7]. */
export function logit(p: number): number {
  const q = clip(p);
  return Math.log(q / (1 - q));
}

/**
 * Logistic recalibration: the fit logit P(y = 1) = intercept + slope · logit(p). A calibrated
 * model has slope 1 and intercept 0; slope < 1 means over-confident predictions.
 */
export function recalibration(labels: ArrayLike<number>, probabilities: ArrayLike<number>): { slope: number; intercept: number } {
  const x = Array.from({ length: labels.length }, (_, i) => [logit(probabilities[i]!)]);
  const m = fitLogistic(x, Array.from(labels), { l2: 1e-8 });
  return { slope: m.weights[0]!, intercept: m.intercept };
}
