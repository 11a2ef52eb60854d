/**
 * The main job (`npm run demo`, `npx vdafm demo`): generate the synthetic stroke cohort, write and
 * cache its reports, train and evaluate the ablation suite, and write metrics, a report, plots and
 * attention overlays. Node only (it writes files).
 *
 * @packageDocumentation
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { cohortImage, generateSyntheticCohort, type PatientImage, type SyntheticCohort } from '../data/cohort.js';
import { findingsExtractor } from '../data/findings.js';
import { renderSlice } from '../data/render.js';
import { splitCohort } from '../data/split.js';
import { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import { InvalidArgumentError } from '../errors.js';
import { bootstrapCi } from '../metrics/bootstrap.js';
import { evaluateBinary, type BinaryEvaluation } from '../metrics/evaluate.js';
import { rocAuc } from '../metrics/ranking.js';
import { prepareTriModalData, type TriModalData } from '../models/data.js';
import { createTriModalModel } from '../models/builder.js';
import { type TriModalModel, type TriModalModelConfig } from '../models/tri-modal.js';
import { savePipeline } from '../node/io.js';
import { generateReports } from '../text/batch.js';
import { FileReportCache } from '../node/file-cache.js';
import { imageToPng } from '../text/images.js';
import { strokeReportSchema } from '../text/stroke-schema.js';
import { TemplateReportGenerator } from '../text/template-generator.js';
import { Random } from '../core/random.js';
import { Trainer } from '../training/trainer.js';
import { type TrainerOptions, type TrainingLogs } from '../training/options.js';
import { attentionMap, fieldTokenPositions, overlayHeatmap } from '../interpret/overlay.js';
import { calibrationSpec, renderSvg, rocSpec, trainingCurvesSpec, type VegaLiteSpec } from './plots.js';
import { ProgressBar, type ProgressSink } from './progress.js';

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

/** One row of the results. */
export interface DemoRow {
  name: string;
  modalities: string[];
  auc: number;
  aucCi: [number, number];
  auprc: number;
  sensitivity: number;
  specificity: number;
  threshold: number;
  brier: number;
  ece: number;
  epochs: number;
  seconds: number;
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

interface Ablation {
  name: string;
  config: (c: Components) => TriModalModelConfig;
  trainer: Partial<TrainerOptions>;
}

interface Components {
  imageShape: number[];
  pre: TabularPreprocessor;
  tok: WordPieceTokenizer;
  seed: number;
}

const DIM = 32;

function image(c: Components): NonNullable<TriModalModelConfig['image']> {
  return { inputShape: c.imageShape, spatialDims: 2, widths: [16, 32, 32], depths: [1, 1, 1], strides: [2, 2, 2], outputDim: DIM };
}
const text = (c: Components) => ({ tokenizer: c.tok, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 });
const clinical = (c: Components) => ({ features: c.pre, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 });
const vdafmFusion = { type: 'vdafm' as const, dim: DIM, numHeads: 4, numLayers: 1, dropout: 0.1 };

/** The ablation suite, in table order. */
export const ABLATIONS: ReadonlyArray<Ablation> = [
  { name: 'image only', config: (c) => ({ image: image(c) }), trainer: { alignment: false } },
  { name: 'clinical only', config: (c) => ({ clinical: clinical(c) }), trainer: { alignment: false } },
  { name: 'text only', config: (c) => ({ text: text(c) }), trainer: { alignment: false } },
  { name: 'image + clinical', config: (c) => ({ image: image(c), clinical: clinical(c) }), trainer: { alignment: false } },
  {
    name: 'image + text (VDAFM)',
    config: (c) => ({ image: image(c), text: text(c), fusion: { ...vdafmFusion, clinical: 'none' } }),
    trainer: {},
  },
  {
    name: 'tri-modal concat',
    config: (c) => ({ image: image(c), text: text(c), clinical: clinical(c), fusion: { type: 'concat', dim: DIM } }),
    trainer: { alignment: false, balancing: false },
  },
  {
    name: 'tri-modal VDAFM, no alignment',
    config: (c) => ({ image: image(c), text: text(c), clinical: clinical(c), fusion: vdafmFusion }),
    trainer: { alignment: false },
  },
  {
    name: 'tri-modal VDAFM (full)',
    config: (c) => ({ image: image(c), text: text(c), clinical: clinical(c), fusion: vdafmFusion, returnAttention: true }),
    trainer: {},
  },
];

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

function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/** Renders the results table as markdown. */
export function demoTable(rows: DemoRow[], bayesAuc: number, bayesCi: [number, number]): string {
  const lines = [
    '| model | AUC [95% CI] | AUPRC | sensitivity | specificity | Brier | ECE |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.auc)} [${fmt(r.aucCi[0])}, ${fmt(r.aucCi[1])}] | ${fmt(r.auprc)} | ${fmt(r.sensitivity)} | ${fmt(r.specificity)} | ${fmt(r.brier)} | ${fmt(r.ece)} |`,
    ),
    `| Bayes-optimal (true risk) | ${fmt(bayesAuc)} [${fmt(bayesCi[0])}, ${fmt(bayesCi[1])}] | | | | | |`,
  ];
  return lines.join('\n');
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
  const quick = options.quick ?? false;
  const seed = options.seed ?? 7;
  const patients = options.patients ?? (quick ? 300 : 1000);
  const epochs = options.epochs ?? (quick ? 4 : 14);
  const out = options.out ?? 'vdafm-demo';
  const log = options.log ?? ((l: string) => console.log(l));
  const sink: ProgressSink = options.progress ?? { write: (t) => process.stderr.write(t), isTTY: process.stderr.isTTY === true };
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
  mkdirSync(out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    const file = path.join(out, name);
    writeFileSync(file, data);
    files.push(file);
  };
  const started = Date.now();

