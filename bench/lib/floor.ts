/**
 * The hardware floor, measured in every bench run (see bench/README.md, "The floor").
 *
 * - **wasm peak**: native/peak.c (shipped as bench/lib/wasm-peak.generated.ts, so no compiler is
 *   needed), a register-only multiply-add loop, in its simd128 build (`f32x4.mul` + `f32x4.add`)
 *   and its relaxed-SIMD build (`f32x4.relaxed_madd`), on 1 thread and on 2 threads at once (the
 *   calling thread + a worker): the ceiling no wasm GEMM passes on this engine and CPU.
 * - **PyTorch GEMM**: torch.mm at 2048³ with 1 and 2 threads (bench/peer/gemm_peak.py).
 * - **vdafm GEMM**: `fastMatMul` on the wasm backend at the model's shapes and at 1024³, in both
 *   builds, on 1 and 2 threads (vdafm/node's pool), and its efficiency against the peak of the
 *   same build and thread count.
 * - **floor(t)** = PyTorch GEMM rate at t threads ÷ the best wasm peak at t threads: the ratio to
 *   PyTorch that a wasm implementation doing the same arithmetic at the wasm peak would get. A
 *   workload's ratio ÷ floor is how far above that unavoidable part it is.
 *
 * Rates are the BEST of several short repetitions (for the peaks and PyTorch alike): load from
 * other processes only slows a repetition down, so the fastest is the best estimate of what the
 * hardware does; medians are reported beside them.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { fastKernelsBuild, relaxedSimdSupported, setFastKernelsEnabled } from '../../src/kernels/module.js';
import { disableThreads, enableThreads } from '../../src/node/threads.js';
import { fastMatMul } from '../../src/ops/matmul.js';
import { type BlasCoreChoice, runPeer, waitPolicyFree } from './peer.js';
import { performance, quantile } from './stats.js';
import { useBackend } from './tfjs.js';
import type { BenchContext } from './types.js';
import { PEAK_RELAXED_WASM_BASE64, PEAK_SIMD128_WASM_BASE64 } from './wasm-peak.generated.js';

/** A measured rate: best and median of the repetitions, GFLOP/s. */
interface Rate {
  best: number;
  median: number;
  reps: number;
  /** Every repetition, GFLOP/s. */
  samples: number[];
}

/** vdafm's GEMM at one shape, build and thread count. */
interface GemmRate {
  shape: string;
  build: 'simd128' | 'relaxed';
  threads: number;
  rate: Rate;
  /** rate.best ÷ the wasm peak (best) of the same build and thread count. */
  efficiency: number | null;
}

/** Everything the floor section reports. */
export interface FloorReport {
  cpu: { model: string; vendor: string; features: string[] };
  /** The wasm multiply-add peak per build, at 1 and 2 threads (relaxed: null when unsupported). */
  peak: { simd128: Record<1 | 2, Rate>; relaxed: Record<1 | 2, Rate> | null };
  /** PyTorch torch.mm rate at 1 and 2 threads, or why it is missing. */
  torch: { status: 'ok' | 'not installed' | 'failed' | 'skipped'; size: number; rates: Partial<Record<1 | 2, Rate>>; note: string };
  gemm: GemmRate[];
  /** floor(t) = torch best ÷ best wasm peak (best) at t threads; null without PyTorch. */
  floor: Record<1 | 2, number | null>;
  /** Which wasm build gives the best peak (the floor's denominator). */
  bestBuild: 'simd128' | 'relaxed';
  /**
   * PyTorch's forward-convolution rate at the encoders' main shapes (oneDNN, not its BLAS), and
   * the conv-rate floor: that rate ÷ the best wasm peak, at 1 and 2 threads. Not the target's
   * floor: it says how much of an encoder's ratio is PyTorch's convolutions outrunning its GEMM.
   */
  conv: Record<'conv2d' | 'conv3d', { rates: Partial<Record<1 | 2, Rate>>; floor: Record<1 | 2, number | null> }>;
  /** The OpenBLAS core PyTorch ran with (bench/lib/peer.ts chooseBlasCore); absent when not probed. */
  blasCore?: BlasCoreChoice | null;
}

/** Vector features of the CPU worth naming (from /proc/cpuinfo flags). */
const FEATURES = ['sse4_2', 'avx', 'fma', 'avx2', 'avx512f', 'avx512vl', 'avx512bw', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'avx_vnni', 'amx_tile', 'neon', 'asimd', 'sve'];

