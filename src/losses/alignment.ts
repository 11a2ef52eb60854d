/**
 * Token-level (fine-grained) alignment loss and the dual semantic alignment loss that combines
 * it with the global contrastive terms, vision being the anchor ("vision-core").
 *
 * These equations are this package's reading of the VDAFM paper's abstract, not its exact
 * formulas (see docs/guides/vdafm.md).
 *
 * @packageDocumentation
 */
import { maxLastAxis } from '../ops/max.js';
import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize, readMask, stopGradient, zeroPadded } from '../ops/elementwise.js';
import { matMul } from '../ops/matmul.js';
import { assertPositiveNumber, assertRank, assertSameDims, assertTensorLike } from '../core/validate.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { contrastiveLoss, type ContrastiveLossOptions, symmetricInfoNce } from './contrastive.js';

/** Checks a `temperature` / `logitScale` pair: at most one, each a finite number > 0. */
function checkScale(options: { temperature?: number | undefined; logitScale?: number | tf.Scalar | undefined }): void {
  if (options.temperature !== undefined && options.logitScale !== undefined) {
    throw new InvalidArgumentError({ argument: 'temperature', message: 'Give either temperature or logitScale, not both.', received: options.temperature });
  }
  if (options.temperature !== undefined) assertPositiveNumber(options.temperature, 'temperature');
  if (typeof options.logitScale === 'number') assertPositiveNumber(options.logitScale, 'logitScale');
}

/** Options of {@link fineGrainedAlignmentLoss}. */
export interface FineGrainedAlignmentOptions {
  /** Fixed temperature τ. @defaultValue 0.07 when no `logitScale` */
  temperature?: number;
  /** Logit scale 1/τ (number or differentiable scalar). */
  logitScale?: number | tf.Scalar;
  /**
   * Stop the gradient into the visual tokens, so that text is pulled to the image and not the
   * image to the text.
   * @defaultValue true
   */
  visionAnchor?: boolean;
  /** `[batch]` class labels for supervised positives. @defaultValue undefined */
  labels?: tf.Tensor1D;
}

/** Result of {@link fineGrainedAlignmentLoss}; the caller owns every tensor. */
export type FineGrainedAlignmentResult = {
  /** Scalar loss, ≥ 0. */
  loss: tf.Scalar;
  /** `[batch, batch]` late-interaction similarities s(i, k) ∈ [−1, 1] (image i, text k). */
  similarity: tf.Tensor2D;
}

/**
 * Late-interaction similarity between every image and every report of a batch:
 * s(i, k) = mean over valid text tokens j of report k of max over visual tokens m of image i of
 * cos(t_kj, v_im). Reports with no valid token get 0.
 *
 * @param visualTokens - `[batch, Nv, d]`.
 * @param textTokens - `[batch, Nt, d]`.
 * @param textMask - `[batch, Nt]`, 1 = token, 0 = padding: bool or 0/1, read as valid where > 0.5
 *   (see {@link readMask}).
 * @returns `[batch (images), batch (reports)]`; the caller owns it.
 * @throws {@link ShapeError} for `visualTokens` or `textTokens` not rank 3, `textMask` not rank 2,
 *   `textTokens` not matching `visualTokens` in batch and width, `textMask` not matching
 *   `textTokens` in batch and tokens.
 * @throws {@link InvalidArgumentError} naming `textMask` for a dtype other than bool, float32 and
 *   int32 (or, with {@link setValidateMasks} on, a value other than 0 and 1).
 * @example
 * ```ts
 * const s = lateInteractionSimilarity(visualTokens, textTokens, textMask); // [B, B]
 * ```
 */
export function lateInteractionSimilarity(visualTokens: tf.Tensor3D, textTokens: tf.Tensor3D, textMask: tf.Tensor2D): tf.Tensor2D {
  checkTokens(visualTokens, textTokens, textMask);
  return tf.tidy(() => {
    const [b, nv, d] = visualTokens.shape;
    const nt = textTokens.shape[1];
    const mask = readMask(textMask, 'textMask');
    const v = tf.reshape(l2Normalize(visualTokens), [b * nv, d]) as tf.Tensor2D;
    // padded tokens selected to zero (a NaN there would reach every similarity through the product)
    const t = tf.reshape(l2Normalize(zeroPadded(textTokens, mask)), [b * nt, d]) as tf.Tensor2D;
    // [B_text·Nt, B_image·Nv] → [B_text, Nt, B_image, Nv] → max over Nv
    const cos = tf.reshape(matMul(t, tf.transpose(v) as tf.Tensor2D), [b, nt, b, nv]);
    const best = maxLastAxis(cos); // [B_text, Nt, B_image]
    const m = tf.expandDims(mask, -1); // [B_text, Nt, 1]
    const mean = tf.div(tf.sum(tf.mul(best, m), 1), tf.maximum(tf.sum(m, 1), 1)); // [B_text, B_image]
    return tf.transpose(mean) as tf.Tensor2D; // [B_image, B_text]
  });
}

