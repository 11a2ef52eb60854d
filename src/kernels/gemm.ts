/**
 * vdafm's matrix-product kernels for the tfjs 'wasm' backend, registered under names of their own
 * (no stock kernel is touched) when this module is imported:
 * - `VdafmGemm`: inputs `a`, `b`, optional `bias`; attrs `transposeA`, `transposeB`: `op(a)·op(b)
 *   (+ bias)` for rank-2 or rank-3 operands, with its gradient;
 * - `VdafmColumnSum`: input `x` of rank 2 or 3; sums over every axis but the last.
 *
 * Why: tfjs-backend-wasm's `BatchMatMul` (XNNPACK, one thread in Node) reaches 18–30 GFLOP/s at
 * the shapes of the attention train step; the packed-panel GEMM in native/gemm.c (4×8 register
 * tile of f32x4 mul + add, or of `f32x4.relaxed_madd` in the relaxed-SIMD build, KC=256 cache
 * blocking, transposes absorbed by the packing) reaches 37–42 GFLOP/s on the same machine
 * (bench/experiments/gemm.ts): 75–97 % of the wasm multiply-add peak that `npm run bench`
 * measures at the attention block's products, ~70 % at its K = 32 batched score products. Large products (rank 2 by rows, rank 3 by batch entries) go to the worker-thread
 * pool when there is one (`vdafm/node`: by default in Node, or `enableThreads`).
 *
 * The differentiable op on top is `fastMatMul` (src/ops/matmul.ts).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmKernel, type WasmBackend } from './backend.js';
import { pickRunner, pointer, reserve } from './module.js';
import { poolFor } from './threads.js';

/** Name of vdafm's GEMM kernel on the 'wasm' backend. @internal */
export const GEMM_KERNEL_NAME = 'VdafmGemm';
/** Name of vdafm's column-sum kernel (the bias gradient) on the 'wasm' backend. @internal */
export const COLUMN_SUM_KERNEL_NAME = 'VdafmColumnSum';

/** The `VdafmGemm` kernel (also called by the convolution kernels of conv.ts). @internal */
export function gemmKernelFunc(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { a, b, bias } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo };
  const transA = args.attrs?.['transposeA'] === true;
  const transB = args.attrs?.['transposeB'] === true;
  const r = a.shape.length;
  const batch = r === 3 ? a.shape[0]! : 1;
  const m = transA ? a.shape[r - 1]! : a.shape[r - 2]!;
  const k = transA ? a.shape[r - 2]! : a.shape[r - 1]!;
  const n = transB ? b.shape[r - 2]! : b.shape[r - 1]!;
  const aSize = m * k;
  const bSize = k * n;
  const cSize = m * n;
  const out = backend.makeOutput(r === 3 ? [batch, m, n] : [m, n], 'float32');
  // large products go to the thread pool when there is one (vdafm/node: by default, or enableThreads)
  const pool = poolFor(batch * m * n * k, batch);
  if (pool) {
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const job = { m, n, k, a: view(a), transA, b: view(b), transB, bias: bias ? view(bias) : null, out: view(out), batch, build: runner.build };
    if (pool.run(job)) return out;
  }
  let aPtr: number, bPtr: number, biasPtr: number, cPtr: number;
  if (runner.zeroCopy) {
    [aPtr, bPtr, cPtr] = [pointer(backend, a), pointer(backend, b), pointer(backend, out)];
    biasPtr = bias ? pointer(backend, bias) : 0;
  } else {
    [aPtr, bPtr, biasPtr, cPtr] = reserve(runner, [batch * aSize, batch * bSize, bias ? n : 0, batch * cSize]) as [number, number, number, number];
    const heap = new Float32Array(runner.memory.buffer);
    heap.set(backend.typedArrayFromHeap(a) as Float32Array, aPtr >> 2);
    heap.set(backend.typedArrayFromHeap(b) as Float32Array, bPtr >> 2);
    if (bias) heap.set(backend.typedArrayFromHeap(bias) as Float32Array, biasPtr >> 2);
    else biasPtr = 0;
  }
  for (let i = 0; i < batch; i++) {
    runner.exports.gemm(
      m, n, k,
      aPtr + 4 * i * aSize, transA ? m : k, transA ? 1 : 0,
      bPtr + 4 * i * bSize, transB ? k : n, transB ? 1 : 0,
      cPtr + 4 * i * cSize, n, 0, biasPtr, runner.work,
    );
  }
  if (!runner.zeroCopy) {
    const heap = new Float32Array(runner.memory.buffer);
    (backend.typedArrayFromHeap(out) as Float32Array).set(heap.subarray(cPtr >> 2, (cPtr >> 2) + batch * cSize));
  }
  return out;
}

