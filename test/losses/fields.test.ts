// reportFieldLoss (src/losses/fields.ts): hand-computed values per group kind, masking, errors.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { reportFieldLoss } from '../../src/losses/fields.js';
import { expectArgumentError } from '../helpers/errors.js';

const groups = [
  { kind: 'categorical' as const, offset: 0, labels: ['a', 'b'] },
  { kind: 'multilabel' as const, offset: 2, labels: ['x', 'y'] },
  { kind: 'regression' as const, offset: 4, labels: ['v'] },
];

describe('reportFieldLoss', () => {
  it('averages CE, mean BCE and squared error over the present groups, by hand', () => {
    const logits = tf.tensor2d([[0, Math.log(3), 0, 2, 1.5], [1, 1, 1, 1, 1]]);
    const targets = tf.tensor2d([[0, 1, 1, 0, 0.5], [1, 0, 0, 0, 0]]);
    const mask = tf.tensor2d([[1, 1, 1], [0, 0, 0]]); // the second row is masked out entirely
    const ce = -Math.log(3 / 4);
    const bce = (Math.log(2) + Math.log(1 + Math.exp(2))) / 2; // z=0,y=1 → ln 2; z=2,y=0 → ln(1+e²)
    const se = 1;
    const loss = reportFieldLoss(logits, targets, mask, groups);
    expect(loss.dataSync()[0]).toBeCloseTo((ce + bce + se) / 3, 6);
    tf.dispose([logits, targets, mask, loss]);
  });

  it('is 0 when nothing is present and does not leak tensors', () => {
    const logits = tf.ones([2, 5]);
    const targets = tf.zeros([2, 5]);
    const mask = tf.zeros([2, 3]);
    const before = tf.memory().numTensors;
    const loss = reportFieldLoss(logits, targets, mask, groups);
    expect(loss.dataSync()[0]).toBe(0);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, targets, mask]);
  });

  it('rejects mismatched shapes naming the argument', () => {
    const ok = tf.zeros([2, 5]);
    expectArgumentError(() => reportFieldLoss(tf.zeros([2, 4]), ok, tf.zeros([2, 3]), groups), ShapeError, 'logits');
    expectArgumentError(() => reportFieldLoss(ok, tf.zeros([3, 5]), tf.zeros([2, 3]), groups), ShapeError, 'targets');
    expectArgumentError(() => reportFieldLoss(ok, ok, tf.zeros([2, 2]), groups), ShapeError, 'mask');
    ok.dispose();
  });
});
