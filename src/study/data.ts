/**
 * The study's data: the fixed test cohort of each scenario (generated once per process, used in
 * inference only) and each seed's training and validation cohorts with their reports and the
 * preprocessing fitted on the training cohort only.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { generateSyntheticCohort, type SyntheticCohort } from '../data/cohort.js';
import type { ClinicalRow } from '../data/clinical.js';
import type { ScenarioName } from '../data/scenarios.js';
import { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import type { RawTriModalInputs } from '../models/data.js';
import { ReportFieldTargets } from '../text/field-targets.js';
import { strokeReportSchema } from '../text/stroke-schema.js';
import { rocAuc } from '../metrics/ranking.js';
import { PREPROCESSING } from './ablations.js';
import { seedsOf } from './design.js';
import { cohortReportTexts } from './reports.js';
import { logLoss } from './stats.js';

/**
 * Patients in memory as the models read them: images in the model's layout (`sampleShape` per
 * patient; null for a cohort without images), the published clinical rows, the report texts
 * (null: no report) and the outcome labels. A synthetic cohort is one, and so is a loaded cohort
 * of your own (the study's k-fold protocol, ./cohort/).
 */
export interface PatientsWithReports {
  cohort: { readonly images: Float32Array | null; readonly sampleShape: readonly number[] | null; readonly rows: readonly ClinicalRow[] };
  /** Report texts (null: no report), or null when the models read no reports at all. */
  texts: Array<string | null> | null;
  /** Outcome labels (0/1). */
  labels: Uint8Array;
}

/** A synthetic cohort with its report texts (null: no report). */
export interface CohortWithReports extends PatientsWithReports {
  cohort: SyntheticCohort;
  texts: Array<string | null>;
  /** Outcome labels (mRS ≥ 3). */
  labels: Uint8Array;
}

/** The fixed test cohort of a scenario. */
export interface TestCohort extends CohortWithReports {
  scenario: ScenarioName;
  seed: number;
  /** The simulator's true P(poor) per patient. */
  trueProbability: Float64Array;
  /** AUC of the true probability on these patients (Bayes-optimal). */
  bayesAuc: number;
  /** Mean log-loss of the true probability on these patients. */
  bayesLogLoss: number;
  /** sha256 (first 16 hex digits) of the labels: every cell of a scenario must show the same. */
  labelsDigest: string;
}

