/**
 * The study's design on a cohort of your own, where no true risk is known: the protocol
 * (repeated stratified k-fold, or the manifest's fixed test split), the suite (the synthetic
 * study's ablations without the oracle, which needs the simulator's latent features), the cells
 * (repeat × fold × ablation), their seeds, each cell's training / validation / test patients,
 * and the shards.
 *
 * @packageDocumentation
 */
import { stratifiedFolds } from '../../data/split.js';
import { InvalidArgumentError } from '../../errors.js';
import { type CohortData, manifestSplit } from '../../demo/cohort-data.js';
import { ABLATION_SUITE, STUDY_PROTOCOL } from '../claims.js';
import { ablationCost, ablationSpec, dealShards, LATE_COMPONENTS, QUICK } from '../design.js';

/** How the cohort is split into training and test patients. */
export type CohortProtocol =
  /** Repeated stratified k-fold: every patient is tested once per repeat, by models that never saw it. */
  | { kind: 'k-fold'; folds: number; repeats: number }
  /** The manifest's `test` patients, for every repeat (new validation split, new initialisation). */
  | { kind: 'fixed-test'; repeats: number };

/** Defaults of the protocols. */
const COHORT_PROTOCOL = {
  /** Folds of the k-fold protocol. */
  folds: 5,
  /** Repeats of the k-fold protocol (new folds each). */
  repeats: 2,
  /** Repeats of the fixed-test protocol (new validation split and initialisation each). */
  fixedTestRepeats: 3,
} as const;

/** One cell: one ablation trained on one repeat's fold (fold 0: the fixed test split). */
export interface CohortCellKey {
  /** 1-based. */
  repeat: number;
  /** 1-based fold of the k-fold protocol; 0 for the fixed test split. */
  fold: number;
  /** Ablation id of the suite. */
  ablation: string;
}

/** The resolved settings of a study on a cohort (written to `plan.json`). */
export interface CohortStudySettings {
  /** A smoke run (the quick suite, the trainer's quick epochs): never for conclusions. */
  quick: boolean;
  protocol: CohortProtocol;
  /** Seed of the folds, the validation splits, the models and the trainers. */
  seed: number;
  /** Ablation ids run, in suite order. */
  ablations: string[];
  /** Ablations of the suite not run, and why. */
  leftOut: Array<{ ablation: string; reason: string }>;
  /** Validation patients per training patient (the synthetic study's share): the validation split is validationShare / (1 + validationShare) of the non-test patients. */
  validationShare: number;
  /** What the cohort is (its digest: results of another cohort never mix). */
  cohort: {
    source: string;
    digest: string;
    patients: number;
    positive: number;
    outcome: string;
    imageShape: number[];
    sequences: string[];
    withText: boolean;
  };
}

/** Options of {@link resolveCohortStudySettings} (the CLI's flags). */
export interface CohortStudyDesignOptions {
  /** @defaultValue false */
  quick?: boolean;
  /** Only these ablation ids. @defaultValue the suite without the oracle (quick: the quick suite without it) */
  only?: string[];
  /** `'auto'`: the fixed test split when the manifest names `test` patients, else k-fold. @defaultValue 'auto' */
  protocol?: 'auto' | 'k-fold' | 'fixed-test';
  /** Folds of the k-fold protocol. @defaultValue 5 */
  folds?: number;
  /** Repeats. @defaultValue 2 (k-fold), 3 (fixed test) */
  repeats?: number;
  /** @defaultValue 7 */
  seed?: number;
}

function positiveInt(value: number, argument: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError({ argument, message: `${argument} must be an integer ≥ ${min}.`, received: value });
  return value;
}

/** Why an ablation cannot run on this cohort, or null. */
function leftOutReason(id: string, withText: boolean): string | null {
  const spec = ablationSpec(id);
  if (spec.reference === 'oracle') return 'needs the true latent features, which only the simulator knows';
  if (!withText && (spec.modalities.includes('text') || spec.fusion === 'late')) return 'reads the reports, and no patient has one';
  if (!withText && spec.alignment) return 'is taught by the reports, and no patient has one';
  return null;
}

/**
 * Resolves the study's settings on a cohort.
 *
 * @param digest - the cohort's fingerprint (`cohortDigest`).
 * @throws {@link InvalidArgumentError} naming a bad option: an unknown ablation, a protocol the
 *   cohort cannot give (a fixed test split without `test` patients), fewer patients of a class
 *   than folds, or a non-positive count.
 */
