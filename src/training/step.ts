/**
 * One optimiser step of the trainer: the loss and its gradients (`tf.variableGrads`), modality
 * balancing (./balancing.ts: gradient modulation for `'ogm-ge'`, a second backward pass and
 * per-encoder Pareto integration for `'pareto'`, per-variable step factors for `'adaptive'`), the
 * finiteness check, clipping by global norm, one small read-back of the logged values (loss
 * parts, coefficients, each modality's share of the gradient norm), and the update.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { NonFiniteError } from '../errors.js';
import type { TriModalData } from '../models/data.js';
import type { Modality, TriModalModel } from '../models/tri-modal.js';
import { paretoWeights } from './balancing.js';
import { allFinite, flatten, globalNorm, modulationCoefficients } from './gradients.js';
import type { EmaTeacher } from './ema.js';
import { batchLoss, type LossSettings, type TeacherVision } from './loss.js';
import type { Optimizer } from './optimizer.js';
import type { TrainingLogs } from './types.js';

/** How the step balances the modalities. @internal */
type StepBalancing =
  | { method: 'none' }
  | { method: 'ogm-ge'; alpha: number }
  | { method: 'adaptive'; coefficients: Readonly<Record<string, number>> }
  | { method: 'pareto' };

/** What one step needs besides the batch. @internal */
export interface StepContext {
  model: TriModalModel;
  /** Every trained variable (the model's and the learned temperature). */
  vars: tf.Variable[];
  /** Variables by modality group (see `TriModalModel.variableGroups`). */
  groups: Record<string, tf.Variable[]>;
  optimizer: Optimizer;
  loss: LossSettings;
  balancing: StepBalancing;
  /** Clip to this global norm, or null. */
  clipNorm: number | null;
  /** Log each modality group's share of the squared gradient norm (`grad_share_<group>`). */
  gradientShare: boolean;
  /** The EMA teacher of the `'ema'` alignment anchor, or null. */
  teacher: EmaTeacher | null;
  /** Update multipliers per variable group (`TrainerOptions.groupLearningRates`), or null. */
  groupLearningRates?: Readonly<Record<string, number>> | null;
}

/** The modality encoder groups of the model (every group but `shared`). */
function modalityGroups(ctx: StepContext): string[] {
  return Object.keys(ctx.groups).filter((g) => g !== 'shared' && (ctx.groups[g]?.length ?? 0) > 0);
}

/** Scales each modality group's gradients by its coefficient (new record; tensors owned by the caller). */
function modulate(grads: tf.NamedTensorMap, coefficients: Record<string, tf.Scalar>, groups: Record<string, tf.Variable[]>): tf.NamedTensorMap {
  return tf.tidy(() => {
    const scaled: Record<string, tf.Tensor> = { ...grads };
    for (const [group, k] of Object.entries(coefficients)) {
      for (const v of groups[group] ?? []) if (scaled[v.name]) scaled[v.name] = tf.mul(scaled[v.name]!, k);
    }
    return scaled;
  });
}

/** Squared norm of a group's gradients (a scalar; 0 for none). */
function groupSquaredNorm(grads: tf.NamedTensorMap, vars: tf.Variable[]): tf.Scalar {
  const list = vars.map((v) => grads[v.name]).filter((g): g is tf.Tensor => g !== undefined);
  return tf.tidy(() => (list.length === 0 ? tf.scalar(0) : (tf.sum(tf.square(flatten(list))) as tf.Scalar)));
}

/** The gradients of `objective` (the given loss parts) with the losses kept for logging. */
function lossGrads(ctx: StepContext, batch: TriModalData, step: number, pick: (parts: Record<string, tf.Scalar>, total: tf.Scalar) => tf.Scalar, keep: boolean, teacher: TeacherVision | null) {
  const keptParts: Record<string, tf.Scalar> = {};
  const keptConfidence: Partial<Record<Modality, tf.Scalar>> = {};
  const keptMetrics: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = batchLoss(ctx.model, batch, true, ctx.loss, step, teacher);
    if (keep) {
      for (const [k, v] of Object.entries(r.parts)) keptParts[k] = tf.keep(v);
      for (const [k, v] of Object.entries(r.confidence)) keptConfidence[k as Modality] = tf.keep(v!);
      for (const [k, v] of Object.entries(r.metrics)) keptMetrics[k] = tf.keep(v);
    }
    return pick(r.parts, r.total);
  }, ctx.vars);
  return { value, grads, keptParts, keptConfidence, keptMetrics };
}

