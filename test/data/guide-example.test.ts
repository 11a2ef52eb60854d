// The runnable example of docs/guides/synthetic-cohort.md: the code between the guide markers
// is copied verbatim into the guide, and the last test checks that they are still identical.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { cohortImage, findingsExtractor, generateSyntheticCohort, renderSlice, splitCohort } from '../../src/index.js';

it('runs the guide example with the printed values', () => {
  // guide:start
  const cohort = generateSyntheticCohort({ patients: 60, seed: 42, layout: '2d' });
  const { train, val, test } = splitCohort(cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed: 1 });

  const patient = cohort.patients[0]!;
  const image = cohortImage(cohort, 0); // { data: Float32Array(8192), shape: [32, 32, 8], layout: '2d' }
  const findings = findingsExtractor.extract(image);
  const picture = renderSlice(image, { sequence: 'both', scale: 4 }); // 8-bit, DWI | ADC side by side
  // guide:end

  expect(cohort.sampleShape).toEqual([32, 32, 8]);
  expect(cohort.channelNames.slice(0, 2)).toEqual(['s0:DWI', 's0:ADC']);
  expect([train.length, val.length, test.length]).toEqual([36, 13, 11]);
  expect(cohort.rows[0]).toEqual({
    age: 65, sex: 'female', nihss: 3, onsetToTreatmentMin: 234, thrombolysis: 1, thrombectomy: 0,
    hypertension: null, diabetes: 0, atrialFibrillation: 0, glucose: 121, systolicBp: null, preStrokeMrs: 0,
  });
  expect(patient.truth).toEqual({ acuteLesion: 'present', side: 'right', territory: 'PCA', volumeMl: 7.03125, oldLesions: 'none' });
  expect(patient.mrs).toBe(1);
  expect(patient.truePoorProbability).toBeCloseTo(0.1274, 4);
  expect(findings).toEqual({
    sequences: 'DWI, ADC',
    acuteLesion: 'present',
    side: 'right',
    territory: 'PCA',
    location: 'right occipital lobe, cortex and subcortical white matter',
    size: 'small',
    signal: 'DWI hyperintense, ADC hypointense',
    massEffect: 'none',
    oldLesions: 'none',
    impression: 'Acute right PCA territory infarct, small (~7 mL), no mass effect. No old lesions.',
    volumeMl: 7,
  });
  expect([picture.width, picture.height]).toEqual([256, 128]);
});

it('is the code shown in docs/guides/synthetic-cohort.md', () => {
  const between = (text: string, start: string, end: string): string => {
    const a = text.indexOf(start);
    const b = text.indexOf(end, a);
    if (a < 0 || b < 0) throw new Error(`markers ${start} … ${end} not found`);
    return text.slice(a + start.length, b);
  };
  const normalise = (code: string): string =>
    code
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .join('\n');
  const self = readFileSync(new URL(import.meta.url), 'utf8');
  const guide = readFileSync(new URL('../../docs/guides/synthetic-cohort.md', import.meta.url), 'utf8');
  const testCode = normalise(between(self, '// guide:' + 'start', '// guide:' + 'end'));
  const guideCode = normalise(between(guide, '// guide:' + 'start', '// guide:' + 'end'));
  expect(guideCode).toBe(testCode);
});
