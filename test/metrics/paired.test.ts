// Paired statistics: DeLong's test against numpy (O(m·n) structural components) and R's pROC
// (test/fixtures/metrics/make_paired_fixture.py → paired_reference.json), a hand-computed case,
// agreement with a large paired bootstrap, calibration under the null, fast-check properties and
// every typed error.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { Random } from '../../src/core/random.js';
import { InvalidArgumentError, ShapeError, VdafmError } from '../../src/errors.js';
import {
  averagePrecision,
  bootstrapCi,
  brierScore,
  delongTest,
  delongVariance,
  minimumDetectableDifference,
  pairedBootstrap,
  quantile,
  rocAuc,
  type DelongTestResult,
} from '../../src/index.js';
import { normalUpperQuantile, normalUpperTail } from '../../src/metrics/normal.js';
import { expectArgumentError } from '../helpers/errors.js';

/** numpy's values: every field of delongTest's result, and delongVariance's for each model. */
type Reference = Omit<DelongTestResult, 'confidence'> & {
  singleA: { auc: number; variance: number; ci: [number, number] };
  singleB: { auc: number; variance: number; ci: [number, number] };
};
interface ProcReference {
  aucA: number;
  aucB: number;
  z: number;
  pValue: number;
  ciLower: number;
  ciUpper: number;
  varianceA: number;
  varianceB: number;
  covariance: number;
  singleALower: number;
  singleAUpper: number;
  singleBLower: number;
  singleBUpper: number;
}
interface Case {
  name: string;
  confidence: number;
  labels: number[];
  scoresA: number[];
  scoresB: number[];
  numpy: Reference;
  pROC: ProcReference;
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/metrics/paired_reference.json', import.meta.url), 'utf8'),
) as {
  cases: Case[];
  normal: { upperTail: Array<{ z: number; q: number }>; upperQuantile: Array<{ q: number; z: number }> };
};

/** |actual − expected| ≤ rel·|expected|; an expected 0 must come out within 1e-15 of 0. */
function expectRelative(actual: number, expected: number, rel: number, what: string): void {
  const tolerance = expected === 0 ? 1e-15 : rel * Math.abs(expected);
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe('delongTest against the references', () => {
  for (const c of fixture.cases) {
    it(`${c.name}: equals the O(m·n) numpy structural components to 1e-10`, () => {
      const t = delongTest(c.labels, c.scoresA, c.scoresB, { confidence: c.confidence });
      const r = c.numpy;
      for (const key of ['aucA', 'aucB', 'difference', 'variance', 'standardError', 'z', 'pValue', 'varianceA', 'varianceB', 'covariance'] as const) {
        expectRelative(t[key], r[key], 1e-10, key);
      }
      expectRelative(t.ci[0], r.ci[0], 1e-10, 'ci[0]');
      expectRelative(t.ci[1], r.ci[1], 1e-10, 'ci[1]');
      expect([t.positives, t.negatives, t.confidence]).toEqual([r.positives, r.negatives, c.confidence]);
      for (const [scores, single] of [
        [c.scoresA, r.singleA],
        [c.scoresB, r.singleB],
      ] as const) {
        const v = delongVariance(c.labels, scores, { confidence: c.confidence });
        expectRelative(v.auc, single.auc, 1e-10, 'auc');
        expectRelative(v.variance, single.variance, 1e-10, 'variance');
        expectRelative(v.ci[0], single.ci[0], 1e-10, 'single ci[0]');
        expectRelative(v.ci[1], single.ci[1], 1e-10, 'single ci[1]');
      }
    });

    it(`${c.name}: equals pROC 1.18's roc.test(method = 'delong', paired = TRUE), var, cov and ci.auc to 1e-10`, () => {
      const t = delongTest(c.labels, c.scoresA, c.scoresB, { confidence: c.confidence });
      const p = c.pROC;
      const pairs: Array<[string, number, number]> = [
        ['aucA', t.aucA, p.aucA],
        ['aucB', t.aucB, p.aucB],
        ['z', t.z, p.z],
        ['pValue', t.pValue, p.pValue],
        ['ci[0]', t.ci[0], p.ciLower],
        ['ci[1]', t.ci[1], p.ciUpper],
        ['varianceA', t.varianceA, p.varianceA],
        ['varianceB', t.varianceB, p.varianceB],
        ['covariance', t.covariance, p.covariance],
      ];
      const a = delongVariance(c.labels, c.scoresA, { confidence: c.confidence });
      const b = delongVariance(c.labels, c.scoresB, { confidence: c.confidence });
      pairs.push(['A ci[0]', a.ci[0], p.singleALower], ['A ci[1]', a.ci[1], p.singleAUpper]);
      pairs.push(['B ci[0]', b.ci[0], p.singleBLower], ['B ci[1]', b.ci[1], p.singleBUpper]);
      for (const [what, actual, expected] of pairs) expectRelative(actual, expected, 1e-10, what);
    });
  }

  it('covers ties, unbalanced classes, small and large n, a constant model and identical models', () => {
    const names = fixture.cases.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['n=10 heavy ties', 'n=12 two positives', 'n=500 unbalanced heavy ties', 'n=40 constant B', 'n=60 identical']));
    expect(fixture.cases.every((c) => c.pROC !== undefined)).toBe(true);
  });

  it("gives each model's AUC exactly as rocAuc computes it", () => {
    for (const c of fixture.cases) {
      const t = delongTest(c.labels, c.scoresA, c.scoresB);
      expect(t.aucA).toBe(rocAuc(c.labels, c.scoresA));
      expect(t.aucB).toBe(rocAuc(c.labels, c.scoresB));
    }
  });
});

