/**
 * Our own WebAssembly-SIMD matrix product for the tfjs 'wasm' backend, and the differentiable
 * op {@link fastMatMul} built on it.
 *
 * Why: tfjs-backend-wasm's `BatchMatMul` (XNNPACK, one thread in Node) reaches 18–30 GFLOP/s at
 * the shapes of the attention train step; the packed-panel GEMM in native/gemm.c (4×8 register
 * tile of f32x4 mul + add, KC=256 cache blocking, transposes absorbed by the packing) reaches
 * 37–42 GFLOP/s on the same machine (bench/experiments/gemm.ts). The module (with the fused
 * kernels of fused.ts) is ~38 KB, shipped as base64 in `gemm-wasm.generated.ts` (no fs, no
 * fetch). It imports its memory and has no static data, so it is instantiated on
 * tfjs-backend-wasm's own heap and runs on the tensors' memory (zero-copy; the packing workspace
 * is malloc'ed there once per backend). Where that heap
 * is not reachable (another tfjs build, e.g. the threaded one with a shared memory) a second
 * instance with a memory of its own is used, and operands are copied in and out.
 *
 * Two kernels are registered for the 'wasm' backend under names of our own (no stock kernel is
 * touched): `VdafmGemm` (inputs `a`, `b`, optional `bias`; attrs `transposeA`, `transposeB`)
 * and `VdafmColumnSum` (input `x` of rank 2 or 3; sums over every axis but the last).
 *
 * Loading: the first {@link fastMatMul} on 'wasm' compiles the module synchronously (allowed in
 * Node and in workers). A browser main thread refuses synchronous compilation of modules over
 * 4 KB: there, `await initFastKernels()` first; until then (or if compilation fails) every call
 * takes the stock path (`tf.matMul` + explicit `tf.transpose`), which gives the same values.
 *
 * Fragile by nature (see bench/experiments/gemm.ts): the speed depends on how V8 compiles the
 * micro-kernel (register allocation), and zero-copy mode on tfjs-backend-wasm internals
 * (`backend.wasm.asm.memory`, `backend.wasm._malloc`, `dataIdMap.get(id).memoryOffset`), all
 * feature-tested with a fallback.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertBoolean } from '../core/shapes.js';
import { GEMM_WASM_BASE64 } from './gemm-wasm.generated.js';
import { gemmPool } from './threads.js';

/** Name of our GEMM kernel on the 'wasm' backend. */
export const GEMM_KERNEL_NAME = 'VdafmGemm';
/** Name of our column-sum kernel (the bias gradient) on the 'wasm' backend. */
export const COLUMN_SUM_KERNEL_NAME = 'VdafmColumnSum';

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
 * The parts of tfjs-backend-wasm's `BackendWasm` (4.x) our kernels use, typed structurally:
 * the package is not a peer dependency, so it is never imported here. `wasm.asm.memory` and
 * `wasm._malloc` are emscripten internals; without them the kernels fall back to copying.
 * @internal shared with src/kernels/fused.ts
 */