function checkTokens(visualTokens: tf.Tensor, textTokens: tf.Tensor, textMask: tf.Tensor): void {
  assertTensorLike(visualTokens, 'visualTokens', '[batch, visualTokens, dim]');
  assertTensorLike(textTokens, 'textTokens', '[batch, textTokens, dim]');
  assertTensorLike(textMask, 'textMask', '[batch, textTokens]');
  assertRank(visualTokens, 3, 'visualTokens', '[batch, visualTokens, dim]');
  assertRank(textTokens, 3, 'textTokens', '[batch, textTokens, dim]');
  assertRank(textMask, 2, 'textMask', '[batch, textTokens]');
  assertSameDims(textTokens, visualTokens, [0, 2], 'textTokens', 'visualTokens', '[batch, textTokens, dim]');
  assertSameDims(textMask, textTokens, [0, 1], 'textMask', 'textTokens', '[batch, textTokens]');
}

/**
 * Fine-grained semantic alignment: symmetric InfoNCE over the late-interaction similarities
 * s(i, k)·scale (see {@link lateInteractionSimilarity}). Samples whose report is missing (text
 * mask all zero) are excluded. With `visionAnchor` (default) no gradient reaches the visual
 * tokens.
 *
 * @param visualTokens - `[batch, Nv, d]` (e.g. VDAFM's `visualTokens` output).
 * @param textTokens - `[batch, Nt, d]` (e.g. VDAFM's `textTokens` output).
 * @param textMask - `[batch, Nt]`, 1 = token, 0 = padding: bool or 0/1, read as valid where > 0.5
 *   (see {@link readMask}).
 * @returns loss ≥ 0 and the similarity matrix; the caller owns them.
 * @throws {@link ShapeError} for `visualTokens` or `textTokens` not rank 3, `textMask` not rank 2,
 *   `textTokens` not matching `visualTokens` in batch and width, `textMask` not matching
 *   `textTokens` in batch and tokens; `labels` (option) not `[batch]`.
 * @throws {@link InvalidArgumentError} naming `temperature` (given with `logitScale`, or not a
 *   finite number > 0), `logitScale` (a number that is not > 0), an input that is not a tensor, or
 *   `textMask` for a dtype other than bool, float32 and int32 (or,
 *   with {@link setValidateMasks} on, a value other than 0 and 1).
 * @example
 * ```ts
 * const { loss } = fineGrainedAlignmentLoss(out.visualTokens, out.textTokens, textMask, { temperature: 0.1 });
 * ```
 */
export function fineGrainedAlignmentLoss(
  visualTokens: tf.Tensor3D,
  textTokens: tf.Tensor3D,
  textMask: tf.Tensor2D,
  options: FineGrainedAlignmentOptions = {},
): FineGrainedAlignmentResult {
  checkTokens(visualTokens, textTokens, textMask);
  checkScale(options);
  if (options.labels && (options.labels.rank !== 1 || options.labels.shape[0] !== textTokens.shape[0])) {
    throw new ShapeError({ argument: 'labels', expected: `[${textTokens.shape[0]}]`, received: options.labels.shape });
  }
  return tf.tidy(() => {
    const v = options.visionAnchor === false ? visualTokens : stopGradient(visualTokens);
    const similarity = lateInteractionSimilarity(v, textTokens, textMask);
    const present = tf.reshape(tf.max(readMask(textMask, 'textMask'), 1), [-1]) as tf.Tensor1D;
    const scale = options.logitScale ?? 1 / (options.temperature ?? 0.07);
    const loss = symmetricInfoNce(tf.mul(similarity, scale) as tf.Tensor2D, {
      mask: present,
      ...(options.labels ? { labels: options.labels } : {}),
    });
    return { loss, similarity };
  });
}

