/**
 * The standard normal distribution's upper tail and its inverse, to close to double precision
 * (relative error about 1e-15 far into the tail), for the z tests and Wald intervals of the
 * paired statistics. Plain numbers, no dependency.
 *
 * @packageDocumentation
 */

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * `exp(−x²)` without the rounding of `x·x` blowing up for large x: `x` is split into a part with
 * few mantissa bits (whose square is exact) and a small remainder.
 */
function expMinusSquare(x: number): number {
  const head = Math.round(x * 16) / 16;
  return Math.exp(-head * head) * Math.exp(-(x - head) * (x + head));
}

/**
 * The complementary error function `erfc(x) = 1 − erf(x)`, with a small relative error over
 * the whole line: a series with positive terms below 1.25 (`erf(x) = 2/√π · e^{−x²} · Σ 2ⁿx^{2n+1} /
 * (1·3·…·(2n+1))`), the classic continued fraction above (Lentz's method; at most about 120 terms).
 * @internal
 */
function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x >= 27) return 0; // below the smallest subnormal double
  if (x < 1.25) {
    let term = x;
    let sum = x;
    const x2 = 2 * x * x;
    for (let k = 1; k < 200 && term > 1e-17 * sum; k++) {
      term *= x2 / (2 * k + 1);
      sum += term;
    }
    return 1 - ((2 / SQRT_PI) * expMinusSquare(x) * sum);
  }
  // erfc(x) = e^{−x²}/√π · 1 / (x + (1/2) / (x + (2/2) / (x + (3/2) / (x + …))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return expMinusSquare(x) / (SQRT_PI * f);
}

/**
 * Upper tail of the standard normal distribution, `Q(z) = P(Z > z) = erfc(z/√2) / 2`.
 * @internal
 */
export function normalUpperTail(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}

/** Standard normal density. */
function normalDensity(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/**
 * The upper-tail quantile of the standard normal distribution: the z with `P(Z > z) = q`, for
 * q in (0, 1) (so `normalUpperQuantile(0.025)` is 1.959963984540054). Taking the tail
 * probability itself, rather than `1 − q`, keeps full precision for small q. A rational start
 * (Abramowitz & Stegun 26.2.23, error < 4.5e-4) refined by Halley steps on
 * {@link normalUpperTail}.
 * @internal
 */
export function normalUpperQuantile(q: number): number {
  if (!(q > 0 && q < 1)) return Number.NaN;
  if (q === 0.5) return 0;
  if (q > 0.5) return -normalUpperQuantile(1 - q);
  const t = Math.sqrt(-2 * Math.log(q));
  let z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  for (let i = 0; i < 8; i++) {
    // Halley's step on f(z) = Q(z) − q, using f' = −φ(z) and f'' = z·φ(z)
    const u = (q - normalUpperTail(z)) / normalDensity(z);
    const step = u / (1 + (z * u) / 2);
    z -= step;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(z))) break;
  }
  return z;
}
