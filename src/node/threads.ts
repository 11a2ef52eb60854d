/**
 * Worker-thread GEMM for Node: vdafm's matrix products (the `VdafmGemm` kernel on the tfjs wasm
 * backend) use the machine's cores, by default.
 *
 * tfjs-backend-wasm runs one thread in Node. This pool runs native/gemm.c compiled for a shared
 * WebAssembly memory (src/kernels/gemm-shared-wasm.generated.ts, in the same SIMD build as the
 * calling thread: simd128 or relaxed) on the calling thread and on `threads − 1` workers: a
 * product's rows (or, for a batch of products, whole batch entries) are split between them, so
 * every output is summed in the same order as on one thread (bitwise-identical results). The
 * operands are copied into the shared memory and the result back (a few MB per large product:
 * ~1 ms, against ~10 ms of arithmetic for a [784, 256]·[256, 1024] product); products below
 * `minWork` multiply-adds, or with fewer than 48 multiply-adds per float copied (skinny products
 * such as [2048, 32]·[32, 96], where the copies cost what the second thread saves), stay on the
 * calling thread. The calling thread blocks in
 * `Atomics.wait` while the workers finish. Workers are `unref`'d: they never keep the process
 * alive.
 *
 * **Threads by default.** Importing this module (any import of `vdafm/node`) registers the pool
 * as the default: it starts on the first product of at least 2 097 152 multiply-adds when
 * `os.availableParallelism() > 1`, with that many threads (at most 8). Its workers start in the
 * background; products run on the calling thread until they are up (no wait, no deadlock).
 * Opt out with `VDAFM_THREADS=0` (or `1`) in the environment, or `disableThreads()`; choose the
 * count with `VDAFM_THREADS=N` or `enableThreads({ threads: N })`.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '../errors.js';
import type { GemmExports, SimdBuild } from '../kernels/module.js';
import { relaxedSimdSupported } from '../kernels/module.js';
import { GEMM_SHARED_RELAXED_WASM_BASE64, GEMM_SHARED_WASM_BASE64 } from '../kernels/gemm-shared-wasm.generated.js';
import { type GemmJob, type GemmPool, gemmPool, setDefaultGemmPool, setGemmPool } from '../kernels/threads.js';

/** The shared module exports the same GEMM entry points as the single-threaded one. */
type SharedGemmExports = Pick<GemmExports, 'gemm' | 'gemm_workspace_bytes'>;

/**
 * Int32 slots per worker in the control block: [state, done, ready, build, count, strideA,
 * strideB, strideC, 13 gemm arguments].
 */
const SLOT = 24;
const ARGS = 8;
const STATE_IDLE = 0;
const STATE_JOB = 1;
const STATE_EXIT = 2;
/** Default smallest product (multiply-adds) worth splitting: a [128, 128]·[128, 128] product. */
const DEFAULT_MIN_WORK = 2_097_152;
/**
 * Default smallest arithmetic intensity worth splitting: multiply-adds per float copied into and
 * out of the shared memory. Below it the copies and the hand-over cost about what the second
 * thread saves (measured: the tri-modal demo model, whose text products are [2048, 32]·[32, 96],
 * 24 multiply-adds per float, trained 4 % slower on 2 threads; the attention block's products,
 * at 110–160, gain).
 */
const DEFAULT_MIN_INTENSITY = 48;

