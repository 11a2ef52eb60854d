// Fused GELU and layerNorm kernels (src/kernels/fused.ts, native/fused.c) on the wasm backend:
// erf against a float64 reference over [-12, 12]; values against float64 loops; gradients
// against tfjs autodiff of the stock formulations on the cpu backend; copy mode; leaks; errors.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the stock gradients (Erf, Rsqrt, Mean, ...)
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, ShapeError } from '../../src/errors.js';
import {
  CHANNEL_NORM_GRAD_KERNEL_NAME,
  CHANNEL_NORM_KERNEL_NAME,
  channelNormBackward,
  channelNormForward,
  geluBackward,
  geluForward,
  GELU_GRAD_KERNEL_NAME,
  GELU_KERNEL_NAME,
  LAYER_NORM_GRAD_KERNEL_NAME,
  LAYER_NORM_KERNEL_NAME,
  layerNormBackward,
  layerNormForward,
} from '../../src/kernels/fused.js';
import { fastKernelsMode, initFastKernels, setFastKernelsEnabled } from '../../src/kernels/module.js';
import { GEMM_WASM_BASE64 } from '../../src/kernels/gemm-wasm.generated.js';
import { assertNoLeaks, assertTensorsClose } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';
import { expectArgumentError } from '../helpers/errors.js';

// ---------------------------------------------------------------- float64 references

/** erf in float64: Maclaurin series below 3, the continued fraction of erfc above. */
function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-18) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let k = a;
    for (let n = 80; n >= 1; n--) k = a + n / 2 / k;
    r = 1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * k);
  }
  return x < 0 ? -r : r;
}

const cdf64 = (x: number) => 0.5 * (1 + erf64(x / Math.SQRT2));
const pdf64 = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

function uniform(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Row statistics and outputs of layer normalisation in float64. */
function layerNorm64(x: Float32Array, d: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number) {
  const rows = x.length / d;
  const y = new Float64Array(x.length);
  const xhat = new Float64Array(x.length);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let j = 0; j < d; j++) m += x[r * d + j]!;
    m /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[r * d + j]! - m) ** 2;
    const rs = 1 / Math.sqrt(v / d + eps);
    mean[r] = m;
    rstd[r] = rs;
    for (let j = 0; j < d; j++) {
      const h = (x[r * d + j]! - m) * rs;
      xhat[r * d + j] = h;
      y[r * d + j] = h * (gamma ? gamma[j]! : 1) + (beta ? beta[j]! : 0);
    }
  }
  return { y, xhat, mean, rstd };
}

/** Closed-form layerNorm gradients in float64 (a second check next to cpu autodiff). */
function layerNormGrad64(dy: Float32Array, xhat: Float64Array, rstd: Float64Array, d: number, gamma: Float32Array | null) {
  const rows = dy.length / d;
  const dx = new Float64Array(dy.length);
  const dgamma = new Float64Array(d);
  const dbeta = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    let sa = 0;
    let sb = 0;
    for (let j = 0; j < d; j++) {
      const g = dy[r * d + j]! * (gamma ? gamma[j]! : 1);
      sa += g;
      sb += g * xhat[r * d + j]!;
      dgamma[j] += dy[r * d + j]! * xhat[r * d + j]!;
      dbeta[j] += dy[r * d + j]!;
    }
    for (let j = 0; j < d; j++) {
      const g = dy[r * d + j]! * (gamma ? gamma[j]! : 1);
      dx[r * d + j] = rstd[r]! * (g - sa / d - (xhat[r * d + j]! * sb) / d);
    }
  }
  return { dx, dgamma, dbeta };
}

/** Max of |got − want| / (atol + rtol·|want|); ≤ 1 passes. */
function worst(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (atol + rtol * Math.abs(want[i]!));
    if (!(e <= w)) w = Number.isNaN(e) ? Infinity : e;
  }
  return w;
}

// ---------------------------------------------------------------- the raw module (erf export)

function rawErf(xs: Float32Array): Float32Array {
  const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0));
  const memory = new WebAssembly.Memory({ initial: Math.ceil((xs.length * 8 + 64) / 65536) + 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const erf = inst.exports['vdafm_erf'] as (n: number, x: number, out: number) => void;
  const heap = new Float32Array(memory.buffer);
  const outAt = 16 + xs.length * 4;
  heap.set(xs, 4);
  erf(xs.length, 16, outAt);
  return heap.slice(outAt >> 2, (outAt >> 2) + xs.length);
}

/** Section ids of a wasm binary (1 type, 2 import, 3 function, ..., 6 global, 10 code, 11 data). */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  while (p < bytes.length) {
    ids.push(bytes[p++]!);
    let len = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[p++]!;
      len |= (b & 127) << shift;
      shift += 7;
    } while (b & 128);
    p += len;
  }
  return ids;
}

