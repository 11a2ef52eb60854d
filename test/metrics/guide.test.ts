// The runnable example of docs/guides/metrics.md. The code between the `guide:start` and
// `guide:end` markers below must be identical to the guide's first ```ts block (without its
// import line), and what it prints must be identical to the guide's ```text block after it.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Random } from '../../src/core/random.js';
import { bootstrapCi, evaluateBinary, formatMetricsTable, rocAuc } from '../../src/metrics/index.js';

const guide = readFileSync(new URL('../../docs/guides/metrics.md', import.meta.url), 'utf8');
const self = readFileSync(new URL(import.meta.url), 'utf8');

/** The lines between two marker comments, dedented. */
function region(text: string, start: string, end: string): string {
  const lines = text.split('\n');
  const a = lines.findIndex((l) => l.trim() === start);
  const b = lines.findIndex((l, i) => i > a && l.trim() === end);
  const body = lines.slice(a + 1, b);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return body.map((l) => l.slice(indent)).join('\n');
}

/** The content of the first fenced block of `lang` after the `<!-- example -->` marker. */
function fenced(lang: string): string {
  const from = guide.indexOf('<!-- example: test/metrics/guide.test.ts -->');
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(guide.slice(from));
  if (from < 0 || !m) throw new Error(`docs/guides/metrics.md has no ${lang} example block`);
  return m[1]!;
}

describe('docs/guides/metrics.md example', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is this test, and prints what the guide shows', () => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));

    // guide:start
    // A synthetic cohort: 300 patients, about 30 % positive, a model with some signal.
    const rng = new Random(2026);
    const labels: number[] = [];
    const probs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const y = rng.bernoulli(0.3) ? 1 : 0;
      labels.push(y);
      probs.push(1 / (1 + Math.exp(-rng.normal(y === 1 ? 0.8 : -1.2, 1.1))));
    }

    const auc = rocAuc(labels, probs);
    const ci = bootstrapCi(labels, probs, rocAuc, { numResamples: 1000, seed: 1 });
    console.log(`AUC ${auc.toFixed(3)} [${ci.lower.toFixed(3)}, ${ci.upper.toFixed(3)}], degenerate resamples: ${ci.numDegenerate}`);

    const evaluation = evaluateBinary(labels, probs, { bootstrap: { numResamples: 1000, seed: 1 } });
    console.log(`Youden threshold ${evaluation.youden.threshold.toFixed(3)}, accuracy at 0.5: ${evaluation.atThreshold.accuracy.toFixed(3)}`);
    console.log(formatMetricsTable([{ name: 'toy model', evaluation }]));
    // guide:end

    const code = fenced('ts').split('\n');
    expect(code[0]).toBe("import { Random, bootstrapCi, evaluateBinary, formatMetricsTable, rocAuc } from 'vdafm';");
    expect(code.slice(2).join('\n')).toBe(region(self, '// guide:start', '// guide:end'));
    expect(printed.join('\n')).toBe(fenced('text'));
    // the same seed gives the same AUC interval in both calls
    expect(evaluation.ci!.rocAuc).toEqual(ci);
  });
});