describe('the standard normal helpers', () => {
  it('upper tail Q(z) matches math.erfc to 1e-14 relative, far into both tails', () => {
    for (const { z, q } of fixture.normal.upperTail) expectRelative(normalUpperTail(z), q, 1e-14, `Q(${z})`);
  });

  it('upper quantile matches Python statistics.NormalDist to 1e-14 relative', () => {
    for (const { q, z } of fixture.normal.upperQuantile) {
      if (z === 0) expect(normalUpperQuantile(q)).toBe(0);
      else expectRelative(normalUpperQuantile(q), z, 1e-14, `z(${q})`);
    }
    expect(normalUpperQuantile(0)).toBeNaN();
    expect(normalUpperQuantile(1)).toBeNaN();
  });
});

describe('delongTest by hand', () => {
  it('2 positives and 2 negatives', () => {
    // negatives 0 and 1, positives 2 and 3.
    // A: negatives 0.1, 0.4; positives 0.35, 0.8. Pairs (pos, neg): 0.35 > 0.1, 0.35 < 0.4, 0.8 > both → AUC_A = 3/4.
    // B: negatives 0.2, 0.3; positives 0.6, 0.5: all four pairs ordered → AUC_B = 1.
    // Placement values, positives: V10_A = [1/2, 1], V10_B = [1, 1] → differences [−1/2, 0].
    //                   negatives: V01_A = [1, 1/2] (0.1 is below both positives, 0.4 below 0.8 only), V01_B = [1, 1] → [0, −1/2].
    // Sample variance (denominator 1) of [−1/2, 0] is 1/8, for both classes:
    // Var(Δ) = (1/8)/2 + (1/8)/2 = 1/8, SE = √(1/8) = 0.35355; Δ = −1/4; z = −0.25/0.35355 = −1/√2;
    // p = 2·Q(1/√2) = erfc(1/2) = 0.4795001221869535; Var_A = 1/8 too, Var_B = 0, Cov = 0.
    const t = delongTest([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], [0.2, 0.3, 0.6, 0.5]);
    expect(t.aucA).toBe(0.75);
    expect(t.aucB).toBe(1);
    expect(t.difference).toBe(-0.25);
    expect(t.variance).toBe(0.125);
    expect(t.varianceA).toBe(0.125);
    expect(t.varianceB).toBe(0);
    expect(t.covariance).toBe(0);
    expect(t.z).toBeCloseTo(-Math.SQRT1_2, 15);
    expect(t.pValue).toBeCloseTo(0.4795001221869535, 15);
    expect(t.ci[0]).toBeCloseTo(-0.25 - 1.959963984540054 * Math.sqrt(0.125), 14);
    expect(t.ci[1]).toBeCloseTo(-0.25 + 1.959963984540054 * Math.sqrt(0.125), 14);
    expect([t.positives, t.negatives, t.confidence]).toEqual([2, 2, 0.95]);
  });

  it('zero variance: identical models give z 0 and p 1; a perfect model against a constant one gives z +∞ and p 0', () => {
    const labels = [0, 0, 1, 1];
    const same = delongTest(labels, [0.1, 0.4, 0.35, 0.8], [0.1, 0.4, 0.35, 0.8]);
    expect([same.difference, same.variance, same.z, same.pValue, ...same.ci]).toEqual([0, 0, 0, 1, 0, 0]);
    // A: V10 = [1, 1], V01 = [1, 1]; B (all tied): V10 = V01 = [1/2, 1/2]; the differences are constant
    const perfect = delongTest(labels, [0.1, 0.2, 0.8, 0.9], [0.5, 0.5, 0.5, 0.5]);
    expect([perfect.difference, perfect.variance, perfect.z, perfect.pValue, ...perfect.ci]).toEqual([0.5, 0, Infinity, 0, 0.5, 0.5]);
  });

  it('delongVariance clips its interval to [0, 1]', () => {
    // V10 = [2/3, 1, 1], V01 = [1, 1, 2/3]: S10 = S01 = 1/27, Var = 2/81, SE = √2/9
    const r = delongVariance([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.8, 0.9]);
    expect(r.auc).toBeCloseTo(8 / 9, 15);
    expect(r.variance).toBeCloseTo(2 / 81, 15);
    expect(r.standardError).toBeCloseTo(Math.SQRT2 / 9, 15);
    expect(r.ci[0]).toBeCloseTo(8 / 9 - 1.959963984540054 * (Math.SQRT2 / 9), 14);
    expect(r.ci[1]).toBe(1);
  });
});

