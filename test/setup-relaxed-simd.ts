// Setup of the `relaxed-simd` vitest project (vitest.config.ts): turns WebAssembly relaxed SIMD
// on in this test process before any module is compiled (Node 20 ships it behind
// --experimental-wasm-relaxed-simd; Node ≥ 22 has it on, and V8 ignores an unknown flag), so
// that the kernel, op and thread tests run on the relaxed-SIMD build of vdafm's GEMM, and fails
// loudly if the engine still cannot validate relaxed SIMD.
import { setFlagsFromString } from 'node:v8';
import { relaxedSimdSupported } from '../src/kernels/module.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');
if (!relaxedSimdSupported()) throw new Error('relaxed-simd project: this Node cannot validate WebAssembly relaxed SIMD');