/** The worker's program (CommonJS, run with `eval`, so that no file has to be located). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { modules, memory, ctrl, slot } = workerData;
const ex = modules.map((m) => (m ? new WebAssembly.Instance(m, { env: { memory } }).exports : null));
const s = slot * ${SLOT};
const a = s + ${ARGS};
Atomics.store(ctrl, s + 2, 1);
for (;;) {
  Atomics.wait(ctrl, s, ${STATE_IDLE});
  const state = Atomics.load(ctrl, s);
  if (state === ${STATE_EXIT}) break;
  if (state !== ${STATE_JOB}) continue;
  const e = ex[ctrl[s + 3]];
  for (let i = 0; i < ctrl[s + 4]; i++) {
    e.gemm(ctrl[a], ctrl[a + 1], ctrl[a + 2], ctrl[a + 3] + i * ctrl[s + 5], ctrl[a + 4], ctrl[a + 5], ctrl[a + 6] + i * ctrl[s + 6],
      ctrl[a + 7], ctrl[a + 8], ctrl[a + 9] + i * ctrl[s + 7], ctrl[a + 10], 0, ctrl[a + 11], ctrl[a + 12]);
  }
  Atomics.store(ctrl, s, ${STATE_IDLE});
  Atomics.store(ctrl, s + 1, 1);
  Atomics.notify(ctrl, s + 1);
}
`;

function compileShared(build: SimdBuild): WebAssembly.Module {
  const b64 = build === 'relaxed' ? GEMM_SHARED_RELAXED_WASM_BASE64 : GEMM_SHARED_WASM_BASE64;
  return new WebAssembly.Module(new Uint8Array(Buffer.from(b64, 'base64')) as BufferSource);
}

/** One share of a job: `count` products of `rows` rows starting at row `r0` of batch entry `e0`. */
interface Share {
  e0: number;
  count: number;
  r0: number;
  rows: number;
}

/**
 * @internal How a job is split over `threads`: a batch by whole entries; one product by row blocks of a
 * multiple of 4 rows (the micro-kernel's height), never leaving a block of fewer than 4 rows
 * (those would take the kernel's few-rows path, which sums in another order).
 */
export function splitJob(m: number, batch: number, threads: number): Share[] {
  const shares: Share[] = [];
  if (batch > 1) {
    const per = Math.ceil(batch / threads);
    for (let e0 = 0; e0 < batch; e0 += per) shares.push({ e0, count: Math.min(per, batch - e0), r0: 0, rows: m });
    return shares;
  }
  const chunk = Math.max(4, Math.ceil(m / threads / 4) * 4);
  for (let r0 = 0; r0 < m; r0 += chunk) {
    const rows = Math.min(chunk, m - r0);
    if (rows < 4 && shares.length) shares[shares.length - 1]!.rows += rows;
    else shares.push({ e0: 0, count: 1, r0, rows });
  }
  return shares;
}

class NodeGemmPool implements GemmPool {
  readonly threads: number;
  readonly minWork: number;
  readonly minIntensity: number;
  readonly batched = true;
  private readonly memory: WebAssembly.Memory;
  private readonly exports: Partial<Record<SimdBuild, SharedGemmExports>>;
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[];
  private readonly workspace: number;
  private ready = false;
  private failure: Error | null = null;