/**
 * Pareto integration (see `paretoWeights`): per modality group, the gradients of the multimodal
 * loss `a` and of the auxiliary losses `b` are combined with weights from their dot products;
 * the shared group takes a + b. Returns the combined gradients and whether each group conflicted.
 */
async function paretoGradients(ctx: StepContext, a: tf.NamedTensorMap, b: tf.NamedTensorMap): Promise<{ grads: tf.NamedTensorMap; conflicts: Record<string, number> }> {
  const groups = modalityGroups(ctx);
  const dots = tf.tidy(() =>
    tf.stack(
      groups.flatMap((g) => {
        const vars = (ctx.groups[g] ?? []).filter((v) => a[v.name] && b[v.name]);
        if (vars.length === 0) return [tf.scalar(0), tf.scalar(0), tf.scalar(0)];
        const fa = flatten(vars.map((v) => a[v.name]!));
        const fb = flatten(vars.map((v) => b[v.name]!));
        return [tf.sum(tf.square(fa)), tf.sum(tf.square(fb)), tf.sum(tf.mul(fa, fb))];
      }),
    ),
  );
  const d = await dots.data();
  dots.dispose();
  const weights: Record<string, { wa: number; wb: number }> = {};
  const conflicts: Record<string, number> = {};
  groups.forEach((g, i) => {
    const w = paretoWeights(d[3 * i]!, d[3 * i + 1]!, d[3 * i + 2]!);
    weights[g] = w;
    conflicts[g] = w.conflict ? 1 : 0;
  });
  const groupOf = new Map<string, string>();
  for (const g of groups) for (const v of ctx.groups[g] ?? []) groupOf.set(v.name, g);
  const grads = tf.tidy(() => {
    const out: tf.NamedTensorMap = {};
    for (const v of ctx.vars) {
      const ga = a[v.name];
      const gb = b[v.name];
      if (!ga && !gb) continue;
      const w = weights[groupOf.get(v.name) ?? ''] ?? { wa: 1, wb: 1 };
      out[v.name] = ga && gb ? tf.add(tf.mul(ga, w.wa), tf.mul(gb, w.wb)) : tf.mul((ga ?? gb)!, ga ? w.wa : w.wb);
    }
    return out;
  });
  return { grads, conflicts };
}

/**
 * Runs one training step on `batch` at global step `step` with learning rate `lr` (already set on
 * the optimizer; logged). Applies the update only when the loss and every gradient are finite.
 *
 * @returns the step's logs: `loss`, `lr`, each loss part, `coef_<modality>` (modulation),
 *   `conf_train_<modality>` (the auxiliary head's mean true-class probability on this batch),
 *   `pareto_conflict_<modality>`, `grad_share_<group>`, `grad_norm`.
 * @throws {@link NonFiniteError} naming the step and the part that is not finite (no update applied).
 * @internal
 */
