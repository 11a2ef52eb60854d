/**
 * Running a kernel of vdafm's WebAssembly module on tfjs tensors: in place on tfjs-backend-wasm's
 * heap (zero-copy), or through scratch copies in the module's own memory.
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { WasmBackend } from './backend.js';
import { pointer, reserve, type Runner } from './module.js';

/**
 * Runs `call` with byte offsets of `inputs` and `outputs` (null entries give 0) in the runner's
 * memory: the tensors' own memory in zero-copy mode, else copies in and out of scratch regions.
 * `E`: the caller's view of the module's exports (native/fused.c, native/conv.c).
 * @internal
 */
export function runOnHeap<E>(
  backend: WasmBackend,
  runner: Runner,
  inputs: Array<tf.TensorInfo | null>,
  outputs: Array<tf.TensorInfo | null>,
  call: (exports: E, ins: number[], outs: number[]) => void,
): void {
  const exports = runner.exports as unknown as E;
  const size = (t: tf.TensorInfo | null) => (t ? t.shape.reduce((p, d) => p * d, 1) : 0);
  if (runner.zeroCopy) {
    const at = (t: tf.TensorInfo | null) => (t ? pointer(backend, t) : 0);
    call(exports, inputs.map(at), outputs.map(at));
    return;
  }
  const all = [...inputs, ...outputs];
  const offsets = reserve(runner, all.map(size));
  const heap = new Float32Array(runner.memory.buffer);
  inputs.forEach((t, i) => {
    if (t) heap.set(backend.typedArrayFromHeap(t) as Float32Array, offsets[i]! >> 2);
  });
  const ptr = (t: tf.TensorInfo | null, i: number) => (t ? offsets[i]! : 0);
  call(exports, inputs.map(ptr), outputs.map((t, i) => ptr(t, inputs.length + i)));
  const after = new Float32Array(runner.memory.buffer);
  outputs.forEach((t, i) => {
    if (!t) return;
    const at = offsets[inputs.length + i]! >> 2;
    (backend.typedArrayFromHeap(t) as Float32Array).set(after.subarray(at, at + size(t)));
  });
}
