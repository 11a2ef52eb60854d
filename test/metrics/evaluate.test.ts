// evaluateBinary (consistency with the single metrics and the bootstrap) and formatMetricsTable.
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import {
  averagePrecision,
  bootstrapCi,
  brierScore,
  calibrationCurve,
  evaluateBinary,
  expectedCalibrationError,
  f1Score,
  formatMetricsTable,
  rocAuc,
  rocCurve,
  sensitivity,
  specificity,
  thresholdMetrics,
  youdenThreshold,
  type BinaryEvaluation,
} from '../../src/index.js';

function cohort(seed: number, n: number) {
  const rng = new Random(seed);
  const labels = Array.from({ length: n }, () => (rng.bernoulli(0.3) ? 1 : 0));
  const scores = labels.map((y) => 1 / (1 + Math.exp(-rng.normal(y === 1 ? 0.7 : -1, 1.2))));
  return { labels, scores };
}

describe('evaluateBinary', () => {
  const { labels, scores } = cohort(8, 300);

  it('equals the single metrics', () => {
    const ev = evaluateBinary(labels, scores, { threshold: 0.4, numBins: 8 });
    expect(ev.rocAuc).toBe(rocAuc(labels, scores));
    expect(ev.averagePrecision).toBe(averagePrecision(labels, scores));
    expect(ev.brier).toBe(brierScore(labels, scores));
    expect(ev.ece).toBe(expectedCalibrationError(labels, scores, { numBins: 8 }));
    expect(ev.youden).toEqual(youdenThreshold(labels, scores));
    expect(ev.atThreshold).toEqual(thresholdMetrics(labels, scores, { threshold: 0.4 }));
    expect(ev.atYouden).toEqual(thresholdMetrics(labels, scores, { threshold: ev.youden.threshold }));
    expect(ev.rocCurve).toEqual(rocCurve(labels, scores));
    expect(ev.calibrationCurve).toEqual(calibrationCurve(labels, scores, { numBins: 8 }));
    expect(ev.n).toBe(300);
    expect(ev.numPositive + ev.numNegative).toBe(300);
    expect(ev.prevalence).toBe(ev.numPositive / 300);
    expect(ev.ci).toBeNull();
    // the Youden point reproduces its own sensitivity/specificity at score ≥ threshold
    expect(ev.atYouden.sensitivity).toBeCloseTo(ev.youden.sensitivity, 15);
    expect(ev.atYouden.specificity).toBeCloseTo(ev.youden.specificity, 15);
  });

  it('bootstraps every scalar metric from the same resamples as bootstrapCi', () => {
    const bootstrap = { numResamples: 300, seed: 9, confidence: 0.9 };
    const ev = evaluateBinary(labels, scores, { threshold: 0.4, bootstrap });
    const ci = ev.ci!;
    const t = ev.youden.threshold;
    expect(ci.rocAuc).toEqual(bootstrapCi(labels, scores, rocAuc, bootstrap));
    expect(ci.averagePrecision).toEqual(bootstrapCi(labels, scores, averagePrecision, bootstrap));
    expect(ci.brier).toEqual(bootstrapCi(labels, scores, brierScore, bootstrap));
    expect(ci.ece).toEqual(bootstrapCi(labels, scores, (l, s) => expectedCalibrationError(l, s), bootstrap));
    expect(ci.sensitivityAtYouden).toEqual(bootstrapCi(labels, scores, (l, s) => sensitivity(l, s, { threshold: t }), bootstrap));
    expect(ci.specificityAtYouden).toEqual(bootstrapCi(labels, scores, (l, s) => specificity(l, s, { threshold: t }), bootstrap));
    expect(ci.f1).toEqual(bootstrapCi(labels, scores, (l, s) => f1Score(l, s, { threshold: 0.4 }), bootstrap));
    for (const r of Object.values(ci)) {
      expect(r.lower).toBeLessThanOrEqual(r.upper);
      expect(r.numValid + r.numDegenerate).toBe(300);
    }
  });

  it('uses the bootstrap defaults for bootstrap: true', () => {
    const { labels: y, scores: s } = cohort(2, 60);
    const ci = evaluateBinary(y, s, { bootstrap: true }).ci!;
    expect(ci.rocAuc).toMatchObject({ numResamples: 1000, seed: 0, confidence: 0.95 });
    expect(ci.rocAuc).toEqual(bootstrapCi(y, s, rocAuc));
    expect(evaluateBinary(y, s, { bootstrap: false }).ci).toBeNull();
  });
});

describe('formatMetricsTable', () => {
  it('renders a hand-checked row', () => {
    // AUC 3/4, AP 0.5·1 + 0.5·2/3, Youden at 0.8 (sens 1/2, spec 1),
    // Brier (0.01 + 0.16 + 0.4225 + 0.04)/4 = 0.158125, ECE (0.1 + 0.4 + 0.65 + 0.2)/4 = 0.3375 (0.33749999… in binary)
    const ev = evaluateBinary([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(formatMetricsTable([{ name: 'a|b', evaluation: ev }])).toBe(
      [
        '| Model | n (pos) |   AUC | AUPRC | Sens @ Youden | Spec @ Youden | Brier |   ECE |',
        '| :---- | ------: | ----: | ----: | ------------: | ------------: | ----: | ----: |',
        '| a\\|b  |   4 (2) | 0.750 | 0.833 |         0.500 |         1.000 | 0.158 | 0.337 |',
      ].join('\n'),
    );
  });

  it('shows the bootstrap CI in the AUC column, n/a for undefined values, and the CI level in the header', () => {
    const { labels, scores } = cohort(4, 120);
    const withCi = evaluateBinary(labels, scores, { bootstrap: { numResamples: 200, seed: 1 } });
    const lines = formatMetricsTable([{ name: 'tri-modal', evaluation: withCi }], { digits: 2 }).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('AUC [95% CI]');
    const r = withCi.ci!.rocAuc;
    expect(lines[2]).toContain(`${r.estimate.toFixed(2)} [${r.lower.toFixed(2)}, ${r.upper.toFixed(2)}]`);
    expect(lines[2]).toContain(`${labels.length} (${withCi.numPositive})`);

    const at90 = evaluateBinary(labels, scores, { bootstrap: { numResamples: 50, confidence: 0.9 } });
    expect(formatMetricsTable([{ name: 'x', evaluation: at90 }])).toContain('AUC [90% CI]');
    expect(formatMetricsTable([{ name: 'x', evaluation: at90 }, { name: 'y', evaluation: withCi }])).toContain('AUC [CI]');

    const broken: BinaryEvaluation = { ...withCi, brier: Number.NaN };
    expect(formatMetricsTable([{ name: 'x', evaluation: broken }]).split('\n')[2]).toMatch(/\| +n\/a \|/);
    expect(formatMetricsTable([])).toBe(
      '| Model | n (pos) | AUC | AUPRC | Sens @ Youden | Spec @ Youden | Brier | ECE |\n' +
        '| :---- | ------: | --: | ----: | ------------: | ------------: | ----: | --: |',
    );
  });
});
