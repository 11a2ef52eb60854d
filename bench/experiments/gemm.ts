/**
 * Experiment: our wasm-SIMD GEMM (native/gemm.c) vs tfjs-backend-wasm's tf.matMul (XNNPACK) at
 * the shapes of the attention train step. Interleaves the implementations rep by rep (ABAB…)
 * so that load from other processes hits all of them, and reports medians and GFLOP/s.
 *
 *   node --import tsx bench/experiments/gemm.ts [--reps 15] [--variants a.wasm,b.wasm] [--only 1024]
 *
 * First `node scripts/build-wasm.mjs --variants` (writes native/build/gemm.wasm, the shipped
 * configuration, and the micro-kernel variants native/build/*.wasm). Each module runs in a
 * memory of its own here; the time includes copying A and B in and C out.
 *
 * Times are medians over the reps; "best-of" is the ratio of the best reps (closer to an
 * unloaded machine).
 *
 * With `--op`, it times the shipped op instead: `fastMatMul` (src/kernels/gemm.ts, through the
 * tfjs kernel dispatch) against `tf.matMul` (+ `tf.transpose` for the transposed operands), both
 * on the wasm backend; fastMatMul is timed in its zero-copy mode (running in tfjs's heap on the
 * tensors' memory) and in its copying mode.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { fastKernelsActive, fastKernelsMode, setFastKernelsEnabled } from '../../src/kernels/module.js';
import { fastMatMul } from '../../src/ops/matmul.js';

interface Shape {
  name: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

const SHAPES: Shape[] = [
  { name: '[784,256]x[256,1024]', m: 784, k: 256, n: 1024, transA: false, transB: false },
  { name: '[784,1024]x[1024,256]', m: 784, k: 1024, n: 256, transA: false, transB: false },
  { name: '[784,256]x[256,256]', m: 784, k: 256, n: 256, transA: false, transB: false },
  { name: '[1024,256]x[256,256]', m: 1024, k: 256, n: 256, transA: false, transB: false },
  { name: '[784,256]^T x[784,1024]', m: 256, k: 784, n: 1024, transA: true, transB: false },
  { name: '[784,1024]^T x[784,256]', m: 1024, k: 784, n: 256, transA: true, transB: false },
  { name: '[256,1024]x[1024,256]', m: 256, k: 1024, n: 256, transA: false, transB: false },
  { name: '[784,256]x[1024,256]^T', m: 784, k: 256, n: 1024, transA: false, transB: true },
  { name: '1024^3', m: 1024, k: 1024, n: 1024, transA: false, transB: false },
  { name: '[32,105]x[105,64]', m: 32, k: 105, n: 64, transA: false, transB: false },
  { name: '[1,256]x[256,256]', m: 1, k: 256, n: 256, transA: false, transB: false },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const reps = Number(arg('--reps') ?? 15);
const variantFiles = (arg('--variants') ?? 'native/build/gemm.wasm').split(',');
const only = arg('--only');

/** One instantiated GEMM module with a memory of its own (operands are copied in and out). */
class Gemm {
  readonly memory = new WebAssembly.Memory({ initial: 32 });
  readonly exports: {
    gemm: (...args: number[]) => void;
    gemm_workspace_bytes: () => number;
  };
  readonly work = 16;
  constructor(bytes: Uint8Array) {
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.memory } });
    this.exports = inst.exports as unknown as Gemm['exports'];
  }
  /** Reserves floats for A, B, C after the workspace; returns their byte offsets. */
  layout(sizes: number[]): number[] {
    let off = (this.work + this.exports.gemm_workspace_bytes() + 15) & ~15;
    const offs: number[] = [];
    for (const s of sizes) {
      offs.push(off);
      off += (s * 4 + 15) & ~15;
    }
    const need = off - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / 65536));
    return offs;
  }
  heap(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function randomArray(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** Plain triple loop in float64: C = op(A)·op(B). */
function reference(s: Shape, a: Float32Array, b: Float32Array): Float64Array {
  const { m, k, n } = s;
  const c = new Float64Array(m * n);
  const row = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) row[p] = s.transA ? a[p * m + i]! : a[i * k + p]!;
    for (let j = 0; j < n; j++) {
      let acc = 0;
      if (s.transB) for (let p = 0; p < k; p++) acc += row[p]! * b[j * k + p]!;
      else for (let p = 0; p < k; p++) acc += row[p]! * b[p * n + j]!;
      c[i * n + j] = acc;
    }
  }
  return c;
}

function maxRelError(got: Float32Array, want: Float64Array): number {
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  return err / (scale || 1);
}