  /** Starts `threads − 1` workers (without waiting for them). */
  constructor(threads: number, minWork: number, minIntensity = DEFAULT_MIN_INTENSITY) {
    this.threads = threads;
    this.minWork = minWork;
    this.minIntensity = minIntensity;
    const builds: SimdBuild[] = relaxedSimdSupported() ? ['simd128', 'relaxed'] : ['simd128'];
    const modules = builds.map(compileShared);
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
    this.ctrl = new Int32Array(new SharedArrayBuffer((threads - 1) * SLOT * 4));
    this.exports = {};
    builds.forEach((b, i) => {
      this.exports[b] = new WebAssembly.Instance(modules[i]!, { env: { memory: this.memory } }).exports as unknown as SharedGemmExports;
    });
    this.workspace = (this.exports.simd128!.gemm_workspace_bytes() + 63) & ~63;
    const workerModules = [modules[0]!, modules[1] ?? null];
    this.workers = Array.from({ length: threads - 1 }, (_, slot) => {
      // execArgv []: the parent's flags (e.g. --input-type=module, --import) must not turn the
      // CommonJS program into ESM or load hooks; V8 flags are process-wide and still apply.
      const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { modules: workerModules, memory: this.memory, ctrl: this.ctrl, slot } });
      // A worker that fails never sets its ready flag: the pool then declines every job.
      w.on('error', (e: Error) => {
        this.failure ??= e;
      });
      w.unref();
      return w;
    });
  }

  /** Whether every worker has instantiated its modules (set by the workers in shared memory). */
  isReady(): boolean {
    if (!this.ready) this.ready = this.workers.every((_, t) => Atomics.load(this.ctrl, t * SLOT + 2) === 1);
    return this.ready;
  }

  run(job: GemmJob): boolean {
    const { m, n, k } = job;
    const batch = job.batch ?? 1;
    const build = job.build ?? 'simd128';
    const ex = this.exports[build];
    const macs = batch * m * n * k;
    const copied = batch * (m * k + k * n + m * n);
    if (!ex || (batch === 1 && m < 8) || macs < this.minWork || macs < this.minIntensity * copied || !this.isReady()) return false;
    // layout: one workspace per thread, then A, B, bias, C (64-byte aligned)
    let offset = 64 + this.threads * this.workspace;
    const region = (floats: number) => {
      const at = offset;
      offset += (floats * 4 + 63) & ~63;
      return at;
    };
    const aPtr = region(batch * m * k);
    const bPtr = region(batch * k * n);
    const biasPtr = job.bias ? region(n) : 0;
    const cPtr = region(batch * m * n);
    const missing = offset - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / 65536));
    const heap = new Float32Array(this.memory.buffer);
    heap.set(job.a.subarray(0, batch * m * k), aPtr >> 2);
    heap.set(job.b.subarray(0, batch * k * n), bPtr >> 2);
    if (job.bias) heap.set(job.bias, biasPtr >> 2);

    const lda = job.transA ? m : k;
    const ldb = job.transB ? k : n;
    // gemm arguments of a share (its first product), in the order of native/gemm.c
    const args = (sh: Share, t: number): number[] => [
      sh.rows, n, k,
      aPtr + 4 * (sh.e0 * m * k + (job.transA ? sh.r0 : sh.r0 * k)), lda, job.transA ? 1 : 0,
      bPtr + 4 * sh.e0 * k * n, ldb, job.transB ? 1 : 0,
      cPtr + 4 * (sh.e0 * m * n + sh.r0 * n), n, biasPtr, 64 + t * this.workspace,
    ];
    const shares = splitJob(m, batch, this.threads);
    const started: number[] = [];
    for (let t = 1; t < shares.length; t++) {
      const s = (t - 1) * SLOT;
      this.ctrl.set([build === 'relaxed' ? 1 : 0, shares[t]!.count, 4 * m * k, 4 * k * n, 4 * m * n], s + 3);
      this.ctrl.set(args(shares[t]!, t), s + ARGS);
      Atomics.store(this.ctrl, s + 1, 0);
      Atomics.store(this.ctrl, s, STATE_JOB);
      Atomics.notify(this.ctrl, s);
      started.push(s);
    }
    const mine = shares[0]!;
    const [rows, nn, kk, a, la, ta, b, lb, tb, c, lc, bias, work] = args(mine, 0) as [
      number, number, number, number, number, number, number, number, number, number, number, number, number,
    ];
    for (let i = 0; i < mine.count; i++) ex.gemm(rows, nn, kk, a + i * 4 * m * k, la, ta, b + i * 4 * k * n, lb, tb, c + i * 4 * m * n, lc, 0, bias, work);
    for (const s of started) {
      while (Atomics.load(this.ctrl, s + 1) === 0) Atomics.wait(this.ctrl, s + 1, 0);
    }
    job.out.set(new Float32Array(this.memory.buffer, cPtr, batch * m * n));
    return true;
  }

  /** Resolves once every worker is ready (for explicit `enableThreads`). */
  async whenReady(): Promise<void> {
    while (!this.isReady()) {
      if (this.failure) throw this.failure;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  async close(): Promise<void> {
    this.workers.forEach((_, t) => {
      Atomics.store(this.ctrl, t * SLOT, STATE_EXIT);
      Atomics.notify(this.ctrl, t * SLOT);
    });
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

let active: NodeGemmPool | null = null;

/** Options of {@link enableThreads}. */
export interface ThreadOptions {
  /**
   * Threads in all, the calling one included (1 turns threading off).
   * @defaultValue `os.availableParallelism()`, at most 8
   */
  threads?: number;
  /**
   * Products with fewer multiply-adds (`batch·m·n·k`) stay on the calling thread.
   * @defaultValue 2 097 152 (a [128, 128]·[128, 128] product)
   */
  minWork?: number;
  /**
   * Products with fewer multiply-adds per float copied to and from the workers
   * (`m·n·k / (m·k + k·n + m·n)`) stay on the calling thread: skinny products gain less than
   * their copies cost.
   * @defaultValue 48
   */
  minIntensity?: number;
}

/**
 * Runs vdafm's large matrix products (the `VdafmGemm` kernel, on the tfjs 'wasm' backend) on
 * several threads in Node. Importing `vdafm/node` already does this by default (see
 * {@link defaultThreadCount}); call it to choose the thread count or `minWork`, or to have the
 * workers up before the first product. Results are bitwise identical to one thread. Stock tfjs
 * kernels (convolutions, elementwise ops) are not affected: tfjs-backend-wasm stays
 * single-threaded in Node. Call {@link disableThreads} to stop the workers.
 *
 * @returns the number of threads now in use (1 = off).
 * @throws InvalidArgumentError (from `vdafm`) when `threads` is not a positive integer.
 * @example
 * ```ts
 * import { enableThreads } from 'vdafm/node';
 * await enableThreads({ threads: 2 });
 * ```
 */
export async function enableThreads(options: ThreadOptions = {}): Promise<number> {
  const threads = options.threads ?? Math.min(8, availableParallelism());
  if (!Number.isInteger(threads) || threads < 1) {
    throw new InvalidArgumentError({ argument: 'threads', message: 'threads must be a positive integer.', received: threads });
  }
  const minWork = options.minWork ?? DEFAULT_MIN_WORK;
  if (!(minWork >= 0)) throw new InvalidArgumentError({ argument: 'minWork', message: 'minWork must be a number ≥ 0.', received: minWork });
  const minIntensity = options.minIntensity ?? DEFAULT_MIN_INTENSITY;
  if (!(minIntensity >= 0)) throw new InvalidArgumentError({ argument: 'minIntensity', message: 'minIntensity must be a number ≥ 0.', received: minIntensity });
  await disableThreads();
  if (threads === 1) return 1;
  const pool = new NodeGemmPool(threads, minWork, minIntensity);
  try {
    await pool.whenReady();
  } catch (e) {
    await pool.close();
    throw e;
  }
  active = pool;
  setGemmPool(pool);
  return threads;
}

/**
 * Stops the worker threads (of {@link enableThreads} or of the default) and cancels the default
 * pool if it has not started: products run on the calling thread from now on.
 *
 * @example
 * ```ts
 * await disableThreads();
 * ```
 */
export async function disableThreads(): Promise<void> {
  setDefaultGemmPool(null);
  const pool = active ?? (gemmPool() instanceof NodeGemmPool ? (gemmPool() as NodeGemmPool) : null);
  active = null;
  if (!pool) return;
  if (gemmPool() === pool) setGemmPool(null);
  await pool.close();
}

/** Threads vdafm's products currently use (1 when no pool runs, e.g. before the default starts). */
export function threadCount(): number {
  const pool = gemmPool();
  return pool instanceof NodeGemmPool ? pool.threads : (active?.threads ?? 1);
}

/**
 * The thread count of the default pool that importing `vdafm/node` registers: `VDAFM_THREADS`
 * when set (`0` or `1`: off; `N`: N threads), else `os.availableParallelism()` (at most 8) when
 * it is above 1, else 1 (off).
 *
 * @param env - the environment to read (default `process.env`).
 * @example
 * ```ts
 * defaultThreadCount({ VDAFM_THREADS: '0' }); // 1 (off)
 * ```
 */
export function defaultThreadCount(env: Record<string, string | undefined> = process.env): number {
  const raw = env['VDAFM_THREADS']?.trim();
  if (raw !== undefined && raw !== '' && raw !== 'auto') {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 0) return Math.max(1, n);
  }
  const cores = availableParallelism();
  return cores > 1 ? Math.min(8, cores) : 1;
}

// Threads by default: the pool starts on the first large product (see the module doc).
const defaultThreads = defaultThreadCount();
if (defaultThreads > 1) {
  setDefaultGemmPool(() => {
    try {
      return new NodeGemmPool(defaultThreads, DEFAULT_MIN_WORK);
    } catch {
      return null; // e.g. no worker threads in this runtime: stay on one thread
    }
  }, DEFAULT_MIN_WORK);
}