export interface WasmBackendLike {
  wasm?: { asm?: { memory?: unknown }; _malloc?: (bytes: number) => number };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/**
 * One instance of our module. `zeroCopy`: it imports tfjs-backend-wasm's own memory and runs on
 * tensor pointers; otherwise it has a memory of its own and operands are copied in and out.
 * @internal shared with src/kernels/fused.ts (which casts `exports` to its own interface)
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
function backendHeap(backend: WasmBackendLike): { memory: WebAssembly.Memory; malloc: (bytes: number) => number } | null {
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
function getSharedRunner(backend: WasmBackendLike): Runner | null {
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
function runnerFor(backend: WasmBackendLike): Runner | null {
  return (zeroCopyAllowed ? getSharedRunner(backend) : null) ?? getOwnRunner();
}

/**
 * The runner for a kernel call on this backend; throws when the module is not loaded.
 * @internal shared with src/kernels/fused.ts
 */
export function pickRunner(backend: WasmBackendLike): Runner {
  const runner = runnerFor(backend);
  if (!runner) throw new Error(`${GEMM_KERNEL_NAME}: the module could not be instantiated`);
  return runner;
}

/**
 * Byte offsets (16-aligned) of regions of `floats[i]` floats after the workspace; grows memory.
 * @internal shared with src/kernels/fused.ts (copy mode only)
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
 * @internal shared with src/kernels/fused.ts
 */
export function pointer(backend: WasmBackendLike, t: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new Error(`${GEMM_KERNEL_NAME}: tensor data not found on the wasm backend`);
  return entry.memoryOffset;
}

function gemmKernelFunc(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
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
  // large rank-2 products go to the thread pool when one is registered (vdafm/node enableThreads)
  const pool = batch === 1 ? gemmPool() : null;
  if (pool && m * n * k >= pool.minWork) {
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    if (pool.run({ m, n, k, a: view(a), transA, b: view(b), transB, bias: bias ? view(bias) : null, out: view(out) })) return out;
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
  const backend = args.backend as WasmBackendLike;
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
 * Gradient of our kernel (registered under our own kernel name, so a direct `runKernel` call is
 * differentiable without the cost of a `tf.customGrad` wrapper, ~20 µs per call).
 */
const gemmGradFunc: tf.GradConfig['gradFunc'] = (dy, saved, attrs) => {
  const d = dy as tf.Tensor;
  const [a, b] = saved as [tf.Tensor, tf.Tensor];
  const tA = attrs['transposeA'] === true;
  const tB = attrs['transposeB'] === true;
  return {
    a: () => gradA(d, b, tA, tB),
    b: () => gradB(d, a, tA, tB),
    bias: () => columnSum(d),
  };
};

function install(mod: WebAssembly.Module): void {
  compiled = mod;
  // Another copy of this package (ESM + CJS) may have registered the same self-contained kernels.
  if (!tf.getKernel(GEMM_KERNEL_NAME, 'wasm')) {
    tf.registerKernel({ kernelName: GEMM_KERNEL_NAME, backendName: 'wasm', kernelFunc: gemmKernelFunc as unknown as tf.KernelFunc });
  }
  if (!tf.getKernel(COLUMN_SUM_KERNEL_NAME, 'wasm')) {
    tf.registerKernel({ kernelName: COLUMN_SUM_KERNEL_NAME, backendName: 'wasm', kernelFunc: columnSumKernelFunc as unknown as tf.KernelFunc });
  }
  if (!tf.getGradient(GEMM_KERNEL_NAME)) {
    tf.registerGradient({ kernelName: GEMM_KERNEL_NAME, inputsToSave: ['a', 'b'], gradFunc: gemmGradFunc });
  }
}

/** Compiles and registers synchronously, once; false (remembered) when the platform refuses. */
function loadSync(): boolean {
  if (compiled) return true;
  if (syncFailed) return false;
  try {
    install(new WebAssembly.Module(moduleBytes() as BufferSource));
    return true;
  } catch {
    syncFailed = true;
    return false;
  }
}

/**
 * Compiles our WebAssembly kernels asynchronously and registers them for the 'wasm' backend.
 *
 * Needed only on a browser main thread (which refuses synchronous compilation and instantiation
 * of modules over 4 KB); in Node and in workers the first {@link fastMatMul} loads them
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
      install(mod);
      return true;
    } catch {
      pending = null;
      return false;
    }
  })();
  if (!(await pending)) return false;
  // The zero-copy instance, for the wasm backend as it is now (each call checks again).
  const backend = tf.findBackend('wasm') as unknown as WasmBackendLike | null;
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
 * Turns our kernels on or off (on by default). Off, {@link fastMatMul} always takes the stock
 * path: for A/B benchmarks and to rule the kernels out when chasing a numerical difference.
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
 * Whether {@link fastMatMul} would run our kernel now: the active backend is 'wasm', the kernels
 * are enabled, and the module is (or can now be synchronously) loaded.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * fastKernelsActive(); // true in Node
 * ```
 */
export function fastKernelsActive(): boolean {
  return enabled && tf.getBackend() === 'wasm' && loadSync() && runnerFor(tf.backend() as unknown as WasmBackendLike) !== null;
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
  return runnerFor(tf.backend() as unknown as WasmBackendLike)!.zeroCopy ? 'zero-copy' : 'copy';
}

/**
 * Swaps the last two axes of a rank-2 or rank-3 tensor.
 * @internal shared with src/core/ops.ts
 */
export function swapLast(x: tf.Tensor): tf.Tensor {
  return x.rank === 2 ? tf.transpose(x) : tf.transpose(x, [0, 2, 1]);
}

/** op(a)·op(b) (+ bias): our kernel when active, else stock ops. No validation. */
function gemm(a: tf.Tensor, b: tf.Tensor, transA: boolean, transB: boolean, bias: tf.Tensor | null): tf.Tensor {
  if (fastKernelsActive()) {
    const inputs: tf.NamedTensorMap = bias ? { a, b, bias } : { a, b };
    return tf.engine().runKernel(GEMM_KERNEL_NAME, inputs, { transposeA: transA, transposeB: transB }) as tf.Tensor;
  }
  return tf.tidy(() => {
    const y = tf.matMul(transA ? swapLast(a) : a, transB ? swapLast(b) : b);
    return bias ? tf.add(y, bias) : y;
  });
}

/**
 * Sum over every axis but the last (`[.., n]` → `[n]`, rank 2 or 3), not differentiable: vdafm's
 * column-sum kernel when the fast kernels are active (a product `ones·x` makes XNNPACK pack `x`
 * on every call), `tf.sum` elsewhere.
 * @internal
 */
export function columnSum(x: tf.Tensor): tf.Tensor {
  if (fastKernelsActive()) return tf.engine().runKernel(COLUMN_SUM_KERNEL_NAME, { x }, {}) as tf.Tensor;
  return tf.sum(x, x.rank === 3 ? [0, 1] : 0);
}

/** Gradient of `op(a)·op(b)` for `a` (stored as `a` is), as one product with transpose flags. */
function gradA(dy: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): tf.Tensor {
  return tA ? gemm(b, dy, tB, true, null) : gemm(dy, b, false, !tB, null);
}

/** Gradient of `op(a)·op(b)` for `b` (stored as `b` is), as one product with transpose flags. */
function gradB(dy: tf.Tensor, a: tf.Tensor, tA: boolean, tB: boolean): tf.Tensor {
  return tB ? gemm(dy, a, true, tA, null) : gemm(a, dy, !tA, false, null);
}

/** Both product gradients `[da, db]`. */
function productGrads(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): [tf.Tensor, tf.Tensor] {
  return [gradA(dy, b, tA, tB), gradB(dy, a, tA, tB)];
}

type Gemm2 = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
type Gemm3 = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.Tensor;

function makeVariants(tA: boolean, tB: boolean): { plain: Gemm2; biased: Gemm3 } {
  const plain = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: gemm(a, b, tA, tB, null),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => productGrads(dy, saved[0]!, saved[1]!, tA, tB),
    };
  }) as Parameters<typeof tf.customGrad>[0]) as Gemm2;
  const biased = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b, bias, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: gemm(a, b, tA, tB, bias),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [...productGrads(dy, saved[0]!, saved[1]!, tA, tB), columnSum(dy)],
    };
  }) as Parameters<typeof tf.customGrad>[0]) as Gemm3;
  return { plain, biased };
}

