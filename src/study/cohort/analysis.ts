/**
 * From the finished cells of a study on a cohort of your own to its findings, without a true
 * risk: per ablation, the test metrics over folds and repeats (and, for k-fold, the AUC of each
 * repeat's pooled out-of-fold predictions); per pair of ablations that the synthetic study's
 * claims compare, the paired ΔAUC of each fold with its DeLong test, their mean with a 95%
 * t-interval over folds × repeats and, for k-fold, the corrected resampled t-test of Nadeau and
 * Bengio (2003), because the folds' differences are not independent.
 *
 * @packageDocumentation
 */
import { delongTest } from '../../metrics/delong.js';
import { rocAuc } from '../../metrics/ranking.js';
import { type MeanSd, meanSd } from '../analysis.js';
import { decodeFloat32, decodeUint8 } from '../cells.js';
import { ABLATION_SUITE, type AblationSpec, CLAIMS, STUDY_PROTOCOL } from '../claims.js';
import { mean, median, sampleSd, studentTCdf, studentTQuantile, type TInterval, tInterval } from '../stats.js';
import type { CohortCellMetrics, CohortCellRecord } from './cells.js';
import type { CohortStudySettings } from './design.js';

/** One ablation's results over the cells. */
export interface CohortModelSummary {
  ablation: string;
  /** Finished cells (folds × repeats). */
  cells: number;
  /** Test metrics, mean ± sd over the cells. */
  metrics: Record<keyof CohortCellMetrics, MeanSd>;
  /** K-fold: the AUC of each complete repeat's out-of-fold predictions (every patient once), mean ± sd over repeats; null otherwise. */
  pooledAuc: (MeanSd & { repeats: number }) | null;
  epochs: MeanSd | null;
  seconds: MeanSd;
}

/** The corrected resampled t-test (Nadeau & Bengio 2003) of a mean over resampled splits. */
export interface CorrectedTTest {
  /** n_test / n_train of the splits (mean over cells). */
  ratio: number;
  /** √((1/J + ratio) · sd²). */
  se: number;
  t: number;
  df: number;
  /** Two-sided. */
  pValue: number;
  lower: number;
  upper: number;
  confidence: number;
}

/**
 * The corrected resampled t-test: the variance of a mean over J train/test splits of one
 * cohort is (1/J + n_test/n_train) · σ², not σ²/J, because the splits share patients (Nadeau &
 * Bengio, Machine Learning 52, 2003; for repeated k-fold, Bouckaert & Frank, PAKDD 2004).
 *
 * @param values - one paired difference per split.
 * @param ratio - n_test / n_train of the splits.
 * @returns the test, or null below two values.
 * @example
 * ```ts
 * correctedTTest([0.02, 0.01, 0.03, 0.0, 0.02, 0.01, 0.02, 0.03, 0.01, 0.02], 0.25).t; // 2.37…
 * ```
 */
export function correctedTTest(values: readonly number[], ratio: number, confidence = STUDY_PROTOCOL.confidence): CorrectedTTest | null {
  const j = values.length;
  if (j < 2) return null;
  const m = mean(values);
  const sd = sampleSd(values);
  const se = Math.sqrt((1 / j + ratio) * sd * sd);
  const df = j - 1;
  const t = se === 0 ? (m === 0 ? 0 : Math.sign(m) * Infinity) : m / se;
  const q = studentTQuantile((1 + confidence) / 2, df);
  return { ratio, se, t, df, pValue: Number.isFinite(t) ? 2 * (1 - studentTCdf(Math.abs(t), df)) : 0, lower: m - q * se, upper: m + q * se, confidence };
}

/** One fold's (or repeat's) paired difference. */
interface ComparisonCell {
  repeat: number;
  fold: number;
  /** ΔAUC = AUC(a) − AUC(b) on the fold's test patients. */
  value: number;
  /** DeLong's paired test on those patients. */
  delongP: number;
  delongSe: number;
}

/** What a comparison's interval says (descriptive: a cohort of your own has no pre-registered claims). */
type ComparisonReading = 'a higher' | 'b higher' | 'no clear difference' | 'not run';

/** One comparison of two ablations. */
export interface CohortComparison {
  a: string;
  b: string;
  /** The synthetic study's pre-registered claim on this pair (for reference only). */
  claim: string;
  /** What differs between the two models, in words. */
  differs: string;
  perCell: ComparisonCell[];
  /** Mean ΔAUC with the plain 95% t-interval over folds × repeats (too narrow for k-fold: the folds share patients). */
  interval: TInterval;
  /** K-fold: the corrected resampled t-test; null for the fixed test split (its repeats share the test patients: the interval covers training variability, DeLong the test sampling). */
  corrected: CorrectedTTest | null;
  /** Median DeLong p over the cells, how many are < 0.05, median SE. */
  delong: { medianP: number; significant: number; medianSe: number } | null;
  /** From the corrected interval (k-fold) or the plain one (fixed test): above 0, below 0, or across it. */
  reading: ComparisonReading;
}

const FACTORS: Array<[keyof AblationSpec, string]> = [
  ['modalities', 'modalities'],
  ['fusion', 'fusion'],
  ['balancing', 'balancing'],
  ['alignment', 'alignment'],
  ['modalityDropout', 'modality dropout'],
];

function specOf(id: string): AblationSpec {
  return ABLATION_SUITE.find((s) => s.id === id)!;
}