// Just over the ~80-line guide: one step's order matters (forward, loss, gradients, finiteness
// check, modulation, update, logs), and each stage is already a helper call.
export async function trainStep(ctx: StepContext, batch: TriModalData, step: number, lr: number): Promise<TrainingLogs> {
  const bal = ctx.balancing;
  const teacher = ctx.teacher ? ctx.teacher.vision(ctx.model, batch) : null;
  const main = lossGrads(ctx, batch, step, (parts, total) => (bal.method === 'pareto' ? multimodalLoss(parts) : total), true, teacher);
  const { value, keptParts, keptConfidence, keptMetrics } = main;
  const created: tf.Tensor[] = teacher ? [teacher.visualEmbedding, teacher.visualTokens] : [];
  let grads: tf.NamedTensorMap = main.grads;
  let conflicts: Record<string, number> = {};
  let coefficients: Record<string, tf.Scalar> = {};
  let auxValue: tf.Scalar | null = null;
  if (bal.method === 'pareto') {
    const aux = lossGrads(ctx, batch, step, (parts) => auxiliaryLoss(parts, ctx.loss.auxiliaryWeight), false, teacher);
    const combined = await paretoGradients(ctx, main.grads, aux.grads);
    auxValue = aux.value;
    created.push(aux.value, ...Object.values(aux.grads), ...Object.values(combined.grads));
    grads = combined.grads;
    conflicts = combined.conflicts;
  } else if (bal.method === 'ogm-ge' && Object.keys(keptConfidence).length >= 2) {
    coefficients = modulationCoefficients(keptConfidence as Record<string, tf.Scalar>, bal.alpha);
    grads = modulate(main.grads, coefficients, ctx.groups);
    created.push(...Object.values(grads));
  }
  const finite = allFinite([value, ...(auxValue ? [auxValue] : []), ...Object.values(grads)]);
  // the logged total: with 'pareto' the two objectives were differentiated apart
  const totalLoss = auxValue ? tf.add(value, auxValue) : value;
  let norm: tf.Scalar | null = null;
  let clipScale: tf.Scalar | null = null;
  if (ctx.clipNorm !== null) {
    // clipping by global norm, applied by the optimizer to the concatenated gradients
    const maxNorm = ctx.clipNorm;
    norm = globalNorm(grads);
    clipScale = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.maximum(norm!, 1e-12))) as tf.Scalar);
  }
  const shareGroups = ctx.gradientShare ? Object.keys(ctx.groups).filter((g) => (ctx.groups[g]?.length ?? 0) > 0) : [];
  const shares = shareGroups.map((g) => groupSquaredNorm(grads, ctx.groups[g]!));
  const partNames = Object.keys(keptParts);
  const coefNames = Object.keys(coefficients);
  const confNames = Object.keys(keptConfidence) as Modality[];
  const metricNames = Object.keys(keptMetrics);
  const readback = tf.stack([
    finite,
    totalLoss,
    ...partNames.map((k) => keptParts[k]!),
    ...coefNames.map((k) => coefficients[k]!),
    ...confNames.map((m) => keptConfidence[m]!),
    ...metricNames.map((k) => keptMetrics[k]!),
    ...shares,
    ...(norm ? [norm] : []),
  ]);
  const values = await readback.data();
  const ok = values[0] === 1;
  if (ok) {
    const updateScale = bal.method === 'adaptive' || ctx.groupLearningRates ? stepFactors(ctx, bal.method === 'adaptive' ? bal.coefficients : {}) : undefined;
    ctx.optimizer.applyGradients(grads, ctx.vars, { ...(clipScale ? { gradientScale: clipScale } : {}), ...(updateScale ? { updateScale } : {}) });
    ctx.teacher?.update();
  }
  tf.dispose([
    ...new Set<tf.Tensor>([readback, finite, value, totalLoss, ...Object.values(main.grads), ...created, ...Object.values(keptParts), ...Object.values(keptConfidence), ...Object.values(keptMetrics), ...Object.values(coefficients), ...shares]),
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
  let at = 2;
  for (const k of partNames) logs[k] = values[at++]!;
  for (const k of coefNames) logs[`coef_${k}`] = values[at++]!;
  for (const m of confNames) logs[`conf_train_${m}`] = values[at++]!;
  for (const k of metricNames) logs[k] = values[at++]!;
  const squared = shareGroups.map(() => values[at++]!);
  const total = squared.reduce((a, b) => a + b, 0);
  shareGroups.forEach((g, i) => (logs[`grad_share_${g}`] = total > 0 ? squared[i]! / total : 0));
  if (bal.method === 'adaptive') for (const [m, k] of Object.entries(bal.coefficients)) logs[`coef_${m}`] = k;
  for (const [m, c] of Object.entries(conflicts)) logs[`pareto_conflict_${m}`] = c;
  if (norm) logs['grad_norm'] = values[at]!;
  return logs;
}

/**
 * One step factor per trained variable: its group's balancing coefficient (1 for shared
 * variables) times its group's learning-rate multiplier (1 when unset).
 */
function stepFactors(ctx: StepContext, coefficients: Readonly<Record<string, number>>): number[] {
  const factor = new Map<string, number>();
  for (const [group, k] of Object.entries(coefficients)) for (const v of ctx.groups[group] ?? []) factor.set(v.name, k);
  for (const [group, k] of Object.entries(ctx.groupLearningRates ?? {})) for (const v of ctx.groups[group] ?? []) factor.set(v.name, (factor.get(v.name) ?? 1) * k);
  return ctx.vars.map((v) => factor.get(v.name) ?? 1);
}

/** The multimodal objective: everything but the auxiliary heads' losses. */
function multimodalLoss(parts: Record<string, tf.Scalar>): tf.Scalar {
  const keys = Object.keys(parts).filter((k) => !k.startsWith('aux_'));
  return tf.addN(keys.map((k) => parts[k]!)) as tf.Scalar;
}

/** λ_aux · Σ auxiliary losses (0 without auxiliary heads). */
function auxiliaryLoss(parts: Record<string, tf.Scalar>, weight: number): tf.Scalar {
  const keys = Object.keys(parts).filter((k) => k.startsWith('aux_'));
  return keys.length === 0 ? tf.scalar(0) : (tf.mul(tf.addN(keys.map((k) => parts[k]!)), weight) as tf.Scalar);
}
