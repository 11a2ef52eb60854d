// Cohort scenarios (src/data/scenarios.ts): the knobs change NIHSS and the outcome equations, never
// the random draws; the additive scenario is the original cohort; the imbalance scenario's
// strategic term behaves as documented; the oracle features line up with their names.
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { IMAGE_FEATURE_NAMES, imageFeatures, oracleFeatures, TABLE_FEATURE_NAMES, tableFeatures } from '../../src/data/oracle.js';
import { resolveScenario, SCENARIO_KNOBS, STRATEGIC_HUBS, STRATEGIC_WIDTH, strategicScore } from '../../src/data/scenarios.js';
import { generateSyntheticCohort, latentSeverity, OUTCOME_MODEL, type SeverityInputs } from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const opts = { patients: 40, seed: 11, layout: '2d' as const, imageShape: [16, 16], slices: 4 };

describe('scenarios', () => {
  it("'additive' is the default and reproduces the original cohort's outcome equation", () => {
    const a = generateSyntheticCohort(opts);
    const b = generateSyntheticCohort({ ...opts, scenario: 'additive' });
    expect(Buffer.compare(bytes(a.images), bytes(b.images))).toBe(0);
    expect(Array.from(a.truePoorProbability)).toEqual(Array.from(b.truePoorProbability));
    expect(a.options.scenario).toBe('additive');
    expect(a.options.knobs).toEqual(SCENARIO_KNOBS.additive);
    // the total is the sum of the original terms (no strategic term, no offset)
    for (const p of a.patients) {
      const l = p.latent;
      expect(l.strategicSite).toBe(0);
      expect(l.offset).toBe(0);
      expect(l.total).toBe(l.lesionVolume + l.lesionSite + l.oldLesion + l.age + l.preStrokeMrs + l.glucose + l.comorbidity + l.treatment);
    }
  });

  it("'imbalance' draws the same patients and images; only NIHSS (and what depends on it) and outcomes change", () => {
    const a = generateSyntheticCohort(opts);
    const b = generateSyntheticCohort({ ...opts, scenario: 'imbalance' });
    expect(Buffer.compare(bytes(a.images), bytes(b.images))).toBe(0);
    let nihssDiffers = 0;
    a.patients.forEach((p, i) => {
      const q = b.patients[i]!;
      expect(q.acuteLesions.map((l) => l.centre)).toEqual(p.acuteLesions.map((l) => l.centre));
      expect(q.truth).toEqual(p.truth);
      expect({ ...q.clinical, nihss: 0, thrombolysis: 0, thrombectomy: 0 }).toEqual({ ...p.clinical, nihss: 0, thrombolysis: 0, thrombectomy: 0 });
      if (q.clinical.nihss !== p.clinical.nihss) nihssDiffers++;
      const k = SCENARIO_KNOBS.imbalance;
      expect(q.latent.strategicSite).toBeCloseTo(p.acuteLesions.length > 0 ? k.strategic * p.acuteLesions[0]!.strategic : 0, 12);
      expect(q.latent.offset).toBe(k.latentOffset);
    });
    expect(nihssDiffers).toBeGreaterThan(0);
  });

  it('knob overrides apply and are validated', () => {
    const c = generateSyntheticCohort({ ...opts, scenario: 'imbalance', knobs: { strategic: 0, latentOffset: 0 } });
    expect(c.options.knobs.strategic).toBe(0);
    expect(c.patients.every((p) => p.latent.strategicSite === 0 || Object.is(p.latent.strategicSite, -0))).toBe(true);
    expectArgumentError(() => generateSyntheticCohort({ ...opts, scenario: 'nope' as 'additive' }), InvalidArgumentError, 'scenario');
    expectArgumentError(() => resolveScenario('imbalance', { nihssNoise: -1 }), InvalidArgumentError, 'knobs.nihssNoise');
    expectArgumentError(() => resolveScenario('imbalance', { volume: Number.NaN }), InvalidArgumentError, 'knobs.volume');
    expectArgumentError(() => generateSyntheticCohort({ ...opts, knobs: 3 as unknown as object }), InvalidArgumentError, 'knobs');
  });

  it('images: false keeps the table and outcomes of the 3D default grid and skips the images', () => {
    const withImages = generateSyntheticCohort({ patients: 30, seed: 5, scenario: 'imbalance' });
    const without = generateSyntheticCohort({ patients: 30, seed: 5, scenario: 'imbalance', images: false });
    expect(without.images.length).toBe(0);
    expect(without.rows).toEqual(withImages.rows);
    expect(Array.from(without.truePoorProbability)).toEqual(Array.from(withImages.truePoorProbability));
    expectArgumentError(() => generateSyntheticCohort({ patients: 2, images: 'no' as unknown as boolean }), InvalidArgumentError, 'images');
  });
});

