/**
 * `generateSyntheticCohort`: a seeded, fully synthetic acute-stroke cohort (brain MRI phantom
 * with DWI and ADC, a clinical table with missing cells, and 90-day mRS outcomes from a
 * documented latent-severity model). No real patient data is involved. Each patient is drawn in
 * steps, each from its own seeded stream: baseline clinical variables, anatomy, the lesion plan
 * (./lesions.ts), the painted lesions and the MRI (./mri.ts), NIHSS / treatment / outcome, and
 * the missing cells.
 *
 * The generative model is written down in docs/guides/synthetic-cohort.md.
 *
 * @packageDocumentation
 */
import { Random } from '../core/random.js';
import { assertNonNegativeInt, assertOneOf, assertPositiveInt, assertRate } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import {
  type Baseline,
  CLINICAL_SCHEMA,
  type ClinicalRecord,
  type ClinicalRow,
  type LesionSummary,
  sampleAcuteClinical,
  sampleBaseline,
} from './clinical.js';
import type { ImageTruth, LesionTruth, PatientImage, SyntheticCohort, SyntheticCohortOptions, SyntheticPatient } from './cohort-types.js';
import { paintLesion, planLesions, type PlannedLesion } from './lesions.js';
import { drawScanner, renderImage } from './mri.js';
import { eloquence, latentSeverity, poorOutcomeProbability, sampleMrs, type LatentComponents } from './outcome.js';
import { gridGeometry, labelGrid, type Anatomy, type GridGeometry } from './phantom.js';
import { resolveScenario, SCENARIO_NAMES, strategicScore, type ScenarioKnobs, type ScenarioName } from './scenarios.js';

export type { ImageTruth, LesionTruth, PatientImage, ScannerEffects, SyntheticCohort, SyntheticCohortOptions, SyntheticPatient } from './cohort-types.js';

/** Mixes a seed, a patient index and a stream id into a 32-bit seed (murmur3 finaliser). */
function mixSeed(seed: number, index: number, stream: number): number {
  let h = (Math.floor(seed) ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  // Fold the high part of large seeds in as well.
  return (h ^ Math.floor(seed / 4294967296)) >>> 0;
}

const STREAM = { clinical: 1, lesion: 2, anatomy: 3, scanner: 4, noise: 5, missing: 6, outcome: 7, acute: 8 } as const;

interface ResolvedOptions {
  patients: number;
  seed: number;
  layout: '2d' | '3d';
  imageShape: number[];
  slices: number;
  missingRate: number;
  lesionVolume: { medianMl: number; sigma: number };
  acuteLesionRate: number;
  multipleLesionRate: number;
  oldLesions: boolean;
  scenario: ScenarioName;
  knobs: ScenarioKnobs;
  images: boolean;
}

function resolveOptions(options: SyntheticCohortOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError({ argument: 'options', message: 'options must be an object.', received: options });
  }
  assertPositiveInt(options.patients, 'patients');
  const seed = options.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new InvalidArgumentError({ argument: 'seed', message: 'seed must be a finite number.', received: seed });
  }
  const layout = options.layout ?? '3d';
  assertOneOf(layout, ['2d', '3d'] as const, 'layout');
  const slices = options.slices ?? 4;
  assertPositiveInt(slices, 'slices');
  const imageShape = [...(options.imageShape ?? (layout === '3d' ? [16, 32, 32] : [32, 32]))];
  const wanted = layout === '3d' ? 3 : 2;
  if (
    imageShape.length !== wanted ||
    imageShape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 4 || d > 512)
  ) {
    throw new InvalidArgumentError({
      argument: 'imageShape',
      message: `imageShape must be ${layout === '3d' ? '[depth, height, width]' : '[height, width]'} with integers in [4, 512] for layout '${layout}'.`,
      received: options.imageShape,
      fix: layout === '2d' ? 'Set the number of 2D slices with `slices`.' : '',
    });
  }
  const missingRate = options.missingRate ?? 0.05;
  assertRate(missingRate, 'missingRate');
  const lesionVolume = options.lesionVolume ?? { medianMl: 8, sigma: 1.3 };
  if (
    typeof lesionVolume !== 'object' ||
    lesionVolume === null ||
    !(lesionVolume.medianMl > 0 && lesionVolume.medianMl <= 300) ||
    !(lesionVolume.sigma >= 0 && lesionVolume.sigma <= 3)
  ) {
    throw new InvalidArgumentError({
      argument: 'lesionVolume',
      message: 'lesionVolume must be { medianMl in (0, 300], sigma in [0, 3] }.',
      received: lesionVolume,
    });
  }
  const acuteLesionRate = options.acuteLesionRate ?? 0.92;
  if (typeof acuteLesionRate !== 'number' || !(acuteLesionRate >= 0 && acuteLesionRate <= 1)) {
    throw new InvalidArgumentError({ argument: 'acuteLesionRate', message: 'acuteLesionRate must be in [0, 1].', received: acuteLesionRate });
  }
  const multipleLesionRate = options.multipleLesionRate ?? 0.06;
  assertRate(multipleLesionRate, 'multipleLesionRate');
  const oldLesions = options.oldLesions ?? true;
  if (typeof oldLesions !== 'boolean') {
    throw new InvalidArgumentError({ argument: 'oldLesions', message: 'oldLesions must be a boolean.', received: oldLesions });
  }
  const scenario = options.scenario ?? 'additive';
  assertOneOf(scenario, SCENARIO_NAMES, 'scenario');
  if (options.knobs !== undefined && (typeof options.knobs !== 'object' || options.knobs === null)) {
    throw new InvalidArgumentError({ argument: 'knobs', message: 'knobs must be an object of scenario knob overrides.', received: options.knobs });
  }
  const images = options.images ?? true;
  if (typeof images !== 'boolean') throw new InvalidArgumentError({ argument: 'images', message: 'images must be a boolean.', received: images });
  return {
    patients: options.patients,
    seed,
    layout,
    imageShape,
    slices,
    missingRate,
    lesionVolume: { medianMl: lesionVolume.medianMl, sigma: lesionVolume.sigma },
    acuteLesionRate,
    multipleLesionRate,
    oldLesions,
    scenario,
    knobs: resolveScenario(scenario, options.knobs ?? {}),
    images,
  };
}

