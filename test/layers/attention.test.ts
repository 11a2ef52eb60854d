import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, MultiHeadAttention, multiHeadAttention, ShapeError } from '../../src/index.js';
import { assertNoLeaks, assertTensorsClose, runLayerTest } from '../../src/testing.js';
import { expectArgumentError } from '../helpers/errors.js';

interface MhaCase {
  name: string;
  numHeads: number;
  keyDim: number;
  query: number[][][];
  value: number[][][];
  keyMask: number[][] | null;
  weights: Record<string, number[] | number[][]>;
  output: number[][][];
  attentionWeights: number[][][][];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/attention/mha_reference.json', import.meta.url), 'utf8'),
) as { cases: MhaCase[] };

/** Sets a built layer's weights by name (the fixture's names are the layer's weight names). */
function setWeights(layer: tfl.layers.Layer, weights: Record<string, number[] | number[][]>): void {
  layer.setWeights(
    layer.weights.map((w) => {
      const key = w.originalName.split('/').pop()!;
      const v = weights[key];
      if (!v) throw new Error(`fixture has no weight ${key}`);
      return tf.tensor(v);
    }),
  );
}

describe('MultiHeadAttention', () => {
  it('passes the layer-test harness (cross-attention with mask and scores)', async () => {
    const report = await runLayerTest({
      create: () => multiHeadAttention({ numHeads: 2, keyDim: 4, returnAttentionScores: true, seed: 3 }),
      inputShapes: [[5, 8], [7, 6], [7]],
      inputKinds: ['float', 'float', 'mask'],
      expectedOutputShape: [
        [null, 5, 8],
        [null, 2, 5, 7],
      ],
      expectedTrainableWeights: 8,
    });
    expect(report.checks).toEqual(['symbolic', 'eager', 'weights', 'config', 'save/load', 'leaks', 'optimizer']);
    tf.dispose(report.outputs);
  });

  it('passes the harness as self-attention with a distinct output width and no bias', async () => {
    const report = await runLayerTest({
      create: () => multiHeadAttention({ numHeads: 3, keyDim: 2, valueDim: 5, outputDim: 4, useBias: false }),
      inputShapes: [[6, 7]],
      expectedOutputShape: [null, 6, 4],
      expectedTrainableWeights: 4,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('runs the harness exactly as the building-blocks guide shows', async () => {
    const report = await runLayerTest({
      create: () => multiHeadAttention({ numHeads: 2, keyDim: 4 }),
      inputShapes: [[5, 8], [7, 8], [7]],
      inputKinds: ['float', 'float', 'mask'],
      expectedOutputShape: [null, 5, 8],
      expectedTrainableWeights: 8,
    });
    expect(report.checks).toHaveLength(7);
    tf.dispose(report.outputs);
  });

  for (const c of fixture.cases) {
    it(`matches PyTorch nn.MultiheadAttention: ${c.name}`, () => {
      const layer = multiHeadAttention({ numHeads: c.numHeads, keyDim: c.keyDim, returnAttentionScores: true });
      const query = tf.tensor3d(c.query);
      const value = tf.tensor3d(c.value);
      const inputs = c.keyMask ? [query, value, tf.tensor2d(c.keyMask)] : [query, value];
      layer.apply(inputs); // build
      setWeights(layer, c.weights);
      const [out, scores] = layer.apply(inputs) as tf.Tensor[];
      assertTensorsClose(out!, c.output, { atol: 1e-5 }, 'output');
      assertTensorsClose(scores!, c.attentionWeights, { atol: 1e-5 }, 'attention weights');
      tf.dispose([...inputs, out!, scores!]);
    });
  }

  it('computes a hand-checkable case: identity projections, one head', () => {
    // With identity projections and keyDim 2, scores = q·k / sqrt(2).
    const layer = multiHeadAttention({ numHeads: 1, keyDim: 2, useBias: false, returnAttentionScores: true });
    const q = tf.tensor3d([[[1, 0]]]);
    const kv = tf.tensor3d([[[1, 0], [0, 1]]]);
    layer.apply([q, kv]);
    const eye = tf.eye(2);
    layer.setWeights([eye, eye, eye, eye]);
    const [out, w] = layer.apply([q, kv]) as tf.Tensor[];
    const e = Math.exp(1 / Math.SQRT2);
    const p = [e / (e + 1), 1 / (e + 1)];
    assertTensorsClose(w!, [[[p]]], { atol: 1e-6 });
    assertTensorsClose(out!, [[p]], { atol: 1e-6 });
    tf.dispose([q, kv, eye, out!, w!]);
  });

  it('gives a query with no valid key zero weights and the output bias (no NaN)', () => {
    const layer = multiHeadAttention({ numHeads: 2, keyDim: 3, returnAttentionScores: true, seed: 1 });
    const q = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 1);
    const kv = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 2);
    const mask = tf.tensor2d([[1, 1, 0, 0], [0, 0, 0, 0]]);
    const [out, w] = layer.apply([q, kv, mask]) as tf.Tensor[];
    const wData = w!.arraySync() as number[][][][];
    expect(wData[1]!.flat(2).every((v) => v === 0)).toBe(true);
    expect(wData[0]!.flat(2).some((v) => v > 0)).toBe(true);
    const outRows = out!.arraySync() as number[][][];
    const bias = layer.weights.find((x) => x.originalName.endsWith('output_bias'))!.read().arraySync() as number[];
    for (const row of outRows[1]!) assertTensorsClose(row, bias, { atol: 0 });
    tf.dispose([q, kv, mask, out!, w!]);
  });

  fcTest.prop([fc.integer({ min: 1, max: 5 }), fc.double({ min: -1e3, max: 1e3, noNaN: true })], { numRuns: 15 })(
    'padded key/value entries never change the output',
    (valid, fillValue) => {
      const layer = multiHeadAttention({ numHeads: 2, keyDim: 2, seed: 5 });
      const q = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 3);
      const kv = tf.randomNormal([1, 5, 4], 0, 1, 'float32', 4);
      const maskRow = Array.from({ length: 5 }, (_, i) => (i < valid ? 1 : 0));
      const mask = tf.tensor2d([maskRow]);
      const m3 = tf.reshape(mask, [1, 5, 1]);
      const altered = tf.add(tf.mul(kv, m3), tf.mul(tf.sub(1, m3), fillValue));
      const a = layer.apply([q, kv, mask]) as tf.Tensor;
      const b = layer.apply([q, altered, mask]) as tf.Tensor;
      assertTensorsClose(b, a, { atol: 1e-5 });
      tf.dispose([q, kv, mask, m3, altered, a, b]);
      layer.dispose();
    },
  );

  fcTest.prop([fc.integer({ min: 1, max: 4 })], { numRuns: 5 })('is equivariant to a permutation of the queries', (shift) => {
    const layer = multiHeadAttention({ numHeads: 2, keyDim: 2, seed: 9 });
    const q = tf.randomNormal([1, 5, 4], 0, 1, 'float32', 11);
    const kv = tf.randomNormal([1, 6, 4], 0, 1, 'float32', 12);
    const perm = tf.tensor1d(Array.from({ length: 5 }, (_, i) => (i + shift) % 5), 'int32');
    const a = tf.gather(layer.apply([q, kv]) as tf.Tensor, perm, 1);
    const b = layer.apply([tf.gather(q, perm, 1), kv]) as tf.Tensor;
    assertTensorsClose(b, a, { atol: 1e-5 });
    tf.dispose([q, kv, perm, a, b]);
    layer.dispose();
  });

  it('applies dropout only when training, reproducibly under a seed', () => {
    const make = () => multiHeadAttention({ numHeads: 2, keyDim: 4, dropout: 0.5, seed: 7 });
    const x = tf.randomNormal([2, 6, 8], 0, 1, 'float32', 1);
    const l1 = make();
    const inference1 = l1.apply(x) as tf.Tensor;
    const inference2 = l1.apply(x) as tf.Tensor;
    assertTensorsClose(inference2, inference1, { atol: 0 });
    const train1 = l1.apply(x, { training: true }) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(train1, inference1))).dataSync()[0]).toBeGreaterThan(1e-3);
    const l2 = make();
    l2.apply(x);
    const train2 = l2.apply(x, { training: true }) as tf.Tensor;
    assertTensorsClose(train2, train1, { atol: 0 });
    tf.dispose([x, inference1, inference2, train1, train2]);
  });

  it('does not leak tensors on repeated calls', async () => {
    const layer = multiHeadAttention({ numHeads: 2, keyDim: 4, dropout: 0.1 });
    const x = tf.randomNormal([2, 6, 8]);
    const mask = tf.ones([2, 6]);
    tf.dispose(layer.apply([x, x, mask]) as tf.Tensor);
    await assertNoLeaks(() => layer.apply([x, x, mask], { training: true }) as tf.Tensor);
    tf.dispose([x, mask]);
  });

  it('rejects bad arguments with the argument named', () => {
    const bad = (args: unknown, argument: string) => {
      const e = expectArgumentError(() => new MultiHeadAttention(args as never), InvalidArgumentError, argument);
      expect(e.message).toContain(argument);
    };
    bad({ numHeads: 0, keyDim: 4 }, 'numHeads');
    bad({ numHeads: 2, keyDim: 2.5 }, 'keyDim');
    bad({ numHeads: 2, keyDim: 4, dropout: 1 }, 'dropout');
    bad({ numHeads: 2, keyDim: 4, kernelInitializer: 'nope' }, 'kernelInitializer');
    bad({ numHeads: 2, keyDim: 4, seed: 1.5 }, 'seed');
    bad(undefined, 'args');
  });

  it('rejects bad shapes with a ShapeError naming the input and the shape received', () => {
    const layer = multiHeadAttention({ numHeads: 2, keyDim: 4 });
    const q = tf.zeros([2, 5]);
    expect(() => layer.apply([q, tf.zeros([2, 3, 4])])).toThrowError(/query.*Received: query\.shape=\[2,5\]/);
    const q3 = tf.zeros([2, 5, 4]);
    const kv = tf.zeros([2, 3, 4]);
    const error = expectArgumentError(() => layer.apply([q3, kv, tf.zeros([2, 4])]), ShapeError, 'keyMask');
    expect(error.message).toContain('Received: keyMask.shape=[2,4]');
    tf.dispose([q, q3, kv]);
  });
});
