/**
 * The trainer's options: every option with its default, and their validation.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { assertBoolean, assertNonNegativeInt, assertNonNegativeNumber, assertOneOf, assertPositiveInt } from '../core/validate.js';
import type { AlignmentAnchor, AlignmentSettings } from './loss.js';
import { type BalancingOptions, resolveBalancing } from './balancing.js';
import { DEFAULT_ALIGNMENT, type TrainingLogs } from './types.js';
import { type AugmentOptions, resolveAugment } from './augment.js';

/** Options of the trainer (all but its `onCheckpoint` callback, declared with the class: {@link TrainerOptions}). */
export interface TrainerOptionsBase {
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
   * @defaultValue `{ global: 0.1, fine: 0.1, clinical: 0.1, fields: 0.5, temperature: 0.07, learnableTemperature: true, visionAnchor: true, supervised: false }`
   */
  alignment?:
    | false
    | {
        global?: number;
        fine?: number;
        clinical?: number;
        /** Weight of the report-field loss (a model with `reportFields` and batches with field targets). */
        fields?: number;
        temperature?: number;
        learnableTemperature?: boolean;
        /**
         * Which side the contrastive terms hold fixed: `'vision'` (stop-gradient on the image: text
         * and clinical are pulled to the vision core; `true`), `'text'` (stop-gradient on the text
         * and clinical sides: the report teaches the image), `'none'` (both move; `false`), or
         * `'ema'` (the image side of a slowly averaged copy of the model, decay `emaDecay`).
         * @defaultValue 'vision'
         */
        visionAnchor?: boolean | AlignmentAnchor;
        /** Decay of the `'ema'` teacher's weight average. @defaultValue 0.99 */
        emaDecay?: number;
        /**
         * Patients whose reports state the same findings (`batch.reportGroups`): `'positives'` of
         * each other, or `'negatives'` like every other patient. @defaultValue 'positives'
         */
        duplicates?: 'positives' | 'negatives';
        supervised?: boolean;
      };
  /** Weight λaux of the auxiliary unimodal losses (0 disables them). @defaultValue 0.3 */
  auxiliaryWeight?: number;
  /**
   * Modality balancing across the modality encoders (needs auxiliary heads; ./balancing.ts):
   * `'adaptive'` scales each dominant encoder's Adam step from held-out confidence (the
   * validation data; the training data when there is none), `'ogm-ge'` scales its gradient from
   * the training batch (for `optimizer: 'sgd'`; nearly a no-op under Adam), `'pareto'` integrates
   * the multimodal and unimodal gradients per encoder. false disables.
   * @defaultValue `{ method: 'adaptive', alpha: 1, interval: 10, heldOutBatch: 64, momentum: 0.5 }`
   */
  balancing?: false | BalancingOptions;
  /**
   * Alignment pretraining: before the outcome is trained, `epochs` epochs of the alignment terms
   * alone (contrastive and report fields, with their own optimizer and warm-up + cosine
   * schedule at `learningRate`), so that the report teaches the image before the outcome head can
   * lean on the easy modality. `fields`, `global`, `fine` and `clinical` override those
   * alignment weights during it (e.g. `global: 0, fine: 0, clinical: 0` pretrains the image's
   * report-field head alone, leaving the text and clinical encoders untouched). Needs the
   * alignment loss. Runs once per trainer (a resumed trainer does not repeat it).
   * @defaultValue none
   */
  pretrain?: { epochs: number; learningRate?: number; fields?: number; global?: number; fine?: number; clinical?: number };
  /**
   * Multipliers of the outcome training's learning rate per variable group (`image`, `text`,
   * `clinical`: the encoders; `shared`: fusion and heads; see `TriModalModel.variableGroups`),
   * applied to each group's update after the Adam moments (so, unlike a gradient scale, Adam
   * does not cancel them), together with the balancing coefficients. Typical use: after
   * `pretrain`, `{ image: 0.1 }` fine-tunes the pretrained image encoder gently instead of
   * overwriting what the report taught it. The pretraining phase is not affected.
   * @defaultValue undefined (1 for every group)
   * @example
   * ```ts
   * new Trainer({ pretrain: { epochs: 12 }, groupLearningRates: { image: 0.1 } });
   * ```
   */
  groupLearningRates?: Readonly<Record<string, number>>;
  /** The optimizer: AdamW, or SGD with heavy-ball momentum (`momentum`). @defaultValue 'adamw' */
  optimizer?: 'adamw' | 'sgd';
  /** SGD momentum. @defaultValue 0.9 */
  momentum?: number;
  /**
   * Diagnostics in the logs: each modality group's share of the squared gradient norm per step
   * (`grad_share_<group>`), and per epoch with validation data each auxiliary head's AUC
   * (`val_auc_<modality>`) and the gate's mean and spread (`val_gate_mean`, `val_gate_sd`).
   * @defaultValue true
   */
  diagnostics?: boolean;
  /**
   * Training-only image augmentation that keeps the side (no left–right flip): random in-plane
   * shifts, per-channel gains, optional noise (./augment.ts). `true` = the defaults
   * `{ shift: 2, gain: 0.1, noise: 0 }`. Applies to the outcome training and to pretraining.
   * @defaultValue false
   */
  augment?: boolean | AugmentOptions;
  /** Training-only modality dropout: probability of hiding a sample's report / clinical values. @defaultValue `{ text: 0.1, clinical: 0.1 }` */
  modalityDropout?: false | { text?: number; clinical?: number };
  /**
   * Early stopping on a validation metric with restore-best; needs validation data. `minEpochs`:
   * the first epochs are a warm-up, never taken as the best and not counted against `patience`
   * (a model that still predicts near the base rate can have the lowest validation loss of a
   * noisy run; with `minEpochs` ≥ `epochs` nothing is restored).
   * @defaultValue `{ metric: 'auc', patience: 5, restoreBest: true, minEpochs: 0 }` when validation data is given
   */
  earlyStopping?: false | { metric?: 'auc' | 'loss'; patience?: number; restoreBest?: boolean; minEpochs?: number };
  /** Seed of shuffling and modality dropout. @defaultValue 1 */
  seed?: number;
  /** Called after every epoch with the logs (await-ed). */
  onEpochEnd?: (epoch: number, logs: TrainingLogs) => void | Promise<void>;
  /** Called after every step with the step's logs (await-ed). */
  onBatchEnd?: (step: number, logs: TrainingLogs) => void | Promise<void>;
  /** @defaultValue 1 */
  checkpointEvery?: number;
}

