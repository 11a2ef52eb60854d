/**
 * The trainer: a custom loop on `tf.variableGrads` for the tri-modal model, with the total loss
 * L = L_cls + λg·L_global + λf·L_fine + λc·L_clinical + λaux·Σ L_aux (./loss.ts), modality
 * balancing (gradient modulation, modality dropout), AdamW with warm-up + cosine schedule,
 * clipping by global norm (./step.ts), early stopping with restore-best (./early-stopping.ts),
 * callbacks, checkpoints and exact resume.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../core/random.js';
import { InvalidArgumentError } from '../errors.js';
import { classWeightsFromLabels } from '../losses/classification.js';
import { LogitScale } from '../losses/contrastive.js';
import { reportFieldStats } from '../losses/fields.js';
import { rocAuc } from '../metrics/ranking.js';
import type { TriModalData } from '../models/data.js';
import type { TriModalModel } from '../models/tri-modal.js';
import { dropModalities, epochBatches, isAsync, stepsPerEpoch, takeRows } from './batches.js';
import { EarlyStopping } from './early-stopping.js';
import {
  type AlignmentSettings,
  batchLoss,
  type BatchLoss,
  classificationLoss,
  disposeOutputs,
  type LossSettings,
} from './loss.js';
import { EmaTeacher } from './ema.js';
import { resolveBalancing } from './balancing.js';
import { HeldOutMonitor, type HeldOutState } from './held-out.js';
import { AdamW, type Optimizer, Sgd } from './optimizer.js';
import { type TrainerState, type TrainingData, type TrainingHistory, type TrainingLogs } from './types.js';
import { warmupCosineSchedule } from './schedule.js';
import { type StepContext, trainStep } from './step.js';
import { ALIGNMENT_WEIGHT_KEYS, type ResolvedOptions, resolveAlignment, resolveTrainerOptions, type TrainerOptionsBase } from './options.js';

/** Options of {@link Trainer}. */
export interface TrainerOptions extends TrainerOptionsBase {
  /** Called at the end of every `checkpointEvery`-th epoch with the trainer (e.g. to save a bundle). */
  onCheckpoint?: (epoch: number, trainer: Trainer) => void | Promise<void>;
}