/** Two correlated models on the same patients: a shared patient effect plus each model's own noise. */
function correlatedPair(seed: number, n: number, prevalence: number, signalA: number, signalB: number, rho = 0.64) {
  const rng = new Random(seed);
  const labels: number[] = [];
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rng.bernoulli(prevalence) ? 1 : 0;
    const shared = rng.normal(0, 1);
    labels.push(y);
    a.push(signalA * y + Math.sqrt(rho) * shared + Math.sqrt(1 - rho) * rng.normal(0, 1));
    b.push(signalB * y + Math.sqrt(rho) * shared + Math.sqrt(1 - rho) * rng.normal(0, 1));
  }
  return { labels, a, b };
}

/**
 * The variance of the AUC difference under resampling from the empirical distribution (what an
 * infinite stratified bootstrap estimates), exactly: with ψ = ψ_A − ψ_B over the m·n pairs,
 * Var* = [ξ11 + (n − 1)·ξ10 + (m − 1)·ξ01] / (m·n), where ξ11 is the population variance of ψ,
 * ξ10 that of its row means (per positive) and ξ01 that of its column means (per negative).
 * Computed by brute force, independently of src/metrics.
 */
function idealBootstrapVariance(labels: number[], a: number[], b: number[]): number {
  const pos = labels.flatMap((y, i) => (y === 1 ? [i] : []));
  const neg = labels.flatMap((y, i) => (y === 0 ? [i] : []));
  const m = pos.length;
  const n = neg.length;
  const kernel = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
  const rows = new Float64Array(m);
  const cols = new Float64Array(n);
  let sum = 0;
  let sumSquares = 0;
  pos.forEach((i, k) => {
    neg.forEach((j, l) => {
      const v = kernel(a[i]!, a[j]!) - kernel(b[i]!, b[j]!);
      rows[k] += v / n;
      cols[l] += v / m;
      sum += v;
      sumSquares += v * v;
    });
  });
  const mean = sum / (m * n);
  const spread = (v: Float64Array) => v.reduce((acc, x) => acc + (x - mean) ** 2, 0) / v.length;
  return (sumSquares / (m * n) - mean * mean + (n - 1) * spread(rows) + (m - 1) * spread(cols)) / (m * n);
}