/** One customGrad pair per transpose combination, indexed by `2 * transposeA + transposeB`. */
const VARIANTS = [makeVariants(false, false), makeVariants(false, true), makeVariants(true, false), makeVariants(true, true)];

/** Options of {@link fastMatMul}. */
export interface FastMatMulOptions {
  /**
   * Use `aᵀ` (of the last two axes): `a` is then stored `[k, m]` (or `[batch, k, m]`).
   * @defaultValue false
   */
  transposeA?: boolean;
  /**
   * Use `bᵀ` (of the last two axes): `b` is then stored `[n, k]` (or `[batch, n, k]`).
   * @defaultValue false
   */
  transposeB?: boolean;
  /**
   * `[n]` row added to every output row (fused into the product), or null for none.
   * @defaultValue null
   */
  bias?: tf.Tensor1D | null;
}

/**
 * Differentiable matrix product `op(a) · op(b) (+ bias)` on our WebAssembly-SIMD GEMM when the
 * 'wasm' backend is active (about 1.2–1.6× faster than `tf.matMul` there on the attention
 * shapes, 2–3× faster than the depthwise formulation on batched ones),
 * with stock ops elsewhere. The transposes are done by the kernel's packing (no transpose pass),
 * and the gradients are the same kernel with transpose flags: `da = dy·op(b)ᵀ`,
 * `db = op(a)ᵀ·dy` (each stored as its input is), `dbias` = column sums of `dy`.
 *
 * On any backend other than 'wasm', when disabled ({@link setFastKernelsEnabled}) or before the
 * module can be loaded ({@link initFastKernels}), it computes the same thing with `tf.matMul` +
 * explicit `tf.transpose` + `tf.add`: values agree up to float32 rounding (summation order).
 *
 * @param a - float32 `[m, k]` (`[k, m]` with `transposeA`) or `[batch, m, k]` (`[batch, k, m]`).
 * @param b - float32 `[k, n]` (`[n, k]` with `transposeB`), or `[batch, k, n]` (`[batch, n, k]`);
 *   same rank (and batch) as `a`.
 * @param options - transposes and bias, see {@link FastMatMulOptions}.
 * @returns `[m, n]` or `[batch, m, n]`; the caller owns it.
 * @throws {@link ShapeError} when `a` is not rank 2 or 3, `b` has another rank or batch or an
 *   inner size different from `a`'s, or `bias` is not `[n]`.
 * @throws {@link InvalidArgumentError} when a tensor is not float32 or a transpose flag is not
 *   a boolean.
 * @example
 * ```ts
 * const x = tf.ones([2, 3]);
 * const w = tf.ones([4, 3]); // stored [n, k]
 * const y = fastMatMul(x, w, { transposeB: true, bias: tf.tensor1d([0, 1, 2, 3]) });
 * // [[3, 4, 5, 6], [3, 4, 5, 6]]
 * ```
 */
