import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, layerNorm, TransformerBlock, transformerBlock } from '../../src/index.js';
import { assertNoLeaks, assertTensorsClose, runLayerTest } from '../../src/testing.js';
import { expectArgumentError } from '../helpers/errors.js';

describe('TransformerBlock', () => {
  it('passes the layer-test harness with a mask and attention scores', async () => {
    const report = await runLayerTest({
      create: () => transformerBlock({ numHeads: 2, ffnDim: 16, returnAttentionScores: true, seed: 2 }),
      inputShapes: [[6, 8], [6]],
      inputKinds: ['float', 'mask'],
      expectedOutputShape: [
        [null, 6, 8],
        [null, 2, 6, 6],
      ],
      // 2 norms × 2 + attention 8 + ffn 4
      expectedTrainableWeights: 16,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('equals the pre-norm formula computed by hand from its weights', () => {
    const block = transformerBlock({ numHeads: 1, ffnDim: 3, seed: 4 });
    const x = tf.randomNormal([1, 3, 2], 0, 1, 'float32', 5);
    const y = block.apply(x) as tf.Tensor;
    const w = Object.fromEntries(block.weights.map((v) => [v.originalName.split('/').pop()!, v.read()]));
    const expected = tf.tidy(() => {
      const h = layerNorm(x, w['attn_norm_gamma']!, w['attn_norm_beta']!, 1e-5);
      const q = tf.add(tf.matMul(tf.reshape(h, [3, 2]), w['attn_query_kernel']!), w['attn_query_bias']!);
      const k = tf.add(tf.matMul(tf.reshape(h, [3, 2]), w['attn_key_kernel']!), w['attn_key_bias']!);
      const v = tf.add(tf.matMul(tf.reshape(h, [3, 2]), w['attn_value_kernel']!), w['attn_value_bias']!);
      const a = tf.softmax(tf.div(tf.matMul(q, tf.transpose(k)), Math.sqrt(2)));
      const att = tf.add(tf.matMul(tf.matMul(a, v), w['attn_output_kernel']!), w['attn_output_bias']!);
      const x1 = tf.add(tf.reshape(x, [3, 2]), att);
      const h2 = layerNorm(x1, w['ffn_norm_gamma']!, w['ffn_norm_beta']!, 1e-5);
      const z = tf.add(tf.matMul(h2, w['ffn_kernel1']!), w['ffn_bias1']!);
      // exact GELU via the normal CDF written out independently
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2))));
      const f = tf.add(tf.matMul(tf.mul(z, cdf), w['ffn_kernel2']!), w['ffn_bias2']!);
      return tf.reshape(tf.add(x1, f), [1, 3, 2]);
    });
    assertTensorsClose(y, expected, { atol: 1e-5 });
    tf.dispose([x, y, expected]);
  });

  fcTest.prop([fc.integer({ min: 1, max: 6 }), fc.double({ min: -100, max: 100, noNaN: true })], { numRuns: 10 })(
    'padded tokens never change the valid tokens',
    (valid, fill) => {
      const block = transformerBlock({ numHeads: 2, seed: 8 });
      const x = tf.randomNormal([1, 6, 4], 0, 1, 'float32', 6);
      const mask = tf.tensor2d([Array.from({ length: 6 }, (_, i) => (i < valid ? 1 : 0))]);
      const m3 = tf.reshape(mask, [1, 6, 1]);
      const altered = tf.add(tf.mul(x, m3), tf.mul(tf.sub(1, m3), fill));
      const a = tf.mul(block.apply([x, mask]) as tf.Tensor, m3);
      const b = tf.mul(block.apply([altered, mask]) as tf.Tensor, m3);
      assertTensorsClose(b, a, { atol: 1e-4 });
      tf.dispose([x, mask, m3, altered, a, b]);
      block.dispose();
    },
  );

  it('does not leak in training mode with dropout', async () => {
    const block = transformerBlock({ numHeads: 2, dropout: 0.2, seed: 1 });
    const x = tf.randomNormal([2, 5, 8]);
    tf.dispose(block.apply(x) as tf.Tensor);
    await assertNoLeaks(() => block.apply(x, { training: true }) as tf.Tensor);
    x.dispose();
  });

  it('rejects bad arguments and shapes with the argument named', () => {
    expect(() => new TransformerBlock({ numHeads: -1 })).toThrowError(/numHeads/);
    expect(() => new TransformerBlock({ numHeads: 2, epsilon: 0 })).toThrowError(/epsilon/);
    const odd = transformerBlock({ numHeads: 3 });
    expectArgumentError(() => odd.apply(tf.zeros([1, 2, 8])), InvalidArgumentError, 'numHeads');
    const block = transformerBlock({ numHeads: 2 });
    expect(() => block.apply([tf.zeros([1, 4, 8]), tf.zeros([1, 5])])).toThrowError(/Received: mask\.shape=\[1,5\]/);
  });
});
