/**
 * Running one cell of the study: a neural ablation (through a {@link CellTrainer}), late fusion
 * (stacking the unimodal models' validation predictions with a logistic regression), or a
 * non-neural reference (the oracle on the true features, the table + report model), and its
 * metrics on the scenario's fixed test cohort.
 *
 * @packageDocumentation
 */
import type { ClinicalRow } from '../data/clinical.js';
import type { SyntheticPatient } from '../data/cohort.js';
import { oracleFeatures, tableFeatures } from '../data/oracle.js';
import { brierScore, expectedCalibrationError } from '../metrics/calibration.js';
import { fitLogistic, type LogisticModel, type LogisticOptions, predictLogistic } from '../metrics/logistic.js';
import { rocAuc } from '../metrics/ranking.js';
import type { ProgressSink } from '../demo/progress.js';
import {
  CELL_FORMAT,
  type CellMetrics,
  type CellRecord,
  type PredictionMetrics,
  decodeFloat32,
  encodeFloat32,
  encodeUint8,
  type Json,
  settingsHash,
} from './cells.js';
import { type CohortWithReports, digest, type SeedData, type TestCohort } from './data.js';
import { ablationSpec, cellId, type CellKey, LATE_COMPONENTS, seedsOf, type StudySettings, validationSize } from './design.js';
import type { CellTrainer, NeuralJob, NeuralOutcome } from './neural.js';
import type { PatientsWithReports, TrainingData } from './data.js';
import { MISSING_REPORT_RATE, REPORT_NOISE, reportFeatures } from './reports.js';
import { logit, logLoss, recalibration } from './stats.js';

/** Version of the study engine's cell semantics (part of every cell's fingerprint). */
const STUDY_ENGINE_VERSION = 1;

/** What running a cell needs: the study's settings `S`, the cell's data `D`, finished cells `C`. */
export interface CellRunContext<S, D, C> {
  settings: S;
  trainer: CellTrainer;
  /** The cell's data (a seed's, or a fold's). */
  data: D;
  backend: string;
  /** Milliseconds since some origin (Date.now; tests inject a fake). */
  clock: () => number;
  sink: ProgressSink;
  /** A finished cell by id (this run's, or one on disk), or null: late fusion reuses its unimodal cells. */
  findCell: (id: string) => C | null;
}

/** What running a cell of the synthetic study needs: its seed data (same scenario, training size and seed) and the scenario's test cohort. */
export interface CellContext extends CellRunContext<StudySettings, SeedData, CellRecord> {
  test: TestCohort;
}

/** How the table + report reference reads a published (incomplete) table row. */
const PUBLISHED_TABLE = {
  numeric: ['age', 'nihss', 'onsetToTreatmentMin', 'glucose', 'systolicBp', 'preStrokeMrs'],
  binary: ['thrombolysis', 'thrombectomy', 'hypertension', 'diabetes', 'atrialFibrillation'],
} as const;

/** Training-cohort means of the numeric columns over their present cells (what the tabular preprocessor imputes). */
function numericMeans(rows: readonly ClinicalRow[]): Record<string, number> {
  const means: Record<string, number> = {};
  for (const c of PUBLISHED_TABLE.numeric) {
    const xs = rows.map((r) => r[c]).filter((v): v is number => typeof v === 'number');
    means[c] = xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
  }
  return means;
}

/**
 * The table features of a *published* row, as the neural models see the table: a missing
 * numeric cell takes the training cohort's mean, a missing binary cell 0, a missing sex 'female'
 * (the tabular preprocessor's value 0), and one missing-cell indicator per column (its mask);
 * then the same transformed terms as the oracle's `tableFeatures`.
 */
