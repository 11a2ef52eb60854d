/**
 * Everything model-specific of the study, in one file: how each pre-registered ablation of
 * {@link ABLATION_SUITE} (./claims.ts) becomes a `createTriModalModel` config and `Trainer`
 * options, the text and table preprocessing the models share, and the training budget. The rest
 * of the study engine only calls {@link modelConfig}, {@link trainerOptions},
 * {@link PREPROCESSING} and {@link TRAINING}; a change here changes every cell's settings
 * fingerprint, so a resumed or merged study never mixes cells trained with different settings.
 *
 * The settings (developed on the `additive` scenario and on development cohorts of both scenarios,
 * never on a study cohort; docs/guides/study.md): the 2D layout `[32, 32, 8]`, image widths
 * [16, 32, 32] with the small default init and BatchNorm (GroupNorm normalises each patient's
 * feature maps over space, which removes the global quantities — lesion volume — that the
 * report's fields describe: pretrained on them, the GroupNorm encoder stayed at chance for 12
 * epochs on development cohorts, the BatchNorm one did not), width 32 everywhere, AdamW at lr
 * 2e-3, batch 32, at most 14 epochs with early stopping on the validation **loss** (patience 4, restore-best: the
 * validation AUC of a few hundred patients selected noise, often epoch 0). Each spec's flags map
 * one to one: `balancing: true` → the trainer's default (`'adaptive'`), `false` →
 * `balancing: false`; `alignment: true` → the dual alignment at its default weights plus the
 * report-field head on the image (`reportFields`, weight 0.5) and
 * {@link TRAINING}.pretrainEpochs epochs of pretraining of the report-field head alone (field
 * weight 5, contrastive weights 0) before the outcome, then fine-tuning of the pretrained image encoder at
 * {@link TRAINING}.alignedImageLearningRate × the learning rate; `false` → `alignment: false` and
 * no field head; `modalityDropout: false` →
 * `modalityDropout: false` (true: the trainer's defaults). Single-modality models and
 * image + clinical use the pooled head.
 *
 * @packageDocumentation
 */
