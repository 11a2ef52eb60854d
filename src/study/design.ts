/**
 * The study's design: its resolved settings (the pre-registered protocol, or the small `--quick`
 * smoke run), the cells it runs (scenario × training size × seed × ablation), their order, each
 * seed's derived random seeds, and the deterministic split of the cells into shards.
 *
 * @packageDocumentation
 */
import type { ScenarioName } from '../data/scenarios.js';
import { InvalidArgumentError } from '../errors.js';
import { ABLATION_SUITE, type AblationSpec, STUDY_PROTOCOL } from './claims.js';

/** One cell of the study: one ablation trained on one seed's cohorts at one training size. */
export interface CellKey {
  scenario: ScenarioName;
  trainSize: number;
  /** Seed number, 1-based (each: new training and validation cohorts, new initialisation). */
  seed: number;
  /** Ablation id of {@link ABLATION_SUITE}. */
  ablation: string;
}

/** The resolved settings of a study run (written to `plan.json`). */
export interface StudySettings {
  /** A CI smoke run: small cohorts, few epochs, never used for verdicts. */
  quick: boolean;
  scenarios: ScenarioName[];
  /** Seeds of the main comparison per scenario. */
  seeds: Partial<Record<ScenarioName, number>>;
  /** Training patients of the main comparison. */
  trainSize: number;
  /** Validation patients per training patient. */
  validationShare: number;
  /** The fixed test cohort of each scenario. */
  test: { patients: number; seed: number };
  /** Ablation ids of the main comparison, in suite order. */
  ablations: string[];
  /** The learning curve (its ablations also include the oracle). */
  curve: { scenarios: ScenarioName[]; sizes: number[]; seeds: number; ablations: string[] };
  /** Protocol training size → this run's training size (quick runs judge the claims at their smaller size). */
  claimSizes: Record<number, number>;
}

/** Options of {@link resolveStudySettings} (the CLI's flags). */
export interface StudyDesignOptions {
  /** @defaultValue false */
  quick?: boolean;
  /** @defaultValue 'all' */
  scenario?: ScenarioName | 'all';
  /** Seeds per scenario of the main comparison (both scenarios). @defaultValue the protocol's (imbalance 10, additive 5); quick 2 */
  seeds?: number;
  /** Only these ablation ids (main comparison and learning curve). @defaultValue all */
  only?: string[];
  /** Scenarios of the learning curve: 'none', 'imbalance' or 'all'. @defaultValue 'imbalance' */
  curve?: 'none' | ScenarioName | 'all';
  /** Training sizes of the learning curve. @defaultValue the protocol's (600, 1200, 2400, 4800); quick 150, 300 */
  curveSizes?: number[];
  /** Seeds per learning-curve point. @defaultValue the protocol's (3); quick 2 */
  curveSeeds?: number;
  /** Training patients of the main comparison (small experiments and tests; the claims are then judged at this size). @defaultValue 600; quick 150 */
  trainSize?: number;
  /** Patients of each test cohort (small experiments and tests). @defaultValue 5000; quick 500 */
  testPatients?: number;
}

/** The `--quick` smoke run's sizes. */
export const QUICK = {
  trainSize: 150,
  testPatients: 500,
  seeds: 2,
  ablations: ['image', 'clinical', 'concat', 'full', 'oracle', 'table-report'],
  curveSizes: [150, 300],
  curveSeeds: 2,
} as const;

/** The spec of an ablation id. @throws InvalidArgumentError for an unknown id. */
export function ablationSpec(id: string): AblationSpec {
  const spec = ABLATION_SUITE.find((a) => a.id === id);
  if (!spec) {
    throw new InvalidArgumentError({ argument: 'only', message: `Unknown ablation '${id}'. Known: ${ABLATION_SUITE.map((a) => a.id).join(', ')}.`, received: id });
  }
  return spec;
}

function positiveInt(value: number, argument: string): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError({ argument, message: `${argument} must be a positive integer.`, received: value });
  return value;
}

/**
 * Resolves the study's settings: the pre-registered protocol (`STUDY_PROTOCOL`, `ABLATION_SUITE`)
 * narrowed by the options, or the quick smoke run.
 *
 * @throws {@link InvalidArgumentError} naming a bad option (unknown ablation or scenario, a non-positive count).
 */
