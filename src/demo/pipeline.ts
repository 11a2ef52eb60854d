/**
 * The demo's pipeline on any cohort in memory ({@link CohortData}: the synthetic cohort, or one
 * of your own loaded from its manifest): the preprocessing fitted on the training patients
 * only, the ablation suite (./ablations.ts, trained by ./train-one.ts), and the outputs every
 * run writes: the results table, test predictions, plots, attention overlays and the full
 * model's pipeline. The Bayes-optimal line needs the true risk, which only the synthetic cohort
 * knows.
 *
 * @packageDocumentation
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { GreyImage } from '../data/render.js';
import { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import { InvalidArgumentError } from '../errors.js';
import { bootstrapCi } from '../metrics/bootstrap.js';
import { rocAuc } from '../metrics/ranking.js';
import { prepareTriModalData, type TriModalData } from '../models/data.js';
import type { TriModalModel } from '../models/tri-modal.js';
import { formatCsv } from '../node/cohort/csv.js';
import { savePipeline } from '../node/io.js';
import { fitFieldTargets, trainTokenizer } from '../study/data.js';
import { strokeReportSchema } from '../text/stroke-schema.js';
import type { TrainingLogs } from '../training/types.js';
import { type Ablation, ABLATIONS, type Components } from './ablations.js';
import { type CohortData, cohortModalities, type DemoSplit, type Modality, rawInputsOf } from './cohort-data.js';
import { attentionOverlays, type DemoRow, demoTable, fmt, writePlots } from './outputs.js';
import { calibrationSpec, diagnosticsSpec, dropModalitySpec, rocSpec, trainingCurvesSpec, type VegaLiteSpec } from './plots.js';
import type { ProgressSink } from './progress.js';
import { type DemoRun, trainAblation } from './train-one.js';

/** The ablation whose model is saved, overlaid and diagnosed. */
const FULL = 'tri-modal VDAFM (full)';

/** Writes files into the output folder and remembers them. */
export interface OutputWriter {
  readonly out: string;
  readonly files: string[];
  write(name: string, data: string | Uint8Array): void;
}

/** An {@link OutputWriter} on `out` (created). */
export function outputWriter(out: string): OutputWriter {
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  return {
    out,
    files,
    write(name, data) {
      const file = path.join(out, name);
      writeFileSync(file, data);
      files.push(file);
    },
  };
}

