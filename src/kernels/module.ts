/**
 * Loading vdafm's WebAssembly module (the GEMM of native/gemm.c and the fused kernels of
 * native/fused.c, ~38 KB shipped as base64 in `gemm-wasm.generated.ts`: no fs, no fetch) and the
 * switch that says whether the ops use it.
 *
 * The module imports its memory and has no static data, so it is instantiated on
 * tfjs-backend-wasm's own heap and runs on the tensors' memory (zero-copy; the packing workspace
 * is malloc'ed there once per backend). Where that heap is not reachable (another tfjs build, e.g.
 * the threaded one with a shared memory) a second instance with a memory of its own is used, and
 * operands are copied in and out.
 *
 * Loading: the first use on 'wasm' compiles the module synchronously (allowed in Node and in
 * workers). A browser main thread refuses synchronous compilation of modules over 4 KB: there,
 * `await initFastKernels()` first; until then (or if compilation fails) every op takes the stock
 * path, which gives the same values.
 *
 * Fragile by nature (see bench/experiments/gemm.ts): zero-copy mode relies on tfjs-backend-wasm
 * internals (`backend.wasm.asm.memory`, `backend.wasm._malloc`, `dataIdMap.get(id).memoryOffset`),
 * all feature-tested with a fallback.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertBoolean } from '../core/validate.js';
import type { WasmBackend } from './backend.js';
import { GEMM_WASM_BASE64 } from './gemm-wasm.generated.js';

/** The module's exports (native/gemm.c). @internal */
export interface GemmExports {
  gemm(
    m: number, n: number, k: number,
    a: number, lda: number, transA: number,
    b: number, ldb: number, transB: number,
    c: number, ldc: number, beta: number, bias: number, work: number,
  ): void;
  colsum(m: number, n: number, x: number, out: number): void;
  gemm_workspace_bytes(): number;
}

/**
 * One instance of our module. `zeroCopy`: it imports tfjs-backend-wasm's own memory and runs on
 * tensor pointers; otherwise it has a memory of its own and operands are copied in and out.
 * @internal used by the kernels of src/kernels/gemm.ts and src/kernels/fused.ts (which cast `exports` to their own interface)
 */
export interface Runner {
  exports: GemmExports;
  memory: WebAssembly.Memory;
  zeroCopy: boolean;
  /** Byte offset of the (16-aligned) packing workspace in `memory`. */
  work: number;
}

let compiled: WebAssembly.Module | null = null;
let syncFailed = false;
let enabled = true;
let zeroCopyAllowed = true;
let pending: Promise<boolean> | null = null;
let ownRunner: Runner | null = null;
/** Zero-copy runner per tfjs wasm backend instance (null: that backend's memory is unusable). */
const sharedRunners = new WeakMap<object, Runner | null>();