/** What differs between two ablations, e.g. `alignment (on vs off)`. */
export function differences(a: string, b: string): string {
  const sa = specOf(a);
  const sb = specOf(b);
  const text = (v: unknown) => (typeof v === 'boolean' ? (v ? 'on' : 'off') : Array.isArray(v) ? v.join(' + ') : String(v));
  return FACTORS.filter(([k]) => JSON.stringify(sa[k]) !== JSON.stringify(sb[k]))
    .map(([k, label]) => `${label} (${text(sa[k])} vs ${text(sb[k])})`)
    .join(', ');
}

/** The pairs the synthetic study's superiority claims compare, deduplicated, when both ablations ran. */
export function comparisonPairs(ablations: readonly string[]): Array<{ a: string; b: string; claim: string }> {
  const pairs: Array<{ a: string; b: string; claim: string }> = [];
  for (const c of CLAIMS) {
    if (c.kind !== 'superiority' || c.b === undefined) continue;
    if (!ablations.includes(c.a) || !ablations.includes(c.b)) continue;
    if (pairs.some((p) => p.a === c.a && p.b === c.b)) continue;
    pairs.push({ a: c.a, b: c.b, claim: c.id });
  }
  return pairs;
}

/** Cells indexed by (repeat, fold, ablation). */
export class CohortCellIndex {
  private readonly map = new Map<string, CohortCellRecord>();
  constructor(readonly cells: readonly CohortCellRecord[]) {
    for (const c of cells) this.map.set(`${c.key.repeat}|${c.key.fold}|${c.key.ablation}`, c);
  }
  get(repeat: number, fold: number, ablation: string): CohortCellRecord | undefined {
    return this.map.get(`${repeat}|${fold}|${ablation}`);
  }
  /** One ablation's cells, by repeat then fold. */
  of(ablation: string): CohortCellRecord[] {
    return this.cells.filter((c) => c.key.ablation === ablation).sort((x, y) => x.key.repeat - y.key.repeat || x.key.fold - y.key.fold);
  }
}

function readingOf(lower: number, upper: number, n: number): ComparisonReading {
  if (n === 0) return 'not run';
  if (!(n >= 2 && Number.isFinite(lower) && Number.isFinite(upper))) return 'no clear difference';
  return lower > 0 ? 'a higher' : upper < 0 ? 'b higher' : 'no clear difference';
}

/** Compares two ablations over the cells they share. */
export function compareAblations(pair: { a: string; b: string; claim: string }, index: CohortCellIndex, settings: CohortStudySettings): CohortComparison {
  const perCell: ComparisonCell[] = [];
  const ratios: number[] = [];
  for (const a of index.of(pair.a)) {
    const b = index.get(a.key.repeat, a.key.fold, pair.b);
    if (!b) continue;
    const labels = decodeUint8(a.test.labels);
    const t = delongTest(labels, decodeFloat32(a.scores.test), decodeFloat32(b.scores.test));
    perCell.push({ repeat: a.key.repeat, fold: a.key.fold, value: a.metrics.auc - b.metrics.auc, delongP: t.pValue, delongSe: t.standardError });
    ratios.push(a.test.patients / (a.sizes.train + a.sizes.val));
  }
  const values = perCell.map((c) => c.value);
  const interval = tInterval(values, STUDY_PROTOCOL.confidence);
  const corrected = settings.protocol.kind === 'k-fold' ? correctedTTest(values, mean(ratios)) : null;
  const ps = perCell.map((c) => c.delongP);
  const judged = corrected ?? interval;
  return {
    ...pair,
    differs: differences(pair.a, pair.b),
    perCell,
    interval,
    corrected,
    delong: ps.length > 0 ? { medianP: median(ps), significant: ps.filter((p) => p < 0.05).length, medianSe: median(perCell.map((c) => c.delongSe)) } : null,
    reading: readingOf(judged.lower, judged.upper, values.length),
  };
}

/** Per-ablation summaries, in `settings.ablations` order. */
export function summarizeCohortModels(index: CohortCellIndex, settings: CohortStudySettings): CohortModelSummary[] {
  const out: CohortModelSummary[] = [];
  for (const ablation of settings.ablations) {
    const cells = index.of(ablation);
    if (cells.length === 0) continue;
    const keys = Object.keys(cells[0]!.metrics) as Array<keyof CohortCellMetrics>;
    const metrics = Object.fromEntries(keys.map((k) => [k, meanSd(cells.map((c) => c.metrics[k]))])) as Record<keyof CohortCellMetrics, MeanSd>;
    const trained = cells.filter((c) => c.training !== null);
    out.push({
      ablation,
      cells: cells.length,
      metrics,
      pooledAuc: pooledAuc(cells, settings),
      epochs: trained.length > 0 ? meanSd(trained.map((c) => c.training!.epochs)) : null,
      seconds: meanSd(cells.map((c) => c.run.seconds)),
    });
  }
  return out;
}

/** K-fold: the AUC of each repeat whose folds are all finished, over its pooled out-of-fold predictions. */
function pooledAuc(cells: readonly CohortCellRecord[], settings: CohortStudySettings): CohortModelSummary['pooledAuc'] {
  if (settings.protocol.kind !== 'k-fold') return null;
  const aucs: number[] = [];
  for (let r = 1; r <= settings.protocol.repeats; r++) {
    const folds = cells.filter((c) => c.key.repeat === r);
    if (folds.length !== settings.protocol.folds) continue;
    const labels = folds.flatMap((c) => Array.from(decodeUint8(c.test.labels)));
    const scores = folds.flatMap((c) => Array.from(decodeFloat32(c.scores.test)));
    aucs.push(rocAuc(labels, scores));
  }
  return aucs.length > 0 ? { ...meanSd(aucs), repeats: aucs.length } : null;
}
