// fastSlice / splitRows (src/ops/slice.ts, src/kernels/slice.ts) against stock tf.slice / tf.split computed on
// the cpu backend, on cpu and wasm.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { VDAFM_SLICE } from '../../src/kernels/slice.js';
import { fastSlice, splitRows } from '../../src/ops/slice.js';
import { assertNoLeaks } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';

/** A random box inside `shape`: [begin, size] with size ≥ 1 on every axis. */
const boxIn = (shape: number[]) =>
  fc.tuple(...shape.map((n) => fc.integer({ min: 0, max: n - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: n - b })))));

const shapeArb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 });

describe('fastSlice', () => {
  fcTest.prop([shapeArb.chain((shape) => fc.tuple(fc.constant(shape), boxIn(shape))), fc.integer({ min: 1, max: 1e6 })], { numRuns: 40 })(
    'equals tf.slice (values and the gradient of a weighted sum) on cpu and wasm, any rank ≤ 5',
    async ([shape, box], seed) => {
      const begin = box.map((b) => b[0]);
      const size = box.map((b) => b[1]);
      const run = (f: typeof tf.slice) =>
        tf.tidy(() => {
          const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
          const w = tf.randomNormal(size, 0, 1, 'float32', seed + 1);
          const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t, begin, size), w)))(x);
          return snapshot([f(x, begin, size), g]);
        });
      const ref = run(tf.slice);
      for (const backend of ['cpu', 'wasm'] as const) {
        const got = await onBackend(backend, () => run(fastSlice as typeof tf.slice));
        expect(got[0], `${backend} value`).toEqual(ref[0]);
        got[1]!.forEach((v, i) => expect(Math.abs(v - ref[1]![i]!), `${backend} gradient`).toBeLessThan(1e-6));
      }
    },
  );

  it('runs vdafm\'s own kernel on wasm only, copies int32 too, and leaks nothing', async () => {
    await onBackend('wasm', async () => {
      const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]], undefined, 'int32');
      const info = await tf.profile(() => fastSlice(x, [0, 1], [2, 2]));
      expect(info.kernelNames).toContain(VDAFM_SLICE);
      expect(info.kernelNames).not.toContain('Slice');
      expect(Array.from((info.result as tf.Tensor).dataSync())).toEqual([2, 3, 5, 6]);
      tf.dispose(info.result as tf.Tensor);
      const y = tf.randomNormal([4, 5, 6]);
      await assertNoLeaks(() => tf.grad((t: tf.Tensor) => tf.sum(fastSlice(t, [1, 0, 2], [2, 5, 3])))(y), 'fastSlice gradient');
      tf.dispose([x, y]);
    });
    const info = await tf.profile(() => fastSlice(tf.ones([3, 3]), [1, 1], [1, 1]));
    expect(info.kernelNames).toContain('Slice'); // cpu: the stock kernel
    tf.dispose(info.result as tf.Tensor);
  });
});

describe('splitRows', () => {
  it('equals tf.split along axis 0 on cpu and wasm', async () => {
    const sizes = [1, 4, 2, 3];
    const run = (f: (x: tf.Tensor, s: number[]) => tf.Tensor[]) => tf.tidy(() => snapshot(f(tf.reshape(tf.range(0, 30), [10, 3]), sizes)));
    const ref = run((x, s) => tf.split(x, s));
    expect(ref.map((r) => r.length)).toEqual([3, 12, 6, 9]);
    for (const backend of ['cpu', 'wasm'] as const) expect(await onBackend(backend, () => run(splitRows))).toEqual(ref);
  });
});
