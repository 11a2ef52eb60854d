/**
 * Where the trainer's batches come from: in-memory data shuffled per epoch under the seed, or an
 * async iterable of batches; and training-only modality dropout.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '../core/random.js';
import { ShapeError } from '../errors.js';
import type { TriModalData } from '../models/data.js';
import type { TrainingData } from './types.js';

/** Whether the data is an async iterable (or a function returning one) rather than in-memory tensors. @internal */
export function isAsync(data: TrainingData): data is AsyncIterable<TriModalData> | (() => AsyncIterable<TriModalData>) {
  return typeof data === 'function' || (typeof data === 'object' && data !== null && Symbol.asyncIterator in data);
}

/** Number of steps per epoch for in-memory data (null for iterables). @internal */
export function stepsPerEpoch(data: TrainingData, batchSize: number): number | null {
  if (isAsync(data)) return null;
  return Math.ceil(data.labels.shape[0]! / batchSize);
}

/**
 * One epoch of batches. In-memory data is shuffled with `rng` and cut into `batchSize` rows
 * (`owned`: the caller disposes them); an iterable's batches are passed through (not owned).
 * @internal
 */
export async function* epochBatches(data: TrainingData, batchSize: number, rng: Random): AsyncGenerator<{ batch: TriModalData; owned: boolean }> {
  if (isAsync(data)) {
    const it = typeof data === 'function' ? data() : data;
    for await (const b of it) yield { batch: b, owned: false };
    return;
  }
  const n = data.labels.shape[0]!;
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  for (let start = 0; start < n; start += batchSize) {
    const idx = tf.tensor1d(order.slice(start, start + batchSize), 'int32');
    const batch = takeRows(data, idx);
    idx.dispose();
    yield { batch, owned: true };
  }
}

/**
 * Training-only modality dropout: hides each sample's report (text mask) and clinical values
 * with the given probabilities, drawing from `rng`. Returns a new batch and the tensors it
 * created (the caller disposes them).
 * @internal
 */
export function dropModalities(batch: TriModalData, rates: { text: number; clinical: number } | null, rng: Random): { batch: TriModalData; created: tf.Tensor[] } {
  if (!rates) return { batch, created: [] };
  const n = batch.labels.shape[0]!;
  const created: tf.Tensor[] = [];
  const out: TriModalData = { ...batch };
  for (const [key, rate] of [['textMask', rates.text], ['clinicalMask', rates.clinical]] as const) {
    const mask = batch[key];
    if (!mask || !(rate > 0)) continue;
    const keep = Float32Array.from({ length: n }, () => (rng.next() < rate ? 0 : 1));
    const k = tf.tensor2d(keep, [n, 1]);
    const masked = tf.mul(mask, k);
    created.push(k, masked);
    out[key] = masked;
  }
  return { batch: out, created };
}

/**
 * Gathers rows `idx` of every tensor of the data (new tensors owned by the caller).
 *
 * @throws {@link ShapeError} when a tensor's first axis differs from `labels`'.
 * @example
 * ```ts
 * const firstTwo = takeRows(data, tf.tensor1d([0, 1], 'int32'));
 * ```
 */
export function takeRows(data: TriModalData, idx: tf.Tensor1D): TriModalData {
  const n = data.labels.shape[0]!;
  const out: Partial<TriModalData> = {};
  for (const [k, t] of Object.entries(data) as Array<[keyof TriModalData, tf.Tensor | undefined]>) {
    if (!t) continue;
    if (t.shape[0] !== n) {
      throw new ShapeError({ argument: `data.${k}`, expected: `[${n}, ...] (one row per sample, like data.labels)`, received: t.shape });
    }
    out[k] = tf.gather(t, idx);
  }
  return out as TriModalData;
}