import type { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import type { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import type { TriModalModelConfig } from '../models/tri-modal.js';
import type { ReportFieldTargets } from '../text/field-targets.js';
import type { TrainerOptions } from '../training/trainer.js';
import type { AblationSpec } from './claims.js';

/** What a model config is built from: the image shape and the preprocessing fitted on a seed's training cohort. */
export interface ModelComponents {
  imageShape: readonly number[];
  pre: TabularPreprocessor;
  tok: WordPieceTokenizer;
  /** The report-field targets fitted on the training reports (the head of the alignment models). */
  fields?: ReportFieldTargets;
}

/** Text and table preprocessing, fitted on each seed's training cohort only. */
export const PREPROCESSING = {
  /**
   * `WordPieceTokenizer.train(reports, { vocabSize, minFrequency }, { keepNumbers })`, with
   * `maxLength` the training reports' `coverageLength(…, coverage)` (no report cut but the longest 1%).
   */
  tokenizer: { vocabSize: 500, minFrequency: 2, keepNumbers: true, coverage: 0.99 },
  /** `ReportFieldTargets.fit(trainReports, strokeReportSchema)`: its defaults, the enum fields and the size in mL. */
  fieldTargets: {},
} as const;

/** The training budget, identical for every neural ablation. */
export const TRAINING = {
  /** Most epochs of a cell (early stopping usually ends it sooner). */
  epochs: 14,
  /** Early stopping: epochs without a lower validation loss before stopping (the best epoch's weights are restored). */
  patience: 4,
  /** Alignment pretraining epochs of the models with alignment (their field weight: `pretrainFields`). */
  pretrainEpochs: 12,
  pretrainFields: 5,
  /**
   * The contrastive weights during pretraining (`pretrain.global/fine/clinical`): 0, the
   * report-field head alone teaches the image encoder first; the text and clinical encoders wait
   * for the outcome. Until the third study (amendment of 2026-12-07, docs/guides/study.md) the
   * pretraining used the alignment's default weights too, which on development cohorts cost the
   * full model ≈ 0.02 AUC against field-only pretraining.
   */
  pretrainContrastive: { global: 0, fine: 0, clinical: 0 },
  /** Weight of the report-field loss during the outcome training. */
  fields: 0.5,
  /**
   * The aligned models' image-encoder learning-rate multiplier in the outcome training
   * (`groupLearningRates: { image }`): the pretrained encoder is fine-tuned gently instead of
   * overwritten (at ×1 the report fields it learned were lost within one or two epochs).
   */
  alignedImageLearningRate: 0.1,
  batchSize: 32,
  learningRate: 2e-3,
  /** `--quick`: epochs per cell (patience = epochs: no early stop, restore-best only). */
  quickEpochs: 3,
  /**
   * The training size whose epochs are the budget: a cell on more patients (the learning curve)
   * gets the same number of optimiser steps, its epochs (and pretraining epochs) scaled by
   * `budgetSize / n` (at least 2 epochs and 1 pretraining epoch): see {@link cellEpochs}.
   */
  budgetSize: 600,
} as const;

/**
 * Epochs, pretraining epochs and patience of a cell on `trainSize` training patients (unset: the
 * budget's size): the main comparison's budget (`TRAINING.epochs`, `TRAINING.pretrainEpochs`) up
 * to `TRAINING.budgetSize` patients; above, the same number of optimiser steps (epochs × 600 / n,
 * rounded, at least 2; pretraining at least 1), so a learning-curve cell at 4800 patients costs
 * what one at 600 does. `--quick`: `TRAINING.quickEpochs`, 1 pretraining epoch, no early stop.
 *
 * @example
 * ```ts
 * cellEpochs(600, false);  // { epochs: 14, pretrainEpochs: 12, patience: 4 }
 * cellEpochs(2400, false); // { epochs: 4, pretrainEpochs: 3, patience: 4 }
 * ```
 */
export function cellEpochs(trainSize: number | undefined, quick: boolean): { epochs: number; pretrainEpochs: number; patience: number } {
  if (quick) return { epochs: TRAINING.quickEpochs, pretrainEpochs: 1, patience: TRAINING.quickEpochs };
  const scale = trainSize === undefined ? 1 : Math.min(1, TRAINING.budgetSize / trainSize);
  return {
    epochs: Math.max(2, Math.round(TRAINING.epochs * scale)),
    pretrainEpochs: Math.max(1, Math.round(TRAINING.pretrainEpochs * scale)),
    patience: TRAINING.patience,
  };
}

const DIM = 32;

/** The image encoder of every neural ablation (the study's and the demo's) for images of `imageShape`. */
export function imageEncoderConfig(imageShape: readonly number[]): NonNullable<TriModalModelConfig['image']> {
  return { inputShape: [...imageShape], spatialDims: 2, widths: [16, 32, 32], depths: [1, 1, 1], strides: [2, 2, 2], outputDim: DIM, norm: 'batch' };
}
const image = (c: ModelComponents) => imageEncoderConfig(c.imageShape);
const text = (c: ModelComponents) => ({ tokenizer: c.tok, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 });
const clinical = (c: ModelComponents) => ({ features: c.pre, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 });

/**
 * The `createTriModalModel` config of a neural ablation (not `late`, not a reference).
 *
 * @param seed - the initialisers' seed (the cell's model seed).
 * @throws Error for a spec that is not a neural model.
 */
export function modelConfig(spec: AblationSpec, c: ModelComponents, seed: number): TriModalModelConfig {
  if (spec.reference !== undefined || spec.fusion === 'late' || spec.fusion === 'none') {
    throw new Error(`ablation '${spec.id}' is not a single neural model`);
  }
  const has = (m: 'image' | 'text' | 'clinical') => spec.modalities.includes(m);
  const config: TriModalModelConfig = { seed };
  if (has('image')) config.image = image(c);
  if (has('text')) config.text = text(c);
  if (has('clinical')) config.clinical = clinical(c);
  if (spec.alignment && has('image') && c.fields) config.reportFields = c.fields;
  if (spec.fusion === 'pooled') config.fusion = { type: 'pooled' };
  else if (spec.fusion === 'concat') config.fusion = { type: 'concat', dim: DIM };
  else config.fusion = { type: 'vdafm', dim: DIM, numHeads: 4, numLayers: 1, dropout: 0.1 };
  return config;
}

/**
 * The `Trainer` options of a neural ablation (JSON-safe: the engine adds the progress callback).
 *
 * @param seed - the trainer's seed (shuffling, modality dropout); `trainSize`: the cell's
 *   training size when its epochs follow the step budget ({@link cellEpochs}; unset: the full budget).
 */
export function trainerOptions(spec: AblationSpec, options: { quick: boolean; seed: number; trainSize?: number }): TrainerOptions {
  const { epochs, pretrainEpochs, patience } = cellEpochs(options.trainSize, options.quick);
  return {
    epochs,
    batchSize: TRAINING.batchSize,
    learningRate: TRAINING.learningRate,
    seed: options.seed,
    earlyStopping: { metric: 'loss', patience, restoreBest: true },
    ...(spec.balancing ? {} : { balancing: false as const }),
    ...(spec.alignment ? alignedTrainerOptions(pretrainEpochs) : { alignment: false as const }),
    ...(spec.modalityDropout ? {} : { modalityDropout: false as const }),
  };
}

/**
 * The `Trainer` options that make a model "aligned" in the study and the demo: the report-field
 * loss (weight `TRAINING.fields`) with the dual alignment at its default weights during the
 * outcome training, `pretrainEpochs` epochs of field-head pretraining first
 * (`TRAINING.pretrainFields`, contrastive weights `TRAINING.pretrainContrastive`), and the
 * pretrained image encoder fine-tuned at `TRAINING.alignedImageLearningRate` × the learning rate.
 *
 * @example
 * ```ts
 * const trainer = new Trainer({ epochs: 14, ...alignedTrainerOptions(12) });
 * ```
 */
export function alignedTrainerOptions(pretrainEpochs: number): Pick<TrainerOptions, 'alignment' | 'pretrain' | 'groupLearningRates'> {
  return {
    alignment: { fields: TRAINING.fields },
    pretrain: { epochs: pretrainEpochs, fields: TRAINING.pretrainFields, ...TRAINING.pretrainContrastive },
    groupLearningRates: { image: TRAINING.alignedImageLearningRate },
  };
}
