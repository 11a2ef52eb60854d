// Bad inputs: every metric throws vdafm's typed errors naming the argument.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import {
  accuracy,
  argmaxRows,
  averagePrecision,
  bootstrapCi,
  brierScore,
  calibrationCurve,
  confusionMatrix,
  evaluateBinary,
  expectedCalibrationError,
  formatMetricsTable,
  multiclassAccuracy,
  multiclassConfusionMatrix,
  precisionRecallCurve,
  quantile,
  rocAuc,
  rocAucOneVsRest,
  rocCurve,
  sensitivity,
  stratifiedBootstrap,
  youdenThreshold,
} from '../../src/index.js';
import { expectArgumentError, type ArgumentErrorClass } from '../helpers/errors.js';

/** Expects `fn` to throw a `kind` error naming `argument` (and its message to mention it). */
function expectError(fn: () => unknown, kind: ArgumentErrorClass<InvalidArgumentError | ShapeError>, argument: string, message?: RegExp): void {
  const error = expectArgumentError(fn, kind, argument);
  expect(error.message).toContain(argument);
  if (message) expect(error.message).toMatch(message);
}

const binaryMetrics: Array<[string, (l: ArrayLike<number>, s: ArrayLike<number>) => unknown]> = [
  ['rocAuc', rocAuc],
  ['rocCurve', (l, s) => rocCurve(l, s)],
  ['averagePrecision', averagePrecision],
  ['precisionRecallCurve', precisionRecallCurve],
  ['youdenThreshold', youdenThreshold],
  ['confusionMatrix', (l, s) => confusionMatrix(l, s)],
  ['accuracy', (l, s) => accuracy(l, s)],
  ['sensitivity', (l, s) => sensitivity(l, s)],
  ['brierScore', brierScore],
  ['expectedCalibrationError', (l, s) => expectedCalibrationError(l, s)],
  ['calibrationCurve', (l, s) => calibrationCurve(l, s)],
  ['evaluateBinary', (l, s) => evaluateBinary(l, s)],
  ['bootstrapCi', (l, s) => bootstrapCi(l, s, () => 0, { numResamples: 2 })],
];

describe('binary metric inputs', () => {
  for (const [name, f] of binaryMetrics) {
    it(`${name} rejects bad labels and scores with the argument named`, () => {
      expectError(() => f([0, 1, 1], [0.1, 0.2]), ShapeError, 'scores', /one entry per label \(labels\.length=3\)/);
      expectError(() => f([0, 1, 1], [0.1, Number.NaN, 0.3]), InvalidArgumentError, 'scores', /scores\[1\]/);
      expectError(() => f([0, 1, 1], [0.1, Number.POSITIVE_INFINITY, 0.3]), InvalidArgumentError, 'scores');
      expectError(() => f([0, 2, 1], [0.1, 0.2, 0.3]), InvalidArgumentError, 'labels', /only 0 \(negative\) and 1 \(positive\); labels\[1\]/);
      expectError(() => f([0, Number.NaN, 1], [0.1, 0.2, 0.3]), InvalidArgumentError, 'labels');
      expectError(() => f([0, 0.5, 1], [0.1, 0.2, 0.3]), InvalidArgumentError, 'labels');
      expectError(() => f(['0', '1'] as unknown as number[], [0.1, 0.2]), InvalidArgumentError, 'labels');
      expectError(() => f([], []), InvalidArgumentError, 'labels', /must not be empty/);
      expectError(() => f(null as unknown as number[], [0.1]), InvalidArgumentError, 'labels');
      expectError(() => f([0, 1], 0.5 as unknown as number[]), InvalidArgumentError, 'scores');
    });
  }

  it('ROC-AUC, the ROC curve, Youden and evaluateBinary throw on a single class instead of returning NaN', () => {
    for (const f of [rocAuc, (l: number[], s: number[]) => rocCurve(l, s), youdenThreshold, (l: number[], s: number[]) => evaluateBinary(l, s)]) {
      expectError(() => f([1, 1, 1], [0.2, 0.5, 0.9]), InvalidArgumentError, 'labels', /single class \(no negatives among 3\)/);
      expectError(() => f([0, 0], [0.2, 0.5]), InvalidArgumentError, 'labels', /single class \(no positives among 2\)/);
    }
  });

  it('average precision needs a positive but not a negative', () => {
    expectError(() => averagePrecision([0, 0, 0], [0.2, 0.5, 0.9]), InvalidArgumentError, 'labels', /no positive/);
    expectError(() => precisionRecallCurve([0, 0], [0.2, 0.5]), InvalidArgumentError, 'labels', /no positive/);
    expect(averagePrecision([1, 1], [0.2, 0.5])).toBe(1);
  });

  it('threshold metrics, Brier and ECE accept a single class (NaN where a rate is undefined)', () => {
    expect(brierScore([1, 1], [1, 0.5])).toBe(0.125);
    expect(sensitivity([0, 0], [0.2, 0.7])).toBeNaN();
    expect(accuracy([0, 0], [0.2, 0.7])).toBe(0.5);
  });

  it('ranking metrics accept any finite scores; calibration metrics need probabilities', () => {
    expect(rocAuc([0, 1], [-3, 12.5])).toBe(1);
    for (const f of [brierScore, expectedCalibrationError, calibrationCurve, evaluateBinary] as Array<
      (l: number[], s: number[]) => unknown
    >) {
      expectError(() => f([0, 1], [0.2, 1.2]), InvalidArgumentError, 'scores', /probabilities in \[0, 1\].*scores\[1\]/);
      expectError(() => f([0, 1], [-0.1, 0.5]), InvalidArgumentError, 'scores');
    }
  });

  it('rejects bad options with the option named', () => {
    expectError(() => accuracy([0, 1], [0.2, 0.7], { threshold: Number.NaN }), InvalidArgumentError, 'options.threshold');
    expectError(() => confusionMatrix([0, 1], [0.2, 0.7], 0.5 as never), InvalidArgumentError, 'options');
    expectError(() => calibrationCurve([0, 1], [0.2, 0.7], { numBins: 0 }), InvalidArgumentError, 'options.numBins');
    expectError(() => expectedCalibrationError([0, 1], [0.2, 0.7], { numBins: 2.5 }), InvalidArgumentError, 'options.numBins');
    expectError(() => rocCurve([0, 1], [0.2, 0.7], { dropIntermediate: 'yes' as never }), InvalidArgumentError, 'options.dropIntermediate');
    expectError(() => evaluateBinary([0, 1], [0.2, 0.7], { threshold: '0.5' as never }), InvalidArgumentError, 'options.threshold');
    expectError(() => evaluateBinary([0, 1], [0.2, 0.7], { numBins: -1 }), InvalidArgumentError, 'options.numBins');
    expectError(() => evaluateBinary([0, 1], [0.2, 0.7], { bootstrap: 3 as never }), InvalidArgumentError, 'options.bootstrap');
    expectError(
      () => evaluateBinary([0, 1], [0.2, 0.7], { bootstrap: { numResamples: 0 } }),
      InvalidArgumentError,
      'options.bootstrap.numResamples',
    );
    expectError(
      () => evaluateBinary([0, 1], [0.2, 0.7], { bootstrap: { confidence: 95 } }),
      InvalidArgumentError,
      'options.bootstrap.confidence',
    );
  });
});

