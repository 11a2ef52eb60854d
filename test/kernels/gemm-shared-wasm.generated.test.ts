// The shared-memory build of native/gemm.c (src/kernels/gemm-shared-wasm.generated.ts) that the
// Node worker-thread pool runs: a valid module, and what scripts/build-wasm-threads.mjs builds
// (the rebuild is skipped when clang/wasm-ld are not installed or another version is).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GEMM_SHARED_WASM_BASE64 } from '../../src/kernels/gemm-shared-wasm.generated.js';

const hasTool = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const sharedText = readFileSync(new URL('../../src/kernels/gemm-shared-wasm.generated.ts', import.meta.url), 'utf8');
const recordedClang = /^\/\/ Built with: (.*)$/m.exec(sharedText)?.[1] ?? null;
const localClang = hasTool('clang') && hasTool('wasm-ld') ? spawnSync('clang', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.trim() : null;

describe('gemm-shared-wasm.generated.ts', () => {
  it('holds a valid module importing only a shared memory and exporting the GEMM', () => {
    const bytes = Uint8Array.from(atob(GEMM_SHARED_WASM_BASE64), (ch) => ch.charCodeAt(0));
    expect(WebAssembly.validate(bytes)).toBe(true);
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`)).toEqual(['env.memory:memory']);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toEqual(expect.arrayContaining(['gemm', 'gemm_workspace_bytes']));
    expect(() => new WebAssembly.Instance(mod, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } })).toThrow(); // needs a SHARED memory
  });

  it.skipIf(localClang === null || localClang !== recordedClang)('is what scripts/build-wasm-threads.mjs builds (same clang)', () => {
    const out = execFileSync(process.execPath, ['scripts/build-wasm-threads.mjs', '--check'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});