function moduleBytes(): Uint8Array {
  const text = atob(GEMM_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function ownImports(): { memory: WebAssembly.Memory; imports: WebAssembly.Imports } {
  const memory = new WebAssembly.Memory({ initial: 32 });
  return { memory, imports: { env: { memory } } };
}

function makeOwnRunner(instance: WebAssembly.Instance, memory: WebAssembly.Memory): Runner {
  return { exports: instance.exports as unknown as GemmExports, memory, zeroCopy: false, work: 16 };
}

/** tfjs's heap and malloc, or null when they are not reachable (other tfjs versions/builds). */
function backendHeap(backend: WasmBackend): { memory: WebAssembly.Memory; malloc: (bytes: number) => number } | null {
  const memory = backend.wasm?.asm?.memory;
  const malloc = backend.wasm?._malloc;
  if (!(memory instanceof WebAssembly.Memory) || typeof malloc !== 'function') return null;
  return { memory, malloc: (bytes) => malloc.call(backend.wasm, bytes) >>> 0 };
}

function makeSharedRunner(instance: WebAssembly.Instance, memory: WebAssembly.Memory, malloc: (bytes: number) => number): Runner | null {
  const exports = instance.exports as unknown as GemmExports;
  // The workspace lives in tfjs's heap for the backend's lifetime (~1.1 MB, never freed).
  const raw = malloc(exports.gemm_workspace_bytes() + 16);
  return raw === 0 ? null : { exports, memory, zeroCopy: true, work: (raw + 15) & ~15 };
}

/** The runner with a memory of its own (copy mode); null if it cannot be instantiated now. */
function getOwnRunner(): Runner | null {
  if (!ownRunner && compiled) {
    try {
      const { memory, imports } = ownImports();
      ownRunner = makeOwnRunner(new WebAssembly.Instance(compiled, imports), memory);
    } catch {
      return null; // e.g. synchronous instantiation refused: initFastKernels() prepares it
    }
  }
  return ownRunner;
}

/** The zero-copy runner for this backend, or null when its memory or malloc is not usable. */
function getSharedRunner(backend: WasmBackend): Runner | null {
  const known = sharedRunners.get(backend);
  if (known !== undefined || !compiled) return known ?? null;
  let runner: Runner | null = null;
  try {
    const heap = backendHeap(backend);
    // Instantiation throws (LinkError) for a shared memory (threaded tfjs build): we then copy.
    if (heap) runner = makeSharedRunner(new WebAssembly.Instance(compiled, { env: { memory: heap.memory } }), heap.memory, heap.malloc);
  } catch {
    runner = null;
  }
  sharedRunners.set(backend, runner);
  return runner;
}

/** The runner our kernels use on this backend (zero-copy when possible), or null. */
function runnerFor(backend: WasmBackend): Runner | null {
  return (zeroCopyAllowed ? getSharedRunner(backend) : null) ?? getOwnRunner();
}

/**
 * The runner for a kernel call on this backend; throws when the module is not loaded.
 * @internal used by the kernels
 */
export function pickRunner(backend: WasmBackend): Runner {
  const runner = runnerFor(backend);
  if (!runner) throw new Error('vdafm kernels: the WebAssembly module could not be instantiated');
  return runner;
}

/**
 * Byte offsets (16-aligned) of regions of `floats[i]` floats after the workspace; grows memory.
 * @internal used by the kernels (copy mode only)
 */
export function reserve(runner: Runner, floats: number[]): number[] {
  let offset = (runner.work + runner.exports.gemm_workspace_bytes() + 15) & ~15;
  const offsets = floats.map((n) => {
    const at = offset;
    offset += (n * 4 + 15) & ~15;
    return at;
  });
  const missing = offset - runner.memory.buffer.byteLength;
  if (missing > 0) runner.memory.grow(Math.ceil(missing / 65536));
  return offsets;
}

/**
 * Byte offset of a tensor's data in tfjs-backend-wasm's heap (zero-copy mode only).
 * @internal used by the kernels
 */
export function pointer(backend: WasmBackend, t: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new Error('vdafm kernels: tensor data not found on the wasm backend');
  return entry.memoryOffset;
}

/** Compiles synchronously, once; false (remembered) when the platform refuses. */
function loadSync(): boolean {
  if (compiled) return true;
  if (syncFailed) return false;
  try {
    compiled = new WebAssembly.Module(moduleBytes() as BufferSource);
    return true;
  } catch {
    syncFailed = true;
    return false;
  }
}

/**
 * Compiles vdafm's WebAssembly module (GEMM and fused kernels) asynchronously for the 'wasm' backend.
 *
 * Needed only on a browser main thread (which refuses synchronous compilation and instantiation
 * of modules over 4 KB); in Node and in workers the first use loads them
 * synchronously. Call it after `tf.setBackend('wasm')`: it also prepares the instance that runs
 * inside the wasm backend's heap (zero-copy); without it the kernels copy operands. Safe to call
 * many times; never rejects.
 *
 * @returns true when the kernels are loaded (false: WebAssembly SIMD unavailable; every op then
 *   takes the stock path).
 * @example
 * ```ts
 * await initFastKernels(); // true on any engine with WebAssembly SIMD
 * ```
 */
export async function initFastKernels(): Promise<boolean> {
  pending ??= (async () => {
    try {
      const mod = compiled ?? (await WebAssembly.compile(moduleBytes() as BufferSource));
      if (!ownRunner) {
        const { memory, imports } = ownImports();
        ownRunner = makeOwnRunner(await WebAssembly.instantiate(mod, imports), memory);
      }
      compiled = mod;
      return true;
    } catch {
      pending = null;
      return false;
    }
  })();
  if (!(await pending)) return false;
  // The zero-copy instance, for the wasm backend as it is now (each call checks again).
  const backend = tf.findBackend('wasm') as unknown as WasmBackend | null;
  const heap = backend ? backendHeap(backend) : null;
  if (backend && heap && !sharedRunners.get(backend)) {
    try {
      const instance = await WebAssembly.instantiate(compiled!, { env: { memory: heap.memory } });
      sharedRunners.set(backend, makeSharedRunner(instance, heap.memory, heap.malloc));
    } catch {
      sharedRunners.set(backend, null);
    }
  }
  return true;
}

/** Options of {@link setFastKernelsEnabled}. */
export interface FastKernelsOptions {
  /**
   * Run inside tfjs-backend-wasm's heap on the tensors' memory when it is reachable; false
   * forces the copying mode (for tests and A/B measurements).
   * @defaultValue true
   */
  zeroCopy?: boolean;
}

/**
 * Turns vdafm's WebAssembly kernels on or off (on by default). Off, every op takes the stock
 * path (`fastMatMul` runs `tf.matMul` + `tf.transpose`, GELU and layer norm their stock compositions): for A/B benchmarks and to rule the kernels out when chasing a numerical difference.
 *
 * @param on - true to use the kernels when the 'wasm' backend is active.
 * @param options - see {@link FastKernelsOptions}.
 * @throws {@link InvalidArgumentError} when `on` or `options.zeroCopy` is not a boolean.
 * @example
 * ```ts
 * setFastKernelsEnabled(false); // fastMatMul now runs tf.matMul + tf.transpose
 * setFastKernelsEnabled(true, { zeroCopy: false }); // our kernels, copying operands
 * ```
 */
export function setFastKernelsEnabled(on: boolean, options: FastKernelsOptions = {}): void {
  assertBoolean(on, 'on');
  const zeroCopy = options.zeroCopy ?? true;
  assertBoolean(zeroCopy, 'options.zeroCopy');
  enabled = on;
  zeroCopyAllowed = zeroCopy;
}

/**
 * Whether the ops would run vdafm's WebAssembly kernels now: the active backend is 'wasm', the kernels
 * are enabled, and the module is (or can now be synchronously) loaded.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * fastKernelsActive(); // true in Node
 * ```
 */
export function fastKernelsActive(): boolean {
  return enabled && tf.getBackend() === 'wasm' && loadSync() && runnerFor(tf.backend() as unknown as WasmBackend) !== null;
}

/**
 * How our kernels run on the active backend now: `'zero-copy'` (inside tfjs-backend-wasm's own
 * heap, on the tensors' memory), `'copy'` (in a memory of their own: operands are copied in and
 * the result out; e.g. with the threaded tfjs build, whose memory is shared) or `'off'` (stock
 * path: another backend, disabled, or not loaded).
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * fastKernelsMode(); // 'zero-copy' in Node with tfjs-backend-wasm 4.22
 * ```
 */
export function fastKernelsMode(): 'zero-copy' | 'copy' | 'off' {
  if (!fastKernelsActive()) return 'off';
  return runnerFor(tf.backend() as unknown as WasmBackend)!.zeroCopy ? 'zero-copy' : 'copy';
}

