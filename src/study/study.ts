/**
 * The study (`vdafm study`, `npm run study`): trains the pre-registered ablation suite over many
 * seeds on each scenario and judges the claims on one fixed test cohort per scenario
 * (docs/guides/study.md). Each finished cell is its own file (./cells.ts), so a run resumes
 * after its finished cells (`resume`), runs as one of n shards (`shard`), and
 * {@link mergeStudies} joins shard folders; the reports are always built from the cell files
 * (./outputs.ts). Node only.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ScenarioName } from '../data/scenarios.js';
import { InvalidArgumentError } from '../errors.js';
import { ProgressBar, type ProgressSink } from '../demo/progress.js';
import { canonicalJson, type CellRecord, parseCell, readCells, settingsHash, writeCell } from './cells.js';
import { cellFinder, chooseCells, finishedCells, type MergeOptions, mergePlans, type PlanFileOf, runMeta, writeMerged, writePlan } from './run-files.js';

export type { MergeOptions } from './run-files.js';
import { buildSeedData, buildTestCohort, disposeSeedData, type SeedData, type TestCohort } from './data.js';
import {
  ablationSpec,
  cellId,
  type CellKey,
  dataKey,
  LATE_COMPONENTS,
  planCells,
  resolveStudySettings,
  shardCells,
  type StudyDesignOptions,
  type StudySettings,
  validationSize,
} from './design.js';
import { cellEpochs } from './ablations.js';
import { type CellTrainer, type ProbeResult, tfjsCellTrainer } from './neural.js';
import { buildStudyJson, type StudyJson, type StudyMeta, writeStudyOutputs } from './outputs.js';
import { cellSettings, runCell } from './run-cell.js';

/** Format tag of `plan.json`. */
const PLAN_FORMAT = 'vdafm-study-plan/1';

/** Options of {@link runStudy}. */
export interface StudyOptions extends StudyDesignOptions {
  /** Output folder. @defaultValue 'vdafm-study' (quick: 'vdafm-study-quick') */
  out?: string;
  /** Run only shard `index` (1-based) of `count` (writes its cells, no reports). @defaultValue the whole study */
  shard?: { index: number; count: number } | null;
  /** Keep the finished cells found in `out` (they must have been computed with the same settings). @defaultValue false */
  resume?: boolean;
  /**
   * The wall-time estimate printed at the start: 'auto' (probe a few training steps of each model
   * unless quick), 'only' (print it and stop), 'off'. @defaultValue 'auto'
   */
  estimate?: 'auto' | 'only' | 'off';
  /** Log lines. @defaultValue console.log */
  log?: (line: string) => void;
  /** Progress bars. @defaultValue process.stderr */
  progress?: ProgressSink;
  /** The command line recorded in the outputs. @defaultValue `vdafm` + process arguments */
  command?: string;
  /** @internal Trains the neural cells (tests inject a fake). @defaultValue the tfjs trainer */
  trainer?: CellTrainer;
  /** @internal Milliseconds clock (tests inject a fake). @defaultValue Date.now */
  clock?: () => number;
}

/** The wall-time estimate of a run's pending cells. */
interface StudyEstimate {
  cells: number;
  /** Seconds if early stopping ends cells after `likelyEpochs` epochs (see `basis`). */
  likelySeconds: number;
  /** Seconds if every neural cell trains its full epochs. */
  upperSeconds: number;
  /** Of `likelySeconds`: the main comparison, and the learning curve's other sizes. */
  mainSeconds: number;
  curveSeconds: number;
  likelyEpochs: number;
  basis: string;
  /** Measured per ablation: seconds per training step and per predicted patient, and a 600-patient cell. */
  perAblation: Record<string, ProbeResult & { cellSeconds: number }>;
}

/** What {@link runStudy} returns. */
export interface StudyRunResult {
  out: string;
  settings: StudySettings;
  /** Cells of the whole plan, of this run (its shard), finished before, run now. */
  planned: number;
  thisRun: number;
  skipped: number;
  ran: number;
  estimate: StudyEstimate | null;
  /** The study (null for a shard or an estimate-only run). */
  study: StudyJson | null;
  files: string[];
}

/** `plan.json`: the settings and every planned cell (identical for every shard of a study). */
type PlanFile = PlanFileOf<StudySettings>;

/** The fixed test cohorts of this process, by scenario, size and seed (generated once, reused). */
const testCohorts = new Map<string, Promise<TestCohort>>();

function testCohort(scenario: ScenarioName, settings: StudySettings): Promise<TestCohort> {
  const key = `${scenario}|${settings.test.patients}|${settings.test.seed}`;
  let t = testCohorts.get(key);
  if (!t) {
    t = buildTestCohort(scenario, settings.test.patients, settings.test.seed);
    t.catch(() => testCohorts.delete(key));
    testCohorts.set(key, t);
    // at most one test cohort per scenario stays in memory
    while (testCohorts.size > 2) testCohorts.delete(testCohorts.keys().next().value!);
  }
  return t;
}

