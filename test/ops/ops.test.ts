// The per-backend formulations of src/ops/matmul.ts and src/ops/dense.ts (matMul, dense), src/ops/batched-matmul.ts and
// the max gradient of lateInteractionSimilarity, against stock tfjs ops computed on the cpu
// backend (the reference: stock kernels and stock gradients), on cpu AND on wasm.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { batchMatMulDepthwise, useDepthwiseBatchMatMul } from '../../src/ops/batched-matmul.js';
import { dense, gelu, layerNorm } from '../../src/ops/dense.js';
import { dropout, maskedMean, maskTokens, residualAdd } from '../../src/ops/elementwise.js';
import { matMul } from '../../src/ops/matmul.js';
import { ShapeError } from '../../src/errors.js';
import { GEMM_KERNEL_NAME } from '../../src/kernels/gemm.js';
import { setFastKernelsEnabled } from '../../src/kernels/module.js';
import { lateInteractionSimilarity } from '../../src/losses/alignment.js';
import { assertNoLeaks, assertTensorsClose } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';
import { expectArgumentError } from '../helpers/errors.js';

type Backend = 'cpu' | 'wasm';
const BACKENDS: Backend[] = ['cpu', 'wasm'];
const TOL = { atol: 1e-5, rtol: 1e-4 };

/** Seeded normal values as a plain array (backend-independent). */
function normal(shape: number[], seed: number): { data: Float32Array; shape: number[] } {
  return onCpuSync(() => {
    const t = tf.randomNormal(shape, 0, 1, 'float32', seed);
    const data = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
    return { data, shape };
  });
}

/** The cpu backend is the one every test file starts on (test/setup.ts). */
function onCpuSync<T>(fn: () => T): T {
  expect(tf.getBackend()).toBe('cpu');
  return fn();
}

type Values = Array<{ data: Float32Array; shape: number[] }>;

/**
 * Value of `f(...inputs)` and the gradients of `sum(f(...) · dy)` with respect to every input,
 * as plain arrays: `[value, d/dinput0, d/dinput1, ...]`.
 */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Values, dy: { data: Float32Array; shape: number[] }): Float32Array[] {
  return tf.tidy(() => {
    const xs = inputs.map((v) => tf.tensor(v.data, v.shape));
    const upstream = tf.tensor(dy.data, dy.shape);
    const y = f(...xs);
    const g = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), upstream)))(xs);
    return snapshot([y, ...g]);
  });
}

function expectAllClose(actual: Float32Array[], expected: Float32Array[], what: string): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => assertTensorsClose(a, expected[i]!, TOL, `${what} ${i === 0 ? 'value' : `gradient ${i - 1}`}`));
}

/** Kernel names executed by `fn` (tf.profile). */
async function kernelsOf(fn: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => fn());
  tf.dispose(info.result as tf.Tensor[]);
  return info.kernels.map((k) => k.name);
}

const dim = fc.integer({ min: 1, max: 7 });

