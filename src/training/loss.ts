/**
 * The training loss of one batch: L = L_cls + λg·L_global + λf·L_fine + λc·L_clinical +
 * λaux·Σ L_aux, with each modality's confidence on the true class (for balancing).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { dualSemanticAlignmentLoss } from '../losses/alignment.js';
import { stopGradient } from '../ops/elementwise.js';
import { binaryCrossEntropy, binaryFocalLoss, ordinalLoss, softmaxCrossEntropy } from '../losses/classification.js';
import type { LogitScale } from '../losses/contrastive.js';
import { reportFieldLoss } from '../losses/fields.js';
import type { TriModalData } from '../models/data.js';
import type { Modality, TriModalModel, TriModalOutputs } from '../models/tri-modal.js';
import { DEFAULT_ALIGNMENT } from './types.js';

/** What {@link batchLoss} needs besides the model and the batch. @internal */
export interface LossSettings {
  /** Alignment settings in force, or null (no alignment loss). */
  alignment: AlignmentSettings | null;
  /** The learned logit scale (learnable temperature), or null for a fixed temperature. Read inside the loss, so that its gradient is taken. */
  logitScale: LogitScale | null;
  auxiliaryWeight: number;
  loss: 'bce' | 'focal';
  focalGamma: number;
  classWeights: number[] | null;
  /**
   * `'alignment'`: only the alignment terms (contrastive and report fields) — the pretraining phase,
   * where the report teaches the image before any outcome label is used. @defaultValue 'full'
   */
  objective?: 'full' | 'alignment';
}

/** The loss parts of one batch ({@link Trainer.computeLoss}); the caller owns every tensor. */
export interface BatchLoss {
  total: tf.Scalar;
  /** The summed terms (`classification`, `alignment`, `fields`, `aux_<modality>`). */
  parts: Record<string, tf.Scalar>;
  /** Each modality's auxiliary confidence on the true class. */
  confidence: Partial<Record<Modality, tf.Scalar>>;
  /** Logged, not summed: each alignment term, ln of the batch's report count, retrieval hit rates, the temperature. */
  metrics: Record<string, tf.Scalar>;
}

/**
 * Classification loss of a head's logits (BCE or focal for binary heads, softmax CE or the
 * ordinal loss otherwise).
 * @internal
 */
export function classificationLoss(model: TriModalModel, logits: tf.Tensor, labels: tf.Tensor, s: Pick<LossSettings, 'loss' | 'focalGamma' | 'classWeights'>): tf.Scalar {
  const cw = s.classWeights;
  if (model.headType === 'binary') {
    const opts = cw ? { classWeights: [cw[0]!, cw[1]!] as [number, number] } : {};
    return s.loss === 'focal' ? binaryFocalLoss(logits, labels, { ...opts, gamma: s.focalGamma }) : binaryCrossEntropy(logits, labels, opts);
  }
  if (model.headType === 'multiclass') return softmaxCrossEntropy(logits as tf.Tensor2D, labels, cw ? { classWeights: cw } : {});
  return ordinalLoss(logits as tf.Tensor2D, labels);
}

/** Batch mean of the probability a head gives to the true class. */
function trueClassConfidence(model: TriModalModel, logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const p = model.probabilities(logits);
    if (model.headType === 'binary') {
      const y = tf.cast(tf.reshape(labels, [-1]), 'float32');
      return tf.mean(tf.add(tf.mul(y, p), tf.mul(tf.sub(1, y), tf.sub(1, p)))) as tf.Scalar;
    }
    const oneHot = tf.oneHot(tf.cast(tf.reshape(labels, [-1]), 'int32'), model.numClasses);
    return tf.mean(tf.sum(tf.mul(oneHot, p), 1)) as tf.Scalar;
  });
}

/** Which side of the contrastive alignment is held fixed (see `TrainerOptions.alignment.visionAnchor`). */
export type AlignmentAnchor = 'vision' | 'text' | 'none' | 'ema';

/** The alignment settings in force (defaults filled in; `visionAnchor` resolved). @internal */
export type AlignmentSettings = Omit<typeof DEFAULT_ALIGNMENT, 'visionAnchor'> & { anchor: AlignmentAnchor; duplicates: 'positives' | 'negatives'; emaDecay: number };

/** The vision side from an EMA teacher (the `'ema'` anchor): its global embedding and tokens. @internal */
export interface TeacherVision {
  visualEmbedding: tf.Tensor2D;
  visualTokens: tf.Tensor3D;
}

/**
 * In-batch retrieval of the report from the image by cosine similarity of the global embeddings,
 * over the patients with a report: top-1 and top-5 hit rates and the chance level 1/n.
 */
function retrieval(ev: tf.Tensor2D, et: tf.Tensor2D, present: tf.Tensor1D): Record<string, tf.Scalar> {
  const s = tf.matMul(tf.div(ev, tf.maximum(tf.norm(ev, 2, 1, true), 1e-8)), tf.div(et, tf.maximum(tf.norm(et, 2, 1, true), 1e-8)), false, true);
  // rank of the true pair among the reports present: the number of present reports scoring higher
  const diag = tf.reshape(tf.sum(tf.mul(s, tf.eye(s.shape[0])), 1), [-1, 1]);
  const rank = tf.sum(tf.mul(tf.cast(tf.greater(s, diag), 'float32'), tf.reshape(present, [1, -1])), 1);
  const n = tf.maximum(tf.sum(present), 1);
  const hit = (k: number) => tf.div(tf.sum(tf.mul(tf.cast(tf.less(rank, k), 'float32'), present)), n) as tf.Scalar;
  return { retrieval_top1: hit(1), retrieval_top5: hit(5), retrieval_chance: tf.div(1, n) as tf.Scalar };
}