describe('vdafm erf (native/fused.c)', () => {
  it('the module has no data segment (it runs inside tfjs-backend-wasm heap at any address)', () => {
    const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0));
    const ids = sectionIds(bytes);
    expect(ids).toContain(10); // code
    expect(ids).not.toContain(11); // data: would be written at address 0 of tfjs's heap
    expect(ids).not.toContain(12); // data count
  });

  it('the float64 reference matches known values', () => {
    const known: Array<[number, number]> = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.9, 0.9999589021219005],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
    ];
    for (const [x, v] of known) expect(Math.abs(erf64(x) - v)).toBeLessThan(1e-13);
  });

  it('is within 2e-7 of float64 erf over [-12, 12] (every 2^-16, plus the branch split)', () => {
    const xs: number[] = [];
    for (let i = -12 * 65536; i <= 12 * 65536; i++) xs.push(i / 65536);
    for (let i = -200; i <= 200; i++) xs.push(0.875 + i * 1e-6, -0.875 - i * 1e-6);
    const x32 = Float32Array.from(xs);
    const got = rawErf(x32);
    let maxErr = 0;
    let at = 0;
    for (let i = 0; i < x32.length; i++) {
      const e = Math.abs(got[i]! - erf64(x32[i]!));
      if (!(e <= maxErr)) [maxErr, at] = [e, x32[i]!];
    }
    console.info(`vdafm erf: max |error| ${maxErr.toExponential(3)} at x = ${at} over [-12, 12]`);
    expect(maxErr).toBeLessThanOrEqual(2e-7);
  });

  it('is odd, saturates, and keeps NaN', () => {
    const x = Float32Array.from([0, -0, 1e-30, 0.3, 0.875, 1.7, 5, 100, Infinity, NaN]);
    const neg = x.map((v) => -v);
    const [p, n] = [rawErf(x), rawErf(neg)];
    for (let i = 0; i < x.length - 1; i++) expect(n[i]).toBe(-p[i]!);
    expect(Array.from(p.slice(7, 9))).toEqual([1, 1]);
    expect(p[2]).toBeCloseTo(1e-30 * 1.1283791670955126, 36);
    expect(Number.isNaN(p[9]!)).toBe(true);
  });
});

// ---------------------------------------------------------------- GELU

interface GeluCase {
  shape: number[];
  scale: number;
  seed: number;
}

const shapeArb = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 70 })).map(([a, b]) => [a, b]),
);
const geluArb = fc.record({ shape: shapeArb, scale: fc.constantFrom(1, 3, 12), seed: fc.integer({ min: 1, max: 1e6 }) });

function geluData(c: GeluCase): Float32Array {
  const n = c.shape.reduce((p, d) => p * d, 1);
  const x = uniform(n, c.seed, c.scale);
  // a few edge values wherever they fit
  const edges = [0, -0, 0.875 * Math.SQRT2, -0.875 * Math.SQRT2, 12, -12, 5.5, -5.5];
  for (let i = 0; i < Math.min(edges.length, n >> 2); i++) x[(i * 7919) % n] = edges[i]!;
  return x;
}

