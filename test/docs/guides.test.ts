// Every TypeScript code block of the guides below is the same code as a file that the test
// suite runs (an example or a test): each block's lines must appear, in order and contiguous,
// in one of the named source files (leading indentation ignored).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const guides: Record<string, string[]> = {
  'docs/guides/vdafm.md': ['examples/vdafm-custom-model.ts'],
  'docs/guides/synthetic-cohort.md': ['test/data/guide-example.test.ts'],
  'docs/guides/training.md': ['test/node/pipeline.test.ts'],
  'docs/guides/encoders.md': ['examples/encoders.ts'],
  'docs/guides/saving-and-deploying.md': ['test/node/io.test.ts', 'test/node/pipeline.test.ts'],
  'docs/guides/interpretability.md': ['examples/interpretability.ts'],
  'docs/guides/browser.md': ['examples/browser/loader.ts', 'examples/browser/main.ts', 'test/browser/loader.test.ts'],
  'docs/guides/nifti.md': ['src/node/cohort/preprocess.ts', 'examples/nifti/run.ts'],
  'docs/guides/own-cohort.md': ['test/node/cohort/guide-example.test.ts'],
  'docs/guides/other-disease.md': ['examples/other-disease.ts'],
  'docs/guides/backends.md': ['examples/backend.ts'],
  'docs/guides/building-blocks.md': ['examples/building-blocks.ts', 'test/layers/attention.test.ts'],
};

function codeBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  const re = /```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) blocks.push(m[1]!.split('\n'));
  return blocks;
}

const norm = (l: string) => l.trim().replace(/^\* ?/, '');

function contains(source: string[], block: string[]): boolean {
  const lines = block.map(norm).filter((l) => l.length > 0);
  const src = source.map(norm).filter((l) => l.length > 0);
  for (let i = 0; i + lines.length <= src.length; i++) {
    if (lines.every((l, j) => src[i + j] === l)) return true;
  }
  return false;
}


describe('guides show executed code', () => {
  for (const [guide, sources] of Object.entries(guides)) {
    it(guide, () => {
      const blocks = codeBlocks(readFileSync(guide, 'utf8'));
      expect(blocks.length).toBeGreaterThan(0);
      const files = sources.map((s) => readFileSync(s, 'utf8').split('\n'));
      for (const block of blocks) {
        const ok = files.some((f) => contains(f, block));
        expect(ok, `this block of ${guide} is not in ${sources.join(', ')}:\n${block.join('\n')}`).toBe(true);
      }
    });
  }
});
