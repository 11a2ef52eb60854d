// fitLogistic / predictLogistic (src/metrics/logistic.ts) against scikit-learn's fits
// (test/fixtures/metrics/make_logistic_fixture.py states how they were made), properties and errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { fitLogistic, predictLogistic } from '../../src/metrics/logistic.js';
import { expectArgumentError } from '../helpers/errors.js';

interface Case { name: string; l2: number; x: number[][]; y: number[]; weights: number[]; intercept: number; xTest: number[][]; pTest: number[] }
const ref = JSON.parse(readFileSync(new URL('../fixtures/metrics/logistic_reference.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('fitLogistic', () => {
  for (const c of ref.cases) {
    it(`matches scikit-learn on '${c.name}' (weights, intercept, predictions)`, () => {
      const m = fitLogistic(c.x, c.y, { l2: c.l2 });
      expect(m.converged).toBe(true);
      const scale = Math.max(1, ...c.weights.map(Math.abs));
      c.weights.forEach((w, j) => expect(Math.abs(m.weights[j]! - w) / Math.max(Math.abs(w), 1e-3 * scale)).toBeLessThan(1e-5));
      expect(m.intercept).toBeCloseTo(c.intercept, 5);
      const p = predictLogistic(m, c.xTest);
      c.pTest.forEach((q, i) => expect(p[i]!).toBeCloseTo(q, 6));
    });
  }

  it('solves a hand case: one balanced binary feature gives the log-odds of each group', () => {
    // x = 0: 1 positive of 4 (log-odds ln(1/3)); x = 1: 3 of 4 (ln 3); almost no penalty
    const x = [[0], [0], [0], [0], [1], [1], [1], [1]];
    const y = [1, 0, 0, 0, 1, 1, 1, 0];
    const m = fitLogistic(x, y, { l2: 0 });
    expect(m.intercept).toBeCloseTo(Math.log(1 / 3), 8);
    expect(m.weights[0]!).toBeCloseTo(Math.log(3) - Math.log(1 / 3), 8);
  });

  fcTest.prop([fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0.1, max: 100, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true })])(
    'is invariant to an affine rescaling of a feature (predictions unchanged)',
    (seed, a, b) => {
      let s = seed;
      const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
      const x = Array.from({ length: 60 }, () => [r() * 4 - 2, r()]);
      const y = x.map(([u]) => (r() < 1 / (1 + Math.exp(-2 * u!)) ? 1 : 0));
      if (!y.includes(0) || !y.includes(1)) return;
      const m1 = fitLogistic(x, y);
      const m2 = fitLogistic(x.map(([u, v]) => [a * u! + b, v!]), y);
      const p1 = predictLogistic(m1, x);
      const p2 = predictLogistic(m2, x.map(([u, v]) => [a * u! + b, v!]));
      p1.forEach((p, i) => expect(p2[i]!).toBeCloseTo(p, 6));
    },
  );

  it('rejects bad input naming the argument', () => {
    expectArgumentError(() => fitLogistic([], []), InvalidArgumentError, 'x');
    expectArgumentError(() => fitLogistic([[1], [2]], [1]), InvalidArgumentError, 'y');
    expectArgumentError(() => fitLogistic([[1], [2, 3]], [1, 0]), InvalidArgumentError, 'x');
    expectArgumentError(() => fitLogistic([[1], [Number.NaN]], [1, 0]), InvalidArgumentError, 'x');
    expectArgumentError(() => fitLogistic([[1], [2]], [1, 2]), InvalidArgumentError, 'y');
    expectArgumentError(() => fitLogistic([[1], [2]], [1, 0], { l2: -1 }), InvalidArgumentError, 'l2');
    expectArgumentError(() => fitLogistic([[1], [2]], [1, 0], { maxIterations: 0 }), InvalidArgumentError, 'maxIterations');
    expectArgumentError(() => predictLogistic({ intercept: 0, weights: [1, 2], iterations: 1, converged: true }, [[1]]), InvalidArgumentError, 'x');
  });
});