  // 1. cohort and split
  log(`vdafm demo: ${patients} synthetic patients, seed ${seed}, ${epochs} epochs per model, backend ${tf.getBackend()}`);
  const cohort = generateSyntheticCohort({ patients, seed, layout: '2d' });
  const split = splitCohort(cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed });

  // 2. reports: measured on the image, rendered by the template generator with LLM-like noise,
  // cached on disk (a rerun re-uses them); 5% of patients have no report at all
  const generator = new TemplateReportGenerator<PatientImage>({
    extractor: findingsExtractor,
    noise: { omitRate: 0.05, lateralityFlipRate: 0.03, vagueSizeRate: 0.1 },
  });
  const cache = await FileReportCache.open(path.join(out, 'reports-cache.jsonl'));
  const bar = new ProgressBar('generating reports', patients, sink);
  const cases = cohort.patients.map((p) => {
    const img = cohortImage(cohort, p.index);
    const slice = renderSlice(img, { sequence: 'DWI' });
    return { id: `patient-${p.index}`, images: [{ data: slice.data, width: slice.width, height: slice.height }], source: img };
  });
  const generated = await generateReports(cases, generator, {
    cache,
    concurrency: 4,
    temperature: 0,
    seed,
    onProgress: (p) => bar.update(p.done, `(${p.cached} cached)`),
  });
  await cache.close();
  bar.done();
  if (generated.failures.length > 0) throw generated.failures[0]!;
  const rng = new Random(seed + 1);
  const texts: Array<string | null> = cohort.patients.map((p) => (rng.next() < 0.05 ? null : generated.reports[`patient-${p.index}`]!.text));
  const reportsMissing = texts.filter((t) => t === null).length;
  log(`reports: ${generated.generatedCount} generated, ${generated.cachedCount} from the cache, ${reportsMissing} patients without a report`);
  log(`example report: ${texts.find((t) => t !== null)}`);

  // 3. preprocessing fitted on the training patients only
  const pre = new TabularPreprocessor({ columns: cohort.schema }).fit(split.train.map((i) => cohort.rows[i]!));
  const tok = WordPieceTokenizer.train(
    split.train.map((i) => texts[i]).filter((t): t is string => t !== null),
    { vocabSize: 300, minFrequency: 2 },
    { maxLength: 64 },
  );
  const train = tensorsFor(cohort, split.train, texts, pre, tok);
  const val = tensorsFor(cohort, split.val, texts, pre, tok);
  const test = tensorsFor(cohort, split.test, texts, pre, tok);
  const testLabels = split.test.map((i) => cohort.poor[i]!);
  const valLabels = split.val.map((i) => cohort.poor[i]!);
  const prevalence = Array.from(cohort.poor).reduce((a, b) => a + b, 0) / patients;
  const bayesScores = split.test.map((i) => cohort.truePoorProbability[i]!);
  const bayesAuc = rocAuc(testLabels, bayesScores);
  const bayesCiResult = bootstrapCi(testLabels, bayesScores, rocAuc, { numResamples: quick ? 200 : 1000, seed });
  const bayesCi: [number, number] = [bayesCiResult.lower, bayesCiResult.upper];
  log(`split: ${split.train.length} train / ${split.val.length} val / ${split.test.length} test, ${(prevalence * 100).toFixed(1)}% poor outcome; Bayes-optimal test AUC ${fmt(bayesAuc)}`);

  // 4. the ablation suite
  const components: Components = { imageShape: [...cohort.sampleShape], pre, tok, seed };
  const rows: DemoRow[] = [];
  const histories: Record<string, TrainingLogs[]> = {};
  const rocCurves: Parameters<typeof rocSpec>[0] = {};
  const calCurves: Parameters<typeof calibrationSpec>[0] = {};
  let fullModel: TriModalModel | null = null;
  for (const ablation of ABLATIONS) {
    if (only && !only.includes(ablation.name)) continue;
    const t0 = Date.now();
    const model = createTriModalModel({ ...ablation.config(components), seed: seed + 11 });
    const epochBar = new ProgressBar(`training ${ablation.name}`, epochs, sink);
    const trainer = new Trainer({
      epochs,
      batchSize: 32,
      learningRate: 2e-3,
      seed,
      earlyStopping: { metric: 'auc', patience: quick ? epochs : 4, restoreBest: true },
      onEpochEnd: (e, logs) => epochBar.update(e + 1, `loss ${fmt(logs['loss']!)} val AUC ${fmt(logs['val_auc']!)}`),
      ...ablation.trainer,
    });
    const history = await trainer.fit(model, train, { validation: val });
    epochBar.done();
    histories[ablation.name] = history.epochs;
    const scoresOf = (data: TriModalData) => {
      const { probabilities } = model.predict(data);
      const s = Array.from(probabilities.dataSync());
      probabilities.dispose();
      return s;
    };
    const valScores = scoresOf(val);
    const testScores = scoresOf(test);
    // the operating threshold is chosen on validation (Youden), then applied to the test set
    const threshold = evaluateBinary(valLabels, valScores).youden.threshold;
    const ev: BinaryEvaluation = evaluateBinary(testLabels, testScores, { threshold, bootstrap: { numResamples: quick ? 200 : 1000, seed } });
    rows.push({
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
    });
    rocCurves[ablation.name] = { fpr: ev.rocCurve.fpr, tpr: ev.rocCurve.tpr, auc: ev.rocAuc };
    calCurves[ablation.name] = { predicted: ev.calibrationCurve.meanPredicted, observed: ev.calibrationCurve.fractionPositive, counts: ev.calibrationCurve.count };
    log(`${ablation.name}: test AUC ${fmt(ev.rocAuc)} (${rows.at(-1)!.seconds.toFixed(0)} s, ${history.epochs.length} epochs)`);
    trainer.dispose();
    if (ablation.name === 'tri-modal VDAFM (full)') fullModel = model;
    else model.dispose();
  }

  // 5. outputs
  const table = demoTable(rows, bayesAuc, bayesCi);
  log('');
  log(table);
  const result: DemoResult = {
    options: { quick, seed, patients, epochs, out, only, backend: tf.getBackend() },
    cohort: { patients, train: split.train.length, val: split.val.length, test: split.test.length, prevalence, reportsMissing },
    bayesAuc,
    bayesAucCi: bayesCi,
    rows,
    files,
  };
  const plots: Array<[string, VegaLiteSpec]> = [
    ['roc', rocSpec(rocCurves)],
    ['calibration', calibrationSpec(calCurves)],
    ['training-curves', trainingCurvesSpec(histories, ['loss', 'val_auc'])],
  ];
  let rendered = 0;
  for (const [name, spec] of plots) {
    write(`${name}.vl.json`, JSON.stringify(spec, null, 1));
    const svg = await renderSvg(spec);
    if (svg) {
      write(`${name}.svg`, svg);
      rendered++;
    }
  }
  if (rendered === 0) log('plots: vega and vega-lite are not installed; wrote the vega-lite specs (*.vl.json) only.');
  if (fullModel) {
    write(...(await attentionOverlays(fullModel, cohort, split.test.slice(0, 3), test, tok, texts)));
    await savePipeline({ model: fullModel, preprocessor: pre, tokenizer: tok, reportSchema: strokeReportSchema, metadata: { demo: result.options } }, path.join(out, 'model'));
    files.push(path.join(out, 'model'));
    fullModel.dispose();
  }
  write(
    'report.md',
    [
      '# vdafm demo: 90-day outcome on the synthetic stroke cohort',
      '',
      `${patients} synthetic patients (seed ${seed}), ${(prevalence * 100).toFixed(1)}% poor outcome (mRS ≥ 3); ${split.train.length} train / ${split.val.length} val / ${split.test.length} test, stratified. ${reportsMissing} patients have no report. Backend ${tf.getBackend()}, ${epochs} epochs per model (early stopping on validation AUC, restore-best). Sensitivity and specificity at the Youden threshold chosen on the validation set. 95% CIs: stratified bootstrap of the test set.`,
      '',
      table,
      '',
      '![ROC](roc.svg) ![Calibration](calibration.svg)',
      '',
      '![Training curves](training-curves.svg)',
      '',
      'Attention overlays: `attention-*.png` (left: DWI slice; right: where the report tokens of the lesion territory and side attend, last VDAFM layer).',
    ].join('\n'),
  );
  write('metrics.json', JSON.stringify({ ...result, histories }, null, 1));
  tf.dispose([...Object.values(train), ...Object.values(val), ...Object.values(test)]);
  log(`\nwrote ${files.length} files to ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return result;
}

/**
 * PNG overlays for a few test patients: the DWI slice, and the text→vision attention of the report
 * tokens naming the lesion's territory and side (last VDAFM layer, mean over heads), upsampled
 * to the image and drawn in red.
 */
async function attentionOverlays(
  model: TriModalModel,
  cohort: SyntheticCohort,
  patientsIdx: number[],
  test: TriModalData,
  tok: WordPieceTokenizer,
  texts: Array<string | null>,
): Promise<[string, Uint8Array]> {
  const n = patientsIdx.length;
  const idx = tf.tensor1d(Array.from({ length: n }, (_, i) => i), 'int32');
  const batch = Object.fromEntries(Object.entries(test).map(([k, t]) => [k, tf.gather(t as tf.Tensor, idx)])) as unknown as TriModalData;
  const { probabilities, textToVisionAttention } = model.predict(batch, { attention: true });
  const maps = textToVisionAttention!.at(-1)!; // [n, heads, Nt, Nv]
  const att = (await tf.mean(maps, 1).array()) as number[][][]; // [n, Nt, Nv]
  const grid = model.imageGridShape() as [number, number];
  const panels: Uint8Array[] = [];
  let width = 0;
  let height = 0;
  patientsIdx.forEach((p, k) => {
    const slice = renderSlice(cohortImage(cohort, p), { sequence: 'DWI' });
    const map = attentionMap(att[k]!, fieldTokenPositions(tok, texts[p] ?? '', ['Territory', 'Side']));
    const rgb = overlayHeatmap(slice, map, grid, { scale: 4 });
    width = rgb.width;
    height = rgb.height;
    panels.push(rgb.data);
  });
  // the patients stacked vertically
  const all = new Uint8Array(panels.length * width * height * 3);
  panels.forEach((pnl, i) => all.set(pnl, i * pnl.length));
  tf.dispose([idx, probabilities, ...textToVisionAttention!, ...Object.values(batch)]);
  return ['attention-overlays.png', imageToPng({ data: all, width, height: height * panels.length, channels: 3 })];
}