export function resolveCohortStudySettings(options: CohortStudyDesignOptions, data: CohortData, digest: string): CohortStudySettings {
  const quick = options.quick ?? false;
  const only = options.only ?? null;
  if (only) for (const id of only) ablationSpec(id);
  const withText = data.texts.some((t) => t !== null);
  const base = quick ? [...QUICK.ablations] : ABLATION_SUITE.map((a) => a.id);
  const candidates = base.filter((id) => !only || only.includes(id));
  const leftOut = candidates.flatMap((id) => {
    const reason = leftOutReason(id, withText);
    return reason ? [{ ablation: id, reason }] : [];
  });
  const ablations = candidates.filter((id) => !leftOut.some((l) => l.ablation === id));
  if (ablations.length === 0) throw new InvalidArgumentError({ argument: 'only', message: 'no ablation of the suite can run on this cohort.', received: { only, leftOut } });

  const hasTest = data.split.some((s) => s === 'test');
  const choice = options.protocol ?? 'auto';
  if (!['auto', 'k-fold', 'fixed-test'].includes(choice)) throw new InvalidArgumentError({ argument: 'protocol', message: "protocol must be 'auto', 'k-fold' or 'fixed-test'.", received: choice });
  const kind = choice === 'auto' ? (hasTest ? 'fixed-test' : 'k-fold') : choice;
  const positive = data.labels.reduce((a, b) => a + b, 0);
  const smallest = Math.min(positive, data.labels.length - positive);
  let protocol: CohortProtocol;
  if (kind === 'fixed-test') {
    if (!hasTest) throw new InvalidArgumentError({ argument: 'protocol', message: "the fixed-test protocol needs patients marked 'test' in the manifest's split column.", received: choice });
    if (options.folds !== undefined) throw new InvalidArgumentError({ argument: 'folds', message: 'folds are for the k-fold protocol; this cohort names a fixed test split (use protocol k-fold to ignore it).', received: options.folds });
    const testLabels = data.split.flatMap((s, i) => (s === 'test' ? [data.labels[i]!] : []));
    if (!testLabels.includes(0) || !testLabels.includes(1)) {
      throw new InvalidArgumentError({ argument: 'protocol', message: "the manifest's test patients must include both outcomes.", received: { test: testLabels.length, positive: testLabels.filter((y) => y === 1).length } });
    }
    protocol = { kind, repeats: positiveInt(options.repeats ?? COHORT_PROTOCOL.fixedTestRepeats, 'repeats') };
  } else {
    const folds = positiveInt(options.folds ?? COHORT_PROTOCOL.folds, 'folds', 2);
    if (smallest < 2 * folds) {
      throw new InvalidArgumentError({
        argument: 'folds',
        message: `each outcome class needs at least 2 · folds = ${2 * folds} patients (every fold's test and validation patients then hold both); the smaller class has ${smallest}.`,
        received: folds,
      });
    }
    protocol = { kind: 'k-fold', folds, repeats: positiveInt(options.repeats ?? COHORT_PROTOCOL.repeats, 'repeats') };
  }
  const seed = options.seed ?? 7;
  if (!Number.isInteger(seed) || seed < 0) throw new InvalidArgumentError({ argument: 'seed', message: 'seed must be a non-negative integer.', received: seed });
  return {
    quick,
    protocol,
    seed,
    ablations,
    leftOut,
    validationShare: STUDY_PROTOCOL.validationShare,
    cohort: { source: data.source, digest, patients: data.labels.length, positive, outcome: data.outcome, imageShape: [...data.imageShape], sequences: [...data.sequences], withText },
  };
}

/** The protocol in words, e.g. `'repeated stratified 5-fold cross-validation (5 folds × 2 repeats)'`. */
export function protocolText(p: CohortProtocol): string {
  return p.kind === 'k-fold'
    ? `repeated stratified ${p.folds}-fold cross-validation (${p.folds} folds × ${p.repeats} repeat${p.repeats === 1 ? '' : 's'})`
    : `the manifest's fixed test split (${p.repeats} repeat${p.repeats === 1 ? '' : 's'}: new validation split and initialisation each)`;
}

