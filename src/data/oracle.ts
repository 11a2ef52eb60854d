/**
 * The true features of a synthetic patient, by modality, for oracle models: a logistic
 * regression on them is the best a correctly specified model of that modality can do (the
 * ceilings of a scenario, and the study's oracle reference). They are read from the simulator's
 * record, never from the image, so no learned model can see them.
 *
 * @packageDocumentation
 */
import type { SyntheticPatient } from './cohort-types.js';
import { TERRITORIES } from './phantom.js';

/** The modality subsets the ceilings are computed for. */
export type OracleSubset = 'table' | 'image' | 'table+image';

/**
 * Names of the true table features ({@link tableFeatures}), in order.
 */
export const TABLE_FEATURE_NAMES: readonly string[] = [
  'age',
  'male',
  'nihss',
  'ln(1+nihss)',
  'onsetToTreatmentMin',
  'thrombolysis',
  'thrombolysis·max(0, 1 − OTT/360)',
  'thrombectomy',
  'hypertension',
  'diabetes',
  'atrialFibrillation',
  'glucose',
  'max(0, glucose − 140)',
  'systolicBp',
  'preStrokeMrs',
];

/**
 * The true table features of a patient (the complete record, before missing cells), with the
 * transformed terms the latent severity uses.
 *
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 1, seed: 1, images: false });
 * tableFeatures(cohort.patients[0]!).length; // TABLE_FEATURE_NAMES.length
 * ```
 */
export function tableFeatures(p: SyntheticPatient): number[] {
  const c = p.clinical;
  return [
    c.age,
    c.sex === 'male' ? 1 : 0,
    c.nihss,
    Math.log1p(c.nihss),
    c.onsetToTreatmentMin,
    c.thrombolysis,
    c.thrombolysis * Math.max(0, 1 - c.onsetToTreatmentMin / 360),
    c.thrombectomy,
    c.hypertension,
    c.diabetes,
    c.atrialFibrillation,
    c.glucose,
    Math.max(0, c.glucose - 140),
    c.systolicBp,
    c.preStrokeMrs,
  ];
}

/** Names of the true image features ({@link imageFeatures}), in order. */
export const IMAGE_FEATURE_NAMES: readonly string[] = [
  'lesion volume term',
  'lesion site term',
  'strategic location term',
  'old-lesion term',
  'acute lesion present',
  ...TERRITORIES.flatMap((t) => [`${t} left`, `${t} right`]),
  'ventricle scale',
];

/**
 * The true image features of a patient: the image-only terms of its latent severity (acute
 * volume, exact site with eloquence and multiplicity, strategic location, old lesions), the main
 * lesion's territory and side, and the ventricle scale (the little age information a scan holds).
 *
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 1, seed: 1, images: false });
 * imageFeatures(cohort.patients[0]!).length; // IMAGE_FEATURE_NAMES.length
 * ```
 */
export function imageFeatures(p: SyntheticPatient): number[] {
  const main = p.acuteLesions[0];
  const site = TERRITORIES.flatMap((t) => [main && main.territory === t && main.side === 'left' ? 1 : 0, main && main.territory === t && main.side === 'right' ? 1 : 0]);
  return [p.latent.lesionVolume, p.latent.lesionSite, p.latent.strategicSite, p.latent.oldLesion, main ? 1 : 0, ...site, p.anatomy.ventricleScale];
}

/**
 * The true features of a modality subset.
 *
 * @example
 * ```ts
 * oracleFeatures(patient, 'table+image').length; // table + image feature counts
 * ```
 */
export function oracleFeatures(p: SyntheticPatient, subset: OracleSubset): number[] {
  if (subset === 'table') return tableFeatures(p);
  if (subset === 'image') return imageFeatures(p);
  return [...tableFeatures(p), ...imageFeatures(p)];
}