/** Options with their defaults filled in (`Trainer.options`). */
export type ResolvedOptions<O extends TrainerOptionsBase> = Required<
  Pick<TrainerOptionsBase, 'epochs' | 'batchSize' | 'learningRate' | 'weightDecay' | 'warmupFraction' | 'auxiliaryWeight' | 'seed' | 'checkpointEvery' | 'focalGamma'>
> &
  O;

/**
 * The alignment settings in force (defaults filled in, the anchor resolved), or null when off.
 * @throws {@link InvalidArgumentError} naming a bad field.
 */
export function resolveAlignment(option: TrainerOptionsBase['alignment']): AlignmentSettings | null {
  if (option === false) return null;
  const { visionAnchor, duplicates, emaDecay, ...rest } = { ...DEFAULT_ALIGNMENT, ...(option ?? {}) };
  const anchor: AlignmentAnchor = visionAnchor === true ? 'vision' : visionAnchor === false ? 'none' : visionAnchor;
  if (!['vision', 'text', 'none', 'ema'].includes(anchor)) {
    throw new InvalidArgumentError({ argument: 'alignment.visionAnchor', message: "alignment.visionAnchor must be true, false, 'vision', 'text', 'none' or 'ema'.", received: visionAnchor });
  }
  const dup = duplicates ?? 'positives';
  if (dup !== 'positives' && dup !== 'negatives') {
    throw new InvalidArgumentError({ argument: 'alignment.duplicates', message: "alignment.duplicates must be 'positives' or 'negatives'.", received: duplicates });
  }
  const decay = emaDecay ?? 0.99;
  if (!(decay > 0 && decay < 1)) throw new InvalidArgumentError({ argument: 'alignment.emaDecay', message: 'alignment.emaDecay must be in (0, 1).', received: emaDecay });
  for (const k of ALIGNMENT_WEIGHT_KEYS) assertNonNegativeNumber(rest[k], `alignment.${k}`);
  return { ...rest, anchor, duplicates: dup, emaDecay: decay };
}

