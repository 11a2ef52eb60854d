// im2col / col2im kernels (src/kernels/conv.ts, native/conv.c) on the wasm backend, and the GEMM
// formulation of the convolution ops (src/ops/conv.ts) they enable: hand-checked patches,
// float64 loop references over random geometries (padding on every side, strides, taps wholly
// outside the image), the adjoint identity, the copy mode, leaks, and the convolutions' values
// and gradients on wasm equal to the convolution-kernel formulation and to cpu.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { col2im, CONV_GEMM_KERNEL_NAME, convGemm, im2col, IM2COL_KERNEL_NAME, type Im2ColGeometry, setConvChunkRows } from '../../src/kernels/conv.js';
import { fastMatMul } from '../../src/ops/matmul.js';
import { fastKernelsMode, setFastKernelsEnabled } from '../../src/kernels/module.js';
import { conv2d, conv3d } from '../../src/ops/conv.js';
import { gemmConvolutions, setGemmConvolutions } from '../../src/ops/conv-gradients.js';
import { assertNoLeaks, assertTensorsClose } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';

type Volume = [number, number, number, number, number];

/** Calls `visit(xIndex, colIndex)` for every (row, tap, channel) of im2col that reads inside the volume `[n, d, h, w, c]`. */
function forEachRead([n, d, h, w, c]: Volume, g: Im2ColGeometry, visit: (xi: number, ci: number) => void): void {
  const [kd, sd, pf, dout] = [g.kd ?? 1, g.sd ?? 1, g.pf ?? 0, g.dout ?? 1];
  const K = kd * g.kh * g.kw * c;
  for (let b = 0; b < n; b++)
    for (let z = 0; z < dout; z++)
      for (let i = 0; i < g.ho; i++)
        for (let j = 0; j < g.wo; j++)
          for (let t = 0; t < kd; t++)
            for (let a = 0; a < g.kh; a++)
              for (let q = 0; q < g.kw; q++)
                for (let ch = 0; ch < c; ch++) {
                  const zz = z * sd + t - pf;
                  const y = i * g.sh + a - g.pt;
                  const xx = j * g.sw + q - g.pl;
                  if (zz < 0 || zz >= d || y < 0 || y >= h || xx < 0 || xx >= w) continue;
                  const row = ((b * dout + z) * g.ho + i) * g.wo + j;
                  visit((((b * d + zz) * h + y) * w + xx) * c + ch, row * K + ((t * g.kh + a) * g.kw + q) * c + ch);
                }
}

/** im2col in plain loops: row (b, z, i, j), column ((t·kh + a)·kw + q)·c + ci; zeros where a tap reads padding. */
function im2colRef(x: Float32Array, shape: Volume, g: Im2ColGeometry): Float32Array {
  const out = new Float32Array(colsSize(shape, g));
  forEachRead(shape, g, (xi, ci) => (out[ci] = x[xi]!));
  return out;
}

/** col2im in plain loops (float64 accumulation), the adjoint of {@link im2colRef}. */
function col2imRef(cols: Float32Array, shape: Volume, g: Im2ColGeometry): Float32Array {
  const acc = new Float64Array(shape.reduce((p, d) => p * d, 1));
  forEachRead(shape, g, (xi, ci) => (acc[xi]! += cols[ci]!));
  return Float32Array.from(acc);
}

const colsRows = (shape: Volume, g: Im2ColGeometry) => shape[0] * (g.dout ?? 1) * g.ho * g.wo;
const colsWidth = (shape: Volume, g: Im2ColGeometry) => (g.kd ?? 1) * g.kh * g.kw * shape[4];
const colsSize = (shape: Volume, g: Im2ColGeometry) => colsRows(shape, g) * colsWidth(shape, g);

const seq = (len: number, seed: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(seed + 1.7 * i));

