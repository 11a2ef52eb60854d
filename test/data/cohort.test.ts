import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  CLINICAL_SCHEMA,
  OUTCOME_MODEL,
  TISSUE,
  cohortImage,
  eloquence,
  expectedNihss,
  generateSyntheticCohort,
  gridGeometry,
  latentSeverity,
  mrsDistribution,
  poorOutcomeProbability,
  sampleMrs,
  type SeverityInputs,
} from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

// One large, cheap cohort (tiny 2D images) shared by the statistical tests.
const big = generateSyntheticCohort({
  patients: 3000,
  seed: 2024,
  layout: '2d',
  imageShape: [16, 16],
  slices: 4,
  lesionVolume: { medianMl: 10, sigma: 1.0 },
});

describe('generateSyntheticCohort: determinism', () => {
  it('gives a byte-identical cohort for the same seed and a different one for another seed', () => {
    const a = generateSyntheticCohort({ patients: 12, seed: 7 });
    const b = generateSyntheticCohort({ patients: 12, seed: 7 });
    const c = generateSyntheticCohort({ patients: 12, seed: 8 });
    expect(Buffer.compare(bytes(a.images), bytes(b.images))).toBe(0);
    expect(a.rows).toEqual(b.rows);
    expect(Array.from(a.mrs)).toEqual(Array.from(b.mrs));
    expect(Array.from(a.truePoorProbability)).toEqual(Array.from(b.truePoorProbability));
    expect(a.patients.map((p) => p.latent)).toEqual(b.patients.map((p) => p.latent));
    expect(Buffer.compare(bytes(a.images), bytes(c.images))).not.toBe(0);
    expect(a.rows).not.toEqual(c.rows);
  });

  it('is prefix-stable and keeps table and outcomes independent of layout and image size', () => {
    const small = generateSyntheticCohort({ patients: 5, seed: 3, layout: '2d' });
    const large = generateSyntheticCohort({ patients: 9, seed: 3, layout: '3d', imageShape: [8, 24, 24] });
    expect(large.rows.slice(0, 5)).toEqual(small.rows);
    expect(Array.from(large.mrs.subarray(0, 5))).toEqual(Array.from(small.mrs));
    expect(Array.from(large.truePoorProbability.subarray(0, 5))).toEqual(Array.from(small.truePoorProbability));
  });
});

