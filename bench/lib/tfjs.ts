/**
 * tfjs helpers for benchmarks: backend activation, timed steps with memory accounting, and
 * kernel profiles.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { timeIt } from './stats.js';
import type { KernelTime, RepPlan, Stats, StepMemory } from './types.js';

let wasmThreadsSet = false;

/**
 * Activates `backend` ('wasm' with one thread, or 'cpu'), in production mode.
 * tfjs-backend-wasm never starts threads in Node (upstream design), so wasm is one thread here.
 */
export async function useBackend(backend: 'wasm' | 'cpu'): Promise<void> {
  tf.enableProdMode();
  if (backend === 'wasm' && !wasmThreadsSet) {
    setThreadsCount(1);
    wasmThreadsSet = true;
  }
  const ok = await tf.setBackend(backend);
  await tf.ready();
  if (!ok || tf.getBackend() !== backend) throw new Error(`tfjs backend ${backend} could not be activated`);
}

/** `process.resourceUsage().maxRSS` in bytes (Node reports kilobytes). */
export function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Wall time of one `step` (which returns one tensor it owns), read back and disposed, in ms. */
export async function timeOnce(step: () => tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const out = step();
  await out.data();
  out.dispose();
  return performance.now() - t0;
}

/**
 * Times `step` (which returns one tensor it owns: the loss or the output) and watches tensor
 * counts: the returned tensor is read back (so the work is finished) and disposed. With
 * `settle`, one untimed step runs first (optimizer slots are created lazily, JITs warm up).
 */
export async function timeStep(step: () => tf.Tensor, plan: RepPlan, settle = true): Promise<{ stats: Stats; memory: StepMemory }> {
  const run = async () => {
    const out = step();
    await out.data();
    out.dispose();
  };
  // One run outside the timing to reach a steady state (optimizer slots are created lazily).
  if (settle) await run();
  const before = tf.memory().numTensors;
  const stats = await timeIt(run, plan);
  const after = tf.memory();
  const steps = stats.samples.length + stats.warmup;
  return {
    stats,
    memory: {
      residentTensors: after.numTensors,
      residentBytes: after.numBytes,
      leakedTensorsPerStep: settle && steps > 0 ? (after.numTensors - before) / steps : null,
    },
  };
}

interface KernelRecord {
  name: string;
  kernelTimeMs: number | { error: string };
  tensorsAdded: number;
  inputShapes: Array<number[] | null>;
}

/** Result of {@link profileStep}. */
export interface StepProfile {
  kernels: KernelTime[];
  byName: KernelTime[];
  totalKernelMs: number;
  wallMs: number;
  kernelsPerStep: number;
  tensorsAllocatedPerStep: number;
  peakBytesInStep: number;
}

function group(records: KernelRecord[], key: (r: KernelRecord) => string, total: number): KernelTime[] {
  const map = new Map<string, KernelTime>();
  for (const r of records) {
    const ms = typeof r.kernelTimeMs === 'number' ? r.kernelTimeMs : 0;
    const k = key(r);
    const g = map.get(k) ?? { name: k, calls: 0, ms: 0, share: 0 };
    g.calls += 1;
    g.ms += ms;
    map.set(k, g);
  }
  return [...map.values()]
    .map((g) => ({ ...g, share: total > 0 ? g.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/**
 * Runs `step` once under `tf.profile` and returns per-kernel times (grouped by kernel name,
 * and by name + input shapes), kernel count, allocations and peak bytes. Kernel times come from
 * the backend timer (wall time around each synchronous kernel on cpu/wasm).
 */
export async function profileStep(step: () => tf.Tensor): Promise<StepProfile> {
  const t0 = performance.now();
  let out: tf.Tensor | null = null;
  const info = await tf.profile(() => {
    out = step();
    return out;
  });
  if (out) {
    await (out as tf.Tensor).data();
    (out as tf.Tensor).dispose();
  }
  const wallMs = performance.now() - t0;
  // tf.customGrad wrappers appear as scopes ('unnamed scope') whose time includes the kernels
  // they run, which are recorded too: keep registered kernels only, so nothing counts twice.
  const backend = tf.getBackend();
  const records = (info.kernels as unknown as KernelRecord[]).filter((r) => tf.getKernel(r.name, backend) !== undefined);
  const totalKernelMs = records.reduce((s, r) => s + (typeof r.kernelTimeMs === 'number' ? r.kernelTimeMs : 0), 0);
  return {
    byName: group(records, (r) => r.name, totalKernelMs),
    kernels: group(
      records,
      (r) => `${r.name} ${r.inputShapes.map((s) => (s ? `[${s.join(',')}]` : '-')).join(' ')}`,
      totalKernelMs,
    ),
    totalKernelMs,
    wallMs,
    kernelsPerStep: records.length,
    tensorsAllocatedPerStep: records.reduce((s, r) => s + Math.max(0, r.tensorsAdded), 0),
    peakBytesInStep: info.peakBytes,
  };
}
