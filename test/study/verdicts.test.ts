// Claim verdicts by the pre-registered rules: each kind's shown / not shown / contrary against
// hand-made intervals, and judgeClaim on hand-made cells (mean, t-interval, per-seed DeLong).
import { describe, expect, it } from 'vitest';
import { delongTest } from '../../src/metrics/delong.js';
import { CellIndex, judgeClaim, targetMet, verdictOf } from '../../src/study/analysis.js';
import { CELL_FORMAT, type CellRecord, encodeFloat32, encodeUint8 } from '../../src/study/cells.js';
import { CLAIMS } from '../../src/study/claims.js';
import { resolveStudySettings } from '../../src/study/design.js';

const iv = (lower: number, upper: number, n = 10) => ({ n, lower, upper });

describe('verdicts (pre-registered rules)', () => {
  it('superiority: shown above 0, contrary below 0, not shown across', () => {
    expect(verdictOf('superiority', iv(0.001, 0.04), 0.02)).toBe('shown');
    expect(verdictOf('superiority', iv(-0.01, 0.04), 0.02)).toBe('not shown');
    expect(verdictOf('superiority', iv(0, 0.04), 0.02)).toBe('not shown'); // the lower bound must exceed 0
    expect(verdictOf('superiority', iv(-0.04, -0.001), 0.02)).toBe('contrary');
    // the hoped-for effect is reported beside the verdict, on the mean
    expect(targetMet('superiority', 0.012, 0.02)).toBe(false);
    expect(targetMet('superiority', 0.021, 0.02)).toBe(true);
  });

  it('equivalence: shown inside ±margin, contrary wholly outside', () => {
    expect(verdictOf('equivalence', iv(-0.008, 0.009), 0.01)).toBe('shown');
    expect(verdictOf('equivalence', iv(-0.01, 0.01), 0.01)).toBe('shown');
    expect(verdictOf('equivalence', iv(-0.004, 0.013), 0.01)).toBe('not shown');
    expect(verdictOf('equivalence', iv(0.011, 0.03), 0.01)).toBe('contrary');
    expect(verdictOf('equivalence', iv(-0.05, -0.02), 0.01)).toBe('contrary');
    expect(targetMet('equivalence', -0.004, 0.01)).toBe(true);
  });

  it('thresholds: AUC at least, regret at most', () => {
    expect(verdictOf('auc-at-least', iv(0.671, 0.69), 0.67)).toBe('shown');
    expect(verdictOf('auc-at-least', iv(0.66, 0.69), 0.67)).toBe('not shown');
    expect(verdictOf('auc-at-least', iv(0.6, 0.669), 0.67)).toBe('contrary');
    expect(verdictOf('regret-at-most', iv(0.01, 0.02), 0.02)).toBe('shown');
    expect(verdictOf('regret-at-most', iv(0.01, 0.025), 0.02)).toBe('not shown');
    expect(verdictOf('regret-at-most', iv(0.021, 0.05), 0.02)).toBe('contrary');
    expect(targetMet('regret-at-most', 0.019, 0.02)).toBe(true);
  });

  it('fewer than two seeds give no interval: not shown (one seed) or not run (none)', () => {
    expect(verdictOf('superiority', { n: 1, lower: Number.NaN, upper: Number.NaN }, 0.02)).toBe('not shown');
    expect(verdictOf('superiority', { n: 0, lower: Number.NaN, upper: Number.NaN }, 0.02)).toBe('not run');
  });
});

/** A hand-made cell: `auc` is what the claim uses; the scores feed DeLong. */
function cell(ablation: string, seed: number, auc: number, labels: Uint8Array, scores: Float32Array, regret = 0.05): CellRecord {
  const key = { scenario: 'imbalance' as const, trainSize: 600, seed, ablation };
  return {
    format: CELL_FORMAT,
    id: `imbalance.n600.s${String(seed).padStart(2, '0')}.${ablation}`,
    key,
    quick: false,
    settings: {},
    settingsHash: '',
    recipeHash: '',
    test: { patients: labels.length, seed: 90210, labelsDigest: 'x', bayesAuc: 0.84, bayesLogLoss: 0.5, labels: encodeUint8(labels) },
    metrics: { auc, regret, logLoss: 0.5, excessLogLoss: 0.01, brier: 0.2, ece: 0.02, calibrationSlope: 1, calibrationIntercept: 0, valAuc: 0.8 },
    scores: { test: encodeFloat32(scores), val: '', valLabels: '' },
    training: null,
    run: { seconds: 1, finishedAt: '', backend: 'cpu' },
  };
}

