/**
 * Training one neural ablation of the study on one seed's data, and predicting P(poor) on its
 * validation cohort and on the scenario's test cohort (inference mode, in batches built from the
 * raw cohort, every tensor released). The model and trainer settings come from ./ablations.ts
 * only; {@link CellTrainer} is the seam the tests replace with a fast fake.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { generateSyntheticCohort } from '../data/cohort.js';
import type { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import type { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import { createTriModalModel } from '../models/builder.js';
import { prepareTriModalData, type TriModalData } from '../models/data.js';
import type { TriModalModel } from '../models/tri-modal.js';
import { Trainer } from '../training/trainer.js';
import type { TrainingLogs } from '../training/types.js';
import { ProgressBar, type ProgressSink } from '../demo/progress.js';
import { type ModelComponents, modelConfig, PREPROCESSING, trainerOptions } from './ablations.js';
import type { Json } from './cells.js';
import type { AblationSpec } from './claims.js';
import { type PatientsWithReports, rawInputs, type TrainingData } from './data.js';

/** One neural training job. */
export interface NeuralJob {
  spec: AblationSpec;
  /** A seed's data (synthetic study) or a fold's (your own cohort). */
  data: TrainingData;
  /** The patients to predict besides the validation ones (a scenario's test cohort, a fold's test patients). */
  test: PatientsWithReports;
  quick: boolean;
  /** Progress bars go here. */
  sink: ProgressSink;
  /** Label of the progress bar. */
  label: string;
  /** The cell's training size when its epochs follow the step budget (the synthetic study: `cellEpochs`); unset: the full budget. */
  trainSize?: number;
}

/** What a neural job returns: predictions and the training history. */
export interface NeuralOutcome {
  /** P(poor) of each validation patient (in order). */
  val: Float32Array;
  /** P(poor) of each test patient (in order). */
  test: Float32Array;
  /** The trainer's per-epoch logs. */
  history: TrainingLogs[];
  bestEpoch: number | null;
  stoppedEarly: boolean;
  /** The alignment pretraining's per-epoch logs (the aligned models). */
  pretraining?: TrainingLogs[];
}

/** Timings of a few training steps and predictions (for the budget estimate). */
export interface ProbeResult {
  /** Seconds per training step (one batch). */
  stepSeconds: number;
  batchSize: number;
  /** Seconds of inference per patient. */
  inferSecondsPerPatient: number;
  /** Most epochs of a cell. */
  maxEpochs: number;
  /** Early-stopping patience (null: none). */
  patience: number | null;
  /** Seconds to build the model. */
  buildSeconds: number;
}

/** Trains the neural ablations (the real one is {@link tfjsCellTrainer}; tests inject fakes). */
export interface CellTrainer {
  /**
   * JSON-safe model and trainer settings of a neural ablation: part of its cells' fingerprint.
   * `imageShape`: one image's shape (default: the synthetic study's 2D layout).
   */
  settings(spec: AblationSpec, options: { quick: boolean; seeds: { model: number; trainer: number }; imageShape?: readonly number[]; trainSize?: number }): Json;
  /** Trains one ablation on one seed's data and predicts the validation and test cohorts. */
  train(job: NeuralJob): Promise<NeuralOutcome>;
  /** Times a few steps of an ablation on a seed's data (optional). */
  probe?(spec: AblationSpec, data: TrainingData, quick: boolean): Promise<ProbeResult>;
}

/** Batch size of inference. */
const PREDICT_BATCH = 250;

/**
 * P(poor) of every patient of a cohort, in batches of {@link PREDICT_BATCH} built from the raw
 * cohort (images, rows through the fitted preprocessor, reports through the tokenizer); every
 * tensor it creates is released.
 */
export async function predictCohort(model: TriModalModel, c: PatientsWithReports, pre: TabularPreprocessor, tok: WordPieceTokenizer): Promise<Float32Array> {
  const n = c.labels.length;
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += PREDICT_BATCH) {
    const end = Math.min(n, start + PREDICT_BATCH);
    const batch = prepareTriModalData(rawInputs(c, start, end), { preprocessor: pre, tokenizer: tok });
    try {
      const { probabilities } = model.predict(batch);
      out.set(await probabilities.data(), start);
      probabilities.dispose();
    } finally {
      tf.dispose(Object.values(batch) as tf.Tensor[]);
    }
  }
  return out;
}

const cachedTensors = { train: new WeakMap<TrainingData, TriModalData>(), val: new WeakMap<TrainingData, TriModalData>() };

/**
 * The preprocessing of a seed's (or fold's) patients: its fitted preprocessor and tokenizer, and
 * its report-field targets when the patients have reports (the alignment models' field head;
 * other models ignore them).
 */
function prepareTools(data: TrainingData, c: PatientsWithReports) {
  return { preprocessor: data.pre, tokenizer: data.tok, ...(data.fields && c.texts ? { fieldTargets: data.fields } : {}) };
}

