/**
 * Experiment: exact GELU and layerNorm on the wasm backend, the stock composition of
 * src/core/ops.ts (before the fused kernels: one tf.customGrad node over 5–12 stock kernels,
 * reproduced here so that the comparison survives ops.ts switching to the fused kernels)
 * against the fused kernels of src/kernels/fused.ts wrapped in the same kind of customGrad
 * node, forward only and forward + backward, interleaved rep by rep (medians of per-call µs).
 *
 * GELU variants: 'derivative' (forward saves Φ + x·φ, backward is tf.mul(dy, d)), 'cdf'
 * (saves x and Φ, backward VdafmGeluGrad), 'recompute' (saves x, backward recomputes Φ).
 *
 * Then the raw kernels alone (the module in a memory of its own, no tfjs dispatch, no allocation)
 * in ns per element, and the stock wasm kernels tf.erf / tf.exp / tf.mul for scale.
 *
 *   node --import tsx bench/experiments/fused.ts [--reps 15] [--calls 0 (auto)]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the stock gradients
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { columnSum } from '../../src/ops/matmul.js';
import { fastKernelsMode } from '../../src/kernels/module.js';
import { geluBackward, geluForward, layerNormBackward, layerNormForward } from '../../src/kernels/fused.js';
import { GEMM_WASM_BASE64 } from '../../src/kernels/gemm-wasm.generated.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const reps = Number(arg('--reps') ?? 15);
const callsArg = Number(arg('--calls') ?? 0);

type Grad = Parameters<typeof tf.customGrad>[0];
type Fn = (...x: tf.Tensor[]) => tf.Tensor;

// ------------------------------------------------------------------ stock (ops.ts as it was)

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
function expNonPositive(z: tf.Tensor): tf.Tensor {
  const s = tf.sigmoid(z);
  return tf.div(s, tf.sub(1, s));
}
const stockGelu = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5);
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sc] = saved as [tf.Tensor, tf.Tensor];
      const pdf = tf.mul(expNonPositive(tf.mul(tf.square(sx), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(sc, tf.mul(sx, pdf)));
    },
  };
}) as Grad) as Fn;

function sumToLast(dy: tf.Tensor): tf.Tensor {
  const c = dy.shape[dy.rank - 1]!;
  return columnSum(dy.rank === 2 ? dy : tf.reshape(dy, [-1, c]));
}
const EPS = 1e-5;
const stockLayerNorm = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [xx, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const axis = xx.rank - 1;
  const mean = tf.mean(xx, axis, true);
  const centred = tf.sub(xx, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), axis, true), EPS));
  const xhat = tf.mul(centred, rstd);
  save([xhat, rstd, g]);
  return {
    value: tf.add(tf.mul(xhat, g), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sr, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const gy = tf.mul(dy, sg);
      const inner = tf.sub(tf.sub(gy, tf.mean(gy, axis, true)), tf.mul(sx, tf.mean(tf.mul(gy, sx), axis, true)));
      return [tf.mul(inner, sr), sumToLast(tf.mul(dy, sx)), sumToLast(dy)];
    },
  };
}) as Grad) as Fn;

// ------------------------------------------------------------------ fused, as ops.ts would wrap them

const geluDerivative = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const f = geluForward(x, 'derivative')!;
  save([f.derivative!]);
  return { value: f.y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
}) as Grad) as Fn;

const geluCdf = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const f = geluForward(x, 'cdf')!;
  save([x, f.cdf!]);
  return { value: f.y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => geluBackward(dy, saved[0]!, saved[1]!)! };
}) as Grad) as Fn;

const geluRecompute = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const f = geluForward(x, 'none')!;
  save([x]);
  return { value: f.y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => geluBackward(dy, saved[0]!, null)! };
}) as Grad) as Fn;

const fusedLayerNorm = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const f = layerNormForward(x, g, b, EPS)!;
  save([x, f.mean, f.rstd, g]);
  return {
    value: f.y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sm, sr, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const r = layerNormBackward(dy, sx, sm, sr, sg, true)!;
      return [r.dx, r.dgamma!, r.dbeta!];
    },
  };
}) as Grad) as Fn;

// ------------------------------------------------------------------ timing

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function maxDiff(a: tf.Tensor[], b: tf.Tensor[]): number {
  return Math.max(...a.map((t, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!)));
}

/** Median µs per call of each implementation, interleaved; forward or forward + backward. */
function time(impls: Fn[], inputs: tf.Tensor[], dy: tf.Tensor, pass: 'forward' | 'forward+backward', calls: number): number[] {
  const run = (f: Fn) => () => {
    for (let c = 0; c < calls; c++) {
      const out = tf.tidy(() => (pass === 'forward' ? [f(...inputs)] : tf.grads(f)(inputs, dy)));
      tf.dispose(out); // the wasm backend runs kernels synchronously: no read-back needed
    }
  };
  const fns = impls.map(run);
  for (let w = 0; w < 3; w++) fns.forEach((f) => f());
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    fns.forEach((f, i) => {
      const t0 = performance.now();
      f();
      times[i]!.push(((performance.now() - t0) * 1000) / calls);
    });
  }
  return times.map(median);
}

