/**
 * Interpretability helpers: which image regions the report's key fields attend to, drawn over
 * an MRI slice. Plain arrays, browser-safe.
 *
 * @packageDocumentation
 */
import type { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import { InvalidArgumentError } from '../errors.js';

/** A grey 8-bit image (as `renderSlice` returns). */
export interface GreyPicture {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** An 8-bit RGB image. */
export interface RgbPicture {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
}

/**
 * Positions of the tokens that spell the values of some report fields, in the tokenizer's
 * encoding of the report (e.g. the tokens of "MCA" and "left" for `['Territory', 'Side']`).
 * Field labels are matched as `Label: value` up to the next `|`.
 *
 * @returns sorted token positions (empty when no field is found).
 * @example
 * ```ts
 * fieldTokenPositions(tok, 'Side: left | Territory: MCA', ['Territory']); // e.g. [5]
 * ```
 */
export function fieldTokenPositions(tokenizer: WordPieceTokenizer, report: string, fields: ReadonlyArray<string>): number[] {
  const enc = tokenizer.encode(report);
  const special = new Set<number>();
  for (const t of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) {
    const id = tokenizer.tokenToId(t);
    if (id !== undefined) special.add(id);
  }
  const out = new Set<number>();
  for (const field of fields) {
    const m = new RegExp(`${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\s*([^|]+)`).exec(report);
    if (!m) continue;
    const value = tokenizer.encode(m[1]!.trim()).ids.filter((id) => !special.has(id));
    if (value.length === 0) continue;
    // find the value's token sequence inside the report's encoding
    for (let i = 0; i + value.length <= enc.ids.length; i++) {
      if (value.every((id, k) => enc.ids[i + k] === id && enc.attentionMask[i + k] === 1)) {
        for (let k = 0; k < value.length; k++) out.add(i + k);
      }
    }
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Sums the attention of the given text tokens over the visual tokens and normalises it to
 * the range 0 to 1, giving a map over the image encoder's token grid.
 *
 * @param attention - `[textTokens][visualTokens]` weights of one sample (e.g. text→vision
 *   attention of the last VDAFM layer, averaged over heads).
 * @param positions - text token positions to sum (all when empty).
 * @returns `Float32Array(visualTokens)` in [0, 1].
 * @example
 * ```ts
 * const map = attentionMap(att[0], fieldTokenPositions(tok, report, ['Territory', 'Side']));
 * ```
 */
export function attentionMap(attention: ReadonlyArray<ArrayLike<number>>, positions: ReadonlyArray<number>): Float32Array {
  if (attention.length === 0) {
    throw new InvalidArgumentError({ argument: 'attention', message: 'attention must hold at least one text token row.', received: [] });
  }
  const nv = attention[0]!.length;
  const rows = positions.length > 0 ? positions : attention.map((_, i) => i);
  const map = new Float32Array(nv);
  for (const j of rows) {
    const row = attention[j];
    if (!row) throw new InvalidArgumentError({ argument: 'positions', message: `position ${j} is outside the ${attention.length} text tokens.`, received: j });
    for (let v = 0; v < nv; v++) map[v]! += row[v]!;
  }
  let max = 0;
  for (const x of map) max = Math.max(max, x);
  if (max > 0) for (let v = 0; v < nv; v++) map[v]! /= max;
  return map;
}

/**
 * Draws a map over a token grid (`[rows, cols]`, row-major) onto a grey slice as a red heat
 * overlay: the slice on the left, the overlay on the right.
 *
 * @param options - `alpha` opacity of the heat (default 0.6), `scale` integer upscaling (default 1).
 * @returns an RGB image `2·width × height` (times `scale`).
 * @example
 * ```ts
 * const png = imageToPng(overlayHeatmap(renderSlice(image), map, [4, 4], { scale: 4 }));
 * ```
 */
export function overlayHeatmap(
  slice: GreyPicture,
  map: ArrayLike<number>,
  grid: readonly [number, number],
  options: { alpha?: number; scale?: number } = {},
): RgbPicture {
  const [gr, gc] = grid;
  if (map.length !== gr * gc) {
    throw new InvalidArgumentError({ argument: 'map', message: `map must hold rows·cols = ${gr * gc} values for grid [${gr}, ${gc}].`, received: map.length });
  }
  const alpha = options.alpha ?? 0.6;
  const s = options.scale ?? 1;
  if (!Number.isInteger(s) || s < 1) throw new InvalidArgumentError({ argument: 'options.scale', message: 'scale must be a positive integer.', received: s });
  const { width: w, height: h } = slice;
  const W = 2 * w * s;
  const out = new Uint8Array(W * h * s * 3);
  for (let y = 0; y < h * s; y++) {
    for (let x = 0; x < w * s; x++) {
      const sy = Math.floor(y / s);
      const sx = Math.floor(x / s);
      const g = slice.data[sy * w + sx]!;
      const a = alpha * (map[Math.min(gr - 1, Math.floor((sy * gr) / h)) * gc + Math.min(gc - 1, Math.floor((sx * gc) / w))] ?? 0);
      const left = (y * W + x) * 3;
      out[left] = g;
      out[left + 1] = g;
      out[left + 2] = g;
      const right = (y * W + w * s + x) * 3;
      out[right] = Math.round(g * (1 - a) + 255 * a);
      out[right + 1] = Math.round(g * (1 - a));
      out[right + 2] = Math.round(g * (1 - a));
    }
  }
  return { data: out, width: W, height: h * s, channels: 3 };
}
