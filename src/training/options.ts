/**
 * The trainer's options, logs, resumable state and history types, their defaults and validation.
 *
 * @packageDocumentation
 */
import { assertPositiveInt } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import type { TriModalData } from '../models/data.js';
import type { AdamWState } from './optimizer.js';
import type { Trainer } from './trainer.js';

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

/** Options of {@link Trainer}. */
export interface TrainerOptions {
  /** @defaultValue 20 */
  epochs?: number;
  /** Batch size for in-memory data. @defaultValue 16 */
  batchSize?: number;
  /** Peak learning rate. @defaultValue 1e-3 */
  learningRate?: number;
  /** Decoupled weight decay (AdamW); 0 = Adam. @defaultValue 1e-4 */
  weightDecay?: number;
  /** Fraction of the steps used for linear warm-up before cosine decay. @defaultValue 0.05 */
  warmupFraction?: number;
  /** Clip gradients to this global L2 norm (null: no clipping). @defaultValue 1 */
  clipNorm?: number | null;
  /** Classification loss ('bce' is softmax CE / ordinal loss for those heads). @defaultValue 'bce' */
  loss?: 'bce' | 'focal';
  /** Focal loss γ. @defaultValue 2 */
  focalGamma?: number;
  /** Class weights: 'balanced' (from label frequencies), explicit weights, or null. @defaultValue null */
  classWeights?: 'balanced' | number[] | null;
  /**
   * Dual semantic alignment loss weights (needs a fusion model with image and text); false to
   * disable. `learnableTemperature` uses a {@link LogitScale}.
   * @defaultValue `{ global: 0.1, fine: 0.1, clinical: 0.1, temperature: 0.07, learnableTemperature: true, visionAnchor: true, supervised: false }`
   */
  alignment?:
    | false
    | {
        global?: number;
        fine?: number;
        clinical?: number;
        temperature?: number;
        learnableTemperature?: boolean;
        visionAnchor?: boolean;
        supervised?: boolean;
      };
  /** Weight λaux of the auxiliary unimodal losses (0 disables them). @defaultValue 0.3 */
  auxiliaryWeight?: number;
  /**
   * On-the-fly gradient modulation across modality encoders (needs auxiliary heads); false disables.
   * @defaultValue `{ alpha: 1 }`
   */
  balancing?: false | { alpha?: number };
  /** Training-only modality dropout: probability of hiding a sample's report / clinical values. @defaultValue `{ text: 0.1, clinical: 0.1 }` */
  modalityDropout?: false | { text?: number; clinical?: number };
  /**
   * Early stopping on a validation metric with restore-best; needs validation data.
   * @defaultValue `{ metric: 'auc', patience: 5, restoreBest: true }` when validation data is given
   */
  earlyStopping?: false | { metric?: 'auc' | 'loss'; patience?: number; restoreBest?: boolean };
  /** Seed of shuffling and modality dropout. @defaultValue 1 */
  seed?: number;
  /** Called after every epoch with the logs (await-ed). */
  onEpochEnd?: (epoch: number, logs: TrainingLogs) => void | Promise<void>;
  /** Called after every step with the step's logs (await-ed). */
  onBatchEnd?: (step: number, logs: TrainingLogs) => void | Promise<void>;
  /** Called at the end of every `checkpointEvery`-th epoch with the trainer (e.g. to save a bundle). */
  onCheckpoint?: (epoch: number, trainer: Trainer) => void | Promise<void>;
  /** @defaultValue 1 */
  checkpointEvery?: number;
}

/** The trainer's resumable state (see {@link Trainer.getState}). */
export interface TrainerState {
  epoch: number;
  step: number;
  rng: { state: number; spareNormal: number | null };
  optimizer: AdamWState;
  logScale: number | null;
  best: { value: number; epoch: number } | null;
  history: TrainingLogs[];
}

/** What {@link Trainer.fit} returns. */
export interface TrainingHistory {
  /** One log record per epoch (loss parts, lr, balancing coefficients, validation metrics). */
  epochs: TrainingLogs[];
  /** Epoch whose weights the model holds at the end (the best one with restore-best). */
  bestEpoch: number | null;
  /** Whether early stopping ended the run. */
  stoppedEarly: boolean;
}

/** The alignment settings used when `alignment` is not false. */
export const DEFAULT_ALIGNMENT = { global: 0.1, fine: 0.1, clinical: 0.1, temperature: 0.07, learnableTemperature: true, visionAnchor: true, supervised: false };

/** Options with their defaults filled in. @internal */
export type ResolvedTrainerOptions = Required<
  Pick<TrainerOptions, 'epochs' | 'batchSize' | 'learningRate' | 'weightDecay' | 'warmupFraction' | 'auxiliaryWeight' | 'seed' | 'checkpointEvery' | 'focalGamma'>
> &
  TrainerOptions;

/**
 * Fills the defaults of {@link TrainerOptions} and validates them.
 * @throws {@link InvalidArgumentError} naming the option.
 * @internal
 */
export function resolveTrainerOptions(options: TrainerOptions): ResolvedTrainerOptions {
  const o = {
    epochs: 20,
    batchSize: 16,
    learningRate: 1e-3,
    weightDecay: 1e-4,
    warmupFraction: 0.05,
    auxiliaryWeight: 0.3,
    seed: 1,
    checkpointEvery: 1,
    focalGamma: 2,
    ...options,
  };
  assertPositiveInt(o.epochs, 'epochs');
  assertPositiveInt(o.batchSize, 'batchSize');
  assertPositiveInt(o.checkpointEvery, 'checkpointEvery');
  if (!(o.warmupFraction >= 0 && o.warmupFraction < 1)) {
    throw new InvalidArgumentError({ argument: 'warmupFraction', message: 'warmupFraction must be in [0, 1).', received: o.warmupFraction });
  }
  if (!(o.auxiliaryWeight >= 0)) {
    throw new InvalidArgumentError({ argument: 'auxiliaryWeight', message: 'auxiliaryWeight must be ≥ 0.', received: o.auxiliaryWeight });
  }
  if (o.clipNorm !== undefined && o.clipNorm !== null && !(o.clipNorm > 0)) {
    throw new InvalidArgumentError({ argument: 'clipNorm', message: 'clipNorm must be > 0 or null.', received: o.clipNorm });
  }
  return o;
}