describe('geluForward / geluBackward on wasm', () => {
  it('loads and registers only our own kernel names', async () => {
    expect(await initFastKernels()).toBe(true);
    for (const name of [GELU_KERNEL_NAME, GELU_GRAD_KERNEL_NAME, LAYER_NORM_KERNEL_NAME, LAYER_NORM_GRAD_KERNEL_NAME]) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
      expect(tf.getKernel(name, 'cpu')).toBeUndefined();
    }
    expect(await onBackend('wasm', () => fastKernelsMode())).toBe('zero-copy');
  });

  it('returns null off wasm and when disabled (the caller takes the stock path)', async () => {
    const x = tf.ones([2, 3]);
    const stats = tf.ones([2]);
    expect(geluForward(x)).toBeNull(); // cpu
    expect(geluBackward(x, x, null)).toBeNull();
    expect(layerNormForward(x, null, null, 1e-5)).toBeNull();
    expect(layerNormBackward(x, x, stats, stats, null, true)).toBeNull();
    setFastKernelsEnabled(false);
    try {
      await onBackend('wasm', () => {
        expect(geluForward(x)).toBeNull();
        expect(layerNormForward(x, null, null, 1e-5)).toBeNull();
      });
    } finally {
      setFastKernelsEnabled(true);
    }
    tf.dispose([x, stats]);
  });

  it('computes the documented examples', async () => {
    const out = await onBackend('wasm', () =>
      tf.tidy(() => {
        const x = tf.tensor1d([0, 1]);
        const f = geluForward(x)!;
        expect(f.cdf).toBeNull();
        return [f.y, f.derivative!, geluBackward(tf.ones([2]), x, null)!].map((t) => Array.from(t.dataSync()));
      }),
    );
    assertTensorsClose(out[0]!, [0, 0.8413447], { atol: 1e-6 });
    assertTensorsClose(out[1]!, [0.5, 1.0833155], { atol: 1e-6 });
    assertTensorsClose(out[2]!, [0.5, 1.0833155], { atol: 1e-6 });
  });

  fcTest.prop([geluArb], { numRuns: 40 })('y, Φ and dy/dx match float64 (any shape, |x| up to 12)', async (c) => {
    const x = geluData(c);
    const [y, cdf, y2, deriv, y0] = await onBackend('wasm', () =>
      tf.tidy(() => {
        const xt = tf.tensor(x, c.shape);
        const a = geluForward(xt, 'cdf')!;
        const b = geluForward(xt, 'derivative')!;
        const n = geluForward(xt, 'none')!;
        expect(a.y.shape).toEqual(c.shape);
        expect(a.cdf!.shape).toEqual(c.shape);
        expect(n.cdf === null && n.derivative === null).toBe(true);
        return snapshot([a.y, a.cdf!, b.y, b.derivative!, n.y]);
      }),
    );
    const xs = Array.from(x);
    expect(worst(y!, xs.map((v) => v * cdf64(v)), 2e-7, 4e-7)).toBeLessThanOrEqual(1);
    expect(worst(cdf!, xs.map(cdf64), 1.5e-7, 2e-7)).toBeLessThanOrEqual(1);
    expect(worst(deriv!, xs.map((v) => cdf64(v) + v * pdf64(v)), 2e-7, 1e-6)).toBeLessThanOrEqual(1);
    // every mode computes the same y
    expect(Array.from(y2!)).toEqual(Array.from(y!));
    expect(Array.from(y0!)).toEqual(Array.from(y!));
  });

  it('gives the stock results for NaN and ±Infinity', async () => {
    const xs = [NaN, Infinity, -Infinity, 0];
    const stock = tf.tidy(() => {
      const x = tf.tensor1d(xs);
      return Array.from(tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)).dataSync());
    });
    expect(stock.map(String)).toEqual(['NaN', 'Infinity', 'NaN', '0']);
    const [y, cdf, dx] = await onBackend('wasm', () =>
      tf.tidy(() => {
        const x = tf.tensor1d(xs);
        const f = geluForward(x, 'cdf')!;
        return snapshot([f.y, f.cdf!, geluBackward(tf.ones([4]), x, null)!]);
      }),
    );
    expect(Array.from(y!).map(String)).toEqual(stock.map(String));
    expect(Array.from(cdf!).map(String)).toEqual(['NaN', '1', '0', '0.5']);
    expect(Number.isNaN(dx![0]!)).toBe(true);
  });

  it('is relatively accurate in the left tail (Φ from erfc: relative error ≲ 1e-7·x²)', async () => {
    const xs = Float32Array.from({ length: 1000 }, (_, i) => -2 - i * 0.011); // [-13, -2]
    const [cdf, y] = await onBackend('wasm', () =>
      tf.tidy(() => {
        const f = geluForward(tf.tensor1d(xs), 'cdf')!;
        return snapshot([f.cdf!, f.y]);
      }),
    );
    xs.forEach((x, i) => {
      const want = 0.5 * erfc64(-x / Math.SQRT2);
      const rtol = 1e-6 + 2e-7 * x * x;
      expect(Math.abs(cdf![i]! - want)).toBeLessThanOrEqual(rtol * want + 1e-44);
      expect(Math.abs(y![i]! - x * want)).toBeLessThanOrEqual(rtol * Math.abs(x * want) + 1e-44);
    });
  });

  fcTest.prop([geluArb], { numRuns: 30 })('the gradient is the cpu autodiff of the stock formulation', async (c) => {
    const x = geluData(c);
    const dy = uniform(x.length, c.seed + 1);
    // stock: 0.5·x·(1 + erf(x/√2)) through tfjs's registered gradients, on cpu
    const want = tf.tidy(() => {
      const f = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
      return snapshot([f(tf.tensor(x, c.shape)), tf.grad(f)(tf.tensor(x, c.shape), tf.tensor(dy, c.shape))]);
    });
    const got = await onBackend('wasm', () =>
      tf.tidy(() => {
        const xt = tf.tensor(x, c.shape);
        const dyt = tf.tensor(dy, c.shape);
        const fwd = geluForward(xt, 'derivative')!;
        const withCdf = geluForward(xt, 'cdf')!;
        return snapshot([fwd.y, tf.mul(dyt, fwd.derivative!), geluBackward(dyt, xt, withCdf.cdf)!, geluBackward(dyt, xt, null)!]);
      }),
    );
    const tol = { atol: 5e-7, rtol: 2e-6 };
    assertTensorsClose(got[0]!, want[0]!, tol, 'y');
    assertTensorsClose(got[1]!, want[1]!, tol, 'dy·derivative');
    assertTensorsClose(got[2]!, want[1]!, tol, 'geluBackward with cdf');
    assertTensorsClose(got[3]!, want[1]!, tol, 'geluBackward recomputing');
  });

  it('trains through a customGrad node as ops.ts would build it (vs cpu autodiff), without leaks', async () => {
    const x = uniform(6 * 37, 5, 3);
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const f = geluForward(xx)!;
      save([f.derivative!]);
      return { value: f.y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
    }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
    const loss = (f: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.square(f(t)));
    const got = await onBackend('wasm', async () => {
      const step = () => tf.tidy(() => tf.grad(loss(node))(tf.tensor2d(x, [6, 37])));
      tf.dispose(step());
      await assertNoLeaks(step, 'gelu customGrad on wasm');
      return tf.tidy(() => snapshot([step()]));
    });
    const want = tf.tidy(() => {
      const stock = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
      return snapshot([tf.grad(loss(stock))(tf.tensor2d(x, [6, 37]))]);
    });
    assertTensorsClose(got[0]!, want[0]!, { atol: 2e-6, rtol: 2e-6 });
  });
});

/** erfc in float64 for the tail check (continued fraction; a ≥ 2). */
function erfc64(a: number): number {
  let k = a;
  for (let n = 120; n >= 1; n--) k = a + n / 2 / k;
  return Math.exp(-a * a) / (Math.sqrt(Math.PI) * k);
}

// ---------------------------------------------------------------- layerNorm

interface LnCase {
  lead: number[];
  d: number;
  useGamma: boolean;
  useBeta: boolean;
  eps: number;
  offset: number;
  seed: number;
}

const lnArb = fc.record({
  lead: fc.oneof(fc.constant([] as number[]), fc.tuple(fc.integer({ min: 1, max: 9 })), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }))),
  d: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 70 })),
  useGamma: fc.boolean(),
  useBeta: fc.boolean(),
  eps: fc.constantFrom(1e-5, 1e-6, 1e-3, 0.1),
  offset: fc.constantFrom(0, 0, 3, -50),
  seed: fc.integer({ min: 1, max: 1e6 }),
}) as fc.Arbitrary<LnCase>;

function lnData(c: LnCase) {
  const rows = c.lead.reduce((p, d) => p * d, 1);
  const x = uniform(rows * c.d, c.seed, 2).map((v) => v + c.offset);
  return {
    shape: [...c.lead, c.d],
    x,
    dy: uniform(rows * c.d, c.seed + 1),
    gamma: c.useGamma ? uniform(c.d, c.seed + 2).map((v) => v + 1) : null,
    beta: c.useBeta ? uniform(c.d, c.seed + 3) : null,
  };
}

