// The Node worker-thread GEMM pool (src/node/threads.ts): products equal a float64 reference and
// the single-threaded kernel bit for bit (rows and batch entries split, odd shapes, either SIMD
// build); workers start and stop cleanly; threads are on by default in Node (VDAFM_THREADS,
// disableThreads opt out) and never keep a process alive.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { defaultThreadCount, disableThreads, enableThreads, splitImages, splitJob, threadCount } from '../../src/node/threads.js';
import { convGemm, type Im2ColGeometry, setConvChunkRows } from '../../src/kernels/conv.js';
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
    await enableThreads({ threads, minWork: 0, minIntensity: 0 });
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
      await enableThreads({ threads: 2, minWork: 0, minIntensity: 0 });
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

describe('splitJob', () => {
  fcTest.prop([fc.integer({ min: 8, max: 400 }), fc.integer({ min: 1, max: 8 })])('covers the rows in blocks of ≥ 4 (multiples of 4 but the last)', (m, threads) => {
    const shares = splitJob(m, 1, threads);
    expect(shares.length).toBeLessThanOrEqual(threads);
    let next = 0;
    shares.forEach((sh, i) => {
      expect(sh.r0).toBe(next);
      expect(sh.rows).toBeGreaterThanOrEqual(4);
      if (i < shares.length - 1) expect(sh.rows % 4).toBe(0);
      next += sh.rows;
    });
    expect(next).toBe(m);
  });

  fcTest.prop([fc.integer({ min: 2, max: 300 }), fc.integer({ min: 1, max: 8 })])('covers a batch by whole entries', (batch, threads) => {
    const shares = splitJob(5, batch, threads);
    expect(shares.length).toBeLessThanOrEqual(threads);
    expect(shares.reduce((n, sh) => (expect(sh.e0).toBe(n), n + sh.count), 0)).toBe(batch);
  });
});

describe('thread count independence (bitwise)', () => {
  it.each([
    ['odd rows, bias', [10, 33], [33, 17], false, false, true],
    ['13 rows, transposed A', [40, 13], [40, 70], true, false, false],
    ['batch of 7, transposed B, bias', [7, 9, 20], [7, 11, 20], false, true, true],
    ['batch of 5, few rows', [5, 3, 64], [5, 64, 48], false, false, false],
  ])('%s: 2 and 3 threads give the single-threaded bits', async (_, aShape, bShape, transposeA, transposeB, withBias) => {
    await onBackend('wasm', async () => {
      const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      const a = tf.tensor(values(size(aShape), 7), aShape as [number, number]) as tf.Tensor2D;
      const b = tf.tensor(values(size(bShape), 8), bShape as [number, number]) as tf.Tensor2D;
      const n = transposeB ? bShape[bShape.length - 2]! : bShape[bShape.length - 1]!;
      const opts = withBias ? { transposeA, transposeB, bias: tf.tensor1d(values(n, 9)) } : { transposeA, transposeB };
      await disableThreads();
      const one = fastMatMul(a, b, opts);
      for (const threads of [2, 3]) {
        await enableThreads({ threads, minWork: 0, minIntensity: 0 });
        const pool = gemmPool()!;
        let used = 0;
        const run = pool.run.bind(pool);
        (pool as { run: typeof pool.run }).run = (job) => (run(job) ? (used++, true) : false);
        const many = fastMatMul(a, b, opts);
        expect(used).toBe(1);
        expect(Array.from(many.dataSync())).toEqual(Array.from(one.dataSync()));
        many.dispose();
      }
      await disableThreads();
      tf.dispose([a, b, one, ...('bias' in opts ? [opts.bias] : [])]);
    });
  });
});

