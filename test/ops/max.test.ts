// maxLastAxis (src/ops/max.ts, src/kernels/max.ts): values and gradients equal stock tf.max (computed on cpu)
// on data without ties, on cpu and wasm; ties go to the first maximum on both backends.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { maxLastAxis } from '../../src/ops/max.js';
import { assertNoLeaks } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';

const valueAndGrad = (f: (t: tf.Tensor) => tf.Tensor, shape: number[], seed: number) =>
  tf.tidy(() => {
    const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
    const w = tf.randomNormal(shape.slice(0, -1), 0, 1, 'float32', seed + 1);
    return snapshot([f(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), w)))(x)]);
  });

describe('maxLastAxis', () => {
  fcTest.prop([fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 1e6 })], { numRuns: 25 })(
    'equals stock tf.max and its gradient (no ties in normal data) on cpu and wasm',
    async (shape, seed) => {
      const ref = valueAndGrad((t) => tf.max(t, -1), shape, seed);
      for (const backend of ['cpu', 'wasm'] as const) {
        const got = await onBackend(backend, () => valueAndGrad(maxLastAxis, shape, seed));
        expect(got[0], `${backend} value`).toEqual(ref[0]);
        // −0 (stock: 0·negative dy) and +0 (vdafm: untouched entries) are the same gradient
        expect(Array.from(got[1]!, (v) => v + 0), `${backend} gradient`).toEqual(Array.from(ref[1]!, (v) => v + 0));
      }
    },
  );

  it('sends a tie\'s gradient to the first maximum on every backend, propagates NaN, and leaks nothing', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor2d([[1, 3, 3], [2, 0, 1], [NaN, 5, 1]]);
        return [Array.from(maxLastAxis(x).dataSync()), Array.from(tf.grad((t: tf.Tensor) => tf.sum(maxLastAxis(t)))(x).dataSync())];
      });
    const expected = [[3, 2, NaN], [0, 1, 0, 1, 0, 0, 1, 0, 0]];
    expect(run()).toEqual(expected);
    expect(await onBackend('wasm', run)).toEqual(expected);
    await onBackend('wasm', async () => {
      const x = tf.randomNormal([4, 5, 6]);
      await assertNoLeaks(() => tf.grad((t: tf.Tensor) => tf.sum(maxLastAxis(t)))(x), 'maxLastAxis gradient on wasm');
      x.dispose();
    });
  });
});
