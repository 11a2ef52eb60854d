// fastMatMul (src/ops/matmul.ts on the VdafmGemm kernel of src/kernels/gemm.ts): our wasm-SIMD GEMM kernel against a float64 triple loop and
// against tfjs's own matMul + autodiff on the cpu backend.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import { COLUMN_SUM_KERNEL_NAME, GEMM_KERNEL_NAME } from '../../src/kernels/gemm.js';
import {
  fastKernelsActive,
  fastKernelsMode,
  initFastKernels,
  setFastKernelsEnabled,
} from '../../src/kernels/module.js';
import { fastMatMul } from '../../src/ops/matmul.js';
import { assertNoLeaks, assertTensorsClose } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';
import { expectArgumentError } from '../helpers/errors.js';

interface Case {
  batch: number; // 0: rank 2
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  useBias: boolean;
  seed: number;
}

interface Data {
  a: Float32Array;
  b: Float32Array;
  bias: Float32Array;
  dy: Float32Array;
  aShape: number[];
  bShape: number[];
  outShape: number[];
}

function uniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function makeData(c: Case): Data {
  const lead = c.batch > 0 ? [c.batch] : [];
  const bt = Math.max(c.batch, 1);
  return {
    a: uniform(bt * c.m * c.k, c.seed + 1),
    b: uniform(bt * c.k * c.n, c.seed + 2),
    bias: uniform(c.n, c.seed + 3),
    dy: uniform(bt * c.m * c.n, c.seed + 4),
    aShape: [...lead, ...(c.transposeA ? [c.k, c.m] : [c.m, c.k])],
    bShape: [...lead, ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])],
    outShape: [...lead, c.m, c.n],
  };
}

/** op(a)·op(b) + bias in float64 with plain loops (independent of tfjs). */
function referenceProduct(c: Case, d: Data): Float64Array {
  const bt = Math.max(c.batch, 1);
  const out = new Float64Array(bt * c.m * c.n);
  for (let s = 0; s < bt; s++) {
    const ao = s * c.m * c.k;
    const bo = s * c.k * c.n;
    for (let i = 0; i < c.m; i++) {
      for (let j = 0; j < c.n; j++) {
        let acc = c.useBias ? d.bias[j]! : 0;
        for (let p = 0; p < c.k; p++) {
          const av = c.transposeA ? d.a[ao + p * c.m + i]! : d.a[ao + i * c.k + p]!;
          const bv = c.transposeB ? d.b[bo + j * c.k + p]! : d.b[bo + p * c.n + j]!;
          acc += av * bv;
        }
        out[s * c.m * c.n + i * c.n + j] = acc;
      }
    }
  }
  return out;
}

function tensors(d: Data): { a: tf.Tensor2D; b: tf.Tensor2D; bias: tf.Tensor1D; dy: tf.Tensor } {
  return {
    a: tf.tensor<tf.Rank>(d.a, d.aShape) as tf.Tensor2D,
    b: tf.tensor<tf.Rank>(d.b, d.bShape) as tf.Tensor2D,
    bias: tf.tensor1d(d.bias),
    dy: tf.tensor(d.dy, d.outShape),
  };
}

/** Value and gradients (a, b[, bias]) of fastMatMul for loss = Σ y·dy, as plain arrays. */
function fastValueAndGrads(c: Case, d: Data): Float32Array[] {
  const t = tensors(d);
  const opts = { transposeA: c.transposeA, transposeB: c.transposeB };
  const y = fastMatMul(t.a, t.b, c.useBias ? { ...opts, bias: t.bias } : opts);
  const f = c.useBias
    ? (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.mul(fastMatMul(a as tf.Tensor2D, b as tf.Tensor2D, { ...opts, bias: bias as tf.Tensor1D }), t.dy))
    : (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fastMatMul(a as tf.Tensor2D, b as tf.Tensor2D, opts), t.dy));
  const grads = tf.grads(f as (...x: tf.Tensor[]) => tf.Tensor)(c.useBias ? [t.a, t.b, t.bias] : [t.a, t.b]);
  const out = snapshot([y, ...grads]);
  tf.dispose([y, ...grads, t.a, t.b, t.bias, t.dy]);
  return out;
}

/** The same through tfjs's own matMul (with its flags) and its registered gradients. */
function stockValueAndGrads(c: Case, d: Data): Float32Array[] {
  const t = tensors(d);
  const g = (a: tf.Tensor, b: tf.Tensor, bias?: tf.Tensor) => {
    const y = tf.matMul(a, b, c.transposeA, c.transposeB);
    return bias ? tf.add(y, bias) : y;
  };
  const y = g(t.a, t.b, c.useBias ? t.bias : undefined);
  const f = (...x: tf.Tensor[]) => tf.sum(tf.mul(g(x[0]!, x[1]!, x[2]), t.dy));
  const grads = tf.grads(f)(c.useBias ? [t.a, t.b, t.bias] : [t.a, t.b]);
  const out = snapshot([y, ...grads]);
  tf.dispose([y, ...grads, t.a, t.b, t.bias, t.dy]);
  return out;
}

