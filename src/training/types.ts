/**
 * The trainer's data, logs, resumable state and history types, and the default alignment settings.
 *
 * @packageDocumentation
 */
import type { TriModalData } from '../models/data.js';
import type { AdamWState } from './optimizer.js';

/** Where batches come from: in-memory tensors (shuffled per epoch under the seed) or an async iterable of batches. */
export type TrainingData = TriModalData | AsyncIterable<TriModalData> | (() => AsyncIterable<TriModalData>);

/**
 * Logs passed to callbacks (numbers by key):
 * - `loss` (total), `classification`, `alignment` (when the alignment loss is on),
 *   `aux_image` / `aux_text` / `aux_clinical` (auxiliary head losses of the modalities present);
 * - `lr`, `grad_norm` (before clipping), `coef_<modality>` (gradient-modulation coefficients);
 * - per epoch also `epoch`, and with validation data `val_loss` and (binary heads) `val_auc`.
 */
export type TrainingLogs = Record<string, number>;

/** The trainer's resumable state (see {@link Trainer.getState}). */
export interface TrainerState {
  epoch: number;
  step: number;
  rng: { state: number; spareNormal: number | null };
  optimizer: AdamWState;
  logScale: number | null;
  best: { value: number; epoch: number } | null;
  history: TrainingLogs[];
  /** The held-out balancing monitor: where it reads the held-out data next, and its smoothed confidences. */
  balancing?: { cursor: number; smoothed: Record<string, number> };
  /** The `'ema'` alignment teacher's averaged weights, in the order of the model's variables. */
  ema?: number[][] | null;
  /** Whether the alignment pretraining phase has run. */
  pretrained?: boolean;
}

/** What {@link Trainer.fit} returns. */
export interface TrainingHistory {
  /** One log record per epoch (loss parts, lr, balancing coefficients, validation metrics). */
  epochs: TrainingLogs[];
  /** Epoch whose weights the model holds at the end (the best one with restore-best). */
  bestEpoch: number | null;
  /** Whether early stopping ended the run. */
  stoppedEarly: boolean;
  /** Per-epoch logs of the alignment pretraining phase, when it ran. */
  pretraining?: TrainingLogs[];
}

/** The alignment settings used when `alignment` is not false. */
export const DEFAULT_ALIGNMENT = { global: 0.1, fine: 0.1, clinical: 0.1, fields: 0.5, temperature: 0.07, learnableTemperature: true, visionAnchor: true as boolean | 'vision' | 'text' | 'none' | 'ema', supervised: false, duplicates: 'positives' as 'positives' | 'negatives', emaDecay: 0.99 };

