/**
 * `vdafm study --cohort manifest.csv`: the study's ablations on a cohort of your own. Without a
 * true risk the evaluation is repeated stratified k-fold (or the manifest's fixed test split),
 * and the results are the models' metrics over folds and the paired differences of the
 * synthetic study's comparisons (./analysis.ts). Like the synthetic study (../study.ts) every
 * finished cell is its own file, so a run resumes (`resume`), runs as one of n shards
 * (`shard`), and {@link mergeCohortStudies} joins shard folders; the outputs are built from the
 * cell files. Node only.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../errors.js';
import { type CohortData, cohortDigest } from '../../demo/cohort-data.js';
import { type CohortSourceOptions, openCohort } from '../../demo/cohort-source.js';
import { ProgressBar, type ProgressSink } from '../../demo/progress.js';
import { modelConfig } from '../ablations.js';
import { readCellFiles, settingsHash, writeCell } from '../cells.js';
import { disposeSeedData } from '../data.js';
import { ablationSpec } from '../design.js';
import { type CellTrainer, tfjsCellTrainer } from '../neural.js';
import { cellFinder, chooseCells, finishedCells, type MergeOptions, mergePlans, type PlanFileOf, runMeta, writeMerged, writePlan } from '../run-files.js';
import { type CohortCellRecord, parseCohortCell } from './cells.js';
import { buildFoldData, type FoldData } from './data.js';
import {
  cohortCellId,
  cohortCellKey,
  type CohortCellKey,
  type CohortStudyDesignOptions,
  type CohortStudySettings,
  foldKey,
  planCohortCells,
  protocolText,
  resolveCohortStudySettings,
  shardCohortCells,
} from './design.js';
import { buildCohortStudyJson, type CohortStudyJson, writeCohortStudyOutputs } from './outputs.js';
import { cohortCellSettings, runCohortCell } from './run-cell.js';

/** Format tag of a cohort study's `plan.json`. */
export const COHORT_PLAN_FORMAT = 'vdafm-cohort-study-plan/1';

/** A cohort study's `plan.json`: the settings, the planned cells, and the patients' ids (to name the predictions). */
interface CohortPlanFile extends PlanFileOf<CohortStudySettings> {
  ids: string[];
}

/** Options of {@link runCohortStudy}. */
export interface CohortStudyOptions extends CohortStudyDesignOptions {
  /** The cohort's manifest and how to read it (the CLI's `--cohort` and its options). Give this or `data`. */
  cohort?: CohortSourceOptions;
  /** A cohort already in memory (e.g. `syntheticCohortData`). Give this or `cohort`. */
  data?: CohortData;
  /** Output folder. @defaultValue 'vdafm-cohort-study' (quick: 'vdafm-cohort-study-quick') */
  out?: string;
  /** Run only shard `index` (1-based) of `count` (writes its cells, no reports). @defaultValue the whole study */
  shard?: { index: number; count: number } | null;
  /** Keep the finished cells found in `out` (they must have the same settings). @defaultValue false */
  resume?: boolean;
  /** Log lines. @defaultValue console.log */
  log?: (line: string) => void;
  /** Progress bars. @defaultValue process.stderr */
  progress?: ProgressSink;
  /** The command line recorded in the outputs. @defaultValue `vdafm` + process arguments */
  command?: string;
  /** @internal Trains the neural cells (tests inject a fake). @defaultValue the tfjs trainer */
  trainer?: CellTrainer;
  /** @internal Milliseconds clock. @defaultValue Date.now */
  clock?: () => number;
}

/** What {@link runCohortStudy} returns. */
export interface CohortStudyRunResult {
  out: string;
  settings: CohortStudySettings;
  /** Cells of the whole plan, of this run (its shard), finished before, run now. */
  planned: number;
  thisRun: number;
  skipped: number;
  ran: number;
  /** The study (null for a shard). */
  study: CohortStudyJson | null;
  files: string[];
}

/** The layout of the study's image encoder (../ablations.ts): it decides the grid a cohort is resampled onto. */
function studySpatialDims(): 2 | 3 {
  const image = modelConfig(ablationSpec('image'), { imageShape: [1, 1, 1], pre: null as never, tok: null as never }, 0).image;
  return image && 'spatialDims' in image && image.spatialDims === 3 ? 3 : 2;
}