/** Random geometries: any padding before (up to the kernel, i.e. whole taps outside), any output size. */
const geometryCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 9 }),
  c: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }),
  sw: fc.integer({ min: 1, max: 3 }),
  pt: fc.integer({ min: 0, max: 4 }),
  pl: fc.integer({ min: 0, max: 4 }),
  ho: fc.integer({ min: 1, max: 6 }),
  wo: fc.integer({ min: 1, max: 6 }),
  /** 0: a rank-4 image; else a rank-5 volume of this depth. */
  d: fc.integer({ min: 0, max: 5 }),
  kd: fc.integer({ min: 1, max: 3 }),
  sd: fc.integer({ min: 1, max: 2 }),
  pf: fc.integer({ min: 0, max: 3 }),
  dout: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer({ min: 0, max: 1000 }),
});

/** The volume, the geometry and the tensor shape (rank 4 when `d` is 0) of a drawn case. */
function unpack(p: { n: number; h: number; w: number; c: number; kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; ho: number; wo: number; d: number; kd: number; sd: number; pf: number; dout: number }) {
  const image = p.d === 0;
  const volume: Volume = [p.n, image ? 1 : p.d, p.h, p.w, p.c];
  const g: Im2ColGeometry = { kh: p.kh, kw: p.kw, sh: p.sh, sw: p.sw, pt: p.pt, pl: p.pl, ho: p.ho, wo: p.wo, ...(image ? {} : { kd: p.kd, sd: p.sd, pf: p.pf, dout: p.dout }) };
  const shape = image ? [p.n, p.h, p.w, p.c] : volume;
  return { volume, g, shape };
}

