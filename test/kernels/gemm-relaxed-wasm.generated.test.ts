// The committed relaxed-SIMD GEMM (src/kernels/gemm-relaxed-wasm.generated.ts): it uses relaxed
// opcodes (so the engine validates it iff it supports relaxed SIMD), imports only a memory and
// exports the GEMM entry points (and native/conv.c's, linked in for the blocked forward convolution). Its rebuild check is in gemm-wasm.generated.test.ts.
import { describe, expect, it } from 'vitest';
import { GEMM_RELAXED_WASM_BASE64, GEMM_RELAXED_WASM_BYTES } from '../../src/kernels/gemm-relaxed-wasm.generated.js';
import { GEMM_WASM_BASE64 } from '../../src/kernels/gemm-wasm.generated.js';
import { relaxedSimdSupported } from '../../src/kernels/module.js';

const decode = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));

describe('gemm-relaxed-wasm.generated.ts', () => {
  const bytes = decode(GEMM_RELAXED_WASM_BASE64);

  it('validates exactly when the engine supports relaxed SIMD', () => {
    expect(bytes.length).toBe(GEMM_RELAXED_WASM_BYTES);
    expect(WebAssembly.validate(bytes)).toBe(relaxedSimdSupported());
    // it does contain f32x4.relaxed_madd (0xfd 0x85 0x02)
    expect(Buffer.from(bytes).includes(Buffer.from([0xfd, 0x85, 0x02]))).toBe(true);
    expect(Buffer.from(decode(GEMM_WASM_BASE64)).includes(Buffer.from([0xfd, 0x85, 0x02]))).toBe(false);
  });

  it.skipIf(!relaxedSimdSupported())('imports only a memory and exports the GEMM entry points and those of native/conv.c', () => {
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name).sort()).toEqual(['col2im', 'colsum', 'conv_filter_rows', 'conv_filter_sum', 'conv_filter_units', 'conv_input_rows', 'conv_rows', 'gemm', 'gemm_workspace_bytes', 'im2col']);
  });
});