describe('judgeClaim on hand-made cells', () => {
  const labels = Uint8Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const scoresOf = (shift: number) => Float32Array.from(labels, (y, i) => 0.3 + 0.2 * y + 0.01 * ((i * 7 + shift) % 13));
  const c1 = CLAIMS.find((c) => c.id === 'C1')!; // full vs concat, superiority, target 0.02
  const settings = resolveStudySettings();

  it('C1: per-seed ΔAUC, its mean and t-interval, per-seed DeLong, verdict', () => {
    const deltas = [0.03, 0.01, 0.02, 0.04];
    const cells = deltas.flatMap((d, s) => [cell('full', s + 1, 0.8 + d, labels, scoresOf(s + 5)), cell('concat', s + 1, 0.8, labels, scoresOf(s))]);
    const r = judgeClaim(c1, new CellIndex(cells), settings);
    expect(r.perSeed.map((p) => p.seed)).toEqual([1, 2, 3, 4]);
    for (let s = 0; s < 4; s++) {
      expect(r.perSeed[s]!.value).toBeCloseTo(deltas[s]!, 12);
      const t = delongTest(labels, scoresOf(s + 5), scoresOf(s));
      expect(r.perSeed[s]!.delongP).toBe(t.pValue);
      expect(r.perSeed[s]!.delongSe).toBe(t.standardError);
    }
    // mean 0.025, sd 0.0129099, t(0.975, 3) = 3.182446 → [0.004457, 0.045543]
    expect(r.interval.mean).toBeCloseTo(0.025, 12);
    expect(r.interval.lower).toBeCloseTo(0.0044574, 6);
    expect(r.interval.upper).toBeCloseTo(0.0455426, 6);
    expect(r.verdict).toBe('shown');
    expect(r.targetMet).toBe(true);
    expect(r.delong!.significant).toBe(r.perSeed.filter((p) => p.delongP! < 0.05).length);
  });

  it('C1 not shown when the interval crosses 0; contrary below; seeds without the pair are left out', () => {
    const mixed = [0.03, -0.02, 0.01];
    const cells = mixed.flatMap((d, s) => [cell('full', s + 1, 0.8 + d, labels, scoresOf(s + 1)), cell('concat', s + 1, 0.8, labels, scoresOf(s))]);
    cells.push(cell('full', 9, 0.9, labels, scoresOf(9))); // no concat for seed 9
    const r = judgeClaim(c1, new CellIndex(cells), settings);
    expect(r.interval.n).toBe(3);
    expect(r.verdict).toBe('not shown');
    const worse = [-0.03, -0.02, -0.025].flatMap((d, s) => [cell('full', s + 1, 0.8 + d, labels, scoresOf(s + 1)), cell('concat', s + 1, 0.8, labels, scoresOf(s))]);
    expect(judgeClaim(c1, new CellIndex(worse), settings).verdict).toBe('contrary');
    expect(judgeClaim(c1, new CellIndex([]), settings).verdict).toBe('not run');
  });

  it('threshold claims use the per-seed AUC (N2) or regret (N3, C6)', () => {
    const n2 = CLAIMS.find((c) => c.id === 'N2')!;
    const additive = (ablation: string, seed: number, auc: number, regret = 0.05) => {
      const c = cell(ablation, seed, auc, labels, scoresOf(seed), regret);
      c.key = { ...c.key, scenario: 'additive' };
      return c;
    };
    const aucs = [0.69, 0.7, 0.68, 0.71, 0.7];
    const r = judgeClaim(n2, new CellIndex(aucs.map((a, s) => additive('image', s + 1, a))), settings);
    expect(r.interval.mean).toBeCloseTo(0.696, 12);
    expect(r.verdict).toBe('shown');
    expect(r.delong).toBeNull();
    const n3 = CLAIMS.find((c) => c.id === 'N3')!;
    const regrets = [0.04, 0.05, 0.045];
    const r3 = judgeClaim(n3, new CellIndex(regrets.map((g, s) => additive('full', s + 1, 0.79, g))), settings);
    expect(r3.interval.mean).toBeCloseTo(0.045, 12);
    expect(r3.verdict).toBe('contrary');
  });
});
