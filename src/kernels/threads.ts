/**
 * The hook through which vdafm's GEMM kernel runs large products on several threads.
 *
 * tfjs-backend-wasm runs one thread in Node (its threaded build is not used there), and the
 * core entry must stay browser-safe, so the core only defines the interface: a {@link GemmPool}
 * registered with {@link setGemmPool} receives the large rank-2 products of the `VdafmGemm`
 * kernel. `vdafm/node` provides one on worker threads (`enableThreads`). Results are bitwise
 * identical to the single-threaded kernel (rows are split, every output is summed in the same
 * order).
 *
 * @packageDocumentation
 */

/** One product `C[m, n] = op(A) · op(B) (+ bias)` on float32 views (row-major). */
export interface GemmJob {
  m: number;
  n: number;
  k: number;
  /** `[m, k]`, or `[k, m]` when `transA`. */
  a: Float32Array;
  transA: boolean;
  /** `[k, n]`, or `[n, k]` when `transB`. */
  b: Float32Array;
  transB: boolean;
  /** `[n]` or null. */
  bias: Float32Array | null;
  /** Receives `C` (`m·n` floats). */
  out: Float32Array;
}

/** Runs products on several threads; see {@link setGemmPool}. */
export interface GemmPool {
  /** Threads used, the calling one included. */
  readonly threads: number;
  /** Smallest `m·n·k` worth splitting (smaller products stay on the calling thread). */
  readonly minWork: number;
  /** Computes the job synchronously; returns false to decline it (the caller then computes it). */
  run(job: GemmJob): boolean;
}

let pool: GemmPool | null = null;

/**
 * Registers (or, with null, removes) the pool that vdafm's GEMM kernel hands large rank-2
 * products to. Normally called by `enableThreads` / `disableThreads` from `vdafm/node`.
 *
 * @example
 * ```ts
 * setGemmPool(null); // back to one thread
 * ```
 */
export function setGemmPool(p: GemmPool | null): void {
  pool = p;
}

/** The registered pool, or null. */
export function gemmPool(): GemmPool | null {
  return pool;
}