describe('matMul (per-backend formulation)', () => {
  fcTest.prop([fc.integer({ min: 1, max: 6 }), dim, dim, dim, fc.integer({ min: 1, max: 1e6 })], { numRuns: 12 })(
    'rank 3: value and gradients equal stock tf.matMul on cpu and on wasm',
    async (n, m, k, p, seed) => {
      const inputs = [normal([n, m, k], seed), normal([n, k, p], seed + 1)];
      const dy = normal([n, m, p], seed + 2);
      const ref = valueAndGrads((a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), inputs, dy);
      for (const backend of BACKENDS) {
        const got = await onBackend(backend, () => valueAndGrads((a, b) => matMul(a as tf.Tensor3D, b as tf.Tensor3D), inputs, dy));
        expectAllClose(got, ref, `matMul ${backend} [${n},${m},${k}]·[${n},${k},${p}]`);
      }
    },
  );

  fcTest.prop([dim, dim, dim, fc.integer({ min: 1, max: 1e6 })], { numRuns: 8 })(
    'rank 2: value and gradients equal stock tf.matMul on cpu and on wasm',
    async (m, k, p, seed) => {
      const inputs = [normal([m, k], seed), normal([k, p], seed + 1)];
      const dy = normal([m, p], seed + 2);
      const ref = valueAndGrads((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), inputs, dy);
      for (const backend of BACKENDS) {
        const got = await onBackend(backend, () => valueAndGrads((a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D), inputs, dy));
        expectAllClose(got, ref, `matMul ${backend} [${m},${k}]·[${k},${p}]`);
      }
    },
  );

  it('computes a hand-checked batched product', async () => {
    // [[1,2],[3,4]]·[[1],[1]] = [[3],[7]]; [[0,1],[1,0]]·[[5],[6]] = [[6],[5]]
    for (const backend of BACKENDS) {
      const out = await onBackend(backend, () =>
        tf.tidy(() => Array.from(matMul(tf.tensor3d([[[1, 2], [3, 4]], [[0, 1], [1, 0]]]), tf.tensor3d([[[1], [1]], [[5], [6]]])).dataSync())),
      );
      expect(out, backend).toEqual([3, 7, 6, 5]);
    }
  });

  it('runs on vdafm\'s GEMM on wasm, on depthwise convolutions when the fast kernels are off, plain elsewhere (read at call time)', async () => {
    const a = normal([4, 3, 5], 1);
    const b = normal([4, 5, 2], 2);
    const fwdAndGrad = () => {
      const ta: tf.Tensor3D = tf.tensor3d(a.data, [4, 3, 5]);
      const tb: tf.Tensor3D = tf.tensor3d(b.data, [4, 5, 2]);
      const y = matMul(ta, tb);
      const g = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(matMul(x as tf.Tensor3D, w as tf.Tensor3D)))([ta, tb]);
      return [ta, tb, y, ...g];
    };
    const onWasm = await onBackend('wasm', () => kernelsOf(fwdAndGrad));
    expect(onWasm).toContain(GEMM_KERNEL_NAME);
    expect(onWasm).not.toContain('BatchMatMul');
    expect(onWasm).not.toContain('DepthwiseConv2dNative');
    setFastKernelsEnabled(false);
    try {
      const onWasmOff = await onBackend('wasm', () => kernelsOf(fwdAndGrad));
      expect(onWasmOff).toContain('DepthwiseConv2dNative');
      expect(onWasmOff).not.toContain('BatchMatMul');
    } finally {
      setFastKernelsEnabled(true);
    }
    expect(useDepthwiseBatchMatMul(4)).toBe(false); // back on cpu
    const onCpu = await kernelsOf(fwdAndGrad);
    expect(onCpu).toContain('BatchMatMul');
    expect(onCpu).not.toContain('DepthwiseConv2dNative');
    expect(onCpu).not.toContain(GEMM_KERNEL_NAME);
    // batch 1 already reaches the fast kernel: plain matMul on wasm too.
    await onBackend('wasm', async () => {
      expect(useDepthwiseBatchMatMul(1)).toBe(false);
      expect(useDepthwiseBatchMatMul(2)).toBe(true);
    });
  });

  it('leaks no tensor on wasm (forward and gradients)', async () => {
    await onBackend('wasm', async () => {
      const a = tf.randomNormal([3, 4, 5]) as tf.Tensor3D;
      const b = tf.randomNormal([3, 5, 6]) as tf.Tensor3D;
      const step = () => tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(matMul(x as tf.Tensor3D, w as tf.Tensor3D)))([a, b]);
      tf.dispose(step()); // warm-up
      await assertNoLeaks(step, 'matMul gradients on wasm');
      await assertNoLeaks(() => matMul(a, b), 'matMul on wasm');
      tf.dispose([a, b]);
    });
  });

  it('rejects mismatched operands with a ShapeError naming the argument', () => {
    const bad = (a: number[], b: number[], argument: string) =>
      expectArgumentError(() => matMul(tf.zeros(a) as tf.Tensor as tf.Tensor3D, tf.zeros(b) as tf.Tensor as tf.Tensor3D), ShapeError, argument);
    expect(bad([2, 3, 4], [2, 5, 6], 'b').message).toContain('[2,5,6]');
    bad([2, 3, 4], [3, 4, 6], 'b'); // batch
    bad([2, 3, 4], [4, 6], 'b'); // rank
    bad([4], [4, 6], 'a');
  });
});

