// The stratified bootstrap: resampling scheme, percentile bounds, degenerate resamples.
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { InvalidArgumentError, VdafmError } from '../../src/errors.js';
import { bootstrapCi, precision, quantile, rocAuc, stratifiedBootstrap } from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

/** A realistic binary sample (n = 400, 25 % positive). */
function sample(seed: number, n = 400) {
  const rng = new Random(seed);
  const labels = Array.from({ length: n }, () => (rng.bernoulli(0.25) ? 1 : 0));
  const scores = labels.map((y) => 1 / (1 + Math.exp(-rng.normal(y === 1 ? 0.8 : -0.8, 1))));
  return { labels, scores };
}

/**
 * Replays the documented resampling order independently: for each resample, negatives then
 * positives, each index drawn as members[rng.int(members.length)].
 */
function replay(labels: number[], numResamples: number, seed: number): number[][] {
  const rng = new Random(seed);
  const negatives = labels.flatMap((y, i) => (y === 0 ? [i] : []));
  const positives = labels.flatMap((y, i) => (y === 1 ? [i] : []));
  const out: number[][] = [];
  for (let r = 0; r < numResamples; r++) {
    const idx: number[] = [];
    for (const members of [negatives, positives]) {
      for (let j = 0; j < members.length; j++) idx.push(members[rng.int(members.length)]!);
    }
    out.push(idx);
  }
  return out;
}

