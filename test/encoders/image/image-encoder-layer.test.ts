// src/encoders/image/image-encoder-layer.ts: how a training-mode step runs its conv → norm → ReLU
// chains on wasm (the ReLU fused into the norm kernel, copy-free reshapes and residual sums), and
// that it computes what the cpu backend's stock formulation computes.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { createImageEncoder } from '../../../src/index.js';
import { assertTensorsClose } from '../../../src/testing.js';
import { onBackend, snapshot } from '../../helpers/backends.js';

type Activation = 'relu' | 'gelu';

/** Loss and gradients of one training-mode pass of a small 2D encoder (batch norm), and the kernels it ran. */
async function step(backend: 'cpu' | 'wasm', activation: Activation): Promise<{ values: Float32Array[]; kernels: string[] }> {
  return onBackend(backend, async () => {
    const enc = createImageEncoder({ spatialDims: 2, inputShape: [16, 16, 1], widths: [8, 16], depths: [1, 1], strides: [1, 2], stemStride: 2, norm: 'batch', activation, seed: 3 });
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 16 * 16 }, (_, i) => Math.sin(0.37 * i)), [2, 16, 16, 1]);
    enc.layer.apply(x, { training: false }); // builds the weights
    const vars = enc.layer.trainableWeights.map((w) => w.read() as tf.Variable);
    let values: Float32Array[] = [];
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square((enc.layer.apply(x, { training: true }) as tf.Tensor[])[1]!)) as tf.Scalar, vars);
      values = snapshot([value, ...vars.map((v) => grads[v.name]!)]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    x.dispose();
    enc.layer.dispose();
    return { values, kernels: info.kernels.map((k) => k.name) };
  });
}

describe('ImageEncoderLayer training step on wasm', () => {
  it('fuses the ReLU after each norm into the norm kernel, and computes what cpu computes', async () => {
    const wasm = await step('wasm', 'relu');
    const cpu = await step('cpu', 'relu');
    // stem, stage 0 block conv1, stage 1 block conv1 fused; the two residual activations are stock
    expect(wasm.kernels.filter((k) => k === 'VdafmChannelNorm').length).toBeGreaterThan(0);
    expect(wasm.kernels.filter((k) => k === 'Relu')).toHaveLength(2);
    expect(cpu.kernels.filter((k) => k === 'Relu')).toHaveLength(5);
    expect(wasm.values.length).toBe(cpu.values.length);
    wasm.values.forEach((v, i) => assertTensorsClose(v, cpu.values[i]!, { atol: 2e-3, rtol: 2e-3 }, i === 0 ? 'loss' : `gradient ${i}`));
  });

  it('keeps other activations outside the norm kernel', async () => {
    const wasm = await step('wasm', 'gelu');
    expect(wasm.kernels.filter((k) => k === 'VdafmChannelNorm').length).toBeGreaterThan(0);
    expect(wasm.kernels.filter((k) => k === 'Relu')).toHaveLength(0);
  });
});