/** Anatomy of a patient: head scale, position, and ventricles that grow with age. */
function drawAnatomy(ar: Random, baseline: Baseline): Anatomy {
  return {
    scale: ar.uniform(0.93, 1.05),
    shiftX: ar.uniform(-0.04, 0.04),
    shiftY: ar.uniform(-0.04, 0.04),
    ventricleScale: Math.min(1.5, Math.max(0.8, 0.8 + 0.012 * (baseline.age - 40) + ar.normal(0, 0.05))),
  };
}

/** Paints the planned lesions (acute first, then old) onto the patient's grid; `occupied` marks them (1 acute, 2 old). */
function paintLesions(
  pr: Random,
  geometry: GridGeometry,
  territoryLabels: Uint8Array,
  occupied: Uint8Array,
  plans: { acute: PlannedLesion[]; old: PlannedLesion[] },
  anatomy: Anatomy,
): { acuteLesions: LesionTruth[]; oldLesions: LesionTruth[] } {
  const paint = (list: PlannedLesion[], mark: number) =>
    list.map((plan) => paintLesion(pr, geometry, territoryLabels, occupied, plan, mark, anatomy)).filter((l): l is LesionTruth => l !== null);
  const acuteLesions = paint(plans.acute, 1);
  return { acuteLesions, oldLesions: paint(plans.old, 2) };
}

/** A planned lesion's truth without painting (`images: false`). */
function unpaintedLesion(plan: PlannedLesion): LesionTruth {
  return {
    territory: plan.territory,
    side: plan.side,
    sampledVolumeMl: plan.volumeMl,
    renderedVolumeMl: plan.volumeMl,
    voxelCount: 0,
    centroid: plan.centre,
    centre: plan.centre,
    eloquence: eloquence(plan.territory, plan.side, plan.centre),
    strategic: strategicScore(plan.territory, plan.side, plan.centre),
  };
}

/** The report-style truth of the painted image (what a perfect reader would write). */
function imageTruthOf(acuteLesions: readonly LesionTruth[], oldLesions: readonly LesionTruth[]): ImageTruth {
  const first = acuteLesions[0];
  return {
    acuteLesion: first ? 'present' : 'absent',
    side: !first ? 'none' : acuteLesions.every((l) => l.side === first.side) ? first.side : 'bilateral',
    territory: !first ? 'none' : acuteLesions.every((l) => l.territory === first.territory) ? first.territory : 'multiple',
    volumeMl: acuteLesions.reduce((s, l) => s + l.renderedVolumeMl, 0),
    oldLesions: oldLesions.length > 0 ? 'present' : 'none',
  };
}