type LnData = ReturnType<typeof lnData>;

/** Fused forward + backward on the active backend (wasm), as plain arrays. */
function fusedLayerNorm(c: LnCase, t: LnData): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor(t.x, t.shape);
    const gamma = t.gamma ? tf.tensor1d(t.gamma) : null;
    const beta = t.beta ? tf.tensor1d(t.beta) : null;
    const f = layerNormForward(x, gamma, beta, c.eps)!;
    expect(f.y.shape).toEqual(t.shape);
    expect(f.mean.shape).toEqual(c.lead);
    expect(f.rstd.shape).toEqual(c.lead);
    const g = layerNormBackward(tf.tensor(t.dy, t.shape), x, f.mean, f.rstd, gamma, beta !== null)!;
    expect(g.dgamma === null).toBe(!gamma);
    expect(g.dbeta === null).toBe(!beta);
    return snapshot([f.y, f.mean, f.rstd, g.dx, ...(g.dgamma ? [g.dgamma] : []), ...(g.dbeta ? [g.dbeta] : [])]);
  });
}

/** The stock composition (as src/ops/dense.ts wrote it before the fused kernels) with tfjs autodiff, on cpu. */
function stockLayerNorm(c: LnCase, t: LnData): Float32Array[] {
  return tf.tidy(() => {
    const axis = t.shape.length - 1;
    const f = (x: tf.Tensor, gamma?: tf.Tensor, beta?: tf.Tensor) => {
      const centred = tf.sub(x, tf.mean(x, axis, true));
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), axis, true), c.eps));
      let y = tf.mul(centred, rstd);
      if (gamma) y = tf.mul(y, gamma);
      if (beta) y = tf.add(y, beta);
      return y;
    };
    const inputs = [tf.tensor(t.x, t.shape)];
    if (t.gamma) inputs.push(tf.tensor1d(t.gamma));
    if (t.beta) inputs.push(tf.tensor1d(t.beta));
    const call = (...xs: tf.Tensor[]) => f(xs[0]!, t.gamma ? xs[1] : undefined, t.beta ? xs[t.gamma ? 2 : 1] : undefined);
    const y = call(...inputs);
    const grads = tf.grads(call)(inputs, tf.tensor(t.dy, t.shape));
    return snapshot([y, ...grads]);
  });
}

