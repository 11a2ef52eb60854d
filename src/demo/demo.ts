/**
 * The main job (`npm run demo`, `npx vdafm demo`): generate the synthetic stroke cohort, write and
 * cache its reports (./reports.ts), fit the preprocessing on the training patients, train and
 * evaluate the ablation suite (./ablations.ts, ./train-one.ts), and write metrics, a report,
 * plots and attention overlays (./outputs.ts). Node only (it writes files).
 *
 * @packageDocumentation
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { generateSyntheticCohort, type SyntheticCohort } from '../data/cohort.js';
import { splitCohort } from '../data/split.js';
import { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import { InvalidArgumentError } from '../errors.js';
import { bootstrapCi } from '../metrics/bootstrap.js';
import { rocAuc } from '../metrics/ranking.js';
import { prepareTriModalData, type TriModalData } from '../models/data.js';
import type { TriModalModel } from '../models/tri-modal.js';
import { savePipeline } from '../node/io.js';
import { strokeReportSchema } from '../text/stroke-schema.js';
import type { TrainingLogs } from '../training/types.js';
import { ABLATIONS } from './ablations.js';
import { attentionOverlays, type DemoRow, demoTable, fmt, writePlots } from './outputs.js';
import { calibrationSpec, diagnosticsSpec, dropModalitySpec, rocSpec, trainingCurvesSpec, type VegaLiteSpec } from './plots.js';
import type { ProgressSink } from './progress.js';
import { cohortReports } from './reports.js';
import { type DemoRun, trainAblation } from './train-one.js';

export { ABLATIONS } from './ablations.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Small and fast (≤ 2 min on 2 cores). @defaultValue false */
  quick?: boolean;
  /** Seed of the cohort, splits, reports, models and training. @defaultValue 7 */
  seed?: number;
  /** Number of patients. @defaultValue 300 (quick) / 1000 */
  patients?: number;
  /** Epochs per model. @defaultValue 4 (quick) / 14 */
  epochs?: number;
  /** Output folder. @defaultValue 'vdafm-demo' */
  out?: string;
  /** Only these ablations (names as in the table). @defaultValue all */
  only?: string[];
  /** Log lines (the table, summaries). @defaultValue console.log */
  log?: (line: string) => void;
  /** Progress bars. @defaultValue process.stderr */
  progress?: ProgressSink;
}

/** What {@link runDemo} returns (also written to `metrics.json`). */
export interface DemoResult {
  options: Required<Omit<DemoOptions, 'log' | 'progress' | 'only'>> & { only: string[] | null; backend: string };
  cohort: { patients: number; train: number; val: number; test: number; prevalence: number; reportsMissing: number };
  bayesAuc: number;
  bayesAucCi: [number, number];
  rows: DemoRow[];
  files: string[];
}

function tensorsFor(cohort: SyntheticCohort, idx: number[], texts: Array<string | null>, pre: TabularPreprocessor, tok: WordPieceTokenizer): TriModalData {
  const per = cohort.sampleShape.reduce((a, b) => a * b, 1);
  const images = new Float32Array(idx.length * per);
  idx.forEach((p, i) => images.set(cohort.images.subarray(p * per, (p + 1) * per), i * per));
  return prepareTriModalData(
    {
      images,
      imageShape: cohort.sampleShape,
      rows: idx.map((p) => cohort.rows[p]!),
      reports: idx.map((p) => texts[p]!),
      labels: idx.map((p) => cohort.poor[p]!),
    },
    { preprocessor: pre, tokenizer: tok },
  );
}

/** The ablation whose model is saved, overlaid and diagnosed. */
const FULL = 'tri-modal VDAFM (full)';

