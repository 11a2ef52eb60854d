import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  NOISY_READER,
  NOMINAL_ANATOMY,
  TISSUE_INTENSITY,
  cohortImage,
  createFindingsExtractor,
  findingsExtractor,
  generateSyntheticCohort,
  gridGeometry,
  labelGrid,
  type ImageFindings,
  type PatientImage,
  type SyntheticCohort,
} from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

const REPORT_KEYS = [
  'sequences', 'acuteLesion', 'side', 'territory', 'location', 'size', 'signal', 'massEffect', 'oldLesions', 'impression', 'volumeMl',
];

const cohort3d = generateSyntheticCohort({ patients: 250, seed: 101 });
const cohort2d = generateSyntheticCohort({ patients: 250, seed: 202, layout: '2d' });
const findings3d = cohort3d.patients.map((p) => findingsExtractor.measure(cohortImage(cohort3d, p.index)));
const findings2d = cohort2d.patients.map((p) => findingsExtractor.extract(cohortImage(cohort2d, p.index)));

function recovery(cohort: SyntheticCohort, findings: readonly ImageFindings[]) {
  const acute = cohort.patients.filter((p) => p.truth.acuteLesion === 'present');
  const side = acute.filter((p) => findings[p.index]!.side === p.truth.side).length / acute.length;
  const territory = acute.filter((p) => findings[p.index]!.territory === p.truth.territory).length / acute.length;
  const absent = cohort.patients.filter((p) => p.truth.acuteLesion === 'absent');
  const absentOk = absent.filter((p) => findings[p.index]!.acuteLesion === 'absent').length / Math.max(1, absent.length);
  const old = cohort.patients.filter((p) => findings[p.index]!.oldLesions === p.truth.oldLesions).length / cohort.patients.length;
  return { n: acute.length, side, territory, absentOk, old };
}

/** Mirrors an image left-right (columns reversed). */
function flip(image: PatientImage): PatientImage {
  const g = gridGeometry(image.shape, image.layout);
  const out = new Float32Array(image.data.length);
  const [s0, s1, s2, s3] = g.strides;
  for (let k = 0; k < g.depth; k++)
    for (let i = 0; i < g.height; i++)
      for (let j = 0; j < g.width; j++)
        for (let q = 0; q < 2; q++) out[k * s0 + i * s1 + j * s2 + q * s3] = image.data[k * s0 + i * s1 + (g.width - 1 - j) * s2 + q * s3]!;
  return { ...image, data: out };
}

