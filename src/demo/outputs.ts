/**
 * What the demo writes besides metrics: the results table, plots (vega-lite specs rendered to
 * SVG when vega is installed) and attention overlays (PNG).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GreyImage } from '../data/render.js';
import type { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import { attentionMap, fieldTokenPositions, overlayHeatmap } from '../interpret/overlay.js';
import type { TriModalData } from '../models/data.js';
import type { TriModalModel } from '../models/tri-modal.js';
import { imageToPng } from '../text/images.js';
import { renderSvg, type VegaLiteSpec } from './plots.js';

/** One row of the results. */
export interface DemoRow {
  name: string;
  modalities: string[];
  auc: number;
  aucCi: [number, number];
  auprc: number;
  sensitivity: number;
  specificity: number;
  threshold: number;
  brier: number;
  ece: number;
  epochs: number;
  seconds: number;
}

/** A number with `digits` decimals, or 'n/a'. */
export function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/**
 * Renders the results table as markdown, with the Bayes-optimal line when the true risk is
 * known (the synthetic cohort; never a cohort of your own).
 */
export function demoTable(rows: DemoRow[], bayes: { auc: number; ci: [number, number] } | null): string {
  const lines = [
    '| model | AUC [95% CI] | AUPRC | sensitivity | specificity | Brier | ECE |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.auc)} [${fmt(r.aucCi[0])}, ${fmt(r.aucCi[1])}] | ${fmt(r.auprc)} | ${fmt(r.sensitivity)} | ${fmt(r.specificity)} | ${fmt(r.brier)} | ${fmt(r.ece)} |`,
    ),
    ...(bayes ? [`| Bayes-optimal (true risk) | ${fmt(bayes.auc)} [${fmt(bayes.ci[0])}, ${fmt(bayes.ci[1])}] | | | | | |`] : []),
  ];
  return lines.join('\n');
}

/**
 * Writes each plot's vega-lite spec and, when vega and vega-lite are installed, its SVG.
 *
 * @returns how many SVGs were rendered.
 */
export async function writePlots(plots: Array<[string, VegaLiteSpec]>, write: (name: string, data: string | Uint8Array) => void): Promise<number> {
  let rendered = 0;
  for (const [name, spec] of plots) {
    write(`${name}.vl.json`, JSON.stringify(spec, null, 1));
    const svg = await renderSvg(spec);
    if (svg) {
      write(`${name}.svg`, svg);
      rendered++;
    }
  }
  return rendered;
}

/** One overlay panel: the grey slice drawn under the attention, and the patient's report. */
export interface OverlayPanel {
  slice: GreyImage;
  text: string | null;
}

/**
 * PNG overlays for the first few test patients (one panel each, in `test`'s row order): the
 * slice, and the text→vision attention of the report tokens naming the lesion's territory and
 * side (all report tokens when the report names neither; last VDAFM layer, mean over heads),
 * upsampled to the image and drawn in red.
 */
export async function attentionOverlays(model: TriModalModel, panelsIn: readonly OverlayPanel[], test: TriModalData, tok: WordPieceTokenizer): Promise<[string, Uint8Array]> {
  const n = panelsIn.length;
  const idx = tf.tensor1d(Array.from({ length: n }, (_, i) => i), 'int32');
  const batch = Object.fromEntries(Object.entries(test).map(([k, t]) => [k, tf.gather(t as tf.Tensor, idx)])) as unknown as TriModalData;
  const { probabilities, textToVisionAttention } = model.predict(batch, { attention: true });
  const maps = textToVisionAttention!.at(-1)!; // [n, heads, Nt, Nv]
  const att = (await tf.mean(maps, 1).array()) as number[][][]; // [n, Nt, Nv]
  const grid = model.imageGridShape() as [number, number];
  const panels: Uint8Array[] = [];
  let width = 0;
  let height = 0;
  panelsIn.forEach((panel, k) => {
    const map = attentionMap(att[k]!, fieldTokenPositions(tok, panel.text ?? '', ['Territory', 'Side']));
    const rgb = overlayHeatmap(panel.slice, map, grid, { scale: 4 });
    width = rgb.width;
    height = rgb.height;
    panels.push(rgb.data);
  });
  // the patients stacked vertically
  const all = new Uint8Array(panels.length * width * height * 3);
  panels.forEach((pnl, i) => all.set(pnl, i * pnl.length));
  tf.dispose([idx, probabilities, ...textToVisionAttention!, ...Object.values(batch)]);
  return ['attention-overlays.png', imageToPng({ data: all, width, height: height * panels.length, channels: 3 })];
}