describe("DeLong's variance against a large paired bootstrap", () => {
  it('agrees on n = 400 within four Monte Carlo standard errors of 20000 resamples', () => {
    const { labels, a, b } = correlatedPair(1, 400, 0.3, 1.0, 0.8);
    const delong = delongTest(labels, a, b);
    const B = 20000;
    const boot = pairedBootstrap(labels, a, b, { numResamples: B, seed: 3, returnSamples: true });
    expect(boot.numValid).toBe(B);
    // The bootstrap estimates the ideal (B → ∞) bootstrap variance, which differs from DeLong's by
    // terms of order 1/m; here the gap is computed exactly and is below 1 %:
    const ideal = idealBootstrapVariance(labels, a, b);
    const gap = Math.abs(ideal / delong.variance - 1);
    expect(gap).toBeLessThan(0.01);
    // Monte Carlo error of a variance from B replicates: relative SD √((κ − 1)/B), with κ the
    // replicates' kurtosis (≈ 3, so ≈ 1 % at B = 20000). Four of those, plus the exact gap:
    const samples = boot.samples!;
    const centred = samples.map((v) => v - boot.mean);
    const m2 = centred.reduce((acc, v) => acc + v * v, 0) / B;
    const kurtosis = centred.reduce((acc, v) => acc + v ** 4, 0) / B / (m2 * m2);
    const monteCarlo = Math.sqrt((kurtosis - 1) / B);
    expect(monteCarlo).toBeLessThan(0.011);
    const ratio = boot.standardError ** 2 / delong.variance;
    expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(4 * monteCarlo + gap);
    // the replicates are centred on the observed difference (the AUC difference is unbiased)
    expect(Math.abs(boot.mean - delong.difference)).toBeLessThan((4 * boot.standardError) / Math.sqrt(B));
    expect(boot.estimate).toBe(delong.difference);
  });

  it('rejects at about the nominal 5 % under the null (4000 data sets with equal true AUC)', () => {
    // both models: the same separation and noise, correlated through a shared patient effect
    const runs = 4000;
    let rejected = 0;
    for (let r = 0; r < runs; r++) {
      const { labels, a, b } = correlatedPair(10_000 + r, 200, 0.3, 1, 1, 0.6);
      if (delongTest(labels, a, b).pValue < 0.05) rejected++;
    }
    // binomial SD of the rate at 0.05: √(0.05·0.95/4000) = 0.0034; allow four of them
    expect(Math.abs(rejected / runs - 0.05)).toBeLessThan(4 * Math.sqrt((0.05 * 0.95) / runs));
  });
});

/** Labels with ≥ 2 of each class and two score vectors on a small grid (ties within and across models). */
const pairedSample = (maxLength = 40, levels = 12) =>
  fc
    .array(
      fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: levels }), fc.integer({ min: 0, max: levels })),
      { minLength: 4, maxLength },
    )
    .filter((rows) => rows.filter(([y]) => y === 1).length >= 2 && rows.filter(([y]) => y === 0).length >= 2)
    .map((rows) => ({ labels: rows.map(([y]) => y), a: rows.map(([, s]) => s), b: rows.map(([, , s]) => s) }));

const increasing: Array<[string, (x: number) => number]> = [
  ['exp(x / 3)', (x) => Math.exp(x / 3)],
  ['x³ − 5', (x) => x ** 3 - 5],
  ['0.5x + 7', (x) => 0.5 * x + 7],
  ['sigmoid((x − 6) / 2)', (x) => 1 / (1 + Math.exp(-(x - 6) / 2))],
];

/** DeLong's variance of the difference straight from the definitions, O(m·n). */
function bruteForceVariance(labels: number[], a: number[], b: number[]): number {
  const pos = labels.flatMap((y, i) => (y === 1 ? [i] : []));
  const neg = labels.flatMap((y, i) => (y === 0 ? [i] : []));
  const kernel = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
  const v10 = pos.map((i) => neg.reduce((acc, j) => acc + kernel(a[i]!, a[j]!) - kernel(b[i]!, b[j]!), 0) / neg.length);
  const v01 = neg.map((j) => pos.reduce((acc, i) => acc + kernel(a[i]!, a[j]!) - kernel(b[i]!, b[j]!), 0) / pos.length);
  const sampleVariance = (v: number[]) => {
    const mean = v.reduce((x, y) => x + y, 0) / v.length;
    return v.reduce((acc, x) => acc + (x - mean) ** 2, 0) / (v.length - 1);
  };
  return sampleVariance(v10) / pos.length + sampleVariance(v01) / neg.length;
}