/** Inputs of {@link dualSemanticAlignmentLoss} (typically VDAFM's outputs plus the masks). */
export interface DualAlignmentInputs {
  /** e_v, `[batch, e]`. */
  visualEmbedding: tf.Tensor2D;
  /** e_t, `[batch, e]`. */
  textEmbedding: tf.Tensor2D;
  /** e_c, `[batch, e]` (optional: adds the image↔clinical term). */
  clinicalEmbedding?: tf.Tensor2D;
  /** V0, `[batch, Nv, d]`. */
  visualTokens: tf.Tensor3D;
  /** T0, `[batch, Nt, d]`. */
  textTokens: tf.Tensor3D;
  /** `[batch, Nt]`, 1 = token, 0 = padding (all 0 = report missing): bool or 0/1, valid where > 0.5. */
  textMask: tf.Tensor2D;
  /** `[batch, Nc]` clinical mask (bool or 0/1, valid where > 0.5); samples with no valid clinical value are excluded from the clinical term. */
  clinicalMask?: tf.Tensor2D;
  /** `[batch]` outcome labels for supervised positives. */
  labels?: tf.Tensor1D;
}

/** Options of {@link dualSemanticAlignmentLoss}. */
export interface DualAlignmentOptions {
  /** Weight λg of the global image↔text contrastive term. @defaultValue 1 */
  globalWeight?: number;
  /** Weight λf of the fine-grained term. @defaultValue 1 */
  fineWeight?: number;
  /** Weight of the image↔clinical contrastive term (when clinical embeddings are given). @defaultValue 1 */
  clinicalWeight?: number;
  /** Temperature or logit scale of all terms (a {@link LogitScale} value for a learned one). */
  logitScale?: number | tf.Scalar;
  /** Fixed temperature (instead of logitScale). @defaultValue 0.07 */
  temperature?: number;
  /** Stop gradients into the vision side of every term. @defaultValue true */
  visionAnchor?: boolean;
  /** Use `labels` as supervised positives. @defaultValue false */
  supervised?: boolean;
}

/**
 * Checks every input of {@link dualSemanticAlignmentLoss} by the name the caller gave it, against
 * `visualEmbedding` (the vision core): the inner calls would name their own parameters (`a`, `b`,
 * `mask`).
 */
function checkDualInputs(inputs: DualAlignmentInputs, supervised: boolean): void {
  if (inputs === null || typeof inputs !== 'object') {
    throw new InvalidArgumentError({ argument: 'inputs', message: 'dualSemanticAlignmentLoss takes an object of tensors (visualEmbedding, textEmbedding, visualTokens, textTokens, textMask, ...).', received: inputs });
  }
  const embedding = '[batch, embedDim]';
  assertTensorLike(inputs.visualEmbedding, 'visualEmbedding', embedding);
  assertRank(inputs.visualEmbedding, 2, 'visualEmbedding', embedding);
  const others: Array<[string, tf.Tensor | undefined]> = [['textEmbedding', inputs.textEmbedding]];
  if (inputs.clinicalEmbedding !== undefined) others.push(['clinicalEmbedding', inputs.clinicalEmbedding]);
  for (const [name, e] of others) {
    assertTensorLike(e, name, embedding);
    assertRank(e, 2, name, embedding);
    assertSameDims(e, inputs.visualEmbedding, [0, 1], name, 'visualEmbedding', embedding);
  }
  const masks: Array<[string, tf.Tensor | undefined, string]> = [['textMask', inputs.textMask, '[batch, textTokens]']];
  if (inputs.clinicalMask !== undefined) masks.push(['clinicalMask', inputs.clinicalMask, '[batch, clinicalTokens]']);
  assertTensorLike(inputs.visualTokens, 'visualTokens', '[batch, visualTokens, dim]');
  assertSameDims(inputs.visualTokens, inputs.visualEmbedding, [0], 'visualTokens', 'visualEmbedding', '[batch, visualTokens, dim]');
  for (const [name, m, expected] of masks) {
    assertTensorLike(m, name, expected);
    assertRank(m, 2, name, expected);
    assertSameDims(m, inputs.visualEmbedding, [0], name, 'visualEmbedding', expected);
  }
  checkTokens(inputs.visualTokens, inputs.textTokens, inputs.textMask);
  if (supervised) {
    if (!inputs.labels) throw new InvalidArgumentError({ argument: 'labels', message: 'supervised alignment needs inputs.labels.', received: undefined });
    const batch = inputs.visualEmbedding.shape[0];
    if (inputs.labels.rank !== 1 || inputs.labels.shape[0] !== batch) {
      throw new ShapeError({ argument: 'labels', expected: `[${batch}]`, received: inputs.labels.shape });
    }
  }
}