export function resolveStudySettings(options: StudyDesignOptions = {}): StudySettings {
  const quick = options.quick ?? false;
  const scenarioOption = options.scenario ?? 'all';
  if (!['all', 'imbalance', 'additive'].includes(scenarioOption)) {
    throw new InvalidArgumentError({ argument: 'scenario', message: "scenario must be 'imbalance', 'additive' or 'all'.", received: scenarioOption });
  }
  const scenarios: ScenarioName[] = scenarioOption === 'all' ? ['imbalance', 'additive'] : [scenarioOption];
  const only = options.only ?? null;
  if (only) for (const id of only) ablationSpec(id);
  const keep = (ids: readonly string[]) => ids.filter((id) => !only || only.includes(id));
  const ablations = keep(quick ? QUICK.ablations : ABLATION_SUITE.map((a) => a.id));
  const seeds: Partial<Record<ScenarioName, number>> = {};
  for (const s of scenarios) seeds[s] = positiveInt(options.seeds ?? (quick ? QUICK.seeds : STUDY_PROTOCOL.seeds[s]), 'seeds');
  const curveOption = options.curve ?? 'imbalance';
  if (!['none', 'all', 'imbalance', 'additive'].includes(curveOption)) {
    throw new InvalidArgumentError({ argument: 'curve', message: "curve must be 'none', 'imbalance', 'additive' or 'all'.", received: curveOption });
  }
  const curveScenarios = (curveOption === 'none' ? [] : curveOption === 'all' ? ['imbalance', 'additive'] : [curveOption]).filter((s): s is ScenarioName =>
    scenarios.includes(s as ScenarioName),
  );
  const curveSizes = (options.curveSizes ?? (quick ? [...QUICK.curveSizes] : [...STUDY_PROTOCOL.learningCurveSizes])).map((n) => positiveInt(n, 'curveSizes'));
  const trainSize = positiveInt(options.trainSize ?? (quick ? QUICK.trainSize : STUDY_PROTOCOL.trainSize), 'trainSize');
  for (const n of [trainSize, ...curveSizes]) {
    if (n < 30) throw new InvalidArgumentError({ argument: 'trainSize', message: 'training sizes must be at least 30 patients.', received: n });
  }
  const testPatients = positiveInt(options.testPatients ?? (quick ? QUICK.testPatients : STUDY_PROTOCOL.testPatients), 'testPatients');
  if (testPatients < 20) throw new InvalidArgumentError({ argument: 'testPatients', message: 'the test cohort needs at least 20 patients.', received: testPatients });
  return {
    quick,
    scenarios,
    seeds,
    trainSize,
    validationShare: STUDY_PROTOCOL.validationShare,
    test: { patients: testPatients, seed: STUDY_PROTOCOL.testSeed },
    ablations,
    curve: {
      scenarios: curveScenarios,
      sizes: [...new Set(curveSizes)].sort((a, b) => a - b),
      seeds: positiveInt(options.curveSeeds ?? (quick ? QUICK.curveSeeds : STUDY_PROTOCOL.learningCurveSeeds), 'curveSeeds'),
      ablations: keep([...STUDY_PROTOCOL.learningCurveModels, 'oracle']),
    },
    claimSizes: trainSize !== STUDY_PROTOCOL.trainSize ? { [STUDY_PROTOCOL.trainSize]: trainSize } : {},
  };
}

/** Validation patients at a training size. */
export function validationSize(settings: Pick<StudySettings, 'validationShare'>, trainSize: number): number {
  return Math.max(10, Math.round(trainSize * settings.validationShare));
}

/** The training size at which a claim pre-registered at `protocolSize` is judged in this run. */
export function claimSize(settings: StudySettings, protocolSize: number): number {
  return settings.claimSizes[protocolSize] ?? protocolSize;
}

/** `imbalance.n600.s01.full`: a cell's id and file name stem. */
export function cellId(k: CellKey): string {
  return `${k.scenario}.n${k.trainSize}.s${String(k.seed).padStart(2, '0')}.${k.ablation}`;
}

const SUITE_ORDER = new Map(ABLATION_SUITE.map((a, i) => [a.id, i]));
const SCENARIO_ORDER: Record<ScenarioName, number> = { imbalance: 0, additive: 1 };

/** Sorts cells into execution order: scenario, main size before the curve's other sizes, size, seed, suite order. */
function compareCells(mainSize: number): (a: CellKey, b: CellKey) => number {
  return (a, b) =>
    SCENARIO_ORDER[a.scenario] - SCENARIO_ORDER[b.scenario] ||
    Number(a.trainSize !== mainSize) - Number(b.trainSize !== mainSize) ||
    a.trainSize - b.trainSize ||
    a.seed - b.seed ||
    SUITE_ORDER.get(a.ablation)! - SUITE_ORDER.get(b.ablation)!;
}

/**
 * Every cell of the study, deduplicated (a learning-curve point at the main training size is
 * the main comparison's cell), in execution order: per scenario, the main comparison first
 * (seed by seed, the suite in order, so a seed's unimodal models precede its late fusion), then
 * the learning curve — the part to size down when the budget is short.
 */