/** Short sha256 of bytes or a string. */
export function digest(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** A synthetic cohort in the study's layout (2D `[32, 32, 8]`) with its reports. */
async function cohortWithReports(scenario: ScenarioName, seed: number, patients: number): Promise<CohortWithReports> {
  const cohort = generateSyntheticCohort({ scenario, seed, layout: '2d', patients });
  const texts = await cohortReportTexts(cohort, seed);
  return { cohort, texts, labels: Uint8Array.from(cohort.poor) };
}

/** Generates the fixed test cohort of a scenario. Deterministic in its arguments. */
export async function buildTestCohort(scenario: ScenarioName, patients: number, seed: number): Promise<TestCohort> {
  const c = await cohortWithReports(scenario, seed, patients);
  const trueProbability = Float64Array.from(c.cohort.truePoorProbability);
  return {
    ...c,
    scenario,
    seed,
    trueProbability,
    bayesAuc: rocAuc(c.labels, trueProbability),
    bayesLogLoss: logLoss(c.labels, trueProbability),
    labelsDigest: digest(c.labels),
  };
}

/**
 * What a neural cell trains on: training and validation patients, the preprocessing fitted on
 * the training patients only, and the model and trainer seeds.
 */
export interface TrainingData {
  train: PatientsWithReports;
  val: PatientsWithReports;
  /** Fitted on the training patients' rows. */
  pre: TabularPreprocessor;
  /** Trained on the training patients' reports. */
  tok: WordPieceTokenizer;
  /**
   * The report-field targets fitted on the training patients' reports (the field head of the
   * alignment models, {@link fitFieldTargets}); null when no training report states a field.
   */
  fields: ReportFieldTargets | null;
  /** Seeds of the model's initialisers and of the trainer (shuffling, dropout). */
  seeds: { model: number; trainer: number };
  /** Things to release with the data (e.g. tensors a trainer built from it). */
  disposers: Array<() => void>;
}

/** One seed's data at one training size: cohorts, reports, and the preprocessing fitted on training only. */
export interface SeedData extends TrainingData {
  scenario: ScenarioName;
  seed: number;
  trainSize: number;
  seeds: ReturnType<typeof seedsOf>;
  train: CohortWithReports;
  val: CohortWithReports;
}

/**
 * Builds one seed's training and validation cohorts (new seeds, never the test cohort's), their
 * reports, and the preprocessing (TabularPreprocessor, WordPieceTokenizer) fitted on the
 * training cohort only.
 */
export async function buildSeedData(scenario: ScenarioName, seed: number, trainSize: number, valSize: number, testSeed: number): Promise<SeedData> {
  const seeds = seedsOf(seed, testSeed);
  const train = await cohortWithReports(scenario, seeds.train, trainSize);
  const val = await cohortWithReports(scenario, seeds.val, valSize);
  const pre = new TabularPreprocessor({ columns: train.cohort.schema }).fit(train.cohort.rows);
  const tok = trainTokenizer(train.texts);
  const fields = fitFieldTargets(train.texts);
  return { scenario, seed, trainSize, seeds, train, val, pre, tok, fields, disposers: [] };
}

/** The tokenizer of the models that read reports, trained on the training patients' reports with the settings of ./ablations.ts (`PREPROCESSING.tokenizer`). */
export function trainTokenizer(texts: ReadonlyArray<string | null>): WordPieceTokenizer {
  const { vocabSize, minFrequency, keepNumbers, coverage } = PREPROCESSING.tokenizer;
  const trained = WordPieceTokenizer.train(texts.filter((t): t is string => t !== null), { vocabSize, minFrequency }, { keepNumbers });
  // the text input covers `coverage` of the training reports uncut (numbers kept whole: "3.5" is one word)
  return trained.withMaxLength(trained.coverageLength(texts, coverage));
}

/**
 * The report-field targets of the models with alignment, fitted on the training patients'
 * reports with the settings of ./ablations.ts (`PREPROCESSING.fieldTargets`, read with
 * `strokeReportSchema`); null when no training report states any of the fields (reports of
 * another format: the alignment models then train without the field head).
 */
export function fitFieldTargets(texts: ReadonlyArray<string | null> | null): ReportFieldTargets | null {
  const reports = (texts ?? []).filter((t): t is string => t !== null);
  if (reports.length === 0) return null;
  const targets = ReportFieldTargets.fit(reports, strokeReportSchema, PREPROCESSING.fieldTargets);
  return targets.transform(reports).mask.some((m) => m > 0) ? targets : null;
}

/** Releases what was attached to a seed's (or a fold's) data. */
export function disposeSeedData(data: TrainingData): void {
  for (const d of data.disposers.splice(0)) d();
}

/**
 * The raw model inputs of patients `start … end − 1` (for `prepareTriModalData`): the images
 * (when the patients have them), the rows, the reports (when the models read reports) and the labels.
 */
export function rawInputs(c: PatientsWithReports, start = 0, end = c.labels.length): RawTriModalInputs {
  const { images, sampleShape } = c.cohort;
  const per = sampleShape ? sampleShape.reduce((a, b) => a * b, 1) : 0;
  return {
    ...(images && sampleShape ? { images: images.subarray(start * per, end * per), imageShape: sampleShape } : {}),
    rows: c.cohort.rows.slice(start, end),
    ...(c.texts ? { reports: c.texts.slice(start, end) } : {}),
    labels: c.labels.subarray(start, end),
  };
}
