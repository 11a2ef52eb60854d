import { describe, expect, it } from 'vitest';
import { attentionMap, fieldTokenPositions, InvalidArgumentError, overlayHeatmap, WordPieceTokenizer } from '../../src/index.js';

describe('interpretability helpers', () => {
  const tok = WordPieceTokenizer.train(['Side: left | Territory: MCA | Size: small', 'Side: right | Territory: PCA | Size: large'], { vocabSize: 100, minFrequency: 1 }, { maxLength: 24 });

  it('finds the tokens of the named fields in the encoded report', () => {
    const report = 'Side: left | Territory: MCA | Size: small';
    const enc = tok.encode(report);
    const positions = fieldTokenPositions(tok, report, ['Territory', 'Side']);
    const tokens = positions.map((p) => enc.tokens[p]);
    expect(tokens).toEqual(['left', 'mca']);
    expect(fieldTokenPositions(tok, report, ['Impression'])).toEqual([]);
  });

  it('sums and normalises attention rows', () => {
    const att = [
      [0.1, 0.9],
      [0.5, 0.5],
      [0.4, 0.2],
    ];
    const a = attentionMap(att, [0, 2]); // sums [0.5, 1.1] → / 1.1
    expect(a[0]).toBeCloseTo(0.5 / 1.1, 6);
    expect(a[1]).toBe(1);
    const all = attentionMap(att, []); // sums [1.0, 1.6] → / 1.6
    expect(all[0]).toBeCloseTo(1 / 1.6, 6);
    expect(all[1]).toBe(1);
    expect(() => attentionMap(att, [3])).toThrowError(InvalidArgumentError);
  });

  it('draws the slice and its red overlay side by side, hand-checked pixels', () => {
    const slice = { data: Uint8Array.from([100, 100, 100, 100]), width: 2, height: 2 };
    const img = overlayHeatmap(slice, [1, 0, 0, 0], [2, 2], { alpha: 0.5 });
    expect([img.width, img.height, img.channels]).toEqual([4, 2, 3]);
    const px = (x: number, y: number) => Array.from(img.data.slice((y * 4 + x) * 3, (y * 4 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([100, 100, 100]); // left: the slice
    expect(px(2, 0)).toEqual([178, 50, 50]); // right, cell (0,0): 100·0.5 + 255·0.5, 100·0.5
    expect(px(3, 1)).toEqual([100, 100, 100]); // right, cell (1,1): no attention
    expect(overlayHeatmap(slice, [1, 0, 0, 0], [2, 2], { scale: 3 }).width).toBe(12);
    expect(() => overlayHeatmap(slice, [1, 0], [2, 2])).toThrowError(/map/);
  });
});
