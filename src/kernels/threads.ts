/**
 * The hook through which vdafm's GEMM kernel runs large products on several threads.
 *
 * tfjs-backend-wasm runs one thread in Node (its threaded build is not used there), and the
 * core entry must stay browser-safe, so the core only defines the interface: a {@link GemmPool}
 * registered with {@link setGemmPool} receives the large products of the `VdafmGemm` kernel.
 * `vdafm/node` provides one on worker threads (`enableThreads`), and, when imported, registers
 * it as the default that starts on the first large product ({@link setDefaultGemmPool}).
 * Results are bitwise identical to the single-threaded kernel (rows or whole batch entries are
 * split, every output is summed in the same order, by the same build).
 *
 * @packageDocumentation
 */
import type { SimdBuild } from './module.js';

/** One product `C[m, n] = op(A) · op(B) (+ bias)` on float32 views (row-major). */
export interface GemmJob {
  m: number;
  n: number;
  k: number;
  /** `[m, k]`, or `[k, m]` when `transA` (`batch` of them, one after the other, when `batch` > 1). */
  a: Float32Array;
  transA: boolean;
  /** `[k, n]`, or `[n, k]` when `transB` (`batch` of them when `batch` > 1). */
  b: Float32Array;
  transB: boolean;
  /** `[n]` or null (added to every product of the batch). */
  bias: Float32Array | null;
  /** Receives `C` (`batch·m·n` floats). */
  out: Float32Array;
  /**
   * Independent products in the job (rank-3 operands); only sent to pools with `batched: true`.
   * @defaultValue 1
   */
  batch?: number;
  /**
   * The GEMM build the calling thread uses: a pool must compute with the same one to give the
   * same bits. @defaultValue 'simd128'
   */
  build?: SimdBuild;
}

/**
 * One convolution product with its data movement, run whole by a pool that has
 * {@link GemmPool.conv} (the patch matrix then never leaves the pool's memory):
 * - `'forward'`: `out [rows, cout] = im2col(a) · b`, with `a` the images and `b` the filter `[K, cout]`;
 * - `'input'`: `out = col2im(a · bᵀ)` (the images' shape), with `a` = dy `[rows, cout]`, `b` the filter;
 * - `'filter'`: `out [K, cout] = im2col(a)ᵀ · b`, with `a` the images and `b` = dy `[rows, cout]`.
 *
 * `rows = n·dout·ho·wo`, `K = kd·kh·kw·c` (src/kernels/conv.ts). The pool runs the same blocked
 * products as the calling thread (native/conv.c `conv_rows`, `conv_input_rows`,
 * `conv_filter_rows`), split by output rows, whole images (input gradient), or rows of the
 * filter gradient (at thin channel counts, its units of 256 patch rows, whose products are added
 * in unit order): the result is bitwise that of one thread.
 */
export interface ConvJob {
  mode: 'forward' | 'input' | 'filter';
  /** `[n, d, h, w, c]` of the images (a 2D image has `d = 1`). */
  volume: readonly number[];
  /** `[kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo]` (src/kernels/conv.ts). */
  geometry: readonly number[];
  /** Output channels. */
  cout: number;
  a: Float32Array;
  b: Float32Array;
  out: Float32Array;
  /** As {@link GemmJob.build}. @defaultValue 'simd128' */
  build?: SimdBuild;
  /**
   * Rows of patches gathered (or scattered) and multiplied at a time, a multiple of 256 for
   * `'filter'` (the values do not depend on it).
   * @defaultValue all rows at once
   */
  chunkRows?: number;
  /**
   * `'forward'` and `'input'` only: computes output rows `[first, first + count)` (forward) or
   * whole images `[first, first + count)` (input) of this product where `a`, `b` and `out` live,
   * with the same blocked loop (the same bits). A pool may run its calling thread's share so, and
   * copy only the other threads' parts in and out. It must not allocate on that heap (the views
   * `a`, `b`, `out` would detach).
   */
  local?: (first: number, count: number) => void;
}

/** Runs products on several threads; see {@link setGemmPool}. */
export interface GemmPool {
  /** Threads used, the calling one included. */
  readonly threads: number;
  /** Smallest `batch·m·n·k` worth splitting (smaller products stay on the calling thread). */
  readonly minWork: number;
  /** Whether the pool takes jobs with `batch` > 1 (else only single products are offered). */
  readonly batched?: boolean;
  /** Computes the job synchronously; returns false to decline it (the caller then computes it). */
  run(job: GemmJob): boolean;
  /**
   * Computes a convolution product whole (see {@link ConvJob}); returns false to decline it (the
   * caller then runs im2col / col2im and the GEMM itself). Optional.
   */
  conv?(job: ConvJob): boolean;
}

let pool: GemmPool | null = null;
let defaultPool: { minWork: number; start: () => GemmPool | null } | null = null;

/**
 * Registers (or, with null, removes) the pool that vdafm's GEMM kernel hands large products to.
 * Normally called by `enableThreads` / `disableThreads` from `vdafm/node`. Either call also
 * cancels a default pool that has not started yet ({@link setDefaultGemmPool}).
 *
 * @example
 * ```ts
 * setGemmPool(null); // back to one thread
 * ```
 */
export function setGemmPool(p: GemmPool | null): void {
  pool = p;
  defaultPool = null;
}

/**
 * Registers (or, with null, removes) a pool to start lazily: on the first product of at least
 * `minWork` multiply-adds while no pool is registered, `start()` runs once and its pool (if
 * any) is registered. `vdafm/node` registers its worker-thread pool this way when imported
 * (threads by default in Node; `VDAFM_THREADS=0` or `disableThreads()` opt out).
 *
 * @example
 * ```ts
 * setDefaultGemmPool(null); // no pool starts by itself
 * ```
 */
export function setDefaultGemmPool(start: (() => GemmPool | null) | null, minWork = 0): void {
  defaultPool = start ? { minWork, start } : null;
}

/** The registered pool, or null. */
export function gemmPool(): GemmPool | null {
  return pool;
}

/**
 * The pool for a product of `work` multiply-adds (`batch·m·n·k`), starting the default pool if
 * this is the first large one; null when the product stays on the calling thread.
 * @internal used by the GEMM kernel
 */
export function poolFor(work: number, batch: number): GemmPool | null {
  if (!pool && defaultPool && work >= defaultPool.minWork) {
    const start = defaultPool.start;
    defaultPool = null;
    pool = start();
  }
  if (!pool || work < pool.minWork || (batch > 1 && pool.batched !== true)) return null;
  return pool;
}