function publishedTableFeatures(row: ClinicalRow, means: Record<string, number>): number[] {
  const num = (c: string) => (typeof row[c] === 'number' ? (row[c] as number) : means[c]!);
  const bin = (c: string) => (row[c] === 1 ? 1 : 0) as 0 | 1;
  const clinical = {
    age: num('age'),
    sex: row['sex'] === 'male' ? 'male' : 'female',
    nihss: num('nihss'),
    onsetToTreatmentMin: num('onsetToTreatmentMin'),
    thrombolysis: bin('thrombolysis'),
    thrombectomy: bin('thrombectomy'),
    hypertension: bin('hypertension'),
    diabetes: bin('diabetes'),
    atrialFibrillation: bin('atrialFibrillation'),
    glucose: num('glucose'),
    systolicBp: num('systolicBp'),
    preStrokeMrs: num('preStrokeMrs'),
  } as const;
  // tableFeatures reads only the clinical record
  const features = tableFeatures({ clinical } as unknown as SyntheticPatient);
  const missing = Object.keys(clinical).map((c) => (row[c] === null || row[c] === undefined ? 1 : 0));
  return [...features, ...missing];
}

/** The features of a reference model for every patient of a cohort. */
function referenceFeatures(kind: 'oracle' | 'table-report', c: CohortWithReports, means: Record<string, number>): number[][] {
  if (kind === 'oracle') return c.cohort.patients.map((p) => oracleFeatures(p, 'table+image'));
  return c.cohort.patients.map((p, i) => [...publishedTableFeatures(c.cohort.rows[i]!, means), ...reportFeatures(c.texts[i]!)]);
}

/** The metrics of P(positive) predictions (float32, as stored) on test patients, and the validation AUC. */
export function predictionMetrics(labels: Uint8Array, scores: Float32Array, valLabels: Uint8Array, valScores: Float32Array): PredictionMetrics {
  const cal = recalibration(labels, scores);
  const hasBoth = valLabels.includes(0) && valLabels.includes(1);
  return {
    auc: rocAuc(labels, scores),
    logLoss: logLoss(labels, scores),
    brier: brierScore(labels, scores),
    ece: expectedCalibrationError(labels, scores, { numBins: 10 }),
    calibrationSlope: cal.slope,
    calibrationIntercept: cal.intercept,
    valAuc: hasBoth ? rocAuc(valLabels, valScores) : Number.NaN,
  };
}

/** The test metrics of P(poor) predictions on the test cohort, with the regret and excess log-loss against its true probability. */
function cellMetrics(test: TestCohort, scores: Float32Array, valLabels: Uint8Array, valScores: Float32Array): CellMetrics {
  const m = predictionMetrics(test.labels, scores, valLabels, valScores);
  return {
    auc: m.auc,
    regret: test.bayesAuc - m.auc,
    logLoss: m.logLoss,
    excessLogLoss: m.logLoss - test.bayesLogLoss,
    brier: m.brier,
    ece: m.ece,
    calibrationSlope: m.calibrationSlope,
    calibrationIntercept: m.calibrationIntercept,
    valAuc: m.valAuc,
  };
}

/** The settings (fingerprinted) of a cell. */
export function cellSettings(key: CellKey, settings: StudySettings, trainer: CellTrainer): { [key: string]: Json } {
  const spec = ablationSpec(key.ablation);
  const seeds = seedsOf(key.seed, settings.test.seed);
  let model: Json;
  if (spec.reference === 'oracle') model = { reference: 'fitLogistic (l2 1e-4) on oracleFeatures(patient, "table+image") of the training cohort' };
  else if (spec.reference === 'table-report') {
    model = { reference: 'fitLogistic (l2 1e-4) on publishedTableFeatures (missing cells imputed as the preprocessor does, plus missing indicators) + reportFeatures of the training cohort' };
  } else if (spec.fusion === 'late') {
    model = {
      stacker: 'fitLogistic (l2 1e-4) on logit P(poor) of the unimodal models on the validation cohort',
      components: Object.fromEntries(LATE_COMPONENTS.map((m) => [m, trainer.settings(ablationSpec(m), { quick: settings.quick, seeds, trainSize: key.trainSize })])),
    };
  } else model = trainer.settings(spec, { quick: settings.quick, seeds, trainSize: key.trainSize });
  return {
    engine: STUDY_ENGINE_VERSION,
    quick: settings.quick,
    ablation: JSON.parse(JSON.stringify(spec)) as Json,
    data: {
      scenario: key.scenario,
      trainSize: key.trainSize,
      valSize: validationSize(settings, key.trainSize),
      seed: key.seed,
      seeds,
      layout: '2d',
      reportNoise: { ...REPORT_NOISE },
      missingReportRate: MISSING_REPORT_RATE,
    },
    test: { patients: settings.test.patients, seed: settings.test.seed },
    model,
  };
}

