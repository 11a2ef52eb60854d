/**
 * The training loss of one batch: L = L_cls + λg·L_global + λf·L_fine + λc·L_clinical +
 * λaux·Σ L_aux, with each modality's confidence on the true class (for balancing).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { dualSemanticAlignmentLoss } from '../losses/alignment.js';
import { binaryCrossEntropy, binaryFocalLoss, ordinalLoss, softmaxCrossEntropy } from '../losses/classification.js';
import type { LogitScale } from '../losses/contrastive.js';
import { reportFieldLoss } from '../losses/fields.js';
import type { TriModalData } from '../models/data.js';
import type { Modality, TriModalModel, TriModalOutputs } from '../models/tri-modal.js';
import { DEFAULT_ALIGNMENT } from './types.js';

/** What {@link batchLoss} needs besides the model and the batch. @internal */
export interface LossSettings {
  /** Alignment weights in force, or null (no alignment loss). */
  alignment: typeof DEFAULT_ALIGNMENT | null;
  /** The learned logit scale (learnable temperature), or null for a fixed temperature. Read inside the loss, so that its gradient is taken. */
  logitScale: LogitScale | null;
  auxiliaryWeight: number;
  loss: 'bce' | 'focal';
  focalGamma: number;
  classWeights: number[] | null;
}

/** The loss parts of one batch ({@link Trainer.computeLoss}); the caller owns every tensor. */
export interface BatchLoss {
  total: tf.Scalar;
  parts: Record<string, tf.Scalar>;
  confidence: Partial<Record<Modality, tf.Scalar>>;
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

/** The dual semantic alignment loss of a forward pass, or null when it does not apply. */
function alignmentLoss(out: TriModalOutputs, batch: TriModalData, align: typeof DEFAULT_ALIGNMENT, logitScale: LogitScale | null): tf.Scalar | null {
  if (!(out.visualEmbedding && out.textEmbedding && out.visualTokens && out.textTokens && batch.textMask)) return null;
  const r = dualSemanticAlignmentLoss(
    {
      visualEmbedding: out.visualEmbedding,
      textEmbedding: out.textEmbedding,
      ...(out.clinicalEmbedding ? { clinicalEmbedding: out.clinicalEmbedding } : {}),
      visualTokens: out.visualTokens,
      textTokens: out.textTokens,
      textMask: batch.textMask as tf.Tensor2D,
      ...(batch.clinicalMask ? { clinicalMask: batch.clinicalMask as tf.Tensor2D } : {}),
      ...(align.supervised ? { labels: tf.cast(tf.reshape(batch.labels, [-1]), 'int32') as tf.Tensor1D } : {}),
    },
    {
      globalWeight: align.global,
      fineWeight: align.fine,
      clinicalWeight: align.clinical,
      visionAnchor: align.visionAnchor,
      supervised: align.supervised,
      ...(logitScale ? { logitScale: logitScale.value() } : { temperature: align.temperature }),
    },
  );
  return r.loss;
}

/**
 * The loss parts of one batch (training mode when `training`; `step` seeds the dropout masks).
 * @internal
 */
export function batchLoss(model: TriModalModel, batch: TriModalData, training: boolean, s: LossSettings, step = 0): BatchLoss {
  return tf.tidy(() => {
    const out = model.forward(batch, { training, dropoutStep: step });
    const labels = batch.labels;
    const parts: Record<string, tf.Scalar> = { classification: classificationLoss(model, out.logits, labels, s) };
    const confidence: Partial<Record<Modality, tf.Scalar>> = {};
    const alignment = s.alignment ? alignmentLoss(out, batch, s.alignment, s.logitScale) : null;
    if (alignment) parts['alignment'] = alignment;
    const groups = model.reportFieldGroups();
    if (s.alignment && s.alignment.fields > 0 && groups && out.reportFields && batch.fieldTargets && batch.fieldMask) {
      parts['fields'] = tf.mul(reportFieldLoss(out.reportFields, batch.fieldTargets, batch.fieldMask, groups), s.alignment.fields) as tf.Scalar;
    }
    const auxParts: tf.Scalar[] = [];
    for (const [m, logits] of Object.entries(out.auxiliary) as Array<[Modality, tf.Tensor]>) {
      const l = classificationLoss(model, logits, labels, s);
      parts[`aux_${m}`] = l;
      auxParts.push(l);
      confidence[m] = trueClassConfidence(model, logits, labels);
    }
    let total: tf.Tensor = parts['classification']!;
    if (alignment) total = tf.add(total, alignment);
    if (parts['fields']) total = tf.add(total, parts['fields']);
    if (auxParts.length > 0 && s.auxiliaryWeight > 0) total = tf.add(total, tf.mul(tf.addN(auxParts), s.auxiliaryWeight));
    disposeOutputs(out);
    return { total: total as tf.Scalar, parts, confidence };
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
