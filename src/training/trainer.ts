/**
 * The trainer: a custom loop on `tf.variableGrads` for the tri-modal model, with the total loss
 * L = L_cls + λg·L_global + λf·L_fine + λc·L_clinical + λaux·Σ L_aux, modality balancing
 * (gradient modulation, modality dropout), AdamW with warm-up + cosine schedule, clipping by
 * global norm, early stopping with restore-best, callbacks, checkpoints and exact resume.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../core/random.js';
import { assertPositiveInt } from '../core/validate.js';
import { InvalidArgumentError, NonFiniteError, ShapeError } from '../errors.js';
import { dualSemanticAlignmentLoss } from '../losses/alignment.js';
import {
  binaryCrossEntropy,
  binaryFocalLoss,
  classWeightsFromLabels,
  ordinalLoss,
  softmaxCrossEntropy,
} from '../losses/classification.js';
import { LogitScale } from '../losses/contrastive.js';
import { rocAuc } from '../metrics/index.js';
import type { TriModalData } from '../models/data.js';
import type { Modality, TriModalModel, TriModalOutputs } from '../models/tri-modal.js';
import { allFinite, globalNorm, modulationCoefficients } from './gradients.js';
import { AdamW, type AdamWState } from './optimizer.js';
import { warmupCosineSchedule } from './schedule.js';


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

const DEFAULT_ALIGNMENT = { global: 0.1, fine: 0.1, clinical: 0.1, temperature: 0.07, learnableTemperature: true, visionAnchor: true, supervised: false };

function isAsync(data: TrainingData): data is AsyncIterable<TriModalData> | (() => AsyncIterable<TriModalData>) {
  return typeof data === 'function' || (typeof data === 'object' && data !== null && Symbol.asyncIterator in data);
}

/**
 * Trains a {@link TriModalModel}. Same seed (model and trainer) ⇒ same weights. No per-batch
 * read-back except one small one per step for the loss values and the finiteness check; the
 * tensor count stays flat across epochs.
 *
 * @example
 * ```ts
 * const trainer = new Trainer({ epochs: 10, learningRate: 1e-3, seed: 1 });
 * const history = await trainer.fit(model, train, { validation: val });
 * console.log(history.epochs.at(-1)); // { loss, classification, alignment, val_auc, ... }
 * ```
 */
export class Trainer {
  readonly options: Required<Pick<TrainerOptions, 'epochs' | 'batchSize' | 'learningRate' | 'weightDecay' | 'warmupFraction' | 'auxiliaryWeight' | 'seed' | 'checkpointEvery' | 'focalGamma'>> &
    TrainerOptions;
  private rng: Random;
  private optimizer: AdamW;
  private logScale: LogitScale | null = null;
  private step = 0;
  private epoch = 0;
  private best: { value: number; epoch: number } | null = null;
  private history: TrainingLogs[] = [];
  private restored: TrainerState | null = null;

  constructor(options: TrainerOptions = {}) {
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
    this.options = o;
    this.rng = new Random(o.seed);
    this.optimizer = new AdamW({ learningRate: o.learningRate, weightDecay: o.weightDecay });
  }

  /** The alignment configuration in force, or null. */
  private alignmentConfig() {
    if (this.options.alignment === false) return null;
    return { ...DEFAULT_ALIGNMENT, ...(this.options.alignment ?? {}) };
  }