describe('convolution products in the pool (bitwise)', () => {
  it.each([
    // [images shape, geometry, cout]
    ['3×3 stride 1 same, 3 images', [3, 9, 10, 4], { kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 9, wo: 10 }, 6],
    ['3×3 stride 2, 5 images, odd rows per image', [5, 7, 7, 3], { kh: 3, kw: 3, sh: 2, sw: 2, pt: 1, pl: 1, ho: 4, wo: 4 }, 5],
    ['one image (im2col on one thread)', [1, 12, 12, 2], { kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 12, wo: 12 }, 8],
    ['a volume, stride 2 in depth', [2, 5, 6, 6, 2], { kd: 3, sd: 2, pf: 1, dout: 3, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 6, wo: 6 }, 4],
    // 8 channels: the forward product and the filter gradient read the patches in place (kw·c = 24)
    ['8 channels in place, 3 images', [3, 9, 10, 8], { kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 9, wo: 10 }, 12],
    ['8 channels in place, a volume over 5 row units', [2, 5, 10, 11, 8], { kd: 3, sd: 1, pf: 1, dout: 5, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 10, wo: 11 }, 16],
    // 1100 patch rows: 5 units of 256 rows (the last short), split over the threads by units
    ['a thin-channel volume over 5 row units', [2, 5, 10, 11, 4], { kd: 3, sd: 1, pf: 1, dout: 5, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 10, wo: 11 }, 4],
  ] as Array<[string, number[], Im2ColGeometry, number]>)('%s: 2 and 3 threads give the single-threaded bits in every mode', async (_, shape, g, cout) => {
    await onBackend('wasm', async () => {
      const images = shape.reduce((p, d) => p * d, 1);
      const rows = shape[0]! * (g.dout ?? 1) * g.ho * g.wo;
      const kk = (g.kd ?? 1) * g.kh * g.kw * shape[shape.length - 1]!;
      const x = tf.tensor(values(images, 11), shape);
      const w = tf.tensor2d(values(kk * cout, 12), [kk, cout]);
      const dy = tf.tensor2d(values(rows * cout, 13), [rows, cout]);
      const all = () => [convGemm('forward', x, w, g, shape)!, convGemm('input', dy, w, g, shape)!, convGemm('filter', x, dy, g, shape)!];
      await disableThreads();
      const one = all();
      for (const threads of [2, 3]) {
        await enableThreads({ threads, minWork: 0 });
        const pool = gemmPool()!;
        let used = 0;
        const conv = pool.conv!.bind(pool);
        (pool as { conv: typeof conv }).conv = (job) => (conv(job) ? (used++, true) : false);
        for (const chunk of [null, 6]) {
          setConvChunkRows(chunk); // the forward pass in the default blocks, and in blocks of 6 rows
          try {
            const many = all();
            many.forEach((t, i) => expect(Array.from(t.dataSync()), `${threads} threads, blocks ${chunk}, mode ${i}`).toEqual(Array.from(one[i]!.dataSync())));
            tf.dispose(many);
          } finally {
            setConvChunkRows(null);
          }
        }
        expect(used).toBe(6);
      }
      await disableThreads();
      tf.dispose([x, w, dy, ...one]);
    });
  });

  fcTest.prop([fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 8 })])('splitImages covers the images in order, at most one part per thread', (n, threads) => {
    const parts = splitImages(n, threads);
    expect(parts.length).toBeLessThanOrEqual(threads);
    expect(parts.reduce((next, [i0, count]) => (expect(i0).toBe(next), expect(count).toBeGreaterThan(0), next + count), 0)).toBe(n);
  });
});

describe('threads by default in Node', () => {
  it('defaultThreadCount reads VDAFM_THREADS (0/1 off, N) and the core count', () => {
    const cores = availableParallelism() > 1 ? Math.min(8, availableParallelism()) : 1;
    expect(defaultThreadCount({})).toBe(cores);
    expect(defaultThreadCount({ VDAFM_THREADS: 'auto' })).toBe(cores);
    expect(defaultThreadCount({ VDAFM_THREADS: '0' })).toBe(1);
    expect(defaultThreadCount({ VDAFM_THREADS: '1' })).toBe(1);
    expect(defaultThreadCount({ VDAFM_THREADS: '3' })).toBe(3);
    expect(defaultThreadCount({ VDAFM_THREADS: 'many' })).toBe(cores);
  });

  // A fresh process that imports vdafm/node's thread module and multiplies: the pool starts by
  // itself on the first large product (workers come up in the background), the products match
  // the single thread bit for bit, and the process exits at once (workers are unref'd).
  const script = [
    "const tf = await import('@tensorflow/tfjs-core');",
    "await import('@tensorflow/tfjs-backend-wasm');",
    "const { threadCount, disableThreads } = await import('./src/node/threads.ts');",
    "const { fastMatMul } = await import('./src/ops/matmul.ts');",
    "await tf.setBackend('wasm');",
    'const a = tf.randomNormal([300, 200], 0, 1, "float32", 1), b = tf.randomNormal([200, 400], 0, 1, "float32", 2);',
    'const first = fastMatMul(a, b).dataSync();',
    'await new Promise((r) => setTimeout(r, 300));',
    'const second = fastMatMul(a, b).dataSync();',
    'const threads = threadCount();',
    'await disableThreads();',
    'const single = fastMatMul(a, b).dataSync();',
    'console.log(JSON.stringify({ threads, same: first.every((v, i) => v === single[i] && second[i] === v) }));',
  ].join('\n');
  const run = (env: Record<string, string>) => {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; same: boolean }), seconds: (Date.now() - t0) / 1000 };
  };

  it.skipIf(availableParallelism() < 2)('start on the first large product, give the same bits, and let the process exit', () => {
    const on = run({ VDAFM_THREADS: '' });
    expect(on.threads).toBe(Math.min(8, availableParallelism()));
    expect(on.same).toBe(true);
    expect(on.seconds).toBeLessThan(30); // no hang at exit (a hang runs into the 60 s timeout)
    expect(run({ VDAFM_THREADS: '3' }).threads).toBe(3);
  });

  it('VDAFM_THREADS=0 opts out', () => {
    expect(run({ VDAFM_THREADS: '0' })).toMatchObject({ threads: 1, same: true });
  });
});
