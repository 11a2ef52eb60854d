/**
 * Image-encoder benchmark: train step (and forward) of CNNs built from vdafm's convolutions on the
 * wasm (single-threaded, as tfjs-backend-wasm runs in Node) and pure-JS cpu backends, against a
 * PyTorch peer of the same network at the same thread count, measured in the same run.
 *
 * Run: node --import tsx bench/image-encoder.ts [--reps 5] [--warmup 2] [--cpu] [--cpu-reps 1]
 *      [--only plain2d,encoder3d] [--threads 1] [--python /usr/bin/python3]
 * Prints a table and writes bench/results/image-encoder.json.
 *
 * Workloads (see bench/peer/image_encoder.py for the PyTorch side):
 * - plain2d:   x [16, 128, 128, 1]; 4 conv 3×3 (bias, ReLU) 1→32→64→128→256, strides 1, 2, 2, 2;
 *              global average pool; dense(1). The "2D CNN" row of docs/performance.
 * - plain3d:   x [4, 32, 64, 64, 1]; 4 conv 3×3×3 (bias, ReLU) 1→32→64→128→256, strides 2, 2, 2, 2.
 * - encoder2d: createImageEncoder({ inputShape: [128, 128, 1], widths: [32, 64, 128, 256],
 *              depths: [1, 1, 1, 1], strides: [1, 2, 2, 2], stemStride: 2, norm: 'batch' }) + dense(1).
 * - encoder3d: the same, 3D, inputShape [32, 64, 64, 1], widths [16, 32, 64, 128], norm 'group', batch 4.
 * Loss mean(head(x)²), Adam(1e-3). Forward = `model.predict` (no tape); train step =
 * `optimizer.minimize` of a training-mode call, read back.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createImageEncoder } from '../src/index.js';
import { conv2dLayer, conv3dLayer } from '../src/layers/conv.js';
import { globalPooling3D } from '../src/layers/pooling.js';

type Workload = 'plain2d' | 'plain3d' | 'encoder2d' | 'encoder3d';
const WORKLOADS: Workload[] = ['plain2d', 'plain3d', 'encoder2d', 'encoder3d'];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const REPS = Number(arg('reps', '5'));
const WARMUP = Number(arg('warmup', '2'));
const CPU = process.argv.includes('--cpu');
const CPU_REPS = Number(arg('cpu-reps', '1'));
const THREADS = Number(arg('threads', '1'));
const PYTHON = arg('python', '/usr/bin/python3');
const ONLY = arg('only', WORKLOADS.join(',')).split(',') as Workload[];

const inputShape = (w: Workload) => (w.endsWith('3d') ? [4, 32, 64, 64, 1] : [16, 128, 128, 1]);

/** Builds the tfjs model `x → [batch, 1]` of a workload (a fresh one per backend). */
function buildModel(w: Workload, stock = false): tfl.LayersModel {
  const shape = inputShape(w).slice(1);
  const input = tfl.input({ shape });
  let h: tfl.SymbolicTensor;
  if (w.startsWith('plain')) {
    const three = w === 'plain3d';
    const strides = three ? [2, 2, 2, 2] : [1, 2, 2, 2];
    h = input;
    [32, 64, 128, 256].forEach((filters, i) => {
      const conv = stock
        ? tfl.layers.conv2d({ filters, kernelSize: 3, strides: strides[i]!, padding: 'same' })
        : three
          ? conv3dLayer({ filters, kernelSize: 3, strides: strides[i]! })
          : conv2dLayer({ filters, kernelSize: 3, strides: strides[i]! });
      h = tfl.layers.reLU().apply(conv.apply(h)) as tfl.SymbolicTensor;
    });
    h = (three ? globalPooling3D() : tfl.layers.globalAveragePooling2d({})).apply(h) as tfl.SymbolicTensor;
  } else {
    const three = w === 'encoder3d';
    const enc = createImageEncoder({
      spatialDims: three ? 3 : 2,
      inputShape: shape,
      widths: three ? [16, 32, 64, 128] : [32, 64, 128, 256],
      depths: [1, 1, 1, 1],
      strides: [1, 2, 2, 2],
      stemStride: 2,
      norm: three ? 'group' : 'batch',
      seed: 1,
    });
    h = enc.apply(input)[1];
  }
  const out = tfl.layers.dense({ units: 1 }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Warm-up runs, then timed runs: wall-clock and process CPU milliseconds of each. */
function timeSeries(fn: () => void, warmup: number, reps: number): { wall: number[]; cpu: number[] } {
  for (let i = 0; i < warmup; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

interface Timing {
  forward: number[];
  train: number[] | null;
  forwardCpu: number[];
  trainCpu: number[] | null;
  error?: string;
}

async function runTfjs(w: Workload, backend: 'wasm' | 'cpu', warmup: number, reps: number, stock = false): Promise<Timing> {
  await tf.setBackend(backend);
  await tf.ready();
  const model = buildModel(w, stock);
  const x = tf.randomNormal(inputShape(w), 0, 1, 'float32', 1);
  const opt = tf.train.adam(1e-3);
  const forward = timeSeries(
    () => {
      const y = model.predict(x) as tf.Tensor;
      y.dataSync();
      y.dispose();
    },
    warmup,
    reps,
  );
  let train: { wall: number[]; cpu: number[] } | null = null;
  let error: string | undefined;
  try {
    const before = tf.memory().numTensors;
    train = timeSeries(
      () => {
        const loss = opt.minimize(() => tf.tidy(() => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar), true);
        loss!.dataSync();
        loss!.dispose();
      },
      warmup,
      reps,
    );
    const growth = tf.memory().numTensors - before;
    if (growth > 2 * model.trainableWeights.length + 4) error = `tensor count grew by ${growth}`;
  } catch (e) {
    error = e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
  tf.dispose([x]);
  opt.dispose();
  model.dispose();
  return {
    forward: forward.wall,
    forwardCpu: forward.cpu,
    train: train?.wall ?? null,
    trainCpu: train?.cpu ?? null,
    ...(error === undefined ? {} : { error }),
  };
}

interface PeerResult {
  forward: number[];
  train: number[];
  forward_cpu: number[];
  train_cpu: number[];
  threads: number;
}

function runPeer(w: Workload): Promise<{ ok: true; result: PeerResult; torch: string; blas: string } | { ok: false; error: string }> {
  const script = new URL('./peer/image_encoder.py', import.meta.url).pathname;
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      [script, '--workload', w, '--threads', String(THREADS), '--warmup', String(WARMUP), '--reps', String(REPS)],
      { timeout: 30 * 60_000, maxBuffer: 1 << 24 },
      (error, stdout) => {
        const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
        if (!line) {
          resolve({ ok: false, error: error?.message ?? 'no output' });
          return;
        }
        const answer = JSON.parse(line) as { status: string; torch: string; blas: string; error?: string; results: PeerResult[] };
        if (answer.status !== 'ok') resolve({ ok: false, error: answer.error ?? answer.status });
        else resolve({ ok: true, result: answer.results[0]!, torch: answer.torch, blas: answer.blas });
      },
    );
  });
}

const fmt = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) ? '–' : `${(a / b).toFixed(2)}×`;

async function main(): Promise<void> {
  tf.enableProdMode();
  const loadBefore = loadavg();
  const rows: Array<Record<string, unknown>> = [];
  console.log(`image-encoder bench: wasm ${THREADS} thread (Node: no wasm threads), PyTorch set_num_threads(${THREADS}); warm-up ${WARMUP}, reps ${REPS}; load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  for (const w of ONLY) {
    const peer = await runPeer(w);
    const wasm = await runTfjs(w, 'wasm', WARMUP, REPS);
    const stockWasm = w === 'plain2d' ? await runTfjs(w, 'wasm', 1, Math.min(REPS, 3), true) : null;
    const cpu = CPU && w.startsWith('plain') ? await runTfjs(w, 'cpu', 0, CPU_REPS) : null;
    const p = peer.ok ? peer.result : null;
    const row = {
      workload: w,
      torch: peer.ok
        ? {
            version: peer.torch,
            blas: peer.blas,
            threads: peer.result.threads,
            forwardMs: median(peer.result.forward),
            trainMs: median(peer.result.train),
            forwardCpuMs: median(peer.result.forward_cpu),
            trainCpuMs: median(peer.result.train_cpu),
            forward: peer.result.forward,
            train: peer.result.train,
          }
        : { error: peer.error },
      wasm: {
        forwardMs: median(wasm.forward),
        trainMs: wasm.train ? median(wasm.train) : null,
        forwardCpuMs: median(wasm.forwardCpu),
        trainCpuMs: wasm.trainCpu ? median(wasm.trainCpu) : null,
        ...wasm,
      },
      ...(stockWasm ? { stockWasm: { forwardMs: median(stockWasm.forward), trainMs: stockWasm.train ? median(stockWasm.train) : null, ...stockWasm } } : {}),
      ...(cpu ? { cpu: { forwardMs: median(cpu.forward), trainMs: cpu.train ? median(cpu.train) : null, ...cpu } } : {}),
      ratioWasmToTorch: {
        forward: p ? median(wasm.forward) / median(p.forward) : null,
        train: p && wasm.train ? median(wasm.train) / median(p.train) : null,
        forwardCpu: p ? median(wasm.forwardCpu) / median(p.forward_cpu) : null,
        trainCpu: p && wasm.trainCpu ? median(wasm.trainCpu) / median(p.train_cpu) : null,
      },
    };
    rows.push(row);
    console.log(`  ${w}: done`);
  }
  const loadAfter = loadavg();
  const header =
    '| workload | PyTorch fwd / train (ms) | wasm fwd / train (ms) | wasm ÷ PyTorch fwd / train | same, process CPU time | stock tfjs-layers wasm fwd / train | cpu (pure JS) fwd / train |';
  const lines = [header, '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of rows as Array<Record<string, any>>) {
    const t = r['torch'];
    const wa = r['wasm'];
    const st = r['stockWasm'];
    const c = r['cpu'];
    lines.push(
      `| ${r['workload']} | ${fmt(t.forwardMs)} / ${fmt(t.trainMs)} | ${fmt(wa.forwardMs)} / ${fmt(wa.trainMs)} | ${ratio(wa.forwardMs, t.forwardMs)} / ${ratio(wa.trainMs, t.trainMs)} | ${ratio(wa.forwardCpuMs, t.forwardCpuMs)} / ${ratio(wa.trainCpuMs, t.trainCpuMs)} | ${st ? `${fmt(st.forwardMs)} / ${st.trainMs == null ? `fails (${st.error ?? '?'})` : fmt(st.trainMs)}` : '–'} | ${c ? `${fmt(c.forwardMs)} / ${fmt(c.trainMs)}` : '–'} |`,
    );
  }
  console.log(lines.join('\n'));
  console.log(`medians; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    new URL('image-encoder.json', dir),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        threads: THREADS,
        warmup: WARMUP,
        reps: REPS,
        loadavgBefore: loadBefore,
        loadavgAfter: loadAfter,
        cores: cpus().length,
        node: process.version,
        tfjs: tf.version_core,
        rows,
        table: lines.join('\n'),
      },
      null,
      2,
    )}\n`,
  );
}

await main();