/** The lesion summary that drives NIHSS and treatment (sampled, not rendered, volumes). */
function lesionSummary(acuteLesions: readonly LesionTruth[]): LesionSummary {
  const main = acuteLesions[0] ?? null;
  const sat = acuteLesions[1] ?? null;
  return {
    territory: main?.territory ?? null,
    side: main?.side ?? null,
    volumeMl: main?.sampledVolumeMl ?? 0,
    eloquence: main?.eloquence ?? 0,
    satellite: sat ? { territory: sat.territory, side: sat.side, volumeMl: sat.sampledVolumeMl } : null,
  };
}

/** The latent severity of a patient from its lesions and clinical record. */
function latentOf(acuteLesions: readonly LesionTruth[], oldLesions: readonly LesionTruth[], summary: LesionSummary, clinical: ClinicalRecord, knobs: ScenarioKnobs): LatentComponents {
  return latentSeverity({
    acuteVolumeMl: acuteLesions.reduce((s, l) => s + l.sampledVolumeMl, 0),
    acuteTerritory: summary.territory,
    acuteSide: summary.side,
    eloquence: summary.eloquence,
    multiple: summary.satellite !== null,
    strategic: acuteLesions[0]?.strategic ?? 0,
    oldLesionVolumeMl: oldLesions.reduce((s, l) => s + l.sampledVolumeMl, 0),
    age: clinical.age,
    preStrokeMrs: clinical.preStrokeMrs,
    glucose: clinical.glucose,
    diabetes: clinical.diabetes === 1,
    atrialFibrillation: clinical.atrialFibrillation === 1,
    thrombolysis: clinical.thrombolysis === 1,
    thrombectomy: clinical.thrombectomy === 1,
    onsetToTreatmentMin: clinical.onsetToTreatmentMin,
  }, knobs);
}

/** The published row: each cell missing (`null`) with probability `rate`, independently (MCAR). */
function withMissingCells(mr: Random, clinical: ClinicalRecord, rate: number): ClinicalRow {
  const row: ClinicalRow = {};
  const full = clinical as unknown as Record<string, number | string>;
  for (const col of CLINICAL_SCHEMA) row[col.name] = mr.next() < rate ? null : full[col.name]!;
  return row;
}

/**
 * Draws patient `p` and renders its image into `image` (its slice of the cohort's images).
 */
function drawPatient(o: ResolvedOptions, p: number, geometry: GridGeometry, image: Float32Array): SyntheticPatient {
  const rng = (stream: number): Random => new Random(mixSeed(o.seed, p, stream));
  // 1. baseline clinical variables; 2. anatomy and lesion plan (independent of the image grid)
  const baseline = sampleBaseline(rng(STREAM.clinical));
  const anatomy = drawAnatomy(rng(STREAM.anatomy), baseline);
  const plans = planLesions(rng(STREAM.lesion), baseline, anatomy, o);
  // 3. image (or, without images, the planned lesions as they are)
  const draw = drawScanner(rng(STREAM.scanner));
  let lesions: { acuteLesions: LesionTruth[]; oldLesions: LesionTruth[] };
  if (o.images) {
    const labels = labelGrid(geometry, anatomy);
    const occupied = new Uint8Array(labels.tissue.length);
    lesions = paintLesions(rng(STREAM.acute), geometry, labels.territory, occupied, plans, anatomy);
    renderImage(image, geometry, labels.tissue, occupied, { ...draw, rng: rng(STREAM.noise) });
  } else {
    lesions = { acuteLesions: plans.acute.map(unpaintedLesion), oldLesions: plans.old.map(unpaintedLesion) };
  }
  const { acuteLesions, oldLesions } = lesions;
  // 4. NIHSS, treatment, outcome
  const summary = lesionSummary(acuteLesions);
  const acute = sampleAcuteClinical(rng(STREAM.outcome), baseline, summary, { noise: o.knobs.nihssNoise, eloquenceGain: o.knobs.nihssEloquence });
  const clinical: ClinicalRecord = {
    age: baseline.age,
    sex: baseline.sex,
    nihss: acute.nihss,
    onsetToTreatmentMin: baseline.onsetToTreatmentMin,
    thrombolysis: acute.thrombolysis,
    thrombectomy: acute.thrombectomy,
    hypertension: baseline.hypertension,
    diabetes: baseline.diabetes,
    atrialFibrillation: baseline.atrialFibrillation,
    glucose: baseline.glucose,
    systolicBp: baseline.systolicBp,
    preStrokeMrs: baseline.preStrokeMrs,
  };
  const latent = latentOf(acuteLesions, oldLesions, summary, clinical, o.knobs);
  const truePoorProbability = poorOutcomeProbability(latent.total);
  const mrs = sampleMrs(latent.total, rng(STREAM.outcome + 100).next());
  // 5. missing cells
  const row = withMissingCells(rng(STREAM.missing), clinical, o.missingRate);
  return {
    index: p,
    id: `P${String(p).padStart(4, '0')}`,
    clinical,
    row,
    acuteLesions,
    oldLesions,
    anatomy,
    scanner: draw.scanner,
    truth: imageTruthOf(acuteLesions, oldLesions),
    latent,
    truePoorProbability,
    mrs,
    poor: mrs >= 3 ? 1 : 0,
  };
}

