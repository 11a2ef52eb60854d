// src/ops/elementwise.ts reshapeView: tf.reshape's values and gradient, without the copy stock
// Reshape keeps for its backward pass (the other elementwise ops are tested in ops.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { reshapeView } from '../../src/ops/elementwise.js';
import { assertNoLeaks, assertTensorsClose } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';

const BACKENDS = ['cpu', 'wasm'] as const;

/** Kernel names one call runs (tf.profile). */
async function kernelsOf(fn: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => fn());
  tf.dispose(info.result as tf.Tensor[]);
  return info.kernels.map((k) => k.name);
}

/** The output of `f(x)` and the gradient of `sum(f(x) · dy)` for x. */
function valueAndGrad(f: (x: tf.Tensor) => tf.Tensor, x: Float32Array, shape: number[], dy: Float32Array, dyShape: number[]): Float32Array[] {
  return tf.tidy(() => {
    const xt = tf.tensor(x, shape);
    const upstream = tf.tensor(dy, dyShape);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), upstream)))(xt);
    return snapshot([f(xt), g]);
  });
}

describe('reshapeView', () => {
  it('the values and gradient of tf.reshape, keeping nothing for the backward pass, on cpu and wasm', async () => {
    const x = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i + 1));
    const dy = Float32Array.from({ length: 24 }, (_, i) => Math.cos(3 * i));
    const ref = valueAndGrad((t) => tf.reshape(t, [6, 4]), x, [2, 3, 4], dy, [6, 4]);
    for (const backend of BACKENDS) {
      const ours = await onBackend(backend, () => valueAndGrad((t) => reshapeView(t, [-1, 4]), x, [2, 3, 4], dy, [6, 4]));
      ours.forEach((v, i) => assertTensorsClose(v, ref[i]!, { atol: 0 }, `${backend} ${['value', 'gradient'][i]}`));
      const xt = tf.tensor(x, [2, 3, 4]);
      const names = await onBackend(backend, () => kernelsOf(() => tf.grads((p: tf.Tensor) => tf.sum(reshapeView(p, [6, 4])))([xt])));
      expect(names.filter((nm) => nm === 'Identity'), backend).toHaveLength(1); // the loss's sum only
      const stock = await onBackend(backend, () => kernelsOf(() => tf.grads((p: tf.Tensor) => tf.sum(tf.reshape(p, [6, 4])))([xt])));
      xt.dispose();
      expect(stock.filter((nm) => nm === 'Identity'), backend).toHaveLength(2); // stock Reshape copies its input
    }
    await onBackend('wasm', async () => {
      const t = tf.ones([4, 6]);
      await assertNoLeaks(() => tf.grads((p: tf.Tensor) => tf.sum(reshapeView(p, [2, 12])))([t]), 'reshapeView gradient');
      t.dispose();
    });
  });
});
