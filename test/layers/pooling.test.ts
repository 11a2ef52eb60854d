import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { GlobalPooling3D, globalPooling3D, InvalidArgumentError, maskedPooling, ShapeError } from '../../src/index.js';
import { assertNoLeaks, assertTensorsClose, runLayerTest } from '../../src/testing.js';

describe('MaskedPooling', () => {
  it('passes the layer-test harness', async () => {
    // No weights: the optimizer check is vacuous, the rest applies.
    const report = await runLayerTest({
      create: () => maskedPooling(),
      inputShapes: [[5, 3], [5]],
      inputKinds: ['float', 'mask'],
      expectedOutputShape: [null, 3],
      expectedTrainableWeights: 0,
    });
    expect(report.checks).toContain('save/load');
    tf.dispose(report.outputs);
  });

  it('averages only valid tokens and gives zeros for a row with none', () => {
    const x = tf.tensor3d([
      [[1, 2], [3, 4], [100, -100]],
      [[5, 5], [6, 6], [7, 7]],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 0],
      [0, 0, 0],
    ]);
    const y = maskedPooling().apply([x, mask]) as tf.Tensor;
    assertTensorsClose(y, [[2, 3], [0, 0]], { atol: 0 });
    const grad = tf.grad((t: tf.Tensor) => tf.sum(maskedPooling().apply([t, mask]) as tf.Tensor))(x);
    expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, mask, y, grad]);
  });

  fcTest.prop([fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.double({ min: -1e4, max: 1e4, noNaN: true })], {
    numRuns: 20,
  })('is invariant to padded values and to a permutation of tokens', (valid, fill) => {
    const x = tf.randomNormal([1, 4, 3], 0, 1, 'float32', 2);
    const mask = tf.tensor2d([valid.map((v) => (v ? 1 : 0))]);
    const m3 = tf.reshape(mask, [1, 4, 1]);
    const altered = tf.add(tf.mul(x, m3), tf.mul(tf.sub(1, m3), fill));
    const perm = tf.tensor1d([2, 0, 3, 1], 'int32');
    const a = maskedPooling().apply([x, mask]) as tf.Tensor;
    const b = maskedPooling().apply([tf.gather(altered, perm, 1), tf.gather(mask, perm, 1)]) as tf.Tensor;
    assertTensorsClose(b, a, { atol: 1e-5 });
    expect(tf.all(tf.isFinite(a)).dataSync()[0]).toBe(1);
    tf.dispose([x, mask, m3, altered, perm, a, b]);
  });

  it('rejects a mask of the wrong shape', () => {
    expect(() => maskedPooling().apply([tf.zeros([2, 3, 4]), tf.zeros([2, 4])])).toThrowError(ShapeError);
  });
});

describe('GlobalPooling3D', () => {
  it('passes the layer-test harness', async () => {
    const report = await runLayerTest({
      create: () => globalPooling3D({ mode: 'max' }),
      inputShapes: [[2, 3, 4, 5]],
      expectedOutputShape: [null, 5],
      expectedTrainableWeights: 0,
    });
    expect(report.checks).toContain('config');
    tf.dispose(report.outputs);
  });

  it('computes the mean and the max over depth, height and width', () => {
    const values = Array.from({ length: 2 * 2 * 2 * 2 * 3 }, (_, i) => i);
    const x = tf.tensor5d(values, [2, 2, 2, 2, 3]);
    const avg = globalPooling3D().apply(x) as tf.Tensor;
    const max = globalPooling3D({ mode: 'max' }).apply(x) as tf.Tensor;
    // batch 0 holds 0..23: channel c has c, c+3, ..., c+21 → mean c+10.5, max c+21
    assertTensorsClose(avg, [[10.5, 11.5, 12.5], [34.5, 35.5, 36.5]], { atol: 1e-5 });
    assertTensorsClose(max, [[21, 22, 23], [45, 46, 47]], { atol: 0 });
    tf.dispose([x, avg, max]);
  });

  it('does not leak and rejects bad modes and ranks', async () => {
    const layer = globalPooling3D();
    const x = tf.ones([1, 2, 2, 2, 1]);
    await assertNoLeaks(() => layer.apply(x) as tf.Tensor);
    x.dispose();
    expect(() => new GlobalPooling3D({ mode: 'median' as never })).toThrowError(InvalidArgumentError);
    expect(() => layer.apply(tf.zeros([1, 2, 2, 1]))).toThrowError(/Received: x\.shape=\[1,2,2,1\]/);
  });
});
