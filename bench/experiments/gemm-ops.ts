/**
 * Experiment: the library's products on the wasm backend, today's path (src/core/ops.ts) against
 * our GEMM (`fastMatMul`), forward only and forward + all gradients, interleaved rep by rep
 * (medians):
 * - dense layers of the attention block's MLP (`dense(x, W, b)`: on wasm a customGrad of
 *   tf.matMul products with explicit transposes; ours: one biased kernel call forward, the
 *   same kernel with transpose flags backward, the bias gradient as column sums);
 * - batched attention products (`matMul` on wasm: explicit transposes + depthwise convolutions;
 *   ours: one kernel call per batch item, transposes absorbed by the packing).
 *
 *   node --import tsx bench/experiments/gemm-ops.ts [--reps 15]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the stock gradients (Sum, Transpose, ...)
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { dense } from '../../src/ops/dense.js';
import { fastMatMul, matMul } from '../../src/ops/matmul.js';
import { fastKernelsMode } from '../../src/kernels/module.js';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1] || 15);

interface Case {
  name: string;
  a: [number, number, number];
  b: [number, number, number];
  transposeB: boolean;
}
// The attention block of bench/workloads/attention.ts: B 16 × 8 heads, 49 queries, 64 keys, 32 dims.
const CASES: Case[] = [
  { name: 'scores q·kᵀ [128,49,32]·[128,64,32]ᵀ', a: [128, 49, 32], b: [128, 64, 32], transposeB: true },
  { name: 'context p·v [128,49,64]·[128,64,32]', a: [128, 49, 64], b: [128, 64, 32], transposeB: false },
];

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[s.length >> 1]!;
}

tf.enableProdMode();
setThreadsCount(1);
await tf.setBackend('wasm');
await tf.ready();
console.log(`fastMatMul mode: ${fastKernelsMode()}`);
console.log('| product | pass | ops.ts path ms | fastMatMul ms | speed-up |');
console.log('|---|---|---|---|---|');

function compare(name: string, inputs: tf.Tensor[], stock: (...x: tf.Tensor[]) => tf.Tensor, ours: (...x: tf.Tensor[]) => tf.Tensor): void {
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(stock(...inputs), ours(...inputs)))).dataSync()[0]);
  for (const pass of ['forward', 'forward+backward'] as const) {
    const run = (f: (...x: tf.Tensor[]) => tf.Tensor) => () => {
      const out = tf.tidy(() => (pass === 'forward' ? [f(...inputs)] : tf.grads((...x: tf.Tensor[]) => tf.sum(f(...x)))(inputs)));
      for (const t of out) t.dataSync();
      tf.dispose(out);
    };
    const impls = [run(stock), run(ours)];
    const times = impls.map(() => [] as number[]);
    for (let w = 0; w < 3; w++) impls.forEach((f) => f());
    for (let r = 0; r < reps; r++) {
      impls.forEach((f, i) => {
        const t0 = performance.now();
        f();
        times[i]!.push(performance.now() - t0);
      });
    }
    const [s, o] = times.map(median) as [number, number];
    console.log(`| ${name} | ${pass} | ${s.toFixed(2)} | ${o.toFixed(2)} | ${(s / o).toFixed(2)}× |`);
  }
  console.log(`| | max abs diff | ${diff!.toExponential(1)} | | |`);
}

for (const [rows, din, dout] of [[784, 256, 1024], [784, 1024, 256]] as const) {
  const x = tf.randomUniform([rows, din]);
  const w = tf.randomUniform([din, dout], -0.1, 0.1);
  const b = tf.randomUniform([dout]);
  compare(
    `dense [${rows},${din}]·[${din},${dout}] + b`,
    [x, w, b],
    (xx, ww, bb) => dense(xx!, ww!, bb!),
    (xx, ww, bb) => fastMatMul(xx as tf.Tensor2D, ww as tf.Tensor2D, { bias: bb as tf.Tensor1D }),
  );
  tf.dispose([x, w, b]);
}

for (const c of CASES) {
  const a = tf.randomUniform(c.a) as tf.Tensor3D;
  const b = tf.randomUniform(c.b) as tf.Tensor3D;
  const swap = (x: tf.Tensor) => tf.transpose(x, [0, 2, 1]) as tf.Tensor3D;
  compare(
    c.name,
    [a, b],
    (x, y) => matMul(x as tf.Tensor3D, c.transposeB ? swap(y!) : (y as tf.Tensor3D)),
    (x, y) => fastMatMul(x as tf.Tensor3D, y as tf.Tensor3D, { transposeB: c.transposeB }),
  );
  tf.dispose([a, b]);
}
