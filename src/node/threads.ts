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
import { type ConvJob, type GemmJob, type GemmPool, gemmPool, setDefaultGemmPool, setGemmPool } from '../kernels/threads.js';

/** The shared module exports the same GEMM entry points as the single-threaded one, and native/conv.c's. */
type SharedGemmExports = Pick<GemmExports, 'gemm' | 'gemm_workspace_bytes'> & {
  conv_rows(...args: number[]): void;
  conv_input_rows(...args: number[]): void;
  conv_filter_rows(...args: number[]): void;
  conv_filter_units(...args: number[]): void;
  conv_filter_sum(parts: number, units: number, size: number): void;
};

/**
 * Int32 slots per worker in the control block: [state, done, ready, build, op, count, strideA,
 * strideB, strideC, then the arguments: 13 of gemm, 25–26 of a blocked convolution product
 * (conv_rows, conv_input_rows, conv_filter_rows)].
 */
const SLOT = 40;
const ARGS = 9;
const STATE_IDLE = 0;
const STATE_JOB = 1;
const STATE_EXIT = 2;
/** Operations a worker runs: `count` GEMMs (operands `stride` bytes apart), or a blocked convolution product. */
const OP_GEMM = 0;
/** Rows of the forward convolution, one L2-sized block of patches at a time (native/conv.c `conv_rows`). */
const OP_CONV_ROWS = 3;
/** The input gradient of whole images, one block of patch rows at a time (native/conv.c `conv_input_rows`). */
const OP_CONV_INPUT = 4;
/** Rows of the filter gradient, one block of patch rows at a time (native/conv.c `conv_filter_rows`). */
const OP_CONV_FILTER = 5;
/** The filter gradient's products of units of 256 patch rows, each from zero (native/conv.c `conv_filter_units`). */
const OP_CONV_FILTER_UNITS = 6;
/**
 * The filter gradient splits its units of 256 patch rows over the threads (each gathers only its
 * own rows; the parts are added in unit order, the same bits) when a part, kk·cout floats, is at
 * most this: at thin channel counts gathering the patches is much of the work, and splitting dw's
 * rows instead makes every thread gather every block (3×3×3, 16 channels, kk·cout = 6912: 40 ms
 * on one thread, 34 on two that way). Measured on 2 threads, paired steps: the 3D bench encoder
 * 0.944× the step time with this path; with the bound at 32768 the 2D encoder's first stage
 * (kk·cout = 9216) took it too and its step got 1.06× slower (its parts, 9.4 MB, summed on one
 * thread).
 */