describe('bootstrap inputs', () => {
  it('rejects bad options, metrics and strata', () => {
    const ok = () => 0;
    expectError(() => bootstrapCi([0, 1], [0.2, 0.7], ok, { numResamples: 1.5 }), InvalidArgumentError, 'options.numResamples');
    expectError(() => bootstrapCi([0, 1], [0.2, 0.7], ok, { confidence: 1 }), InvalidArgumentError, 'options.confidence');
    expectError(() => bootstrapCi([0, 1], [0.2, 0.7], ok, { confidence: 0 }), InvalidArgumentError, 'options.confidence');
    expectError(() => bootstrapCi([0, 1], [0.2, 0.7], ok, { seed: Number.NaN }), InvalidArgumentError, 'options.seed');
    expectError(() => bootstrapCi([0, 1], [0.2, 0.7], 'auc' as never), InvalidArgumentError, 'metric');
    expectError(() => stratifiedBootstrap([], ok), InvalidArgumentError, 'strata');
    expectError(() => stratifiedBootstrap([0, Number.NaN], ok), InvalidArgumentError, 'strata');
    expectError(() => stratifiedBootstrap([0, 1], null as never), InvalidArgumentError, 'statistic');
    expectError(() => quantile([], 0.5), InvalidArgumentError, 'values');
    expectError(() => quantile([1, 2], 1.5), InvalidArgumentError, 'q');
  });
});

describe('multi-class inputs', () => {
  const scores = [
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1],
    [0.2, 0.2, 0.6],
  ];
  it('rejects bad labels, ragged or short score rows, and missing classes', () => {
    expectError(() => rocAucOneVsRest([0, 1, 3], scores), InvalidArgumentError, 'labels', /\[0, 3\)/);
    expectError(() => rocAucOneVsRest([0, 1, 1.5], scores), InvalidArgumentError, 'labels');
    expectError(() => rocAucOneVsRest([0, 1, 1], scores), InvalidArgumentError, 'labels', /class 2 is undefined: it never occurs/);
    expectError(() => rocAucOneVsRest([0, 1], scores), ShapeError, 'scores', /one row per label/);
    expectError(() => rocAucOneVsRest([0, 1, 2], [[0.5, 0.5, 0], [0.5, 0.5], [0, 0, 1]]), ShapeError, 'scores', /scores\[1\] has length 2/);
    expectError(() => rocAucOneVsRest([0, 0, 0], [[1], [1], [1]]), InvalidArgumentError, 'scores', /at least 2/);
    expectError(() => rocAucOneVsRest([0, 1, 2], [[0.5, 0.5, 0], [0.5, Number.NaN, 0], [0, 0, 1]]), InvalidArgumentError, 'scores[1]');
    expectError(() => argmaxRows(7 as never), InvalidArgumentError, 'scores');
  });

  it('rejects bad predictions and class counts', () => {
    expectError(() => multiclassAccuracy([0, 1, 2], [0, 1]), ShapeError, 'predictions');
    expectError(() => multiclassAccuracy([0, 1, 2], [0, -1, 2]), InvalidArgumentError, 'predictions');
    expectError(() => multiclassConfusionMatrix([0, 1, 2], [0, 1, 2], { numClasses: 2 }), InvalidArgumentError, 'labels');
    expectError(() => multiclassConfusionMatrix([0, 1, 1], [0, 1, 2], { numClasses: 2 }), InvalidArgumentError, 'predictions');
    expectError(() => multiclassConfusionMatrix([0, 1], [0, 1], { numClasses: 0 }), InvalidArgumentError, 'options.numClasses');
  });
});

describe('formatMetricsTable inputs', () => {
  it('rejects rows that are not { name, evaluation } and bad digits', () => {
    expectError(() => formatMetricsTable('x' as never), InvalidArgumentError, 'rows');
    expectError(() => formatMetricsTable([{ name: 'a' }] as never), InvalidArgumentError, 'rows[0]');
    expectError(() => formatMetricsTable([], { digits: -1 }), InvalidArgumentError, 'options.digits');
  });
});