  /**
   * Computes the loss parts of one batch (training mode when `training`; `step` seeds the
   * dropout masks).
   *
   * @returns `total` and named parts, plus each modality's confidence on the true class; all
   *   owned by the caller.
   */
  computeLoss(
    model: TriModalModel,
    batch: TriModalData,
    training: boolean,
    classWeights: number[] | null,
    step = 0,
  ): { total: tf.Scalar; parts: Record<string, tf.Scalar>; confidence: Partial<Record<Modality, tf.Scalar>> } {
    return tf.tidy(() => {
      const out = model.forward(batch, { training, dropoutStep: step });
      const labels = batch.labels;
      const parts: Record<string, tf.Scalar> = {};
      const cls = (logits: tf.Tensor) => this.classificationLoss(model, logits, labels, classWeights);
      parts['classification'] = cls(out.logits);
      const confidence: Partial<Record<Modality, tf.Scalar>> = {};
      const align = this.alignmentConfig();
      if (align && out.visualEmbedding && out.textEmbedding && out.visualTokens && out.textTokens && batch.textMask) {
        const r = dualSemanticAlignmentLoss(
          {
            visualEmbedding: out.visualEmbedding,
            textEmbedding: out.textEmbedding,
            ...(out.clinicalEmbedding ? { clinicalEmbedding: out.clinicalEmbedding } : {}),
            visualTokens: out.visualTokens,
            textTokens: out.textTokens,
            textMask: batch.textMask as tf.Tensor2D,
            ...(batch.clinicalMask ? { clinicalMask: batch.clinicalMask as tf.Tensor2D } : {}),
            ...(align.supervised ? { labels: tf.cast(tf.reshape(labels, [-1]), 'int32') as tf.Tensor1D } : {}),
          },
          {
            globalWeight: align.global,
            fineWeight: align.fine,
            clinicalWeight: align.clinical,
            visionAnchor: align.visionAnchor,
            supervised: align.supervised,
            ...(this.logScale ? { logitScale: this.logScale.value() } : { temperature: align.temperature }),
          },
        );
        parts['alignment'] = r.loss;
      }
      const auxParts: tf.Scalar[] = [];
      for (const [m, logits] of Object.entries(out.auxiliary) as Array<[Modality, tf.Tensor]>) {
        const l = cls(logits);
        parts[`aux_${m}`] = l;
        auxParts.push(l);
        confidence[m] = this.trueClassConfidence(model, logits, labels);
      }
      let total: tf.Tensor = parts['classification'];
      if (parts['alignment']) total = tf.add(total, parts['alignment']);
      if (auxParts.length > 0 && this.options.auxiliaryWeight > 0) total = tf.add(total, tf.mul(tf.addN(auxParts), this.options.auxiliaryWeight));
      disposeOutputs(out);
      return { total: total as tf.Scalar, parts, confidence };
    });
  }

  private classificationLoss(model: TriModalModel, logits: tf.Tensor, labels: tf.Tensor, classWeights: number[] | null): tf.Scalar {
    if (model.headType === 'binary') {
      const opts = classWeights ? { classWeights: [classWeights[0]!, classWeights[1]!] as [number, number] } : {};
      return this.options.loss === 'focal'
        ? binaryFocalLoss(logits, labels, { ...opts, gamma: this.options.focalGamma })
        : binaryCrossEntropy(logits, labels, opts);
    }
    if (model.headType === 'multiclass') return softmaxCrossEntropy(logits as tf.Tensor2D, labels, classWeights ? { classWeights } : {});
    return ordinalLoss(logits as tf.Tensor2D, labels);
  }