/** Resolves run options. */
function resolveRunOptions(options: StudyOptions) {
  const settings = resolveStudySettings(options);
  return {
    settings,
    out: options.out ?? (settings.quick ? 'vdafm-study-quick' : 'vdafm-study'),
    shard: options.shard ?? null,
    resume: options.resume ?? false,
    estimate: options.estimate ?? 'auto',
    log: options.log ?? ((l: string) => console.log(l)),
    sink: options.progress ?? { write: (t: string) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    command: options.command ?? `vdafm ${process.argv.slice(2).join(' ')}`.trim(),
    trainer: options.trainer ?? tfjsCellTrainer,
    clock: options.clock ?? Date.now,
  };
}

/** Probes each neural ablation of the pending cells and estimates the run's wall time. */
async function estimateRun(
  pending: readonly CellKey[],
  settings: StudySettings,
  trainer: CellTrainer,
  data: SeedData,
  prepSecondsPerPatient: number,
  finished: readonly CellRecord[],
  log: (l: string) => void,
): Promise<StudyEstimate | null> {
  if (!trainer.probe) return null;
  const neural = [...new Set(pending.map((k) => k.ablation))].filter((id) => {
    const s = ablationSpec(id);
    return !s.reference && s.fusion !== 'late';
  });
  const needsComponents = pending.some((k) => k.ablation === 'late');
  for (const m of needsComponents ? LATE_COMPONENTS : []) if (!neural.includes(m)) neural.push(m);
  const probes: Record<string, ProbeResult> = {};
  for (const id of neural) {
    probes[id] = await trainer.probe(ablationSpec(id), data, settings.quick);
    log(`  probe ${id}: ${(probes[id]!.stepSeconds * 1000).toFixed(0)} ms per step of ${probes[id]!.batchSize}, ${(probes[id]!.inferSecondsPerPatient * 1000).toFixed(2)} ms per predicted patient`);
  }
  const any = Object.values(probes)[0];
  const epochsDone = finished.filter((c) => c.training).map((c) => c.training!.epochs);
  // without finished cells to go by: the best epoch around the 5th, then the patience runs out
  // (the first imbalance seed with the demo's settings: 5–12 epochs, 9.2 on average)
  const likelyEpochs = epochsDone.length >= 3 ? epochsDone.reduce((a, b) => a + b, 0) / epochsDone.length : Math.min(any?.maxEpochs ?? 1, (any?.patience ?? any?.maxEpochs ?? 1) + 5);
  const basis =
    epochsDone.length >= 3 ? `mean epochs of the ${epochsDone.length} finished neural cells` : `assumed: the best epoch around the 5th, then the patience (${any?.patience ?? 'none'}) runs out`;
  // a cell on n patients trains at most cellEpochs(n) epochs (the step budget), the aligned
  // models after their pretraining epochs (timed as outcome steps: an upper bound)
  const neuralSeconds = (id: string, n: number, likely: number | null) => {
    const p = probes[id]!;
    const budget = cellEpochs(n, settings.quick);
    const epochs = likely === null ? budget.epochs : Math.min(likely, budget.epochs);
    const pretrain = ablationSpec(id).alignment ? budget.pretrainEpochs : 0;
    const valN = validationSize(settings, n);
    const steps = Math.ceil(n / p.batchSize);
    return p.buildSeconds + (epochs + pretrain) * steps * p.stepSeconds + epochs * valN * p.inferSecondsPerPatient + (valN + settings.test.patients) * p.inferSecondsPerPatient;
  };
  const pendingIds = new Set(pending.map(cellId));
  const cellSeconds = (k: CellKey, epochs: number | null): number => {
    const spec = ablationSpec(k.ablation);
    if (spec.reference) return 2;
    if (spec.fusion === 'late') {
      return LATE_COMPONENTS.reduce((s, m) => {
        const component = { ...k, ablation: m };
        const reused = pendingIds.has(cellId(component)) || finished.some((c) => c.id === cellId(component));
        return s + (reused ? 0 : neuralSeconds(m, k.trainSize, epochs));
      }, 1);
    }
    return neuralSeconds(k.ablation, k.trainSize, epochs);
  };
  const keys = new Map<string, number>();
  for (const k of pending) keys.set(dataKey(k), k.trainSize + validationSize(settings, k.trainSize));
  const prep = [...keys.values()].reduce((s, n) => s + n * prepSecondsPerPatient, 0);
  let main = 0;
  let curve = 0;
  let upper = prep;
  for (const k of pending) {
    const s = cellSeconds(k, likelyEpochs);
    if (k.trainSize === settings.trainSize) main += s;
    else curve += s;
    upper += cellSeconds(k, null);
  }
  const perAblation = Object.fromEntries(Object.entries(probes).map(([id, p]) => [id, { ...p, cellSeconds: neuralSeconds(id, settings.trainSize, likelyEpochs) }]));
  return { cells: pending.length, likelySeconds: prep + main + curve, upperSeconds: upper, mainSeconds: main, curveSeconds: curve, likelyEpochs, basis, perAblation };
}

const minutes = (s: number) => `${(s / 60).toFixed(0)} min`;

/**
 * Runs the study (or one shard of it) into `out`: every planned cell not yet finished is trained,
 * evaluated on its scenario's fixed test cohort and written as `cells/<id>.json`; then (unless a
 * shard) `study.json`, `study.md` and the plots are written from all the cell files.
 * The backend must be set before (the CLI picks wasm, falling back to cpu).
 *
 * @throws {@link InvalidArgumentError} for bad options; when `out` already holds some of this
 *   run's cells and `resume` is false; when finished cells have other settings.
 * @example
 * ```ts
 * const result = await runStudy({ quick: true, out: './study-quick' });
 * console.log(result.study?.claims.map((c) => `${c.id}: ${c.verdict}`));
 * ```
 */
export async function runStudy(options: StudyOptions = {}): Promise<StudyRunResult> {
  const o = resolveRunOptions(options);
  const { settings, out, log, sink, trainer, clock } = o;
  const started = clock();
  const plan = planCells(settings);
  const mine = o.shard ? shardCells(plan, o.shard.index, o.shard.count) : plan;
  const planFile: PlanFile = { format: PLAN_FORMAT, settings, cells: plan.map(cellId) };
  writePlan(out, planFile, o.resume);
  const finished = finishedCells(
    out,
    mine.map((k) => ({ id: cellId(k), hash: () => settingsHash(cellSettings(k, settings, trainer)) })),
    parseCell,
    { resume: o.resume, log },
  );
  const pending = mine.filter((k) => !finished.has(cellId(k)));
  const shardText = o.shard ? ` (shard ${o.shard.index}/${o.shard.count}: ${mine.length} cells)` : '';
  log(`vdafm study${settings.quick ? ' --quick (a smoke run, never verdicts)' : ''}: ${plan.length} planned cells${shardText}, ${finished.size} finished, ${pending.length} to run; backend ${tf.getBackend()}, output ${out}`);

  const memory = new Map<string, CellRecord>(finished);
  const findCell = cellFinder(out, memory, parseCell);

  let current: SeedData | null = null;
  const seedData = async (k: CellKey): Promise<SeedData> => {
    if (current && current.scenario === k.scenario && current.trainSize === k.trainSize && current.seed === k.seed) return current;
    if (current) disposeSeedData(current);
    current = null;
    current = await buildSeedData(k.scenario, k.seed, k.trainSize, validationSize(settings, k.trainSize), settings.test.seed);
    return current;
  };

  let estimate: StudyEstimate | null = null;
  try {
    if (pending.length > 0 && (o.estimate === 'only' || (o.estimate === 'auto' && !settings.quick))) {
      const first = pending[0]!;
      const t0 = clock();
      await testCohort(first.scenario, settings);
      const prepSecondsPerPatient = (clock() - t0) / 1000 / settings.test.patients;
      log(`estimating the wall time (a few training steps of each model on ${dataKey(first)})…`);
      estimate = await estimateRun(pending, settings, trainer, await seedData(first), prepSecondsPerPatient, [...finished.values()], log);
      if (estimate) {
        log(
          `estimate: ${estimate.cells} cells ≈ ${minutes(estimate.likelySeconds)} (main comparison ${minutes(estimate.mainSeconds)}, learning curve ${minutes(estimate.curveSeconds)}; ` +
            `${estimate.likelyEpochs.toFixed(1)} epochs per neural cell, ${estimate.basis}); at most ${minutes(estimate.upperSeconds)} if every model trains all its epochs.`,
        );
        if (estimate.likelySeconds > 90 * 60) log("estimate: over the 90-minute budget of a default study; size the learning curve down (--curve-sizes, --curve-seeds, --curve none), run it as parallel jobs on this machine's cores (--jobs N), or split it over machines (--shard i/n, then vdafm study merge).");
      }
      if (o.estimate === 'only') return { out, settings, planned: plan.length, thisRun: mine.length, skipped: finished.size, ran: 0, estimate, study: null, files: [] };
    }

    const bar = new ProgressBar('study cells', pending.length, sink);
    let done = 0;
    for (const k of pending) {
      const test = await testCohort(k.scenario, settings);
      const data = await seedData(k);
      const cell = await runCell(k, { settings, trainer, data, test, backend: tf.getBackend() ?? 'none', clock, sink, findCell });
      writeCell(out, cell);
      memory.set(cell.id, cell);
      done++;
      bar.update(done, `${cell.id}: AUC ${cell.metrics.auc.toFixed(3)}`);
      log(`${cell.id}: test AUC ${cell.metrics.auc.toFixed(3)}, regret ${cell.metrics.regret.toFixed(3)}${cell.training ? `, ${cell.training.epochs} epochs` : ''}, ${cell.run.seconds.toFixed(0)} s`);
    }
    if (pending.length > 0) bar.done();
  } finally {
    if (current) disposeSeedData(current);
  }

  if (o.shard) {
    log(`shard ${o.shard.index}/${o.shard.count} done: ${mine.length} cells in ${out}/cells. Join the shards with: vdafm study merge <folders…> --out <folder>`);
    return { out, settings, planned: plan.length, thisRun: mine.length, skipped: finished.size, ran: pending.length, estimate, study: null, files: [] };
  }
  const cells = readCells(out);
  const study = buildStudyJson(settings, plan, cells, runMeta(o.command, started, clock));
  const files = await writeStudyOutputs(out, study, cells);
  for (const c of study.claims) log(`${c.id}: ${settings.quick ? '(quick, not a verdict) ' : ''}${c.verdict}`);
  log(`wrote ${files.length} files to ${out} in ${((clock() - started) / 1000).toFixed(0)} s`);
  return { out, settings, planned: plan.length, thisRun: mine.length, skipped: finished.size, ran: pending.length, estimate, study, files };
}


/**
 * Joins study folders (shards, or partial runs of one study) into `out`: checks that they hold
 * the same study (same `plan.json` settings), takes each cell once (two copies of a cell must be
 * identical apart from their run information; conflicting copies are refused), checks that the
 * cells of a scenario share one test cohort and that each ablation's cells share one recipe, copies
 * the cells into `out/cells`, and writes the reports. The result does not depend on the order of
 * the folders.
 *
 * @throws {@link InvalidArgumentError} naming `dirs` for a folder without `plan.json`, different
 *   study settings, conflicting duplicate cells, or cells on different test cohorts.
 */
export async function mergeStudies(dirs: readonly string[], options: MergeOptions): Promise<StudyJson> {
  const clock = options.clock ?? Date.now;
  const started = options.started ?? clock();
  const log = options.log ?? ((l: string) => console.log(l));
  const { sorted, plan } = mergePlans<StudySettings>(dirs, PLAN_FORMAT);
  const settings = plan.settings;
  const chosen = chooseCells(sorted, readCells);
  const tests = new Map<string, string>();
  const recipes = new Map<string, string>();
  for (const c of chosen) {
    const group = `${c.key.scenario} ${c.key.ablation}`;
    if ((recipes.get(group) ?? c.recipeHash) !== c.recipeHash) {
      throw new InvalidArgumentError({ argument: 'dirs', message: `cells of '${c.key.ablation}' on '${c.key.scenario}' were computed with different settings (recipe fingerprints differ, e.g. ${c.id}).`, received: c.id });
    }
    recipes.set(group, c.recipeHash);
    const t = canonicalJson({ patients: c.test.patients, seed: c.test.seed, digest: c.test.labelsDigest });
    if ((tests.get(c.key.scenario) ?? t) !== t) {
      throw new InvalidArgumentError({ argument: 'dirs', message: `cells of scenario '${c.key.scenario}' were evaluated on different test cohorts (e.g. ${c.id}).`, received: c.id });
    }
    tests.set(c.key.scenario, t);
  }
  writeMerged(options.out, chosen, { format: PLAN_FORMAT, settings, cells: plan.cells }, parseCell);
  const planned = plan.cells.map(keyOf);
  const study = buildStudyJson(settings, planned, chosen, runMeta(options.command ?? `vdafm study merge ${dirs.join(' ')} --out ${options.out}`, started, clock, { sources: sorted }));
  const files = await writeStudyOutputs(options.out, study, chosen);
  log(`merged ${chosen.length} cells from ${sorted.length} folder(s): ${study.finished}/${study.planned} planned cells${study.complete ? '' : ' (incomplete)'}; wrote ${files.length} files to ${options.out}`);
  return study;
}

/** The key of a cell id (`imbalance.n600.s01.full`). */
function keyOf(id: string): CellKey {
  const m = /^(imbalance|additive)\.n(\d+)\.s(\d+)\.(.+)$/.exec(id);
  if (!m) throw new InvalidArgumentError({ argument: 'plan', message: `not a cell id: ${id}`, received: id });
  return { scenario: m[1] as ScenarioName, trainSize: Number(m[2]), seed: Number(m[3]), ablation: m[4]! };
}
