// The runnable examples of docs/guides/metrics.md. The code between the `guide:start` and
// `guide:end` markers below must be identical to the guide's first ```ts block (without its
// import line), and what it prints must be identical to the guide's ```text block after it; the
// same for `paired:start`/`paired:end` and the blocks after the guide's `(paired)` example marker.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Random } from '../../src/core/random.js';
import {
  averagePrecision,
  bootstrapCi,
  delongTest,
  evaluateBinary,
  formatMetricsTable,
  minimumDetectableDifference,
  pairedBootstrap,
  rocAuc,
} from '../../src/index.js';

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

/** The content of the first fenced block of `lang` after the `<!-- example: … -->` marker. */
function fenced(lang: string, marker = '<!-- example: test/metrics/guide.test.ts -->'): string {
  const from = guide.indexOf(marker);
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

  it('the paired comparison is this test, and prints what the guide shows', () => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.join(' ')));

    // paired:start
    // Two models scored on the same 400 patients. A shared per-patient term makes them
    // err on the same patients, as two models trained on the same data do.
    const rng = new Random(14);
    const labels: number[] = [];
    const modelA: number[] = [];
    const modelB: number[] = [];
    for (let i = 0; i < 400; i++) {
      const y = rng.bernoulli(0.3) ? 1 : 0;
      const shared = rng.normal(0, 1);
      labels.push(y);
      modelA.push(1.1 * y + 0.8 * shared + 0.6 * rng.normal(0, 1));
      modelB.push(0.8 * y + 0.8 * shared + 0.6 * rng.normal(0, 1));
    }

    const t = delongTest(labels, modelA, modelB);
    console.log(`AUC ${t.aucA.toFixed(3)} vs ${t.aucB.toFixed(3)}: difference ${t.difference.toFixed(3)} [${t.ci[0].toFixed(3)}, ${t.ci[1].toFixed(3)}], z ${t.z.toFixed(2)}, p ${t.pValue.toFixed(4)}`);
    console.log(`correlation of the two AUCs: ${(t.covariance / Math.sqrt(t.varianceA * t.varianceB)).toFixed(2)}`);

    const boot = pairedBootstrap(labels, modelA, modelB, { numResamples: 2000, seed: 1 });
    console.log(`paired bootstrap: [${boot.ci[0].toFixed(3)}, ${boot.ci[1].toFixed(3)}], SE ${boot.standardError.toFixed(4)} (DeLong ${t.standardError.toFixed(4)}), p ${boot.pValue.toFixed(4)}`);

    const ap = pairedBootstrap(labels, modelA, modelB, { metric: averagePrecision, seed: 1 });
    const apP = ap.pValue === 0 ? `< ${2 / ap.numValid}` : ap.pValue.toFixed(4); // 0: no replicate crossed 0
    console.log(`AUPRC difference ${ap.estimate.toFixed(3)} [${ap.ci[0].toFixed(3)}, ${ap.ci[1].toFixed(3)}], p ${apP}`);

    const mde = minimumDetectableDifference(t.standardError);
    console.log(`detectable with 80 % power at α = 0.05: ${mde.toFixed(3)}; with 5000 patients about ${(mde * Math.sqrt(400 / 5000)).toFixed(3)}`);
    // paired:end

    const marker = '<!-- example: test/metrics/guide.test.ts (paired) -->';
    const code = fenced('ts', marker).split('\n');
    expect(code[0]).toBe("import { Random, averagePrecision, delongTest, minimumDetectableDifference, pairedBootstrap } from 'vdafm';");
    expect(code.slice(2).join('\n')).toBe(region(self, '// paired:start', '// paired:end'));
    expect(printed.join('\n')).toBe(fenced('text', marker));
  });
});
