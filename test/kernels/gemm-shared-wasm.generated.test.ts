// The shared-memory builds of native/gemm.c + native/conv.c (src/kernels/gemm-shared-wasm.generated.ts, simd128
// and relaxed SIMD) that the Node worker-thread pool runs: valid modules, and what
// scripts/build-wasm-threads.mjs builds (the rebuild is skipped unless the recorded clang is installed).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GEMM_SHARED_RELAXED_WASM_BASE64, GEMM_SHARED_WASM_BASE64 } from '../../src/kernels/gemm-shared-wasm.generated.js';
import { relaxedSimdSupported } from '../../src/kernels/module.js';
import { LOCAL_CLANG, recordedClang } from '../helpers/clang.js';

const recorded = recordedClang(readFileSync(new URL('../../src/kernels/gemm-shared-wasm.generated.ts', import.meta.url), 'utf8'));

describe('gemm-shared-wasm.generated.ts', () => {
  it.each([
    ['simd128', GEMM_SHARED_WASM_BASE64, true],
    ['relaxed', GEMM_SHARED_RELAXED_WASM_BASE64, relaxedSimdSupported()],
  ])('%s: a valid module importing only a shared memory and exporting the GEMM and the convolutions\' data movement', (_, b64, valid) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    expect(WebAssembly.validate(bytes)).toBe(valid);
    if (!valid) return;
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`)).toEqual(['env.memory:memory']);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toEqual(expect.arrayContaining(['gemm', 'gemm_workspace_bytes', 'im2col', 'col2im', 'conv_rows']));
    expect(() => new WebAssembly.Instance(mod, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } })).toThrow(); // needs a SHARED memory
  });

  it.skipIf(LOCAL_CLANG === null || LOCAL_CLANG !== recorded)('is what scripts/build-wasm-threads.mjs builds (same clang)', () => {
    const out = execFileSync(process.execPath, ['scripts/build-wasm-threads.mjs', '--check'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});
