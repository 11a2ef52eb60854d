/**
 * Experiment: a model's train step with vdafm's GEMM in its simd128 and relaxed-SIMD builds, on
 * 1 and 2 threads, timed round-robin in one process on the same weights (so load from other
 * processes hits the four arms alike).
 *
 *   node --import tsx bench/experiments/threads-simd.ts            # the VDAFM workload
 *   WORKLOAD=tri-modal ROUNDS=16 node --import tsx bench/experiments/threads-simd.ts
 *
 * @packageDocumentation
 */
import { setFlagsFromString } from 'node:v8';
setFlagsFromString('--experimental-wasm-relaxed-simd');
const { useBackend } = await import('../lib/tfjs.js');
const { vdafmImpl } = await import('../workloads/vdafm.js');
const { triModalImpl } = await import('../workloads/tri-modal.js');
const { enableThreads } = await import('../../src/node/threads.js');
const { gemmPool, setGemmPool } = await import('../../src/kernels/threads.js');
const { setFastKernelsEnabled } = await import('../../src/kernels/module.js');
await useBackend('wasm');
await enableThreads({ threads: 2 });
const pool = gemmPool();
const impl = process.env.WORKLOAD === 'tri-modal' ? triModalImpl() : vdafmImpl();
const arms: Array<[string, number]> = [['simd128', 1], ['relaxed', 1], ['simd128', 2], ['relaxed', 2]];
const step = async (build: string, threads: number) => {
  setFastKernelsEnabled(true, { relaxedSimd: build === 'relaxed' });
  setGemmPool(threads === 2 ? pool : null);
  const t0 = performance.now(); const l = impl.train(); await l.data(); l.dispose(); return performance.now() - t0;
};
for (let i = 0; i < 2; i++) for (const [b, t] of arms) await step(b, t);
const samples = arms.map(() => [] as number[]);
for (let r = 0; r < Number(process.env.ROUNDS ?? 10); r++) for (let j = 0; j < arms.length; j++) { const i = (j + r) % arms.length; const [b, t] = arms[i]!; samples[i]!.push(await step(b, t)); }
const q = (x: number[], p: number) => [...x].sort((a, b) => a - b)[Math.floor((x.length - 1) * p)]!;
arms.forEach(([b, t], i) => console.log(`${process.env.WORKLOAD ?? 'vdafm'} ${b} ${t} thr: median ${q(samples[i]!, 0.5).toFixed(0)} ms [IQR ${q(samples[i]!, 0.25).toFixed(0)}–${q(samples[i]!, 0.75).toFixed(0)}], ×${(q(samples[i]!, 0.5) / q(samples[0]!, 0.5)).toFixed(2)} of simd128 1 thr`));
impl.dispose();
process.exit(0);
