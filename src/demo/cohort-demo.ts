/**
 * `vdafm demo --cohort manifest.csv`: the demo's pipeline on a cohort of your own. The cohort is
 * loaded and validated (./cohort-source.ts), its reports taken from the manifest or generated,
 * the split taken from the manifest's split column or drawn (seeded, outcome-stratified
 * 60 / 20 / 20), and the same ablation suite trained and evaluated with the same outputs as the
 * synthetic demo (./pipeline.ts), except the Bayes-optimal line: a real cohort has no known true
 * risk. Node only.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import { ABLATIONS } from './ablations.js';
import { type CohortData, demoSplit, type DemoSplit, representativeSlice } from './cohort-data.js';
import { type CohortSourceOptions, openCohort, type OpenedCohort } from './cohort-source.js';
import type { DemoRow } from './outputs.js';
import { type DemoSettingsOptions, demoReportMarkdown, outputWriter, resolveDemoSettings, runDemoPipeline } from './pipeline.js';

/** Options of {@link runCohortDemo}: a cohort (from its manifest, or in memory) and the demo's settings. */
export interface CohortDemoOptions extends DemoSettingsOptions {
  /** The cohort's manifest and how to read it (the CLI's `--cohort` and its options). Give this or `data`. */
  cohort?: CohortSourceOptions;
  /** A cohort already in memory (e.g. `syntheticCohortData`): the same pipeline without loading. Give this or `cohort`. */
  data?: CohortData;
}

/** What {@link runCohortDemo} returns (also written to `metrics.json`). */
export interface CohortDemoResult {
  options: { quick: boolean; seed: number; epochs: number; out: string; only: string[] | null; backend: string };
  /** How the patients were split (every output says it). */
  protocol: { kind: 'single split'; split: DemoSplit['source']; description: string };
  cohort: {
    source: string;
    outcome: string;
    patients: number;
    excluded: number;
    exclusionsFile: string | null;
    train: number;
    val: number;
    test: number;
    prevalence: number;
    /** Where the reports came from; the failed generations, by patient. */
    reports: { manifest: number; generated: number; cache: number; failed: number; none: number; missing: number };
    reportFailures: ReadonlyArray<{ id: string; row: number; message: string }>;
  };
  /** Always null: a cohort of your own has no known true risk. */
  bayes: null;
  rows: DemoRow[];
  /** Ablations left out for a modality the cohort lacks. */
  skipped: Array<{ name: string; reason: string }>;
  files: string[];
}

const NO_BAYES = 'No Bayes-optimal line: the true risk of a real patient is unknown (the synthetic demo shows the AUC of the simulator\'s true risk here).';

function resolveOptions(options: CohortDemoOptions) {
  if ((options.cohort === undefined) === (options.data === undefined)) {
    throw new InvalidArgumentError({ argument: 'cohort', message: 'give either cohort (a manifest to load) or data (a cohort in memory).', received: Object.keys(options) });
  }
  return resolveDemoSettings(options);
}

/** The layout of the demo's image encoder (src/demo/ablations.ts): it decides the grid a cohort is resampled onto. */
function demoSpatialDims(): 2 | 3 {
  const placeholders = { imageShape: [1, 1, 1], pre: null as never, tok: null as never, fields: null, seed: 0 };
  const image = ABLATIONS.map((a) => a.config(placeholders).image).find((x) => x !== undefined);
  return image && 'spatialDims' in image && image.spatialDims === 3 ? 3 : 2;
}

/** Checks that every part of the split holds both outcomes. @throws InvalidArgumentError (argument `cohort`). */
function checkSplit(data: CohortData, split: DemoSplit): void {
  for (const part of ['train', 'val', 'test'] as const) {
    const labels = split[part].map((i) => data.labels[i]!);
    if (!labels.includes(0) || !labels.includes(1)) {
      throw new InvalidArgumentError({
        argument: 'cohort',
        message: `the ${part} patients (${labels.length}, from the ${split.source === 'manifest' ? "manifest's split column" : 'stratified split'}) must include both outcomes; the cohort is too small or its split unbalanced.`,
        received: { patients: labels.length, positive: labels.filter((y) => y === 1).length },
      });
    }
  }
}

