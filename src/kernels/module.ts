/**
 * Loading vdafm's WebAssembly modules (the GEMM of native/gemm.c and the fused kernels of
 * native/fused.c, ~41 KB shipped as base64 in `gemm-wasm.generated.ts`, and the relaxed-SIMD
 * build of the GEMM, ~24 KB in `gemm-relaxed-wasm.generated.ts`: no fs, no fetch) and the
 * switches that say whether the ops use them and which build.
 *
 * Two builds of the GEMM: simd128 (`f32x4.mul` + `f32x4.add`, every engine with WebAssembly
 * SIMD) and relaxed SIMD (`f32x4.relaxed_madd`: one fused multiply-add on CPUs with FMA, up to
 * ~1.3× the simd128 product rate on an AVX-512 Xeon). The relaxed build is chosen at run time
 * when the engine validates a relaxed opcode (Chrome, Node ≥ 22; Node 20 with
 * `--experimental-wasm-relaxed-simd`), else simd128. The two differ only by the rounding of the
 * fused multiply-add. Force simd128 with `setFastKernelsEnabled(true, { relaxedSimd: false })`
 * or the environment variable `VDAFM_SIMD=simd128` (read once, in Node). The fused kernels
 * (GELU, layer norm) stay in the simd128 module: measured with relaxed_madd in their
 * polynomials, GELU forward took 1.46 instead of 1.86 ms on [784, 1024] (best of 12), backward
 * 0.81 instead of 0.94, layer norm the same (no multiply-add chain): ≈0.4 % of the attention
 * train step, not worth a second 17 KB module and a second erf accuracy budget.
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
import { GEMM_RELAXED_WASM_BASE64 } from './gemm-relaxed-wasm.generated.js';
import { GEMM_WASM_BASE64 } from './gemm-wasm.generated.js';

/** Which SIMD build of vdafm's GEMM runs: `'relaxed'` (`f32x4.relaxed_madd`) or `'simd128'` (mul + add). */
export type SimdBuild = 'relaxed' | 'simd128';

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
  /** The GEMM build of `exports.gemm` (the fused kernels are the simd128 module's in both). */
  build: SimdBuild;
  memory: WebAssembly.Memory;
  zeroCopy: boolean;
  /** Byte offset of the (16-aligned) packing workspace in `memory`. */
  work: number;
}

/** Compiled modules: the simd128 module (GEMM + fused) and the relaxed GEMM (null: not yet; false: unusable). */
let compiled: WebAssembly.Module | null = null;
let compiledRelaxed: WebAssembly.Module | null | false = null;
let syncFailed = false;
let enabled = true;
let zeroCopyAllowed = true;
let relaxedAllowed = true;
let pending: Promise<boolean> | null = null;
/** Copy-mode runners per build. */
const ownRunners: Partial<Record<SimdBuild, Runner>> = {};
/** Zero-copy runners per tfjs wasm backend instance and build (null: that backend's memory is unusable). */
const sharedRunners = new WeakMap<object, Partial<Record<SimdBuild, Runner | null>>>();

function decode(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * A 72-byte module whose one function runs `f32x4.relaxed_madd` on three `v128.const`s: the
 * engine validates it iff it supports relaxed SIMD.
 */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, // magic, version
  1, 5, 1, 96, 0, 1, 123, // type section: () -> v128
  3, 2, 1, 0, // function section
  10, 61, 1, 59, 0, // code section, one body of 59 bytes, no locals
  ...[0, 1, 2].flatMap(() => [253, 12, ...new Array<number>(16).fill(0)]), // 3 × v128.const 0
  253, 133, 2, // f32x4.relaxed_madd (0xfd 0x105)
  11, // end
]);

let relaxedValid: boolean | null = null;

/**
 * Whether this engine supports WebAssembly relaxed SIMD (it validates a module using
 * `f32x4.relaxed_madd`): Chrome ≥ 114, Node ≥ 22, Node 20 with `--experimental-wasm-relaxed-simd`.
 * Checked once.
 *
 * @example
 * ```ts
 * relaxedSimdSupported(); // false in Node 20 without the flag
 * ```
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedValid === null) {
    try {
      relaxedValid = WebAssembly.validate(RELAXED_PROBE);
    } catch {
      relaxedValid = false;
    }
  }
  return relaxedValid;
}

let envSimd: string | undefined | null = null;

/** `VDAFM_SIMD` from the environment (Node), read once; undefined elsewhere. */
function simdFromEnv(): string | undefined {
  if (envSimd === null) {
    const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
    envSimd = proc?.env?.['VDAFM_SIMD']?.trim().toLowerCase();
  }
  return envSimd;
}