/**
 * The dual semantic alignment loss of a forward pass with its logged terms, or null when it does
 * not apply. The anchor decides which side is held fixed: the vision side (`'vision'`: text and
 * clinical are pulled to the image), the text side (`'text'`: the report teaches the image),
 * neither (`'none'`), or the vision side from an EMA teacher (`'ema'`). With duplicates as
 * positives, patients whose reports state the same findings (`batch.reportGroups`) are positives
 * of each other instead of negatives.
 */
function alignmentLoss(out: TriModalOutputs, batch: TriModalData, align: AlignmentSettings, logitScale: LogitScale | null, teacher: TeacherVision | null): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } | null {
  if (!(out.visualEmbedding && out.textEmbedding && out.visualTokens && out.textTokens && batch.textMask)) return null;
  const text = align.anchor === 'text';
  const ema = align.anchor === 'ema' && teacher !== null;
  const groups = !align.supervised && align.duplicates === 'positives' && batch.reportGroups ? (tf.reshape(batch.reportGroups, [-1]) as tf.Tensor1D) : null;
  const labels = align.supervised ? (tf.cast(tf.reshape(batch.labels, [-1]), 'int32') as tf.Tensor1D) : groups ? (tf.cast(groups, 'int32') as tf.Tensor1D) : null;
  const r = dualSemanticAlignmentLoss(
    {
      visualEmbedding: ema ? teacher.visualEmbedding : out.visualEmbedding,
      textEmbedding: text ? stopGradient(out.textEmbedding) : out.textEmbedding,
      ...(out.clinicalEmbedding ? { clinicalEmbedding: text ? stopGradient(out.clinicalEmbedding) : out.clinicalEmbedding } : {}),
      visualTokens: ema ? teacher.visualTokens : out.visualTokens,
      textTokens: text ? stopGradient(out.textTokens) : out.textTokens,
      textMask: batch.textMask as tf.Tensor2D,
      ...(batch.clinicalMask ? { clinicalMask: batch.clinicalMask as tf.Tensor2D } : {}),
      ...(labels ? { labels } : {}),
    },
    {
      globalWeight: align.global,
      fineWeight: align.fine,
      clinicalWeight: align.clinical,
      visionAnchor: align.anchor === 'vision' || ema,
      supervised: labels !== null,
      ...(logitScale ? { logitScale: logitScale.value() } : { temperature: align.temperature }),
    },
  );
  const present = tf.reshape(tf.max(tf.cast(batch.textMask, 'float32'), 1), [-1]) as tf.Tensor1D;
  const metrics: Record<string, tf.Scalar> = {
    align_global: r.global,
    align_fine: r.fine,
    align_clinical: r.clinical,
    ln_batch: tf.log(tf.maximum(tf.sum(present), 1)) as tf.Scalar,
    ...retrieval(out.visualEmbedding, out.textEmbedding, present),
  };
  if (logitScale) metrics['temperature'] = tf.div(1, logitScale.value()) as tf.Scalar;
  return { loss: r.loss, metrics };
}

/**
 * The loss parts of one batch (training mode when `training`; `step` seeds the dropout masks).
 * @internal
 */
export function batchLoss(model: TriModalModel, batch: TriModalData, training: boolean, s: LossSettings, step = 0, teacher: TeacherVision | null = null): BatchLoss {
  return tf.tidy(() => {
    const out = model.forward(batch, { training, dropoutStep: step });
    const labels = batch.labels;
    const pretraining = s.objective === 'alignment';
    const parts: Record<string, tf.Scalar> = pretraining ? {} : { classification: classificationLoss(model, out.logits, labels, s) };
    const confidence: Partial<Record<Modality, tf.Scalar>> = {};
    const aligned = s.alignment ? alignmentLoss(out, batch, s.alignment, s.logitScale, teacher) : null;
    const alignment = aligned?.loss ?? null;
    const metrics = aligned?.metrics ?? {};
    if (alignment) parts['alignment'] = alignment;
    const groups = model.reportFieldGroups();
    if (s.alignment && s.alignment.fields > 0 && groups && out.reportFields && batch.fieldTargets && batch.fieldMask) {
      parts['fields'] = tf.mul(reportFieldLoss(out.reportFields, batch.fieldTargets, batch.fieldMask, groups), s.alignment.fields) as tf.Scalar;
    }
    const auxParts: tf.Scalar[] = [];
    for (const [m, logits] of Object.entries(pretraining ? {} : out.auxiliary) as Array<[Modality, tf.Tensor]>) {
      const l = classificationLoss(model, logits, labels, s);
      parts[`aux_${m}`] = l;
      auxParts.push(l);
      confidence[m] = trueClassConfidence(model, logits, labels);
    }
    let total: tf.Tensor = parts['classification'] ?? tf.scalar(0);
    if (alignment) total = tf.add(total, alignment);
    if (parts['fields']) total = tf.add(total, parts['fields']);
    if (auxParts.length > 0 && s.auxiliaryWeight > 0) total = tf.add(total, tf.mul(tf.addN(auxParts), s.auxiliaryWeight));
    disposeOutputs(out);
    return { total: total as tf.Scalar, parts, confidence, metrics };
  });
}

/** Disposes every tensor of a forward pass's outputs. @internal */
export function disposeOutputs(out: TriModalOutputs): void {
  tf.dispose([
    out.logits,
    ...Object.values(out.auxiliary),
    ...[out.visualEmbedding, out.textEmbedding, out.clinicalEmbedding, out.visualTokens, out.textTokens, out.gate, out.clinicalImportance].filter(
      (t): t is NonNullable<typeof t> => t !== undefined,
    ),
    ...(out.visionToTextAttention ?? []),
    ...(out.textToVisionAttention ?? []),
  ]);
}