const caseArb = fc.record({
  batch: fc.constantFrom(0, 0, 1, 2, 3),
  m: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 37 })),
  k: fc.integer({ min: 1, max: 37 }),
  n: fc.integer({ min: 1, max: 37 }),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
  useBias: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

const tol = { atol: 1e-4, rtol: 1e-4 };

describe('fastMatMul on the wasm backend', () => {
  it('loads the module and registers only our own kernel names', async () => {
    expect(await initFastKernels()).toBe(true);
    expect(fastKernelsActive()).toBe(false); // cpu is active here
    expect(tf.getKernel(GEMM_KERNEL_NAME, 'wasm')).toBeDefined();
    expect(tf.getKernel(COLUMN_SUM_KERNEL_NAME, 'wasm')).toBeDefined();
    expect(tf.getKernel(GEMM_KERNEL_NAME, 'cpu')).toBeUndefined();
    await onBackend('wasm', () => {
      expect(fastKernelsActive()).toBe(true);
      expect(fastKernelsMode()).toBe('zero-copy'); // runs in tfjs-backend-wasm 4.22's own heap
    });
    expect(fastKernelsMode()).toBe('off');
  });

  it('computes the documented example on wasm and cpu', async () => {
    const run = () => {
      const y = fastMatMul(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([4, 3]) as tf.Tensor2D, { transposeB: true, bias: tf.tensor1d([0, 1, 2, 3]) });
      const out = y.arraySync();
      y.dispose();
      return out;
    };
    const expected = [[3, 4, 5, 6], [3, 4, 5, 6]];
    expect(await onBackend('wasm', () => tf.tidy(run))).toEqual(expected);
    expect(tf.tidy(run)).toEqual(expected);
  });

  fcTest.prop([caseArb], { numRuns: 60 })('matches a float64 triple loop (any shape, transposes, bias, batch)', async (c) => {
    const d = makeData(c);
    const [y] = await onBackend('wasm', () => {
      expect(fastKernelsActive()).toBe(true);
      return fastValueAndGrads(c, d);
    });
    assertTensorsClose(tf.tensor(y!, d.outShape), tf.tensor(Float32Array.from(referenceProduct(c, d)), d.outShape), tol, 'value');
  });

  fcTest.prop([caseArb], { numRuns: 40 })('has the gradients of tfjs matMul (cpu autodiff)', async (c) => {
    const d = makeData(c);
    const want = stockValueAndGrads(c, d);
    const got = await onBackend('wasm', () => fastValueAndGrads(c, d));
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => assertTensorsClose(g, want[i]!, tol, ['value', 'da', 'db', 'dbias'][i]));
  });

  fcTest.prop([caseArb], { numRuns: 20 })('gives the same values and gradients in the copying mode', async (c) => {
    const d = makeData(c);
    const zeroCopy = await onBackend('wasm', () => fastValueAndGrads(c, d));
    setFastKernelsEnabled(true, { zeroCopy: false });
    try {
      const copied = await onBackend('wasm', () => {
        expect(fastKernelsMode()).toBe('copy');
        return fastValueAndGrads(c, d);
      });
      // Same kernel, same summation order: bit-identical.
      copied.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(zeroCopy[i]!)));
    } finally {
      setFastKernelsEnabled(true);
    }
  });

  const blockCases: Array<[string, Case]> = [
    ['crosses the K and M cache blocks', { batch: 0, m: 70, k: 300, n: 130, transposeA: false, transposeB: false, useBias: true, seed: 11 }],
    ['crosses the N cache block (N > 1024), transposed B', { batch: 0, m: 5, k: 260, n: 1030, transposeA: false, transposeB: true, useBias: true, seed: 12 }],
    ['transposed A over several K blocks', { batch: 0, m: 67, k: 530, n: 9, transposeA: true, transposeB: false, useBias: false, seed: 13 }],
    ['both transposed, batched', { batch: 2, m: 33, k: 257, n: 17, transposeA: true, transposeB: true, useBias: true, seed: 14 }],
    ['a single row', { batch: 0, m: 1, k: 256, n: 256, transposeA: false, transposeB: false, useBias: true, seed: 15 }],
    ['a single column', { batch: 0, m: 9, k: 3, n: 1, transposeA: false, transposeB: true, useBias: true, seed: 16 }],
  ];
  it.each(blockCases)('values and gradients: %s', async (_, c) => {
    const d = makeData(c);
    const got = await onBackend('wasm', () => fastValueAndGrads(c, d));
    assertTensorsClose(got[0]!, Float32Array.from(referenceProduct(c, d)), { atol: 2e-4, rtol: 1e-4 }, 'value');
    const want = stockValueAndGrads(c, d);
    got.forEach((g, i) => assertTensorsClose(g, want[i]!, { atol: 2e-4, rtol: 1e-4 }, ['value', 'da', 'db', 'dbias'][i]));
  });

  it('reads operands created on another backend (moved by tfjs on first use)', async () => {
    const a = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]); // created on cpu
    const b = tf.tensor2d([[1, 0, 2], [0, 1, 3]]);
    const y = await onBackend('wasm', () => {
      const out = fastMatMul(a, b);
      const values = out.arraySync();
      out.dispose();
      return values;
    });
    expect(y).toEqual([[1, 2, 8], [3, 4, 18], [5, 6, 28], [7, 8, 38], [9, 10, 48]]);
    tf.dispose([a, b]);
  });

  fcTest.prop([fc.integer({ min: 5, max: 70 }).filter((m) => m % 4 !== 0), fc.integer({ min: 1, max: 300 }), fc.boolean(), fc.boolean()], { numRuns: 25 })(
    'the last rows of a block (fewer than 4) give the bits those rows get inside a full 4-row tile',
    async (m, k, transA, withBias) => {
      const n = 16; // full-width panels: the rows take the one-row edge path
      const seqOf = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(seed + 0.37 * i));
      await onBackend('wasm', () => {
        const [whole, tail] = tf.tidy(() => {
          const aRows = tf.tensor2d(seqOf(m * k, m), [m, k]);
          const a = transA ? tf.transpose(aRows) : aRows;
          const b = tf.tensor2d(seqOf(k * n, k), [k, n]);
          const bias = withBias ? tf.tensor1d(seqOf(n, 3)) : undefined;
          const opts = { transposeA: transA, ...(bias ? { bias } : {}) };
          // the last 4 rows alone: one full tile, whose last m % 4 rows are the edge rows of the whole product
          const last4 = tf.slice(aRows, [m - 4, 0], [4, k]);
          const a4 = transA ? tf.transpose(last4) : last4;
          return snapshot([fastMatMul(a as tf.Tensor2D, b, opts), fastMatMul(a4 as tf.Tensor2D, b, opts)]);
        });
        const edge = m % 4;
        expect(Array.from(whole!.subarray((m - edge) * n))).toEqual(Array.from(tail!.subarray((4 - edge) * n)));
      });
    },
  );

  fcTest.prop(
    [fc.oneof(fc.integer({ min: 4, max: 70 }), fc.constant(1024)), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 64 }), fc.boolean(), fc.boolean()],
    { numRuns: 30 },
  )('a narrow product (n ≤ 64: A read in place) gives the bits of the same columns of a wide one (A packed)', async (m, k, n, transA, withBias) => {
    const wide = 72; // above DIRECT_N (64) in native/gemm.c: the packed path
    const seqOf = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(seed + 0.37 * i));
    await onBackend('wasm', () => {
      const [narrowOut, wideOut] = tf.tidy(() => {
        const aRows = tf.tensor2d(seqOf(m * k, m), [m, k]);
        const a = (transA ? tf.transpose(aRows) : aRows) as tf.Tensor2D;
        const bWide = tf.tensor2d(seqOf(k * wide, k), [k, wide]);
        const biasWide = tf.tensor1d(seqOf(wide, 3));
        const opts = (bias: tf.Tensor1D) => ({ transposeA: transA, ...(withBias ? { bias } : {}) });
        const narrow = fastMatMul(a, tf.slice(bWide, [0, 0], [k, n]), opts(tf.slice(biasWide, 0, n)));
        return snapshot([narrow, tf.slice(fastMatMul(a, bWide, opts(biasWide)), [0, 0], [m, n])]);
      });
      expect(Array.from(narrowOut!)).toEqual(Array.from(wideOut!));
    });
  });

  it('gives bias (or zeros) when the inner size is 0', async () => {
    const out = await onBackend('wasm', () =>
      tf.tidy(() => {
        const y = fastMatMul(tf.zeros([2, 0]) as tf.Tensor2D, tf.zeros([0, 3]) as tf.Tensor2D, { bias: tf.tensor1d([1, 2, 3]) });
        const z = fastMatMul(tf.zeros([2, 0]) as tf.Tensor2D, tf.zeros([0, 3]) as tf.Tensor2D);
        return [y.arraySync(), z.arraySync()];
      }),
    );
    expect(out).toEqual([[[1, 2, 3], [1, 2, 3]], [[0, 0, 0], [0, 0, 0]]]);
  });

  it('takes the stock path when disabled, with the same values and gradients', async () => {
    const c: Case = { batch: 0, m: 13, k: 21, n: 10, transposeA: true, transposeB: false, useBias: true, seed: 21 };
    const d = makeData(c);
    const fast = await onBackend('wasm', () => fastValueAndGrads(c, d));
    setFastKernelsEnabled(false);
    try {
      const stock = await onBackend('wasm', () => {
        expect(fastKernelsActive()).toBe(false);
        expect(fastKernelsMode()).toBe('off');
        return fastValueAndGrads(c, d);
      });
      fast.forEach((g, i) => assertTensorsClose(g, stock[i]!, tol, `#${i}`));
    } finally {
      setFastKernelsEnabled(true);
    }
    const onCpu = fastValueAndGrads(c, d);
    fast.forEach((g, i) => assertTensorsClose(g, onCpu[i]!, tol, `cpu #${i}`));
  });

  it('leaks no tensors (forward and gradients, wasm and cpu)', async () => {
    const c: Case = { batch: 2, m: 6, k: 7, n: 5, transposeA: false, transposeB: true, useBias: true, seed: 31 };
    const d = makeData(c);
    const step = () => {
      const t = tensors(d);
      const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
        tf.sum(fastMatMul(a as tf.Tensor2D, b as tf.Tensor2D, { transposeB: true, bias: bias as tf.Tensor1D }));
      const out = [fastMatMul(t.a, t.b, { transposeB: true, bias: t.bias }), ...tf.grads(f as (...x: tf.Tensor[]) => tf.Tensor)([t.a, t.b, t.bias])];
      tf.dispose([t.a, t.b, t.bias, t.dy]);
      return out;
    };
    await onBackend('wasm', async () => {
      tf.dispose(step()); // warm up
      await assertNoLeaks(step, 'fastMatMul on wasm');
    });
    await assertNoLeaks(step, 'fastMatMul on cpu');
  });
});

