// The pre-registered protocol and claims (src/study/claims.ts): the study guide shows exactly
// them, every claim names ablations of the suite, and each claim's pair differs as documented.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ABLATION_SUITE, CLAIMS, preregistrationMarkdown, STUDY_PROTOCOL } from '../../src/study/claims.js';

describe('pre-registration', () => {
  it('docs/guides/study.md holds the pre-registered tables verbatim', () => {
    const guide = readFileSync(new URL('../../docs/guides/study.md', import.meta.url), 'utf8');
    const block = guide.split('<!-- prereg:start -->\n')[1]?.split('\n<!-- prereg:end -->')[0];
    expect(block).toBe(preregistrationMarkdown());
  });

  it('every claim names ablations of the suite, at a protocol training size', () => {
    const ids = new Set(ABLATION_SUITE.map((a) => a.id));
    expect(ids.size).toBe(ABLATION_SUITE.length);
    for (const c of CLAIMS) {
      expect(ids.has(c.a)).toBe(true);
      if (c.b !== undefined) expect(ids.has(c.b)).toBe(true);
      expect([STUDY_PROTOCOL.trainSize, ...STUDY_PROTOCOL.learningCurveSizes]).toContain(c.trainSize);
    }
  });

  it('each one-factor ablation claim changes exactly the factor it names', () => {
    const spec = (id: string) => ABLATION_SUITE.find((a) => a.id === id)!;
    const diff = (a: string, b: string) =>
      (['fusion', 'balancing', 'alignment', 'modalityDropout'] as const).filter((k) => spec(a)[k] !== spec(b)[k]).concat(spec(a).modalities.join() === spec(b).modalities.join() ? [] : ['modalities' as never]);
    expect(diff('full', 'vdafm-balancing')).toEqual(['alignment']);
    expect(diff('vdafm-balancing', 'vdafm')).toEqual(['balancing']);
    expect(diff('full', 'concat-balancing-alignment')).toEqual(['fusion']);
  });
});