function columnSumKernelFunc(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { x } = args.inputs as { x: tf.TensorInfo };
  const n = x.shape[x.shape.length - 1]!;
  const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  const out = backend.makeOutput([n], 'float32');
  if (runner.zeroCopy) {
    runner.exports.colsum(rows, n, pointer(backend, x), pointer(backend, out));
    return out;
  }
  const [xOff, outOff] = reserve(runner, [rows * n, n]) as [number, number];
  let heap = new Float32Array(runner.memory.buffer);
  heap.set(backend.typedArrayFromHeap(x) as Float32Array, xOff >> 2);
  runner.exports.colsum(rows, n, xOff, outOff);
  heap = new Float32Array(runner.memory.buffer);
  (backend.typedArrayFromHeap(out) as Float32Array).set(heap.subarray(outOff >> 2, (outOff >> 2) + n));
  return out;
}

/**
 * Runs `op(a)·op(b) (+ bias)` on the `VdafmGemm` kernel (differentiable through the gradient
 * registered below). Only when the kernels are active (`fastKernelsActive()`); no validation.
 * @internal
 */
export function runGemm(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, bias: tf.Tensor | null): tf.Tensor {
  const inputs: tf.NamedTensorMap = bias ? { a, b, bias } : { a, b };
  return tf.engine().runKernel(GEMM_KERNEL_NAME, inputs, { transposeA, transposeB }) as tf.Tensor;
}

/**
 * Sum over every axis but the last (`[.., n]` → `[n]`) on the `VdafmColumnSum` kernel, not
 * differentiable. Only when the kernels are active; no validation.
 * @internal
 */
export function runColumnSum(x: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(COLUMN_SUM_KERNEL_NAME, { x }, {}) as tf.Tensor;
}

/**
 * Gradient of `VdafmGemm` (registered under its own kernel name, so a direct `runKernel` call is
 * differentiable without the cost of a `tf.customGrad` wrapper, ~20 µs per call): the same kernel
 * with transpose flags, `da = dy·op(b)ᵀ`, `db = op(a)ᵀ·dy` (each stored as its input is), `dbias`
 * = column sums of `dy`. It only runs when the forward kernel did, so the kernels are active.
 */
const gemmGradFunc: tf.GradConfig['gradFunc'] = (dy, saved, attrs) => {
  const d = dy as tf.Tensor;
  const [a, b] = saved as [tf.Tensor, tf.Tensor];
  const tA = attrs['transposeA'] === true;
  const tB = attrs['transposeB'] === true;
  return {
    a: () => (tA ? runGemm(b, d, tB, true, null) : runGemm(d, b, false, !tB, null)),
    b: () => (tB ? runGemm(d, a, true, tA, null) : runGemm(a, d, !tA, false, null)),
    bias: () => runColumnSum(d),
  };
};

registerWasmKernel(GEMM_KERNEL_NAME, gemmKernelFunc, { inputsToSave: ['a', 'b'], gradFunc: gemmGradFunc });
registerWasmKernel(COLUMN_SUM_KERNEL_NAME, columnSumKernelFunc);
