import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, ShapeError } from '../../src/index.js';
import { Conv2D, Conv3D, conv2dLayer, conv3dLayer } from '../../src/layers/conv.js';
import { biasAdd, conv2d, conv3d } from '../../src/ops/conv.js';
import { axisPadding, type ConvPadding } from '../../src/ops/conv-geometry.js';
import { assertNoLeaks, assertTensorsClose, runLayerTest } from '../../src/testing.js';
import { onBackend } from '../helpers/backends.js';
import { expectBackendParity, parityInputs } from '../helpers/parity.js';
import { expectArgumentError } from '../helpers/errors.js';

interface ConvCase {
  name: string;
  dims: 2 | 3;
  strides: number[];
  padding: ConvPadding;
  x: unknown;
  filter: unknown;
  bias: number[] | null;
  proj: unknown;
  y: unknown;
  dx: unknown;
  dfilter: unknown;
  dbias: number[] | null;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/conv/conv_reference.json', import.meta.url), 'utf8')) as {
  conv: ConvCase[];
};

beforeAll(() => {
  for (const cls of [Conv2D, Conv3D]) {
    tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  }
});

/** Output and gradients (x, filter, bias) of loss = sum(conv(x) · proj), as plain arrays. */
function convWithGrads(c: ConvCase): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor(c.x as number[]);
    const w = tf.tensor(c.filter as number[]);
    const b = c.bias ? tf.tensor1d(c.bias) : null;
    const proj = tf.tensor(c.proj as number[]);
    const run = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor | null) => {
      const options = { strides: c.strides, padding: c.padding, bias: bb as tf.Tensor1D | null };
      return c.dims === 2 ? conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, options) : conv3d(xx as tf.Tensor5D, ww as tf.Tensor5D, options);
    };
    const y = run(x, w, b);
    const args = b ? [x, w, b] : [x, w];
    const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(run(t[0]!, t[1]!, t[2] ?? null), proj)))(args);
    return [y, ...grads].map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