/** CPU model, vendor and vector features (Linux /proc/cpuinfo; model only elsewhere). */
export function cpuFeatures(fallbackModel: string): FloorReport['cpu'] {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
    const flags = new Set((field('flags') ?? field('Features') ?? '').split(/\s+/));
    return { model: field('model name') ?? fallbackModel, vendor: field('vendor_id') ?? '?', features: FEATURES.filter((f) => flags.has(f)) };
  } catch {
    return { model: fallbackModel, vendor: '?', features: [] };
  }
}

function rateOf(gflops: number[]): Rate {
  const sorted = [...gflops].sort((a, b) => a - b);
  return { best: sorted[sorted.length - 1] ?? Number.NaN, median: quantile(sorted, 0.5), reps: sorted.length, samples: gflops };
}

/** Two measurements of the same peak as one. */
function poolRates(a: Record<1 | 2, Rate>, b: Record<1 | 2, Rate>): Record<1 | 2, Rate> {
  return { 1: rateOf([...a[1].samples, ...b[1].samples]), 2: rateOf([...a[2].samples, ...b[2].samples]) };
}

const X = 0.9999999;
const Y = 1e-7;

/** The peak loop in a worker: waits for a message with the iteration count, runs, answers the ms. */
const PEAK_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const peak = new WebAssembly.Instance(workerData.module, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }).exports.peak;
peak(20000, ${X}, ${Y});
parentPort.on('message', (iters) => {
  const t0 = performance.now();
  peak(iters, ${X}, ${Y});
  parentPort.postMessage(performance.now() - t0);
});
parentPort.postMessage('ready');
`;

/** Peak GFLOP/s of one build on 1 thread and on 2 threads together (best of `reps`). */
async function measurePeak(b64: string, reps: number, seconds: number): Promise<Record<1 | 2, Rate>> {
  const module = new WebAssembly.Module(new Uint8Array(Buffer.from(b64, 'base64')));
  // the module imports a memory (built like the kernels) but touches none
  const ex = new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }).exports as { peak: (n: number, x: number, y: number) => number; chains: () => number };
  const flopsPerIter = ex.chains() * 4 * 2;
  ex.peak(20_000, X, Y);
  // iterations for ~`seconds` per repetition
  let iters = 100_000;
  const t0 = performance.now();
  ex.peak(iters, X, Y);
  iters = Math.max(10_000, Math.round((iters * seconds * 1000) / Math.max(0.01, performance.now() - t0)));
  const one: number[] = [];
  for (let r = 0; r < reps; r++) {
    const s = performance.now();
    ex.peak(iters, X, Y);
    one.push((iters * flopsPerIter) / (performance.now() - s) / 1e6);
  }
  const worker = new Worker(PEAK_WORKER, { eval: true, execArgv: [], workerData: { module } });
  const answers: Array<(v: unknown) => void> = [];
  worker.on('message', (m) => answers.shift()?.(m));
  const next = () => new Promise((resolve) => answers.push(resolve));
  try {
    await next(); // ready
    const two: number[] = [];
    // twice the repetitions: on a shared machine both cores are free at once less often
    for (let r = 0; r < 2 * reps; r++) {
      const theirs = next();
      worker.postMessage(iters);
      const s = performance.now();
      ex.peak(iters, X, Y);
      const mine = performance.now() - s;
      const other = (await theirs) as number;
      // both threads ran `iters` steps; the pair's rate is the sum of each thread's
      two.push((iters * flopsPerIter) / mine / 1e6 + (iters * flopsPerIter) / other / 1e6);
    }
    return { 1: rateOf(one), 2: rateOf(two) };
  } finally {
    await worker.terminate();
  }
}

/** The shapes vdafm's GEMM is timed at: the attention/VDAFM block's products and a large square one. */
const GEMM_SHAPES: Array<{ name: string; a: number[]; b: number[]; tA?: boolean; tB?: boolean }> = [
  { name: '[784,256]·[256,1024] (FFN up, B16×49 tokens)', a: [784, 256], b: [256, 1024] },
  { name: '[784,1024]·[1024,256] (FFN down)', a: [784, 1024], b: [1024, 256] },
  { name: '[1024,256]·[256,256] (k/v projection, B16×64 tokens)', a: [1024, 256], b: [256, 256] },
  { name: '[784,256]ᵀ·[784,1024] (weight gradient)', a: [784, 256], b: [784, 1024], tA: true },
  { name: '128×[49,32]·[64,32]ᵀ (attention scores, batched)', a: [128, 49, 32], b: [128, 64, 32], tB: true },
  { name: '[1024,1024]·[1024,1024]', a: [1024, 1024], b: [1024, 1024] },
];

/** Times vdafm's GEMM (fastMatMul on wasm) at every shape, build and thread count, interleaved. */
async function measureGemm(ctx: BenchContext, builds: Array<'simd128' | 'relaxed'>, reps: number): Promise<Array<Omit<GemmRate, 'efficiency'>>> {
  await useBackend('wasm');
  const shapes = ctx.quick ? GEMM_SHAPES.filter((s, i) => i === 0 || i === GEMM_SHAPES.length - 1) : GEMM_SHAPES;
  const inputs = shapes.map((s) => ({ ...s, x: tf.randomNormal(s.a, 0, 1, 'float32', 1), y: tf.randomNormal(s.b, 0, 1, 'float32', 2) }));
  const samples = new Map<string, number[]>();
  const key = (shape: string, build: string, threads: number) => `${shape}|${build}|${threads}`;
  // The wasm backend runs kernels synchronously: the product is done when fastMatMul returns (no
  // read-back, which would time a copy of the output too; and no tf.tidy(() => ….dataSync()),
  // which walks the returned typed array element by element).
  const product = (s: (typeof inputs)[number]) => () => {
    fastMatMul(s.x as tf.Tensor2D, s.y as tf.Tensor2D, { transposeA: s.tA ?? false, transposeB: s.tB ?? false }).dispose();
  };
  try {
    // warm-up: V8 first runs a wasm function in its baseline tier and optimizes it in the
    // background after a few calls; time only optimized code
    for (const build of builds) {
      setFastKernelsEnabled(true, { relaxedSimd: build === 'relaxed' });
      for (let i = 0; i < 4; i++) {
        for (const s of inputs) product(s)();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    for (const threads of [1, 2] as const) {
      if (threads === 2) await enableThreads({ threads: 2 });
      else await disableThreads();
      for (let r = 0; r < reps; r++) {
        for (const s of inputs) {
          const flops = 2 * s.x.size * (s.tB ? s.y.shape[s.y.rank - 2]! : s.y.shape[s.y.rank - 1]!);
          // repeat small products to ~20 ms per sample
          const inner = Math.max(1, Math.round(2e8 / flops));
          for (const build of builds) {
            setFastKernelsEnabled(true, { relaxedSimd: build === 'relaxed' });
            if (fastKernelsBuild() !== build) throw new Error(`floor: the ${build} build of the GEMM is not active`);
            const run = product(s);
            run();
            const t0 = performance.now();
            for (let i = 0; i < inner; i++) run();
            const ms = (performance.now() - t0) / inner;
            const k = key(s.name, build, threads);
            samples.set(k, [...(samples.get(k) ?? []), flops / ms / 1e6]);
          }
        }
      }
    }
  } finally {
    setFastKernelsEnabled(true);
    await disableThreads();
    tf.dispose(inputs.flatMap((s) => [s.x, s.y]));
  }
  const out: Array<Omit<GemmRate, 'efficiency'>> = [];
  for (const s of shapes) for (const build of builds) for (const threads of [1, 2]) out.push({ shape: s.name, build, threads, rate: rateOf(samples.get(key(s.name, build, threads)) ?? []) });
  return out;
}

/** Pools two rates' repetitions. */
function pooled(a: Rate | undefined, b: Rate | undefined): Rate | undefined {
  return a && b ? rateOf([...a.samples, ...b.samples]) : (a ?? b);
}

/** {@link pooled} per thread count. */
function pooledRates(a: Partial<Record<1 | 2, Rate>> | undefined, b: Partial<Record<1 | 2, Rate>> | undefined): Partial<Record<1 | 2, Rate>> {
  const out: Partial<Record<1 | 2, Rate>> = {};
  for (const t of [1, 2] as const) {
    const r = pooled(a?.[t], b?.[t]);
    if (r) out[t] = r;
  }
  return out;
}

/**
 * Measures the floor (a few seconds in `--quick`, ~30 s in a full run). With `previous` (the
 * floor measured at the start of the run), the repetitions of both are pooled: a full run
 * measures at its start and at its end, so that the best repetitions come from the quieter
 * moment of a shared machine.
 */
export async function measureFloor(ctx: BenchContext, cpuModel: string, previous: FloorReport | null = null): Promise<FloorReport> {
  const now = await measureFloorOnce(ctx, cpuModel);
  if (!previous) return now;
  const both = (a: Record<1 | 2, Rate>, b: Record<1 | 2, Rate>) => ({ 1: pooled(a[1], b[1])!, 2: pooled(a[2], b[2])! });
  const peakSimd = both(previous.peak.simd128, now.peak.simd128);
  const peakRelaxed = previous.peak.relaxed && now.peak.relaxed ? both(previous.peak.relaxed, now.peak.relaxed) : (now.peak.relaxed ?? previous.peak.relaxed);
  let torch = now.torch.status === 'ok' ? now.torch : previous.torch;
  if (now.torch.status === 'ok' && previous.torch.status === 'ok') torch = { ...now.torch, rates: pooledRates(previous.torch.rates, now.torch.rates) };
  const gemm = now.gemm.map((g) => {
    const before = previous.gemm.find((x) => x.shape === g.shape && x.build === g.build && x.threads === g.threads);
    const rate = pooled(before?.rate, g.rate)!;
    const peak = (g.build === 'relaxed' ? peakRelaxed : peakSimd)?.[g.threads as 1 | 2];
    return { ...g, rate, efficiency: peak ? rate.best / peak.best : null };
  });
  const convRates: ConvRates = {
    conv2d: pooledRates(previous.conv?.conv2d.rates, now.conv.conv2d.rates),
    conv3d: pooledRates(previous.conv?.conv3d.rates, now.conv.conv3d.rates),
  };
  return finish(now.cpu, peakSimd, peakRelaxed, torch, gemm, convRates);
}

/** The GFLOP/s of gemm_peak.py's answer: `torch.mm` (and its size) and the convolutions, per thread count. */
function peerRates(results: ReadonlyArray<{ threads: number; gemm?: number[] }>): { size: number; gemm: Partial<Record<1 | 2, Rate>> } & ConvRates {
  const out: { size: number; gemm: Partial<Record<1 | 2, Rate>> } & ConvRates = { size: 2048, gemm: {}, conv2d: {}, conv3d: {} };
  for (const r of results) {
    if (r.threads !== 1 && r.threads !== 2) continue;
    const raw = r as unknown as Record<string, number[] | number | undefined>;
    out.size = raw['size'] as number;
    out.gemm[r.threads] = rateOf((r.gemm ?? []).map((ms) => (2 * out.size ** 3) / ms / 1e6));
    for (const k of ['conv2d', 'conv3d'] as const) {
      const samples = raw[k];
      const macs = raw[`${k}_macs`];
      if (Array.isArray(samples) && samples.length && typeof macs === 'number') out[k][r.threads] = rateOf(samples.map((ms) => (2 * macs) / ms / 1e6));
    }
  }
  return out;
}

/** PyTorch's convolution rates per kind and thread count (filled by the peer). */
export type ConvRates = Record<'conv2d' | 'conv3d', Partial<Record<1 | 2, Rate>>>;

/** The floors and the best build from the measured rates (exported for its test). */
export function finish(
  cpu: FloorReport['cpu'],
  peakSimd: Record<1 | 2, Rate>,
  peakRelaxed: Record<1 | 2, Rate> | null,
  torch: FloorReport['torch'],
  gemm: GemmRate[],
  convRates: ConvRates = { conv2d: {}, conv3d: {} },
): FloorReport {
  const bestPeak = (t: 1 | 2) => Math.max(peakSimd[t].best, peakRelaxed?.[t].best ?? 0);
  const over = (rates: Partial<Record<1 | 2, Rate>>) => (t: 1 | 2) => {
    const r = rates[t];
    return r ? r.best / bestPeak(t) : null;
  };
  const floor = over(torch.rates);
  const conv = (k: 'conv2d' | 'conv3d') => ({ rates: convRates[k], floor: { 1: over(convRates[k])(1), 2: over(convRates[k])(2) } });
  return {
    cpu,
    peak: { simd128: peakSimd, relaxed: peakRelaxed },
    torch,
    gemm,
    conv: { conv2d: conv('conv2d'), conv3d: conv('conv3d') },
    floor: { 1: floor(1), 2: floor(2) },
    bestBuild: peakRelaxed && peakRelaxed[1].best > peakSimd[1].best ? 'relaxed' : 'simd128',
  };
}

async function measureFloorOnce(ctx: BenchContext, cpuModel: string): Promise<FloorReport> {
  const cpu = cpuFeatures(cpuModel);
  const relaxed = relaxedSimdSupported();
  const reps = ctx.quick ? 3 : 7;
  ctx.log(`floor: wasm multiply-add peak (simd128${relaxed ? ' and relaxed SIMD' : '; relaxed SIMD not supported by this engine'})`);
  // short repetitions, before and after the GEMM timings (pooled): a ceiling measured in a
  // moment of load would let the GEMM "beat" it
  const peakReps = ctx.quick ? 4 : 12;
  const peaks = async () => ({
    simd128: await measurePeak(PEAK_SIMD128_WASM_BASE64, peakReps, 0.04),
    relaxed: relaxed ? await measurePeak(PEAK_RELAXED_WASM_BASE64, peakReps, 0.04) : null,
  });
  const before = await peaks();
  ctx.log(`floor: vdafm GEMM at the model's shapes (${relaxed ? 'both builds' : 'simd128'}, 1 and 2 threads)`);
  const builds: Array<'simd128' | 'relaxed'> = relaxed ? ['simd128', 'relaxed'] : ['simd128'];
  const timed = await measureGemm(ctx, builds, ctx.quick ? 2 : 5);
  ctx.log('floor: wasm multiply-add peak again');
  const after = await peaks();
  const peakSimd = poolRates(before.simd128, after.simd128);
  const peakRelaxed = before.relaxed && after.relaxed ? poolRates(before.relaxed, after.relaxed) : null;
  const gemm = timed.map((g) => {
    const peak = (g.build === 'relaxed' ? peakRelaxed : peakSimd)?.[g.threads as 1 | 2];
    return { ...g, efficiency: peak ? g.rate.best / peak.best : null };
  });
  const torch: FloorReport['torch'] = { status: 'skipped', size: 2048, rates: {}, note: '--no-peer' };
  let convRates: ConvRates = { conv2d: {}, conv3d: {} };
  if (ctx.peer) {
    ctx.log('floor: PyTorch GEMM (torch.mm 2048³) and convolutions (the encoders\' shapes), 1 and 2 threads');
    const peerArgs = ['--threads', '1,2', '--conv', '--reps', ctx.quick ? '3' : '9', '--warmup', ctx.quick ? '1' : '2'];
    const script = fileURLToPath(new URL('../peer/gemm_peak.py', import.meta.url));
    const answer = await runPeer(ctx.python, script, peerArgs, 5 * 60_000);
    if (answer.status === 'ok') {
      torch.status = 'ok';
      torch.note = `PyTorch ${answer.torch}, BLAS: ${answer.blas}`;
      if (isReferenceBlas(answer.blas)) {
        torch.note += ` (the reference BLAS: PyTorch's GEMM runs far below this CPU's speed and the floor is meaningless; install an optimised BLAS, e.g. Debian's libopenblas0-pthread)`;
        ctx.log(`WARNING: PyTorch uses the reference BLAS (${answer.blas}): the floor and every ratio to PyTorch are meaningless`);
      }
      let rates = peerRates(answer.results);
      // and with OpenMP's default wait policy (oneDNN's 2-thread F.conv2d ran at its 1-thread rate
      // under OMP_WAIT_POLICY=PASSIVE): the repetitions of both runs are pooled, the best counts
      const spun = waitPolicyFree() && !ctx.quick ? await runPeer(ctx.python, script, peerArgs, 5 * 60_000, 'default') : null;
      if (spun?.status === 'ok') {
        const other = peerRates(spun.results);
        rates = { size: rates.size, gemm: pooledRates(rates.gemm, other.gemm), conv2d: pooledRates(rates.conv2d, other.conv2d), conv3d: pooledRates(rates.conv3d, other.conv3d) };
      }
      torch.size = rates.size;
      torch.rates = rates.gemm;
      convRates = { conv2d: rates.conv2d, conv3d: rates.conv3d };
    } else {
      torch.status = answer.status;
      torch.note = answer.error.split('\n')[0]!;
    }
  }
  return finish(cpu, peakSimd, peakRelaxed, torch, gemm, convRates);
}