describe('im2col / col2im kernels (wasm)', () => {
  it('gathers hand-checked patches: 3×3 image, 2×2 kernel, stride 2, one zero row and column of padding before', async () => {
    // x = 1..9 (one channel); output pixel (i, j) reads rows 2i−1, 2i and columns 2j−1, 2j
    const g: Im2ColGeometry = { kh: 2, kw: 2, sh: 2, sw: 2, pt: 1, pl: 1, ho: 2, wo: 2 };
    const got = await onBackend('wasm', () => tf.tidy(() => Array.from(im2col(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]), g)!.dataSync())));
    expect(got).toEqual([0, 0, 0, 1, 0, 0, 2, 3, 0, 4, 0, 7, 5, 6, 8, 9]);
  });

  it('scatters hand-checked sums back (col2im of all ones counts how many patches read each pixel)', async () => {
    // 3×3 kernel, stride 1, 'same' padding on a 3×3 image: a pixel is read by one patch per neighbour
    const g: Im2ColGeometry = { kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 3, wo: 3 };
    const got = await onBackend('wasm', () => tf.tidy(() => Array.from(col2im(tf.ones([9, 9]) as tf.Tensor2D, g, [1, 3, 3, 1])!.dataSync())));
    expect(got).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  fcTest.prop([geometryCase], { numRuns: 80 })('im2col equals the loop reference and col2im is exact on it, for any geometry (images and volumes)', async (p) => {
    const { volume, g, shape } = unpack(p);
    const x = seq(volume.reduce((a, b) => a * b), p.seed);
    const cols = seq(colsSize(volume, g), p.seed + 7);
    const [gotCols, gotDx] = await onBackend('wasm', () =>
      tf.tidy(() => snapshot([im2col(tf.tensor<tf.Rank>(x, shape) as tf.Tensor4D, g)!, col2im(tf.tensor2d(cols, [colsRows(volume, g), colsWidth(volume, g)]), g, shape)!])),
    );
    expect(Array.from(gotCols!)).toEqual(Array.from(im2colRef(x, volume, g))); // a copy: bit-exact
    assertTensorsClose(gotDx!, col2imRef(cols, volume, g), { atol: 1e-6, rtol: 1e-6 }, 'col2im');
  });

  fcTest.prop([geometryCase], { numRuns: 30 })('col2im is the adjoint of im2col: ⟨im2col(x), C⟩ = ⟨x, col2im(C)⟩', async (p) => {
    const { volume, g, shape } = unpack(p);
    const x = seq(volume.reduce((a, b) => a * b), p.seed);
    const cols = seq(colsSize(volume, g), p.seed + 3);
    const [a, b] = await onBackend('wasm', () =>
      tf.tidy(() => {
        const left = im2col(tf.tensor<tf.Rank>(x, shape) as tf.Tensor4D, g)!.dataSync() as Float32Array;
        const right = col2im(tf.tensor2d(cols, [colsRows(volume, g), colsWidth(volume, g)]), g, shape)!.dataSync() as Float32Array;
        return [left.reduce((s, v, i) => s + v * cols[i]!, 0), right.reduce((s, v, i) => s + v * x[i]!, 0)];
      }),
    );
    expect(Math.abs(a! - b!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(a!)));
  });

  fcTest.prop([geometryCase, fc.integer({ min: 1, max: 9 })], { numRuns: 40 })(
    'convGemm equals im2col / col2im + fastMatMul bit for bit in every mode (forward, input, filter; the forward in blocks of any height), and leaks nothing',
    async (p, cout) => {
      const { volume, g, shape } = unpack(p);
      const rows = colsRows(volume, g);
      const kk = colsWidth(volume, g);
      const x = tf.tensor<tf.Rank>(seq(volume.reduce((a, b) => a * b), p.seed), shape);
      const w = tf.tensor2d(seq(kk * cout, p.seed + 1), [kk, cout]);
      const dy = tf.tensor2d(seq(rows * cout, p.seed + 2), [rows, cout]);
      await onBackend('wasm', () => {
        const [fused, composed] = tf.tidy(() => {
          const x4 = x as tf.Tensor4D;
          const fusedOut = [convGemm('forward', x, w, g, shape)!, convGemm('input', dy, w, g, shape)!, convGemm('filter', x, dy, g, shape)!];
          const cols = im2col(x4, g)!;
          const ref = [fastMatMul(cols, w), col2im(fastMatMul(dy, w, { transposeB: true }), g, shape)!, fastMatMul(cols, dy, { transposeA: true })];
          return [snapshot(fusedOut), snapshot(ref)];
        });
        fused.forEach((v, i) => expect(Array.from(v), ['forward', 'input', 'filter'][i]).toEqual(Array.from(composed[i]!)));
        // in blocks of 4–10 rows (block edges anywhere, remainders under 4 rows; the filter gradient: 256): the same bits
        setConvChunkRows(4 + (p.seed % 7));
        try {
          const blocked = tf.tidy(() => snapshot([convGemm('forward', x, w, g, shape)!, convGemm('input', dy, w, g, shape)!, convGemm('filter', x, dy, g, shape)!]));
          blocked.forEach((v, i) => expect(Array.from(v), `${['forward', 'input', 'filter'][i]} in small blocks`).toEqual(Array.from(composed[i]!)));
        } finally {
          setConvChunkRows(null);
        }
        assertNoLeaks(() => tf.dispose([convGemm('forward', x, w, g, shape)!, convGemm('input', dy, w, g, shape)!, convGemm('filter', x, dy, g, shape)!]));
      });
      tf.dispose([x, w, dy]);
    },
  );

  /** Geometries whose forward product and filter gradient read the patches in place (native/conv.c: kw·c ≥ 16, cout ≤ 64; the filter gradient also kw·c a multiple of 4), and some just outside (cout up to 72, c = 5 or 17). */
  const inPlaceCase = fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      d: fc.integer({ min: 0, max: 3 }),
      h: fc.integer({ min: 1, max: 10 }),
      w: fc.integer({ min: 3, max: 12 }),
      c: fc.constantFrom(4, 5, 8, 12, 16, 17),
      kh: fc.integer({ min: 1, max: 3 }),
      kw: fc.integer({ min: 2, max: 4 }),
      kd: fc.integer({ min: 1, max: 3 }),
      s: fc.integer({ min: 1, max: 2 }),
      pad: fc.integer({ min: 0, max: 2 }),
      cout: fc.integer({ min: 1, max: 72 }),
      seed: fc.integer({ min: 0, max: 1000 }),
    })
    .filter((p) => p.kw * p.c >= 16);

  fcTest.prop([inPlaceCase], { numRuns: 30 })(
    'in-place geometries (filter rows of ≥ 16 floats: patches read where they are, border columns gathered): forward and filter gradient equal im2col + fastMatMul bit for bit, in blocks of any height',
    async (p) => {
      const out = (size: number, k: number) => Math.max(1, Math.floor((size + 2 * Math.min(p.pad, k - 1) - k) / p.s) + 1);
      const image = p.d === 0;
      const pt = Math.min(p.pad, p.kh - 1), pl = Math.min(p.pad, p.kw - 1);
      const g: Im2ColGeometry = { kh: p.kh, kw: p.kw, sh: p.s, sw: p.s, pt, pl, ho: out(p.h, p.kh), wo: out(p.w, p.kw), ...(image ? {} : { kd: p.kd, sd: 1, pf: Math.min(p.pad, p.kd - 1), dout: out(p.d, p.kd) }) };
      const volume: Volume = [p.n, image ? 1 : p.d, p.h, p.w, p.c];
      const shape = image ? [p.n, p.h, p.w, p.c] : volume;
      const rows = colsRows(volume, g);
      const kk = colsWidth(volume, g);
      const x = tf.tensor<tf.Rank>(seq(volume.reduce((a, b) => a * b), p.seed), shape);
      const w = tf.tensor2d(seq(kk * p.cout, p.seed + 1), [kk, p.cout]);
      const dy = tf.tensor2d(seq(rows * p.cout, p.seed + 2), [rows, p.cout]);
      await onBackend('wasm', () => {
        const composed = tf.tidy(() => {
          const cols = im2col(x as tf.Tensor4D, g)!;
          return snapshot([fastMatMul(cols, w), fastMatMul(cols, dy, { transposeA: true })]);
        });
        for (const chunk of [null, 4 + (p.seed % 11)]) {
          setConvChunkRows(chunk);
          try {
            const got = tf.tidy(() => snapshot([convGemm('forward', x, w, g, shape)!, convGemm('filter', x, dy, g, shape)!]));
            got.forEach((v, i) => expect(Array.from(v), `${['forward', 'filter'][i]}, blocks ${chunk}`).toEqual(Array.from(composed[i]!)));
          } finally {
            setConvChunkRows(null);
          }
        }
      });
      tf.dispose([x, w, dy]);
    },
  );

  it('the filter gradient over several 256-row blocks equals one GEMM over all 800 patch rows, bit for bit', async () => {
    const g: Im2ColGeometry = { kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, ho: 20, wo: 20 };
    const x = tf.tensor4d(seq(2 * 20 * 20 * 3, 3), [2, 20, 20, 3]);
    const dy = tf.tensor2d(seq(800 * 5, 4), [800, 5]);
    const [blocked, whole] = await onBackend('wasm', () =>
      tf.tidy(() => snapshot([convGemm('filter', x, dy, g, x.shape)!, fastMatMul(im2col(x, g)!, dy, { transposeA: true })])),
    );
    expect(Array.from(blocked!)).toEqual(Array.from(whole!));
    tf.dispose([x, dy]);
  });

  it('returns null off wasm, gives bit-identical results in the copying mode, and leaks nothing', async () => {
    const g: Im2ColGeometry = { kh: 3, kw: 3, sh: 2, sw: 1, pt: 1, pl: 1, ho: 3, wo: 5 };
    const probe = tf.ones([1, 5, 5, 2]) as tf.Tensor4D;
    expect(im2col(probe, g)).toBeNull(); // on cpu
    probe.dispose();
    const x = seq(2 * 5 * 5 * 2, 1);
    const run = () => tf.tidy(() => {
      const cols = im2col(tf.tensor4d(x, [2, 5, 5, 2]), g)!;
      return snapshot([cols, col2im(cols, g, [2, 5, 5, 2])!]);
    });
    const zeroCopy = await onBackend('wasm', run);
    setFastKernelsEnabled(true, { zeroCopy: false });
    try {
      const copied = await onBackend('wasm', () => {
        expect(fastKernelsMode()).toBe('copy');
        return run();
      });
      copied.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(zeroCopy[i]!)));
    } finally {
      setFastKernelsEnabled(true);
    }
    await onBackend('wasm', () =>
      assertNoLeaks(() => {
        const xt = tf.tensor4d(x, [2, 5, 5, 2]);
        const cols = im2col(xt, g)!;
        tf.dispose([xt, cols, col2im(cols, g, [2, 5, 5, 2])!]);
      }),
    );
  });
});

