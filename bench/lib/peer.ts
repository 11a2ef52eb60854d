/**
 * Runs a Python (PyTorch) peer script and parses its JSON answer. A missing interpreter or a
 * missing `torch` gives `{ status: 'not installed' }`, never an exception, so the bench still
 * succeeds.
 *
 * Protocol: the script prints exactly one JSON object on stdout (see bench/peer/common.py):
 * `{ status: 'ok', torch, blas, results: [{ threads, forward: [ms...], train: [ms...],
 * forward_warmup, train_warmup, max_rss_kb }] }` or `{ status: 'not installed', error }`.
 *
 * @packageDocumentation
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Raw timings of one thread setting, in milliseconds. */
interface PeerThreadResult {
  threads: number;
  forward: number[];
  train: number[];
  /** Optional: batch-1 inference timings (per-patient latency), in ms. */
  predict?: number[];
  /** Optional: timings of a reference GEMM, in ms. */
  gemm?: number[];
  forward_warmup: number;
  train_warmup: number;
  max_rss_kb: number;
  loss?: number;
}

/** Parsed answer of a peer script. */
export type PeerAnswer =
  | { status: 'ok'; torch: string; blas: string; python: string; results: PeerThreadResult[] }
  | { status: 'not installed' | 'failed'; error: string };

/**
 * The peer's environment. OpenMP threads (PyTorch's intra-op pool) spin while they wait by
 * default; on a machine whose cores other processes also use, a spinning thread holds the core
 * its partner needs: PyTorch's 2-thread attention step took 1126 ms against 118 ms on 1 thread at
 * load 7 on 2 cores, and 122 ms with `OMP_WAIT_POLICY=PASSIVE`. The peer runs passive unless the
 * environment says otherwise (set `OMP_WAIT_POLICY=ACTIVE` to time it spinning).
 */
function peerEnv(policy: 'passive' | 'default' = 'passive', coreType: string | null = blasCoreType): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, PYTHONUNBUFFERED: '1' };
  if (policy === 'default') delete env['OMP_WAIT_POLICY']; // only used when the environment leaves it free
  if (coreType) env['OPENBLAS_CORETYPE'] = coreType;
  return env;
}

/** The OpenBLAS core every peer runs with (`OPENBLAS_CORETYPE`), set by {@link chooseBlasCore}; null = OpenBLAS's own pick. */
let blasCoreType: string | null = null;

/** What {@link chooseBlasCore} measured and chose. */
export interface BlasCoreChoice {
  /** The core OpenBLAS picks by itself on this CPU (null: PyTorch's BLAS is not OpenBLAS, or no peer). */
  detected: string | null;
  /** The core the peers run with: `detected`, or the faster one set through `OPENBLAS_CORETYPE`. */
  chosen: string | null;
  /** torch.mm 1024³ GFLOP/s on 1 thread (best of 5) per core tried; the detected core under its own name. */
  rates: Record<string, number>;
  /** One line for the report. */
  note: string;
}

/**
 * The OpenBLAS cores (DYNAMIC_ARCH names, as `OPENBLAS_CORETYPE` takes them) whose kernels a CPU
 * with these /proc/cpuinfo flags can run, widest last.
 *
 * @example
 * blasCoreCandidates(['fma', 'avx2']); // ['Haswell', 'Zen']
 */
export function blasCoreCandidates(features: readonly string[]): string[] {
  const has = (f: string) => features.includes(f);
  const out: string[] = [];
  if (has('avx2') && has('fma')) out.push('Haswell', 'Zen');
  if (has('avx512f') && has('avx512vl') && has('avx512bw')) out.push('SkylakeX');
  if (has('avx512_bf16')) out.push('Cooperlake');
  if (has('avx512_fp16') || has('amx_tile')) out.push('SapphireRapids');
  return out;
}

/**
 * The core to run the peers with: the fastest of those that ran under their own name, unless the
 * core OpenBLAS detected is within `margin` of it (then OpenBLAS's own pick stays: a probe's noise
 * must not move the floor on a CPU it knows).
 *
 * @example
 * pickBlasCore('Prescott', { Prescott: 14, Cooperlake: 99, SkylakeX: 78 }); // 'Cooperlake'
 * pickBlasCore('Zen', { Zen: 126, Haswell: 129 }); // 'Zen'
 */