/**
 * Whether the BLAS PyTorch reports is the unoptimised reference (netlib) library, e.g. Debian's
 * `/usr/lib/x86_64-linux-gnu/blas/libblas.so.3` (what `python3-torch` installs when no optimised
 * BLAS is present: `torch.mm` then ran at 7.6 GFLOP/s instead of ~240 on an AVX-512 core).
 *
 * @example
 * ```ts
 * isReferenceBlas('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0'); // true
 * isReferenceBlas('/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3'); // false
 * ```
 */
export function isReferenceBlas(blas: string): boolean {
  const libs = blas.toLowerCase();
  if (/openblas|mkl|blis|atlas|accelerate|armpl|flexiblas/.test(libs)) return false;
  return /\/blas\/libblas\.so/.test(libs);
}

/** The kind of machine for PyTorch's GEMM: its widest FMA. */
export function machineKind(features: string[]): string {
  if (features.includes('avx512f')) return 'AVX-512 machine (16-lane FMA)';
  if (features.includes('avx2') && features.includes('fma')) return 'AVX2 machine (8-lane FMA, no AVX-512)';
  if (features.includes('asimd') || features.includes('neon')) return 'Arm NEON machine (4-lane FMA)';
  return 'machine without AVX2/FMA';
}

const gf = (r: Rate | undefined | null) => (r ? `${r.best.toFixed(1)} (median ${r.median.toFixed(1)})` : '–');