/** Where late fusion gets a unimodal model's predictions: its finished cell when that has the expected settings, else a training run. */
interface LateComponentSource {
  /** The component's finished cell, if any. */
  cell: { settingsHash: string; scores: { val: string; test: string } } | null;
  /** The settings fingerprint the cell must have. */
  hash: string;
  /** Trains the component (when its cell is missing or has other settings). */
  train: () => Promise<NeuralOutcome>;
}

/** A cell's validation and test predictions, and how they were made. */
export interface CellOutcome {
  val: Float32Array;
  test: Float32Array;
  training: CellRecord['training'];
  late?: CellRecord['late'];
  reference?: { model: LogisticModel; features: number };
}

/**
 * Makes a cell's predictions: a reference (`reference`, the caller's features), late fusion
 * (its unimodal cells from `findCell` when their settings match `hash`, else trained), or a
 * neural ablation trained by `trainer` on `data` and predicting its validation patients and `test`.
 */
export async function cellOutcome<K extends { ablation: string }>(
  key: K,
  o: {
    trainer: CellTrainer;
    data: TrainingData;
    test: PatientsWithReports;
    quick: boolean;
    sink: ProgressSink;
    /** The cell's training size when its epochs follow the step budget (NeuralJob.trainSize). */
    trainSize?: number;
    cellId: (k: K) => string;
    hash: (k: K) => string;
    findCell: (id: string) => { settingsHash: string; scores: { val: string; test: string } } | null;
    reference: () => Omit<CellOutcome, 'training' | 'late'>;
  },
): Promise<CellOutcome> {
  const spec = ablationSpec(key.ablation);
  const job = (id: string, label: string): NeuralJob => ({ spec: ablationSpec(id), data: o.data, test: o.test, quick: o.quick, sink: o.sink, label, ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }) });
  if (spec.reference) return { ...o.reference(), training: null };
  if (spec.fusion === 'late') {
    const fused = await lateFusion(
      (m) => {
        const componentKey = { ...key, ablation: m };
        return { cell: o.findCell(o.cellId(componentKey)), hash: o.hash(componentKey), train: () => o.trainer.train(job(m, `  ${o.cellId(componentKey)} (for late)`)) };
      },
      o.data.val.labels,
      o.test.labels,
    );
    return { val: fused.val, test: fused.test, training: null, late: fused.late };
  }
  const outcome = await o.trainer.train(job(key.ablation, `  ${o.cellId(key)}`));
  return { val: outcome.val, test: outcome.test, training: { epochs: outcome.history.length, bestEpoch: outcome.bestEpoch, stoppedEarly: outcome.stoppedEarly, history: outcome.history, ...(outcome.pretraining ? { pretraining: outcome.pretraining } : {}) } };
}

/** The fields of a cell record that its outcome gives: the predictions, how they were made, and how the run went. */
export function outcomeFields(outcome: CellOutcome, valLabels: Uint8Array, started: number, ctx: { clock: () => number; backend: string }): Pick<CellRecord, 'scores' | 'training' | 'run' | 'late'> & Pick<CellOutcome, 'reference'> {
  return {
    scores: { test: encodeFloat32(outcome.test), val: encodeFloat32(outcome.val), valLabels: encodeUint8(valLabels) },
    training: outcome.training,
    run: { seconds: (ctx.clock() - started) / 1000, finishedAt: new Date(ctx.clock()).toISOString(), backend: ctx.backend },
    ...(outcome.late ? { late: outcome.late } : {}),
    ...(outcome.reference ? { reference: outcome.reference } : {}),
  };
}

