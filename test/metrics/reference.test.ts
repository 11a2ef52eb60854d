// Every metric against scikit-learn 1.2 / numpy reference values
// (test/fixtures/metrics/make_metrics_fixture.py → metrics_reference.json), to 1e-9.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmaxRows,
  averagePrecision,
  balancedAccuracy,
  brierScore,
  calibrationCurve,
  confusionMatrix,
  evaluateBinary,
  expectedCalibrationError,
  f1Score,
  multiclassAccuracy,
  multiclassBalancedAccuracy,
  multiclassConfusionMatrix,
  precision,
  precisionRecallCurve,
  quantile,
  rocAuc,
  rocAucOneVsRest,
  rocCurve,
  sensitivity,
  specificity,
  thresholdMetrics,
  youdenThreshold,
  type ThresholdMetrics,
} from '../../src/index.js';

type Num = number | null; // null = NaN (or +Infinity for a curve's first threshold)
interface AtThreshold {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  balancedAccuracy: Num;
  sensitivity: Num;
  specificity: Num;
  precision: Num;
  npv: Num;
  f1: Num;
}
interface Reliability {
  numBins: number;
  ece: number;
  binIndex: number[];
  count: number[];
  meanPredicted: number[];
  fractionPositive: number[];
  binLower: number[];
  binUpper: number[];
  sklearnCalibrationCurve?: { fractionPositive: number[]; meanPredicted: number[] };
}
interface BinaryCase {
  name: string;
  labels: number[];
  scores: number[];
  rocAuc: number;
  averagePrecision: number;
  brier: number;
  rocCurve: { fpr: number[]; tpr: number[]; thresholds: Num[] };
  rocCurveDropped: { fpr: number[]; tpr: number[]; thresholds: Num[] };
  prCurve: { precision: number[]; recall: number[]; thresholds: Num[] };
  youden: { threshold: number; j: number; sensitivity: number; specificity: number };
  atThreshold: AtThreshold;
  atYouden: AtThreshold;
  calibration: Reliability[];
}
interface MulticlassCase {
  name: string;
  labels: number[];
  scores: number[][];
  macroOvrAuc: number;
  perClassAuc: number[];
  predictions: number[];
  accuracy: number;
  balancedAccuracy: number;
  confusionMatrix: number[][];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/metrics/metrics_reference.json', import.meta.url), 'utf8'),
) as {
  generatedBy: string;
  sklearn: string;
  binary: BinaryCase[];
  multiclass: MulticlassCase[];
  percentiles: { values: number[]; q: number[]; expected: number[] };
};

const TOL = 1e-9;

/** Expects |a − e| ≤ 1e-9 element-wise; `null` in the fixture means NaN (or +Infinity with `nullIs`). */
function expectClose(actual: number | ArrayLike<number>, expected: Num | ReadonlyArray<Num>, what: string, nullIs = Number.NaN): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = (Array.isArray(expected) ? expected : [expected]) as Num[];
  expect(a.length, `${what}: length`).toBe(e.length);
  e.forEach((ev, i) => {
    const av = a[i]!;
    const want = ev === null ? nullIs : ev;
    if (Number.isNaN(want) || !Number.isFinite(want)) expect(av, `${what}[${i}]`).toBe(want);
    else expect(Math.abs(av - want), `${what}[${i}]: got ${av}, want ${want}`).toBeLessThanOrEqual(TOL);
  });
}

function expectThresholdMetrics(m: ThresholdMetrics, ref: AtThreshold, what: string): void {
  expect(m.threshold).toBe(ref.threshold);
  expect(m.confusion, `${what} confusion`).toEqual({ threshold: ref.threshold, tp: ref.tp, fp: ref.fp, tn: ref.tn, fn: ref.fn });
  expectClose(m.accuracy, ref.accuracy, `${what} accuracy`);
  expectClose(m.balancedAccuracy, ref.balancedAccuracy, `${what} balancedAccuracy`);
  expectClose(m.sensitivity, ref.sensitivity, `${what} sensitivity`);
  expectClose(m.specificity, ref.specificity, `${what} specificity`);
  expectClose(m.precision, ref.precision, `${what} precision`);
  expectClose(m.npv, ref.npv, `${what} npv`);
  expectClose(m.f1, ref.f1, `${what} f1`);
}