export function pickBlasCore(detected: string, rates: Readonly<Record<string, number>>, margin = 1.1): string {
  let best = detected;
  for (const [core, rate] of Object.entries(rates)) if (rate > (rates[best] ?? 0)) best = core;
  return (rates[best] ?? 0) > margin * (rates[detected] ?? 0) ? best : detected;
}

/** The core named in a peer's `blas` field (bench/peer/common.py blas_library: "... (core X)"). */
function coreOf(blas: string): string | null {
  return /\(core ([^)]+)\)\s*$/.exec(blas)?.[1] ?? null;
}

/**
 * Gives every later peer of this process the fastest OpenBLAS core this CPU can run. A
 * DYNAMIC_ARCH OpenBLAS falls back to generic kernels on a CPU model it does not know: Debian's
 * 0.3.21 ran an Intel Xeon of model 207 (AVX-512) on its "Prescott" (SSE3) kernels, torch.mm at 14
 * GFLOP/s per core against 99 with `OPENBLAS_CORETYPE=Cooperlake`, which made the floor 0.81× and
 * every GEMM-bound ratio to PyTorch flattering. Times torch.mm 1024³ on 1 thread under OpenBLAS's
 * own pick and under each of {@link blasCoreCandidates}, keeps a core only when OpenBLAS reports
 * it by that name, and picks with {@link pickBlasCore}. An `OPENBLAS_CORETYPE` already in the
 * environment is kept as it is (no probe).
 */
export async function chooseBlasCore(python: string, features: readonly string[], log: (m: string) => void): Promise<BlasCoreChoice> {
  const script = fileURLToPath(new URL('../peer/gemm_peak.py', import.meta.url));
  const args = ['--threads', '1', '--size', '1024', '--reps', '5', '--warmup', '1'];
  const probe = async (core: string | null) => {
    const answer = await new Promise<PeerAnswer>((resolve) => {
      execFile(python, [script, ...args], { timeout: 120_000, env: peerEnv('passive', core) }, (_e, stdout) => {
        const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
        try {
          resolve(line ? (JSON.parse(line) as PeerAnswer) : { status: 'failed', error: 'no JSON' });
        } catch {
          resolve({ status: 'failed', error: 'bad JSON' });
        }
      });
    });
    if (answer.status !== 'ok') return null;
    const ms = Math.min(...(answer.results[0]?.gemm ?? []));
    return { core: coreOf(answer.blas), gflops: (2 * 1024 ** 3) / (ms * 1e6) };
  };
  const fromEnv = process.env['OPENBLAS_CORETYPE'];
  if (fromEnv) {
    const p = await probe(null);
    blasCoreType = null; // the environment's value reaches the peers as it is
    return { detected: p?.core ?? null, chosen: p?.core ?? null, rates: {}, note: `OpenBLAS core: ${p?.core ?? '?'} (OPENBLAS_CORETYPE=${fromEnv} from the environment)` };
  }
  const own = await probe(null);
  if (!own?.core) {
    blasCoreType = null;
    return { detected: null, chosen: null, rates: {}, note: own ? 'PyTorch\'s BLAS is not OpenBLAS: no core to choose' : 'OpenBLAS core: no peer' };
  }
  const rates: Record<string, number> = { [own.core]: own.gflops };
  for (const core of blasCoreCandidates(features)) {
    if (core.toLowerCase() === own.core.toLowerCase()) continue;
    const p = await probe(core);
    if (p?.core?.toLowerCase() === core.toLowerCase()) rates[p.core] = p.gflops;
  }
  const chosen = pickBlasCore(own.core, rates);
  blasCoreType = chosen === own.core ? null : chosen;
  const list = Object.entries(rates).map(([c, r]) => `${c} ${r.toFixed(1)}`).join(', ');
  const note =
    chosen === own.core
      ? `OpenBLAS core: ${own.core}, its own pick (torch.mm 1024³, 1 thread, GFLOP/s: ${list})`
      : `OpenBLAS core: ${chosen}, set with OPENBLAS_CORETYPE for every peer; OpenBLAS's own pick on this CPU is ${own.core} (torch.mm 1024³, 1 thread, GFLOP/s: ${list})`;
  log(note);
  return { detected: own.core, chosen, rates, note };
}