describe('fastMatMul rejects bad inputs', () => {
  const a = () => tf.ones([2, 3]) as tf.Tensor2D;
  it.each<[string, () => unknown, string]>([
    ['a of rank 1', () => fastMatMul(tf.ones([3]) as unknown as tf.Tensor2D, a()), 'a'],
    ['a of rank 4', () => fastMatMul(tf.ones([1, 1, 2, 3]) as unknown as tf.Tensor2D, a()), 'a'],
    ['mismatched inner sizes', () => fastMatMul(a(), tf.ones([4, 5]) as tf.Tensor2D), 'b'],
    ['inner size mismatched after transposeB', () => fastMatMul(a(), tf.ones([3, 5]) as tf.Tensor2D, { transposeB: true }), 'b'],
    ['inner size mismatched after transposeA', () => fastMatMul(a(), tf.ones([3, 5]) as tf.Tensor2D, { transposeA: true }), 'b'],
    ['b of another rank', () => fastMatMul(a(), tf.ones([1, 3, 5]) as unknown as tf.Tensor2D), 'b'],
    ['different batches', () => fastMatMul(tf.ones([2, 2, 3]) as tf.Tensor3D, tf.ones([3, 3, 4]) as tf.Tensor3D), 'b'],
    ['bias of the wrong size', () => fastMatMul(a(), tf.ones([3, 4]) as tf.Tensor2D, { bias: tf.ones([3]) as tf.Tensor1D }), 'bias'],
    ['bias of rank 2', () => fastMatMul(a(), tf.ones([3, 4]) as tf.Tensor2D, { bias: tf.ones([1, 4]) as unknown as tf.Tensor1D }), 'bias'],
  ])('throws ShapeError for %s', (_, call, argument) => {
    expectArgumentError(call, ShapeError, argument);
  });

  it.each<[string, () => unknown, string]>([
    ['an int32 a', () => fastMatMul(tf.ones([2, 3], 'int32') as tf.Tensor2D, tf.ones([3, 4]) as tf.Tensor2D), 'a.dtype'],
    ['an int32 bias', () => fastMatMul(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([3, 4]) as tf.Tensor2D, { bias: tf.ones([4], 'int32') as tf.Tensor1D }), 'bias.dtype'],
    ['a non-boolean transposeA', () => fastMatMul(a(), a(), { transposeA: 1 as unknown as boolean }), 'transposeA'],
    ['a non-boolean transposeB', () => fastMatMul(a(), a(), { transposeB: 'yes' as unknown as boolean }), 'transposeB'],
    ['a non-boolean switch', () => setFastKernelsEnabled(0 as unknown as boolean), 'on'],
    ['a non-boolean zeroCopy', () => setFastKernelsEnabled(true, { zeroCopy: 'no' as unknown as boolean }), 'options.zeroCopy'],
  ])('throws InvalidArgumentError for %s', (_, call, argument) => {
    expectArgumentError(call, InvalidArgumentError, argument);
  });
});
