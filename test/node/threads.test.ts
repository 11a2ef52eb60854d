// The Node worker-thread GEMM pool (src/node/threads.ts): products equal a float64 reference and
// the single-threaded kernel bit for bit; workers start and stop cleanly.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { disableThreads, enableThreads, threadCount } from '../../src/node/threads.js';
import { gemmPool } from '../../src/kernels/threads.js';
import { fastMatMul } from '../../src/ops/matmul.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { onBackend } from '../helpers/backends.js';

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  });
}

/** float64 op(A)·op(B) + bias. */
function reference(m: number, n: number, k: number, a: Float32Array, tA: boolean, b: Float32Array, tB: boolean, bias: Float32Array | null): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = bias ? bias[j]! : 0;
      for (let p = 0; p < k; p++) acc += a[tA ? p * m + i : i * k + p]! * b[tB ? j * k + p : p * n + j]!;
      out[i * n + j] = acc;
    }
  }
  return out;
}

afterAll(async () => {
  await disableThreads();
});

describe('enableThreads (Node worker-thread GEMM)', () => {
  fcTest.prop(
    [fc.integer({ min: 8, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.boolean(), fc.boolean(), fc.boolean(), fc.integer({ min: 2, max: 3 })],
    { numRuns: 12 },
  )('splits a product over threads with the float64 result (any transposes, bias, K across cache blocks)', async (m, n, k, tA, tB, withBias, threads) => {
    await enableThreads({ threads, minWork: 0 });
    expect(threadCount()).toBe(threads);
    const a = values(m * k, m * 31 + k);
    const b = values(k * n, n * 17 + k);
    const bias = withBias ? values(n, 5) : null;
    const out = new Float32Array(m * n);
    expect(gemmPool()!.run({ m, n, k, a, transA: tA, b, transB: tB, bias, out })).toBe(true);
    const ref = reference(m, n, k, a, tA, b, tB, bias);
    out.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.sqrt(k))));
  });

  it('gives fastMatMul bitwise the single-threaded values on wasm, declines small products, and turns off', async () => {
    await onBackend('wasm', async () => {
      const a = tf.tensor2d(values(96 * 200, 1), [96, 200]);
      const b = tf.tensor2d(values(200 * 64, 2), [200, 64]);
      const bias = tf.tensor1d(values(64, 3));
      await disableThreads();
      const one = fastMatMul(a, b, { bias });
      const oneT = fastMatMul(b, a, { transposeA: true, transposeB: true });
      await enableThreads({ threads: 2, minWork: 0 });
      const pool = gemmPool()!;
      let calls = 0;
      const run = pool.run.bind(pool);
      (pool as { run: typeof pool.run }).run = (job) => (calls++, run(job));
      const two = fastMatMul(a, b, { bias });
      const twoT = fastMatMul(b, a, { transposeA: true, transposeB: true });
      expect(Array.from(two.dataSync())).toEqual(Array.from(one.dataSync()));
      expect(Array.from(twoT.dataSync())).toEqual(Array.from(oneT.dataSync()));
      expect(calls).toBe(2); // both products went through the pool
      tf.dispose([a, b, bias, one, oneT, two, twoT]);
    });
    await enableThreads({ threads: 2 });
    const small = new Float32Array(16 * 16);
    expect(gemmPool()!.run({ m: 16, n: 16, k: 16, a: small, transA: false, b: small, transB: false, bias: null, out: new Float32Array(256) })).toBe(false);
    await disableThreads();
    expect(gemmPool()).toBeNull();
    expect(threadCount()).toBe(1);
    expect(await enableThreads({ threads: 1 })).toBe(1);
    await expect(enableThreads({ threads: 0 })).rejects.toThrow(InvalidArgumentError);
  });
});
