import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  baselineFusion,
  dualSemanticAlignmentLoss,
  globalPooling3D,
  maskedPooling,
  multiHeadAttention,
  positionalEmbedding,
  transformerBlock,
  vdafm,
} from '../../src/index.js';
import { assertTensorsClose } from '../../src/testing.js';
import { onBackend } from '../helpers/backends.js';
import { expectBackendParity, parityInputs } from '../helpers/parity.js';

describe('cpu/wasm parity of outputs and gradients (1e-4)', () => {
  it('MultiHeadAttention (cross-attention, mask)', async () => {
    const r = await expectBackendParity(
      () => multiHeadAttention({ numHeads: 4, keyDim: 8, seed: 1 }),
      parityInputs([[3, 7, 16], [3, 9, 12], [3, 9]], ['float', 'float', 'mask']),
    );
    expect(r.weightGrads).toHaveLength(8);
  });

  it('TransformerBlock (self-attention, mask)', async () => {
    const r = await expectBackendParity(
      () => transformerBlock({ numHeads: 2, ffnDim: 24, seed: 2 }),
      parityInputs([[2, 6, 8], [2, 6]], ['float', 'mask']),
    );
    expect(r.weightGrads).toHaveLength(16);
  });

  it('MaskedPooling', async () => {
    const r = await expectBackendParity(() => maskedPooling(), parityInputs([[3, 5, 4], [3, 5]], ['float', 'mask']));
    expect(r.inputGrads).toHaveLength(1);
  });

  it('GlobalPooling3D (avg and max)', async () => {
    await expectBackendParity(() => globalPooling3D(), parityInputs([[2, 3, 4, 4, 5]]));
    const r = await expectBackendParity(() => globalPooling3D({ mode: 'max' }), parityInputs([[2, 3, 4, 4, 5]]));
    expect(r.outputs[0]).toHaveLength(10);
  });

  it('PositionalEmbedding', async () => {
    const r = await expectBackendParity(() => positionalEmbedding({ maxLength: 12, seed: 3 }), parityInputs([[2, 10, 6]]));
    expect(r.weightGrads).toHaveLength(1);
  });

  const fusionInputs = () =>
    parityInputs([[3, 9, 12], [3, 7, 10], [3, 7], [3, 4, 5], [3, 4]], ['float', 'float', 'mask', 'float', 'mask'], 21);

  it('VDAFM (film, 2 layers, token clinical, gate and attention maps)', async () => {
    const r = await expectBackendParity(
      () => vdafm({ dim: 16, numHeads: 4, numLayers: 2, clinical: 'token', returnGate: true, returnAttention: true, dropout: 0, seed: 4 }),
      fusionInputs(),
    );
    expect(r.outputs).toHaveLength(15);
  });

  it('VDAFM (late clinical, concat fusion, no conditioning)', async () => {
    await expectBackendParity(() => vdafm({ dim: 8, numHeads: 2, numLayers: 1, conditioning: 'none', fusion: 'concat', seed: 5 }), fusionInputs());
  });

  for (const method of ['concat', 'gatedSum', 'film'] as const) {
    it(`BaselineFusion ${method}`, async () => {
      const r = await expectBackendParity(() => baselineFusion({ method, dim: 8, clinical: 'token', seed: 6 }), fusionInputs());
      expect(r.outputs.length).toBeGreaterThanOrEqual(10);
    });
  }

  it('dual semantic alignment loss: value and gradients', async () => {
    const run = () => {
      const v = tf.randomNormal([4, 6, 8], 0, 1, 'float32', 1) as tf.Tensor3D;
      const t = tf.randomNormal([4, 5, 8], 0, 1, 'float32', 2) as tf.Tensor3D;
      const ev = tf.randomNormal([4, 8], 0, 1, 'float32', 3) as tf.Tensor2D;
      const et = tf.randomNormal([4, 8], 0, 1, 'float32', 4) as tf.Tensor2D;
      const mask = tf.tensor2d([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]]);
      const f = (vv: tf.Tensor, tt: tf.Tensor, a: tf.Tensor, b: tf.Tensor) =>
        dualSemanticAlignmentLoss(
          { visualEmbedding: a as tf.Tensor2D, textEmbedding: b as tf.Tensor2D, visualTokens: vv as tf.Tensor3D, textTokens: tt as tf.Tensor3D, textMask: mask },
          { visionAnchor: false, temperature: 0.1 },
        ).loss;
      const { value, grads } = tf.valueAndGrads(f)([v, t, ev, et]);
      return [value.dataSync()[0]!, ...grads.map((g) => Array.from(g.dataSync()))] as const;
    };
    const cpu = await onBackend('cpu', run);
    const wasm = await onBackend('wasm', run);
    expect(Math.abs(wasm[0] - cpu[0])).toBeLessThan(1e-4);
    for (let i = 1; i < cpu.length; i++) assertTensorsClose(wasm[i] as number[], cpu[i] as number[], { atol: 1e-4, rtol: 1e-4 }, `gradient ${i}`);
  });
});
