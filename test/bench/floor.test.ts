// bench/lib/floor.ts: the checks on the machine and on PyTorch's BLAS that decide whether a floor means anything.
import { describe, expect, it } from 'vitest';
import { isReferenceBlas, machineKind } from '../../bench/lib/floor.js';

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