describe('strategicScore', () => {
  it('is 1 at the hub, exp(−1/2) one kernel width away, mirrored for the right side, 0 without a hub', () => {
    const hub = STRATEGIC_HUBS.MCA!;
    expect(strategicScore('MCA', 'left', hub)).toBe(1);
    expect(strategicScore('MCA', 'right', [-hub[0], hub[1], hub[2]])).toBe(1);
    expect(strategicScore('MCA', 'left', [hub[0] + STRATEGIC_WIDTH, hub[1], hub[2]])).toBeCloseTo(Math.exp(-0.5), 12);
    expect(strategicScore('brainstem', 'left', [0, 0.1, -0.4])).toBe(0);
    expect(strategicScore('basal ganglia', 'right', [-0.24, 0, 0.08])).toBe(0);
  });

  fcTest.prop([fc.constantFrom(...(Object.keys(STRATEGIC_HUBS) as Array<keyof typeof STRATEGIC_HUBS>)), fc.constantFrom('left' as const, 'right' as const), fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }))])(
    'lies in [0, 1] and is symmetric under a left-right mirror',
    (territory, side, [x, y, z]) => {
      const s = strategicScore(territory, side, [x, y, z]);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
      expect(strategicScore(territory, side === 'left' ? 'right' : 'left', [-x, y, z])).toBeCloseTo(s, 12);
    },
  );
});

describe('latentSeverity with scenario knobs', () => {
  const base: SeverityInputs = {
    acuteVolumeMl: 20, acuteTerritory: 'MCA', acuteSide: 'left', eloquence: 0, multiple: false, strategic: 0.5, oldLesionVolumeMl: 3,
    age: 70, preStrokeMrs: 0, glucose: 120, diabetes: false, atrialFibrillation: false, thrombolysis: false, thrombectomy: false, onsetToTreatmentMin: 120,
  };
  it('adds b_v·ln(1 + V/5), b_s·strategic, b_old·ln(1 + V_old) and the offset by hand', () => {
    const k = { volume: 0.8, strategic: 3, oldLesion: 0.9, latentOffset: 0.2 };
    const l = latentSeverity(base, k);
    expect(l.lesionVolume).toBeCloseTo(0.8 * Math.log(5), 12);
    expect(l.strategicSite).toBeCloseTo(1.5, 12);
    expect(l.oldLesion).toBeCloseTo(0.9 * Math.log(4), 12);
    expect(l.total).toBeCloseTo(0.8 * Math.log(5) + (OUTCOME_MODEL.site['MCA-left'] ?? 0) + 1.5 + 0.9 * Math.log(4) + 0.2, 12);
    // the default knobs are the additive cohort's: no strategic term
    expect(latentSeverity(base).strategicSite).toBe(0);
    expect(latentSeverity(base).lesionVolume).toBeCloseTo(1.35 * Math.log(5), 12);
  });
});

describe('oracle features', () => {
  it('have one value per name, are finite, and the table + image subset is the concatenation', () => {
    const c = generateSyntheticCohort({ patients: 25, seed: 3, scenario: 'imbalance', images: false });
    for (const p of c.patients) {
      expect(tableFeatures(p)).toHaveLength(TABLE_FEATURE_NAMES.length);
      expect(imageFeatures(p)).toHaveLength(IMAGE_FEATURE_NAMES.length);
      expect(oracleFeatures(p, 'table+image')).toEqual([...tableFeatures(p), ...imageFeatures(p)]);
      expect(oracleFeatures(p, 'table+image').every(Number.isFinite)).toBe(true);
      expect(tableFeatures(p)[2]).toBe(p.clinical.nihss);
      expect(imageFeatures(p).slice(0, 4)).toEqual([p.latent.lesionVolume, p.latent.lesionSite, p.latent.strategicSite, p.latent.oldLesion]);
    }
  });
});
