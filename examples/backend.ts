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

// vdafm's matrix products on two threads in Node (bitwise the same results), then one again.
// import { disableThreads, enableThreads } from 'vdafm/node';
import { disableThreads, enableThreads } from '../src/node.js';
await enableThreads({ threads: 2 }); // returns the number of threads in use
await disableThreads(); // back to one thread
