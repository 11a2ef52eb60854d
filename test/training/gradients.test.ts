// Gradient utilities (src/training/gradients.ts) against hand-computed values.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { allFinite, clipByGlobalNorm, globalNorm, modulationCoefficients } from '../../src/training/gradients.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { onBackend } from '../helpers/backends.js';

describe('allFinite', () => {
  it('is 1 for finite tensors (even huge ones whose squares overflow) and 0 with any ±Inf or NaN', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const got = await onBackend(backend, () =>
        tf.tidy(() => {
          const ok = [tf.tensor1d([1, -2]), tf.tensor2d([[3e38, -3e38]])];
          const cases = [ok, [...ok, tf.tensor1d([0, Infinity])], [...ok, tf.tensor1d([-Infinity])], [tf.tensor1d([NaN]), ...ok], []];
          return cases.map((c) => allFinite(c).dataSync()[0]);
        }),
      );
      expect(got, backend).toEqual([1, 0, 0, 0, 1]);
    }
  });
});

describe('globalNorm and clipByGlobalNorm', () => {
  it('computes the norm over all tensors and scales only when it exceeds maxNorm (hand-checked)', () => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) }; // norm 5
    const n = globalNorm(grads);
    expect(n.dataSync()[0]).toBeCloseTo(5, 6);
    const clipped = clipByGlobalNorm(grads, 1);
    expect(Array.from(clipped.grads['a']!.dataSync())).toEqual([Math.fround(0.6), 0]);
    expect(Array.from(clipped.grads['b']!.dataSync())).toEqual([0, Math.fround(0.8)]);
    const kept = clipByGlobalNorm(grads, 10);
    expect(Array.from(kept.grads['b']!.dataSync())).toEqual([0, 4]);
    expect(globalNorm({}).dataSync()[0]).toBe(0);
    expect(() => clipByGlobalNorm(grads, 0)).toThrow(InvalidArgumentError);
    tf.dispose([n, ...Object.values(grads), ...Object.values(clipped.grads), clipped.norm, ...Object.values(kept.grads), kept.norm]);
  });

  fcTest.prop([fc.array(fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 })], { numRuns: 30 })(
    'globalNorm equals the float64 norm of all entries',
    (arrays) => {
      const grads = Object.fromEntries(arrays.map((a, i) => [`g${i}`, tf.tensor1d(a)]));
      const expected = Math.sqrt(arrays.flat().reduce((s, v) => s + Math.fround(v) ** 2, 0));
      const n = globalNorm(grads);
      expect(Math.abs(n.dataSync()[0]! - expected)).toBeLessThanOrEqual(1e-5 * Math.max(1, expected));
      tf.dispose([n, ...Object.values(grads)]);
    },
  );
});

describe('modulationCoefficients', () => {
  it('damps only the modality whose score exceeds the mean of the others: 1 − tanh(α·(ratio − 1))', () => {
    const scores = { image: tf.scalar(0.9), text: tf.scalar(0.3), clinical: tf.scalar(0.6) };
    const c = modulationCoefficients(scores, 1);
    expect(c['image']!.dataSync()[0]).toBeCloseTo(1 - Math.tanh(0.9 / 0.45 - 1), 5);
    expect(c['text']!.dataSync()[0]).toBeCloseTo(1, 6);
    expect(c['clinical']!.dataSync()[0]).toBeCloseTo(1 - Math.tanh(0.6 / 0.6 - 1), 5);
    expect(() => modulationCoefficients(scores, -1)).toThrow(/alpha/);
    tf.dispose([...Object.values(scores), ...Object.values(c)]);
  });
});