describe('batchMatMulDepthwise', () => {
  fcTest.prop([fc.integer({ min: 1, max: 5 }), dim, dim, dim, fc.integer({ min: 1, max: 1e6 })], { numRuns: 8 })(
    'equals stock tf.matMul (value and gradients) on every backend, called directly',
    async (n, m, k, p, seed) => {
      const inputs = [normal([n, m, k], seed), normal([n, k, p], seed + 1)];
      const dy = normal([n, m, p], seed + 2);
      const ref = valueAndGrads((a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), inputs, dy);
      for (const backend of BACKENDS) {
        const got = await onBackend(backend, () => valueAndGrads((a, b) => batchMatMulDepthwise(a as tf.Tensor3D, b as tf.Tensor3D), inputs, dy));
        expectAllClose(got, ref, `batchMatMulDepthwise ${backend}`);
      }
    },
  );

  it('rejects mismatched operands', () => {
    const a = tf.zeros([2, 3, 4]) as tf.Tensor3D;
    const b = tf.zeros([2, 3, 4]) as tf.Tensor3D;
    const c = tf.zeros([3, 4]) as unknown as tf.Tensor3D;
    expect(() => batchMatMulDepthwise(a, b)).toThrow(ShapeError);
    expect(() => batchMatMulDepthwise(c, a)).toThrow(/a must have shape/);
    tf.dispose([a, b, c]);
  });
});

describe('dense (per-backend bias gradient)', () => {
  fcTest.prop(
    [fc.integer({ min: 1, max: 3 }), dim, dim, dim, fc.boolean(), fc.integer({ min: 1, max: 1e6 })],
    { numRuns: 10 },
  )('value and gradients (x, kernel, bias) equal matMul + add on cpu and on wasm', async (b, n, i, o, withBias, seed) => {
    const x = normal([b, n, i], seed);
    const kernel = normal([i, o], seed + 1);
    const bias = normal([o], seed + 2);
    const dy = normal([b, n, o], seed + 3);
    const inputs = withBias ? [x, kernel, bias] : [x, kernel];
    const refF = (...t: tf.Tensor[]) => {
      const y = tf.reshape(tf.matMul(tf.reshape(t[0]!, [-1, i]) as tf.Tensor2D, t[1] as tf.Tensor2D), [b, n, o]);
      return t[2] ? tf.add(y, t[2]) : y;
    };
    const ref = valueAndGrads(refF, inputs, dy);
    for (const backend of BACKENDS) {
      const got = await onBackend(backend, () => valueAndGrads((...t) => dense(t[0]!, t[1]!, t[2] ?? null), inputs, dy));
      expectAllClose(got, ref, `dense ${backend} bias=${withBias}`);
    }
  });

  it('computes hand-checked values (rank 2, bias)', async () => {
    for (const backend of BACKENDS) {
      const out = await onBackend(backend, () =>
        tf.tidy(() => {
          const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
          const k = tf.tensor2d([[1, 0, 1], [0, 1, 1]]);
          const bias = tf.tensor1d([10, 20, 30]);
          const gb = tf.grad((bb: tf.Tensor) => tf.sum(dense(x, k, bb)))(bias);
          return [Array.from(dense(x, k, bias).dataSync()), Array.from(gb.dataSync())];
        }),
      );
      expect(out[0], backend).toEqual([11, 22, 33, 13, 24, 37, 15, 26, 41]);
      expect(out[1], backend).toEqual([3, 3, 3]); // bias gradient = number of rows
    }
  });

  it('has no Sum kernel in its wasm backward pass and leaks nothing', async () => {
    await onBackend('wasm', async () => {
      const x = tf.randomNormal([2, 5, 4]);
      const k = tf.randomNormal([4, 3]);
      const bias = tf.randomNormal([3]);
      const step = () => tf.grads((a: tf.Tensor, w: tf.Tensor, c: tf.Tensor) => tf.mean(dense(a, w, c)))([x, k, bias]);
      tf.dispose(step());
      await assertNoLeaks(step, 'dense gradients on wasm');
      const names = await kernelsOf(() => tf.grads((w: tf.Tensor, c: tf.Tensor) => tf.mul(tf.sum(dense(x, w, c)), 1))([k, bias]));
      expect(names.filter((nm) => nm === 'Sum')).toHaveLength(1); // only the loss's own sum
      tf.dispose([x, k, bias]);
    });
  });
});