/** The build the kernels would use now (the relaxed module compiles lazily, synchronously). */
function wantedBuild(): SimdBuild {
  if (!relaxedAllowed || !relaxedSimdSupported()) return 'simd128';
  const env = simdFromEnv();
  if (env === 'simd128' || env === 'plain') return 'simd128';
  if (compiledRelaxed === null) {
    try {
      compiledRelaxed = new WebAssembly.Module(decode(GEMM_RELAXED_WASM_BASE64) as BufferSource);
    } catch {
      compiledRelaxed = false; // e.g. synchronous compilation refused: initFastKernels() prepares it
    }
  }
  return compiledRelaxed ? 'relaxed' : 'simd128';
}

/** Exports of the simd128 instance with, for the relaxed build, the GEMM entry points (and the blocked forward convolution) of the relaxed instance. */
function mergeExports(plain: WebAssembly.Instance, relaxed: WebAssembly.Instance | null): GemmExports {
  const base = plain.exports as unknown as GemmExports;
  if (!relaxed) return base;
  const r = relaxed.exports as unknown as GemmExports;
  // the blocked convolution products (native/conv.c) are linked into both modules: the relaxed one's call the relaxed GEMM
  const { conv_rows, conv_input_rows, conv_filter_rows } = relaxed.exports;
  return { ...base, gemm: r.gemm, colsum: r.colsum, gemm_workspace_bytes: r.gemm_workspace_bytes, conv_rows, conv_input_rows, conv_filter_rows } as GemmExports;
}

/** Instantiates the modules of `build` on `memory` (synchronously). */
function instantiate(build: SimdBuild, memory: WebAssembly.Memory): GemmExports {
  const imports = { env: { memory } };
  const relaxed = build === 'relaxed' && compiledRelaxed ? new WebAssembly.Instance(compiledRelaxed, imports) : null;
  return mergeExports(new WebAssembly.Instance(compiled!, imports), relaxed);
}

/** tfjs's heap and malloc, or null when they are not reachable (other tfjs versions/builds). */
function backendHeap(backend: WasmBackend): { memory: WebAssembly.Memory; malloc: (bytes: number) => number } | null {
  const memory = backend.wasm?.asm?.memory;
  const malloc = backend.wasm?._malloc;
  if (!(memory instanceof WebAssembly.Memory) || typeof malloc !== 'function') return null;
  return { memory, malloc: (bytes) => malloc.call(backend.wasm, bytes) >>> 0 };
}

function makeSharedRunner(exports: GemmExports, build: SimdBuild, memory: WebAssembly.Memory, malloc: (bytes: number) => number): Runner | null {
  // The workspace lives in tfjs's heap for the backend's lifetime (~1.1 MB, never freed).
  const raw = malloc(exports.gemm_workspace_bytes() + 16);
  return raw === 0 ? null : { exports, build, memory, zeroCopy: true, work: (raw + 15) & ~15 };
}

/** The runner with a memory of its own (copy mode); null if it cannot be instantiated now. */
function getOwnRunner(build: SimdBuild): Runner | null {
  if (!ownRunners[build] && compiled) {
    try {
      const memory = new WebAssembly.Memory({ initial: 32 });
      ownRunners[build] = { exports: instantiate(build, memory), build, memory, zeroCopy: false, work: 16 };
    } catch {
      return null; // e.g. synchronous instantiation refused: initFastKernels() prepares it
    }
  }
  return ownRunners[build] ?? null;
}

/** The zero-copy runner for this backend, or null when its memory or malloc is not usable. */
function getSharedRunner(backend: WasmBackend, build: SimdBuild): Runner | null {
  let perBuild = sharedRunners.get(backend);
  const known = perBuild?.[build];
  if (known !== undefined || !compiled) return known ?? null;
  let runner: Runner | null = null;
  try {
    const heap = backendHeap(backend);
    // Instantiation throws (LinkError) for a shared memory (threaded tfjs build): we then copy.
    if (heap) runner = makeSharedRunner(instantiate(build, heap.memory), build, heap.memory, heap.malloc);
  } catch {
    runner = null;
  }
  if (!perBuild) sharedRunners.set(backend, (perBuild = {}));
  perBuild[build] = runner;
  return runner;
}