function resolveRunOptions(options: CohortStudyOptions) {
  if ((options.cohort === undefined) === (options.data === undefined)) {
    throw new InvalidArgumentError({ argument: 'cohort', message: 'give either cohort (a manifest to load) or data (a cohort in memory).', received: Object.keys(options) });
  }
  const quick = options.quick ?? false;
  return {
    out: options.out ?? (quick ? 'vdafm-cohort-study-quick' : 'vdafm-cohort-study'),
    shard: options.shard ?? null,
    resume: options.resume ?? false,
    log: options.log ?? ((l: string) => console.log(l)),
    sink: options.progress ?? { write: (t: string) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    command: options.command ?? `vdafm ${process.argv.slice(2).join(' ')}`.trim(),
    trainer: options.trainer ?? tfjsCellTrainer,
    clock: options.clock ?? Date.now,
  };
}

/**
 * Runs the study (or one shard of it) on a cohort of your own into `out`: the cohort is loaded
 * (or taken from `data`), every planned cell not yet finished is trained on its fold's training
 * patients, evaluated on its test patients and written as `cells/<id>.json`; then (unless a
 * shard) `study.json`, `study.md`, `predictions.csv` and the plots are written from all the cell
 * files. The backend must be set before.
 *
 * @throws `CohortValidationError` listing every problem when a patient is invalid and
 *   `cohort.skipInvalid` is not set (before anything is trained); {@link InvalidArgumentError}
 *   for bad options (a protocol the cohort cannot give, too few patients per class for the
 *   folds), when `out` already holds some of this run's cells and `resume` is false, or when
 *   finished cells have other settings.
 * @example
 * ```ts
 * const r = await runCohortStudy({ cohort: { manifest: 'my-cohort/manifest.csv', skipInvalid: true }, folds: 5, repeats: 2, out: 'study-out' });
 * for (const c of r.study!.comparisons) console.log(`${c.a} − ${c.b}: ${c.interval.mean.toFixed(3)} (${c.reading})`);
 * ```
 */
export async function runCohortStudy(options: CohortStudyOptions): Promise<CohortStudyRunResult> {
  const o = resolveRunOptions(options);
  const { out, log, sink, trainer, clock } = o;
  const started = clock();
  const seed = options.seed ?? 7;
  const data = options.cohort ? (await openCohort(options.cohort, { out, spatialDims: studySpatialDims(), seed, log, sink })).data : options.data!;
  const settings = resolveCohortStudySettings(options, data, cohortDigest(data));
  const plan = planCohortCells(settings);
  const mine = o.shard ? shardCohortCells(plan, o.shard.index, o.shard.count) : plan;
  const planFile: CohortPlanFile = { format: COHORT_PLAN_FORMAT, settings, cells: plan.map(cohortCellId), ids: [...data.ids] };
  writePlan(out, planFile, o.resume);
  const finished = finishedCells(
    out,
    mine.map((k) => ({ id: cohortCellId(k), hash: () => settingsHash(cohortCellSettings(k, settings, trainer)) })),
    parseCohortCell,
    { resume: o.resume, log },
  );
  const pending = mine.filter((k) => !finished.has(cohortCellId(k)));
  const shardText = o.shard ? ` (shard ${o.shard.index}/${o.shard.count}: ${mine.length} cells)` : '';
  log(
    `vdafm study --cohort${settings.quick ? ' --quick (a smoke run)' : ''}: protocol ${protocolText(settings.protocol)}; ${plan.length} planned cells${shardText}, ${finished.size} finished, ${pending.length} to run; backend ${tf.getBackend()}, output ${out}`,
  );
  for (const l of settings.leftOut) log(`left out: ${l.ablation} (${l.reason})`);
  if (settings.protocol.kind === 'k-fold' && data.split.some((s) => s !== null)) log("the manifest's split column is not used by the k-fold protocol (it names no test patients, or --protocol k-fold)");

  const memory = new Map<string, CohortCellRecord>(finished);
  const findCell = cellFinder(out, memory, parseCohortCell);
  let current: FoldData | null = null;
  const foldData = (k: CohortCellKey): FoldData => {
    if (current && foldKey(current) === foldKey(k)) return current;
    if (current) disposeSeedData(current);
    current = buildFoldData(data, settings, k);
    return current;
  };
  try {
    const bar = new ProgressBar('study cells', pending.length, sink);
    let done = 0;
    for (const k of pending) {
      const cell = await runCohortCell(k, { settings, trainer, data: foldData(k), backend: tf.getBackend() ?? 'none', clock, sink, findCell });
      writeCell(out, cell);
      memory.set(cell.id, cell);
      bar.update(++done, `${cell.id}: AUC ${cell.metrics.auc.toFixed(3)}`);
      log(`${cell.id}: test AUC ${cell.metrics.auc.toFixed(3)} on ${cell.test.patients} patients${cell.training ? `, ${cell.training.epochs} epochs` : ''}, ${cell.run.seconds.toFixed(0)} s`);
    }
    if (pending.length > 0) bar.done();
  } finally {
    if (current) disposeSeedData(current);
  }

  const result = { out, settings, planned: plan.length, thisRun: mine.length, skipped: finished.size, ran: pending.length };
  if (o.shard) {
    log(`shard ${o.shard.index}/${o.shard.count} done: ${mine.length} cells in ${out}/cells. Join the shards with: vdafm study merge <folders…> --out <folder>`);
    return { ...result, study: null, files: [] };
  }
  const cells = readCellFiles(out, parseCohortCell);
  const study = buildCohortStudyJson(settings, plan, cells, runMeta(o.command, started, clock));
  const files = await writeCohortStudyOutputs(out, study, cells, planFile.ids);
  for (const c of study.comparisons) log(`${c.a} − ${c.b}: mean ΔAUC ${c.interval.mean.toFixed(3)} over ${c.interval.n} ${settings.protocol.kind === 'k-fold' ? 'folds × repeats' : 'repeats'}: ${c.reading}`);
  log(`wrote ${files.length} files to ${out} in ${((clock() - started) / 1000).toFixed(0)} s`);
  return { ...result, study, files };
}

/**
 * Joins folders of one study on a cohort (shards, or partial runs) into `out`: the same checks
 * as the synthetic study's merge (same `plan.json` settings, identical copies of a cell, one
 * recipe per ablation), then the outputs. The result does not depend on the folders' order.
 *
 * @throws {@link InvalidArgumentError} naming `dirs` for a folder without `plan.json`, another
 *   study, conflicting copies of a cell, or cells of one ablation with different recipes.
 */
export async function mergeCohortStudies(dirs: readonly string[], options: MergeOptions): Promise<CohortStudyJson> {
  const clock = options.clock ?? Date.now;
  const started = options.started ?? clock();
  const log = options.log ?? ((l: string) => console.log(l));
  const { sorted, plan } = mergePlans<CohortStudySettings>(dirs, COHORT_PLAN_FORMAT);
  const chosen = chooseCells(sorted, (d) => readCellFiles(d, parseCohortCell));
  const recipes = new Map<string, string>();
  for (const c of chosen) {
    if ((recipes.get(c.key.ablation) ?? c.recipeHash) !== c.recipeHash) {
      throw new InvalidArgumentError({ argument: 'dirs', message: `cells of '${c.key.ablation}' were computed with different settings (recipe fingerprints differ, e.g. ${c.id}).`, received: c.id });
    }
    recipes.set(c.key.ablation, c.recipeHash);
  }
  writeMerged(options.out, chosen, plan, parseCohortCell);
  const study = buildCohortStudyJson(plan.settings, plan.cells.map(cohortCellKey), chosen, runMeta(options.command ?? `vdafm study merge ${dirs.join(' ')} --out ${options.out}`, started, clock, { sources: sorted }));
  const files = await writeCohortStudyOutputs(options.out, study, chosen, (plan as CohortPlanFile).ids ?? []);
  log(`merged ${chosen.length} cells from ${sorted.length} folder(s): ${study.finished}/${study.planned} planned cells${study.complete ? '' : ' (incomplete)'}; wrote ${files.length} files to ${options.out}`);
  return study;
}