describe('findingsExtractor', () => {
  it('recovers side and territory of >= 90 % of acute lesions (3D, 250 patients)', () => {
    const r = recovery(cohort3d, findings3d.map((m) => m.findings));
    expect(r.n).toBeGreaterThanOrEqual(200);
    expect(r.side).toBeGreaterThanOrEqual(0.9);
    expect(r.territory).toBeGreaterThanOrEqual(0.9);
    expect(r.absentOk).toBeGreaterThanOrEqual(0.9);
    expect(r.old).toBeGreaterThanOrEqual(0.85);
  });

  it('recovers side and territory of >= 90 % of acute lesions (2D, 250 patients)', () => {
    const r = recovery(cohort2d, findings2d);
    expect(r.n).toBeGreaterThanOrEqual(200);
    expect(r.side).toBeGreaterThanOrEqual(0.9);
    expect(r.territory).toBeGreaterThanOrEqual(0.9);
    expect(r.absentOk).toBeGreaterThanOrEqual(0.9);
  });

  it('returns exactly the report-schema keys with values from their vocabularies', () => {
    for (const f of [...findings3d.map((m) => m.findings), ...findings2d]) {
      expect(Object.keys(f).sort()).toEqual([...REPORT_KEYS].sort());
      expect(f.sequences).toBe('DWI, ADC');
      expect(['present', 'absent']).toContain(f.acuteLesion);
      expect(['left', 'right', 'bilateral', 'none']).toContain(f.side);
      expect(['ACA', 'MCA', 'PCA', 'basal ganglia', 'internal capsule', 'brainstem', 'cerebellum', 'multiple', 'none']).toContain(f.territory);
      expect(['none', 'small', 'medium', 'large']).toContain(f.size);
      expect(['none', 'mild', 'moderate', 'severe']).toContain(f.massEffect);
      expect(['none', 'present']).toContain(f.oldLesions);
      expect(f.acuteLesion === 'absent').toBe(f.volumeMl === 0);
      expect(f.impression.length).toBeGreaterThan(10);
    }
  });

  it('registers the atlas to the head and measures the painted volume', () => {
    const ratios: number[] = [];
    cohort3d.patients.forEach((p, i) => {
      const m = findings3d[i]!;
      expect(Math.abs(m.anatomy.scale - p.anatomy.scale)).toBeLessThan(0.02);
      expect(Math.abs(m.anatomy.shiftX - p.anatomy.shiftX)).toBeLessThan(0.02);
      expect(Math.abs(m.anatomy.shiftY - p.anatomy.shiftY)).toBeLessThan(0.02);
      if (p.truth.volumeMl > 0 && m.findings.volumeMl > 0) ratios.push(m.findings.volumeMl / p.truth.volumeMl);
    });
    ratios.sort((a, b) => a - b);
    expect(ratios[ratios.length >> 1]!).toBeGreaterThan(0.95);
    expect(ratios[ratios.length >> 1]!).toBeLessThan(1.05);
  });

  it('reads a hand-built noiseless phantom: a sphere at the left MCA hub, then its mirror image', () => {
    const g = gridGeometry([16, 32, 32, 2], '3d');
    const labels = labelGrid(g, NOMINAL_ANATOMY);
    const data = new Float32Array(g.size);
    let painted = 0;
    for (let k = 0, v = 0; k < 16; k++)
      for (let i = 0; i < 32; i++)
        for (let j = 0; j < 32; j++, v++) {
          const t = labels.tissue[v]!;
          const x = ((j + 0.5) / 32) * 2 - 1;
          const y = ((i + 0.5) / 32) * 2 - 1;
          const z = g.sliceZ[k]!;
          const inLesion = (x - 0.45) ** 2 + (y + 0.05) ** 2 + (z - 0.25) ** 2 < 0.1 ** 2 && t !== 0;
          if (inLesion) painted++;
          data[2 * v] = TISSUE_INTENSITY.dwi[t]! * (inLesion ? 2.5 : 1);
          data[2 * v + 1] = TISSUE_INTENSITY.adc[t]! * (inLesion ? 0.55 : 1);
        }
    const image: PatientImage = { data, shape: g.sampleShape, layout: '3d' };
    const f = findingsExtractor.extract(image);
    expect(f).toMatchObject({ acuteLesion: 'present', side: 'left', territory: 'MCA', oldLesions: 'none', size: 'small' });
    expect(f.volumeMl).toBeCloseTo(Math.round(painted * g.voxelMl * 10) / 10, 6);
    expect(f.impression).toBe(`Acute left MCA territory infarct, small (~${f.volumeMl} mL), no mass effect. No old lesions.`);
    expect(findingsExtractor.extract(flip(image))).toMatchObject({ side: 'right', territory: 'MCA' });
  });

  it('flips the side when the image is mirrored (metamorphic, generated patients)', () => {
    let checked = 0;
    for (const p of cohort2d.patients.slice(0, 60)) {
      const f = findings2d[p.index]!;
      if (f.side !== 'left' && f.side !== 'right') continue;
      const mirrored = findingsExtractor.extract(flip(cohortImage(cohort2d, p.index)));
      expect(mirrored.side).toBe(f.side === 'left' ? 'right' : 'left');
      expect(mirrored.territory).toBe(f.territory);
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });

  fcTest.prop([fc.integer({ min: 0, max: 249 }), fc.double({ min: 0.3, max: 4, noNaN: true })], { numRuns: 15 })(
    'does not depend on the DWI scanner gain',
    (index, gain) => {
      const image = cohortImage(cohort2d, index);
      const scaled = Float32Array.from(image.data, (v, e) => (e % 2 === 0 ? v * gain : v));
      const a = findingsExtractor.extract(image);
      const b = findingsExtractor.extract({ ...image, data: scaled });
      expect({ ...b, volumeMl: 0, impression: '' }).toEqual({ ...a, volumeMl: 0, impression: '' });
    },
  );

  it('adds deterministic reader noise on request', () => {
    const noisy = createFindingsExtractor({ noise: NOISY_READER });
    const again = createFindingsExtractor({ noise: NOISY_READER });
    const silent = createFindingsExtractor({ noise: { misreadRate: 0, volumeLogSd: 0 } });
    const f = cohort2d.patients.map((p) => noisy.extract(cohortImage(cohort2d, p.index)));
    expect(f).toEqual(cohort2d.patients.map((p) => again.extract(cohortImage(cohort2d, p.index))));
    expect(cohort2d.patients.map((p) => silent.extract(cohortImage(cohort2d, p.index)))).toEqual(findings2d);
    const exact = recovery(cohort2d, findings2d);
    const r = recovery(cohort2d, f);
    expect(r.side).toBeLessThan(exact.side);
    expect(r.side).toBeGreaterThan(0.75);
    expect(r.territory).toBeGreaterThan(0.75);
  });

  it('rejects malformed images and options, naming the argument', () => {
    const image = cohortImage(cohort2d, 0);
    const cases: Array<[string, () => unknown]> = [
      ['image.shape', () => findingsExtractor.extract({ ...image, shape: [32, 32, 7] })],
      ['image.shape', () => findingsExtractor.extract({ ...image, layout: '3d' })],
      ['image.layout', () => findingsExtractor.extract({ ...image, layout: 'xy' as '2d' })],
      ['image.data', () => findingsExtractor.extract({ ...image, data: image.data.subarray(1) })],
      ['acuteDwiRatio', () => createFindingsExtractor({ acuteDwiRatio: -1 })],
      ['sizeCutoffsMl', () => createFindingsExtractor({ sizeCutoffsMl: [70, 10] })],
      ['noise', () => createFindingsExtractor({ noise: { misreadRate: 2 } })],
    ];
    for (const [argument, run] of cases) {
      expectArgumentError(run, InvalidArgumentError, argument);
    }
  });
});
