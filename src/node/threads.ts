/**
 * Worker-thread GEMM for Node: `enableThreads()` makes vdafm's matrix products (the `VdafmGemm`
 * kernel on the tfjs wasm backend) use several cores.
 *
 * tfjs-backend-wasm runs one thread in Node. This pool runs native/gemm.c compiled for a shared
 * WebAssembly memory (src/kernels/gemm-shared-wasm.generated.ts) on the calling thread and on
 * `threads − 1` workers: a product's rows are split between them, so every output is summed in
 * the same order as on one thread (bitwise-identical results). The operands are copied into the
 * shared memory and the result back (a few MB per large product: ~1 ms, against ~10 ms of
 * arithmetic for a [784, 256]·[256, 1024] product); products below `minWork` multiply-adds stay
 * on the calling thread. The calling thread blocks in `Atomics.wait` while the workers finish.
 * Workers are `unref`'d: they never keep the process alive.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '../errors.js';
import type { GemmExports } from '../kernels/module.js';
import { GEMM_SHARED_WASM_BASE64 } from '../kernels/gemm-shared-wasm.generated.js';
import { type GemmJob, type GemmPool, gemmPool, setGemmPool } from '../kernels/threads.js';

/** The shared module exports the same GEMM entry points as the single-threaded one. */
type SharedGemmExports = Pick<GemmExports, 'gemm' | 'gemm_workspace_bytes'>;

/** Int32 slots per worker in the control block: [state, done, 12 gemm arguments]. */
const SLOT = 16;
const STATE_IDLE = 0;
const STATE_JOB = 1;
const STATE_EXIT = 2;

/** The worker's program (CommonJS, run with `eval`, so that no file has to be located). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, slot } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const s = slot * ${SLOT};
for (;;) {
  Atomics.wait(ctrl, s, ${STATE_IDLE});
  const state = Atomics.load(ctrl, s);
  if (state === ${STATE_EXIT}) break;
  if (state !== ${STATE_JOB}) continue;
  ex.gemm(ctrl[s + 2], ctrl[s + 3], ctrl[s + 4], ctrl[s + 5], ctrl[s + 6], ctrl[s + 7], ctrl[s + 8], ctrl[s + 9],
    ctrl[s + 10], ctrl[s + 11], ctrl[s + 12], 0, ctrl[s + 13], ctrl[s + 14]);
  Atomics.store(ctrl, s, ${STATE_IDLE});
  Atomics.store(ctrl, s + 1, 1);
  Atomics.notify(ctrl, s + 1);
}
`;

function decodeBase64(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

class NodeGemmPool implements GemmPool {
  readonly threads: number;
  readonly minWork: number;
  private readonly memory: WebAssembly.Memory;
  private readonly exports: SharedGemmExports;
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[];
  private readonly workspace: number;

  constructor(threads: number, minWork: number, module: WebAssembly.Module, workers: Worker[], memory: WebAssembly.Memory, ctrl: Int32Array) {
    this.threads = threads;
    this.minWork = minWork;
    this.memory = memory;
    this.ctrl = ctrl;
    this.workers = workers;
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SharedGemmExports;
    this.workspace = (this.exports.gemm_workspace_bytes() + 63) & ~63;
  }

  run(job: GemmJob): boolean {
    const { m, n, k } = job;
    if (m < 8 || m * n * k < this.minWork) return false;
    // layout: one workspace per thread, then A, B, bias, C (64-byte aligned)
    let offset = 64 + this.threads * this.workspace;
    const region = (floats: number) => {
      const at = offset;
      offset += (floats * 4 + 63) & ~63;
      return at;
    };
    const aPtr = region(m * k);
    const bPtr = region(k * n);
    const biasPtr = job.bias ? region(n) : 0;
    const cPtr = region(m * n);
    const missing = offset - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / 65536));
    const heap = new Float32Array(this.memory.buffer);
    heap.set(job.a, aPtr >> 2);
    heap.set(job.b, bPtr >> 2);
    if (job.bias) heap.set(job.bias, biasPtr >> 2);

    const lda = job.transA ? m : k;
    const ldb = job.transB ? k : n;
    const chunk = Math.ceil(m / this.threads / 4) * 4;
    const args = (r0: number, rows: number, t: number): number[] => [
      rows, n, k,
      job.transA ? aPtr + r0 * 4 : aPtr + r0 * k * 4, lda, job.transA ? 1 : 0,
      bPtr, ldb, job.transB ? 1 : 0,
      cPtr + r0 * n * 4, n, biasPtr, 64 + t * this.workspace,
    ];
    const started: number[] = [];
    for (let t = 1; t < this.threads; t++) {
      const r0 = t * chunk;
      if (r0 >= m) break;
      const s = (t - 1) * SLOT;
      this.ctrl.set(args(r0, Math.min(chunk, m - r0), t), s + 2);
      Atomics.store(this.ctrl, s + 1, 0);
      Atomics.store(this.ctrl, s, STATE_JOB);
      Atomics.notify(this.ctrl, s);
      started.push(s);
    }
    const [rows, nn, kk, a, la, ta, b, lb, tb, c, lc, bias, work] = args(0, Math.min(chunk, m), 0) as [
      number, number, number, number, number, number, number, number, number, number, number, number, number,
    ];
    this.exports.gemm(rows, nn, kk, a, la, ta, b, lb, tb, c, lc, 0, bias, work);
    for (const s of started) {
      while (Atomics.load(this.ctrl, s + 1) === 0) Atomics.wait(this.ctrl, s + 1, 0);
    }
    job.out.set(new Float32Array(this.memory.buffer, cPtr, m * n));
    return true;
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
   * Products with fewer multiply-adds (`m·n·k`) stay on the calling thread.
   * @defaultValue 2 097 152 (a [128, 128]·[128, 128] product)
   */
  minWork?: number;
}

/**
 * Runs vdafm's large matrix products (the `VdafmGemm` kernel, on the tfjs 'wasm' backend) on
 * several threads in Node. Results are bitwise identical to one thread. Stock tfjs kernels
 * (convolutions, elementwise ops) are not affected: tfjs-backend-wasm stays single-threaded in
 * Node. Call {@link disableThreads} to stop the workers.
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
  const minWork = options.minWork ?? 2_097_152;
  if (!(minWork >= 0)) throw new InvalidArgumentError({ argument: 'minWork', message: 'minWork must be a number ≥ 0.', received: minWork });
  await disableThreads();
  if (threads === 1) return 1;
  const module = new WebAssembly.Module(decodeBase64(GEMM_SHARED_WASM_BASE64) as BufferSource);
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
  const ctrl = new Int32Array(new SharedArrayBuffer((threads - 1) * SLOT * 4));
  const workers = Array.from({ length: threads - 1 }, (_, slot) => new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctrl, slot } }));
  await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
    w.once('online', () => resolve());
    w.once('error', reject);
  })));
  workers.forEach((w) => w.unref());
  active = new NodeGemmPool(threads, minWork, module, workers, memory, ctrl);
  setGemmPool(active);
  return threads;
}

/**
 * Stops the worker threads of {@link enableThreads}; products run on the calling thread again.
 *
 * @example
 * ```ts
 * await disableThreads();
 * ```
 */
export async function disableThreads(): Promise<void> {
  if (!active) return;
  const pool = active;
  active = null;
  if (gemmPool() === pool) setGemmPool(null);
  await pool.close();
}

/** Threads vdafm's products currently use (1 when {@link enableThreads} is off). */
export function threadCount(): number {
  return active?.threads ?? 1;
}
