/**
 * Held-out confidence for `'adaptive'` balancing: each modality's auxiliary-head confidence on
 * the true class, measured in inference mode on batches of held-out data (cycled), smoothed by
 * a moving average, and turned into modulation coefficients.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TriModalData } from '../models/data.js';
import type { Modality, TriModalModel } from '../models/tri-modal.js';
import { balancingCoefficients } from './balancing.js';
import { takeRows } from './batches.js';
import { disposeOutputs } from './loss.js';

/** Mean true-class probability of each auxiliary head on `batch` (inference mode). @internal */
async function auxiliaryConfidence(model: TriModalModel, batch: TriModalData): Promise<Partial<Record<Modality, number>>> {
  const names: Modality[] = [];
  const stacked = tf.tidy(() => {
    const out = model.forward(batch);
    const y = tf.reshape(batch.labels, [-1]);
    const scores: tf.Scalar[] = [];
    for (const [m, logits] of Object.entries(out.auxiliary) as Array<[Modality, tf.Tensor]>) {
      const p = model.probabilities(logits);
      let s: tf.Scalar;
      if (model.headType === 'binary') {
        const yf = tf.cast(y, 'float32');
        s = tf.mean(tf.add(tf.mul(yf, p), tf.mul(tf.sub(1, yf), tf.sub(1, p)))) as tf.Scalar;
      } else {
        s = tf.mean(tf.sum(tf.mul(tf.oneHot(tf.cast(y, 'int32'), model.numClasses), p), 1)) as tf.Scalar;
      }
      names.push(m);
      scores.push(s);
    }
    disposeOutputs(out);
    return scores.length > 0 ? tf.stack(scores) : tf.zeros([0]);
  });
  const values = await stacked.data();
  stacked.dispose();
  const out: Partial<Record<Modality, number>> = {};
  names.forEach((m, i) => (out[m] = values[i]!));
  return out;
}

/** The resumable part of a {@link HeldOutMonitor}. @internal */
export interface HeldOutState {
  cursor: number;
  smoothed: Record<string, number>;
}

/**
 * Measures the auxiliary heads' confidence on held-out batches every `interval` steps and keeps
 * the modulation coefficients in force between measurements.
 * @internal
 */
export class HeldOutMonitor {
  /** The coefficients in force (1 for every modality until the first measurement). */
  coefficients: Record<string, number> = {};
  /** The last smoothed held-out confidence per modality. */
  confidence: Partial<Record<Modality, number>> = {};

  constructor(
    private readonly data: TriModalData,
    private readonly options: { interval: number; batch: number; momentum: number; alpha: number },
    /** Where the next held-out batch starts and the smoothed scores (shared with the trainer's state, so a resumed run continues them). */
    private readonly state: HeldOutState = { cursor: 0, smoothed: {} },
  ) {}

  /** Re-measures at steps that are multiples of `interval`; returns the coefficients in force. */
  async update(model: TriModalModel, step: number): Promise<Record<string, number>> {
    if (Object.keys(this.coefficients).length === 0 && Object.keys(this.state.smoothed).length > 0) this.refresh();
    if (step % this.options.interval !== 0 && Object.keys(this.coefficients).length > 0) return this.coefficients;
    const n = this.data.labels.shape[0]!;
    const size = Math.min(this.options.batch, n);
    const rows = Array.from({ length: size }, (_, i) => (this.state.cursor + i) % n);
    this.state.cursor = (this.state.cursor + size) % n;
    const idx = tf.tensor1d(rows, 'int32');
    const batch = takeRows(this.data, idx);
    idx.dispose();
    let measured: Partial<Record<Modality, number>>;
    try {
      measured = await auxiliaryConfidence(model, batch);
    } finally {
      tf.dispose(Object.values(batch) as tf.Tensor[]);
    }
    const mom = this.options.momentum;
    for (const [m, s] of Object.entries(measured) as Array<[Modality, number]>) {
      const prev = this.state.smoothed[m] as number | undefined;
      this.state.smoothed[m] = prev === undefined ? s : mom * prev + (1 - mom) * s;
    }
    this.refresh();
    return this.coefficients;
  }

  /** Coefficients and confidence from the smoothed scores. */
  private refresh(): void {
    this.confidence = { ...this.state.smoothed } as Partial<Record<Modality, number>>;
    this.coefficients = balancingCoefficients(this.state.smoothed, this.options.alpha);
  }
}
