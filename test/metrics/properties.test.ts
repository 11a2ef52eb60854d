// Invariants of the metrics, checked with fast-check.
import { describe, expect } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { Random } from '../../src/core/random.js';
import {
  averagePrecision,
  bootstrapCi,
  brierScore,
  expectedCalibrationError,
  rocAuc,
  rocCurve,
  youdenThreshold,
} from '../../src/index.js';

/** 0/1 labels with at least one of each class, and scores from a small grid (so ties happen). */
const gridSample = (maxLength = 40, levels = 20) =>
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: levels })), { minLength: 2, maxLength })
    .filter((rows) => rows.some(([y]) => y === 1) && rows.some(([y]) => y === 0))
    .map((rows) => ({ labels: rows.map(([y]) => y), ranks: rows.map(([, k]) => k), levels }));

/** Same, with arbitrary finite double scores. */
const doubleSample = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), {
    minLength: 2,
    maxLength: 60,
  })
  .filter((rows) => rows.some(([y]) => y === 1) && rows.some(([y]) => y === 0))
  .map((rows) => ({ labels: rows.map(([y]) => y), scores: rows.map(([, s]) => s) }));

/** Pairwise O(n²) Mann–Whitney count: an independent AUC implementation. */
function bruteForceAuc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((yi, i) => {
    if (yi !== 1) return;
    labels.forEach((yj, j) => {
      if (yj !== 0) return;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

const increasing: Array<[string, (x: number) => number]> = [
  ['exp(x / 3)', (x) => Math.exp(x / 3)],
  ['x³ − 5', (x) => x ** 3 - 5],
  ['7x + 0.25', (x) => 7 * x + 0.25],
  ['sigmoid((x − 10) / 4)', (x) => 1 / (1 + Math.exp(-(x - 10) / 4))],
  ['log(1 + x)', (x) => Math.log1p(x)],
];

describe('ROC-AUC properties', () => {
  fcTest.prop([doubleSample], { numRuns: 200 })('lies in [0, 1] and equals the pairwise Mann–Whitney count', ({ labels, scores }) => {
    const auc = rocAuc(labels, scores);
    expect(auc).toBeGreaterThanOrEqual(0);
    expect(auc).toBeLessThanOrEqual(1);
    expect(auc).toBeCloseTo(bruteForceAuc(labels, scores), 12);
  });

  fcTest.prop([gridSample(), fc.constantFrom(...increasing)], { numRuns: 200 })(
    'is invariant under a strictly increasing transform of the scores',
    ({ labels, ranks }, [, f]) => {
      expect(rocAuc(labels, ranks.map(f))).toBe(rocAuc(labels, ranks));
      expect(averagePrecision(labels, ranks.map(f))).toBe(averagePrecision(labels, ranks));
      expect(youdenThreshold(labels, ranks.map(f)).j).toBe(youdenThreshold(labels, ranks).j);
    },
  );

  fcTest.prop([gridSample()], { numRuns: 200 })('AUC(1 − s) = 1 − AUC(s)', ({ labels, ranks, levels }) => {
    const s = ranks.map((k) => k / levels);
    expect(rocAuc(labels, s.map((p) => 1 - p))).toBeCloseTo(1 - rocAuc(labels, s), 12);
  });

  fcTest.prop([gridSample(), fc.integer()], { numRuns: 200 })(
    'is invariant to a joint permutation of labels and scores',
    ({ labels, ranks }, seed) => {
      const order = new Random(seed).shuffle(labels.map((_, i) => i));
      const l2 = order.map((i) => labels[i]!);
      const s2 = order.map((i) => ranks[i]!);
      expect(rocAuc(l2, s2)).toBe(rocAuc(labels, ranks));
      expect(averagePrecision(l2, s2)).toBe(averagePrecision(labels, ranks));
      const a = rocCurve(labels, ranks);
      const b = rocCurve(l2, s2);
      expect(Array.from(b.fpr)).toEqual(Array.from(a.fpr));
      expect(Array.from(b.tpr)).toEqual(Array.from(a.tpr));
    },
  );

  fcTest.prop([gridSample()], { numRuns: 100 })('the ROC curve is monotone from (0,0) to (1,1) and its trapezoids give the AUC', ({ labels, ranks }) => {
    for (const dropIntermediate of [true, false]) {
      const { fpr, tpr } = rocCurve(labels, ranks, { dropIntermediate });
      expect([fpr[0], tpr[0], fpr[fpr.length - 1], tpr[tpr.length - 1]]).toEqual([0, 0, 1, 1]);
      let area = 0;
      for (let i = 1; i < fpr.length; i++) {
        expect(fpr[i]!).toBeGreaterThanOrEqual(fpr[i - 1]!);
        expect(tpr[i]!).toBeGreaterThanOrEqual(tpr[i - 1]!);
        area += ((fpr[i]! - fpr[i - 1]!) * (tpr[i]! + tpr[i - 1]!)) / 2;
      }
      expect(area).toBeCloseTo(rocAuc(labels, ranks), 12);
    }
  });
});

describe('calibration properties', () => {
  fcTest.prop(
    [
      fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 25 }),
    ],
    { numRuns: 200 },
  )('Brier score and ECE lie in [0, 1]', (rows, numBins) => {
    const labels = rows.map(([y]) => y);
    const scores = rows.map(([, p]) => p);
    const brier = brierScore(labels, scores);
    expect(brier).toBeGreaterThanOrEqual(0);
    expect(brier).toBeLessThanOrEqual(1);
    const ece = expectedCalibrationError(labels, scores, { numBins });
    expect(ece).toBeGreaterThanOrEqual(0);
    expect(ece).toBeLessThanOrEqual(1 + 1e-12);
  });

  fcTest.prop([fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 50 })], { numRuns: 50 })(
    'perfect predictions have Brier 0 and ECE 0',
    (labels) => {
      expect(brierScore(labels, labels)).toBe(0);
      expect(expectedCalibrationError(labels, labels)).toBe(0);
    },
  );
});

describe('bootstrap properties', () => {
  /** A "reasonable" sample: ≥ 15 of each class and some signal. */
  const reasonable = fc
    .record({ seed: fc.integer(), n: fc.integer({ min: 40, max: 120 }), shift: fc.double({ min: 0.3, max: 2, noNaN: true }) })
    .map(({ seed, n, shift }) => {
      const rng = new Random(seed);
      const labels = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
      const scores = labels.map((y) => 1 / (1 + Math.exp(-rng.normal(y * shift, 1))));
      return { labels, scores };
    });

  fcTest.prop([reasonable, fc.integer()], { numRuns: 8 })(
    'the AUC CI contains the point estimate and is reproducible under a seed',
    ({ labels, scores }, seed) => {
      const opts = { numResamples: 300, seed };
      const ci = bootstrapCi(labels, scores, rocAuc, opts);
      expect(ci.estimate).toBe(rocAuc(labels, scores));
      expect(ci.lower).toBeLessThanOrEqual(ci.estimate);
      expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate);
      expect(ci.numValid).toBe(300);
      expect(bootstrapCi(labels, scores, rocAuc, opts)).toEqual(ci);
      const brier = bootstrapCi(labels, scores, brierScore, opts);
      expect(brier.lower).toBeLessThanOrEqual(brier.estimate);
      expect(brier.upper).toBeGreaterThanOrEqual(brier.estimate);
    },
  );
});