async function main(): Promise<void> {
  tf.enableProdMode();
  setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const modules = process.argv.includes('--op')
    ? [
        { file: 'fastMatMul (zero-copy)', gemm: null as unknown as Gemm },
        { file: 'fastMatMul (copy)', gemm: null as unknown as Gemm },
      ]
    : variantFiles.map((f) => ({ file: f, gemm: new Gemm(readFileSync(f)) }));
  if (process.argv.includes('--op')) {
    if (!fastKernelsActive()) throw new Error('fast kernels are not active');
    console.log(`fastMatMul mode: ${fastKernelsMode()}`);
  }

  const rows: string[] = [];
  rows.push(`| shape | tf.matMul ms | GFLOP/s | ${modules.map((v) => `${v.file.replace(/^.*\//, '')} ms (GFLOP/s, ×; best-of ×)`).join(' | ')} | max rel err |`);
  rows.push(`|---|---|---|${modules.map(() => '---').join('|')}|---|`);
  for (const s of SHAPES) {
    if (only && !s.name.includes(only)) continue;
    const aSize = s.m * s.k;
    const bSize = s.k * s.n;
    const aData = randomArray(aSize, 1 + s.m);
    const bData = randomArray(bSize, 7 + s.n);
    const aShape = s.transA ? [s.k, s.m] : [s.m, s.k];
    const bShape = s.transB ? [s.n, s.k] : [s.k, s.n];
    const at = tf.tensor2d(aData, aShape as [number, number]);
    const bt = tf.tensor2d(bData, bShape as [number, number]);
    const flops = 2 * s.m * s.n * s.k;
    const inner = Math.max(1, Math.round(2e8 / flops / 4)); // batch tiny shapes so timers resolve

    const tfRun = (): void => {
      for (let r = 0; r < inner; r++) {
        const c = tf.tidy(() => tf.matMul(s.transA ? tf.transpose(at) : at, s.transB ? tf.transpose(bt) : bt));
        c.dataSync();
        c.dispose();
      }
    };
    const ours = (process.argv.includes('--op') ? [] : modules).map(({ gemm }) => {
      const [aOff, bOff, cOff] = gemm.layout([aSize, bSize, s.m * s.n]) as [number, number, number];
      const out = new Float32Array(s.m * s.n);
      const run = (): void => {
        for (let r = 0; r < inner; r++) {
          const heap = gemm.heap();
          heap.set(aData, aOff >> 2);
          heap.set(bData, bOff >> 2);
          gemm.exports.gemm(s.m, s.n, s.k, aOff, s.transA ? s.m : s.k, s.transA ? 1 : 0, bOff, s.transB ? s.k : s.n, s.transB ? 1 : 0, cOff, s.n, 0, 0, gemm.work);
          out.set(gemm.heap().subarray(cOff >> 2, (cOff >> 2) + s.m * s.n));
        }
      };
      return { run, out };
    });

    const opRun = (): void => {
      for (let r = 0; r < inner; r++) {
        const c = fastMatMul(at, bt, { transposeA: s.transA, transposeB: s.transB });
        c.dataSync();
        c.dispose();
      }
    };
    const opCopyRun = (): void => {
      setFastKernelsEnabled(true, { zeroCopy: false });
      opRun();
      setFastKernelsEnabled(true);
    };
    const opMode = process.argv.includes('--op');
    const impls = opMode ? [tfRun, opRun, opCopyRun] : [tfRun, ...ours.map((o) => o.run)];
    const times = impls.map(() => [] as number[]);
    for (let w = 0; w < 3; w++) for (const f of impls) f();
    for (let r = 0; r < reps; r++) {
      impls.forEach((f, i) => {
        const t0 = performance.now();
        f();
        times[i]!.push((performance.now() - t0) / inner);
      });
    }
    const want = reference(s, aData, bData);
    const tfOut = tf.tidy(() => tf.matMul(s.transA ? tf.transpose(at) : at, s.transB ? tf.transpose(bt) : bt));
    const opOut = fastMatMul(at, bt, { transposeA: s.transA, transposeB: s.transB });
    const errs = [
      maxRelError(tfOut.dataSync() as Float32Array, want),
      ...(opMode ? [maxRelError(opOut.dataSync() as Float32Array, want)] : ours.map((o) => maxRelError(o.out, want))),
      // (the copying mode runs the same kernel: bit-identical values, checked by the tests)
    ];
    opOut.dispose();
    tfOut.dispose();
    at.dispose();
    bt.dispose();
    const med = times.map(median);
    const best = times.map((t) => Math.min(...t));
    const gf = (ms: number): string => (flops / ms / 1e6).toFixed(1);
    rows.push(
      `| ${s.name} | ${med[0]!.toFixed(3)} | ${gf(med[0]!)} | ${med
        .slice(1)
        .map((ms, i) => `${ms.toFixed(3)} (${gf(ms)}, ${(med[0]! / ms).toFixed(2)}×; best-of ${(best[0]! / best[i + 1]!).toFixed(2)}×)`)
        .join(' | ')} | ${errs.map((e) => e.toExponential(1)).join(' / ')} |`,
    );
    console.log(rows[rows.length - 1]);
  }
  console.log('\n' + rows.join('\n'));
}

await main();