describe('conv2d / conv3d ops', () => {
  for (const c of fixture.conv) {
    it(`match PyTorch F.conv${c.dims}d (outputs, input/filter/bias gradients) on cpu and wasm: ${c.name}`, async () => {
      const cpu = await onBackend('cpu', () => convWithGrads(c));
      const wasm = await onBackend('wasm', () => convWithGrads(c));
      const want = [c.y, c.dx, c.dfilter, ...(c.dbias ? [c.dbias] : [])];
      const names = ['output', 'input gradient', 'filter gradient', 'bias gradient'];
      expect(cpu).toHaveLength(want.length);
      want.forEach((w, i) => {
        assertTensorsClose(cpu[i]!, w as number[], { atol: 1e-4, rtol: 1e-4 }, `cpu ${names[i]}`);
        assertTensorsClose(wasm[i]!, w as number[], { atol: 1e-4, rtol: 1e-4 }, `wasm ${names[i]}`);
        assertTensorsClose(wasm[i]!, cpu[i]!, { atol: 1e-4, rtol: 1e-4 }, `wasm vs cpu ${names[i]}`);
      });
    });
  }

  const conv2dCase = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    cin: fc.integer({ min: 1, max: 3 }),
    cout: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    padding: fc.constantFrom<ConvPadding>('same', 'valid'),
    seed: fc.integer({ min: 0, max: 1000 }),
  });

  fcTest.prop([conv2dCase], { numRuns: 40 })('conv2d matches tf.conv2d and its stock gradients on cpu', (p) => {
    const valid = p.padding === 'same' || (p.h >= p.kh && p.w >= p.kw);
    fc.pre(valid);
    tf.tidy(() => {
      const x = tf.randomNormal([p.n, p.h, p.w, p.cin], 0, 1, 'float32', p.seed) as tf.Tensor4D;
      const k = tf.randomNormal([p.kh, p.kw, p.cin, p.cout], 0, 1, 'float32', p.seed + 1) as tf.Tensor4D;
      const ref = tf.conv2d(x, k, [p.sh, p.sw], p.padding);
      const y = conv2d(x, k, { strides: [p.sh, p.sw], padding: p.padding });
      expect(y.shape).toEqual(ref.shape);
      assertTensorsClose(y, ref, { atol: 1e-5, rtol: 1e-5 }, 'forward');
      const proj = tf.randomNormal(ref.shape, 0, 1, 'float32', p.seed + 2);
      const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { strides: [p.sh, p.sw], padding: p.padding }), proj)),
      )([x, k]);
      const stock = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [p.sh, p.sw], p.padding), proj)),
      )([x, k]);
      assertTensorsClose(ours[0]!, stock[0]!, { atol: 1e-4, rtol: 1e-4 }, 'input gradient');
      assertTensorsClose(ours[1]!, stock[1]!, { atol: 1e-4, rtol: 1e-4 }, 'filter gradient');
    });
  });

  fcTest.prop(
    [
      fc.record({
        d: fc.integer({ min: 1, max: 5 }),
        h: fc.integer({ min: 1, max: 5 }),
        w: fc.integer({ min: 1, max: 4 }),
        k: fc.integer({ min: 1, max: 3 }),
        sd: fc.integer({ min: 1, max: 2 }),
        sh: fc.integer({ min: 1, max: 2 }),
        sw: fc.integer({ min: 1, max: 2 }),
        padding: fc.constantFrom<ConvPadding>('same', 'valid'),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
    ],
    { numRuns: 25 },
  )('conv3d matches a naive float64 loop (forward and gradients) on cpu', (p) => {
    fc.pre(p.padding === 'same' || (p.d >= p.k && p.h >= p.k && p.w >= p.k));
    // Stock tf.conv3d is not used as the reference: on cpu it returns wrong values for some
    // anisotropic strides (e.g. kernel 1, strides [1, 2, 1]); the naive loop below is independent.
    tf.tidy(() => {
      const xShape: [number, number, number, number, number] = [2, p.d, p.h, p.w, 2];
      const kShape: [number, number, number, number, number] = [p.k, p.k, p.k, 2, 3];
      const x = tf.randomNormal(xShape, 0, 1, 'float32', p.seed) as tf.Tensor5D;
      const k = tf.randomNormal(kShape, 0, 1, 'float32', p.seed + 1) as tf.Tensor5D;
      const strides = [p.sd, p.sh, p.sw];
      const run = (a: tf.Tensor, b: tf.Tensor) => conv3d(a as tf.Tensor5D, b as tf.Tensor5D, { strides, padding: p.padding });
      const y = run(x, k);
      const proj = tf.randomNormal(y.shape, 0, 1, 'float32', p.seed + 2);
      const ref = naiveConv3d(x.dataSync(), xShape, k.dataSync(), kShape, strides, p.padding, proj.dataSync());
      expect(y.shape).toEqual(ref.yShape);
      assertTensorsClose(y, ref.y, { atol: 1e-4, rtol: 1e-4 }, 'forward');
      const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(run(a, b), proj)))([x, k]);
      assertTensorsClose(ours[0]!, ref.dx, { atol: 1e-4, rtol: 1e-4 }, 'input gradient');
      assertTensorsClose(ours[1]!, ref.dw, { atol: 1e-4, rtol: 1e-4 }, 'filter gradient');
    });
  });

  it('computes a hand-checkable case: all-ones 3×3 kernel counts the in-bounds neighbours', () => {
    const y = conv2d(tf.ones([1, 3, 3, 1]), tf.ones([3, 3, 1, 1]));
    assertTensorsClose(y, [[[[4], [6], [4]], [[6], [9], [6]], [[4], [6], [4]]]], { atol: 0 }, 'counts');
    y.dispose();
  });

  it('follows the TensorFlow "same" padding rule', () => {
    expect(axisPadding(5, 3, 2, 'same')).toEqual({ out: 3, before: 1, after: 1 });
    expect(axisPadding(6, 3, 2, 'same')).toEqual({ out: 3, before: 0, after: 1 });
    expect(axisPadding(7, 3, 2, 'valid')).toEqual({ out: 3, before: 0, after: 0 });
    expect(axisPadding(4, 1, 2, 'same')).toEqual({ out: 2, before: 0, after: 0 });
  });

  it('biasAdd adds per channel and sums its gradient over the leading axes', () => {
    const x = tf.zeros([2, 3, 2]);
    const b = tf.tensor1d([1, -2]);
    const y = biasAdd(x, b);
    assertTensorsClose(y, [[[1, -2], [1, -2], [1, -2]], [[1, -2], [1, -2], [1, -2]]], { atol: 0 });
    const g = tf.grad((bb: tf.Tensor) => tf.sum(biasAdd(x, bb as tf.Tensor1D)))(b);
    assertTensorsClose(g, [6, 6], { atol: 0 });
    tf.dispose([x, b, y, g]);
  });

  it('leaks no tensors in the forward pass or the gradients', async () => {
    const x = tf.randomNormal([2, 6, 5, 4, 2]) as tf.Tensor5D;
    const k = tf.randomNormal([3, 3, 3, 2, 3]) as tf.Tensor5D;
    const b = tf.zeros([3]) as tf.Tensor1D;
    const x2 = tf.randomNormal([2, 7, 6, 2]) as tf.Tensor4D;
    const k2 = tf.randomNormal([3, 3, 2, 3]) as tf.Tensor4D;
    await assertNoLeaks(() => conv3d(x, k, { strides: 2, bias: b }), 'conv3d');
    await assertNoLeaks(() => tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(conv3d(a as tf.Tensor5D, w as tf.Tensor5D, { strides: 2 })))([x, k]), 'conv3d grads');
    await assertNoLeaks(() => tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(conv2d(a as tf.Tensor4D, w as tf.Tensor4D, { strides: 2, padding: 'valid' })))([x2, k2]), 'conv2d grads');
    tf.dispose([x, k, b, x2, k2]);
  });

  it('rejects bad arguments with typed errors naming the argument', () => {
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const k = tf.zeros([3, 3, 2, 1]) as tf.Tensor4D;
    expectArgumentError(() => conv2d(x, k, { strides: 0 }), InvalidArgumentError, 'strides');
    expectArgumentError(() => conv2d(x, k, { strides: [1, 2, 3] }), InvalidArgumentError, 'strides');
    expectArgumentError(() => conv2d(x, k, { padding: 'full' as ConvPadding }), InvalidArgumentError, 'padding');
    expectArgumentError(() => conv2d(tf.zeros([1, 2, 2, 2]) as tf.Tensor4D, k, { padding: 'valid' }), InvalidArgumentError, 'padding');
    expectArgumentError(() => conv2d(tf.zeros([4, 4, 2]) as unknown as tf.Tensor4D, k), ShapeError, 'x');
    expectArgumentError(() => conv2d(x, tf.zeros([3, 3, 5, 1]) as tf.Tensor4D), ShapeError, 'filter');
    expectArgumentError(() => conv2d(x, k, { bias: tf.zeros([4]) as tf.Tensor1D }), ShapeError, 'bias');
    expectArgumentError(() => conv3d(x as unknown as tf.Tensor5D, tf.zeros([3, 3, 3, 2, 1]) as tf.Tensor5D), ShapeError, 'x');
    expectArgumentError(() => conv2dLayer({ filters: 0, kernelSize: 3 }), InvalidArgumentError, 'filters');
    expectArgumentError(() => conv2dLayer({ filters: 2, kernelSize: [3, 3, 3] }), InvalidArgumentError, 'kernelSize');
    expectArgumentError(() => conv3dLayer({ filters: 2, kernelSize: 3, strides: [1, 2] }), InvalidArgumentError, 'strides');
    expectArgumentError(() => conv3dLayer({ filters: 2, kernelSize: 3, padding: 'causal' as ConvPadding }), InvalidArgumentError, 'padding');
    expectArgumentError(() => conv2dLayer({ filters: 2, kernelSize: 3, useBias: 1 as unknown as boolean }), InvalidArgumentError, 'useBias');
    expectArgumentError(() => conv2dLayer({ filters: 2, kernelSize: 3 }).apply(tfl.input({ shape: [4, 4, 2, 1] })), ShapeError, 'x');
    tf.dispose([x, k]);
  });
});