/** Result of {@link dualSemanticAlignmentLoss}; the caller owns every tensor. */
export type DualAlignmentResult = {
  /** λg·global + λf·fine + λc·clinical, ≥ 0. */
  loss: tf.Scalar;
  /** Global image↔text InfoNCE. */
  global: tf.Scalar;
  /** Fine-grained token-level InfoNCE. */
  fine: tf.Scalar;
  /** Image↔clinical InfoNCE (0 when no clinical embeddings). */
  clinical: tf.Scalar;
}

/**
 * The dual semantic alignment loss (this package's reading of the paper): a global contrastive
 * term between image and report embeddings, a fine-grained token-level term, and an image↔clinical
 * term, every modality bound to the vision core. Samples with a missing report or no clinical
 * value are excluded from the corresponding term. With `visionAnchor` (default) no gradient from
 * these terms reaches the vision side.
 *
 * @returns the total and each term; the caller owns them.
 * @throws {@link InvalidArgumentError} naming `globalWeight`, `fineWeight` or `clinicalWeight` (not
 *   a finite number ≥ 0), `labels` (`supervised` without `inputs.labels`), `temperature` (given
 *   with `logitScale`, or not a finite number > 0), `logitScale` (a number that is not > 0), an
 *   input that is not a tensor (`visualEmbedding`, `textMask`, ...), or `textMask` /
 *   `clinicalMask` of a dtype other than bool, float32 and int32 (or, with
 *   {@link setValidateMasks} on, a value other than 0 and 1).
 * @throws {@link ShapeError} naming the input and showing its shape, checked against
 *   `visualEmbedding` (rank 2): `textEmbedding` or `clinicalEmbedding` not of its shape;
 *   `visualTokens`, `textMask` or `clinicalMask` (rank 2) not of its batch; the tokens and
 *   `textMask` as {@link fineGrainedAlignmentLoss} checks them; `labels` not `[batch]`.
 * @example
 * ```ts
 * const out = fusion.fuse([visual, text, textMask, clinical, clinicalMask], { training: true });
 * const { loss, global, fine } = dualSemanticAlignmentLoss(
 *   { ...out, textMask, clinicalMask },
 *   { logitScale: scale.value() },
 * );
 * ```
 */
export function dualSemanticAlignmentLoss(inputs: DualAlignmentInputs, options: DualAlignmentOptions = {}): DualAlignmentResult {
  const weights = {
    globalWeight: options.globalWeight ?? 1,
    fineWeight: options.fineWeight ?? 1,
    clinicalWeight: options.clinicalWeight ?? 1,
  };
  for (const [k, v] of Object.entries(weights)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new InvalidArgumentError({ argument: k, message: `${k} must be a finite number ≥ 0.`, received: v });
    }
  }
  checkDualInputs(inputs, options.supervised === true);
  checkScale(options);
  const anchor = options.visionAnchor ?? true;
  const labels = options.supervised ? inputs.labels : undefined;
  return tf.tidy(() => {
    const scaleOpts: Pick<ContrastiveLossOptions, 'logitScale' | 'temperature'> =
      options.logitScale !== undefined ? { logitScale: options.logitScale } : { temperature: options.temperature ?? 0.07 };
    const ev = anchor ? stopGradient(inputs.visualEmbedding) : inputs.visualEmbedding;
    const textPresent = tf.reshape(tf.max(readMask(inputs.textMask, 'textMask'), 1), [-1]) as tf.Tensor1D;
    const g = contrastiveLoss(ev, inputs.textEmbedding, { ...scaleOpts, mask: textPresent, ...(labels ? { labels } : {}) });
    const f = fineGrainedAlignmentLoss(inputs.visualTokens, inputs.textTokens, inputs.textMask, {
      ...scaleOpts,
      visionAnchor: anchor,
      ...(labels ? { labels } : {}),
    });
    let clinical: tf.Scalar = tf.scalar(0);
    if (inputs.clinicalEmbedding) {
      const present = inputs.clinicalMask
        ? (tf.reshape(tf.max(readMask(inputs.clinicalMask, 'clinicalMask'), 1), [-1]) as tf.Tensor1D)
        : undefined;
      clinical = contrastiveLoss(ev, inputs.clinicalEmbedding, {
        ...scaleOpts,
        ...(present ? { mask: present } : {}),
        ...(labels ? { labels } : {}),
      }).loss;
    }
    const loss = tf.addN([
      tf.mul(g.loss, weights.globalWeight),
      tf.mul(f.loss, weights.fineWeight),
      tf.mul(clinical, weights.clinicalWeight),
    ]) as tf.Scalar;
    return { loss, global: g.loss, fine: f.loss, clinical };
  });
}
