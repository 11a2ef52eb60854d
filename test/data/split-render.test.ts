import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  cohortImage,
  findingsExtractor,
  generateSyntheticCohort,
  renderSlice,
  splitCohort,
  stratifiedFolds,
  subsetCohort,
} from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

const cohort = generateSyntheticCohort({ patients: 400, seed: 9, layout: '2d', imageShape: [16, 16] });

describe('splitCohort', () => {
  it('partitions the cohort and keeps the outcome prevalence in every part', () => {
    const split = splitCohort(cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 4 });
    const all = [...split.train, ...split.val, ...split.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect([split.train.length, split.val.length, split.test.length]).toEqual([240, 80, 80]);
    const prevalence = (idx: number[]): number => idx.reduce((s, i) => s + cohort.poor[i]!, 0) / idx.length;
    const overall = prevalence(all);
    // Largest-remainder cuts per class: each part is off by at most one patient per class.
    for (const part of [split.train, split.val, split.test]) expect(Math.abs(prevalence(part) - overall)).toBeLessThanOrEqual(2 / part.length);
    expect(splitCohort(cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 4 })).toEqual(split);
    expect(splitCohort(cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 5 }).test).not.toEqual(split.test);
  });

  fcTest.prop([
    fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 300 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.integer(),
  ])('is a stratified partition for any labels and fractions', (labels, a, b, seed) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const fractions = { train: lo, val: hi - lo, test: 1 - hi };
    const poor = Uint8Array.from(labels);
    const split = splitCohort({ poor }, { fractions, seed });
    const all = [...split.train, ...split.val, ...split.test].sort((x, y) => x - y);
    expect(all).toEqual(labels.map((_, i) => i));
    for (const [name, part] of Object.entries(split) as Array<['train' | 'val' | 'test', number[]]>) {
      for (const cls of [0, 1]) {
        const total = labels.filter((l) => l === cls).length;
        const inPart = part.filter((i) => labels[i] === cls).length;
        expect(Math.abs(inPart - fractions[name] * total)).toBeLessThan(1 + 1e-9);
      }
    }
  });

  it('rejects bad fractions and seeds', () => {
    for (const [argument, options] of [
      ['fractions', { fractions: { train: 0.5, val: 0.2, test: 0.2 } }],
      ['fractions', { fractions: { train: 1.2, val: -0.1, test: -0.1 } }],
      ['seed', { seed: Number.POSITIVE_INFINITY }],
    ] as const) {
      expectArgumentError(() => splitCohort(cohort, options as never), InvalidArgumentError, argument);
    }
  });
});

describe('stratifiedFolds', () => {
  fcTest.prop([fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 120 }), fc.integer({ min: 2, max: 10 }), fc.integer({ min: 0, max: 1000 })])(
    'every patient in one fold; each fold holds its share of each class up to one; deterministic in the seed',
    (labels, k, seed) => {
      fc.pre(k <= labels.length);
      const fold = stratifiedFolds(labels, k, seed);
      expect(fold).toHaveLength(labels.length);
      expect(fold.every((f) => Number.isInteger(f) && f >= 0 && f < k)).toBe(true);
      for (const cls of [0, 1]) {
        const counts = Array.from({ length: k }, (_, f) => fold.filter((g, i) => g === f && labels[i] === cls).length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }
      const sizes = Array.from({ length: k }, (_, f) => fold.filter((g) => g === f).length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(stratifiedFolds(labels, k, seed)).toEqual(fold);
    },
  );

  it('differs between seeds and names bad arguments', () => {
    const labels = Array.from(cohort.poor);
    expect(stratifiedFolds(labels, 5, 1)).not.toEqual(stratifiedFolds(labels, 5, 2));
    expectArgumentError(() => stratifiedFolds([0, 1, 2], 2), InvalidArgumentError, 'labels');
    expectArgumentError(() => stratifiedFolds([0, 1, 1], 4), InvalidArgumentError, 'folds');
    expectArgumentError(() => stratifiedFolds([0, 1, 1], 1), InvalidArgumentError, 'folds');
    expectArgumentError(() => stratifiedFolds([0, 1, 1], 2, Number.NaN), InvalidArgumentError, 'seed');
  });
});

describe('subsetCohort', () => {
  it('copies the selected patients, images included', () => {
    const sub = subsetCohort(cohort, [5, 2, 399]);
    expect(sub.patients.map((p) => p.index)).toEqual([5, 2, 399]);
    expect(Array.from(sub.poor)).toEqual([cohort.poor[5], cohort.poor[2], cohort.poor[399]]);
    expect(Array.from(cohortImage(sub, 1).data)).toEqual(Array.from(cohortImage(cohort, 2).data));
    expect(sub.images.buffer).not.toBe(cohort.images.buffer);
    expect(() => subsetCohort(cohort, [400])).toThrow(/indices/);
  });
});

describe('renderSlice', () => {
  const c3 = generateSyntheticCohort({ patients: 12, seed: 31 });

  it('renders 8-bit slices with the requested size and sequences', () => {
    const image = cohortImage(c3, 0);
    const dwi = renderSlice(image, { slice: 8 });
    expect([dwi.width, dwi.height, dwi.data.length]).toEqual([32, 32, 1024]);
    const both = renderSlice(image, { slice: 8, sequence: 'both', scale: 3 });
    expect([both.width, both.height]).toEqual([192, 96]);
    // Upscaling repeats pixels, and the left panel is the DWI slice.
    expect(both.data[(5 * 3 + 1) * 192 + 7 * 3 + 2]).toBe(dwi.data[5 * 32 + 7]);
    // Background (image corner) is dark, the brain is not.
    expect(dwi.data[0]!).toBeLessThan(40);
    expect(dwi.data[16 * 32 + 16]!).toBeGreaterThan(60);
  });

  it('picks the slice through the largest acute lesion by default', () => {
    let checked = 0;
    for (const p of c3.patients) {
      if (p.acuteLesions.length === 0) continue;
      const image = cohortImage(c3, p.index);
      const lesion = findingsExtractor.measure(image).components.filter((c) => c.kind === 'acute').sort((a, b) => b.voxelCount - a.voxelCount)[0]!;
      expect(renderSlice(image)).toEqual(renderSlice(image, { slice: lesion.slice }));
      // The truth lesion centroid lies within one slice of the chosen one.
      const truthSlice = (p.acuteLesions[0]!.centroid[2] * p.anatomy.scale + 1) * 8 - 0.5;
      if (p.acuteLesions.length === 1) expect(Math.abs(truthSlice - lesion.slice)).toBeLessThanOrEqual(1);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('rejects bad options', () => {
    const image = cohortImage(c3, 0);
    for (const [argument, options] of [
      ['slice', { slice: 16 }],
      ['sequence', { sequence: 'T1' }],
      ['scale', { scale: 0 }],
    ] as const) {
      expectArgumentError(() => renderSlice(image, options as never), InvalidArgumentError, argument);
    }
  });
});