/**
 * The alignment loss weights (`alignment.<key>`), each of which `pretrain.<key>` can override
 * during pretraining.
 * @internal
 */
export const ALIGNMENT_WEIGHT_KEYS = ['fields', 'global', 'fine', 'clinical'] as const;

/**
 * Fills the defaults of {@link TrainerOptions} and validates them.
 * @throws {@link InvalidArgumentError} naming the option.
 * @internal
 */
export function resolveTrainerOptions<O extends TrainerOptionsBase>(options: O): ResolvedOptions<O> {
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
  resolveBalancing(o.balancing);
  resolveAlignment(o.alignment);
  resolveAugment(o.augment);
  if (o.pretrain !== undefined) {
    const pt = o.pretrain as { epochs?: unknown; learningRate?: unknown } | null;
    if (typeof pt !== 'object' || pt === null || !Number.isInteger(pt.epochs) || (pt.epochs as number) < 1) {
      throw new InvalidArgumentError({ argument: 'pretrain.epochs', message: 'pretrain.epochs must be a positive integer.', received: pt?.epochs });
    }
    if (pt.learningRate !== undefined && !((pt.learningRate as number) > 0)) throw new InvalidArgumentError({ argument: 'pretrain.learningRate', message: 'pretrain.learningRate must be > 0.', received: pt.learningRate });
    for (const k of ALIGNMENT_WEIGHT_KEYS) {
      const v = (pt as Record<string, unknown>)[k];
      if (v !== undefined) assertNonNegativeNumber(v, `pretrain.${k}`);
    }
  }
  if (o.groupLearningRates !== undefined) {
    const g = o.groupLearningRates as unknown;
    if (typeof g !== 'object' || g === null || Array.isArray(g)) {
      throw new InvalidArgumentError({ argument: 'groupLearningRates', message: 'groupLearningRates must be an object of group → multiplier.', received: g });
    }
    for (const [k, v] of Object.entries(g)) assertNonNegativeNumber(v, `groupLearningRates.${k}`);
  }
  if (o.earlyStopping !== undefined && o.earlyStopping !== false) {
    const es = o.earlyStopping as Record<string, unknown> | null;
    if (typeof es !== 'object' || es === null || Array.isArray(es)) {
      throw new InvalidArgumentError({ argument: 'earlyStopping', message: 'earlyStopping must be false or an object { metric, patience, restoreBest, minEpochs }.', received: es });
    }
    if (es['metric'] !== undefined) assertOneOf(es['metric'], ['auc', 'loss'] as const, 'earlyStopping.metric');
    if (es['patience'] !== undefined) assertPositiveInt(es['patience'], 'earlyStopping.patience');
    if (es['restoreBest'] !== undefined) assertBoolean(es['restoreBest'], 'earlyStopping.restoreBest');
    if (es['minEpochs'] !== undefined) assertNonNegativeInt(es['minEpochs'], 'earlyStopping.minEpochs');
  }
  if (o.optimizer !== undefined && o.optimizer !== 'adamw' && o.optimizer !== 'sgd') {
    throw new InvalidArgumentError({ argument: 'optimizer', message: "optimizer must be 'adamw' or 'sgd'.", received: o.optimizer });
  }
  if (o.momentum !== undefined && !(o.momentum >= 0 && o.momentum < 1)) {
    throw new InvalidArgumentError({ argument: 'momentum', message: 'momentum must be in [0, 1).', received: o.momentum });
  }
  if (o.clipNorm !== undefined && o.clipNorm !== null && !(o.clipNorm > 0)) {
    throw new InvalidArgumentError({ argument: 'clipNorm', message: 'clipNorm must be > 0 or null.', received: o.clipNorm });
  }
  return o;
}

