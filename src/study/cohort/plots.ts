/**
 * The plots of a study on a cohort of your own (vega-lite specs, rendered to SVG when vega is
 * installed): the comparisons' mean ΔAUC with the plain and the corrected 95% intervals, and
 * each ablation's test AUC per fold and repeat.
 *
 * @packageDocumentation
 */
import type { VegaLiteSpec } from '../../demo/plots.js';
import type { CohortComparison } from './analysis.js';
import type { CohortCellRecord } from './cells.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/**
 * The comparisons: one row per pair, its mean ΔAUC (a − b), the plain t-interval over folds ×
 * repeats (thin, grey) and the corrected resampled t-interval (thick, coloured by the reading),
 * with the zero line.
 */
export function comparisonsSpec(comparisons: readonly CohortComparison[], title: string, subtitle: string): VegaLiteSpec {
  const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : null);
  const rows = comparisons
    .filter((c) => c.interval.n > 0)
    .map((c) => ({
      comparison: `${c.a} − ${c.b} (${c.differs})`,
      mean: finite(c.interval.mean),
      lower: finite(c.interval.lower),
      upper: finite(c.interval.upper),
      corrLower: finite(c.corrected?.lower ?? c.interval.lower),
      corrUpper: finite(c.corrected?.upper ?? c.interval.upper),
      reading: c.reading,
      cells: c.interval.n,
    }));
  return {
    $schema: SCHEMA,
    title: { text: title, subtitle },
    width: 420,
    data: { values: rows },
    encoding: { y: { field: 'comparison', type: 'nominal', title: null, sort: null, axis: { labelLimit: 420 } } },
    layer: [
      { mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { x: { datum: 0 }, y: null } },
      { mark: { type: 'rule', color: '#bbb', strokeWidth: 1 }, encoding: { x: { field: 'lower', type: 'quantitative', title: 'ΔAUC (a − b), 95% intervals' }, x2: { field: 'upper' } } },
      {
        mark: { type: 'rule', strokeWidth: 3 },
        encoding: {
          x: { field: 'corrLower', type: 'quantitative' },
          x2: { field: 'corrUpper' },
          color: { field: 'reading', type: 'nominal', scale: { domain: ['a higher', 'no clear difference', 'b higher'], range: ['#2a9d3f', '#888888', '#c0392b'] } },
        },
      },
      { mark: { type: 'point', filled: true, size: 60, color: 'black' }, encoding: { x: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'comparison' }, { field: 'mean' }, { field: 'corrLower' }, { field: 'corrUpper' }, { field: 'cells' }] } },
    ],
  };
}

/** Each ablation's test AUC, one dot per cell (coloured by repeat), the mean as a tick. */
export function foldAucSpec(cells: readonly CohortCellRecord[], ablations: readonly string[], title: string): VegaLiteSpec {
  const values = cells.map((c) => ({ model: c.key.ablation, repeat: c.key.repeat, fold: c.key.fold, auc: c.metrics.auc }));
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    width: 320,
    layer: [
      {
        mark: { type: 'point', filled: true, opacity: 0.7 },
        encoding: {
          y: { field: 'model', type: 'nominal', title: null, sort: ablations },
          x: { field: 'auc', type: 'quantitative', title: 'Test AUC of the fold', scale: { zero: false } },
          color: { field: 'repeat', type: 'ordinal', title: 'repeat' },
          tooltip: [{ field: 'model' }, { field: 'repeat' }, { field: 'fold' }, { field: 'auc' }],
        },
      },
      { mark: { type: 'tick', color: 'black', thickness: 2 }, encoding: { y: { field: 'model', type: 'nominal', sort: ablations }, x: { aggregate: 'mean', field: 'auc', type: 'quantitative' } } },
    ],
  };
}
