/**
 * Picking the fast CPU backend in Node (docs/guides/backends.md shows this code; the test suite
 * runs it):  node --import tsx examples/backend.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');

/** The backend in use: tfjs falls back silently when one fails, so check it. */
export const backend = tf.getBackend();
if (import.meta.url === `file://${process.argv[1]}`) console.log(backend); // wasm

// Which build of vdafm's GEMM runs (relaxed SIMD where the engine has it), forcing simd128.
// import { fastKernelsBuild, setFastKernelsEnabled } from 'vdafm';
import { fastKernelsBuild, setFastKernelsEnabled } from '../src/index.js';
export const build = fastKernelsBuild(); // 'relaxed' | 'simd128' | 'off' (stock kernels)
setFastKernelsEnabled(true, { relaxedSimd: false }); // force simd128 (A/B, debugging)
setFastKernelsEnabled(true); // back to the best build

// vdafm's matrix products on two threads in Node (bitwise the same results), then one again.
// (importing vdafm/node already starts threads by default on the first large product)
// import { disableThreads, enableThreads, threadCount } from 'vdafm/node';
import { disableThreads, enableThreads, threadCount } from '../src/node.js';
await enableThreads({ threads: 2 }); // returns the number of threads in use
export const threads = threadCount(); // 2
await disableThreads(); // back to one thread, and no default pool any more
