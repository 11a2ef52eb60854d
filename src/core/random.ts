/**
 * A small seeded pseudo-random generator (SplitMix32 → Mulberry32 stream) for everything in
 * vdafm that must be reproducible under a seed without touching tfjs's global RNG: data
 * splits, bootstrap resampling, synthetic cohorts, report noise, modality dropout.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/**
 * Seeded random number generator. Same seed ⇒ same sequence, on every platform.
 *
 * @example
 * ```ts
 * const rng = new Random(42);
 * rng.next();        // a float in [0, 1)
 * rng.int(6);        // an integer in [0, 6)
 * rng.normal(0, 1);  // a standard normal draw
 * ```
 */
export class Random {
  private state: number;
  private spareNormal: number | null = null;

  /** @param seed - any finite number (integers recommended). */
  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new InvalidArgumentError({ argument: 'seed', message: 'seed must be a finite number.', received: seed });
    }
    // SplitMix32 scramble so that nearby seeds give unrelated streams.
    let z = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.state = (z ^ (z >>> 16)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A float in [min, max). */
  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** A normal draw (Box–Muller). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** A log-normal draw: `exp(normal(mu, sigma))`. */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(this.normal(mu, sigma));
  }

  /** Picks one element uniformly. */
  pick<T>(items: ReadonlyArray<T>): T {
    if (items.length === 0) throw new InvalidArgumentError({ argument: 'items', message: 'Cannot pick from an empty list.', received: [] });
    return items[this.int(items.length)]!;
  }

  /** Picks an index with probability proportional to `weights`. */
  weightedIndex(weights: ReadonlyArray<number>): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Shuffles a copy of `items` (Fisher–Yates). */
  shuffle<T>(items: ReadonlyArray<T>): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** The generator's internal state, to save and later {@link Random.fromState | restore} it. */
  getState(): { state: number; spareNormal: number | null } {
    return { state: this.state, spareNormal: this.spareNormal };
  }

  /** A generator that continues exactly where the one that produced `saved` was. */
  static fromState(saved: { state: number; spareNormal: number | null }): Random {
    const r = new Random(0);
    r.state = saved.state >>> 0;
    r.spareNormal = saved.spareNormal;
    return r;
  }

  /** A new generator whose stream is independent of this one's future draws. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 4294967296));
  }
}
