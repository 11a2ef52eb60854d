// The study's small statistics: Student t quantiles (against published table values), the
// t-interval of a mean over seeds (against a hand computation), the seeds' MDE, the log-loss and
// the logistic recalibration.
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { logLoss, median, recalibration, seedsMde, studentTCdf, studentTQuantile, tInterval } from '../../src/study/stats.js';

describe('study statistics', () => {
  it('Student t quantiles match the tables', () => {
    // two-sided 95% critical values t(0.975, df)
    const table: Array<[number, number]> = [
      [1, 12.706205],
      [2, 4.302653],
      [3, 3.182446],
      [4, 2.776445],
      [9, 2.262157],
      [29, 2.04523],
      [1000, 1.962339],
    ];
    for (const [df, t] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(t, 5);
    expect(studentTQuantile(0.8, 9)).toBeCloseTo(0.8834039, 6); // scipy.stats.t.ppf(0.8, 9)
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.776445, 5);
    expect(studentTQuantile(0.5, 7)).toBe(0);
    expect(studentTCdf(studentTQuantile(0.9, 5), 5)).toBeCloseTo(0.9, 10);
  });

  it('the t-interval of a mean equals the hand computation', () => {
    // mean 0.025; deviations ∓0.015, ∓0.005 → sd √(0.0005/3) = 0.0129099; se 0.0064550; t(0.975, 3) = 3.182446
    const r = tInterval([0.01, 0.03, 0.02, 0.04]);
    expect(r.n).toBe(4);
    expect(r.mean).toBeCloseTo(0.025, 12);
    expect(r.sd).toBeCloseTo(0.0129099445, 9);
    expect(r.se).toBeCloseTo(0.0064549722, 9);
    expect(r.t).toBeCloseTo(3.182446, 5);
    expect(r.lower).toBeCloseTo(0.025 - 3.182446305 * 0.0064549722, 7);
    expect(r.upper).toBeCloseTo(0.025 + 3.182446305 * 0.0064549722, 7);
    // one value: a mean but no interval
    const one = tInterval([0.3]);
    expect(one.mean).toBe(0.3);
    expect(Number.isNaN(one.lower)).toBe(true);
  });

  it('the MDE over seeds is (t₀.₉₇₅ + t₀.₈)·sd/√n', () => {
    expect(seedsMde(0.02, 10)).toBeCloseTo((2.2621572 + 0.8834039) * (0.02 / Math.sqrt(10)), 5);
    expect(Number.isNaN(seedsMde(0.02, 1))).toBe(true);
  });

  it('log-loss, median and recalibration', () => {
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // labels drawn from their own probabilities: slope ≈ 1, intercept ≈ 0
    const rng = new Random(5);
    const p = Array.from({ length: 20000 }, () => rng.uniform(0.02, 0.98));
    const y = p.map((q) => (rng.next() < q ? 1 : 0));
    const cal = recalibration(y, p);
    expect(cal.slope).toBeGreaterThan(0.9);
    expect(cal.slope).toBeLessThan(1.1);
    expect(Math.abs(cal.intercept)).toBeLessThan(0.08);
    // over-confident predictions: slope < 1
    const sharp = p.map((q) => 1 / (1 + Math.exp(-3 * Math.log(q / (1 - q)))));
    expect(recalibration(y, sharp).slope).toBeCloseTo(1 / 3, 1);
  });
});