/** A reference: a logistic regression (by default l2 1e-4) fitted on the training features, predicting the validation and test patients. */
export function fitReference(train: number[][], labels: Uint8Array, val: number[][], test: number[][], options: LogisticOptions = {}): Omit<CellOutcome, 'training' | 'late'> {
  const model = fitLogistic(train, Array.from(labels), options);
  return { val: Float32Array.from(predictLogistic(model, val)), test: Float32Array.from(predictLogistic(model, test)), reference: { model, features: train[0]!.length } };
}

/**
 * Late fusion: each unimodal model's validation and test predictions (from its finished cell,
 * or trained here), stacked by a logistic regression on their logits fitted on the validation
 * patients.
 */
async function lateFusion(
  component: (id: (typeof LATE_COMPONENTS)[number]) => LateComponentSource,
  valLabels: Uint8Array,
  testLabels: Uint8Array,
): Promise<{ val: Float32Array; test: Float32Array; late: NonNullable<CellRecord['late']> }> {
  const parts: Record<string, { source: 'cell' | 'trained'; val: Float32Array; test: Float32Array }> = {};
  for (const m of LATE_COMPONENTS) {
    const c = component(m);
    if (c.cell && c.cell.settingsHash === c.hash) parts[m] = { source: 'cell', val: decodeFloat32(c.cell.scores.val), test: decodeFloat32(c.cell.scores.test) };
    else {
      const outcome = await c.train();
      parts[m] = { source: 'trained', val: outcome.val, test: outcome.test };
    }
  }
  const rowsOf = (which: 'val' | 'test', i: number) => LATE_COMPONENTS.map((m) => logit(parts[m]![which][i]!));
  const stacker = fitLogistic(Array.from(valLabels, (_, i) => rowsOf('val', i)), Array.from(valLabels));
  return {
    val: Float32Array.from(predictLogistic(stacker, Array.from(valLabels, (_, i) => rowsOf('val', i)))),
    test: Float32Array.from(predictLogistic(stacker, Array.from(testLabels, (_, i) => rowsOf('test', i)))),
    late: {
      stacker,
      components: Object.fromEntries(
        LATE_COMPONENTS.map((m) => [
          m,
          { source: parts[m]!.source, valAuc: rocAuc(valLabels, parts[m]!.val), testAuc: rocAuc(testLabels, parts[m]!.test), scoresDigest: digest(encodeFloat32(parts[m]!.test)) },
        ]),
      ),
    },
  };
}

/**
 * Runs one cell and returns its record (the caller writes it).
 *
 * @throws whatever training throws (nothing is written then).
 */
export async function runCell(key: CellKey, ctx: CellContext): Promise<CellRecord> {
  const started = ctx.clock();
  const spec = ablationSpec(key.ablation);
  const settings = cellSettings(key, ctx.settings, ctx.trainer);
  const hash = settingsHash(settings);
  const valLabels = ctx.data.val.labels;
  const outcome = await cellOutcome(key, {
    ...ctx,
    quick: ctx.settings.quick,
    trainSize: key.trainSize,
    cellId,
    hash: (k) => settingsHash(cellSettings(k, ctx.settings, ctx.trainer)),
    reference: () => {
      const means = numericMeans(ctx.data.train.cohort.rows);
      const features = (c: CohortWithReports) => referenceFeatures(spec.reference!, c, means);
      return fitReference(features(ctx.data.train), ctx.data.train.labels, features(ctx.data.val), features(ctx.test));
    },
  });
  const { val: valScores, test: testScores } = outcome;
  const record: CellRecord = {
    format: CELL_FORMAT,
    id: cellId(key),
    key: { ...key },
    quick: ctx.settings.quick,
    settings,
    settingsHash: hash,
    recipeHash: settingsHash(cellSettings({ ...key, seed: 0, trainSize: 0 }, ctx.settings, ctx.trainer)),
    test: {
      patients: ctx.test.labels.length,
      seed: ctx.test.seed,
      labelsDigest: ctx.test.labelsDigest,
      bayesAuc: ctx.test.bayesAuc,
      bayesLogLoss: ctx.test.bayesLogLoss,
      labels: encodeUint8(ctx.test.labels),
    },
    metrics: cellMetrics(ctx.test, testScores, valLabels, valScores),
    ...outcomeFields(outcome, valLabels, started, ctx),
  };
  return record;
}
