/**
 * Plots of the demo as vega-lite specs (data), rendered to SVG with `vega` + `vega-lite` when
 * they are installed (optional peer dependencies), otherwise left as `.vl.json` specs.
 *
 * @packageDocumentation
 */

/** A vega-lite specification (plain JSON). */
export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** The dashed y = x reference line of ROC and calibration charts. */
const DIAGONAL = {
  data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
  mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
  encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
};

/**
 * ROC curves of several models in one chart, with the diagonal.
 *
 * @param curves - model name → ROC points (false/true positive rates).
 */
export function rocSpec(curves: Record<string, { fpr: ArrayLike<number>; tpr: ArrayLike<number>; auc: number }>): VegaLiteSpec {
  const values: Array<Record<string, unknown>> = [];
  for (const [name, c] of Object.entries(curves)) {
    const label = `${name} (AUC ${c.auc.toFixed(3)})`;
    for (let i = 0; i < c.fpr.length; i++) values.push({ model: label, fpr: c.fpr[i], tpr: c.tpr[i], order: i });
  }
  return {
    $schema: SCHEMA,
    title: 'ROC curves on the test set',
    width: 360,
    height: 360,
    layer: [
      DIAGONAL,
      {
        data: { values },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'False positive rate', scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: 'True positive rate', scale: { domain: [0, 1] } },
          color: { field: 'model', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ],
  };
}

/**
 * Reliability diagrams (mean predicted probability vs observed frequency per bin).
 *
 * @param curves - model name → bins with their mean prediction, observed rate and count.
 */
export function calibrationSpec(curves: Record<string, { predicted: ArrayLike<number>; observed: ArrayLike<number>; counts: ArrayLike<number> }>): VegaLiteSpec {
  const values: Array<Record<string, unknown>> = [];
  for (const [name, c] of Object.entries(curves)) {
    for (let i = 0; i < c.predicted.length; i++) {
      if (!(c.counts[i]! > 0)) continue;
      values.push({ model: name, predicted: c.predicted[i], observed: c.observed[i], count: c.counts[i] });
    }
  }
  return {
    $schema: SCHEMA,
    title: 'Calibration on the test set',
    width: 360,
    height: 360,
    layer: [
      DIAGONAL,
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'predicted', type: 'quantitative', title: 'Mean predicted probability', scale: { domain: [0, 1] } },
          y: { field: 'observed', type: 'quantitative', title: 'Observed frequency of poor outcome', scale: { domain: [0, 1] } },
          color: { field: 'model', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } },
        },
      },
    ],
  };
}

/**
 * Training curves: one line per (model, metric) over epochs.
 *
 * @param histories - model name → per-epoch logs.
 * @param metrics - which logged values to draw.
 */
export function trainingCurvesSpec(histories: Record<string, Array<Record<string, number>>>, metrics: string[]): VegaLiteSpec {
  const values: Array<Record<string, unknown>> = [];
  for (const [name, epochs] of Object.entries(histories)) {
    epochs.forEach((logs, epoch) => {
      for (const m of metrics) if (Number.isFinite(logs[m])) values.push({ model: name, metric: m, epoch: epoch + 1, value: logs[m] });
    });
  }
  return {
    $schema: SCHEMA,
    title: 'Training curves',
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'Epoch' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'model', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/**
 * A model's training diagnostics, one panel per group of logged values: each auxiliary head's
 * validation AUC and the gate per epoch; the balancing coefficients, held-out and training
 * confidence, gradient-norm shares, alignment terms (with ln B) and retrieval rates (with chance)
 * per step.
 *
 * @param epochs - per-epoch logs (`TrainingHistory.epochs`).
 * @param steps - per-step logs (`onBatchEnd`).
 */
export function diagnosticsSpec(title: string, epochs: Array<Record<string, number>>, steps: Array<Record<string, number>>): VegaLiteSpec {
  const panels: Array<[string, RegExp, 'epoch' | 'step']> = [
    ['auxiliary-head validation AUC', /^val_auc(_|$)/, 'epoch'],
    ['gate (mean, sd)', /^val_gate_/, 'epoch'],
    ['balancing coefficient', /^coef_/, 'step'],
    ['confidence on the true class', /^conf_(heldout|train)_/, 'step'],
    ['share of the gradient norm²', /^grad_share_/, 'step'],
    ['alignment terms (vs ln B)', /^(align_|ln_batch$)/, 'step'],
    ['retrieval (vs chance)', /^retrieval_/, 'step'],
  ];
  const values: Array<Record<string, unknown>> = [];
  for (const [panel, re, axis] of panels) {
    const rows = axis === 'epoch' ? epochs : steps;
    rows.forEach((logs, i) => {
      for (const [k, v] of Object.entries(logs)) if (re.test(k) && Number.isFinite(v)) values.push({ panel, series: k, x: i + 1, axis, value: v });
    });
  }
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels.map(([p]) => p) },
    columns: 4,
    spec: {
      width: 220,
      height: 150,
      mark: { type: 'line', point: false, strokeWidth: 1.2 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'epoch / step' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 4 } },
      },
    },
    resolve: { scale: { y: 'independent', x: 'independent' } },
  };
}

/**
 * Test-time drop-one-modality ΔAUC per model: how far each model's test AUC falls when one
 * modality is withheld.
 */
export function dropModalitySpec(rows: Array<{ model: string; modality: string; delta: number }>): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title: 'Test AUC change when one modality is withheld',
    data: { values: rows },
    width: 320,
    height: { step: 14 },
    mark: 'bar',
    encoding: {
      y: { field: 'model', type: 'nominal', title: null },
      yOffset: { field: 'modality', type: 'nominal' },
      x: { field: 'delta', type: 'quantitative', title: 'ΔAUC (without − with)' },
      color: { field: 'modality', type: 'nominal', title: 'withheld' },
    },
  };
}

/**
 * Renders a vega-lite spec to SVG with the optional `vega` and `vega-lite` packages.
 *
 * @returns the SVG text, or null when those packages are not installed.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string | null> {
  let vega: typeof import('vega');
  let vl: typeof import('vega-lite');
  try {
    vega = await import('vega');
    vl = await import('vega-lite');
  } catch {
    return null;
  }
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