export function planCells(settings: StudySettings): CellKey[] {
  const cells = new Map<string, CellKey>();
  const add = (k: CellKey) => cells.set(cellId(k), k);
  for (const scenario of settings.scenarios) {
    for (let seed = 1; seed <= settings.seeds[scenario]!; seed++) {
      for (const ablation of settings.ablations) add({ scenario, trainSize: settings.trainSize, seed, ablation });
    }
  }
  for (const scenario of settings.curve.scenarios) {
    for (const trainSize of settings.curve.sizes) {
      for (let seed = 1; seed <= settings.curve.seeds; seed++) {
        for (const ablation of settings.curve.ablations) add({ scenario, trainSize, seed, ablation });
      }
    }
  }
  return [...cells.values()].sort(compareCells(settings.trainSize));
}

/** The cells that one data preparation serves (same scenario, training size and seed). */
export function dataKey(k: CellKey): string {
  return `${k.scenario}.n${k.trainSize}.s${k.seed}`;
}

/** The unimodal ablations whose validation predictions late fusion stacks. */
export const LATE_COMPONENTS = ['image', 'text', 'clinical'] as const;

/**
 * Rough relative cost of training an ablation on one patient (for balancing shards only): a
 * factor for the image branch (the costly encoder), near zero for the logistic references.
 */
export function ablationCost(id: string): number {
  const spec = ablationSpec(id);
  if (spec.reference) return 0.01;
  if (spec.fusion === 'late') return 0.05;
  return (spec.modalities.includes('image') ? 4 : 1) * (spec.modalities.length > 1 ? 1.3 : 1);
}

/** Rough relative cost of a cell: training patients × {@link ablationCost}. */
function relativeCost(k: CellKey): number {
  return k.trainSize * ablationCost(k.ablation);
}

/**
 * The cells of shard `index` (1-based) of `count`. Cells are grouped into units that must run
 * together — a seed's late fusion with the unimodal models it stacks, so it reuses them — and
 * the units are dealt to the shards greedily by estimated cost (largest first, to the least
 * loaded shard, ties to the lowest index), which is deterministic: every shard computes the same
 * partition from the same plan. Each shard's cells keep the plan's order.
 *
 * @throws {@link InvalidArgumentError} unless 1 ≤ index ≤ count.
 */
export function shardCells(cells: readonly CellKey[], index: number, count: number): CellKey[] {
  return dealShards(cells, index, count, {
    id: cellId,
    unit: (k) => (k.ablation === 'late' || (LATE_COMPONENTS as readonly string[]).includes(k.ablation) ? `${dataKey(k)}.late-group` : cellId(k)),
    cost: relativeCost,
  });
}

/**
 * The cells of shard `index` (1-based) of `count`: the cells grouped into units (`unit`), the
 * units dealt greedily by cost (largest first, to the least loaded shard, ties to the lowest
 * index, then by unit id), which every shard computes identically; the plan's order is kept.
 *
 * @throws {@link InvalidArgumentError} unless 1 ≤ index ≤ count.
 */
export function dealShards<K>(cells: readonly K[], index: number, count: number, by: { id: (k: K) => string; unit: (k: K) => string; cost: (k: K) => number }): K[] {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
    throw new InvalidArgumentError({ argument: 'shard', message: 'shard must be i/n with integers 1 ≤ i ≤ n.', received: `${index}/${count}` });
  }
  const units = new Map<string, K[]>();
  for (const k of cells) {
    const unit = by.unit(k);
    units.set(unit, [...(units.get(unit) ?? []), k]);
  }
  const costed = [...units.entries()].map(([id, ks]) => ({ id, ks, cost: ks.reduce((s, k) => s + by.cost(k), 0) }));
  costed.sort((a, b) => b.cost - a.cost || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const mine = new Set<string>();
  for (const u of costed) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[best]!) best = s;
    load[best]! += u.cost;
    if (best === index - 1) for (const k of u.ks) mine.add(by.id(k));
  }
  return cells.filter((k) => mine.has(by.id(k)));
}

/**
 * The random seeds of one seed number: training and validation cohorts (and their reports),
 * model initialisation and the trainer (shuffling, dropout). The cohorts do not depend on the
 * training size: a cohort of n patients is the first n of a larger one with the same seed, so
 * the learning curve's training sets are nested.
 *
 * @throws {@link InvalidArgumentError} when a derived seed would equal the test cohort's seed.
 */
export function seedsOf(seed: number, testSeed: number = STUDY_PROTOCOL.testSeed): { train: number; val: number; model: number; trainer: number } {
  const base = 1000 * seed;
  const s = { train: base + 1, val: base + 2, model: base + 11, trainer: base + 3 };
  if (s.train === testSeed || s.val === testSeed) {
    throw new InvalidArgumentError({ argument: 'seed', message: 'a training or validation cohort seed equals the test cohort seed.', received: seed });
  }
  return s;
}
