// The core GEMM-pool hook (src/kernels/threads.ts): a registered pool receives the large rank-2
// products of vdafm's GEMM kernel on wasm, its result is used, and a declined job is computed by
// the kernel itself.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { fastMatMul } from '../../src/ops/matmul.js';
import { gemmPool, setGemmPool, type GemmJob, type GemmPool } from '../../src/kernels/threads.js';
import { onBackend } from '../helpers/backends.js';

/** A pool on the calling thread: plain float64 loops (no transposes needed by this test). */
function loopPool(accept: boolean): GemmPool & { jobs: GemmJob[] } {
  const jobs: GemmJob[] = [];
  return {
    threads: 1,
    minWork: 0,
    jobs,
    run(job) {
      jobs.push(job);
      if (!accept) return false;
      const { m, n, k, a, b, bias, out } = job;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = bias ? bias[j]! : 0;
          for (let p = 0; p < k; p++) acc += a[i * k + p]! * b[p * n + j]!;
          out[i * n + j] = acc;
        }
      }
      return true;
    },
  };
}

afterEach(() => setGemmPool(null));

describe('setGemmPool', () => {
  it('hands rank-2 products to the pool, and computes declined ones itself (same values)', async () => {
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
        const b = tf.tensor2d([[1, 0, 2], [0, 1, 3]]);
        return Array.from(fastMatMul(a, b, { bias: tf.tensor1d([10, 20, 30]) }).dataSync());
      });
    const expected = [11, 22, 38, 13, 24, 48, 15, 26, 58];
    const accepting = loopPool(true);
    setGemmPool(accepting);
    expect(gemmPool()).toBe(accepting);
    expect(await onBackend('wasm', run)).toEqual(expected);
    expect(accepting.jobs.map((j) => [j.m, j.n, j.k, j.transA, j.transB])).toEqual([[3, 3, 2, false, false]]);
    const declining = loopPool(false);
    setGemmPool(declining);
    expect(await onBackend('wasm', run)).toEqual(expected);
    expect(declining.jobs).toHaveLength(1);
    setGemmPool(null);
    expect(gemmPool()).toBeNull();
    expect(await onBackend('wasm', run)).toEqual(expected);
    expect(declining.jobs).toHaveLength(1); // no pool, no call
  });
});