describe('generateSyntheticCohort: images', () => {
  it('has the documented 3D and 2D layouts and channel names', () => {
    const c3 = generateSyntheticCohort({ patients: 2, seed: 1 });
    expect(c3.sampleShape).toEqual([16, 32, 32, 2]);
    expect(c3.channelNames).toEqual(['DWI', 'ADC']);
    expect(c3.images.length).toBe(2 * 16 * 32 * 32 * 2);
    const c2 = generateSyntheticCohort({ patients: 2, seed: 1, layout: '2d', slices: 3 });
    expect(c2.sampleShape).toEqual([32, 32, 6]);
    expect(c2.channelNames).toEqual(['s0:DWI', 's0:ADC', 's1:DWI', 's1:ADC', 's2:DWI', 's2:ADC']);
    expect(gridGeometry([16, 32, 32, 2], '3d').voxelMl).toBeCloseTo(0.48828125, 10);
    expect(c3.images.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
  });

  it('paints acute lesions DWI-bright and ADC-dark, with the drawn volume', () => {
    const c = generateSyntheticCohort({ patients: 40, seed: 5 });
    let checkedAcute = 0;
    let checkedOld = 0;
    for (const p of c.patients) {
      const img = cohortImage(c, p.index).data;
      // Compare the lesion's painted voxels (found through the truth centroid's neighbourhood) with
      // the image medians of tissue: relative contrast must follow the physics.
      const n = img.length / 2;
      const dwi = Float64Array.from({ length: n }, (_, v) => img[2 * v]!).sort();
      const adc = Float64Array.from({ length: n }, (_, v) => img[2 * v + 1]!);
      if (p.acuteLesions.length > 0) {
        // The brightest DWI voxels of a lesioned image are lesion voxels with low ADC.
        let maxV = 0;
        for (let v = 0; v < n; v++) if (img[2 * v]! > img[2 * maxV]!) maxV = v;
        expect(img[2 * maxV]!).toBeGreaterThan(1.5 * dwi[Math.floor(0.9 * n)]!);
        expect(adc[maxV]!).toBeLessThan(0.7);
        checkedAcute++;
      }
      if (p.oldLesions.length > 0) checkedOld++;
    }
    expect(checkedAcute).toBeGreaterThan(30);
    expect(checkedOld).toBeGreaterThan(0);
    // Painted volume = round(drawn volume / voxel volume) voxels (at least one), unless the territory is full.
    const lesions = c.patients.flatMap((p) => [...p.acuteLesions, ...p.oldLesions]);
    const voxelMl = c.geometry.voxelMl;
    const exact = lesions.filter((l) => l.voxelCount === Math.max(1, Math.round(l.sampledVolumeMl / voxelMl)));
    expect(exact.length / lesions.length).toBeGreaterThan(0.95);
    for (const l of lesions) expect(l.renderedVolumeMl).toBeCloseTo(l.voxelCount * voxelMl, 10);
  });
});

describe('generateSyntheticCohort: simulator invariants', () => {
  it('draws main lesion volumes from the configured log-normal', () => {
    const logs = big.patients.filter((p) => p.acuteLesions.length > 0).map((p) => Math.log(p.acuteLesions[0]!.sampledVolumeMl));
    const n = logs.length;
    expect(n).toBeGreaterThan(2500);
    const sorted = [...logs].sort((a, b) => a - b);
    const med = sorted[n >> 1]!;
    const mean = logs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    // Standard errors: median 1.2533·σ/√n, mean σ/√n, sd σ/√(2n); 4 SE tolerance.
    expect(Math.abs(med - Math.log(10))).toBeLessThan((4 * 1.2533) / Math.sqrt(n));
    expect(Math.abs(mean - Math.log(10))).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(sd - 1.0)).toBeLessThan(4 / Math.sqrt(2 * n));
  });

  it('keeps every clinical column in its type and range', () => {
    expect(CLINICAL_SCHEMA.map((c) => c.name)).toEqual([
      'age', 'sex', 'nihss', 'onsetToTreatmentMin', 'thrombolysis', 'thrombectomy',
      'hypertension', 'diabetes', 'atrialFibrillation', 'glucose', 'systolicBp', 'preStrokeMrs',
    ]);
    const integer = new Set(['age', 'nihss', 'preStrokeMrs', 'onsetToTreatmentMin', 'glucose', 'systolicBp']);
    const violations: string[] = [];
    for (const p of big.patients) {
      const full = p.clinical as unknown as Record<string, number | string>;
      for (const col of CLINICAL_SCHEMA) {
        const v = full[col.name];
        let ok: boolean;
        if (col.type === 'binary') ok = v === 0 || v === 1;
        else if (col.type === 'categorical') ok = typeof v === 'string' && col.categories!.includes(v);
        else {
          ok = typeof v === 'number' && v >= col.range![0] && v <= col.range![1] && (!integer.has(col.name) || Number.isInteger(v));
        }
        const shown = p.row[col.name];
        if (!ok || !(shown === null || shown === v)) violations.push(`${p.id}.${col.name}=${String(v)} (shown ${String(shown)})`);
      }
    }
    expect(violations).toEqual([]);
    // Each column actually spans a good part of its range (not a constant).
    for (const col of CLINICAL_SCHEMA.filter((c) => c.type === 'numeric')) {
      const values = big.patients.map((p) => (p.clinical as unknown as Record<string, number>)[col.name]!);
      expect(Math.max(...values) - Math.min(...values)).toBeGreaterThan(0.2 * (col.range![1] - col.range![0]));
    }
  });

  it('has realistic marginals and correlations', () => {
    const ps = big.patients;
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const old = ps.filter((p) => p.clinical.age >= 75);
    const young = ps.filter((p) => p.clinical.age < 65);
    expect(mean(old.map((p) => p.clinical.atrialFibrillation))).toBeGreaterThan(mean(young.map((p) => p.clinical.atrialFibrillation)) + 0.1);
    const htn = mean(ps.map((p) => p.clinical.hypertension));
    expect(htn).toBeGreaterThan(0.5);
    expect(htn).toBeLessThan(0.8);
    const dm = ps.filter((p) => p.clinical.diabetes === 1);
    const noDm = ps.filter((p) => p.clinical.diabetes === 0);
    expect(mean(dm.map((p) => p.clinical.glucose))).toBeGreaterThan(mean(noDm.map((p) => p.clinical.glucose)) + 30);
    // NIHSS tracks lesion volume (Spearman-like check on terciles).
    const withLesion = ps.filter((p) => p.acuteLesions.length === 1).sort((a, b) => a.acuteLesions[0]!.sampledVolumeMl - b.acuteLesions[0]!.sampledVolumeMl);
    const third = Math.floor(withLesion.length / 3);
    expect(mean(withLesion.slice(-third).map((p) => p.clinical.nihss))).toBeGreaterThan(
      mean(withLesion.slice(0, third).map((p) => p.clinical.nihss)) + 4,
    );
    // Thrombectomy only for large MCA strokes (up to the 1 % off-protocol rate).
    const evt = ps.filter((p) => p.clinical.thrombectomy === 1);
    const onProtocol = evt.filter((p) => p.acuteLesions[0]?.territory === 'MCA' && p.acuteLesions[0].sampledVolumeMl >= 20);
    expect(onProtocol.length / evt.length).toBeGreaterThan(0.8);
  });

  it('leaves the configured fraction of cells missing (binomial tolerance)', () => {
    const cells = big.rows.length * CLINICAL_SCHEMA.length;
    let missing = 0;
    for (const row of big.rows) for (const col of CLINICAL_SCHEMA) if (row[col.name] === null) missing++;
    const sd = Math.sqrt((0.05 * 0.95) / cells);
    expect(Math.abs(missing / cells - 0.05)).toBeLessThan(4 * sd);
    const none = generateSyntheticCohort({ patients: 50, seed: 1, layout: '2d', imageShape: [8, 8], missingRate: 0 });
    expect(none.rows.every((r) => Object.values(r).every((v) => v !== null))).toBe(true);
  });

  it('has a sensible prevalence of poor outcome, calibrated true probabilities and a Bayes AUC', () => {
    const n = big.patients.length;
    const prevalence = big.poor.reduce((a, b) => a + b, 0) / n;
    expect(prevalence).toBeGreaterThan(0.35);
    expect(prevalence).toBeLessThan(0.5);
    const meanP = big.truePoorProbability.reduce((a, b) => a + b, 0) / n;
    expect(Math.abs(meanP - prevalence)).toBeLessThan(4 * Math.sqrt((prevalence * (1 - prevalence)) / n));
    for (const p of big.patients) {
      expect(p.truePoorProbability).toBeCloseTo(poorOutcomeProbability(p.latent.total), 12);
      const parts = p.latent;
      expect(parts.total).toBeCloseTo(
        parts.lesionVolume + parts.lesionSite + parts.oldLesion + parts.age + parts.preStrokeMrs + parts.glucose + parts.comorbidity + parts.treatment,
        10,
      );
      expect(p.poor).toBe(p.mrs >= 3 ? 1 : 0);
    }
  });
});