/** `r01.f02.full` (k-fold) or `r01.test.full` (fixed test): a cell's id and file name stem. */
export function cohortCellId(k: CohortCellKey): string {
  return `r${String(k.repeat).padStart(2, '0')}.${k.fold === 0 ? 'test' : `f${String(k.fold).padStart(2, '0')}`}.${k.ablation}`;
}

/** The key of a cell id. @throws {@link InvalidArgumentError} (argument `plan`) for something else. */
export function cohortCellKey(id: string): CohortCellKey {
  const m = /^r(\d+)\.(?:f(\d+)|test)\.(.+)$/.exec(id);
  if (!m) throw new InvalidArgumentError({ argument: 'plan', message: `not a cohort cell id: ${id}`, received: id });
  return { repeat: Number(m[1]), fold: m[2] === undefined ? 0 : Number(m[2]), ablation: m[3]! };
}

/** Every cell, in execution order: repeat, fold, the suite in order (a fold's unimodal models before its late fusion). */
export function planCohortCells(settings: CohortStudySettings): CohortCellKey[] {
  const folds = settings.protocol.kind === 'k-fold' ? Array.from({ length: settings.protocol.folds }, (_, i) => i + 1) : [0];
  const cells: CohortCellKey[] = [];
  for (let repeat = 1; repeat <= settings.protocol.repeats; repeat++) {
    for (const fold of folds) for (const ablation of settings.ablations) cells.push({ repeat, fold, ablation });
  }
  return cells;
}

/** The cells one fold's data serves. */
export function foldKey(k: Pick<CohortCellKey, 'repeat' | 'fold'>): string {
  return `r${k.repeat}.f${k.fold}`;
}

/**
 * The cells of shard `index` (1-based) of `count`: a fold's late fusion stays with the unimodal
 * models it stacks; otherwise cells are dealt by their rough cost (see `dealShards`).
 *
 * @throws {@link InvalidArgumentError} unless 1 ≤ index ≤ count.
 */
export function shardCohortCells(cells: readonly CohortCellKey[], index: number, count: number): CohortCellKey[] {
  return dealShards(cells, index, count, {
    id: cohortCellId,
    unit: (k) => (k.ablation === 'late' || (LATE_COMPONENTS as readonly string[]).includes(k.ablation) ? `${foldKey(k)}.late-group` : cohortCellId(k)),
    cost: (k) => ablationCost(k.ablation),
  });
}

/**
 * The seeds of a cell: the repeat's folds (shared by its folds), the fold's validation split, the
 * model's initialisers and the trainer.
 */
export function cohortSeeds(settings: Pick<CohortStudySettings, 'seed'>, k: Pick<CohortCellKey, 'repeat' | 'fold'>): { folds: number; val: number; model: number; trainer: number } {
  const base = 100_000 * settings.seed + 1000 * k.repeat + 10 * k.fold;
  return { folds: 100_000 * settings.seed + 1000 * k.repeat, val: base + 2, model: base + 11, trainer: base + 3 };
}

/** Patient positions of a cell's training, validation and test parts. */
export interface FoldPartition {
  train: number[];
  val: number[];
  test: number[];
}

/**
 * The training, validation and test patients of a repeat's fold. K-fold: the fold's test
 * patients from the repeat's stratified folds, the others split (stratified, seeded per fold)
 * into training and validation. Fixed test: the manifest's `test` patients; validation its `val`
 * patients when there are any, else a stratified share of the others, seeded per repeat.
 * Deterministic in its arguments.
 */
export function foldPartition(settings: Pick<CohortStudySettings, 'seed' | 'protocol' | 'validationShare'>, data: Pick<CohortData, 'labels' | 'split'>, k: Pick<CohortCellKey, 'repeat' | 'fold'>): FoldPartition {
  const seeds = cohortSeeds(settings, k);
  const share = settings.validationShare / (1 + settings.validationShare);
  if (settings.protocol.kind === 'fixed-test') return manifestSplit(data, share, seeds.val);
  const fold = stratifiedFolds(data.labels, settings.protocol.folds, seeds.folds);
  const test: number[] = [];
  const rest: number[] = [];
  fold.forEach((f, i) => (f === k.fold - 1 ? test : rest).push(i));
  const inner = manifestSplit({ labels: Uint8Array.from(rest, (i) => data.labels[i]!), split: rest.map(() => null) }, share, seeds.val);
  return { train: inner.train.map((j) => rest[j]!), val: inner.val.map((j) => rest[j]!), test };
}
