/**
 * What vdafm's JavaScript kernels for the wasm backend (src/core/fast-slice.ts,
 * src/core/fast-max.ts) need from tfjs-backend-wasm, and their one-time registration.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-wasm's backend object the kernels use (public methods of BackendWasm). */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Whether the active backend is 'wasm' with the methods of {@link WasmHeapBackend}. */
export function onWasmHeap(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const o = tf.backend() as unknown as Partial<WasmHeapBackend> | null;
  return !!o && typeof o.makeOutput === 'function' && typeof o.typedArrayFromHeap === 'function';
}

/**
 * Registers `kernelFunc` as `kernelName` for the 'wasm' backend unless a kernel of that name is
 * already there (e.g. from another copy of the bundle). Only vdafm's own kernel names are used.
 */
export function registerWasmKernel(kernelName: string, kernelFunc: unknown): void {
  if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
}