describe('bootstrapCi', () => {
  const { labels, scores } = sample(11);

  it('is the percentile interval of the metric over the documented stratified resamples', () => {
    const ci = bootstrapCi(labels, scores, rocAuc, { numResamples: 200, seed: 5, confidence: 0.9 });
    const replicates = replay(labels, 200, 5).map((idx) =>
      rocAuc(
        idx.map((i) => labels[i]!),
        idx.map((i) => scores[i]!),
      ),
    );
    expect(ci.estimate).toBe(rocAuc(labels, scores));
    expect(ci.lower).toBeCloseTo(quantile(replicates, 0.05), 14);
    expect(ci.upper).toBeCloseTo(quantile(replicates, 0.95), 14);
    expect(ci).toMatchObject({ confidence: 0.9, numResamples: 200, numValid: 200, numDegenerate: 0, seed: 5, method: 'percentile' });
  });

  it('keeps the number of positives and negatives in every resample', () => {
    const positives = labels.filter((y) => y === 1).length;
    const seen = new Set<number>();
    bootstrapCi(
      labels,
      scores,
      (y) => {
        seen.add(y.reduce((a, b) => a + b, 0));
        return 0;
      },
      { numResamples: 50 },
    );
    expect([...seen]).toEqual([positives]);
  });

  it('is reproducible under a seed and changes with it', () => {
    const a = bootstrapCi(labels, scores, rocAuc, { numResamples: 300, seed: 1 });
    expect(bootstrapCi(labels, scores, rocAuc, { numResamples: 300, seed: 1 })).toEqual(a);
    const b = bootstrapCi(labels, scores, rocAuc, { numResamples: 300, seed: 2 });
    expect([b.lower, b.upper]).not.toEqual([a.lower, a.upper]);
  });

  it('gives nested intervals for increasing confidence with the same resamples', () => {
    const c80 = bootstrapCi(labels, scores, rocAuc, { numResamples: 400, seed: 3, confidence: 0.8 });
    const c95 = bootstrapCi(labels, scores, rocAuc, { numResamples: 400, seed: 3, confidence: 0.95 });
    const c99 = bootstrapCi(labels, scores, rocAuc, { numResamples: 400, seed: 3, confidence: 0.99 });
    expect(c95.lower).toBeLessThanOrEqual(c80.lower);
    expect(c99.lower).toBeLessThanOrEqual(c95.lower);
    expect(c95.upper).toBeGreaterThanOrEqual(c80.upper);
    expect(c99.upper).toBeGreaterThanOrEqual(c95.upper);
  });

  it("has a width in line with DeLong's standard error of the AUC", () => {
    const { labels: y, scores: s } = sample(21, 500);
    const pos = s.filter((_, i) => y[i] === 1);
    const neg = s.filter((_, i) => y[i] === 0);
    const psi = (a: number, b: number) => (a > b ? 1 : a === b ? 0.5 : 0);
    const v10 = pos.map((a) => neg.reduce((acc, b) => acc + psi(a, b), 0) / neg.length);
    const v01 = neg.map((b) => pos.reduce((acc, a) => acc + psi(a, b), 0) / pos.length);
    const variance = (v: number[]) => {
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
    };
    const se = Math.sqrt(variance(v10) / pos.length + variance(v01) / neg.length);
    const ci = bootstrapCi(y, s, rocAuc, { numResamples: 1000, seed: 0 });
    const bootstrapSe = (ci.upper - ci.lower) / (2 * 1.959964);
    expect(bootstrapSe / se).toBeGreaterThan(0.85);
    expect(bootstrapSe / se).toBeLessThan(1.15);
  });

  it('skips and counts degenerate resamples (precision with nothing predicted positive)', () => {
    // few high scores: some resamples predict nothing positive at 0.97 → precision is NaN
    const y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const s = [0.98, 0.5, 0.4, 0.3, 0.2, 0.1, 0.2, 0.3, 0.1, 0.4, 0.2, 0.1];
    const metric = (l: ArrayLike<number>, p: ArrayLike<number>) => precision(l, p, { threshold: 0.97 });
    const ci = bootstrapCi(y, s, metric, { numResamples: 300, seed: 4 });
    const expectedDegenerate = replay(y, 300, 4).filter((idx) => idx.every((i) => s[i]! < 0.97)).length;
    expect(expectedDegenerate).toBeGreaterThan(0);
    expect(ci.numDegenerate).toBe(expectedDegenerate);
    expect(ci.numValid).toBe(300 - expectedDegenerate);
    expect(ci.estimate).toBe(1);
    expect([ci.lower, ci.upper]).toEqual([1, 1]);
  });

  it('counts a metric that throws a vdafm error as degenerate, and lets other errors through', () => {
    let calls = 0;
    const flaky = () => {
      calls++;
      if (calls > 1 && calls % 4 === 0) throw new VdafmError('undefined here');
      return calls % 5 === 0 ? Number.NaN : 0.5;
    };
    const ci = bootstrapCi([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], flaky, { numResamples: 40 });
    // calls 2..41 are the resamples: multiples of 4 throw (10), other multiples of 5 are NaN (6)
    expect(ci.numDegenerate).toBe(16);
    expect(ci.numValid).toBe(24);
    let k = 0;
    const buggy = () => {
      if (k++ === 3) throw new TypeError('a bug'); // in the third resample
      return 1;
    };
    expect(() => bootstrapCi([0, 1], [0.1, 0.2], buggy, { numResamples: 10 })).toThrowError(TypeError);
    expect(k).toBe(4);
  });

  it('reports NaN bounds when every resample is degenerate', () => {
    let first = true;
    const ci = bootstrapCi([0, 1], [0.3, 0.6], () => {
      if (first) {
        first = false;
        return 0.7;
      }
      return Number.NaN;
    }, { numResamples: 20 });
    expect(ci.estimate).toBe(0.7);
    expect(ci.lower).toBeNaN();
    expect(ci.upper).toBeNaN();
    expect(ci.numDegenerate).toBe(20);
  });

  it('propagates an error of the metric on the full sample (a single class for AUC)', () => {
    expectArgumentError(() => bootstrapCi([1, 1, 1], [0.2, 0.3, 0.4], rocAuc), InvalidArgumentError, 'labels');
  });
});

describe('stratifiedBootstrap', () => {
  it('bootstraps any statistic of indices, stratified by any strata', () => {
    const values = [3, 1, 4, 1, 5, 9, 2, 6];
    const strata = [0, 0, 0, 0, 2, 2, 7, 7];
    const mean = (idx: Uint32Array) => idx.reduce((a, i) => a + values[i]!, 0) / idx.length;
    const sizes = new Set<string>();
    const ci = stratifiedBootstrap(
      strata,
      (idx) => {
        sizes.add([0, 2, 7].map((g) => Array.from(idx).filter((i) => strata[i] === g).length).join(','));
        return mean(idx);
      },
      { numResamples: 500, seed: 1 },
    );
    expect([...sizes]).toEqual(['4,2,2']);
    expect(ci.estimate).toBe(3.875);
    expect(ci.lower).toBeLessThan(3.875);
    expect(ci.upper).toBeGreaterThan(3.875);
    expect(ci.lower).toBeGreaterThanOrEqual(1);
    expect(ci.upper).toBeLessThanOrEqual(9);
  });
});