export function fastMatMul<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T, options: FastMatMulOptions = {}): T {
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  const bias = options.bias ?? null;
  assertBoolean(transposeA, 'transposeA');
  assertBoolean(transposeB, 'transposeB');
  if (a.rank !== 2 && a.rank !== 3) {
    throw new ShapeError({ argument: 'a', expected: transposeA ? '[k, m] or [batch, k, m]' : '[m, k] or [batch, m, k]', received: a.shape });
  }
  const r = a.rank;
  const k = transposeA ? a.shape[r - 2]! : a.shape[r - 1]!;
  const bInner = b.rank === r ? (transposeB ? b.shape[r - 1] : b.shape[r - 2]) : undefined;
  if (b.rank !== r || bInner !== k || (r === 3 && b.shape[0] !== a.shape[0])) {
    const lead = r === 3 ? `${a.shape[0]}, ` : '';
    throw new ShapeError({ argument: 'b', expected: transposeB ? `[${lead}n, ${k}]` : `[${lead}${k}, n]`, received: b.shape });
  }
  const n = transposeB ? b.shape[r - 2]! : b.shape[r - 1]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new ShapeError({ argument: 'bias', expected: `[${n}]`, received: bias.shape });
  }
  for (const [name, t] of [['a', a], ['b', b], ['bias', bias]] as const) {
    if (t && t.dtype !== 'float32') {
      throw new InvalidArgumentError({
        argument: `${name}.dtype`,
        message: `${name} must be a float32 tensor.`,
        received: t.dtype,
        fix: `Cast it first: tf.cast(${name}, 'float32').`,
      });
    }
  }
  if (fastKernelsActive()) {
    // One kernel call; differentiable through the gradient registered for our kernel name.
    const inputs: tf.NamedTensorMap = bias ? { a, b, bias } : { a, b };
    return tf.engine().runKernel(GEMM_KERNEL_NAME, inputs, { transposeA, transposeB }) as T;
  }
  const variant = VARIANTS[(transposeA ? 2 : 0) + (transposeB ? 1 : 0)]!;
  return tf.tidy(() => (bias ? variant.biased(a, b, bias) : variant.plain(a, b))) as T;
}