describe('layerNormForward / layerNormBackward on wasm', () => {
  it('computes the documented examples', async () => {
    const out = await onBackend('wasm', () =>
      tf.tidy(() => {
        const x = tf.tensor2d([[1, 2, 3]]);
        const f = layerNormForward(x, null, null, 1e-5)!;
        const g = layerNormBackward(tf.tensor2d([[1, 0, 0]]), x, f.mean, f.rstd, null, true)!;
        expect(g.dgamma).toBeNull();
        return [f.y, f.mean, f.rstd, g.dx, g.dbeta!].map((t) => Array.from(t.dataSync()));
      }),
    );
    assertTensorsClose(out[0]!, [-1.2247357, 0, 1.2247357], { atol: 1e-6 });
    expect(out[1]).toEqual([2]);
    assertTensorsClose(out[2]!, [1.2247357], { atol: 1e-6 });
    assertTensorsClose(out[3]!, [0.2041226, -0.4082452, 0.2041226], { atol: 1e-5 });
    expect(out[4]).toEqual([1, 0, 0]);
  });

  fcTest.prop([lnArb], { numRuns: 60 })('matches float64 loops (any rank, d not a multiple of 4, rows = 1)', async (c) => {
    const t = lnData(c);
    const got = await onBackend('wasm', () => fusedLayerNorm(c, t));
    const ref = layerNorm64(t.x, c.d, t.gamma, t.beta, c.eps);
    const grad = layerNormGrad64(t.dy, ref.xhat, ref.rstd, c.d, t.gamma);
    // float32 rounding of x − mean is relative to |x|, not to the row's spread: the tolerance
    // scales with the conditioning max |x|·rstd (≈ 1–3 for centred rows; large for an offset row
    // whose values nearly coincide; the float64 reference sees exact inputs)
    let cond = 1;
    t.x.forEach((v, i) => (cond = Math.max(cond, Math.abs(v) * ref.rstd[Math.floor(i / c.d)]!)));
    const tol = 2e-5 * Math.max(1, cond / 3);
    expect(worst(got[0]!, ref.y, tol, tol)).toBeLessThanOrEqual(1);
    expect(worst(got[1]!, ref.mean, tol, tol)).toBeLessThanOrEqual(1);
    expect(worst(got[2]!, ref.rstd, tol, tol)).toBeLessThanOrEqual(1);
    const rmax = Math.max(...Array.from(ref.rstd), 1);
    expect(worst(got[3]!, grad.dx, tol * rmax, 1e-4)).toBeLessThanOrEqual(1);
    let i = 4;
    if (t.gamma) expect(worst(got[i++]!, grad.dgamma, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    if (t.beta) expect(worst(got[i++]!, grad.dbeta, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  fcTest.prop([lnArb], { numRuns: 40 })('has the gradients of the stock formulation (cpu autodiff)', async (c) => {
    // With a large offset and few features the float32 stock composition itself loses ~3 digits
    // to cancellation (the float64 test above covers those cases): compare where it is accurate.
    fc.pre(Math.abs(c.offset) <= 5);
    const t = lnData(c);
    const got = await onBackend('wasm', () => fusedLayerNorm(c, t));
    const want = stockLayerNorm(c, t); // y, dx, [dgamma], [dbeta]
    const rmax = Math.max(...Array.from(got[2]!), 1);
    assertTensorsClose(got[0]!, want[0]!, { atol: 3e-5, rtol: 3e-5 }, 'y');
    assertTensorsClose(got[3]!, want[1]!, { atol: 3e-5 * rmax, rtol: 1e-4 }, 'dx');
    for (let i = 4; i < got.length; i++) assertTensorsClose(got[i]!, want[i - 2]!, { atol: 1e-4, rtol: 1e-4 }, `param grad ${i - 4}`);
  });

  it('gives y = beta for d = 1 and rows of equal values (variance 0)', async () => {
    const y = await onBackend('wasm', () =>
      tf.tidy(() => {
        const a = layerNormForward(tf.tensor2d([[5], [-2]]), tf.tensor1d([3]), tf.tensor1d([0.25]), 1e-5)!;
        const b = layerNormForward(tf.fill([2, 7], 4), null, tf.fill([7], 1), 1e-5)!;
        return [a.y, b.y].map((t) => Array.from(t.dataSync()));
      }),
    );
    expect(y[0]).toEqual([0.25, 0.25]);
    expect(y[1]).toEqual(new Array(14).fill(1));
  });

  it('trains through a customGrad node as ops.ts would build it (vs cpu autodiff), without leaks', async () => {
    const c: LnCase = { lead: [4, 3], d: 19, useGamma: true, useBeta: true, eps: 1e-5, offset: 1, seed: 91 };
    const t = lnData(c);
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [x, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const f = layerNormForward(x, g, b, c.eps)!;
      save([x, f.mean, f.rstd, g]);
      return {
        value: f.y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sm, sr, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const r = layerNormBackward(dy, sx, sm, sr, sg, true)!;
          return [r.dx, r.dgamma!, r.dbeta!];
        },
      };
    }) as Parameters<typeof tf.customGrad>[0]) as (...x: tf.Tensor[]) => tf.Tensor;
    const step = () =>
      tf.tidy(() => {
        const inputs = [tf.tensor(t.x, t.shape), tf.tensor1d(t.gamma!), tf.tensor1d(t.beta!)];
        const loss = (...xs: tf.Tensor[]) => tf.sum(tf.mul(node(...xs), tf.tensor(t.dy, t.shape)));
        return tf.grads(loss)(inputs);
      });
    const got = await onBackend('wasm', async () => {
      tf.dispose(step());
      await assertNoLeaks(step, 'layerNorm customGrad on wasm');
      const g = step();
      const out = snapshot(g);
      tf.dispose(g);
      return out;
    });
    const want = stockLayerNorm(c, t).slice(1); // dx, dgamma, dbeta
    got.forEach((g, i) => assertTensorsClose(g, want[i]!, { atol: 1e-4, rtol: 1e-4 }, ['dx', 'dgamma', 'dbeta'][i]));
  });

  it('handles the benchmark shapes ([784,256], [2048,32]) like float64', async () => {
    for (const [rows, d] of [[784, 256], [2048, 33]] as const) {
      const c: LnCase = { lead: [rows], d, useGamma: true, useBeta: true, eps: 1e-5, offset: 0.5, seed: rows + d };
      const t = lnData(c);
      const got = await onBackend('wasm', () => fusedLayerNorm(c, t));
      const ref = layerNorm64(t.x, d, t.gamma, t.beta, c.eps);
      const grad = layerNormGrad64(t.dy, ref.xhat, ref.rstd, d, t.gamma);
      expect(worst(got[0]!, ref.y, 2e-5, 2e-5)).toBeLessThanOrEqual(1);
      expect(worst(got[3]!, grad.dx, 5e-5, 1e-4)).toBeLessThanOrEqual(1);
      expect(worst(got[4]!, grad.dgamma, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
      expect(worst(got[5]!, grad.dbeta, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
    }
  });
});

// ---------------------------------------------------------------- modes, memory, errors

describe('fused kernels: copy mode, operands from cpu, leaks', () => {
  const c: LnCase = { lead: [3, 5], d: 13, useGamma: true, useBeta: true, eps: 1e-5, offset: 1, seed: 77 };
  const g: GeluCase = { shape: [7, 9], scale: 6, seed: 78 };
  const runAll = () => {
    const t = lnData(c);
    const x = geluData(g);
    const dy = uniform(x.length, 79);
    const gelu = tf.tidy(() => {
      const xt = tf.tensor(x, g.shape);
      const dyt = tf.tensor(dy, g.shape);
      const a = geluForward(xt, 'derivative')!;
      const b = geluForward(xt, 'cdf')!;
      return snapshot([a.y, a.derivative!, b.cdf!, geluBackward(dyt, xt, b.cdf)!, geluBackward(dyt, xt, null)!]);
    });
    return [...gelu, ...fusedLayerNorm(c, t)];
  };

  it('gives bit-identical results in the copying mode', async () => {
    const zeroCopy = await onBackend('wasm', runAll);
    setFastKernelsEnabled(true, { zeroCopy: false });
    try {
      const copied = await onBackend('wasm', () => {
        expect(fastKernelsMode()).toBe('copy');
        return runAll();
      });
      expect(copied.length).toBe(zeroCopy.length);
      copied.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(zeroCopy[i]!)));
    } finally {
      setFastKernelsEnabled(true);
    }
  });

  it('accepts empty tensors (no rows, no elements) in both modes', async () => {
    const run = () =>
      tf.tidy(() => {
        const g = geluForward(tf.zeros([0, 3]), 'cdf')!;
        const ln = layerNormForward(tf.zeros([0, 5]), tf.ones([5]), tf.zeros([5]), 1e-5)!;
        const lg = layerNormBackward(tf.zeros([0, 5]), tf.zeros([0, 5]), ln.mean, ln.rstd, tf.ones([5]), true)!;
        return [g.y.shape, geluBackward(tf.zeros([0, 3]), tf.zeros([0, 3]), g.cdf)!.shape, ln.y.shape, ln.rstd.shape, Array.from(lg.dgamma!.dataSync()), Array.from(lg.dbeta!.dataSync())];
      });
    const want = [[0, 3], [0, 3], [0, 5], [0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]];
    expect(await onBackend('wasm', run)).toEqual(want);
    setFastKernelsEnabled(true, { zeroCopy: false });
    try {
      expect(await onBackend('wasm', run)).toEqual(want);
    } finally {
      setFastKernelsEnabled(true);
    }
  });

  it('reads operands created on the cpu backend', async () => {
    const x = tf.tensor2d([[1, 2, 3], [-1, 0, 1]]); // created on cpu
    const y = await onBackend('wasm', () => tf.tidy(() => Array.from(layerNormForward(x, null, null, 0)!.y.dataSync())));
    assertTensorsClose(y, [-1.2247449, 0, 1.2247449, -1.2247449, 0, 1.2247449], { atol: 1e-6 });
    x.dispose();
  });

  it('leaks no tensors', async () => {
    const step = () => {
      const x = tf.tensor2d(uniform(4 * 10, 3), [4, 10]);
      const gamma = tf.ones([10]);
      const f = geluForward(x, 'cdf')!;
      const dx = geluBackward(x, x, f.cdf)!;
      const ln = layerNormForward(x, gamma, null, 1e-5)!;
      const lg = layerNormBackward(x, x, ln.mean, ln.rstd, gamma, true)!;
      const out = [f.y, f.cdf!, dx, ln.y, ln.mean, ln.rstd, lg.dx, lg.dgamma!, lg.dbeta!];
      tf.dispose([x, gamma]);
      return out;
    };
    await onBackend('wasm', async () => {
      tf.dispose(step()); // warm up
      await assertNoLeaks(step, 'fused kernels on wasm');
    });
  });
});

describe('fused ops reject bad inputs (on any backend)', () => {
  const x = () => tf.ones([2, 3]);
  it.each<[string, () => unknown, string]>([
    ['dy of another shape (gelu)', () => geluBackward(tf.ones([3, 2]), x(), null), 'dy'],
    ['cdf of another shape', () => geluBackward(x(), x(), tf.ones([6])), 'cdf'],
    ['a rank-0 x (layerNorm)', () => layerNormForward(tf.scalar(1), null, null, 1e-5), 'x'],
    ['a last axis of 0', () => layerNormForward(tf.ones([2, 0]), null, null, 1e-5), 'x'],
    ['gamma of the wrong size', () => layerNormForward(x(), tf.ones([2]), null, 1e-5), 'gamma'],
    ['beta of rank 2', () => layerNormForward(x(), null, tf.ones([1, 3]), 1e-5), 'beta'],
    ['dy of another shape (layerNorm)', () => layerNormBackward(tf.ones([2, 4]), x(), tf.ones([2]), tf.ones([2]), null, false), 'dy'],
    ['mean of the wrong shape', () => layerNormBackward(x(), x(), tf.ones([2, 1]), tf.ones([2]), null, false), 'mean'],
    ['rstd of the wrong shape', () => layerNormBackward(x(), x(), tf.ones([2]), tf.ones([3]), null, false), 'rstd'],
  ])('throws ShapeError for %s', (_, call, argument) => {
    expectArgumentError(call, ShapeError, argument);
  });

  it.each<[string, () => unknown, string]>([
    ['an int32 x (gelu)', () => geluForward(tf.ones([2], 'int32')), 'x.dtype'],
    ['an unknown save', () => geluForward(x(), 'both' as never), 'save'],
    ['a non-tensor x', () => geluForward([1, 2] as unknown as tf.Tensor), 'x'],
    ['an int32 cdf', () => geluBackward(x(), x(), tf.ones([2, 3], 'int32')), 'cdf.dtype'],
    ['an int32 gamma', () => layerNormForward(x(), tf.ones([3], 'int32'), null, 1e-5), 'gamma.dtype'],
    ['a negative epsilon', () => layerNormForward(x(), null, null, -1), 'epsilon'],
    ['a NaN epsilon', () => layerNormForward(x(), null, null, NaN), 'epsilon'],
    ['a non-boolean betaGrad', () => layerNormBackward(x(), x(), tf.ones([2]), tf.ones([2]), null, 1 as unknown as boolean), 'betaGrad'],
  ])('throws InvalidArgumentError for %s', (_, call, argument) => {
    expectArgumentError(call, InvalidArgumentError, argument);
  });
});

// ---------------------------------------------------------------- channel norm (batch / group norm)

/** Channel norm of x [n, s, c] in float64: y, mean, variance, and the gradients for dy. */
function channelNorm64(x: Float32Array, dy: Float32Array, gamma: Float32Array, beta: Float32Array, n: number, s: number, c: number, groups: number, eps: number, relu = false) {
  const cg = c / groups;
  const count = s * cg;
  const y = new Float64Array(n * s * c);
  const dx = new Float64Array(n * s * c);
  const mean = new Float64Array(n * groups);
  const variance = new Float64Array(n * groups);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  const at = (b: number, r: number, j: number) => (b * s + r) * c + j;
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      let m = 0;
      for (let r = 0; r < s; r++) for (let k = 0; k < cg; k++) m += x[at(b, r, g * cg + k)]!;
      m /= count;
      let v = 0;
      for (let r = 0; r < s; r++) for (let k = 0; k < cg; k++) v += (x[at(b, r, g * cg + k)]! - m) ** 2;
      v /= count;
      mean[b * groups + g] = m;
      variance[b * groups + g] = v;
      const rs = 1 / Math.sqrt(v + eps);
      // dx = rstd·(gy − mean(gy) − x̂·mean(gy·x̂)), gy = dy·gamma, means over the group
      // with relu, dy passes only where the normalised value is > 0
      const dyOf = (i: number, j: number, xh: number) => (relu && xh * gamma[j]! + beta[j]! <= 0 ? 0 : dy[i]!);
      let sg = 0;
      let sgx = 0;
      for (let r = 0; r < s; r++) {
        for (let k = 0; k < cg; k++) {
          const j = g * cg + k;
          const i = at(b, r, j);
          const xh = (x[i]! - m) * rs;
          const v = xh * gamma[j]! + beta[j]!;
          y[i] = relu ? Math.max(v, 0) : v;
          const d = dyOf(i, j, xh);
          sg += d * gamma[j]!;
          sgx += d * gamma[j]! * xh;
          dgamma[j] += d * xh;
          dbeta[j] += d;
        }
      }
      for (let r = 0; r < s; r++) {
        for (let k = 0; k < cg; k++) {
          const j = g * cg + k;
          const i = at(b, r, j);
          const xh = (x[i]! - m) * rs;
          dx[i] = rs * (dyOf(i, j, xh) * gamma[j]! - sg / count - (xh * sgx) / count);
        }
      }
    }
  }
  return { y, mean, variance, dx, dgamma, dbeta };
}

describe('channelNormForward / channelNormBackward on wasm', () => {
  it('registers its kernels on wasm only, and returns null off wasm, when disabled and for c not a multiple of 4', async () => {
    expect(await initFastKernels()).toBe(true);
    for (const name of [CHANNEL_NORM_KERNEL_NAME, CHANNEL_NORM_GRAD_KERNEL_NAME]) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
      expect(tf.getKernel(name, 'cpu')).toBeUndefined();
    }
    const x = tf.ones([1, 2, 4]) as tf.Tensor3D;
    const g = tf.ones([4]) as tf.Tensor1D;
    const st = tf.ones([1, 4]) as tf.Tensor2D;
    expect(channelNormForward(x, g, g, 4, 1e-5)).toBeNull(); // cpu
    expect(channelNormBackward(x, x, st, st, g, 1e-5)).toBeNull();
    await onBackend('wasm', () => {
      const x6 = tf.ones([1, 2, 6]) as tf.Tensor3D;
      const g6 = tf.ones([6]) as tf.Tensor1D;
      expect(channelNormForward(x6, g6, g6, 3, 1e-5)).toBeNull(); // 6 channels: the stock path
      tf.dispose([x6, g6]);
    });
    setFastKernelsEnabled(false);
    try {
      await onBackend('wasm', () => expect(channelNormForward(x, g, g, 4, 1e-5)).toBeNull());
    } finally {
      setFastKernelsEnabled(true);
    }
    tf.dispose([x, g, st]);
  });

  it('computes the documented examples', async () => {
    const [y, mean, variance, dx, dgamma, dbeta] = await onBackend('wasm', () =>
      tf.tidy(() => {
        const f = channelNormForward(tf.tensor3d([[[1, 2, 3, 4], [3, 4, 5, 6]]]), tf.ones([4]), tf.zeros([4]), 4, 0)!;
        const x = tf.tile(tf.tensor3d([[[1], [3]]]), [1, 1, 4]) as tf.Tensor3D;
        const fx = channelNormForward(x, tf.ones([4]), tf.zeros([4]), 4, 0)!;
        const b = channelNormBackward(tf.onesLike(x) as tf.Tensor3D, x, fx.mean, fx.variance, tf.ones([4]), 0)!;
        return snapshot([f.y, f.mean, f.variance, b.dx, b.dgamma, b.dbeta]);
      }),
    );
    expect(Array.from(y!)).toEqual([-1, -1, -1, -1, 1, 1, 1, 1]);
    expect(Array.from(mean!)).toEqual([2, 3, 4, 5]);
    expect(Array.from(variance!)).toEqual([1, 1, 1, 1]);
    expect(Array.from(dx!)).toEqual(new Array(8).fill(0));
    expect(Array.from(dgamma!)).toEqual([0, 0, 0, 0]);
    expect(Array.from(dbeta!)).toEqual([2, 2, 2, 2]);
  });

  fcTest.prop(
    [fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(1, 2, 4, 8), fc.boolean(), fc.integer({ min: 1, max: 10_000 })],
    // the example: a group of 2 values 0.07 apart (rstd 28), which the linear-in-rstd bound failed
    { numRuns: 30, examples: [[1, 1, 1, 2, false, 3952]] },
  )('equals float64 loops (values, statistics and gradients) for any shape and grouping, with and without ReLU', async (n, s, quads, groupsWanted, relu, seed) => {
    const c = 4 * quads;
    const groups = c % groupsWanted === 0 ? groupsWanted : 1;
    const x = uniform(n * s * c, seed).map((v) => 3 * v + 1.5);
    const dy = uniform(n * s * c, seed + 1);
    const gamma = uniform(c, seed + 2).map((v) => 1 + 0.5 * v);
    const beta = uniform(c, seed + 3);
    const eps = 1e-5;
    const got = await onBackend('wasm', () =>
      tf.tidy(() => {
        const xt = tf.tensor3d(x, [n, s, c]);
        const gt = tf.tensor1d(gamma);
        const bt = tf.tensor1d(beta);
        const f = channelNormForward(xt, gt, bt, groups, eps, relu)!;
        const b = channelNormBackward(tf.tensor3d(dy, [n, s, c]), xt, f.mean, f.variance, gt, eps, relu ? bt : null)!;
        return snapshot([f.y, f.mean, f.variance, b.dx, b.dgamma, b.dbeta]);
      }),
    );
    const ref = channelNorm64(x, dy, gamma, beta, n, s, c, groups, eps, relu);
    const want = [ref.y, ref.mean, ref.variance, ref.dx, ref.dgamma, ref.dbeta];
    const names = ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta'];
    // sums over s·c/groups float32 values: error grows like √s
    const scale = Math.sqrt(s);
    // dx cancels terms of size rstd·|dy·gamma| (rstd = 316 for a group of one value), and x̂ =
    // (x − mean)·rstd carries the float32 rounding of x (|x| ≤ 4.5) times rstd: dx's error grows
    // like rstd² (a group of 2 values 0.07 apart, rstd 28: 1.1e-4 off the float64 loop)
    const maxRstd = Math.max(...Array.from(ref.variance, (v) => 1 / Math.sqrt(v + eps)));
    const atol = [2e-5 * scale, 2e-5 * scale, 2e-5 * scale, 2e-5 * scale + 1e-6 * maxRstd * maxRstd, 1e-5 * n * s, 1e-5 * n * s];
    got.forEach((v, i) => assertTensorsClose(v, Array.from(want[i]!), { atol: atol[i]!, rtol: 1e-4 }, names[i]));
  });

  it('gives bit-identical results in the copying mode, and leaks no tensors', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor3d(uniform(2 * 9 * 8, 5), [2, 9, 8]);
        const g = tf.tensor1d(uniform(8, 6));
        const f = channelNormForward(x, g, tf.zeros([8]), 2, 1e-5)!;
        const b = channelNormBackward(tf.tensor3d(uniform(2 * 9 * 8, 7), [2, 9, 8]), x, f.mean, f.variance, g, 1e-5)!;
        return snapshot([f.y, f.mean, f.variance, b.dx, b.dgamma, b.dbeta]);
      });
    const zeroCopy = await onBackend('wasm', run);
    setFastKernelsEnabled(true, { zeroCopy: false });
    try {
      const copied = await onBackend('wasm', run);
      copied.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(zeroCopy[i]!)));
    } finally {
      setFastKernelsEnabled(true);
    }
    await onBackend('wasm', async () => {
      const x = tf.tensor3d(uniform(3 * 5 * 4, 8), [3, 5, 4]);
      const g = tf.ones([4]) as tf.Tensor1D;
      await assertNoLeaks(() => {
        const f = channelNormForward(x, g, g, 2, 1e-5)!;
        const b = channelNormBackward(x, x, f.mean, f.variance, g, 1e-5)!;
        return [f.y, f.mean, f.variance, b.dx, b.dgamma, b.dbeta];
      }, 'channel norm on wasm');
      tf.dispose([x, g]);
    });
  });

  it.each<[string, () => unknown, typeof ShapeError | typeof InvalidArgumentError, string]>([
    ['a rank-2 x', () => channelNormForward(tf.ones([2, 4]) as unknown as tf.Tensor3D, tf.ones([4]), tf.ones([4]), 1, 1e-5), ShapeError, 'x'],
    ['gamma of the wrong size', () => channelNormForward(tf.ones([1, 2, 4]), tf.ones([3]), tf.ones([4]), 1, 1e-5), ShapeError, 'gamma'],
    ['beta of the wrong size', () => channelNormForward(tf.ones([1, 2, 4]), tf.ones([4]), tf.ones([2]), 1, 1e-5), ShapeError, 'beta'],
    ['groups not dividing c', () => channelNormForward(tf.ones([1, 2, 4]), tf.ones([4]), tf.ones([4]), 3, 1e-5), InvalidArgumentError, 'groups'],
    ['an int32 x', () => channelNormForward(tf.ones([1, 2, 4], 'int32') as tf.Tensor3D, tf.ones([4]), tf.ones([4]), 1, 1e-5), InvalidArgumentError, 'x.dtype'],
    ['a negative epsilon', () => channelNormForward(tf.ones([1, 2, 4]), tf.ones([4]), tf.ones([4]), 1, -1), InvalidArgumentError, 'epsilon'],
    ['mean of rank 1', () => channelNormBackward(tf.ones([1, 2, 4]), tf.ones([1, 2, 4]), tf.ones([4]) as unknown as tf.Tensor2D, tf.ones([1, 4]), tf.ones([4]), 1e-5), ShapeError, 'mean'],
    ['variance of another shape', () => channelNormBackward(tf.ones([1, 2, 4]), tf.ones([1, 2, 4]), tf.ones([1, 2]), tf.ones([1, 4]), tf.ones([4]), 1e-5), ShapeError, 'variance'],
    ['dy of another shape', () => channelNormBackward(tf.ones([1, 3, 4]), tf.ones([1, 2, 4]), tf.ones([1, 2]), tf.ones([1, 2]), tf.ones([4]), 1e-5), ShapeError, 'dy'],
    ['a reluBeta of the wrong size', () => channelNormBackward(tf.ones([1, 2, 4]), tf.ones([1, 2, 4]), tf.ones([1, 2]), tf.ones([1, 2]), tf.ones([4]), 1e-5, tf.ones([2])), ShapeError, 'reluBeta'],
    ['a non-boolean relu', () => channelNormForward(tf.ones([1, 2, 4]), tf.ones([4]), tf.ones([4]), 1, 1e-5, 1 as unknown as boolean), InvalidArgumentError, 'relu'],
  ])('rejects %s', (_, call, type, argument) => {
    if (type === ShapeError) expectArgumentError(call, ShapeError, argument);
    else expectArgumentError(call, InvalidArgumentError, argument);
  });
});