/** The training or validation cohort's tensors, built once per seed's data and released with it. */
function tensorsOf(data: TrainingData, which: 'train' | 'val'): TriModalData {
  const cache = cachedTensors[which];
  let t = cache.get(data);
  if (!t) {
    const built = prepareTriModalData(rawInputs(data[which]), prepareTools(data, data[which]));
    cache.set(data, built);
    data.disposers.push(() => {
      tf.dispose(Object.values(built) as tf.Tensor[]);
      cache.delete(data);
    });
    t = built;
  }
  return t;
}

/** A stand-in for fitted objects in a settings description. */
const fitted = (what: string) => ({ fitted: what }) as never;

let studyImageShape: readonly number[] | null = null;

/** The study's image shape (the synthetic cohort's 2D layout). */
function imageShape(): readonly number[] {
  studyImageShape ??= generateSyntheticCohort({ patients: 1, seed: 1, layout: '2d', images: true }).sampleShape;
  return studyImageShape;
}

function components(data: TrainingData): ModelComponents {
  return { imageShape: data.train.cohort.sampleShape ?? [], pre: data.pre, tok: data.tok, ...(data.fields ? { fields: data.fields } : {}) };
}

/**
 * The real trainer: `createTriModalModel(modelConfig(spec, …))` trained by
 * `new Trainer(trainerOptions(spec, …))` on the seed's training tensors with its validation
 * tensors for early stopping (./ablations.ts), then batched inference on the validation and
 * test cohorts.
 */
export const tfjsCellTrainer: CellTrainer = {
  settings(spec, { quick, seeds, imageShape: shape, trainSize }) {
    const placeholders: ModelComponents = {
      imageShape: shape ?? imageShape(),
      pre: fitted('TabularPreprocessor on the training cohort'),
      tok: fitted('WordPieceTokenizer on the training reports'),
      fields: fitted('ReportFieldTargets on the training reports'),
    };
    return JSON.parse(
      JSON.stringify({
        model: modelConfig(spec, placeholders, seeds.model),
        trainer: trainerOptions(spec, { quick, seed: seeds.trainer, ...(trainSize === undefined ? {} : { trainSize }) }),
        preprocessing: PREPROCESSING,
      }),
    ) as Json;
  },

  async train(job) {
    const { spec, data, quick } = job;
    const model = createTriModalModel(modelConfig(spec, components(data), data.seeds.model));
    const options = trainerOptions(spec, { quick, seed: data.seeds.trainer, ...(job.trainSize === undefined ? {} : { trainSize: job.trainSize }) });
    const bar = new ProgressBar(job.label, options.epochs ?? 1, job.sink);
    const trainer = new Trainer({
      ...options,
      onEpochEnd: (e, logs) => bar.update(e + 1, `loss ${fmt(logs['loss'])} val AUC ${fmt(logs['val_auc'])}`),
    });
    try {
      const history = await trainer.fit(model, tensorsOf(data, 'train'), { validation: tensorsOf(data, 'val') });
      bar.done();
      const val = await predictCohort(model, data.val, data.pre, data.tok);
      const test = await predictCohort(model, job.test, data.pre, data.tok);
      return { val, test, history: history.epochs, bestEpoch: history.bestEpoch, stoppedEarly: history.stoppedEarly, ...(history.pretraining ? { pretraining: history.pretraining } : {}) };
    } finally {
      trainer.dispose();
      model.dispose();
    }
  },

  async probe(spec, data, quick) {
    const t0 = performance.now();
    const model = createTriModalModel(modelConfig(spec, components(data), data.seeds.model));
    const buildSeconds = (performance.now() - t0) / 1000;
    const options = trainerOptions(spec, { quick, seed: data.seeds.trainer });
    const batchSize = options.batchSize ?? 16;
    const rows = Math.min(data.train.labels.length, 4 * batchSize);
    const subset = prepareTriModalData(rawInputs(data.train, 0, rows), prepareTools(data, data.train));
    const stamps: number[] = [];
    const trainer = new Trainer({ ...options, epochs: 1, earlyStopping: false, onBatchEnd: () => void stamps.push(performance.now()) });
    try {
      await trainer.fit(model, subset);
      // the first step warms the kernels up: time the others
      const stepSeconds = stamps.length > 1 ? (stamps.at(-1)! - stamps[0]!) / 1000 / (stamps.length - 1) : Number.NaN;
      await predictCohort(model, data.val, data.pre, data.tok);
      const t1 = performance.now();
      await predictCohort(model, data.val, data.pre, data.tok);
      const inferSecondsPerPatient = (performance.now() - t1) / 1000 / data.val.labels.length;
      const es = options.earlyStopping;
      return { stepSeconds, batchSize, inferSecondsPerPatient, maxEpochs: options.epochs ?? 20, patience: es ? (es.patience ?? 5) : null, buildSeconds };
    } finally {
      tf.dispose(Object.values(subset) as tf.Tensor[]);
      trainer.dispose();
      model.dispose();
    }
  },
};

function fmt(x: number | undefined): string {
  return x !== undefined && Number.isFinite(x) ? x.toFixed(3) : 'n/a';
}
