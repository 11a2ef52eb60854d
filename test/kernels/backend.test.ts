// src/kernels/backend.ts: the backend check and the one-time kernel registration used by vdafm's
// JavaScript kernels for the wasm backend.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { onWasmHeap, registerWasmKernel } from '../../src/kernels/backend.js';
import { onBackend } from '../helpers/backends.js';

describe('kernels/backend', () => {
  it('is on the wasm heap only on the wasm backend', async () => {
    expect(onWasmHeap()).toBe(false); // the suite starts on cpu
    expect(await onBackend('wasm', () => onWasmHeap())).toBe(true);
  });

  it('registers a kernel for wasm once and keeps the first registration', () => {
    const first = () => ({ dataId: {}, shape: [], dtype: 'float32' as const });
    const second = () => ({ dataId: {}, shape: [1], dtype: 'float32' as const });
    registerWasmKernel('VdafmTestKernel', first);
    registerWasmKernel('VdafmTestKernel', second);
    expect(tf.getKernel('VdafmTestKernel', 'wasm')?.kernelFunc).toBe(first);
    expect(tf.getKernel('VdafmTestKernel', 'cpu')).toBeUndefined();
  });
});