describe('delongTest properties', () => {
  fcTest.prop([pairedSample()], { numRuns: 200 })('equals the O(m·n) definition and rocAuc', ({ labels, a, b }) => {
    const t = delongTest(labels, a, b);
    expect(t.variance).toBeCloseTo(bruteForceVariance(labels, a, b), 13);
    expect(t.variance).toBeCloseTo(t.varianceA + t.varianceB - 2 * t.covariance, 13);
    expect(t.aucA).toBe(rocAuc(labels, a));
    expect(t.aucB).toBe(rocAuc(labels, b));
  });

  fcTest.prop([pairedSample()], { numRuns: 200 })('swapping A and B negates the difference, z and the CI, and keeps p', ({ labels, a, b }) => {
    const ab = delongTest(labels, a, b);
    const ba = delongTest(labels, b, a);
    // === rather than toBe: a difference of 0 negates to −0
    expect(ba.difference === -ab.difference).toBe(true);
    expect(ba.z === -ab.z).toBe(true);
    expect(ba.pValue).toBe(ab.pValue);
    expect(ba.variance).toBe(ab.variance);
    expect(ba.ci[0]).toBeCloseTo(-ab.ci[1], 14);
    expect(ba.ci[1]).toBeCloseTo(-ab.ci[0], 14);
    expect([ba.varianceA, ba.varianceB, ba.covariance]).toEqual([ab.varianceB, ab.varianceA, ab.covariance]);
  });

  fcTest.prop([pairedSample(), fc.constantFrom(...increasing)], { numRuns: 200 })(
    'identical models (or one a strictly increasing transform of the other) give Δ 0, variance 0, z 0, p 1',
    ({ labels, a }, [, f]) => {
      for (const b of [a, a.map(f)]) {
        const t = delongTest(labels, a, b);
        expect([t.difference, t.variance, t.z, t.pValue, ...t.ci]).toEqual([0, 0, 0, 1, 0, 0]);
      }
    },
  );

  fcTest.prop([pairedSample(), fc.constantFrom(...increasing), fc.constantFrom(...increasing)], { numRuns: 200 })(
    'is invariant to strictly increasing transforms of each score vector',
    ({ labels, a, b }, [, f], [, g]) => {
      expect(delongTest(labels, a.map(f), b.map(g))).toEqual(delongTest(labels, a, b));
    },
  );

  fcTest.prop([pairedSample(), fc.double({ min: 0.5, max: 0.999, noNaN: true })], { numRuns: 200 })(
    'p lies in [0, 1], the variance is ≥ 0 and the CI contains the difference',
    ({ labels, a, b }, confidence) => {
      const t = delongTest(labels, a, b, { confidence });
      expect(t.pValue).toBeGreaterThanOrEqual(0);
      expect(t.pValue).toBeLessThanOrEqual(1);
      expect(t.variance).toBeGreaterThanOrEqual(0);
      expect(t.ci[0]).toBeLessThanOrEqual(t.difference);
      expect(t.ci[1]).toBeGreaterThanOrEqual(t.difference);
      // p < 1 − confidence exactly when the interval excludes 0
      if (Math.abs(t.pValue - (1 - confidence)) > 1e-9) expect(t.pValue < 1 - confidence).toBe(t.ci[0] > 0 || t.ci[1] < 0);
    },
  );
});

/** Replays the documented stratified resampling (negatives, then positives) independently. */
function replayResamples(labels: number[], numResamples: number, seed: number): number[][] {
  const rng = new Random(seed);
  const strata = [0, 1].map((cls) => labels.flatMap((y, i) => (y === cls ? [i] : [])));
  return Array.from({ length: numResamples }, () =>
    strata.flatMap((members) => members.map(() => members[rng.int(members.length)]!)),
  );
}