/** Markdown/console lines of the floor section. */
export function floorLines(f: FloorReport): string[] {
  const lines = [
    `CPU: ${f.cpu.model} (${f.cpu.vendor}), ${machineKind(f.cpu.features)}; vector features: ${f.cpu.features.join(' ') || 'unknown'}`,
    '',
    '| rate, GFLOP/s: best (median) | 1 thread | 2 threads |',
    '| --- | --- | --- |',
    `| wasm peak, simd128 (f32x4.mul + f32x4.add) | ${gf(f.peak.simd128[1])} | ${gf(f.peak.simd128[2])} |`,
    `| wasm peak, relaxed SIMD (f32x4.relaxed_madd) | ${f.peak.relaxed ? gf(f.peak.relaxed[1]) : 'not supported by this engine'} | ${f.peak.relaxed ? gf(f.peak.relaxed[2]) : '–'} |`,
    `| PyTorch torch.mm ${f.torch.size}³ | ${f.torch.status === 'ok' ? gf(f.torch.rates[1]) : f.torch.status} | ${f.torch.status === 'ok' ? gf(f.torch.rates[2]) : f.torch.status} |`,
    `| **floor** = PyTorch ÷ best wasm peak (${f.bestBuild}) | **${f.floor[1]?.toFixed(2) ?? '–'}×** | **${f.floor[2]?.toFixed(2) ?? '–'}×** |`,
    ...(['conv2d', 'conv3d'] as const).flatMap((k) => {
      const c = f.conv?.[k];
      if (!c?.rates[1] && !c?.rates[2]) return [];
      const shape = k === 'conv2d' ? 'F.conv2d 3×3, 64 ch, 32×32, B16' : 'F.conv3d 3×3×3, 16 ch, 16×32×32, B4';
      const fl = (t: 1 | 2) => (c.floor[t] !== null ? `${c.floor[t]!.toFixed(2)}×` : '–');
      return [`| PyTorch ${shape} (oneDNN) | ${gf(c.rates[1])} | ${gf(c.rates[2])} |`, `| conv-rate floor (${k}) = that ÷ best wasm peak | ${fl(1)} | ${fl(2)} |`];
    }),
    '',
    '| vdafm GEMM (fastMatMul, wasm) | build | 1 thread GFLOP/s best (median) | % of peak | 2 threads GFLOP/s best (median) | % of peak |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  const shapes = [...new Set(f.gemm.map((g) => g.shape))];
  for (const shape of shapes) {
    for (const build of ['simd128', 'relaxed'] as const) {
      const g1 = f.gemm.find((g) => g.shape === shape && g.build === build && g.threads === 1);
      const g2 = f.gemm.find((g) => g.shape === shape && g.build === build && g.threads === 2);
      if (!g1 && !g2) continue;
      const pct = (g: GemmRate | undefined) => (g?.efficiency != null ? `${(g.efficiency * 100).toFixed(0)} %` : '–');
      lines.push(`| ${shape} | ${build} | ${gf(g1?.rate)} | ${pct(g1)} | ${gf(g2?.rate)} | ${pct(g2)} |`);
    }
  }
  if (f.torch.note) lines.push('', f.torch.note);
  if (f.blasCore) lines.push('', f.blasCore.note);
  return lines;
}