/**
 * Generates a seeded synthetic acute-stroke cohort: per patient a brain MRI phantom (DWI and
 * ADC), a clinical row and a 90-day mRS outcome with its true probability.
 *
 * Images are `[patients, D, H, W, 2]` (3D) or `[patients, H, W, 2·slices]` (2D), flattened in
 * `cohort.images`; `tf.tensor(cohort.images, [n, ...cohort.sampleShape])` makes the batch.
 * Every patient draws from its own seeded streams, so a larger cohort with the same seed
 * starts with the same patients, and the clinical table and outcomes do not depend on
 * `layout` or `imageShape`.
 *
 * @param options - see {@link SyntheticCohortOptions}.
 * @returns the cohort (images, schema, rows, per-patient truth, outcomes).
 * @throws {@link InvalidArgumentError} naming the offending option (`patients`, `seed`,
 *   `layout`, `imageShape`, `slices`, `missingRate`, `lesionVolume`, `acuteLesionRate`,
 *   `multipleLesionRate`, `oldLesions`).
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 8, seed: 1 });
 * cohort.sampleShape;             // [16, 32, 32, 2]
 * cohort.images.length;           // 8 * 16 * 32 * 32 * 2
 * cohort.rows[0]!.nihss;          // e.g. 7 (or null when missing)
 * cohort.truePoorProbability[0];  // e.g. 0.31
 * ```
 */
export function generateSyntheticCohort(options: SyntheticCohortOptions): SyntheticCohort {
  const o = resolveOptions(options);
  const sampleShape = o.layout === '3d' ? [...o.imageShape, 2] : [...o.imageShape, 2 * o.slices];
  const geometry = gridGeometry(sampleShape, o.layout);
  const channelNames =
    o.layout === '3d'
      ? ['DWI', 'ADC']
      : Array.from({ length: 2 * o.slices }, (_, c) => `s${c >> 1}:${c % 2 === 0 ? 'DWI' : 'ADC'}`);
  const images = new Float32Array(o.images ? o.patients * geometry.size : 0);
  const patients = Array.from({ length: o.patients }, (_, p) => drawPatient(o, p, geometry, images.subarray(p * geometry.size, (p + 1) * geometry.size)));
  return {
    options: {
      patients: o.patients,
      seed: o.seed,
      layout: o.layout,
      imageShape: o.imageShape,
      slices: o.slices,
      missingRate: o.missingRate,
      lesionVolume: o.lesionVolume,
      acuteLesionRate: o.acuteLesionRate,
      multipleLesionRate: o.multipleLesionRate,
      oldLesions: o.oldLesions,
      scenario: o.scenario,
      knobs: o.knobs,
      images: o.images,
    },
    layout: o.layout,
    sampleShape,
    channelNames,
    geometry,
    images,
    schema: CLINICAL_SCHEMA,
    rows: patients.map((p) => p.row),
    patients,
    mrs: Int32Array.from(patients, (p) => p.mrs),
    poor: Uint8Array.from(patients, (p) => p.poor),
    truePoorProbability: Float64Array.from(patients, (p) => p.truePoorProbability),
  };
}

/**
 * One patient's image as a {@link PatientImage} (a view into `cohort.images`, not a copy).
 *
 * @throws {@link InvalidArgumentError} (argument `index`) when out of range.
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 2, seed: 0 });
 * cohortImage(cohort, 1).shape; // [16, 32, 32, 2]
 * ```
 */
export function cohortImage(cohort: SyntheticCohort, index: number): PatientImage {
  assertNonNegativeInt(index, 'index');
  if (index >= cohort.patients.length) {
    throw new InvalidArgumentError({
      argument: 'index',
      message: `index must be below the cohort size ${cohort.patients.length}.`,
      received: index,
    });
  }
  const size = cohort.geometry.size;
  return { data: cohort.images.subarray(index * size, (index + 1) * size), shape: cohort.sampleShape, layout: cohort.layout };
}