describe('outcome model', () => {
  const base: SeverityInputs = {
    acuteVolumeMl: 20, acuteTerritory: 'MCA', acuteSide: 'left', eloquence: 0, multiple: false, oldLesionVolumeMl: 0,
    age: 70, preStrokeMrs: 0, glucose: 120, diabetes: false, atrialFibrillation: false, thrombolysis: false,
    thrombectomy: false, onsetToTreatmentMin: 120,
  };

  it('matches hand-computed values', () => {
    // 1.35·ln(1 + 20/5) + 0.6 (left MCA)
    expect(latentSeverity(base).total).toBeCloseTo(1.35 * Math.log(5) + 0.6, 12);
    const full = latentSeverity({
      ...base, eloquence: 0.5, multiple: true, oldLesionVolumeMl: 3, age: 80, preStrokeMrs: 2, glucose: 240,
      diabetes: true, atrialFibrillation: true, thrombolysis: true, thrombectomy: true, onsetToTreatmentMin: 180,
    });
    const expected = 1.35 * Math.log(5) + 0.6 + 1.2 * 0.5 + 0.35 + 0.55 * Math.log(4) + 0.6 + 1.4 + 1.0 + 0.4 - 0.8 * 0.5 - 1.0;
    expect(full.total).toBeCloseTo(expected, 12);
    expect(poorOutcomeProbability(2.8)).toBe(0.5);
    expect(sampleMrs(0, 0.5)).toBe(1);
    expect(sampleMrs(3, 0.5)).toBe(3);
    expect(sampleMrs(10, 0.5)).toBe(6);
    expect(eloquence('MCA', 'left', [0.5, -0.05, 0.3])).toBe(1);
    expect(eloquence('basal ganglia', 'left', [0.24, 0, 0.08])).toBe(0);
    expect(expectedNihss({ territory: 'MCA', side: 'left', volumeMl: 12, eloquence: 0, satellite: null })).toBeCloseTo(1 + 4.5 * 1.25 * Math.log(4), 12);
  });

  fcTest.prop([fc.double({ min: 0, max: 300, noNaN: true }), fc.double({ min: 0, max: 300, noNaN: true }), fc.integer({ min: 18, max: 99 }), fc.integer({ min: 0, max: 5 }), fc.boolean()])(
    'true risk is monotonic in lesion volume with everything else fixed',
    (v1, v2, age, preStrokeMrs, evt) => {
      const [lo, hi] = v1 <= v2 ? [v1, v2] : [v2, v1];
      const p = (v: number): number => poorOutcomeProbability(latentSeverity({ ...base, acuteVolumeMl: v, age, preStrokeMrs, thrombectomy: evt }).total);
      expect(p(lo)).toBeLessThanOrEqual(p(hi));
    },
  );

  fcTest.prop([fc.double({ min: -6, max: 10, noNaN: true })])('mRS distribution sums to 1 and its tail is the poor-outcome probability', (latent) => {
    const dist = mrsDistribution(latent);
    expect(dist.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (const q of dist) expect(q).toBeGreaterThanOrEqual(-1e-15);
    expect(dist[3]! + dist[4]! + dist[5]! + dist[6]!).toBeCloseTo(poorOutcomeProbability(latent), 12);
  });

  it('samples mRS with the model distribution', () => {
    const counts = new Array(7).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleMrs(1.5, (i + 0.5) / n)]++;
    mrsDistribution(1.5).forEach((q, k) => expect(Math.abs(counts[k] / n - q)).toBeLessThan(1e-3));
    expect(OUTCOME_MODEL.mrsThresholds).toHaveLength(6);
  });
});

