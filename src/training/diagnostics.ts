/**
 * Test-time drop-one-modality analysis: how much a trained model's AUC falls when one modality is
 * withheld from every patient (the report's mask zeroed, the clinical values masked, the image
 * blanked), a direct measure of how much the prediction leans on each input.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import { rocAuc } from '../metrics/ranking.js';
import type { TriModalData } from '../models/data.js';
import type { Modality, TriModalModel } from '../models/tri-modal.js';
import { takeRows } from './batches.js';

/** What {@link dropModalityAuc} returns. */
export interface DropModalityResult {
  /** AUC with every modality. */
  full: number;
  /** AUC with each modality withheld, by modality. */
  without: Partial<Record<Modality, number>>;
  /** `without[m] − full` (negative: the model needs m). */
  delta: Partial<Record<Modality, number>>;
}

/** P(poor) of every row, in batches (inference mode). */
async function scores(model: TriModalModel, data: TriModalData, batchSize: number): Promise<number[]> {
  const n = data.labels.shape[0]!;
  const out: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const idx = tf.tensor1d(Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i), 'int32');
    const batch = takeRows(data, idx);
    const { probabilities } = model.predict(batch);
    out.push(...Array.from(await probabilities.data()));
    tf.dispose([idx, probabilities, ...Object.values(batch)]);
  }
  return out;
}

/** The data with one modality withheld (new tensors where changed; the caller disposes `created`). */
function withhold(data: TriModalData, m: Modality): { data: TriModalData; created: tf.Tensor[] } {
  if (m === 'text' && data.textMask) {
    const mask = tf.zerosLike(data.textMask);
    return { data: { ...data, textMask: mask }, created: [mask] };
  }
  if (m === 'clinical' && data.clinicalMask) {
    const mask = tf.zerosLike(data.clinicalMask);
    return { data: { ...data, clinicalMask: mask }, created: [mask] };
  }
  if (m === 'image' && data.image) {
    const image = tf.zerosLike(data.image);
    return { data: { ...data, image }, created: [image] };
  }
  return { data, created: [] };
}

/**
 * AUC of a binary model on `data` with all modalities, and with each one withheld in turn.
 *
 * @param options - `batchSize` of inference. @defaultValue 128
 * @throws {@link InvalidArgumentError} for a non-binary head or labels of one class.
 * @example
 * ```ts
 * const r = await dropModalityAuc(model, test);
 * r.delta.clinical; // e.g. −0.08: the model leans on the table
 * ```
 */
export async function dropModalityAuc(model: TriModalModel, data: TriModalData, options: { batchSize?: number } = {}): Promise<DropModalityResult> {
  if (model.headType !== 'binary') throw new InvalidArgumentError({ argument: 'model', message: 'dropModalityAuc needs a binary head.', received: model.headType });
  const labels = Array.from(await data.labels.data());
  if (!labels.includes(0) || !labels.includes(1)) throw new InvalidArgumentError({ argument: 'data.labels', message: 'The labels must hold both classes.', received: 'one class' });
  const batchSize = options.batchSize ?? 128;
  const full = rocAuc(labels, await scores(model, data, batchSize));
  const without: Partial<Record<Modality, number>> = {};
  const delta: Partial<Record<Modality, number>> = {};
  for (const m of model.modalities) {
    if (model.modalities.length < 2) break;
    const w = withhold(data, m);
    try {
      without[m] = rocAuc(labels, await scores(model, w.data, batchSize));
      delta[m] = without[m]! - full;
    } finally {
      tf.dispose(w.created);
    }
  }
  return { full, without, delta };
}
