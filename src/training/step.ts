/**
 * One optimiser step of the trainer: the loss and its gradients (`tf.variableGrads`), gradient
 * modulation across the modality encoders, the finiteness check, clipping by global norm, one
 * small read-back of the logged values, and the AdamW update.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteError } from '../errors.js';
import type { TriModalData } from '../models/data.js';
import type { Modality, TriModalModel } from '../models/tri-modal.js';
import { allFinite, globalNorm, modulationCoefficients } from './gradients.js';
import { batchLoss, type LossSettings } from './loss.js';
import type { AdamW } from './optimizer.js';
import type { TrainingLogs } from './types.js';

/** What one step needs besides the batch. @internal */
export interface StepContext {
  model: TriModalModel;
  /** Every trained variable (the model's and the learned temperature). */
  vars: tf.Variable[];
  /** Variables by modality group (see `TriModalModel.variableGroups`). */
  groups: Record<string, tf.Variable[]>;
  optimizer: AdamW;
  loss: LossSettings;
  /** Gradient modulation α, or null when balancing is off. */
  balancingAlpha: number | null;
  /** Clip to this global norm, or null. */
  clipNorm: number | null;
}

/** Scales each modality group's gradients by its modulation coefficient (new record; tensors owned by the caller). */
function modulate(grads: tf.NamedTensorMap, coefficients: Record<string, tf.Scalar>, groups: Record<string, tf.Variable[]>): tf.NamedTensorMap {
  return tf.tidy(() => {
    const scaled: Record<string, tf.Tensor> = { ...grads };
    for (const [group, k] of Object.entries(coefficients)) {
      for (const v of groups[group] ?? []) if (scaled[v.name]) scaled[v.name] = tf.mul(scaled[v.name]!, k);
    }
    return scaled;
  });
}

/**
 * Runs one training step on `batch` at global step `step` with learning rate `lr` (already set on
 * the optimizer; logged). Applies the update only when the loss and every gradient are finite.
 *
 * @returns the step's logs: `loss`, `lr`, each loss part, `coef_<modality>`, `grad_norm`.
 * @throws {@link NonFiniteError} naming the step and the part that is not finite (no update applied).
 * @internal
 */
export async function trainStep(ctx: StepContext, batch: TriModalData, step: number, lr: number): Promise<TrainingLogs> {
  const keptParts: Record<string, tf.Scalar> = {};
  const keptConfidence: Partial<Record<Modality, tf.Scalar>> = {};
  const { value, grads: rawGrads } = tf.variableGrads(() => {
    const r = batchLoss(ctx.model, batch, true, ctx.loss, step);
    for (const [k, v] of Object.entries(r.parts)) keptParts[k] = tf.keep(v);
    for (const [k, v] of Object.entries(r.confidence)) keptConfidence[k as Modality] = tf.keep(v!);
    return r.total;
  }, ctx.vars);
  let coefficients: Record<string, tf.Scalar> = {};
  let grads = rawGrads;
  if (ctx.balancingAlpha !== null && Object.keys(keptConfidence).length >= 2) {
    coefficients = modulationCoefficients(keptConfidence as Record<string, tf.Scalar>, ctx.balancingAlpha);
    grads = modulate(rawGrads, coefficients, ctx.groups);
  }
  const finite = allFinite([value, ...Object.values(grads)]);
  let norm: tf.Scalar | null = null;
  let clipScale: tf.Scalar | null = null;
  if (ctx.clipNorm !== null) {
    // clipping by global norm, applied by the optimizer to the concatenated gradients
    const maxNorm = ctx.clipNorm;
    norm = globalNorm(grads);
    clipScale = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.maximum(norm!, 1e-12))) as tf.Scalar);
  }
  const partNames = Object.keys(keptParts);
  const coefNames = Object.keys(coefficients);
  const readback = tf.stack([finite, value, ...partNames.map((k) => keptParts[k]!), ...coefNames.map((k) => coefficients[k]!), ...(norm ? [norm] : [])]);
  const values = await readback.data();
  const ok = values[0] === 1;
  if (ok) ctx.optimizer.applyGradients(grads, ctx.vars, clipScale ? { gradientScale: clipScale } : {});
  tf.dispose([
    ...new Set<tf.Tensor>([readback, finite, value, ...Object.values(rawGrads), ...Object.values(grads), ...Object.values(keptParts), ...Object.values(keptConfidence), ...Object.values(coefficients)]),
    ...(clipScale ? [clipScale] : []),
    ...(norm ? [norm] : []),
  ]);
  if (!ok) {
    const bad = partNames.findIndex((_, i) => !Number.isFinite(values[2 + i]!));
    if (bad >= 0) throw new NonFiniteError({ step, part: partNames[bad]!, value: values[2 + bad]! });
    if (!Number.isFinite(values[1]!)) throw new NonFiniteError({ step, part: 'total', value: values[1]! });
    throw new NonFiniteError({ step, part: 'gradient' });
  }
  const logs: TrainingLogs = { loss: values[1]!, lr };
  partNames.forEach((k, i) => (logs[k] = values[2 + i]!));
  coefNames.forEach((k, i) => (logs[`coef_${k}`] = values[2 + partNames.length + i]!));
  if (norm) logs['grad_norm'] = values[values.length - 1]!;
  return logs;
}
