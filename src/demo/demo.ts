/**
 * The main job (`npm run demo`, `npx vdafm demo`): generate the synthetic stroke cohort, write and
 * cache its reports (./reports.ts), fit the preprocessing on the training patients, train and
 * evaluate the ablation suite (./ablations.ts, ./train-one.ts), and write metrics, a report,
 * plots and attention overlays (./outputs.ts). Node only (it writes files).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { cohortImage, generateSyntheticCohort } from '../data/cohort.js';
import { renderSlice } from '../data/render.js';
import { SCENARIO_NAMES, type ScenarioName } from '../data/scenarios.js';
import { InvalidArgumentError } from '../errors.js';
import { demoSplit, syntheticCohortData } from './cohort-data.js';
import type { DemoRow } from './outputs.js';
import { type DemoSettingsOptions, demoReportMarkdown, outputWriter, resolveDemoSettings, runDemoPipeline } from './pipeline.js';
import { cohortReports } from './reports.js';

export { ABLATIONS } from './ablations.js';

/** Options of {@link runDemo}. */
export interface DemoOptions extends DemoSettingsOptions {
  /** Number of patients. @defaultValue 300 (quick) / 1000 */
  patients?: number;
  /**
   * The synthetic cohort's scenario (docs/guides/synthetic-cohort.md): `'imbalance'` (a dominant
   * table and a complementary image signal) or `'additive'` (the negative control).
   * @defaultValue {@link DEMO_SCENARIO}
   */
  scenario?: ScenarioName;
}

/** The demo's default scenario. */
export const DEMO_SCENARIO: ScenarioName = 'additive';

/** What {@link runDemo} returns (also written to `metrics.json`). */
export interface DemoResult {
  options: Required<Omit<DemoOptions, 'log' | 'progress' | 'only'>> & { only: string[] | null; backend: string };
  cohort: { patients: number; train: number; val: number; test: number; prevalence: number; reportsMissing: number };
  bayesAuc: number;
  bayesAucCi: [number, number];
  rows: DemoRow[];
  files: string[];
}

/** Resolves and checks the options. */
function resolveDemoOptions(options: DemoOptions) {
  const quick = options.quick ?? false;
  const patients = options.patients ?? (quick ? 300 : 1000);
  if (!Number.isInteger(patients) || patients < 60) {
    throw new InvalidArgumentError({ argument: 'patients', message: 'patients must be an integer ≥ 60.', received: patients });
  }
  const scenario = options.scenario ?? DEMO_SCENARIO;
  if (!(SCENARIO_NAMES as readonly string[]).includes(scenario)) {
    throw new InvalidArgumentError({ argument: 'scenario', message: `scenario must be one of ${SCENARIO_NAMES.join(', ')}.`, received: scenario });
  }
  return { ...resolveDemoSettings(options), patients, scenario };
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
  const { quick, seed, patients, epochs, out, only, log, scenario } = o;
  const writer = outputWriter(out);
  const started = Date.now();

  // 1. cohort, split and reports
  log(`vdafm demo: ${patients} synthetic patients (scenario ${scenario}), seed ${seed}, ${epochs} epochs per model, backend ${tf.getBackend()}`);
  const cohort = generateSyntheticCohort({ patients, seed, layout: '2d', scenario });
  const reports = await cohortReports(cohort, out, seed, o.sink);
  const texts = reports.texts;
  log(`reports: ${reports.generated} generated, ${reports.cached} from the cache, ${reports.missing} patients without a report`);
  log(`example report: ${texts.find((t) => t !== null)}`);
  const data = syntheticCohortData(cohort, texts);
  const split = demoSplit(data, seed);
  const prevalence = Array.from(cohort.poor).reduce((a, b) => a + b, 0) / patients;
  log(`split: ${split.train.length} train / ${split.val.length} val / ${split.test.length} test, ${(prevalence * 100).toFixed(1)}% poor outcome`);

  // 2. preprocessing fitted on the training patients, the ablation suite, plots, overlays, the model
  const resultOptions = { quick, seed, patients, scenario, epochs, out, only, backend: tf.getBackend() };
  const r = await runDemoPipeline({
    ...o,
    data,
    split,
    writer,
    trueRisk: cohort.truePoorProbability,
    overlaySlice: (i) => renderSlice(cohortImage(cohort, i), { sequence: 'DWI' }),
    metadata: { demo: resultOptions },
  });
  log(`Bayes-optimal test AUC ${fmt3(r.bayes!.auc)}`);

  // 3. report and metrics
  const result: DemoResult = {
    options: resultOptions,
    cohort: { patients, train: split.train.length, val: split.val.length, test: split.test.length, prevalence, reportsMissing: reports.missing },
    bayesAuc: r.bayes!.auc,
    bayesAucCi: r.bayes!.ci,
    rows: r.rows,
    files: writer.files,
  };
  const intro = `${patients} synthetic patients (scenario \`${scenario}\`, seed ${seed}), ${(prevalence * 100).toFixed(1)}% poor outcome (mRS ≥ 3); ${split.train.length} train / ${split.val.length} val / ${split.test.length} test, stratified. ${reports.missing} patients have no report. Backend ${resultOptions.backend}, ${epochs} epochs per model (early stopping on validation loss, restore-best; the aligned models with the report-field loss and alignment pretraining first). Sensitivity and specificity at the Youden threshold chosen on the validation set. 95% CIs: stratified bootstrap of the test set.`;
  writer.write('report.md', demoReportMarkdown('vdafm demo: 90-day outcome on the synthetic stroke cohort', intro, r.table, []));
  writer.write('metrics.json', JSON.stringify({ ...result, histories: r.histories, dropModality: r.dropModality }, null, 1));
  log(`\nwrote ${writer.files.length} files to ${out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return result;
}

const fmt3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