describe('metrics vs scikit-learn 1.2', () => {
  it('uses a fixture that says which script made it', () => {
    expect(fixture.generatedBy).toBe('test/fixtures/metrics/make_metrics_fixture.py');
    expect(fixture.sklearn.startsWith('1.2')).toBe(true);
    expect(fixture.binary.length).toBeGreaterThanOrEqual(10);
  });

  for (const c of fixture.binary) {
    describe(c.name, () => {
      it('ROC-AUC, average precision and Brier score', () => {
        expectClose(rocAuc(c.labels, c.scores), c.rocAuc, 'rocAuc');
        expectClose(averagePrecision(c.labels, c.scores), c.averagePrecision, 'averagePrecision');
        expectClose(brierScore(c.labels, c.scores), c.brier, 'brier');
        // typed-array inputs give the same numbers
        expectClose(rocAuc(Int32Array.from(c.labels), Float64Array.from(c.scores)), c.rocAuc, 'rocAuc typed');
      });

      it('ROC curve (all points and with intermediate points dropped) and PR curve', () => {
        const full = rocCurve(c.labels, c.scores, { dropIntermediate: false });
        expectClose(full.fpr, c.rocCurve.fpr, 'fpr');
        expectClose(full.tpr, c.rocCurve.tpr, 'tpr');
        expectClose(full.thresholds, c.rocCurve.thresholds, 'thresholds', Number.POSITIVE_INFINITY);
        const dropped = rocCurve(c.labels, c.scores);
        expectClose(dropped.fpr, c.rocCurveDropped.fpr, 'dropped fpr');
        expectClose(dropped.tpr, c.rocCurveDropped.tpr, 'dropped tpr');
        expectClose(dropped.thresholds, c.rocCurveDropped.thresholds, 'dropped thresholds', Number.POSITIVE_INFINITY);
        const pr = precisionRecallCurve(c.labels, c.scores);
        expectClose(pr.precision, c.prCurve.precision, 'pr precision');
        expectClose(pr.recall, c.prCurve.recall, 'pr recall');
        expectClose(pr.thresholds, c.prCurve.thresholds, 'pr thresholds', Number.POSITIVE_INFINITY);
      });

      it("Youden's J threshold", () => {
        const y = youdenThreshold(c.labels, c.scores);
        expect(y.threshold).toBe(c.youden.threshold);
        expectClose(y.j, c.youden.j, 'j');
        expectClose(y.sensitivity, c.youden.sensitivity, 'sensitivity');
        expectClose(y.specificity, c.youden.specificity, 'specificity');
      });

      it('threshold metrics at the given threshold and at Youden', () => {
        const t = c.atThreshold.threshold;
        expectThresholdMetrics(thresholdMetrics(c.labels, c.scores, { threshold: t }), c.atThreshold, 'atThreshold');
        expectThresholdMetrics(thresholdMetrics(c.labels, c.scores, { threshold: c.atYouden.threshold }), c.atYouden, 'atYouden');
        const cm = confusionMatrix(c.labels, c.scores, { threshold: t });
        expect([cm.tp, cm.fp, cm.tn, cm.fn]).toEqual([c.atThreshold.tp, c.atThreshold.fp, c.atThreshold.tn, c.atThreshold.fn]);
        expectClose(accuracy(c.labels, c.scores, { threshold: t }), c.atThreshold.accuracy, 'accuracy');
        expectClose(balancedAccuracy(c.labels, c.scores, { threshold: t }), c.atThreshold.balancedAccuracy, 'balancedAccuracy');
        expectClose(sensitivity(c.labels, c.scores, { threshold: t }), c.atThreshold.sensitivity, 'sensitivity');
        expectClose(specificity(c.labels, c.scores, { threshold: t }), c.atThreshold.specificity, 'specificity');
        expectClose(precision(c.labels, c.scores, { threshold: t }), c.atThreshold.precision, 'precision');
        expectClose(f1Score(c.labels, c.scores, { threshold: t }), c.atThreshold.f1, 'f1');
      });

      it('calibration curve and ECE', () => {
        for (const r of c.calibration) {
          const curve = calibrationCurve(c.labels, c.scores, { numBins: r.numBins });
          expect(Array.from(curve.binIndex)).toEqual(r.binIndex);
          expect(Array.from(curve.count)).toEqual(r.count);
          expectClose(curve.meanPredicted, r.meanPredicted, `meanPredicted M=${r.numBins}`);
          expectClose(curve.fractionPositive, r.fractionPositive, `fractionPositive M=${r.numBins}`);
          expectClose(curve.binLower, r.binLower, 'binLower');
          expectClose(curve.binUpper, r.binUpper, 'binUpper');
          expectClose(curve.ece, r.ece, `ece M=${r.numBins}`);
          expectClose(expectedCalibrationError(c.labels, c.scores, { numBins: r.numBins }), r.ece, 'ece');
          if (r.sklearnCalibrationCurve) {
            // no score on a bin edge: sklearn's calibration_curve agrees with our binning
            expectClose(curve.meanPredicted, r.sklearnCalibrationCurve.meanPredicted, 'sklearn prob_pred');
            expectClose(curve.fractionPositive, r.sklearnCalibrationCurve.fractionPositive, 'sklearn prob_true');
          }
        }
      });

      it('evaluateBinary agrees with the reference', () => {
        const ev = evaluateBinary(c.labels, c.scores, { threshold: c.atThreshold.threshold, numBins: c.calibration[0]!.numBins });
        expectClose(ev.rocAuc, c.rocAuc, 'rocAuc');
        expectClose(ev.averagePrecision, c.averagePrecision, 'averagePrecision');
        expectClose(ev.brier, c.brier, 'brier');
        expectClose(ev.ece, c.calibration[0]!.ece, 'ece');
        expect(ev.youden.threshold).toBe(c.youden.threshold);
        expectThresholdMetrics(ev.atThreshold, c.atThreshold, 'atThreshold');
        expectThresholdMetrics(ev.atYouden, c.atYouden, 'atYouden');
        expectClose(ev.rocCurve.fpr, c.rocCurveDropped.fpr, 'rocCurve fpr');
        expect(ev.n).toBe(c.labels.length);
        expect(ev.numPositive).toBe(c.labels.filter((v) => v === 1).length);
        expect(ev.ci).toBeNull();
      });
    });
  }

  for (const c of fixture.multiclass) {
    it(`multi-class: ${c.name}`, () => {
      const auc = rocAucOneVsRest(c.labels, c.scores);
      expectClose(auc.macro, c.macroOvrAuc, 'macro OvR AUC');
      expectClose(auc.perClass, c.perClassAuc, 'per-class AUC');
      const pred = argmaxRows(c.scores);
      expect(Array.from(pred)).toEqual(c.predictions);
      expectClose(multiclassAccuracy(c.labels, pred), c.accuracy, 'accuracy');
      expectClose(multiclassBalancedAccuracy(c.labels, pred), c.balancedAccuracy, 'balancedAccuracy');
      expect(multiclassConfusionMatrix(c.labels, pred, { numClasses: c.scores[0]!.length })).toEqual(c.confusionMatrix);
    });
  }

  it("quantile matches numpy's default (linear) percentile", () => {
    const p = fixture.percentiles;
    p.q.forEach((q, i) => expectClose(quantile(p.values, q), p.expected[i]!, `q=${q}`));
  });
});