/** {@link TrainerOptions} with their defaults filled in ({@link Trainer.options}). */
export type ResolvedTrainerOptions = ResolvedOptions<TrainerOptions>;
import { augmentImages, type ResolvedAugment, resolveAugment } from './augment.js';

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
  /** The options in force, defaults filled in. */
  readonly options: ResolvedTrainerOptions;
  private rng: Random;
  private readonly augment: ResolvedAugment | null;
  private optimizer: Optimizer;
  private logScale: LogitScale | null = null;
  private teacher: EmaTeacher | null = null;
  private pretrained = false;
  private pretrainHistory: TrainingLogs[] = [];
  private step = 0;
  private epoch = 0;
  private best: { value: number; epoch: number } | null = null;
  private history: TrainingLogs[] = [];
  private restored: TrainerState | null = null;
  /** The held-out balancing monitor's state (resumable). */
  private balancingState: HeldOutState = { cursor: 0, smoothed: {} };

  /** @throws {@link InvalidArgumentError} naming an invalid option. */
  constructor(options: TrainerOptions = {}) {
    this.options = resolveTrainerOptions(options);
    this.rng = new Random(this.options.seed);
    this.augment = resolveAugment(this.options.augment);
    this.optimizer =
      this.options.optimizer === 'sgd'
        ? new Sgd({ learningRate: this.options.learningRate, weightDecay: this.options.weightDecay, momentum: this.options.momentum ?? 0.9 })
        : new AdamW({ learningRate: this.options.learningRate, weightDecay: this.options.weightDecay });
  }

  /** The alignment configuration in force, or null. */
  private alignmentConfig(): AlignmentSettings | null {
    return resolveAlignment(this.options.alignment);
  }

  private lossSettings(classWeights: number[] | null): LossSettings {
    return {
      alignment: this.alignmentConfig(),
      logitScale: this.logScale,
      auxiliaryWeight: this.options.auxiliaryWeight,
      loss: this.options.loss ?? 'bce',
      focalGamma: this.options.focalGamma,
      classWeights,
    };
  }

  /**
   * Computes the loss parts of one batch (training mode when `training`; `step` seeds the
   * dropout masks).
   *
   * @returns `total` and named parts, plus each modality's confidence on the true class; all
   *   owned by the caller.
   */
  computeLoss(model: TriModalModel, batch: TriModalData, training: boolean, classWeights: number[] | null, step = 0): BatchLoss {
    return batchLoss(model, batch, training, this.lossSettings(classWeights), step);
  }

  /** Class weights from the option (computed from in-memory labels for 'balanced'). */
  private async classWeightsFor(model: TriModalModel, data: TrainingData): Promise<number[] | null> {
    const cw = this.options.classWeights;
    if (cw === 'balanced') {
      if (isAsync(data)) throw new InvalidArgumentError({ argument: 'classWeights', message: "classWeights 'balanced' needs in-memory data; pass explicit weights.", received: 'balanced' });
      return classWeightsFromLabels(Array.from(await data.labels.data()), model.numClasses);
    }
    return Array.isArray(cw) ? cw : null;
  }

  /** The learned temperature (created on first fit of a fusion model; restored from a resumed state). */
  private ensureLogScale(model: TriModalModel): void {
    const align = this.alignmentConfig();
    if (align && align.learnableTemperature && !this.logScale && model.fusionType !== 'pooled') {
      this.logScale = new LogitScale({ initialTemperature: align.temperature, name: `vdafm_trainer_logit_scale_${this.options.seed}_${Date.now()}` });
      if (this.restored?.logScale != null) this.logScale.variable.assign(tf.scalar(this.restored.logScale));
    }
  }

  /** The EMA teacher of the `'ema'` anchor (created once, restored from a resumed state), or null. */
  private teacherFor(model: TriModalModel, vars: tf.Variable[]): EmaTeacher | null {
    const align = this.alignmentConfig();
    if (!align || align.anchor !== 'ema' || model.fusionType === 'pooled') return null;
    if (!this.teacher) {
      this.teacher = new EmaTeacher(vars, align.emaDecay);
      if (this.restored?.ema) this.teacher.setState(this.restored.ema);
    }
    return this.teacher;
  }

  /**
   * The alignment pretraining phase (see `TrainerOptions.pretrain`). With validation data and a
   * report-field head, each pretraining epoch's logs also hold `val_fields` and
   * `val_fields_accuracy` (see {@link Trainer.evaluate}).
   */
  private async pretrainPhase(model: TriModalModel, data: TrainingData, vars: tf.Variable[], validation: TriModalData | undefined): Promise<void> {
    const p = this.options.pretrain!;
    const align = this.alignmentConfig();
    this.pretrained = true;
    // nothing to pretrain without the alignment loss, or in a model with neither fusion embeddings nor a report-field head
    if (!align || (model.fusionType === 'pooled' && !model.reportFieldGroups())) return;
    if (model.fusionType === 'pooled' && !isAsync(data) && !data.fieldTargets) {
      throw new InvalidArgumentError({
        argument: 'data.fieldTargets',
        message: "Alignment pretraining of a single-modality model trains only its report-field head, and the training data has no field targets.",
        received: Object.keys(data),
        fix: 'Pass fieldTargets to prepareTriModalData, or drop the pretrain option.',
      });
    }
    const optimizer = new AdamW({ learningRate: p.learningRate ?? this.options.learningRate, weightDecay: this.options.weightDecay });
    const overrides = Object.fromEntries(ALIGNMENT_WEIGHT_KEYS.filter((k) => p[k] !== undefined).map((k) => [k, p[k]!]));
    const loss = { ...this.lossSettings(null), objective: 'alignment' as const, alignment: { ...align, ...overrides } };
    const ctx: StepContext = {
      model,
      vars: this.logScale ? [...vars, this.logScale.variable] : vars,
      groups: model.variableGroups(),
      optimizer,
      loss,
      balancing: { method: 'none' },
      clipNorm: this.options.clipNorm === null ? null : (this.options.clipNorm ?? 1),
      gradientShare: false,
      teacher: this.teacherFor(model, vars),
    };
    const perEpoch = stepsPerEpoch(data, this.options.batchSize);
    const totalSteps = (perEpoch ?? 100) * p.epochs;
    const schedule = warmupCosineSchedule({ learningRate: optimizer.learningRate, totalSteps, warmupSteps: Math.floor(totalSteps * this.options.warmupFraction), minLearningRate: optimizer.learningRate * 0.01 });
    let step = 0;
    try {
      for (let epoch = 0; epoch < p.epochs; epoch++) {
        const sums: Record<string, number> = {};
        let count = 0;
        for await (const { batch, owned } of epochBatches(data, this.options.batchSize, this.rng)) {
          optimizer.learningRate = schedule(step);
          const augmented = augmentImages(batch, this.augment, this.rng);
          try {
            const logs = await trainStep(ctx, augmented.batch, -1 - step, optimizer.learningRate);
            for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v;
          } finally {
            tf.dispose(augmented.created);
            if (owned) tf.dispose(Object.values(batch).filter((t): t is tf.Tensor => t instanceof tf.Tensor));
          }
          count++;
          step++;
        }
        const logs: TrainingLogs = { pretrain_epoch: epoch };
        for (const [k, v] of Object.entries(sums)) logs[k] = v / Math.max(count, 1);
        if (validation && model.reportFieldGroups() && validation.fieldTargets) {
          const val = await this.evaluate(model, validation);
          for (const k of ['val_fields', 'val_fields_accuracy']) if (val[k] !== undefined) logs[k] = val[k]!;
        }
        this.pretrainHistory.push(logs);
      }
    } finally {
      optimizer.dispose();
    }
  }

  /** Early stopping in force for this fit, or null. */
  private earlyStopping(model: TriModalModel, hasValidation: boolean): EarlyStopping | null {
    if (!hasValidation || this.options.earlyStopping === false) return null;
    const config = { metric: model.headType === 'binary' ? ('auc' as const) : ('loss' as const), patience: 5, restoreBest: true, minEpochs: 0, ...(this.options.earlyStopping ?? {}) };
    if (config.metric === 'auc' && model.headType !== 'binary') {
      throw new InvalidArgumentError({ argument: 'earlyStopping.metric', message: "metric 'auc' needs a binary head; use 'loss'.", received: 'auc' });
    }
    return new EarlyStopping(config, this.best);
  }

  /** One epoch of steps; returns the epoch's mean logs. */
  private async runEpoch(ctx: StepContext, data: TrainingData, schedule: (step: number) => number, monitor: HeldOutMonitor | null): Promise<TrainingLogs> {
    const md = this.options.modalityDropout === false ? null : { text: 0.1, clinical: 0.1, ...(this.options.modalityDropout ?? {}) };
    const sums: Record<string, number> = {};
    let count = 0;
    for await (const { batch: raw, owned } of epochBatches(data, this.options.batchSize, this.rng)) {
      const dropped = dropModalities(raw, md, this.rng);
      const augmented = augmentImages(dropped.batch, this.augment, this.rng);
      const batch = augmented.batch;
      const created = [...dropped.created, ...augmented.created];
      const step = this.step;
      const lr = schedule(step);
      this.optimizer.learningRate = lr;
      let logs: TrainingLogs;
      try {
        if (monitor) ctx.balancing = { method: 'adaptive', coefficients: await monitor.update(ctx.model, step) };
        logs = await trainStep(ctx, batch, step, lr);
        if (monitor) for (const [m, s] of Object.entries(monitor.confidence)) logs[`conf_heldout_${m}`] = s;
      } finally {
        tf.dispose([...created, ...(owned ? Object.values(raw).filter((t): t is tf.Tensor => t instanceof tf.Tensor) : [])]);
      }
      for (const [k, v] of Object.entries(logs)) sums[k] = (sums[k] ?? 0) + v;
      count++;
      this.step++;
      if (this.options.onBatchEnd) await this.options.onBatchEnd(step, logs);
    }
    const epochLogs: TrainingLogs = { epoch: this.epoch };
    for (const [k, v] of Object.entries(sums)) epochLogs[k] = v / Math.max(count, 1);
    return epochLogs;
  }

  /**
   * Trains the model. With validation data, evaluates after each epoch (`val_loss`, and
   * `val_auc` for binary heads) and applies early stopping.
   *
   * @throws {@link NonFiniteError} naming the step and the loss part; the model keeps its last good weights.
   * @throws {@link InvalidArgumentError} for `classWeights: 'balanced'` with iterable data, or
   *   early stopping on AUC with a non-binary head.
   */
  async fit(model: TriModalModel, data: TrainingData, options: { validation?: TriModalData } = {}): Promise<TrainingHistory> {
    const vars = model.trainableVariables();
    this.ensureLogScale(model);
    const classWeights = await this.classWeightsFor(model, data);
    if (this.options.pretrain && !this.pretrained) await this.pretrainPhase(model, data, vars, options.validation);
    const balancing = resolveBalancing(this.options.balancing);
    const groups = model.variableGroups();
    for (const g of Object.keys(this.options.groupLearningRates ?? {})) {
      if (!(g in groups)) {
        throw new InvalidArgumentError({ argument: `groupLearningRates.${g}`, message: `The model has no variable group '${g}' (it has ${Object.keys(groups).join(', ')}).`, received: g });
      }
    }
    const multimodal = Object.keys(groups).filter((g) => g !== 'shared').length >= 2;
    const heldOut = options.validation ?? (isAsync(data) ? null : data);
    const monitor =
      balancing && balancing.method === 'adaptive' && multimodal && heldOut
        ? new HeldOutMonitor(heldOut, { interval: balancing.interval, batch: balancing.heldOutBatch, momentum: balancing.momentum, alpha: balancing.alpha }, this.balancingState)
        : null;
    const ctx: StepContext = {
      model,
      vars: this.logScale ? [...vars, this.logScale.variable] : vars,
      groups,
      optimizer: this.optimizer,
      loss: this.lossSettings(classWeights),
      balancing: !balancing || !multimodal ? { method: 'none' } : balancing.method === 'ogm-ge' ? { method: 'ogm-ge', alpha: balancing.alpha } : balancing.method === 'pareto' ? { method: 'pareto' } : { method: 'none' },
      clipNorm: this.options.clipNorm === null ? null : (this.options.clipNorm ?? 1),
      gradientShare: this.options.diagnostics ?? true,
      teacher: this.teacherFor(model, vars),
      groupLearningRates: this.options.groupLearningRates ?? null,
    };
    const perEpoch = stepsPerEpoch(data, this.options.batchSize);
    const totalSteps = perEpoch === null ? this.options.epochs * 100 : perEpoch * this.options.epochs;
    const schedule = warmupCosineSchedule({
      learningRate: this.options.learningRate,
      totalSteps,
      warmupSteps: Math.floor(totalSteps * this.options.warmupFraction),
      minLearningRate: this.options.learningRate * 0.01,
    });
    const early = this.earlyStopping(model, options.validation !== undefined);
    let stoppedEarly = false;
    while (this.epoch < this.options.epochs) {
      const epochLogs = await this.runEpoch(ctx, data, schedule, monitor);
      if (options.validation) Object.assign(epochLogs, await this.evaluate(model, options.validation, classWeights));
      this.history.push(epochLogs);
      const finishedEpoch = this.epoch;
      this.epoch++;
      if (early) {
        // with the non-trainable state (BatchNorm's moving statistics): restoring only the
        // trainable weights would pair the best epoch's kernels with the last epoch's statistics
        early.update(finishedEpoch, epochLogs, [...vars, ...model.stateVariables()]);
        this.best = early.best;
      }
      if (this.options.onEpochEnd) await this.options.onEpochEnd(finishedEpoch, epochLogs);
      if (this.options.onCheckpoint && (finishedEpoch + 1) % this.options.checkpointEvery === 0) await this.options.onCheckpoint(finishedEpoch, this);
      if (early?.shouldStop) {
        stoppedEarly = true;
        break;
      }
    }
    early?.restore([...vars, ...model.stateVariables()]);
    return { epochs: this.history.slice(), bestEpoch: this.best?.epoch ?? null, stoppedEarly, ...(this.pretrainHistory.length > 0 ? { pretraining: this.pretrainHistory.slice() } : {}) };
  }

  /**
   * Evaluates on in-memory data in inference mode: `val_loss` (classification loss) and, for a
   * binary head, `val_auc`, with diagnostics also each auxiliary head's `val_auc_<modality>`
   * and the gate's `val_gate_mean` / `val_gate_sd` (over samples and channels). A model with a
   * report-field head, on data with `fieldTargets`, also gets `val_fields` (the unweighted
   * report-field loss, mean over patients) and `val_fields_accuracy` (the share of known
   * categorical fields whose most likely value is the report's, over patients and fields;
   * NaN without any).
   */
  async evaluate(model: TriModalModel, data: TriModalData, classWeights: number[] | null = null): Promise<TrainingLogs> {
    const n = data.labels.shape[0]!;
    const bs = Math.max(this.options.batchSize, 32);
    const settings = this.lossSettings(classWeights);
    const diagnostics = (this.options.diagnostics ?? true) && model.headType === 'binary';
    const probs: number[] = [];
    const aux: Record<string, number[]> = {};
    let gateSum = 0;
    let gateSquares = 0;
    let gateCount = 0;
    let lossSum = 0;
    const fieldGroups = model.reportFieldGroups();
    const fieldSums = { loss: 0, correct: 0, known: 0 }; // loss × batch size, correct and known categorical fields
    for (let start = 0; start < n; start += bs) {
      const idx = tf.tensor1d(Array.from({ length: Math.min(bs, n - start) }, (_, i) => start + i), 'int32');
      const batch = takeRows(data, idx);
      const r = tf.tidy(() => {
        const out = model.forward(batch);
        const loss = classificationLoss(model, out.logits, batch.labels, settings);
        const p = model.headType === 'binary' ? model.probabilities(out.logits) : tf.zeros([0]);
        const auxP: Record<string, tf.Tensor> = {};
        if (diagnostics) for (const [m, l] of Object.entries(out.auxiliary)) auxP[m] = model.probabilities(l!);
        const gate = diagnostics && out.gate ? tf.stack([tf.sum(out.gate), tf.sum(tf.square(out.gate)), tf.scalar(out.gate.size)]) : tf.zeros([3]);
        const fields = fieldGroups && out.reportFields && batch.fieldTargets && batch.fieldMask ? reportFieldStats(out.reportFields, batch.fieldTargets, batch.fieldMask, fieldGroups) : undefined;
        disposeOutputs(out);
        return { loss, p, auxP, gate, fields };
      });
      lossSum += (await r.loss.data())[0]! * idx.shape[0]!;
      probs.push(...Array.from(await r.p.data()));
      for (const [m, t] of Object.entries(r.auxP)) (aux[m] ??= []).push(...Array.from(await t.data()));
      {
        const [s, sq, c] = Array.from(await r.gate.data());
        gateSum += s!;
        gateSquares += sq!;
        gateCount += c!;
      }
      if (r.fields) {
        const [l, correct, known] = Array.from(await r.fields.data());
        fieldSums.loss += l! * idx.shape[0]!;
        fieldSums.correct += correct!;
        fieldSums.known += known!;
      }
      tf.dispose([idx, r.loss, r.p, ...Object.values(r.auxP), r.gate, ...(r.fields ? [r.fields] : []), ...Object.values(batch)]);
    }
    const logs: TrainingLogs = { val_loss: lossSum / n };
    if (fieldGroups && data.fieldTargets && data.fieldMask) {
      logs['val_fields'] = fieldSums.loss / n;
      logs['val_fields_accuracy'] = fieldSums.known > 0 ? fieldSums.correct / fieldSums.known : Number.NaN;
    }
    if (model.headType === 'binary') {
      const labels = Array.from(await data.labels.data());
      const hasBoth = labels.some((y) => y === 1) && labels.some((y) => y === 0);
      logs['val_auc'] = hasBoth ? rocAuc(labels, probs) : Number.NaN;
      for (const [m, p] of Object.entries(aux)) logs[`val_auc_${m}`] = hasBoth ? rocAuc(labels, p) : Number.NaN;
      if (gateCount > 0) {
        const mean = gateSum / gateCount;
        logs['val_gate_mean'] = mean;
        logs['val_gate_sd'] = Math.sqrt(Math.max(0, gateSquares / gateCount - mean * mean));
      }
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
      balancing: { cursor: this.balancingState.cursor, smoothed: { ...this.balancingState.smoothed } },
      ...(this.teacher ? { ema: await this.teacher.getState() } : {}),
      pretrained: this.pretrained,
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
    this.balancingState = state.balancing ? { cursor: state.balancing.cursor, smoothed: { ...state.balancing.smoothed } } : { cursor: 0, smoothed: {} };
    this.teacher?.setState(state.ema ?? null);
    this.pretrained = state.pretrained ?? false;
    this.restored = state;
    if (this.logScale && state.logScale != null) this.logScale.variable.assign(tf.scalar(state.logScale));
  }

  /** Disposes the optimizer state, the learned temperature and the EMA teacher. */
  dispose(): void {
    this.optimizer.dispose();
    this.logScale?.dispose();
    this.teacher?.dispose();
  }
}
