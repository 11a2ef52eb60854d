// bench/lib/floor.ts and report.ts: the checks on the machine and on PyTorch's BLAS and threads that decide whether a floor and a ratio mean anything.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finish, isReferenceBlas, machineKind } from '../../bench/lib/floor.js';
import { blasCoreCandidates, pickBlasCore } from '../../bench/lib/peer.js';
import { peerRow } from '../../bench/lib/report.js';
import type { WorkloadResult } from '../../bench/lib/types.js';

describe('bench floor helpers', () => {
  it('recognises the reference (netlib) BLAS and not the optimised ones', () => {
    expect(isReferenceBlas('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0')).toBe(true);
    expect(isReferenceBlas('/usr/lib/x86_64-linux-gnu/blas/libblas.so.3, /usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3')).toBe(true);
    expect(isReferenceBlas('/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3, /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so')).toBe(false);
    expect(isReferenceBlas('/opt/intel/mkl/lib/libmkl_rt.so')).toBe(false);
    expect(isReferenceBlas('unknown')).toBe(false);
  });

  it('names the machine by its widest FMA', () => {
    expect(machineKind(['fma', 'avx2', 'avx512f'])).toMatch(/AVX-512/);
    expect(machineKind(['fma', 'avx2'])).toMatch(/AVX2 machine/);
    expect(machineKind(['sse4_2'])).toMatch(/without AVX2/);
  });
});

describe('the floors from measured rates', () => {
  const rate = (best: number) => ({ best, median: best, reps: 1, samples: [best] });
  it('divides PyTorch\'s GEMM and convolution rates by the best wasm peak at each thread count', () => {
    const f = finish(
      { model: 'x', vendor: 'y', features: [] },
      { 1: rate(60), 2: rate(120) },
      { 1: rate(66), 2: rate(132) },
      { status: 'ok', size: 2048, rates: { 1: rate(132), 2: rate(264) }, note: '' },
      [],
      { conv2d: { 1: rate(231), 2: rate(462) }, conv3d: { 1: rate(165) } },
    );
    expect(f.floor).toEqual({ 1: 2, 2: 2 });
    expect(f.bestBuild).toBe('relaxed');
    expect(f.conv.conv2d.floor).toEqual({ 1: 3.5, 2: 3.5 });
    expect(f.conv.conv3d.floor).toEqual({ 1: 2.5, 2: null });
  });
});

describe('the PyTorch row a 2-thread step is compared with', () => {
  const workload = (p1: number, p2: number) =>
    ({ name: 'w', rows: [{ id: 'pytorch-1', status: 'ok', train: { median: p1 } }, { id: 'pytorch-2', status: 'ok', train: { median: p2 } }] }) as unknown as WorkloadResult;

  it('is pytorch-1 at 1 thread, and PyTorch\'s faster of its 2- and 1-thread steps at 2 threads', () => {
    expect(peerRow(workload(50, 30), 1)?.id).toBe('pytorch-1');
    expect(peerRow(workload(50, 30), 2)?.id).toBe('pytorch-2');
    expect(peerRow(workload(50, 70), 2)?.id).toBe('pytorch-1'); // its 2 threads cost more than they saved
  });
});

// bench/peer/common.py set_threads: torch.set_num_threads does not reach a system OpenBLAS, whose
// own pool then runs "1-thread" GEMMs on every core (the floor doubled). Needs python3 + torch.
const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('peer thread cap (bench/peer/common.py)', () => {
  it.skipIf(!hasTorch)('set_threads caps the BLAS library\'s own threads too', () => {
    const code = [
      'import ctypes, torch, common',
      'common.set_threads(torch, 1)',
      'gets = [getattr(ctypes.CDLL(p), "openblas_get_num_threads", None) for p in common.blas_library().split(" (core ")[0].split(", ") if p.startswith("/")]',
      'print(torch.get_num_threads(), [g() for g in gets if g])',
    ].join('\n');
    const r = spawnSync(python, ['-c', code], { cwd: fileURLToPath(new URL('../../bench/peer', import.meta.url)), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [torchThreads, blas] = r.stdout.trim().split(' ', 2);
    expect(torchThreads).toBe('1');
    expect(blas!.replace(/[[\]\s]/g, '').split(',').filter(Boolean).every((n) => n === '1')).toBe(true);
  });

  it.skipIf(!hasTorch)('names the OpenBLAS core in the BLAS it reports, and OPENBLAS_CORETYPE moves it', () => {
    const code = 'import common, torch; print(common.blas_library())';
    const cwd = fileURLToPath(new URL('../../bench/peer', import.meta.url));
    const own = spawnSync(python, ['-c', code], { cwd, encoding: 'utf8' });
    expect(own.status, own.stderr).toBe(0);
    if (!/openblas/i.test(own.stdout)) return; // another BLAS: no core to name
    expect(own.stdout.trim()).toMatch(/\(core [A-Za-z0-9]+\)$/);
    const forced = spawnSync(python, ['-c', code], { cwd, encoding: 'utf8', env: { ...process.env, OPENBLAS_CORETYPE: 'Prescott' } });
    expect(forced.stdout.trim()).toMatch(/\(core Prescott\)$/);
  });
});

describe('the peers\' OpenBLAS core (bench/lib/peer.ts)', () => {
  it('offers the cores whose kernels the CPU can run', () => {
    expect(blasCoreCandidates(['sse4_2', 'avx'])).toEqual([]);
    expect(blasCoreCandidates(['fma', 'avx2'])).toEqual(['Haswell', 'Zen']);
    expect(blasCoreCandidates(['fma', 'avx2', 'avx512f', 'avx512vl', 'avx512bw'])).toEqual(['Haswell', 'Zen', 'SkylakeX']);
    expect(blasCoreCandidates(['fma', 'avx2', 'avx512f', 'avx512vl', 'avx512bw', 'avx512_bf16', 'avx512_fp16', 'amx_tile'])).toEqual(['Haswell', 'Zen', 'SkylakeX', 'Cooperlake', 'SapphireRapids']);
    expect(blasCoreCandidates(['avx512f'])).toEqual([]); // no FMA/AVX2 flags: nothing safe to force
  });

  it('keeps OpenBLAS\'s own pick unless another core is more than the margin faster', () => {
    // measured on an Intel Xeon of model 207 that OpenBLAS 0.3.21 calls Prescott
    expect(pickBlasCore('Prescott', { Prescott: 14, Haswell: 53, SkylakeX: 78, Cooperlake: 99, SapphireRapids: 68 })).toBe('Cooperlake');
    expect(pickBlasCore('Zen', { Zen: 126, Haswell: 129, SkylakeX: 120 })).toBe('Zen'); // 2 % is noise
    expect(pickBlasCore('Zen', { Zen: 100, SkylakeX: 111 })).toBe('SkylakeX');
    expect(pickBlasCore('Zen', { Zen: 100, SkylakeX: 111 }, 1.2)).toBe('Zen');
    expect(pickBlasCore('Haswell', {})).toBe('Haswell');
  });
});