/** The settings every demo run shares (the synthetic cohort's, a cohort of your own). */
export interface DemoSettingsOptions {
  /** Small and fast: 4 epochs, 200 bootstrap resamples. @defaultValue false */
  quick?: boolean;
  /** Seed of the split, the reports, the models and the training. @defaultValue 7 */
  seed?: number;
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

/**
 * Fills in the shared settings' defaults (seed 7, 4 epochs quick / 14, `vdafm-demo`, every
 * ablation, console and stderr) and checks the ablation names.
 *
 * @throws `InvalidArgumentError` (argument `only`) for an unknown ablation.
 */
export function resolveDemoSettings(options: DemoSettingsOptions) {
  const quick = options.quick ?? false;
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
    epochs: options.epochs ?? (quick ? 4 : 14),
    out: options.out ?? 'vdafm-demo',
    only,
    log: options.log ?? ((l: string) => console.log(l)),
    sink: options.progress ?? { write: (t: string) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
  };
}

/** Options of {@link runDemoPipeline}. */
export interface DemoPipelineOptions {
  data: CohortData;
  split: DemoSplit;
  seed: number;
  epochs: number;
  quick: boolean;
  /** Only these ablations (names of the suite), or null for all. */
  only: string[] | null;
  writer: OutputWriter;
  log: (line: string) => void;
  sink: ProgressSink;
  /** The true P(positive) of every patient (the synthetic cohort only): gives the Bayes-optimal line. */
  trueRisk: ArrayLike<number> | null;
  /** The grey slice drawn under patient `index`'s attention overlay. */
  overlaySlice: (index: number) => GreyImage;
  /** Saved with the full model's pipeline. */
  metadata: Record<string, unknown>;
}

/** What {@link runDemoPipeline} returns. */
export interface DemoPipelineResult {
  rows: DemoRow[];
  /** Test AUC of the true risk with its bootstrap CI, or null without a known true risk. */
  bayes: { auc: number; ci: [number, number] } | null;
  /** Ablations left out because the cohort lacks a modality they read. */
  skipped: Array<{ name: string; reason: string }>;
  histories: Record<string, TrainingLogs[]>;
  dropModality: Array<{ model: string; modality: string; delta: number }>;
  /** The results table (markdown). */
  table: string;
}

/** The modalities an ablation's model reads. */
function modalitiesOf(ablation: Ablation, components: Components): Modality[] {
  const config = ablation.config(components);
  return (['image', 'text', 'clinical'] as const).filter((m) => config[m] !== undefined);
}

/** P(positive) of every row of `data`. */
function scoresOf(model: TriModalModel, data: TriModalData): Float32Array {
  const { probabilities } = model.predict(data);
  const s = Float32Array.from(probabilities.dataSync());
  probabilities.dispose();
  return s;
}

/**
 * Runs the ablation suite on a cohort in memory and writes `predictions.csv`, the plots, the
 * attention overlays and the full model's pipeline (`model/`); the caller writes `report.md`
 * and `metrics.json` from the result. The backend must be set before.
 *
 * @throws `InvalidArgumentError` from the preprocessing or the model builder for unusable data.
 */
// Over the ~80-line guide: the demo's steps in the order its log prints them (fit, train each
// ablation, evaluate, write each output); each step is one call, and splitting the sequence
// would only pass the same dozen values between helpers.
export async function runDemoPipeline(o: DemoPipelineOptions): Promise<DemoPipelineResult> {
  const { data, split, seed, epochs, quick, log, writer } = o;
  const available = cohortModalities(data);
  const withText = available.has('text');
  // preprocessing fitted on the training patients only
  const pre = new TabularPreprocessor({ columns: data.columns }).fit(split.train.map((i) => data.rows[i]!));
  const tok = trainTokenizer(split.train.map((i) => data.texts[i]!));
  const fields = withText ? fitFieldTargets(split.train.map((i) => data.texts[i]!)) : null;
  const tools = { preprocessor: pre, tokenizer: tok, ...(fields ? { fieldTargets: fields } : {}) };
  const tensors = (idx: number[]) => prepareTriModalData(rawInputsOf(data, idx, withText), tools);
  const run: DemoRun = {
    components: { imageShape: [...data.imageShape], pre, tok, fields, seed },
    train: tensors(split.train),
    val: tensors(split.val),
    test: tensors(split.test),
    valLabels: split.val.map((i) => data.labels[i]!),
    testLabels: split.test.map((i) => data.labels[i]!),
    seed,
    epochs,
    quick,
    sink: o.sink,
  };
  let bayes: DemoPipelineResult['bayes'] = null;
  if (o.trueRisk) {
    const scores = split.test.map((i) => o.trueRisk![i]!);
    const ci = bootstrapCi(run.testLabels, scores, rocAuc, { numResamples: quick ? 200 : 1000, seed });
    bayes = { auc: rocAuc(run.testLabels, scores), ci: [ci.lower, ci.upper] };
  }

  const rows: DemoRow[] = [];
  const skipped: DemoPipelineResult['skipped'] = [];
  const histories: Record<string, TrainingLogs[]> = {};
  const steps: Record<string, TrainingLogs[]> = {};
  const drops: DemoPipelineResult['dropModality'] = [];
  const rocCurves: Parameters<typeof rocSpec>[0] = {};
  const calCurves: Parameters<typeof calibrationSpec>[0] = {};
  const predictions: Record<string, Float32Array> = {};
  let fullModel: TriModalModel | null = null;
  try {
    for (const ablation of ABLATIONS) {
      if (o.only && !o.only.includes(ablation.name)) continue;
      const lacking = modalitiesOf(ablation, run.components).filter((m) => !available.has(m));
      if (lacking.length > 0) {
        skipped.push({ name: ablation.name, reason: `the cohort has no ${lacking.join(' and ')}` });
        log(`${ablation.name}: left out (the cohort has no ${lacking.join(' and ')})`);
        continue;
      }
      const r = await trainAblation(ablation, run);
      rows.push(r.row);
      histories[ablation.name] = r.history;
      steps[ablation.name] = r.steps;
      for (const [m, d] of Object.entries(r.dropModality)) drops.push({ model: ablation.name, modality: m, delta: d! });
      rocCurves[ablation.name] = r.roc;
      calCurves[ablation.name] = r.calibration;
      predictions[ablation.name] = scoresOf(r.model, run.test);
      log(`${ablation.name}: test AUC ${fmt(r.row.auc)} (${r.row.seconds.toFixed(0)} s, ${r.row.epochs} epochs)`);
      if (ablation.name === FULL) fullModel = r.model;
      else r.model.dispose();
    }

    const table = demoTable(rows, bayes);
    log('');
    log(table);
    writer.write('predictions.csv', predictionsCsv(data, split, predictions));
    const plots: Array<[string, VegaLiteSpec]> = [
      ['roc', rocSpec(rocCurves)],
      ['calibration', calibrationSpec(calCurves)],
      ['training-curves', trainingCurvesSpec(histories, ['loss', 'val_auc'])],
      ...(histories[FULL] ? [['diagnostics', diagnosticsSpec(`Diagnostics: ${FULL}`, histories[FULL]!, steps[FULL]!)] as [string, VegaLiteSpec]] : []),
      ...(drops.length > 0 ? [['drop-modality', dropModalitySpec(drops)] as [string, VegaLiteSpec]] : []),
    ];
    if ((await writePlots(plots, (n, d) => writer.write(n, d))) === 0) log('plots: vega and vega-lite are not installed; wrote the vega-lite specs (*.vl.json) only.');
    if (fullModel) {
      const model: TriModalModel = fullModel;
      if (model.imageGridShape().length === 2) {
        const first = split.test.slice(0, 3);
        writer.write(...(await attentionOverlays(model, first.map((i) => ({ slice: o.overlaySlice(i), text: data.texts[i] ?? null })), run.test, tok)));
      }
      await savePipeline({ model, preprocessor: pre, tokenizer: tok, reportSchema: strokeReportSchema, metadata: o.metadata }, path.join(writer.out, 'model'));
      writer.files.push(path.join(writer.out, 'model'));
    }
    return { rows, bayes, skipped, histories, dropModality: drops, table };
  } finally {
    (fullModel as TriModalModel | null)?.dispose();
    tf.dispose([...Object.values(run.train), ...Object.values(run.val), ...Object.values(run.test)]);
  }
}

/** `predictions.csv`: one line per test patient (id, label, P(positive) of each ablation). */
function predictionsCsv(data: CohortData, split: DemoSplit, predictions: Record<string, Float32Array>): string {
  const names = Object.keys(predictions);
  return formatCsv([
    ['id', 'split', 'label', ...names],
    ...split.test.map((p, k) => [data.ids[p]!, 'test', String(data.labels[p]), ...names.map((n) => String(predictions[n]![k]))]),
  ]);
}

/** `report.md`: a title, the run's description, the table, notes, and the plots and overlays. */
export function demoReportMarkdown(title: string, intro: string, table: string, notes: readonly string[]): string {
  return [
    `# ${title}`,
    '',
    intro,
    '',
    table,
    '',
    ...notes.flatMap((n) => [n, '']),
    '![ROC](roc.svg) ![Calibration](calibration.svg)',
    '',
    '![Training curves](training-curves.svg)',
    '',
    '![Diagnostics of the full model](diagnostics.svg)',
    '',
    '![Test AUC change when one modality is withheld](drop-modality.svg)',
    '',
    'Attention overlays: `attention-overlays.png` (left: the image slice; right: where the report tokens of the lesion territory and side attend, last VDAFM layer). Test predictions of every model: `predictions.csv`.',
  ].join('\n');
}