describe('pairedBootstrap', () => {
  const { labels, a, b } = correlatedPair(5, 150, 0.35, 1.2, 0.9);

  it('is metric(A) − metric(B) on the same documented stratified resamples, summarised as documented', () => {
    const r = pairedBootstrap(labels, a, b, { numResamples: 300, seed: 9, confidence: 0.9, returnSamples: true });
    const replicates = replayResamples(labels, 300, 9).map((idx) => {
      const y = idx.map((i) => labels[i]!);
      return rocAuc(y, idx.map((i) => a[i]!)) - rocAuc(y, idx.map((i) => b[i]!));
    });
    expect(Array.from(r.samples!)).toEqual(replicates);
    const mean = replicates.reduce((x, y) => x + y, 0) / 300;
    const sd = Math.sqrt(replicates.reduce((acc, x) => acc + (x - mean) ** 2, 0) / 299);
    const below = replicates.filter((v) => v <= 0).length / 300;
    const above = replicates.filter((v) => v >= 0).length / 300;
    expect(r.estimateA).toBe(rocAuc(labels, a));
    expect(r.estimateB).toBe(rocAuc(labels, b));
    expect(r.estimate).toBe(r.estimateA - r.estimateB);
    expect(r.mean).toBeCloseTo(mean, 14);
    expect(r.standardError).toBeCloseTo(sd, 14);
    expect(r.ci[0]).toBeCloseTo(quantile(replicates, 0.05), 14);
    expect(r.ci[1]).toBeCloseTo(quantile(replicates, 0.95), 14);
    expect(r.pValue).toBe(Math.min(1, 2 * Math.min(below, above)));
    expect(r).toMatchObject({ confidence: 0.9, numResamples: 300, numValid: 300, numDegenerate: 0, seed: 9 });
  });

  it('draws exactly the resamples of bootstrapCi under the same seed (B constant: Δ* = AUC_A* − ½)', () => {
    const constant = labels.map(() => 0.5);
    const paired = pairedBootstrap(labels, a, constant, { numResamples: 400, seed: 2 });
    const single = bootstrapCi(labels, a, rocAuc, { numResamples: 400, seed: 2 });
    expect(paired.ci[0]).toBeCloseTo(single.lower - 0.5, 14);
    expect(paired.ci[1]).toBeCloseTo(single.upper - 0.5, 14);
  });

  it('defaults to rocAuc, 2000 resamples, 95 % and seed 0, without samples', () => {
    const r = pairedBootstrap(labels, a, b);
    expect(r).toMatchObject({ numResamples: 2000, confidence: 0.95, seed: 0, estimate: rocAuc(labels, a) - rocAuc(labels, b) });
    expect(r.samples).toBeUndefined();
    expect(pairedBootstrap(labels, a, b, { metric: rocAuc, numResamples: 2000, confidence: 0.95, seed: 0 })).toEqual(r);
  });

  it('bootstraps any metric: average precision, and the Brier score through a wrapper', () => {
    const ap = pairedBootstrap(labels, a, b, { metric: averagePrecision, numResamples: 200, seed: 1 });
    expect(ap.estimate).toBe(averagePrecision(labels, a) - averagePrecision(labels, b));
    const sigmoid = (s: ArrayLike<number>) => Float64Array.from(s, (v) => 1 / (1 + Math.exp(-v)));
    const brier = (y: Uint8Array, s: Float64Array) => brierScore(y, sigmoid(s));
    const br = pairedBootstrap(labels, a, b, { metric: brier, numResamples: 200, seed: 1 });
    expect(br.estimate).toBeCloseTo(brierScore(labels, sigmoid(a)) - brierScore(labels, sigmoid(b)), 15);
    expect(br.ci[0]).toBeLessThan(br.ci[1]);
  });

  it('is reproducible under a seed and changes with it', () => {
    const first = pairedBootstrap(labels, a, b, { numResamples: 200, seed: 4 });
    expect(pairedBootstrap(labels, a, b, { numResamples: 200, seed: 4 })).toEqual(first);
    expect(pairedBootstrap(labels, a, b, { numResamples: 200, seed: 5 }).ci).not.toEqual(first.ci);
  });

  it('skips and counts degenerate resamples, which are NaN in samples', () => {
    let calls = 0;
    const flaky = (y: Uint8Array, s: Float64Array) => {
      calls++;
      if (calls > 2 && calls % 7 === 0) throw new VdafmError('undefined on this resample');
      return calls % 11 === 0 ? Number.NaN : rocAuc(y, s);
    };
    const r = pairedBootstrap(labels, a, b, { metric: flaky, numResamples: 100, returnSamples: true });
    const nan = Array.from(r.samples!).filter(Number.isNaN).length;
    expect(nan).toBeGreaterThan(0);
    expect(r.numDegenerate).toBe(nan);
    expect(r.numValid).toBe(100 - nan);
    expect(Number.isFinite(r.mean) && Number.isFinite(r.pValue)).toBe(true);
    // an error that is not vdafm's propagates
    expect(() => pairedBootstrap(labels, a, b, { metric: () => { throw new TypeError('bug'); } })).toThrow(TypeError);
  });

  it('with identical models: Δ 0, SE 0, CI [0, 0] and p 1 (replicates at 0 count in both tails)', () => {
    const r = pairedBootstrap(labels, a, a, { numResamples: 100 });
    expect([r.estimate, r.mean, r.standardError, ...r.ci, r.pValue]).toEqual([0, 0, 0, 0, 0, 1]);
  });

  fcTest.prop([pairedSample(30), fc.integer({ min: 0, max: 1000 })], { numRuns: 50 })(
    'swapping A and B negates the estimate and the interval and keeps the SE and p',
    ({ labels: y, a: sa, b: sb }, seed) => {
      const ab = pairedBootstrap(y, sa, sb, { numResamples: 60, seed });
      const ba = pairedBootstrap(y, sb, sa, { numResamples: 60, seed });
      expect(ba.estimate === -ab.estimate).toBe(true);
      expect(ba.pValue).toBe(ab.pValue);
      expect(ba.standardError).toBeCloseTo(ab.standardError, 14);
      expect(ba.ci[0]).toBeCloseTo(-ab.ci[1], 14);
      expect(ba.ci[1]).toBeCloseTo(-ab.ci[0], 14);
      expect(ab.pValue).toBeGreaterThanOrEqual(0);
      expect(ab.pValue).toBeLessThanOrEqual(1);
    },
  );
});

