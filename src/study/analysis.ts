/**
 * From finished cells to the study's findings: the verdict of each pre-registered claim (paired
 * per-seed differences on the same test patients, their mean with a 95% t-interval, per-seed
 * DeLong tests, the minimum detectable effects), per-model summaries over seeds, and the
 * learning curve.
 *
 * @packageDocumentation
 */
import type { ScenarioName } from '../data/scenarios.js';
import { delongTest, delongVariance } from '../metrics/delong.js';
import { minimumDetectableDifference } from '../metrics/paired.js';
import { type CellMetrics, type CellRecord, decodeFloat32, decodeUint8 } from './cells.js';
import { type Claim, type ClaimKind, STUDY_PROTOCOL } from './claims.js';
import { claimSize, type StudySettings } from './design.js';
import { mean, median, sampleSd, seedsMde, type TInterval, tInterval } from './stats.js';

/** A claim's verdict. `not run`: the study holds no cell for it. */
export type Verdict = 'shown' | 'not shown' | 'contrary' | 'not run';

/**
 * The verdict of a claim from the 95% interval of its per-seed values (the pre-registered
 * rules, docs/guides/study.md):
 * - superiority (values: paired ΔAUC): **shown** when the interval's lower bound > 0,
 *   **contrary** when its upper bound < 0, **not shown** otherwise;
 * - equivalence (ΔAUC, margin m = target): **shown** when the interval lies inside [−m, m],
 *   **contrary** when it lies wholly outside it (lower > m or upper < −m), else not shown;
 * - auc-at-least (values: AUC): shown when lower ≥ target, contrary when upper < target;
 * - regret-at-most (values: regret): shown when upper ≤ target, contrary when lower > target.
 * An interval needs at least two seeds: with fewer the claim is **not shown** (one seed) or
 * **not run** (none).
 *
 * @example
 * ```ts
 * verdictOf('superiority', { n: 10, lower: 0.004, upper: 0.03 }, 0.02); // 'shown'
 * ```
 */
export function verdictOf(kind: ClaimKind, interval: Pick<TInterval, 'n' | 'lower' | 'upper'>, target: number): Verdict {
  const { n, lower, upper } = interval;
  if (n === 0) return 'not run';
  if (n < 2 || !Number.isFinite(lower) || !Number.isFinite(upper)) return 'not shown';
  switch (kind) {
    case 'superiority':
      return lower > 0 ? 'shown' : upper < 0 ? 'contrary' : 'not shown';
    case 'equivalence':
      return lower >= -target && upper <= target ? 'shown' : lower > target || upper < -target ? 'contrary' : 'not shown';
    case 'auc-at-least':
      return lower >= target ? 'shown' : upper < target ? 'contrary' : 'not shown';
    case 'regret-at-most':
      return upper <= target ? 'shown' : lower > target ? 'contrary' : 'not shown';
  }
}

/** Whether the mean reaches the claim's target (superiority: the hoped-for effect; equivalence: |mean| ≤ margin). */
export function targetMet(kind: ClaimKind, meanValue: number, target: number): boolean | null {
  if (!Number.isFinite(meanValue)) return null;
  switch (kind) {
    case 'superiority':
      return meanValue >= target;
    case 'equivalence':
      return Math.abs(meanValue) <= target;
    case 'auc-at-least':
      return meanValue >= target;
    case 'regret-at-most':
      return meanValue <= target;
  }
}

/** One seed's contribution to a claim. */
interface ClaimSeed {
  seed: number;
  /** ΔAUC (a − b) for comparisons, the AUC or the regret of `a` for thresholds. */
  value: number;
  /** DeLong: the paired test's p-value (comparisons; null for thresholds). */
  delongP: number | null;
  /** DeLong's standard error of the difference (comparisons) or of `a`'s AUC (thresholds). */
  delongSe: number;
}

/** A judged claim. */
export interface ClaimResult {
  id: string;
  scenario: ScenarioName;
  kind: ClaimKind;
  a: string;
  b: string | null;
  /** Pre-registered training size, and the size it was judged at in this run. */
  protocolTrainSize: number;
  trainSize: number;
  target: number;
  statement: string;
  perSeed: ClaimSeed[];
  interval: TInterval;
  /** Median of the per-seed DeLong p-values, and how many are < 0.05 (comparisons). */
  delong: { medianP: number; significant: number; medianSe: number } | null;
  /** Minimum detectable effect (α 0.05, power 0.8) of the mean over seeds, from the seeds' sd (t quantiles). */
  mdeSeeds: number;
  /** Minimum detectable effect of one seed's paired DeLong test on the test cohort (2.80 × median SE). */
  mdeDelong: number;
  verdict: Verdict;
  targetMet: boolean | null;
}

/** Cells indexed by scenario, training size, ablation and seed. */
export class CellIndex {
  private readonly map = new Map<string, CellRecord>();
  constructor(readonly cells: readonly CellRecord[]) {
    for (const c of cells) this.map.set(CellIndex.key(c.key.scenario, c.key.trainSize, c.key.ablation, c.key.seed), c);
  }
  private static key(s: string, n: number, a: string, seed: number): string {
    return `${s}|${n}|${a}|${seed}`;
  }
  /** The cell, or undefined. */
  get(scenario: string, trainSize: number, ablation: string, seed: number): CellRecord | undefined {
    return this.map.get(CellIndex.key(scenario, trainSize, ablation, seed));
  }
  /** The cells of one ablation at one size, by seed. */
  seeds(scenario: string, trainSize: number, ablation: string): CellRecord[] {
    return this.cells.filter((c) => c.key.scenario === scenario && c.key.trainSize === trainSize && c.key.ablation === ablation).sort((x, y) => x.key.seed - y.key.seed);
  }
}