const FILTER_UNITS_MAX_PART = 8192;
/** ... and all the parts together at most this many floats (the shared memory holds them). */
const FILTER_UNITS_MAX_FLOATS = 8_388_608;
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
  const op = ctrl[s + 4];
  if (op === ${OP_GEMM}) {
    for (let i = 0; i < ctrl[s + 5]; i++) {
      e.gemm(ctrl[a], ctrl[a + 1], ctrl[a + 2], ctrl[a + 3] + i * ctrl[s + 6], ctrl[a + 4], ctrl[a + 5], ctrl[a + 6] + i * ctrl[s + 7],
        ctrl[a + 7], ctrl[a + 8], ctrl[a + 9] + i * ctrl[s + 8], ctrl[a + 10], 0, ctrl[a + 11], ctrl[a + 12]);
    }
  } else {
    const f = op === ${OP_CONV_ROWS} ? e.conv_rows : op === ${OP_CONV_INPUT} ? e.conv_input_rows : op === ${OP_CONV_FILTER_UNITS} ? e.conv_filter_units : e.conv_filter_rows;
    f(...Array.from(ctrl.subarray(a, a + 26), (v) => v >>> 0));
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

/** One call a thread makes: `op` with its arguments (see the control block). */
interface Task {
  op: number;
  args: number[];
  /** GEMM only: products in the share and the byte strides of A, B and C between them. */
  count?: number;
  strides?: [number, number, number];
}

/** A product in the shared memory (byte offsets; `bias` 0 for none). */
interface GemmCall {
  m: number;
  n: number;
  k: number;
  a: number;
  transA: boolean;
  b: number;
  transB: boolean;
  c: number;
  bias: number;
}

/** Runs one task on the calling thread. */
function runTask(ex: SharedGemmExports, task: Task): void {
  const a = task.args;
  if (task.op !== OP_GEMM) {
    const fn = { [OP_CONV_ROWS]: ex.conv_rows, [OP_CONV_INPUT]: ex.conv_input_rows, [OP_CONV_FILTER]: ex.conv_filter_rows, [OP_CONV_FILTER_UNITS]: ex.conv_filter_units }[task.op]!;
    fn(...a);
    return;
  }
  const [sa, sb, sc] = task.strides ?? [0, 0, 0];
  for (let i = 0; i < (task.count ?? 1); i++) {
    ex.gemm(a[0]!, a[1]!, a[2]!, a[3]! + i * sa, a[4]!, a[5]!, a[6]! + i * sb, a[7]!, a[8]!, a[9]! + i * sc, a[10]!, 0, a[11]!, a[12]!);
  }
}

/**
 * @internal How `n` images are split over `threads` for the input gradient: `[first, count]` per
 * thread, whole images (col2im adds into an image only from its own rows, so no two threads
 * write the same pixel), at most `threads` parts, none empty.
 */
export function splitImages(n: number, threads: number): Array<[number, number]> {
  const per = Math.ceil(n / threads);
  const parts: Array<[number, number]> = [];
  for (let i0 = 0; i0 < n; i0 += per) parts.push([i0, Math.min(per, n - i0)]);
  return parts;
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

  /** A bump allocator over the shared memory after the per-thread workspaces (64-byte aligned). */
  private regions(): { take(floats: number): number; end(): number } {
    let offset = 64 + this.threads * this.workspace;
    return {
      take: (floats) => {
        const at = offset;
        offset += (floats * 4 + 63) & ~63;
        return at;
      },
      end: () => offset,
    };
  }

  /** Grows the shared memory to `bytes` (at least) and returns a float view of it. */
  private heap(bytes: number): Float32Array {
    const missing = bytes - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / 65536));
    return new Float32Array(this.memory.buffer);
  }

  /**
   * Runs `tasks` (at most one per thread) and returns when all are done: task 0 on the calling
   * thread (or `own` instead, when given), task t on worker t − 1. Task t uses workspace t.
   */
  private dispatch(build: SimdBuild, tasks: Task[], own?: () => void): void {
    const ex = this.exports[build]!;
    const started: number[] = [];
    for (let t = 1; t < tasks.length; t++) {
      const s = (t - 1) * SLOT;
      const task = tasks[t]!;
      this.ctrl.set([build === 'relaxed' ? 1 : 0, task.op, task.count ?? 1, ...(task.strides ?? [0, 0, 0])], s + 3);
      this.ctrl.set(task.args, s + ARGS);
      Atomics.store(this.ctrl, s + 1, 0);
      Atomics.store(this.ctrl, s, STATE_JOB);
      Atomics.notify(this.ctrl, s);
      started.push(s);
    }
    const mine = tasks[0];
    if (own) own();
    else if (mine) runTask(ex, mine);
    for (const s of started) {
      while (Atomics.load(this.ctrl, s + 1) === 0) Atomics.wait(this.ctrl, s + 1, 0);
    }
  }

  /** The GEMM tasks of `C = op(A)·op(B) (+ bias)` split by {@link splitJob} (pointers in the shared memory). */
  private gemmTasks(p: GemmCall, batch: number): Task[] {
    const { m, n, k, transA, transB } = p;
    const lda = transA ? m : k;
    const ldb = transB ? k : n;
    return splitJob(m, batch, this.threads).map((sh, t) => ({
      op: OP_GEMM,
      count: sh.count,
      strides: [4 * m * k, 4 * k * n, 4 * m * n],
      args: [
        sh.rows, n, k,
        p.a + 4 * (sh.e0 * m * k + (transA ? sh.r0 : sh.r0 * k)), lda, transA ? 1 : 0,
        p.b + 4 * sh.e0 * k * n, ldb, transB ? 1 : 0,
        p.c + 4 * (sh.e0 * m * n + sh.r0 * n), n, p.bias, 64 + t * this.workspace,
      ],
    }));
  }

  run(job: GemmJob): boolean {
    const { m, n, k } = job;
    const batch = job.batch ?? 1;
    const build = job.build ?? 'simd128';
    const macs = batch * m * n * k;
    const copied = batch * (m * k + k * n + m * n);
    if (!this.exports[build] || (batch === 1 && m < 8) || macs < this.minWork || macs < this.minIntensity * copied || !this.isReady()) return false;
    const r = this.regions();
    const a = r.take(batch * m * k);
    const b = r.take(batch * k * n);
    const bias = job.bias ? r.take(n) : 0;
    const c = r.take(batch * m * n);
    const heap = this.heap(r.end());
    heap.set(job.a.subarray(0, batch * m * k), a >> 2);
    heap.set(job.b.subarray(0, batch * k * n), b >> 2);
    if (job.bias) heap.set(job.bias, bias >> 2);
    this.dispatch(build, this.gemmTasks({ m, n, k, a, transA: job.transA, b, transB: job.transB, c, bias }, batch));
    job.out.set(new Float32Array(this.memory.buffer, c, batch * m * n));
    return true;
  }

  /**
   * Runs a convolution product whole in the shared memory: only the images (or dy), the filter
   * and the result are copied, and no thread ever holds the whole patch matrix. Each thread runs
   * the calling thread's blocked loop (native/conv.c) on its share: the forward pass on its
   * output rows, the input gradient on its whole images (it zeroes and scatters into those
   * only), the filter gradient on its units of 256 patch rows (each unit's product into a part of
   * its own, the parts then added in unit order) when the parts are small, else on its rows of dw
   * (gathering every block of patches, multiplying its columns). Every output is the same sum as
   * on one thread (bitwise). With `job.local` (the forward pass and the input gradient on tfjs's
   * heap), the calling thread computes its share there instead, and only the workers' images go
   * in and their results out (measured on 2 threads: the copies per train step 9–10 → 7.3–7.7 ms
   * in the 3D bench encoder, 24 → 17.5 ms in the 2D one).
   */
  conv(job: ConvJob): boolean {
    const build = job.build ?? 'simd128';
    const [nImg, d, h, w, c] = job.volume as [number, number, number, number, number];
    const g = job.geometry;
    const rows = nImg * g[9]! * g[10]! * g[11]!;
    const kk = g[0]! * g[1]! * g[2]! * c;
    const co = job.cout;
    const images = splitImages(nImg, this.threads);
    // Declined, for the calling thread's blocked loop (the same bits), when a share would take the
    // GEMM's few-rows path, which sums in another order: the filter gradient with kk < 4 (one
    // thread runs it as one whole GEMM), an input-gradient share of whole images under 4 rows.
    const fewRows = (job.mode === 'filter' && kk < 4) || (job.mode === 'input' && images.some(([, count]) => (count * rows) / nImg < 4));
    if (!this.exports[build] || rows * kk * co < this.minWork || rows < 8 || fewRows || !this.isReady()) return false;
    const image = d * h * w * c;
    const units = Math.ceil(rows / 256);
    const byUnits = job.mode === 'filter' && units > 1 && kk * co <= FILTER_UNITS_MAX_PART && units * kk * co <= FILTER_UNITS_MAX_FLOATS;
    const r = this.regions();
    const x = r.take(nImg * image); // the images (forward, filter) or dx (input)
    const chunk = byUnits ? 256 : Math.min(rows, job.chunkRows ?? rows);
    const block = (chunk + 3) * kk * 4; // bytes of one block of patch rows; one per thread
    const cols = r.take((this.threads * block) / 4);
    const other = r.take(job.mode === 'filter' ? rows * co : kk * co); // the filter, or dy (filter mode)
    const dyOrOut = r.take(job.mode === 'filter' ? (byUnits ? units : 1) * kk * co : rows * co); // dy (input), the result, or the filter gradient's parts
    const heap = this.heap(r.end());
    const local = job.local;
    if (job.mode === 'forward') {
      // each thread gathers and multiplies its rows one L2-sized block at a time (cols: a block per
      // thread); with `local`, the calling thread's rows are computed where the job lives, and only
      // the images the workers' rows read (an output row reads its own image) go in, their rows out
      const shares = splitJob(rows, 1, this.threads);
      const from = local && shares.length > 1 ? shares[1]!.r0 : 0;
      const firstImage = Math.floor(from / (rows / nImg));
      heap.set(job.a.subarray(firstImage * image, nImg * image), (x >> 2) + firstImage * image);
      heap.set(job.b.subarray(0, kk * co), other >> 2);
      const tasks = shares.map((sh, t) => ({
        op: OP_CONV_ROWS,
        args: [nImg, d, h, w, c, ...g, sh.r0, sh.rows, x, other, dyOrOut, co, chunk, cols + t * block, 64 + t * this.workspace],
      }));
      this.dispatch(build, tasks, from > 0 ? () => local!(0, shares[0]!.rows) : undefined);
      job.out.set(new Float32Array(this.memory.buffer, dyOrOut + from * co * 4, (rows - from) * co), from * co);
    } else if (byUnits) {
      // each thread gathers and multiplies its own units of 256 patch rows, each into its own part;
      // the parts are then added in unit order (the order of the depth blocks of one GEMM)
      heap.set(job.a.subarray(0, nImg * image), x >> 2);
      heap.set(job.b.subarray(0, rows * co), other >> 2);
      const per = Math.ceil(units / this.threads);
      const tasks = Array.from({ length: Math.ceil(units / per) }, (_, t) => ({
        op: OP_CONV_FILTER_UNITS,
        args: [nImg, d, h, w, c, ...g, x, other, dyOrOut + t * per * kk * co * 4, co, t * per, Math.min(per, units - t * per), cols + t * block, 64 + t * this.workspace],
      }));
      this.dispatch(build, tasks);
      this.exports[build]!.conv_filter_sum(dyOrOut, units, kk * co); // in unit order, into the first part
      job.out.set(new Float32Array(this.memory.buffer, dyOrOut, kk * co));
    } else if (job.mode === 'filter') {
      // each thread gathers every block of patch rows and multiplies its own rows of dw (its columns of the block)
      heap.set(job.a.subarray(0, nImg * image), x >> 2);
      heap.set(job.b.subarray(0, rows * co), other >> 2);
      const tasks = splitJob(kk, 1, this.threads).map((sh, t) => ({
        op: OP_CONV_FILTER,
        args: [nImg, d, h, w, c, ...g, x, other, dyOrOut, co, sh.r0, sh.rows, chunk, cols + t * block, 64 + t * this.workspace],
      }));
      this.dispatch(build, tasks);
      job.out.set(new Float32Array(this.memory.buffer, dyOrOut, kk * co));
    } else {
      // each thread multiplies and scatters its own images' rows, one block at a time; with
      // `local`, the calling thread's images where the job lives, only the workers' go in and out
      const from = local && images.length > 1 ? images[1]![0] : 0;
      const per = (rows / nImg) * co; // dy floats per image
      heap.set(job.a.subarray(from * per, nImg * per), (dyOrOut >> 2) + from * per);
      heap.set(job.b.subarray(0, kk * co), other >> 2);
      const tasks = images.map(([i0, count], t) => ({
        op: OP_CONV_INPUT,
        args: [count, d, h, w, c, ...g, i0, dyOrOut, other, x, co, chunk, cols + t * block, 64 + t * this.workspace],
      }));
      this.dispatch(build, tasks, from > 0 ? () => local!(0, images[0]![1]) : undefined);
      job.out.set(new Float32Array(this.memory.buffer, x + from * image * 4, (nImg - from) * image), from * image);
    }
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
 * Runs vdafm's large matrix products and convolution products (the `VdafmGemm` and
 * `VdafmConvGemm` kernels, on the tfjs 'wasm' backend) on several threads in Node. Importing
 * `vdafm/node` already does this by default (see {@link defaultThreadCount}); call it to choose
 * the thread count or `minWork`, or to have the workers up before the first product. Results are
 * bitwise identical to one thread. Stock tfjs kernels (elementwise ops, XNNPACK) are not
 * affected: tfjs-backend-wasm stays single-threaded in Node. Call {@link disableThreads} to stop
 * the workers.
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