describe('generateSyntheticCohort: invalid arguments', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['patients', { patients: 0 }],
    ['patients', { patients: 2.5 }],
    ['seed', { patients: 1, seed: Number.NaN }],
    ['layout', { patients: 1, layout: '4d' }],
    ['imageShape', { patients: 1, imageShape: [32, 32] }],
    ['imageShape', { patients: 1, layout: '2d', imageShape: [32, 32, 4] }],
    ['imageShape', { patients: 1, imageShape: [16, 2, 32] }],
    ['slices', { patients: 1, layout: '2d', slices: 0 }],
    ['missingRate', { patients: 1, missingRate: 1.5 }],
    ['lesionVolume', { patients: 1, lesionVolume: { medianMl: -1, sigma: 1 } }],
    ['acuteLesionRate', { patients: 1, acuteLesionRate: 2 }],
    ['multipleLesionRate', { patients: 1, multipleLesionRate: -0.1 }],
    ['oldLesions', { patients: 1, oldLesions: 'yes' }],
  ];
  for (const [argument, options] of cases) {
    it(`rejects a bad ${argument}: ${JSON.stringify(options)}`, () => {
      expectArgumentError(() => generateSyntheticCohort(options as never), InvalidArgumentError, argument);
    });
  }

  it('rejects an out-of-range patient index', () => {
    const c = generateSyntheticCohort({ patients: 2, seed: 0, layout: '2d', imageShape: [8, 8] });
    expect(() => cohortImage(c, 2)).toThrow(/index/);
    expect(TISSUE.background).toBe(0);
  });
});