describe('minimumDetectableDifference', () => {
  it('is (z₁₋α/₂ + z₁₋β) · SE', () => {
    expect(minimumDetectableDifference(1)).toBeCloseTo(1.959963984540054 + 0.8416212335729143, 14);
    expect(minimumDetectableDifference(0.02, { alpha: 0.01, power: 0.9 })).toBeCloseTo(0.02 * (2.5758293035489004 + 1.2815515655446004), 15);
    expect(minimumDetectableDifference(0.1, { power: 0.5 })).toBeCloseTo(0.1959963984540054, 15);
    expect(minimumDetectableDifference(0)).toBe(0);
  });

  it('a true difference of that size is detected with the requested power (normal approximation)', () => {
    for (const power of [0.5, 0.8, 0.9]) {
      const se = 0.013;
      const shift = minimumDetectableDifference(se, { power }) / se;
      const critical = normalUpperQuantile(0.025);
      const detected = normalUpperTail(critical - shift) + normalUpperTail(critical + shift);
      // the far tail adds a little (≤ 0.025 at power 0.5, ~1e-9 at 0.8)
      expect(detected).toBeGreaterThanOrEqual(power);
      expect(detected).toBeLessThan(power + (power === 0.5 ? 0.025 : 1e-6));
    }
  });
});

describe('the TSDoc examples print what they say', () => {
  it('delongTest, delongVariance, pairedBootstrap, minimumDetectableDifference', () => {
    const labels = [0, 0, 0, 1, 1, 1];
    const t = delongTest(labels, [0.1, 0.3, 0.6, 0.4, 0.8, 0.9], [0.2, 0.1, 0.3, 0.35, 0.6, 0.7]);
    expect([t.aucA, t.aucB, t.difference, t.z, t.standardError, t.pValue].map((v) => v.toFixed(4))).toEqual([
      '0.8889',
      '1.0000',
      '-0.1111',
      '-0.7071',
      '0.1571',
      '0.4795',
    ]);
    const v = delongVariance([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.8, 0.9]);
    expect([v.auc, v.standardError, ...v.ci].map((x) => x.toFixed(4))).toEqual(['0.8889', '0.1571', '0.5809', '1.0000']);
    const r = pairedBootstrap([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.5, 0.7, 0.8, 0.9], [0.2, 0.1, 0.5, 0.4, 0.3, 0.6, 0.45, 0.7], {
      numResamples: 500,
      seed: 1,
    });
    expect([r.estimate, r.estimateA, r.estimateB, ...r.ci, r.pValue]).toEqual([0.125, 0.9375, 0.8125, 0, 0.5, 0.644]);
    expect(minimumDetectableDifference(0.0143).toFixed(5)).toBe('0.04006');
    expect(minimumDetectableDifference(0.0143, { power: 0.9 }).toFixed(5)).toBe('0.04635');
  });
});