  /** Batch mean of the probability a head gives to the true class. */
  private trueClassConfidence(model: TriModalModel, logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
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

  /** Applies modality dropout to a batch (training only); returns a new batch owning new masks. */
  private dropModalities(batch: TriModalData): { batch: TriModalData; created: tf.Tensor[] } {
    const md = this.options.modalityDropout === false ? null : { text: 0.1, clinical: 0.1, ...(this.options.modalityDropout ?? {}) };
    if (!md) return { batch, created: [] };
    const n = batch.labels.shape[0]!;
    const created: tf.Tensor[] = [];
    const out: TriModalData = { ...batch };
    for (const [key, rate] of [['textMask', md.text], ['clinicalMask', md.clinical]] as const) {
      const mask = batch[key];
      if (!mask || !(rate > 0)) continue;
      const keep = Float32Array.from({ length: n }, () => (this.rng.next() < rate ? 0 : 1));
      const k = tf.tensor2d(keep, [n, 1]);
      const masked = tf.mul(mask, k);
      created.push(k, masked);
      out[key] = masked;
    }
    return { batch: out, created };
  }

  private async *batches(data: TrainingData): AsyncGenerator<{ batch: TriModalData; owned: boolean }> {
    if (isAsync(data)) {
      const it = typeof data === 'function' ? data() : data;
      for await (const b of it) yield { batch: b, owned: false };
      return;
    }
    const n = data.labels.shape[0]!;
    const order = this.rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const bs = this.options.batchSize;
    for (let start = 0; start < n; start += bs) {
      const idx = tf.tensor1d(order.slice(start, start + bs), 'int32');
      const batch = takeRows(data, idx);
      idx.dispose();
      yield { batch, owned: true };
    }
  }

  /** Number of steps per epoch for in-memory data (null for iterables). */
  private stepsPerEpoch(data: TrainingData): number | null {
    if (isAsync(data)) return null;
    return Math.ceil(data.labels.shape[0]! / this.options.batchSize);
  }

  /**
   * Trains the model. With validation data, evaluates after each epoch (`val_loss`, and
   * `val_auc` for binary heads) and applies early stopping.
   *
   * @throws {@link NonFiniteError} naming the step and the loss part; the model keeps its last good weights.
   */
  async fit(model: TriModalModel, data: TrainingData, options: { validation?: TriModalData } = {}): Promise<TrainingHistory> {
    const vars = model.trainableVariables();
    const align = this.alignmentConfig();
    if (align && align.learnableTemperature && !this.logScale && model.fusionType !== 'pooled') {
      this.logScale = new LogitScale({ initialTemperature: align.temperature, name: `vdafm_trainer_logit_scale_${this.options.seed}_${Date.now()}` });
      if (this.restored?.logScale != null) this.logScale.variable.assign(tf.scalar(this.restored.logScale));
    }
    const allVars = this.logScale ? [...vars, this.logScale.variable] : vars;
    const groups = model.variableGroups();
    const balancing = this.options.balancing === false ? null : { alpha: 1, ...(this.options.balancing ?? {}) };
    let classWeights: number[] | null = null;
    if (this.options.classWeights === 'balanced') {
      if (isAsync(data)) throw new InvalidArgumentError({ argument: 'classWeights', message: "classWeights 'balanced' needs in-memory data; pass explicit weights.", received: 'balanced' });
      const labels = Array.from(await data.labels.data());
      classWeights = classWeightsFromLabels(labels, model.numClasses);
    } else if (Array.isArray(this.options.classWeights)) {
      classWeights = this.options.classWeights;
    }
    const perEpoch = this.stepsPerEpoch(data);
    const totalSteps = perEpoch === null ? this.options.epochs * 100 : perEpoch * this.options.epochs;
    const schedule = warmupCosineSchedule({
      learningRate: this.options.learningRate,
      totalSteps,
      warmupSteps: Math.floor(totalSteps * this.options.warmupFraction),
      minLearningRate: this.options.learningRate * 0.01,
    });
    const early = options.validation && this.options.earlyStopping !== false ? { metric: model.headType === 'binary' ? 'auc' : 'loss', patience: 5, restoreBest: true, ...(this.options.earlyStopping ?? {}) } : null;
    if (early && early.metric === 'auc' && model.headType !== 'binary') {
      throw new InvalidArgumentError({ argument: 'earlyStopping.metric', message: "metric 'auc' needs a binary head; use 'loss'.", received: 'auc' });
    }
    let bestWeights: tf.Tensor[] | null = null;
    let stale = 0;
    let stoppedEarly = false;

    for (; this.epoch < this.options.epochs; ) {
      const sums: Record<string, number> = {};
      let count = 0;
      for await (const { batch: raw, owned } of this.batches(data)) {
        const { batch, created } = this.dropModalities(raw);
        const step = this.step;
        const lr = schedule(step);
        this.optimizer.learningRate = lr;
        const keptParts: Record<string, tf.Scalar> = {};
        const keptConfidence: Partial<Record<Modality, tf.Scalar>> = {};
        const { value, grads: rawGrads } = tf.variableGrads(() => {
          const r = this.computeLoss(model, batch, true, classWeights, step);
          for (const [k, v] of Object.entries(r.parts)) keptParts[k] = tf.keep(v);
          for (const [k, v] of Object.entries(r.confidence)) keptConfidence[k as Modality] = tf.keep(v!);
          return r.total;
        }, allVars);
        // balancing: scale each modality encoder's gradients by its modulation coefficient
        let coefficients: Record<string, tf.Scalar> = {};
        let grads = rawGrads;
        if (balancing && Object.keys(keptConfidence).length >= 2) {
          coefficients = modulationCoefficients(keptConfidence as Record<string, tf.Scalar>, balancing.alpha);
          grads = tf.tidy(() => {
            const scaled: Record<string, tf.Tensor> = { ...rawGrads };
            for (const [group, k] of Object.entries(coefficients)) {
              for (const v of groups[group] ?? []) if (scaled[v.name]) scaled[v.name] = tf.mul(scaled[v.name]!, k);
            }
            return scaled;
          });
        }
        const finite = allFinite([value, ...Object.values(grads)]);
        let norm: tf.Scalar | null = null;
        let clipScale: tf.Scalar | null = null;
        if (this.options.clipNorm !== null) {
          // clipping by global norm, applied by the optimizer to the concatenated gradients
          const maxNorm = this.options.clipNorm ?? 1;
          norm = globalNorm(grads);
          clipScale = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.maximum(norm!, 1e-12))) as tf.Scalar);
        }
        const partNames = Object.keys(keptParts);
        const coefNames = Object.keys(coefficients);
        const readback = tf.stack([finite, value, ...partNames.map((k) => keptParts[k]!), ...coefNames.map((k) => coefficients[k]!), ...(norm ? [norm] : [])]);
        const values = await readback.data();
        const ok = values[0] === 1;
        if (ok) this.optimizer.applyGradients(grads, allVars, clipScale ? { gradientScale: clipScale } : {});
        const toDispose = new Set<tf.Tensor>([readback, finite, value, ...Object.values(rawGrads), ...Object.values(grads), ...(clipScale ? [clipScale] : []), ...Object.values(keptParts), ...Object.values(keptConfidence), ...Object.values(coefficients), ...created]);
        if (norm) toDispose.add(norm);
        if (owned) for (const t of Object.values(raw)) if (t instanceof tf.Tensor) toDispose.add(t);
        tf.dispose([...toDispose]);
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
        for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v;
        count++;
        this.step++;
        if (this.options.onBatchEnd) await this.options.onBatchEnd(step, logs);
      }
      const epochLogs: TrainingLogs = { epoch: this.epoch };
      for (const [k, v] of Object.entries(sums)) epochLogs[k] = k === 'lr' ? v / count : v / Math.max(count, 1);
      if (options.validation) Object.assign(epochLogs, await this.evaluate(model, options.validation, classWeights));
      this.history.push(epochLogs);
      const finishedEpoch = this.epoch;
      this.epoch++;
      if (early) {
        const value = early.metric === 'auc' ? epochLogs['val_auc']! : -epochLogs['val_loss']!;
        if (this.best === null || value > this.best.value) {
          this.best = { value, epoch: finishedEpoch };
          stale = 0;
          if (early.restoreBest) {
            tf.dispose(bestWeights ?? []);
            bestWeights = vars.map((v) => tf.keep(tf.clone(v)));
          }
        } else {
          stale++;
        }
      }
      if (this.options.onEpochEnd) await this.options.onEpochEnd(finishedEpoch, epochLogs);
      if (this.options.onCheckpoint && (finishedEpoch + 1) % this.options.checkpointEvery === 0) await this.options.onCheckpoint(finishedEpoch, this);
      if (early && stale >= early.patience) {
        stoppedEarly = true;
        break;
      }
    }
    if (bestWeights) {
      vars.forEach((v, i) => v.assign(bestWeights![i]!));
      tf.dispose(bestWeights);
    }
    return { epochs: this.history.slice(), bestEpoch: this.best?.epoch ?? null, stoppedEarly };
  }

  /**
   * Evaluates on in-memory data in inference mode: `val_loss` (classification loss) and, for a
   * binary head, `val_auc`.
   */
  async evaluate(model: TriModalModel, data: TriModalData, classWeights: number[] | null = null): Promise<TrainingLogs> {
    const n = data.labels.shape[0]!;
    const bs = Math.max(this.options.batchSize, 32);
    const probs: number[] = [];
    let lossSum = 0;
    for (let start = 0; start < n; start += bs) {
      const idx = tf.tensor1d(Array.from({ length: Math.min(bs, n - start) }, (_, i) => start + i), 'int32');
      const batch = takeRows(data, idx);
      const r = tf.tidy(() => {
        const out = model.forward(batch);
        const loss = this.classificationLoss(model, out.logits, batch.labels, classWeights);
        const p = model.headType === 'binary' ? model.probabilities(out.logits) : tf.zeros([0]);
        disposeOutputs(out);
        return { loss, p };
      });
      lossSum += (await r.loss.data())[0]! * idx.shape[0]!;
      probs.push(...Array.from(await r.p.data()));
      tf.dispose([idx, r.loss, r.p, ...Object.values(batch)]);
    }
    const logs: TrainingLogs = { val_loss: lossSum / n };
    if (model.headType === 'binary') {
      const labels = Array.from(await data.labels.data());
      const hasBoth = labels.some((y) => y === 1) && labels.some((y) => y === 0);
      logs['val_auc'] = hasBoth ? rocAuc(labels, probs) : Number.NaN;
    }
    return logs;
  }

  /** The resumable state: epoch, step, RNG, optimizer moments, learned temperature, best epoch, history. */
  async getState(): Promise<TrainerState> {
    return {
      epoch: this.epoch,
      step: this.step,
      rng: this.rng.getState(),
      optimizer: await this.optimizer.getState(),
      logScale: this.logScale ? (await this.logScale.variable.data())[0]! : null,
      best: this.best,
      history: this.history.slice(),
    };
  }

  /** Restores a state saved by {@link Trainer.getState} (before calling {@link Trainer.fit} again). */
  setState(state: TrainerState): void {
    this.epoch = state.epoch;
    this.step = state.step;
    this.rng = Random.fromState(state.rng);
    this.optimizer.setState(state.optimizer);
    this.best = state.best;
    this.history = state.history.slice();
    this.restored = state;
    if (this.logScale && state.logScale != null) this.logScale.variable.assign(tf.scalar(state.logScale));
  }

  /** Disposes the optimizer state and the learned temperature. */
  dispose(): void {
    this.optimizer.dispose();
    this.logScale?.dispose();
  }
}

function disposeOutputs(out: TriModalOutputs): void {
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

/** Gathers rows `idx` of every tensor of the data (new tensors owned by the caller). */
export function takeRows(data: TriModalData, idx: tf.Tensor1D): TriModalData {
  const n = data.labels.shape[0]!;
  const out: Partial<TriModalData> = {};
  for (const [k, t] of Object.entries(data) as Array<[keyof TriModalData, tf.Tensor | undefined]>) {
    if (!t) continue;
    if (t.shape[0] !== n) {
      throw new ShapeError({ argument: `data.${k}`, expected: `[${n}, ...] (one row per sample, like data.labels)`, received: t.shape });
    }
    out[k] = tf.gather(t, idx);
  }
  return out as TriModalData;
}
