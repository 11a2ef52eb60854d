import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PositionalEmbedding, positionalEmbedding, ShapeError } from '../../src/index.js';
import { assertTensorsClose, runLayerTest } from '../../src/testing.js';

describe('PositionalEmbedding', () => {
  it('passes the layer-test harness', async () => {
    const report = await runLayerTest({
      create: () => positionalEmbedding({ maxLength: 10, seed: 3 }),
      inputShapes: [[7, 4]],
      expectedOutputShape: [null, 7, 4],
      expectedTrainableWeights: 1,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('adds row i of the table to token i of every sample', () => {
    const layer = positionalEmbedding({ maxLength: 4 });
    const x = tf.zeros([2, 3, 2]);
    layer.apply(x);
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    layer.setWeights([table]);
    const y = layer.apply(tf.ones([2, 3, 2])) as tf.Tensor;
    assertTensorsClose(y, [[[2, 3], [4, 5], [6, 7]], [[2, 3], [4, 5], [6, 7]]], { atol: 0 });
    tf.dispose([x, table, y]);
  });

  it('is reproducible under a seed and rejects sequences longer than maxLength', () => {
    const a = positionalEmbedding({ maxLength: 5, seed: 11 });
    const b = positionalEmbedding({ maxLength: 5, seed: 11 });
    const x = tf.zeros([1, 5, 3]);
    const ya = a.apply(x) as tf.Tensor;
    const yb = b.apply(x) as tf.Tensor;
    assertTensorsClose(yb, ya, { atol: 0 });
    expect(() => a.apply(tf.zeros([1, 6, 3]))).toThrowError(ShapeError);
    expect(() => new PositionalEmbedding({ maxLength: 0 })).toThrowError(InvalidArgumentError);
    tf.dispose([x, ya, yb]);
  });
});