describe('bad inputs throw typed errors naming the argument', () => {
  const y = [0, 1, 0, 1, 0, 1];
  const s = [0.1, 0.9, 0.3, 0.7, 0.2, 0.4];

  it('delongTest and delongVariance', () => {
    expectArgumentError(() => delongTest([0, 2, 1, 0], [1, 2, 3, 4], [1, 2, 3, 4]), InvalidArgumentError, 'labels');
    expectArgumentError(() => delongTest([], [], []), InvalidArgumentError, 'labels');
    expectArgumentError(() => delongTest([1, 1, 1, 1], [1, 2, 3, 4], [1, 2, 3, 4]), InvalidArgumentError, 'labels');
    expectArgumentError(() => delongTest([0, 0, 0, 1], [1, 2, 3, 4], [1, 2, 3, 4]), InvalidArgumentError, 'labels');
    expectArgumentError(() => delongTest(y, s.slice(1), s), ShapeError, 'scoresA');
    expectArgumentError(() => delongTest(y, s, [...s, 0.5]), ShapeError, 'scoresB');
    expectArgumentError(() => delongTest(y, [0.1, NaN, 0.3, 0.7, 0.2, 0.4], s), InvalidArgumentError, 'scoresA');
    expectArgumentError(() => delongTest(y, s, [0.1, 0.9, Infinity, 0.7, 0.2, 0.4]), InvalidArgumentError, 'scoresB');
    expectArgumentError(() => delongTest(y, s, 'scores' as never), InvalidArgumentError, 'scoresB');
    expectArgumentError(() => delongTest(y, s, s, 0.95 as never), InvalidArgumentError, 'options');
    for (const confidence of [0, 1, 1.5, Number.NaN, '0.95']) {
      expectArgumentError(() => delongTest(y, s, s, { confidence: confidence as number }), InvalidArgumentError, 'options.confidence');
    }
    expectArgumentError(() => delongVariance(y, s.slice(2)), ShapeError, 'scores');
    expectArgumentError(() => delongVariance([0, 0, 1], [1, 2, 3]), InvalidArgumentError, 'labels');
    expectArgumentError(() => delongVariance(y, s, { confidence: -0.5 }), InvalidArgumentError, 'options.confidence');
  });

  it('the messages say what was expected and received', () => {
    expect(() => delongTest(y, s.slice(1), s)).toThrow(/scoresA must have one entry per label \(labels\.length=6\).*scoresA\.shape=\[5\]/);
    expect(() => delongTest([0, 0, 0, 1, 0], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])).toThrow(/at least 2 positives and 2 negatives.*1 positives, 4 negatives/);
    expect(() => delongTest([1, 1, 1, 1], [1, 2, 3, 4], [1, 2, 3, 4])).toThrow(/single class \(no negatives among 4\)/);
  });

  it('pairedBootstrap', () => {
    expectArgumentError(() => pairedBootstrap([0, 1, 0.5], [1, 2, 3], [1, 2, 3]), InvalidArgumentError, 'labels');
    expectArgumentError(() => pairedBootstrap([1, 1, 1], [1, 2, 3], [1, 2, 3]), InvalidArgumentError, 'labels');
    expectArgumentError(() => pairedBootstrap(y, s.slice(1), s), ShapeError, 'scoresA');
    expectArgumentError(() => pairedBootstrap(y, s, s.slice(1)), ShapeError, 'scoresB');
    expectArgumentError(() => pairedBootstrap(y, [0.1, 0.9, 0.3, 0.7, 0.2, -Infinity], s), InvalidArgumentError, 'scoresA');
    expectArgumentError(() => pairedBootstrap(y, s, [NaN, 0.9, 0.3, 0.7, 0.2, 0.4]), InvalidArgumentError, 'scoresB');
    expectArgumentError(() => pairedBootstrap(y, s, s, [] as never), InvalidArgumentError, 'options');
    expectArgumentError(() => pairedBootstrap(y, s, s, { metric: 'rocAuc' as never }), InvalidArgumentError, 'options.metric');
    for (const numResamples of [0, -5, 1.5, Number.NaN]) {
      expectArgumentError(() => pairedBootstrap(y, s, s, { numResamples }), InvalidArgumentError, 'options.numResamples');
    }
    expectArgumentError(() => pairedBootstrap(y, s, s, { confidence: 95 }), InvalidArgumentError, 'options.confidence');
    expectArgumentError(() => pairedBootstrap(y, s, s, { seed: Infinity }), InvalidArgumentError, 'options.seed');
    expectArgumentError(() => pairedBootstrap(y, s, s, { seed: '1' as never }), InvalidArgumentError, 'options.seed');
    expectArgumentError(() => pairedBootstrap(y, s, s, { returnSamples: 1 as never }), InvalidArgumentError, 'options.returnSamples');
  });

  it('minimumDetectableDifference', () => {
    for (const se of [-0.01, Number.NaN, Infinity, '0.1']) {
      expectArgumentError(() => minimumDetectableDifference(se as number), InvalidArgumentError, 'standardError');
    }
    expectArgumentError(() => minimumDetectableDifference(0.01, 'x' as never), InvalidArgumentError, 'options');
    expectArgumentError(() => minimumDetectableDifference(0.01, { alpha: 0 }), InvalidArgumentError, 'options.alpha');
    expectArgumentError(() => minimumDetectableDifference(0.01, { alpha: 1 }), InvalidArgumentError, 'options.alpha');
    expectArgumentError(() => minimumDetectableDifference(0.01, { power: 1 }), InvalidArgumentError, 'options.power');
    expectArgumentError(() => minimumDetectableDifference(0.01, { power: Number.NaN }), InvalidArgumentError, 'options.power');
  });
});