describe('hand-computed values', () => {
  it('ROC-AUC counts ties as ½ (Mann–Whitney with mid-ranks)', () => {
    // pairs (pos, neg): 0.8>0.1, 0.8>0.4, 0.35>0.1, 0.35<0.4 → 3/4
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    // one tie among 4 pairs: (0.5 vs 0.5) = ½, the rest wins → 3.5/4
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.8])).toBe(0.875);
    expect(rocAuc([1, 0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3, 0.3])).toBe(0.5);
  });

  it('average precision is Σ (Rₖ − Rₖ₋₁)·Pₖ', () => {
    expect(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.5 * 1 + 0.5 * (2 / 3), 15);
    // all positive: AP = 1; constant scores: AP = prevalence
    expect(averagePrecision([1, 1, 1], [0.2, 0.5, 0.9])).toBe(1);
    expect(averagePrecision([1, 0, 0, 0], [0.4, 0.4, 0.4, 0.4])).toBe(0.25);
  });

  it('Brier, ECE and calibration curve', () => {
    expect(brierScore([0, 1, 1], [0.1, 0.9, 0.6])).toBeCloseTo(0.06, 15);
    expect(expectedCalibrationError([0, 0, 1, 1], [0.1, 0.15, 0.8, 0.6], { numBins: 2 })).toBeCloseTo(0.2125, 15);
    // p = 1 goes to the last bin, p = 0.5 to the upper of two bins
    const c = calibrationCurve([1, 0, 1], [1, 0.5, 0.49], { numBins: 2 });
    expect(Array.from(c.binIndex)).toEqual([0, 1]);
    expect(Array.from(c.count)).toEqual([1, 2]);
    expect(Array.from(c.meanPredicted)).toEqual([0.49, 0.75]);
    expect(Array.from(c.fractionPositive)).toEqual([1, 0.5]);
    // a perfectly calibrated bin structure gives ECE 0
    expect(expectedCalibrationError([0, 1, 0, 1, 1, 1], [0.5, 0.5, 0.95, 0.95, 0.95, 0.95], { numBins: 2 })).toBeCloseTo(
      (2 / 6) * 0 + (4 / 6) * Math.abs(0.75 - 0.95),
      15,
    );
  });

  it('threshold metrics use score ≥ threshold and give NaN for a zero denominator', () => {
    const m = thresholdMetrics([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5]);
    expect(m.confusion).toEqual({ threshold: 0.5, tp: 1, fp: 1, tn: 1, fn: 1 });
    const none = thresholdMetrics([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.5], { threshold: 0.9 });
    expect(none.precision).toBeNaN();
    expect(none.sensitivity).toBe(0);
    expect(none.f1).toBe(0);
    const negativesOnly = thresholdMetrics([0, 0], [0.2, 0.7]);
    expect(negativesOnly.sensitivity).toBeNaN();
    expect(negativesOnly.balancedAccuracy).toBeNaN();
    expect(negativesOnly.specificity).toBe(0.5);
    expect(thresholdMetrics([0, 0], [0.2, 0.3]).f1).toBeNaN();
  });

  it('accepts typed arrays (e.g. from tensor.data()) like plain arrays', () => {
    const probs = Float32Array.of(0.1, 0.4, 0.35, 0.8, 0.35);
    const labels = Uint8Array.of(0, 0, 1, 1, 0);
    const plain = Array.from(probs);
    expect(rocAuc(labels, probs)).toBe(rocAuc([0, 0, 1, 1, 0], plain));
    // 0.8 beats all 3 negatives; 0.35 beats 0.1, ties 0.35, loses to 0.4 → 4.5 / 6
    expect(rocAuc(labels, probs)).toBe(4.5 / 6);
    expect(evaluateBinary(labels, probs).brier).toBe(brierScore([0, 0, 1, 1, 0], plain));
  });

  it('macro one-vs-rest AUC averages the per-class AUCs', () => {
    const auc = rocAucOneVsRest([0, 1, 2, 1], [
      [0.8, 0.1, 0.1],
      [0.2, 0.5, 0.3],
      [0.1, 0.3, 0.6],
      [0.3, 0.4, 0.3],
    ]);
    expect(Array.from(auc.perClass)).toEqual([1, 1, 1]);
    const auc2 = rocAucOneVsRest([0, 1, 0, 1], [
      [0.6, 0.4],
      [0.3, 0.7],
      [0.2, 0.8],
      [0.5, 0.5],
    ]);
    // class 1 column: positives 0.7, 0.5 vs negatives 0.4, 0.8 → (1 + 0 + 1 + 0) / 4
    expect(auc2.perClass[1]).toBe(0.5);
    expect(auc2.macro).toBe((auc2.perClass[0]! + 0.5) / 2);
  });
});
