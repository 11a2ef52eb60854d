/**
 * What vdafm's kernels for the 'wasm' backend need from tfjs-backend-wasm (one structural
 * interface: the package is not a peer dependency, so it is never imported), the check that it
 * is the active backend, and the one registration helper every kernel uses.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The parts of tfjs-backend-wasm's `BackendWasm` (4.x) vdafm's kernels use, typed structurally.
 * `makeOutput`, `typedArrayFromHeap` and `dataIdMap` are public methods/fields of the backend;
 * `wasm.asm.memory` and `wasm._malloc` are emscripten internals: without them the WebAssembly
 * kernels copy their operands (src/kernels/module.ts).
 * @internal
 */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  /** Frees a kernel's intermediate output (made with `makeOutput`). */
  disposeData(dataId: object, force?: boolean): boolean;
  wasm?: { asm?: { memory?: unknown }; _malloc?: (bytes: number) => number };
}

/**
 * Whether the active backend is 'wasm' with the methods of {@link WasmBackend} that the
 * JavaScript kernels (slice, max) use.
 * @internal
 */
export function onWasmHeap(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const o = tf.backend() as unknown as Partial<WasmBackend> | null;
  return !!o && typeof o.makeOutput === 'function' && typeof o.typedArrayFromHeap === 'function';
}

/** A gradient registered with a kernel (see `tf.registerGradient`). */
export interface KernelGradient {
  inputsToSave: string[];
  outputsToSave?: boolean[];
  gradFunc: tf.GradConfig['gradFunc'];
}

/**
 * Registers `kernelFunc` as `kernelName` for the 'wasm' backend (and its gradient, when given)
 * unless one of that name is already there (e.g. from the other copy of a dual ESM + CJS
 * install: the kernels are self-contained, so either copy's works). Only vdafm's own kernel names
 * (`Vdafm…`) are used: no stock kernel is ever replaced.
 * @internal
 */
export function registerWasmKernel(kernelName: string, kernelFunc: unknown, gradient?: KernelGradient): void {
  if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  if (gradient && !tf.getGradient(kernelName)) tf.registerGradient({ kernelName, ...gradient });
}