tf.enableProdMode();
setThreadsCount(1);
await tf.setBackend('wasm');
await tf.ready();
console.log(`fused kernels mode: ${fastKernelsMode()}; ${reps} reps, medians of µs per call`);
console.log('| op | shape | pass | stock µs | fused µs | speed-up | other variants µs (speed-up) | max abs diff |');
console.log('|---|---|---|---|---|---|---|---|');

function callsFor(size: number): number {
  return callsArg > 0 ? callsArg : Math.max(1, Math.round(200_000 / size));
}

for (const shape of [[784, 1024], [2048, 64], [2048, 32]] as const) {
  const x = tf.randomNormal([...shape], 0, 2);
  const dy = tf.randomNormal([...shape]);
  const impls = [stockGelu, geluDerivative, geluCdf, geluRecompute];
  for (const pass of ['forward', 'forward+backward'] as const) {
    const diff = tf.tidy(() => {
      const outs = impls.map((f) => (pass === 'forward' ? [f(x)] : tf.grads(f)([x], dy)));
      return Math.max(...outs.slice(1).map((o) => maxDiff(outs[0]!, o)));
    });
    const [s, d, c, r] = time(impls, [x], dy, pass, callsFor(x.size)) as [number, number, number, number];
    console.log(
      `| gelu | [${shape}] | ${pass} | ${s.toFixed(0)} | ${d.toFixed(0)} ('derivative') | ${(s / d).toFixed(1)}× | ` +
        `cdf ${c.toFixed(0)} (${(s / c).toFixed(1)}×), recompute ${r.toFixed(0)} (${(s / r).toFixed(1)}×) | ${diff.toExponential(1)} |`,
    );
  }
  tf.dispose([x, dy]);
}

for (const shape of [[784, 256], [1024, 256], [2048, 64], [2048, 32]] as const) {
  const d = shape[1];
  const x = tf.randomNormal([...shape], 0.5, 2);
  const g = tf.randomUniform([d], 0.5, 1.5);
  const b = tf.randomUniform([d], -0.5, 0.5);
  const dy = tf.randomNormal([...shape]);
  const impls = [stockLayerNorm, fusedLayerNorm];
  for (const pass of ['forward', 'forward+backward'] as const) {
    const diff = tf.tidy(() => {
      const outs = impls.map((f) => (pass === 'forward' ? [f(x, g, b)] : tf.grads(f)([x, g, b], dy)));
      return maxDiff(outs[0]!, outs[1]!);
    });
    const [s, f] = time(impls, [x, g, b], dy, pass, callsFor(x.size)) as [number, number];
    console.log(`| layerNorm (γ, β) | [${shape}] | ${pass} | ${s.toFixed(0)} | ${f.toFixed(0)} | ${(s / f).toFixed(1)}× | | ${diff.toExponential(1)} |`);
  }
  tf.dispose([x, g, b, dy]);
}

// ------------------------------------------------------------------ raw kernels, ns per element

{
  const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0));
  const n = 784 * 1024;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((n * 16 + 65536) / 65536) });
  const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Record<string, (...a: number[]) => void>;
  const heap = new Float32Array(memory.buffer);
  const [X, Y, A, DY] = [64, 64 + n * 4, 64 + n * 8, 64 + n * 12];
  heap.set(Float32Array.from({ length: n }, () => Math.random() * 8 - 4), X >> 2);
  heap.set(Float32Array.from({ length: n }, () => Math.random() * 2 - 1), DY >> 2);
  const raw: Array<[string, () => void]> = [
    ['gelu_fwd, y only', () => e['gelu_fwd']!(n, X, Y, A, 0)],
    ['gelu_fwd, y + derivative', () => e['gelu_fwd']!(n, X, Y, A, 2)],
    ['gelu_bwd with cdf', () => e['gelu_bwd']!(n, DY, X, A, Y)],
    ['gelu_bwd recomputing', () => e['gelu_bwd']!(n, DY, X, 0, Y)],
    ['erf', () => e['vdafm_erf']!(n, X, Y)],
    ['layernorm_fwd [784,1024] (γ, β)', () => e['layernorm_fwd']!(784, 1024, X, DY, DY, 1e-5, Y, A, A + 4096)],
    ['layernorm_bwd [784,1024] (γ, β)', () => e['layernorm_bwd']!(784, 1024, DY, X, A, A + 4096, DY, Y, A + 8192, A + 16384)],
  ];
  // tier-up: V8 runs a wasm function in its baseline compiler until it is hot (no on-stack replacement)
  for (let w = 0; w < 30; w++) for (const [, f] of raw) f();
  const stockX = tf.randomUniform([784, 1024], -4, 4);
  const stock: Array<[string, () => void]> = [
    ['stock tf.erf', () => tf.dispose(tf.erf(stockX))],
    ['stock tf.exp', () => tf.dispose(tf.exp(stockX))],
    ['stock tf.mul (same shape)', () => tf.dispose(tf.mul(stockX, stockX))],
  ];
  const all = [...raw, ...stock];
  const times = all.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    all.forEach(([, f], i) => {
      const t0 = performance.now();
      f();
      times[i]!.push(((performance.now() - t0) * 1e6) / n);
    });
  }
  console.log('\n| raw kernel, 784·1024 elements | ns per element (median) |\n|---|---|');
  all.forEach(([name], i) => console.log(`| ${name} | ${median(times[i]!).toFixed(2)} |`));
  stockX.dispose();
}
