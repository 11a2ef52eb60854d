/**
 * The study's plots as vega-lite specs (rendered to SVG with `renderSvg` of the demo when vega
 * and vega-lite are installed): the paired-difference forest plot of the claims, the learning
 * curves, and the regret of every model per seed.
 *
 * @packageDocumentation
 */
import type { VegaLiteSpec } from '../demo/plots.js';
import type { CellRecord } from './cells.js';
import type { ClaimResult, CurvePoint } from './analysis.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/**
 * The forest plot: one row per claim, its mean with the 95% t-interval, the zero line, and the
 * claim's own reference (hoped-for effect, ±margin, or threshold). Comparisons show the paired
 * ΔAUC; threshold claims show their distance to the target, signed so that > 0 supports the
 * claim (AUC − target; target − regret).
 */
export function forestSpec(claims: readonly ClaimResult[], title: string): VegaLiteSpec {
  const rows = claims
    .filter((c) => c.interval.n > 0)
    .map((c) => {
      const sign = c.kind === 'regret-at-most' ? -1 : 1;
      const shift = c.kind === 'auc-at-least' || c.kind === 'regret-at-most' ? c.target : 0;
      const at = (x: number) => (Number.isFinite(x) ? sign * (x - shift) : null);
      const what = c.b ? `${c.a} − ${c.b}` : c.kind === 'auc-at-least' ? `AUC(${c.a}) − ${c.target}` : `${c.target} − regret(${c.a})`;
      return {
        claim: `${c.id} ${c.scenario} n=${c.trainSize}: ${what}`,
        mean: at(c.interval.mean),
        lower: Number.isFinite(c.interval.lower) ? Math.min(at(c.interval.lower)!, at(c.interval.upper)!) : null,
        upper: Number.isFinite(c.interval.upper) ? Math.max(at(c.interval.lower)!, at(c.interval.upper)!) : null,
        verdict: c.verdict,
        seeds: c.interval.n,
        reference: c.kind === 'superiority' ? c.target : null,
        margin: c.kind === 'equivalence' ? c.target : null,
      };
    });
  const y = { field: 'claim', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } };
  return {
    $schema: SCHEMA,
    title: { text: title, subtitle: 'blue tick: hoped-for effect (superiority); orange ticks: ±margin (equivalence); dashed: 0' },
    width: 420,
    data: { values: rows },
    encoding: { y },
    layer: [
      { mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { x: { datum: 0 }, y: null } },
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { field: 'lower', type: 'quantitative', title: 'Difference (95% t-interval over seeds); > 0 supports the claim' }, x2: { field: 'upper' }, color: { field: 'verdict', type: 'nominal', scale: { domain: ['shown', 'not shown', 'contrary'], range: ['#2a9d3f', '#888888', '#c0392b'] } } } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'mean', type: 'quantitative' }, color: { field: 'verdict', type: 'nominal' }, tooltip: [{ field: 'claim' }, { field: 'mean' }, { field: 'lower' }, { field: 'upper' }, { field: 'seeds' }] } },
      { mark: { type: 'tick', color: '#1f77b4', thickness: 2 }, encoding: { x: { field: 'reference', type: 'quantitative' } } },
      { transform: [{ filter: 'datum.margin !== null' }, { calculate: '-datum.margin', as: 'negMargin' }], mark: { type: 'tick', color: '#ff7f0e', thickness: 2 }, encoding: { x: { field: 'negMargin', type: 'quantitative' } } },
      { mark: { type: 'tick', color: '#ff7f0e', thickness: 2 }, encoding: { x: { field: 'margin', type: 'quantitative' } } },
    ],
  };
}

/**
 * Learning curves: test AUC (mean ± sd over the curve's seeds) against training patients (log
 * scale) for each model and the oracle, the Bayes-optimal AUC of the test cohort as a
 * horizontal line, and the pre-registered finite-sample oracle when known; one panel per scenario.
 */
export function learningCurveSpec(
  curves: Record<string, { points: readonly CurvePoint[]; bayes: number; finiteSample: ReadonlyArray<{ trainSize: number; auc: number }> }>,
  title: string,
): VegaLiteSpec {
  const values: Array<Record<string, unknown>> = [];
  for (const [scenario, c] of Object.entries(curves)) {
    for (const p of c.points) values.push({ scenario, model: p.ablation, n: p.trainSize, auc: p.auc.mean, lo: p.auc.mean - (p.auc.sd || 0), hi: p.auc.mean + (p.auc.sd || 0), seeds: p.seeds });
    const sizes = c.points.map((p) => p.trainSize);
    if (sizes.length > 0) {
      for (const n of [Math.min(...sizes), Math.max(...sizes)]) values.push({ scenario, model: 'Bayes (true probability)', n, auc: c.bayes, lo: c.bayes, hi: c.bayes });
    }
    for (const f of c.finiteSample) values.push({ scenario, model: 'finite-sample oracle (ceilings)', n: f.trainSize, auc: f.auc, lo: f.auc, hi: f.auc });
  }
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: { column: { field: 'scenario', type: 'nominal', title: null } },
    spec: {
      width: 320,
      height: 240,
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'n', type: 'quantitative', title: 'Training patients', scale: { type: 'log', nice: false } },
            y: { field: 'auc', type: 'quantitative', title: 'Test AUC (mean ± sd over seeds)', scale: { zero: false } },
            color: { field: 'model', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 280 } },
            strokeDash: { condition: { test: "indexof(datum.model, 'Bayes') >= 0 || indexof(datum.model, 'ceilings') >= 0", value: [4, 4] }, value: [1, 0] },
          },
        },
        { mark: { type: 'errorbar' }, encoding: { x: { field: 'n', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative', title: 'Test AUC (mean ± sd over seeds)' }, y2: { field: 'hi' }, color: { field: 'model', type: 'nominal' } } },
      ],
    },
  };
}

/** Regret against Bayes of every model, one dot per seed (and the mean as a tick), one panel per scenario. */
export function regretSpec(cells: readonly CellRecord[], ablations: readonly string[], title: string): VegaLiteSpec {
  const values = cells.map((c) => ({ scenario: c.key.scenario, model: c.key.ablation, seed: c.key.seed, regret: c.metrics.regret }));
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: { column: { field: 'scenario', type: 'nominal', title: null } },
    spec: {
      width: 300,
      layer: [
        {
          mark: { type: 'point', filled: true, opacity: 0.7 },
          encoding: {
            y: { field: 'model', type: 'nominal', title: null, sort: ablations },
            x: { field: 'regret', type: 'quantitative', title: 'Regret: Bayes AUC − model AUC (same test patients)' },
            color: { field: 'seed', type: 'ordinal', title: 'seed' },
          },
        },
        {
          mark: { type: 'tick', color: 'black', thickness: 2 },
          encoding: { y: { field: 'model', type: 'nominal', sort: ablations }, x: { aggregate: 'mean', field: 'regret', type: 'quantitative' } },
        },
      ],
    },
  };
}
