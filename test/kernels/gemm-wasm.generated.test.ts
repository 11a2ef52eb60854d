// The committed module (src/kernels/gemm-wasm.generated.ts) is valid and up to date with
// native/gemm.c and native/fused.c (the rebuild is skipped when clang/wasm-ld are not installed).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GEMM_WASM_BASE64, GEMM_WASM_BYTES } from '../../src/kernels/gemm-wasm.generated.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const clang = process.env['CLANG'] ?? 'clang';
const hasTool = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
const localClang = hasTool(clang) && hasTool('wasm-ld') ? spawnSync(clang, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.trim() : null;
const generatedText = readFileSync(new URL('../../src/kernels/gemm-wasm.generated.ts', import.meta.url), 'utf8');
const recordedClang = /^\/\/ Built with: (.*)$/m.exec(generatedText)?.[1] ?? null;
// Another clang version may emit other (equally valid) bytes: the rebuild check needs the same one.
const canRebuild = localClang !== null && localClang === recordedClang;

describe('gemm-wasm.generated.ts', () => {
  it('holds a valid module exporting the kernels and importing only a memory', () => {
    const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (ch) => ch.charCodeAt(0));
    expect(bytes.length).toBe(GEMM_WASM_BYTES);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name).sort()).toEqual([
      'colsum', 'gelu_bwd', 'gelu_fwd', 'gemm', 'gemm_workspace_bytes', 'layernorm_bwd', 'layernorm_fwd', 'vdafm_erf',
    ]);
  });

  it('records the clang that built it', () => {
    expect(recordedClang).toMatch(/clang version \d+/);
  });

  it.skipIf(!canRebuild)('is what scripts/build-wasm.mjs builds from native/gemm.c and native/fused.c (same clang)', () => {
    const out = execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});