/** Resolves and checks the options. */
function resolveDemoOptions(options: DemoOptions) {
  const quick = options.quick ?? false;
  const patients = options.patients ?? (quick ? 300 : 1000);
  if (!Number.isInteger(patients) || patients < 60) {
    throw new InvalidArgumentError({ argument: 'patients', message: 'patients must be an integer ≥ 60.', received: patients });
  }
  const only = options.only ?? null;
  if (only) {
    const unknown = only.filter((n) => !ABLATIONS.some((a) => a.name === n));
    if (unknown.length > 0) {
      throw new InvalidArgumentError({ argument: 'only', message: `Unknown ablation(s). Known: ${ABLATIONS.map((a) => a.name).join('; ')}.`, received: unknown });
    }
  }
  return {
    quick,
    seed: options.seed ?? 7,
    patients,
    epochs: options.epochs ?? (quick ? 4 : 14),
    out: options.out ?? 'vdafm-demo',
    only,
    log: options.log ?? ((l: string) => console.log(l)),
    sink: options.progress ?? { write: (t: string) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
  };
}

/** The report's markdown. */
function reportMarkdown(result: DemoResult, table: string): string {
  const { patients, prevalence, train, val, test, reportsMissing } = result.cohort;
  return [
    '# vdafm demo: 90-day outcome on the synthetic stroke cohort',
    '',
    `${patients} synthetic patients (seed ${result.options.seed}), ${(prevalence * 100).toFixed(1)}% poor outcome (mRS ≥ 3); ${train} train / ${val} val / ${test} test, stratified. ${reportsMissing} patients have no report. Backend ${result.options.backend}, ${result.options.epochs} epochs per model (early stopping on validation AUC, restore-best). Sensitivity and specificity at the Youden threshold chosen on the validation set. 95% CIs: stratified bootstrap of the test set.`,
    '',
    table,
    '',
    '![ROC](roc.svg) ![Calibration](calibration.svg)',
    '',
    '![Training curves](training-curves.svg)',
    '',
    '![Diagnostics of the full model](diagnostics.svg)',
    '',
    '![Test AUC change when one modality is withheld](drop-modality.svg)',
    '',
    'Attention overlays: `attention-*.png` (left: DWI slice; right: where the report tokens of the lesion territory and side attend, last VDAFM layer).',
  ].join('\n');
}

/**
 * Runs the demo end to end. The backend must be set before (the CLI picks wasm, falling back to cpu).
 *
 * @returns the results, also written to `<out>/metrics.json` with `report.md`, plots and overlays.
 * @example
 * ```ts
 * const result = await runDemo({ quick: true, out: './demo-out' });
 * console.log(result.rows.map((r) => `${r.name}: ${r.auc.toFixed(3)}`));
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const o = resolveDemoOptions(options);
  const { quick, seed, patients, epochs, out, only, log } = o;
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    const file = path.join(out, name);
    writeFileSync(file, data);
    files.push(file);
  };
  const started = Date.now();

  // 1. cohort, split and reports
  log(`vdafm demo: ${patients} synthetic patients, seed ${seed}, ${epochs} epochs per model, backend ${tf.getBackend()}`);
  const cohort = generateSyntheticCohort({ patients, seed, layout: '2d' });
  const split = splitCohort(cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed });
  const reports = await cohortReports(cohort, out, seed, o.sink);
  const texts = reports.texts;
  log(`reports: ${reports.generated} generated, ${reports.cached} from the cache, ${reports.missing} patients without a report`);
  log(`example report: ${texts.find((t) => t !== null)}`);

  // 2. preprocessing fitted on the training patients only
  const pre = new TabularPreprocessor({ columns: cohort.schema }).fit(split.train.map((i) => cohort.rows[i]!));
  const trainTexts = split.train.map((i) => texts[i] ?? null);
  const trained = WordPieceTokenizer.train(trainTexts.filter((t): t is string => t !== null), { vocabSize: 300, minFrequency: 2 }, { keepNumbers: true });
  // the text input covers 99% of the training reports uncut (numbers kept whole: "3.5" is one word)
  const tok = trained.withMaxLength(trained.coverageLength(trainTexts, 0.99));
  const run: DemoRun = {
    components: { imageShape: [...cohort.sampleShape], pre, tok, seed },
    train: tensorsFor(cohort, split.train, texts, pre, tok),
    val: tensorsFor(cohort, split.val, texts, pre, tok),
    test: tensorsFor(cohort, split.test, texts, pre, tok),
    valLabels: split.val.map((i) => cohort.poor[i]!),
    testLabels: split.test.map((i) => cohort.poor[i]!),
    seed,
    epochs,
    quick,
    sink: o.sink,
  };
  const prevalence = Array.from(cohort.poor).reduce((a, b) => a + b, 0) / patients;
  const bayesScores = split.test.map((i) => cohort.truePoorProbability[i]!);
  const bayesAuc = rocAuc(run.testLabels, bayesScores);
  const bayesCiResult = bootstrapCi(run.testLabels, bayesScores, rocAuc, { numResamples: quick ? 200 : 1000, seed });
  const bayesCi: [number, number] = [bayesCiResult.lower, bayesCiResult.upper];
  log(`split: ${split.train.length} train / ${split.val.length} val / ${split.test.length} test, ${(prevalence * 100).toFixed(1)}% poor outcome; Bayes-optimal test AUC ${fmt(bayesAuc)}`);

  // 3. the ablation suite
  const rows: DemoRow[] = [];
  const histories: Record<string, TrainingLogs[]> = {};
  const steps: Record<string, TrainingLogs[]> = {};
  const drops: Array<{ model: string; modality: string; delta: number }> = [];
  const rocCurves: Parameters<typeof rocSpec>[0] = {};
  const calCurves: Parameters<typeof calibrationSpec>[0] = {};
  let fullModel: TriModalModel | null = null;
  for (const ablation of ABLATIONS) {
    if (only && !only.includes(ablation.name)) continue;
    const r = await trainAblation(ablation, run);
    rows.push(r.row);
    histories[ablation.name] = r.history;
    steps[ablation.name] = r.steps;
    for (const [m, d] of Object.entries(r.dropModality)) drops.push({ model: ablation.name, modality: m, delta: d! });
    rocCurves[ablation.name] = r.roc;
    calCurves[ablation.name] = r.calibration;
    log(`${ablation.name}: test AUC ${fmt(r.row.auc)} (${r.row.seconds.toFixed(0)} s, ${r.row.epochs} epochs)`);
    if (ablation.name === FULL) fullModel = r.model;
    else r.model.dispose();
  }

  // 4. outputs
  const table = demoTable(rows, bayesAuc, bayesCi);
  log('');
  log(table);
  const result: DemoResult = {
    options: { quick, seed, patients, epochs, out, only, backend: tf.getBackend() },
    cohort: { patients, train: split.train.length, val: split.val.length, test: split.test.length, prevalence, reportsMissing: reports.missing },
    bayesAuc,
    bayesAucCi: bayesCi,
    rows,
    files,
  };
  const plots: Array<[string, VegaLiteSpec]> = [
    ['roc', rocSpec(rocCurves)],
    ['calibration', calibrationSpec(calCurves)],
    ['training-curves', trainingCurvesSpec(histories, ['loss', 'val_auc'])],
    ...(histories[FULL] ? [['diagnostics', diagnosticsSpec(`Diagnostics: ${FULL}`, histories[FULL]!, steps[FULL]!)] as [string, VegaLiteSpec]] : []),
    ...(drops.length > 0 ? [['drop-modality', dropModalitySpec(drops)] as [string, VegaLiteSpec]] : []),
  ];
  if ((await writePlots(plots, write)) === 0) log('plots: vega and vega-lite are not installed; wrote the vega-lite specs (*.vl.json) only.');
  if (fullModel) {
    write(...(await attentionOverlays(fullModel, cohort, split.test.slice(0, 3), run.test, tok, texts)));
    await savePipeline({ model: fullModel, preprocessor: pre, tokenizer: tok, reportSchema: strokeReportSchema, metadata: { demo: result.options } }, path.join(out, 'model'));
    files.push(path.join(out, 'model'));
    fullModel.dispose();
  }
  write('report.md', reportMarkdown(result, table));
  write('metrics.json', JSON.stringify({ ...result, histories, dropModality: drops }, null, 1));
  tf.dispose([...Object.values(run.train), ...Object.values(run.val), ...Object.values(run.test)]);
  log(`\nwrote ${files.length} files to ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return result;
}