/**
 * Whether the environment leaves OpenMP's wait policy to the bench: then multi-thread peers are
 * also timed with OpenMP's default (spin a while, then sleep), and the faster of the two counts
 * (measured on 2 quiet cores: passive won the attention step, 28 against 53 ms; the default won
 * the tri-modal step, 43 against 68 ms, and the 2D encoder, 94 against 124 ms).
 */
export function waitPolicyFree(): boolean {
  return process.env['OMP_WAIT_POLICY'] === undefined;
}

/** Runs `python script ...args` with a timeout and parses its JSON answer. */
export function runPeer(python: string, script: string, args: string[], timeoutMs: number, policy: 'passive' | 'default' = 'passive'): Promise<PeerAnswer> {
  if (python.includes('/') && !existsSync(python)) {
    return Promise.resolve({ status: 'not installed', error: `${python} does not exist` });
  }
  return new Promise((resolve) => {
    execFile(
      python,
      [script, ...args],
      { timeout: timeoutMs, maxBuffer: 16 * 2 ** 20, env: peerEnv(policy) },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
        if (line) {
          try {
            resolve(JSON.parse(line) as PeerAnswer);
            return;
          } catch {
            // fall through
          }
        }
        const code = (error as NodeJS.ErrnoException | null)?.code;
        if (code === 'ENOENT') {
          resolve({ status: 'not installed', error: `${python} not found` });
          return;
        }
        resolve({ status: 'failed', error: `${error?.message ?? 'no JSON on stdout'}\n${stderr.slice(-2000)}` });
      },
    );
  });
}

/**
 * A peer running in `--serve` mode: a persistent Python process answering timing requests, so
 * that PyTorch steps can be interleaved with tfjs steps (see bench/peer/common.py).
 */
export class PeerServer {
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private buffer = '';
  private closed = false;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i).trim();
        this.buffer = this.buffer.slice(i + 1);
        if (!line.startsWith('{')) continue;
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = null;
          w(line);
        } else this.lines.push(line);
      }
    });
    const end = () => {
      this.closed = true;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(null);
      }
    };
    child.on('exit', end);
    child.on('error', end);
  }

  private next(timeoutMs: number): Promise<string | null> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve(null);
      }, timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  /**
   * Starts `python script ...args --serve` (OpenMP wait `policy`, see {@link peerEnv}); resolves
   * to the server, or to the peer's failure answer.
   */
  static async start(python: string, script: string, args: string[] = [], policy: 'passive' | 'default' = 'passive', timeoutMs = 60_000): Promise<{ server: PeerServer; info: PeerAnswer } | { server: null; info: PeerAnswer }> {
    if (python.includes('/') && !existsSync(python)) return { server: null, info: { status: 'not installed', error: `${python} does not exist` } };
    const child = spawn(python, [script, ...args, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'], env: peerEnv(policy) });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const spawnError = new Promise<string | null>((resolve) => {
      child.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ENOENT' ? 'not found' : e.message));
      child.on('spawn', () => resolve(null));
    });
    const err = await spawnError;
    if (err) return { server: null, info: { status: err === 'not found' ? 'not installed' : 'failed', error: `${python}: ${err}` } };
    const server = new PeerServer(child);
    const first = await server.next(timeoutMs);
    if (!first) {
      server.close();
      return { server: null, info: { status: 'failed', error: `no answer from ${python} ${script}\n${stderr}` } };
    }
    const info = JSON.parse(first) as PeerAnswer;
    if (info.status !== 'ok') {
      server.close();
      return { server: null, info };
    }
    return { server, info };
  }

  /** Times `reps` runs of `phase` with `threads` threads inside the peer; returns ms samples. */
  async time(threads: number, phase: string, reps: number, timeoutMs = 120_000): Promise<number[]> {
    this.child.stdin!.write(`${JSON.stringify({ threads, phase, reps })}\n`);
    const line = await this.next(timeoutMs);
    if (!line) throw new Error('PyTorch peer stopped answering');
    const answer = JSON.parse(line) as { samples?: number[]; error?: string };
    if (!answer.samples) throw new Error(`PyTorch peer: ${answer.error ?? 'bad answer'}`);
    return answer.samples;
  }

  /** Asks the peer to exit (and kills it if it does not). */
  close(): void {
    if (this.closed) return;
    try {
      this.child.stdin!.write('{"cmd": "quit"}\n');
      this.child.stdin!.end();
    } catch {
      // already gone
    }
    setTimeout(() => {
      if (!this.closed) this.child.kill();
    }, 2000).unref();
  }
}