describe('Conv2D / Conv3D layers', () => {
  it('Conv2D passes the layer-test harness (stride 2, odd sizes)', async () => {
    const report = await runLayerTest({
      create: () => conv2dLayer({ filters: 4, kernelSize: 3, strides: 2, seed: 1 }),
      inputShapes: [[7, 5, 3]],
      expectedOutputShape: [null, 4, 3, 4],
      expectedTrainableWeights: 2,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('Conv3D passes the layer-test harness (anisotropic stride, valid, no bias)', async () => {
    const report = await runLayerTest({
      create: () => conv3dLayer({ filters: 3, kernelSize: [2, 3, 3], strides: [1, 2, 2], padding: 'valid', useBias: false, seed: 2 }),
      inputShapes: [[4, 7, 6, 2]],
      expectedOutputShape: [null, 3, 3, 2, 3],
      expectedTrainableWeights: 1,
    });
    expect(report.checks).toContain('save/load');
    tf.dispose(report.outputs);
  });

  it('uses PyTorch weights after a permutation (fixture case through the layer)', () => {
    const c = fixture.conv.find((k) => k.dims === 3 && k.bias !== null)!;
    const layer = conv3dLayer({ filters: (c.bias ?? []).length, kernelSize: 3, strides: c.strides, padding: c.padding });
    const x = tf.tensor(c.x as number[]);
    layer.apply(x);
    layer.setWeights([tf.tensor(c.filter as number[]), tf.tensor1d(c.bias!)]);
    const y = layer.apply(x) as tf.Tensor;
    assertTensorsClose(y, c.y as number[], { atol: 1e-4, rtol: 1e-4 }, 'layer output');
    tf.dispose([x, y]);
  });

  it('gives the same outputs and gradients on cpu and wasm (Conv2D, Conv3D)', async () => {
    const r2 = await expectBackendParity(() => conv2dLayer({ filters: 5, kernelSize: 3, strides: 2, seed: 3 }), parityInputs([[2, 9, 8, 3]]));
    expect(r2.weightGrads).toHaveLength(2);
    const r3 = await expectBackendParity(
      () => conv3dLayer({ filters: 4, kernelSize: 3, strides: [2, 1, 2], seed: 4 }),
      parityInputs([[2, 5, 6, 7, 2]]),
    );
    expect(r3.inputGrads).toHaveLength(1);
  });
});

/** TensorFlow's 'same'/'valid' rule, written independently of the code under test. */
function tfPads(size: number, k: number, s: number, padding: ConvPadding): [number, number] {
  if (padding === 'valid') return [Math.floor((size - k) / s) + 1, 0];
  const out = Math.ceil(size / s);
  return [out, Math.floor(Math.max((out - 1) * s + k - size, 0) / 2)];
}

/** Direct-loop 3D cross-correlation (float64) with the gradients of sum(y · proj). */
function naiveConv3d(
  x: ArrayLike<number>,
  xs: number[],
  w: ArrayLike<number>,
  ws: number[],
  strides: number[],
  padding: ConvPadding,
  proj: ArrayLike<number>,
): { y: Float64Array; yShape: number[]; dx: Float64Array; dw: Float64Array } {
  const [n, d, h, wd, ci] = xs as [number, number, number, number, number];
  const [kd, kh, kw, , co] = ws as [number, number, number, number, number];
  const [od, pd] = tfPads(d, kd, strides[0]!, padding);
  const [oh, ph] = tfPads(h, kh, strides[1]!, padding);
  const [ow, pw] = tfPads(wd, kw, strides[2]!, padding);
  const y = new Float64Array(n * od * oh * ow * co);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const xi = (b: number, i: number, j: number, l: number, c: number) => (((b * d + i) * h + j) * wd + l) * ci + c;
  const wi = (a: number, b: number, c: number, i: number, o: number) => (((a * kh + b) * kw + c) * ci + i) * co + o;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < od; i++)
      for (let j = 0; j < oh; j++)
        for (let l = 0; l < ow; l++)
          for (let o = 0; o < co; o++) {
            const yi = (((b * od + i) * oh + j) * ow + l) * co + o;
            let acc = 0;
            for (let a = 0; a < kd; a++)
              for (let bb = 0; bb < kh; bb++)
                for (let c = 0; c < kw; c++) {
                  const zi = i * strides[0]! + a - pd;
                  const zj = j * strides[1]! + bb - ph;
                  const zl = l * strides[2]! + c - pw;
                  if (zi < 0 || zi >= d || zj < 0 || zj >= h || zl < 0 || zl >= wd) continue;
                  for (let q = 0; q < ci; q++) {
                    const xv = x[xi(b, zi, zj, zl, q)]!;
                    const wv = w[wi(a, bb, c, q, o)]!;
                    acc += xv * wv;
                    const xIndex = xi(b, zi, zj, zl, q);
                    const wIndex = wi(a, bb, c, q, o);
                    dx[xIndex] = dx[xIndex]! + proj[yi]! * wv;
                    dw[wIndex] = dw[wIndex]! + proj[yi]! * xv;
                  }
                }
            y[yi] = acc;
          }
  return { y, yShape: [n, od, oh, ow, co], dx, dw };
}