/** Judges one pre-registered claim from the cells. */
export function judgeClaim(claim: Claim, index: CellIndex, settings: StudySettings): ClaimResult {
  const trainSize = claimSize(settings, claim.trainSize);
  const perSeed: ClaimSeed[] = [];
  const aCells = index.seeds(claim.scenario, trainSize, claim.a);
  for (const a of aCells) {
    const labels = decodeUint8(a.test.labels);
    const sa = decodeFloat32(a.scores.test);
    if (claim.b !== undefined) {
      const b = index.get(claim.scenario, trainSize, claim.b, a.key.seed);
      if (!b) continue;
      const t = delongTest(labels, sa, decodeFloat32(b.scores.test));
      perSeed.push({ seed: a.key.seed, value: a.metrics.auc - b.metrics.auc, delongP: t.pValue, delongSe: t.standardError });
    } else {
      const v = delongVariance(labels, sa);
      perSeed.push({ seed: a.key.seed, value: claim.kind === 'regret-at-most' ? a.metrics.regret : a.metrics.auc, delongP: null, delongSe: v.standardError });
    }
  }
  const interval = tInterval(
    perSeed.map((s) => s.value),
    STUDY_PROTOCOL.confidence,
  );
  const ses = perSeed.map((s) => s.delongSe);
  const ps = perSeed.map((s) => s.delongP).filter((p): p is number => p !== null);
  return {
    id: claim.id,
    scenario: claim.scenario,
    kind: claim.kind,
    a: claim.a,
    b: claim.b ?? null,
    protocolTrainSize: claim.trainSize,
    trainSize,
    target: claim.target,
    statement: claim.statement,
    perSeed,
    interval,
    delong: claim.b !== undefined && ps.length > 0 ? { medianP: median(ps), significant: ps.filter((p) => p < 0.05).length, medianSe: median(ses) } : null,
    mdeSeeds: seedsMde(interval.sd, interval.n),
    mdeDelong: ses.length > 0 ? minimumDetectableDifference(median(ses)) : Number.NaN,
    verdict: verdictOf(claim.kind, interval, claim.target),
    targetMet: targetMet(claim.kind, interval.mean, claim.target),
  };
}

/** Mean and sd over seeds of one metric. */
export interface MeanSd {
  mean: number;
  sd: number;
}

/** One model's summary at one scenario and training size. */
export interface ModelSummary {
  ablation: string;
  trainSize: number;
  seeds: number;
  metrics: Record<keyof CellMetrics, MeanSd>;
  epochs: MeanSd | null;
  seconds: MeanSd;
}

const num = (x: number | null | undefined) => (typeof x === 'number' ? x : Number.NaN);

/** Mean and sample sd of the finite values. */
export function meanSd(values: number[]): MeanSd {
  const v = values.filter((x) => Number.isFinite(x));
  return { mean: mean(v), sd: sampleSd(v) };
}

/** Per-model summaries (mean ± sd over seeds) of a scenario at a training size, in `ablations` order. */
export function summarizeModels(index: CellIndex, scenario: string, trainSize: number, ablations: readonly string[]): ModelSummary[] {
  const out: ModelSummary[] = [];
  for (const ablation of ablations) {
    const cells = index.seeds(scenario, trainSize, ablation);
    if (cells.length === 0) continue;
    const keys = Object.keys(cells[0]!.metrics) as Array<keyof CellMetrics>;
    const metrics = Object.fromEntries(keys.map((k) => [k, meanSd(cells.map((c) => num(c.metrics[k])))])) as Record<keyof CellMetrics, MeanSd>;
    const trained = cells.filter((c) => c.training !== null);
    out.push({
      ablation,
      trainSize,
      seeds: cells.length,
      metrics,
      epochs: trained.length > 0 ? meanSd(trained.map((c) => c.training!.epochs)) : null,
      seconds: meanSd(cells.map((c) => c.run.seconds)),
    });
  }
  return out;
}

/** One point of the learning curve. */
export interface CurvePoint {
  ablation: string;
  trainSize: number;
  seeds: number;
  auc: MeanSd;
  regret: MeanSd;
}

/** The learning curve of a scenario: each curve model at each size, over the curve's seeds (1 … `seeds`) at every size. */
export function learningCurve(index: CellIndex, scenario: string, sizes: readonly number[], ablations: readonly string[], seeds: number): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const ablation of ablations) {
    for (const trainSize of sizes) {
      const cells = index.seeds(scenario, trainSize, ablation).filter((c) => c.key.seed <= seeds);
      if (cells.length === 0) continue;
      out.push({ ablation, trainSize, seeds: cells.length, auc: meanSd(cells.map((c) => c.metrics.auc)), regret: meanSd(cells.map((c) => c.metrics.regret)) });
    }
  }
  return out;
}
