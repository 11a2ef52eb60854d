// Runs code on a named backend and switches back, for cpu/wasm parity tests.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

/** Runs `fn` with `backend` active, then restores the previous backend. */
export async function onBackend<T>(backend: 'cpu' | 'wasm', fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  const ok = await tf.setBackend(backend);
  if (!ok || tf.getBackend() !== backend) throw new Error(`backend ${backend} could not be activated`);
  await tf.ready();
  try {
    return await fn();
  } finally {
    await tf.setBackend(previous);
    await tf.ready();
  }
}

/** Copies tensors to plain arrays (so they survive a backend switch and disposal). */
export function snapshot(tensors: tf.Tensor[]): Float32Array[] {
  return tensors.map((t) => Float32Array.from(t.dataSync() as Float32Array));
}
