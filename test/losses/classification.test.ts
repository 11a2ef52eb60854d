import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import {
  binaryCrossEntropy,
  binaryFocalLoss,
  classWeightsFromLabels,
  InvalidArgumentError,
  ordinalLoss,
  ordinalProbabilities,
  ShapeError,
  softmaxCrossEntropy,
} from '../../src/index.js';
import { assertTensorsClose } from '../../src/testing.js';

const ref = JSON.parse(readFileSync(new URL('../fixtures/losses/classification_reference.json', import.meta.url), 'utf8'));
const v = (t: tf.Tensor) => t.dataSync()[0]!;

describe('classification losses match PyTorch', () => {
  it('binary cross-entropy (plain and class-weighted), finite at |logit| = 40', () => {
    const z = tf.tensor1d(ref.binary.logits);
    const y = tf.tensor1d(ref.binary.labels);
    expect(v(binaryCrossEntropy(z, y))).toBeCloseTo(ref.binary.bce, 5);
    expect(v(binaryCrossEntropy(tf.reshape(z, [-1, 1]), y, { classWeights: ref.binary.classWeights }))).toBeCloseTo(ref.binary.weightedBce, 5);
  });

  it('focal loss with γ = 2 and class weights', () => {
    const z = tf.tensor1d(ref.binary.logits);
    const y = tf.tensor1d(ref.binary.labels);
    expect(v(binaryFocalLoss(z, y, { gamma: 2, classWeights: ref.binary.classWeights }))).toBeCloseTo(ref.binary.focalWeighted, 5);
    // γ = 0 is cross-entropy
    expect(v(binaryFocalLoss(z, y, { gamma: 0 }))).toBeCloseTo(ref.binary.bce, 5);
  });

  it('softmax cross-entropy with class weights', () => {
    const loss = softmaxCrossEntropy(tf.tensor2d(ref.softmax.logits), tf.tensor1d(ref.softmax.labels, 'int32'), { classWeights: ref.softmax.classWeights });
    expect(v(loss)).toBeCloseTo(ref.softmax.ce, 5);
  });

  it('ordinal (cumulative-link) loss, and probabilities that sum to 1', () => {
    const logits = tf.tensor2d(ref.ordinal.logits);
    expect(v(ordinalLoss(logits, tf.tensor1d(ref.ordinal.labels, 'int32')))).toBeCloseTo(ref.ordinal.loss, 5);
    const p = ordinalProbabilities(logits);
    expect(p.shape).toEqual([9, 7]);
    assertTensorsClose(tf.sum(p, 1), tf.ones([9]), { atol: 1e-6 });
    expect(tf.min(p).dataSync()[0]).toBeGreaterThanOrEqual(0);
    assertTensorsClose(ordinalProbabilities(tf.tensor2d([[0, 0]])), [[0.5, 0, 0.5]], { atol: 1e-6 });
  });
});

describe('classification loss properties', () => {
  fcTest.prop([fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 20 }), fc.double({ min: 0, max: 5, noNaN: true })], {
    numRuns: 40,
  })('BCE and focal are finite, ≥ 0, and focal ≤ BCE', (logits, gamma) => {
    tf.tidy(() => {
      const z = tf.tensor1d(logits);
      const y = tf.tensor1d(logits.map((_, i) => i % 2));
      const bce = v(binaryCrossEntropy(z, y));
      const focal = v(binaryFocalLoss(z, y, { gamma }));
      expect(Number.isFinite(bce) && Number.isFinite(focal)).toBe(true);
      expect(bce).toBeGreaterThanOrEqual(0);
      expect(focal).toBeGreaterThanOrEqual(0);
      expect(focal).toBeLessThanOrEqual(bce + 1e-6);
    });
  });

  it('class weights follow scikit-learn balanced weighting', () => {
    const w = classWeightsFromLabels([0, 0, 0, 1]);
    expect(w[0]).toBeCloseTo(4 / 6, 10);
    expect(w[1]).toBeCloseTo(2, 10);
    expect(classWeightsFromLabels([0, 2, 2], 4)).toEqual([0.75, 0, 0.375, 0]); // n / (K · n_c) with K = 4
  });

  it('rejects bad inputs with the argument named', () => {
    expect(() => binaryCrossEntropy(tf.zeros([3, 2]), tf.zeros([3]))).toThrowError(ShapeError);
    expect(() => binaryCrossEntropy(tf.zeros([3]), tf.zeros([4]))).toThrowError(/labels/);
    expect(() => binaryFocalLoss(tf.zeros([3]), tf.zeros([3]), { gamma: -1 })).toThrowError(/gamma/);
    expect(() => binaryCrossEntropy(tf.zeros([3]), tf.zeros([3]), { classWeights: [1, -1] })).toThrowError(InvalidArgumentError);
    expect(() => classWeightsFromLabels([0, 1.5])).toThrowError(/labels\[1\]/);
    expect(() => classWeightsFromLabels([])).toThrowError(/labels/);
  });
});
