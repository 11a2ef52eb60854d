/**
 * Training and evaluating one row of the demo's ablation suite on a run's prepared data.
 *
 * @packageDocumentation
 */
import { evaluateBinary, type BinaryEvaluation } from '../metrics/evaluate.js';
import { createTriModalModel } from '../models/builder.js';
import type { TriModalData } from '../models/data.js';
import type { TriModalModel } from '../models/tri-modal.js';
import { TRAINING, alignedTrainerOptions } from '../study/ablations.js';
import type { TrainingLogs } from '../training/types.js';
import { dropModalityAuc } from '../training/diagnostics.js';
import { Trainer } from '../training/trainer.js';
import type { Ablation, Components } from './ablations.js';
import { type DemoRow, fmt } from './outputs.js';
import { ProgressBar, type ProgressSink } from './progress.js';

/** A run's prepared data and settings, shared by every ablation. */
export interface DemoRun {
  components: Components;
  train: TriModalData;
  val: TriModalData;
  test: TriModalData;
  valLabels: number[];
  testLabels: number[];
  seed: number;
  epochs: number;
  quick: boolean;
  sink: ProgressSink;
}

/** One trained and evaluated ablation: its table row, training history, curves, and the model (the caller disposes it). */
export interface AblationResult {
  row: DemoRow;
  history: TrainingLogs[];
  /** Per-step logs (balancing, gradient shares, alignment terms). */
  steps: TrainingLogs[];
  /** Test AUC change when each modality is withheld (multimodal models). */
  dropModality: Partial<Record<string, number>>;
  roc: { fpr: ArrayLike<number>; tpr: ArrayLike<number>; auc: number };
  calibration: { predicted: ArrayLike<number>; observed: ArrayLike<number>; counts: ArrayLike<number> };
  model: TriModalModel;
}

/** P(poor) of every row of `data`. */
function scoresOf(model: TriModalModel, data: TriModalData): number[] {
  const { probabilities } = model.predict(data);
  const s = Array.from(probabilities.dataSync());
  probabilities.dispose();
  return s;
}

/**
 * Trains one ablation with the study's recipe (early stopping on validation loss, restore-best;
 * the aligned models with the report-field loss and alignment pretraining) and evaluates it on the
 * test set at the Youden threshold chosen on the validation set.
 */
export async function trainAblation(ablation: Ablation, run: DemoRun): Promise<AblationResult> {
  const t0 = Date.now();
  const { epochs, quick, seed } = run;
  const model = createTriModalModel({ ...ablation.config(run.components), seed: seed + 11 });
  const steps: TrainingLogs[] = [];
  const epochBar = new ProgressBar(`training ${ablation.name}`, epochs, run.sink);
  const trainer = new Trainer({
    epochs,
    batchSize: TRAINING.batchSize,
    learningRate: TRAINING.learningRate,
    seed,
    // on validation loss: the validation AUC of a few hundred patients peaks on noise in the first epochs
    earlyStopping: { metric: 'loss', patience: quick ? epochs : TRAINING.patience, restoreBest: true },
    ...(ablation.aligned ? alignedTrainerOptions(quick ? 1 : TRAINING.pretrainEpochs) : {}),
    onEpochEnd: (e, logs) => epochBar.update(e + 1, `loss ${fmt(logs['loss']!)} val AUC ${fmt(logs['val_auc']!)}`),
    onBatchEnd: (_, logs) => void steps.push(logs),
    ...ablation.trainer,
  });
  const history = await trainer.fit(model, run.train, { validation: run.val });
  epochBar.done();
  trainer.dispose();
  const valScores = scoresOf(model, run.val);
  const testScores = scoresOf(model, run.test);
  // the operating threshold is chosen on validation (Youden), then applied to the test set
  const threshold = evaluateBinary(run.valLabels, valScores).youden.threshold;
  const ev: BinaryEvaluation = evaluateBinary(run.testLabels, testScores, { threshold, bootstrap: { numResamples: quick ? 200 : 1000, seed } });
  const row: DemoRow = {
    name: ablation.name,
    modalities: model.modalities,
    auc: ev.rocAuc,
    aucCi: [ev.ci?.rocAuc.lower ?? Number.NaN, ev.ci?.rocAuc.upper ?? Number.NaN],
    auprc: ev.averagePrecision,
    sensitivity: ev.atThreshold.sensitivity,
    specificity: ev.atThreshold.specificity,
    threshold,
    brier: ev.brier,
    ece: ev.ece,
    epochs: history.epochs.length,
    seconds: (Date.now() - t0) / 1000,
  };
  const drop = model.modalities.length > 1 ? (await dropModalityAuc(model, run.test)).delta : {};
  return {
    row,
    history: history.epochs,
    steps,
    dropModality: drop,
    roc: { fpr: ev.rocCurve.fpr, tpr: ev.rocCurve.tpr, auc: ev.rocAuc },
    calibration: { predicted: ev.calibrationCurve.meanPredicted, observed: ev.calibrationCurve.fractionPositive, counts: ev.calibrationCurve.count },
    model,
  };
}

