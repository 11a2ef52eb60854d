// The committed simd128 module (src/kernels/gemm-wasm.generated.ts) is valid and, with the
// relaxed GEMM and the bench's peak modules, up to date with native/*.c (the rebuild is skipped
// when the clang version recorded in the files is not installed).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GEMM_WASM_BASE64, GEMM_WASM_BYTES } from '../../src/kernels/gemm-wasm.generated.js';
import { LOCAL_CLANG, recordedClang } from '../helpers/clang.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const recorded = recordedClang(readFileSync(new URL('../../src/kernels/gemm-wasm.generated.ts', import.meta.url), 'utf8'));
// Another clang version may emit other (equally valid) bytes: the rebuild check needs the same one.
const canRebuild = LOCAL_CLANG !== null && LOCAL_CLANG === recorded;

describe('gemm-wasm.generated.ts', () => {
  it('holds a valid module exporting the kernels and importing only a memory', () => {
    const bytes = Uint8Array.from(atob(GEMM_WASM_BASE64), (ch) => ch.charCodeAt(0));
    expect(bytes.length).toBe(GEMM_WASM_BYTES);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name).sort()).toEqual([
      'chnorm_bwd', 'chnorm_fwd', 'col2im', 'colsum', 'conv_filter_rows', 'conv_filter_sum', 'conv_filter_units', 'conv_input_rows', 'conv_rows', 'gelu_bwd', 'gelu_fwd', 'gemm', 'gemm_workspace_bytes', 'im2col', 'layernorm_bwd', 'layernorm_fwd', 'vdafm_erf',
    ]);
  });

  it('records the clang that built it', () => {
    expect(recorded).toMatch(/clang version \d+/);
  });

  it.skipIf(!canRebuild)('is, with the relaxed GEMM and the peak modules, what scripts/build-wasm.mjs builds (same clang)', () => {
    const out = execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});