/** The runner our kernels use on this backend (zero-copy when possible), or null. */
function runnerFor(backend: WasmBackend): Runner | null {
  const build = wantedBuild();
  return (zeroCopyAllowed ? getSharedRunner(backend, build) : null) ?? getOwnRunner(build);
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
    compiled = new WebAssembly.Module(decode(GEMM_WASM_BASE64) as BufferSource);
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
      const mod = compiled ?? (await WebAssembly.compile(decode(GEMM_WASM_BASE64) as BufferSource));
      // (false after a refused synchronous compilation, e.g. on a browser main thread: retry here)
      if (!compiledRelaxed && relaxedSimdSupported()) {
        try {
          compiledRelaxed = await WebAssembly.compile(decode(GEMM_RELAXED_WASM_BASE64) as BufferSource);
        } catch {
          compiledRelaxed = false;
        }
      }
      for (const build of ['simd128', ...(compiledRelaxed ? ['relaxed'] : [])] as SimdBuild[]) {
        if (ownRunners[build]) continue;
        const memory = new WebAssembly.Memory({ initial: 32 });
        const plain = await WebAssembly.instantiate(mod, { env: { memory } });
        const relaxed = build === 'relaxed' ? await WebAssembly.instantiate(compiledRelaxed as WebAssembly.Module, { env: { memory } }) : null;
        ownRunners[build] = { exports: mergeExports(plain, relaxed), build, memory, zeroCopy: false, work: 16 };
      }
      compiled = mod;
      return true;
    } catch {
      pending = null;
      return false;
    }
  })();
  if (!(await pending)) return false;
  // The zero-copy instances, for the wasm backend as it is now (each call checks again).
  const backend = tf.findBackend('wasm') as unknown as WasmBackend | null;
  const heap = backend ? backendHeap(backend) : null;
  if (backend && heap) {
    let perBuild = sharedRunners.get(backend);
    if (!perBuild) sharedRunners.set(backend, (perBuild = {}));
    for (const build of ['simd128', ...(compiledRelaxed ? ['relaxed'] : [])] as SimdBuild[]) {
      if (perBuild[build]) continue;
      try {
        const imports = { env: { memory: heap.memory } };
        const plain = await WebAssembly.instantiate(compiled!, imports);
        const relaxed = build === 'relaxed' ? await WebAssembly.instantiate(compiledRelaxed as WebAssembly.Module, imports) : null;
        perBuild[build] = makeSharedRunner(mergeExports(plain, relaxed), build, heap.memory, heap.malloc);
      } catch {
        perBuild[build] = null;
      }
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
  /**
   * Use the relaxed-SIMD build of the GEMM (`f32x4.relaxed_madd`) where the engine supports it;
   * false forces the simd128 build (for A/B measurements and when chasing a numerical
   * difference). The environment variable `VDAFM_SIMD=simd128` does the same in Node.
   * @defaultValue true
   */
  relaxedSimd?: boolean;
}

/**
 * Turns vdafm's WebAssembly kernels on or off (on by default). Off, every op takes the stock
 * path (`fastMatMul` runs `tf.matMul` + `tf.transpose`, GELU and layer norm their stock compositions): for A/B benchmarks and to rule the kernels out when chasing a numerical difference.
 *
 * @param on - true to use the kernels when the 'wasm' backend is active.
 * @param options - see {@link FastKernelsOptions}.
 * @throws {@link InvalidArgumentError} when `on`, `options.zeroCopy` or `options.relaxedSimd` is not a boolean.
 * @example
 * ```ts
 * setFastKernelsEnabled(false); // fastMatMul now runs tf.matMul + tf.transpose
 * setFastKernelsEnabled(true, { zeroCopy: false }); // our kernels, copying operands
 * setFastKernelsEnabled(true, { relaxedSimd: false }); // our kernels, simd128 build
 * ```
 */
export function setFastKernelsEnabled(on: boolean, options: FastKernelsOptions = {}): void {
  assertBoolean(on, 'on');
  const zeroCopy = options.zeroCopy ?? true;
  assertBoolean(zeroCopy, 'options.zeroCopy');
  const relaxedSimd = options.relaxedSimd ?? true;
  assertBoolean(relaxedSimd, 'options.relaxedSimd');
  enabled = on;
  zeroCopyAllowed = zeroCopy;
  relaxedAllowed = relaxedSimd;
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


/**
 * Which build of vdafm's GEMM runs on the active backend now: `'relaxed'` (`f32x4.relaxed_madd`,
 * where the engine supports relaxed SIMD), `'simd128'` (`f32x4.mul` + `f32x4.add`) or `'off'`
 * (stock path, as {@link fastKernelsMode}). The two builds differ only by the rounding of the
 * fused multiply-add.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * fastKernelsBuild(); // 'simd128' in Node 20, 'relaxed' in Node ≥ 22 and Chrome
 * ```
 */
export function fastKernelsBuild(): SimdBuild | 'off' {
  if (!fastKernelsActive()) return 'off';
  return runnerFor(tf.backend() as unknown as WasmBackend)!.build;
}