describe('convolutions as im2col + GEMM on wasm', () => {
  /** Value and input/filter/bias gradients of sum(conv(x, w, b) · dy) as plain arrays. */
  const valueAndGrads = (f: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor, x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, dy: tf.Tensor) =>
    tf.tidy(() => snapshot([f(x, w, b), ...tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, ww, bb), dy)))([x, w, b])]));

  const conv2dCase = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    cin: fc.integer({ min: 1, max: 5 }),
    cout: fc.integer({ min: 1, max: 6 }),
    k: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 3 }),
    padding: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
    seed: fc.integer({ min: 0, max: 1000 }),
  }).filter((p) => p.padding === 'same' || (p.h >= p.k && p.w >= p.k));

  fcTest.prop([conv2dCase], { numRuns: 40 })('conv2d: value and gradients equal the convolution-kernel formulation on wasm and cpu', async (p) => {
    const x = tf.tensor4d(seq(p.n * p.h * p.w * p.cin, p.seed), [p.n, p.h, p.w, p.cin]);
    const w = tf.tensor4d(seq(p.k * p.k * p.cin * p.cout, p.seed + 1), [p.k, p.k, p.cin, p.cout]);
    const b = tf.tensor1d(seq(p.cout, p.seed + 2));
    const [, ho, wo] = conv2d(x, w, { strides: p.s, padding: p.padding }).shape;
    const dy = tf.tensor4d(seq(p.n * ho! * wo! * p.cout, p.seed + 3), [p.n, ho!, wo!, p.cout]);
    const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, { strides: p.s, padding: p.padding, bias: bb as tf.Tensor1D });
    const cpu = valueAndGrads(f, x, w, b, dy);
    const gemm = await onBackend('wasm', () => {
      expect(gemmConvolutions()).toBe(true);
      return valueAndGrads(f, x, w, b, dy);
    });
    setGemmConvolutions(false);
    const stock = await onBackend('wasm', () => {
      expect(gemmConvolutions()).toBe(false);
      return valueAndGrads(f, x, w, b, dy);
    }).finally(() => setGemmConvolutions(true));
    tf.dispose([x, w, b, dy]);
    gemm.forEach((v, i) => {
      const what = ['value', 'dx', 'dw', 'dbias'][i];
      assertTensorsClose(v, stock[i]!, { atol: 1e-4, rtol: 1e-4 }, `gemm vs conv kernel ${what}`);
      assertTensorsClose(v, cpu[i]!, { atol: 1e-4, rtol: 1e-4 }, `gemm vs cpu ${what}`);
    });
  });

  it('conv3d: value and gradients equal cpu (stride 2 on every axis, same padding)', async () => {
    const x = tf.tensor5d(seq(2 * 5 * 6 * 7 * 3, 4), [2, 5, 6, 7, 3]);
    const w = tf.tensor5d(seq(3 * 3 * 3 * 3 * 4, 5), [3, 3, 3, 3, 4]);
    const b = tf.tensor1d(seq(4, 6));
    const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => conv3d(xx as tf.Tensor5D, ww as tf.Tensor5D, { strides: 2, bias: bb as tf.Tensor1D });
    const dy = tf.tensor5d(seq(2 * 3 * 3 * 4 * 4, 7), [2, 3, 3, 4, 4]);
    const cpu = valueAndGrads(f, x, w, b, dy);
    const gemm = await onBackend('wasm', () => valueAndGrads(f, x, w, b, dy));
    tf.dispose([x, w, b, dy]);
    gemm.forEach((v, i) => assertTensorsClose(v, cpu[i]!, { atol: 1e-4, rtol: 1e-4 }, `conv3d ${['value', 'dx', 'dw', 'dbias'][i]}`));
  });

  it('runs on the whole-product convolution kernel (no Conv2D kernel) on wasm, on Conv2D when switched off, and leaks nothing', async () => {
    const kernelsOf = async (fn: () => tf.Tensor[]) => {
      const info = await tf.profile(() => fn());
      tf.dispose(info.result as tf.Tensor[]);
      return new Set(info.kernels.map((k) => k.name));
    };
    const step = () => {
      const x = tf.ones([2, 6, 6, 3]) as tf.Tensor4D;
      const w = tf.ones([3, 3, 3, 4]) as tf.Tensor4D;
      const h = tf.ones([1, 1, 1, 3]); // x·h depends on a differentiated input: the input gradient runs too
      const out = tf.grads((ww: tf.Tensor, hh: tf.Tensor) => tf.sum(conv2d(tf.mul(x, hh) as tf.Tensor4D, ww as tf.Tensor4D, { strides: 2 })))([w, h]);
      tf.dispose([x, w, h]);
      return out;
    };
    const on = await onBackend('wasm', () => kernelsOf(step));
    expect(on.has(CONV_GEMM_KERNEL_NAME)).toBe(true);
    expect(on.has('Conv2D')).toBe(false);
    setGemmConvolutions(false);
    try {
      const off = await onBackend('wasm', () => kernelsOf(step));
      expect(off.has('Conv2D')).toBe(true);
      expect(off.has(CONV_GEMM_KERNEL_NAME)).toBe(false);
    } finally {
      setGemmConvolutions(true);
    }
    await onBackend('wasm', () => assertNoLeaks(() => tf.dispose(step())));
  });

  it('conv3d on wasm: the forward pass and both gradients on the whole-product convolution kernel (no Conv2D); leaks nothing', async () => {
    const step = () => {
      const x = tf.ones([1, 4, 5, 5, 2]) as tf.Tensor5D;
      const w = tf.ones([3, 3, 3, 2, 3]) as tf.Tensor5D;
      const h = tf.ones([1, 1, 1, 1, 2]);
      const out = tf.grads((ww: tf.Tensor, hh: tf.Tensor) => tf.sum(conv3d(tf.mul(x, hh) as tf.Tensor5D, ww as tf.Tensor5D, { strides: [1, 2, 2] })))([w, h]);
      tf.dispose([x, w, h]);
      return out;
    };
    const info = await onBackend('wasm', () => tf.profile(() => step()));
    tf.dispose(info.result as tf.Tensor[]);
    const names = new Set(info.kernels.map((k) => k.name));
    expect(names.has(CONV_GEMM_KERNEL_NAME)).toBe(true);
    expect(info.kernels.filter((k) => k.name === CONV_GEMM_KERNEL_NAME).length).toBe(3); // forward, input and filter gradients
    for (const k of ['Conv2D', IM2COL_KERNEL_NAME]) expect(names.has(k), k).toBe(false); // the patches never become a tensor
    await onBackend('wasm', () => assertNoLeaks(() => tf.dispose(step())));
  });
});