describe('maskedMean', () => {
  it('reads the mask once, as valid where > 0.5 (the mask contract), for float32 and int32 masks', async () => {
    const x = tf.tensor3d([[[1], [3], [5]]]);
    const mask = tf.tensor2d([[1, 1, 0]]);
    const names = await kernelsOf(() => maskedMean(x, mask));
    expect(names).not.toContain('Identity');
    expect(names.filter((n) => n === 'Greater')).toHaveLength(1);
    expect(Array.from(maskedMean(x, mask).dataSync())).toEqual([2]);
    const intMask = tf.tensor2d([[1, 0, 1]], undefined, 'int32');
    expect(Array.from(maskedMean(x, intMask).dataSync())).toEqual([3]);
    const odd = tf.tensor2d([[2, 0.5, -1]]); // valid, padding, padding
    expect(Array.from(maskedMean(x, odd).dataSync())).toEqual([1]);
    tf.dispose([x, mask, intMask, odd]);
  });
});

describe('single-node ops (layerNorm, gelu, maskedMean, dropout) against stock compositions', () => {
  /** Stock-op references: every kernel and gradient is tfjs's own. */
  const refLayerNorm = (x: tf.Tensor, g: tf.Tensor | null, b: tf.Tensor | null) => {
    const mean = tf.mean(x, -1, true);
    const c = tf.sub(x, mean);
    let y = tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), 1e-5)));
    if (g) y = tf.mul(y, g);
    return b ? tf.add(y, b) : y;
  };
  const refGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));

  fcTest.prop([fc.integer({ min: 1, max: 3 }), dim, fc.integer({ min: 2, max: 9 }), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 1e6 })], { numRuns: 10 })(
    'layerNorm: value and gradients (x, gamma, beta) equal the stock composition on cpu and wasm',
    async (b, n, d, withGamma, withBeta, seed) => {
      const x = normal([b, n, d], seed);
      // a ramp along the features with bounded noise keeps every row spread (neighbours differ by
      // at least 1): a row whose values nearly coincide makes any float32 layer norm's gradient
      // rounding noise (rstd ≫ 1). Unbounded noise did that once in a few hundred draws
      // (d = 2, two values 0.17 apart: the cpu gradients differed by 1e-3 relative).
      x.data.forEach((v, i) => (x.data[i] = Math.max(-1.5, Math.min(1.5, v)) + 4 * (i % d)));
      const params = [...(withGamma ? [normal([d], seed + 1)] : []), ...(withBeta ? [normal([d], seed + 2)] : [])];
      const dy = normal([b, n, d], seed + 3);
      const split = (t: tf.Tensor[]) => [withGamma ? t[1]! : null, withBeta ? t[withGamma ? 2 : 1]! : null] as const;
      const ref = valueAndGrads((...t) => refLayerNorm(t[0]!, ...split(t)), [x, ...params], dy);
      for (const backend of BACKENDS) {
        const got = await onBackend(backend, () => valueAndGrads((...t) => layerNorm(t[0]!, ...split(t), 1e-5), [x, ...params], dy));
        expectAllClose(got, ref, `layerNorm ${backend} gamma=${withGamma} beta=${withBeta}`);
      }
    },
  );

  fcTest.prop([fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1e6 })], { numRuns: 10 })(
    'gelu: value and gradient equal the stock erf composition on cpu and wasm (inputs up to ±12)',
    async (n, seed) => {
      const x = normal([n], seed);
      x.data.forEach((v, i) => (x.data[i] = v * 4)); // reach the tails, where exp underflows
      const dy = normal([n], seed + 1);
      const ref = valueAndGrads(refGelu, [x], dy);
      for (const backend of BACKENDS) {
        expectAllClose(await onBackend(backend, () => valueAndGrads(gelu, [x], dy)), ref, `gelu ${backend}`);
      }
    },
  );

  it('gelu: hand-checked values and derivative (Φ(x) + x·φ(x))', () => {
    const x = tf.tensor1d([-2, 0, 1]);
    const [y, g] = tf.tidy(() => [gelu(x), tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x)]);
    const phi = (v: number) => Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI);
    // Φ(-2) = 0.0227501319, Φ(1) = 0.8413447461
    assertTensorsClose(y!, [-2 * 0.0227501319, 0, 0.8413447461], { atol: 1e-6, rtol: 1e-5 }, 'gelu value');
    assertTensorsClose(g!, [0.0227501319 - 2 * phi(-2), 0.5, 0.8413447461 + phi(1)], { atol: 1e-6, rtol: 1e-5 }, 'gelu derivative');
    tf.dispose([x, y!, g!]);
  });

  fcTest.prop([fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), dim, fc.integer({ min: 1, max: 1e6 })], { numRuns: 10 })(
    'maskedMean: value and gradient equal the stock composition (rows with no valid token give 0)',
    async (b, n, d, seed) => {
      const x = normal([b, n, d], seed);
      const maskValues = Float32Array.from({ length: b * n }, (_, i) => (Math.floor(i / n) === 0 ? 0 : (i * 7 + seed) % 3 === 0 ? 0 : 1));
      const mask = { data: maskValues, shape: [b, n] };
      const dy = normal([b, d], seed + 1);
      const ref = valueAndGrads(
        (t: tf.Tensor) => {
          const m = tf.expandDims(tf.tensor(maskValues, [b, n]), -1);
          return tf.div(tf.sum(tf.mul(t, m), 1), tf.maximum(tf.sum(m, 1), 1));
        },
        [x],
        dy,
      );
      for (const backend of BACKENDS) {
        const got = await onBackend(backend, () => valueAndGrads((t) => maskedMean(t, tf.tensor(mask.data, mask.shape)), [x], dy));
        expectAllClose(got, ref, `maskedMean ${backend}`);
        expect(Array.from(got[0]!.slice(0, d)), 'row 0 has no valid token').toEqual(Array.from({ length: d }, () => 0));
      }
    },
  );

  it('dropout: kept fraction ≈ 1 − rate, kept values 1/(1 − rate), gradient = the mask, same mask on cpu and wasm', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.ones([200, 500]);
        const y = dropout(x, 0.3, 1234);
        const g = tf.grad((t: tf.Tensor) => tf.sum(dropout(t, 0.3, 1234)))(x);
        return snapshot([y, g]);
      });
    const [y, g] = run();
    const kept = y!.filter((v) => v !== 0);
    // 100 000 Bernoulli(0.7) draws: sd of the fraction is 0.00145, so ±0.006 is > 4 sd.
    expect(Math.abs(kept.length / y!.length - 0.7)).toBeLessThan(0.006);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.7)]));
    expect(g).toEqual(y); // d(x·mask)/dx = mask, and x = 1
    const [yw] = await onBackend('wasm', run);
    expect(yw).toEqual(y);
    const other = tf.tidy(() => snapshot([dropout(tf.ones([200, 500]), 0.3, 1235)]))[0]!;
    expect(other).not.toEqual(y);
  });

  it('dropout: neighbouring elements and seeds are uncorrelated (two 16-bit halves per draw)', () => {
    const [y] = tf.tidy(() => snapshot([dropout(tf.ones([100000]), 0.5, 99)]));
    let both = 0;
    for (let i = 0; i < y!.length; i += 2) if (y![i] !== 0 && y![i + 1] !== 0) both++;
    // P(both kept) = 0.25 over 50 000 pairs: sd 0.0019.
    expect(Math.abs(both / 50000 - 0.25)).toBeLessThan(0.01);
  });

  fcTest.prop([fc.integer({ min: 1, max: 3 }), dim, dim, fc.boolean(), fc.integer({ min: 1, max: 1e6 })], { numRuns: 8 })(
    'residualAdd and maskTokens: values and gradients equal tf.add and the broadcast multiply, on cpu and wasm',
    async (b, n, d, perSample, seed) => {
      const x = normal([b, n, d], seed);
      const y = normal([b, n, d], seed + 1);
      const dy = normal([b, n, d], seed + 2);
      const maskShape = perSample ? [b, 1] : [b, n];
      const maskData = Float32Array.from({ length: maskShape[0]! * maskShape[1]! }, (_, i) => ((i + seed) % 3 === 0 ? 0 : 1));
      const refAdd = valueAndGrads((p, q) => tf.add(p!, q!), [x, y], dy);
      const refMask = valueAndGrads((p) => tf.mul(p!, tf.expandDims(tf.tensor(maskData, maskShape), -1)), [x], dy);
      for (const backend of BACKENDS) {
        expectAllClose(await onBackend(backend, () => valueAndGrads((p, q) => residualAdd(p!, q!), [x, y], dy)), refAdd, `residualAdd ${backend}`);
        expectAllClose(await onBackend(backend, () => valueAndGrads((p) => maskTokens(p!, tf.tensor(maskData, maskShape)), [x], dy)), refMask, `maskTokens ${backend}`);
      }
    },
  );

  it('residualAdd keeps no tensor for the backward pass and broadcasts like tf.add otherwise', async () => {
    const a = tf.ones([2, 3]);
    const b = tf.ones([2, 3]);
    const names = await kernelsOf(() => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(residualAdd(p, q)))([a, b]));
    expect(names.filter((nm) => nm === 'Identity')).toHaveLength(1); // the loss's sum only
    const c = residualAdd(a, tf.ones([3]));
    expect(Array.from(c.dataSync())).toEqual([2, 2, 2, 2, 2, 2]);
    tf.dispose([a, b, c]);
  });

  it('records one tape node each: a gradient through all four saves few tensors and leaks nothing on wasm', async () => {
    await onBackend('wasm', async () => {
      const x = tf.randomNormal([2, 5, 8]);
      const g = tf.ones([8]);
      const m = tf.tensor2d([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]]);
      const step = () => tf.grads((t: tf.Tensor, gg: tf.Tensor) => tf.sum(maskedMean(dropout(gelu(layerNorm(t, gg, null, 1e-5)), 0.1, 3), m)))([x, g]);
      tf.dispose(step());
      await assertNoLeaks(step, 'fused ops gradients on wasm');
      const names = await kernelsOf(step);
      // Stock compositions save ~25 tensors here (an Identity copy each); the four nodes save 7
      // (layerNorm 2 + gamma, gelu 2, dropout 1, maskedMean 1) and the loss's sum 1; maskedMean's
      // selection of the padded tokens copies its [B, N] mask twice (expandDims, and the one tensor
      // its gradient keeps), mask-sized, never x-sized.
      expect(names.filter((nm) => nm === 'Identity').length).toBeLessThanOrEqual(10);
      tf.dispose([x, g, m]);
    });
  });
});