/**
 * Runs the demo's pipeline on a cohort of your own (or one in memory) and writes the synthetic
 * demo's outputs to `out`: `metrics.json`, `report.md`, `predictions.csv`, the plots, the
 * attention overlays, the full model's pipeline (`model/`), and with `skipInvalid` the excluded
 * patients (`excluded.csv`). The backend must be set before.
 *
 * @throws `CohortValidationError` listing every problem when a patient is invalid and
 *   `cohort.skipInvalid` is not set (before anything is trained); `InvalidArgumentError` for
 *   bad options, a split without both outcomes in each part, or a cohort without images or a
 *   clinical table.
 * @example
 * ```ts
 * const result = await runCohortDemo({ cohort: { manifest: 'my-cohort/manifest.csv', skipInvalid: true }, quick: true, out: 'demo-out' });
 * console.log(result.rows.map((r) => `${r.name}: ${r.auc.toFixed(3)}`), result.cohort.excluded);
 * ```
 */
export async function runCohortDemo(options: CohortDemoOptions): Promise<CohortDemoResult> {
  const o = resolveOptions(options);
  const { quick, seed, epochs, out, only, log } = o;
  const writer = outputWriter(out);
  const started = Date.now();
  log(`vdafm demo --cohort: seed ${seed}, ${epochs} epochs per model, backend ${tf.getBackend()}`);
  let opened: OpenedCohort | null = null;
  if (options.cohort) {
    opened = await openCohort(options.cohort, { out, spatialDims: demoSpatialDims(), seed, log, sink: o.sink });
  }
  const data = opened?.data ?? options.data!;
  const split = demoSplit(data, seed);
  if (split.source === 'stratified' && data.split.some((s) => s !== null)) log("split: the manifest's split column names no test patients: it is not used");
  checkSplit(data, split);
  const n = data.labels.length;
  const prevalence = data.labels.reduce((a, b) => a + b, 0) / n;
  const description =
    split.source === 'manifest'
      ? `the manifest's split column (${split.train.length} train / ${split.val.length} val${data.split.some((s) => s === 'val') ? '' : ` (a seeded, stratified quarter of the training patients)`} / ${split.test.length} test)`
      : `a seeded, outcome-stratified 60 / 20 / 20 split (seed ${seed}: ${split.train.length} train / ${split.val.length} val / ${split.test.length} test)`;
  log(`split: ${description}; ${(prevalence * 100).toFixed(1)}% positive (${data.outcome})`);

  const resultOptions = { quick, seed, epochs, out, only, backend: tf.getBackend() };
  const r = await runDemoPipeline({
    ...o,
    data,
    split,
    writer,
    trueRisk: null,
    overlaySlice: (i) => representativeSlice(data, i),
    metadata: { demo: resultOptions, cohort: data.source, split: split.source },
  });
  const counts = opened?.reports.counts ?? { manifest: data.texts.filter((t) => t !== null).length, generated: 0, cache: 0, failed: 0, none: data.texts.filter((t) => t === null).length };
  const result: CohortDemoResult = {
    options: resultOptions,
    protocol: { kind: 'single split', split: split.source, description },
    cohort: {
      source: data.source,
      outcome: data.outcome,
      patients: n,
      excluded: opened?.loaded.excluded.length ?? 0,
      exclusionsFile: opened?.exclusionsFile ?? null,
      train: split.train.length,
      val: split.val.length,
      test: split.test.length,
      prevalence,
      reports: { ...counts, missing: data.texts.filter((t) => t === null).length },
      reportFailures: opened?.reports.failures ?? [],
    },
    bayes: null,
    rows: r.rows,
    skipped: r.skipped,
    files: writer.files,
  };
  const c = result.cohort;
  const intro =
    `${n} patients of ${data.source}${c.excluded > 0 ? ` (${c.excluded} invalid patients excluded, listed with their reasons in ${c.exclusionsFile})` : ''}, ${(prevalence * 100).toFixed(1)}% positive (${data.outcome}). ` +
    `Protocol: one split, ${description}. Reports: ${c.reports.manifest} from the manifest, ${c.reports.generated + c.reports.cache} generated (${c.reports.cache} of them from the cache), ${c.reports.missing} patients without one${c.reports.failed > 0 ? ` (${c.reports.failed} failed generations, listed in metrics.json)` : ''}. ` +
    `Backend ${resultOptions.backend}, ${epochs} epochs per model (early stopping on validation loss, restore-best; the aligned models with the report-field loss and alignment pretraining first). Sensitivity and specificity at the Youden threshold chosen on the validation set. 95% CIs: stratified bootstrap of the test set.`;
  const notes = [NO_BAYES, ...(r.skipped.length > 0 ? [`Left out: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}.`] : [])];
  writer.write('report.md', demoReportMarkdown(`vdafm demo on your cohort: ${data.outcome}`, intro, r.table, notes));
  writer.write('metrics.json', JSON.stringify({ ...result, note: NO_BAYES, histories: r.histories, dropModality: r.dropModality }, null, 1));
  log(NO_BAYES);
  log(`\nwrote ${writer.files.length} files to ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return result;
}