describe('lateInteractionSimilarity max gradient (vdafm\'s max kernels on wasm)', () => {
  fcTest.prop([fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1e6 })], {
    numRuns: 10,
  })('value and gradients (visual and text tokens) equal stock tf.max on cpu and on wasm', async (b, nv, nt, seed) => {
    const d = 4;
    const visual = normal([b, nv, d], seed);
    const text = normal([b, nt, d], seed + 1);
    // A varied 0/1 pattern; token 0 of every report is always valid.
    const mask = { data: Float32Array.from({ length: b * nt }, (_, q) => (q % nt === 0 || (q + seed) % 3 !== 2 ? 1 : 0)), shape: [b, nt] };
    const dy = normal([b, b], seed + 3);
    const f = (v: tf.Tensor, t: tf.Tensor) => lateInteractionSimilarity(v as tf.Tensor3D, t as tf.Tensor3D, tf.tensor2d(mask.data, [b, nt]));
    const ref = valueAndGrads(f, [visual, text], dy); // cpu: stock tf.max and its gradient
    const wasm = await onBackend('wasm', () => valueAndGrads(f, [visual, text], dy));
    expectAllClose(wasm, ref, 'lateInteractionSimilarity wasm');
  });

  it('uses vdafm\'s max kernels (no Equal, no OneHot) for its gradient on wasm', async () => {
    await onBackend('wasm', async () => {
      const v = tf.randomNormal([2, 3, 4]) as tf.Tensor3D;
      const t = tf.randomNormal([2, 5, 4]) as tf.Tensor3D;
      const m = tf.ones([2, 5]) as tf.Tensor2D;
      const names = await kernelsOf(() => tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(lateInteractionSimilarity(a as tf.Tensor3D, c as tf.Tensor3D, m)))([v, t]));
      expect(names).toContain('VdafmMaxLast');
      expect(names).toContain('VdafmScatterLast');
      expect(names).not.toContain('Equal');
      expect(names).not.toContain('OneHot');
      tf.dispose([v, t, m]);
    });
  });
});
