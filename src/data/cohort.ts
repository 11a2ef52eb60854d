/**
 * `generateSyntheticCohort`: a seeded, fully synthetic acute-stroke cohort (brain MRI phantom
 * with DWI and ADC, a clinical table with missing cells, and 90-day mRS outcomes from a
 * documented latent-severity model). No real patient data is involved.
 *
 * The generative model is written down in docs/guides/synthetic-cohort.md.
 *
 * @packageDocumentation
 */
import { Random } from '../core/random.js';
import { assertNonNegativeInt, assertOneOf, assertPositiveInt, assertRate } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import {
  CLINICAL_SCHEMA,
  sampleAcuteClinical,
  sampleBaseline,
  type ClinicalRecord,
  type ClinicalRow,
  type ColumnSchema,
  type LesionSummary,
} from './clinical.js';
import { eloquence, latentSeverity, poorOutcomeProbability, sampleMrs, type LatentComponents } from './outcome.js';
import {
  PHANTOM_GEOMETRY,
  TERRITORIES,
  TISSUE,
  atlasLabel,
  TISSUE_INTENSITY,
  TISSUE_COUNT,
  gridGeometry,
  labelGrid,
  territoryCode,
  voxelToAnatomical,
  type Anatomy,
  type GridGeometry,
  type Side,
  type Territory,
} from './phantom.js';

/** Options of {@link generateSyntheticCohort}. */
export interface SyntheticCohortOptions {
  /** Number of patients (≥ 1). */
  patients: number;
  /**
   * Seed of every random draw. Same seed and options ⇒ byte-identical cohort.
   * @defaultValue 0
   */
  seed?: number;
  /**
   * `'3d'`: images `[D, H, W, 2]` (NDHWC per patient, channels DWI, ADC).
   * `'2d'`: images `[H, W, 2·slices]` (NHWC per patient, channel `2·s + q` = slice s, sequence q).
   * @defaultValue '3d'
   */
  layout?: '2d' | '3d';
  /**
   * Spatial size: `[D, H, W]` for 3D, `[H, W]` for 2D.
   * @defaultValue [16, 32, 32] for 3D, [32, 32] for 2D
   */
  imageShape?: readonly number[];
  /**
   * Axial slices of the 2D layout (evenly spaced from the cerebellum to the lateral ventricles).
   * @defaultValue 4
   */
  slices?: number;
  /**
   * Probability that any single clinical cell is missing (`null`), independently (MCAR).
   * @defaultValue 0.05
   */
  missingRate?: number;
  /**
   * Log-normal law of the main acute lesion volume: ln V ~ N(ln medianMl, sigma²), capped at 300 mL.
   * @defaultValue { medianMl: 8, sigma: 1.3 }
   */
  lesionVolume?: { medianMl: number; sigma: number };
  /**
   * Probability that a patient has a visible acute infarct (the others are DWI-negative).
   * @defaultValue 0.92
   */
  acuteLesionRate?: number;
  /**
   * Probability that an acute infarct has a second, embolic lesion in another territory.
   * @defaultValue 0.06
   */
  multipleLesionRate?: number;
  /**
   * Whether old (chronic) infarcts may be drawn (their rate depends on age, hypertension and AF).
   * @defaultValue true
   */
  oldLesions?: boolean;
}

/** One patient's image: a flat sample with its shape and layout (what the findings extractor reads). */
export interface PatientImage {
  /** `[D, H, W, 2]` values for `'3d'`, `[H, W, 2·S]` for `'2d'`, row-major. */
  readonly data: Float32Array;
  /** Sample shape without the batch axis. */
  readonly shape: readonly number[];
  readonly layout: '2d' | '3d';
}

/** Ground truth of one simulated lesion (never read by the findings extractor). */
export interface LesionTruth {
  readonly territory: Territory;
  readonly side: Side;
  /** Volume drawn from the lesion law (mL); the latent severity uses it. */
  readonly sampledVolumeMl: number;
  /** Volume actually painted on the voxel grid (voxels × voxel volume, mL). */
  readonly renderedVolumeMl: number;
  readonly voxelCount: number;
  /** Centroid of the painted voxels in the patient's anatomical frame (U = 10 cm). */
  readonly centroid: readonly [number, number, number];
  /** Drawn continuous lesion centre (anatomical frame, U); independent of the image grid. */
  readonly centre: readonly [number, number, number];
  /** Eloquence of the exact site, exp(−d²/(2·0.12²)) with d the distance of the centre to the territory's hub (0–1). */
  readonly eloquence: number;
}

/** Scanner effects applied to one patient's images. */
export interface ScannerEffects {
  /** Multiplicative DWI gain. */
  readonly dwiGain: number;
  /** ADC calibration factor. */
  readonly adcGain: number;
  /** Standard deviation of the DWI complex noise (Rician magnitude), after gain. */
  readonly dwiNoise: number;
  /** Standard deviation of the ADC Gaussian noise. */
  readonly adcNoise: number;
  /** Bias-field coefficients (x, y, z, quadratic): DWI × exp(c·[x, y, z, x²+y²+z²−0.4]). */
  readonly biasField: readonly [number, number, number, number];
}

/** Report-style ground truth of a patient's image (what a perfect reader would write). */
export interface ImageTruth {
  readonly acuteLesion: 'present' | 'absent';
  readonly side: 'left' | 'right' | 'bilateral' | 'none';
  readonly territory: Territory | 'multiple' | 'none';
  /** Painted acute volume (mL). */
  readonly volumeMl: number;
  readonly oldLesions: 'none' | 'present';
}

/** Everything known about one synthetic patient. */
export interface SyntheticPatient {
  readonly index: number;
  /** `'P0000'`, `'P0001'`, … */
  readonly id: string;
  /** Complete clinical record (before missingness). */
  readonly clinical: ClinicalRecord;
  /** The published row (same object as `cohort.rows[index]`), with `null` for missing cells. */
  readonly row: ClinicalRow;
  /** Acute lesions: none, one, or a main lesion and a satellite. */
  readonly acuteLesions: readonly LesionTruth[];
  /** Old (chronic) lesions: none or one. */
  readonly oldLesions: readonly LesionTruth[];
  readonly anatomy: Anatomy;
  readonly scanner: ScannerEffects;
  readonly truth: ImageTruth;
  /** Components of the latent severity (sum in `total`). */
  readonly latent: LatentComponents;
  /** σ(latent − θ₃): the true probability of mRS ≥ 3. */
  readonly truePoorProbability: number;
  /** Drawn 90-day mRS (0–6). */
  readonly mrs: number;
  /** mRS ≥ 3. */
  readonly poor: 0 | 1;
}

/** A generated cohort. Arrays are indexed by patient. */
export interface SyntheticCohort {
  readonly options: Readonly<Required<Omit<SyntheticCohortOptions, 'imageShape' | 'lesionVolume'>>> & {
    readonly imageShape: readonly number[];
    readonly lesionVolume: { readonly medianMl: number; readonly sigma: number };
  };
  readonly layout: '2d' | '3d';
  /** Shape of one patient's image: `[D, H, W, 2]` (3D) or `[H, W, 2·S]` (2D). */
  readonly sampleShape: readonly number[];
  /** Channel names, e.g. `['DWI', 'ADC']` or `['s0:DWI', 's0:ADC', 's1:DWI', …]`. */
  readonly channelNames: readonly string[];
  readonly geometry: GridGeometry;
  /** All images, patient-major: `[patients, ...sampleShape]` flattened. */
  readonly images: Float32Array;
  /** Clinical column schema (for a tabular preprocessor). */
  readonly schema: readonly ColumnSchema[];
  /** Clinical rows with missing cells as `null`. */
  readonly rows: readonly ClinicalRow[];
  readonly patients: readonly SyntheticPatient[];
  /** 90-day mRS per patient. */
  readonly mrs: Int32Array;
  /** Binary outcome (mRS ≥ 3) per patient. */
  readonly poor: Uint8Array;
  /** True P(mRS ≥ 3) per patient (score it with an AUC to get the Bayes-optimal AUC). */
  readonly truePoorProbability: Float64Array;
}

/** Base territory weights of the main acute lesion (before risk-factor multipliers). */
export const TERRITORY_WEIGHTS: Readonly<Record<Territory, number>> = {
  ACA: 0.06,
  MCA: 0.46,
  PCA: 0.12,
  'basal ganglia': 0.2,
  'internal capsule': 0.2,
  brainstem: 0.15,
  cerebellum: 0.1,
};

/** Largest lesion (mL) each territory can hold; a lesion goes only to territories whose cap ≥ its volume. */
export const TERRITORY_CAP_ML: Readonly<Record<Territory, number>> = {
  ACA: 60,
  MCA: 300,
  PCA: 70,
  'basal ganglia': 4,
  'internal capsule': 2.5,
  brainstem: 6,
  cerebellum: 25,
};

const LACUNAR: ReadonlySet<Territory> = new Set<Territory>(['basal ganglia', 'internal capsule', 'brainstem']);
const CORTICAL: readonly Territory[] = ['ACA', 'MCA', 'PCA', 'cerebellum'];
const OLD_WEIGHTS: Readonly<Record<Territory, number>> = {
  ACA: 0.05,
  MCA: 0.35,
  PCA: 0.1,
  'basal ganglia': 0.25,
  'internal capsule': 0.1,
  brainstem: 0.05,
  cerebellum: 0.1,
};

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
  };
}

interface PlannedLesion {
  territory: Territory;
  side: Side;
  volumeMl: number;
  /** Continuous centre in the anatomical frame (U), drawn uniformly inside the territory. */
  centre: [number, number, number];
}

function chooseTerritory(
  rng: Random,
  weights: Readonly<Record<Territory, number>>,
  volumeMl: number,
  multiplier: (t: Territory) => number,
  exclude: Territory | null,
  among: readonly Territory[] = TERRITORIES,
): Territory {
  const eligible = among.filter((t) => t !== exclude && TERRITORY_CAP_ML[t] >= volumeMl);
  const list = eligible.length > 0 ? eligible : (['MCA'] as Territory[]);
  return list[rng.weightedIndex(list.map((t) => weights[t] * multiplier(t)))]!;
}

/** Bounding box (U) that contains a territory, for rejection sampling of lesion centres. */
function territoryBox(territory: Territory, side: Side): [number, number, number, number, number, number] {
  const g = PHANTOM_GEOMETRY;
  const sign = side === 'left' ? 1 : -1;
  const box = (e: { center: readonly number[]; radii: readonly number[] }, mirror: boolean) => {
    const cx = mirror ? sign * e.center[0]! : e.center[0]!;
    return [cx - e.radii[0]!, cx + e.radii[0]!, e.center[1]! - e.radii[1]!, e.center[1]! + e.radii[1]!, e.center[2]! - e.radii[2]!, e.center[2]! + e.radii[2]!] as [number, number, number, number, number, number];
  };
  if (territory === 'basal ganglia') return box(g.basalGanglia, true);
  if (territory === 'internal capsule') return box(g.internalCapsule, true);
  if (territory === 'brainstem') return box(g.brainstem, false);
  if (territory === 'cerebellum') return box(g.cerebellum, false);
  return box(g.cerebrum, false);
}

/** Draws a lesion centre uniformly inside a territory (rejection sampling on the atlas). */
function sampleCentre(rng: Random, territory: Territory, side: Side, ventricleScale: number): [number, number, number] {
  const code = territoryCode(territory, side);
  const [x0, x1, y0, y1, z0, z1] = territoryBox(territory, side);
  let fallback: [number, number, number] = [(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2];
  for (let attempt = 0; attempt < 4000; attempt++) {
    const c: [number, number, number] = [rng.uniform(x0, x1), rng.uniform(y0, y1), rng.uniform(z0, z1)];
    if (atlasLabel(c[0], c[1], c[2], ventricleScale) >> 4 === code) return c;
    if (attempt === 0) fallback = c;
  }
  return fallback;
}

/**
 * Paints one lesion: the `n` territory voxels nearest (in a randomly stretched metric with a
 * jittered boundary) to the lesion's continuous centre.
 */
function paintLesion(
  rng: Random,
  geometry: GridGeometry,
  territoryLabels: Uint8Array,
  occupied: Uint8Array,
  plan: PlannedLesion,
  mark: number,
  anatomy: Anatomy,
): LesionTruth | null {
  let code = territoryCode(plan.territory, plan.side);
  const collect = (c: number): number[] => {
    const out: number[] = [];
    for (let v = 0; v < territoryLabels.length; v++) if (territoryLabels[v] === c && occupied[v] === 0) out.push(v);
    return out;
  };
  let candidates = collect(code);
  if (candidates.length === 0) {
    // The grid misses this territory (e.g. very few 2D slices): fall back to the same side's MCA.
    plan = { ...plan, territory: 'MCA' };
    code = territoryCode('MCA', plan.side);
    candidates = collect(code);
    if (candidates.length === 0) return null;
  }
  const { height, width, sliceZ } = geometry;
  const hw = height * width;
  const stretch = [rng.uniform(0.7, 1.4), rng.uniform(0.7, 1.4), rng.uniform(0.7, 1.4)];
  // Centre in grid coordinates (U of the field of view).
  const gx = plan.centre[0] * anatomy.scale + anatomy.shiftX;
  const gy = plan.centre[1] * anatomy.scale + anatomy.shiftY;
  const gz = plan.centre[2] * anatomy.scale;
  const du = 2 / width;
  const keys = new Float64Array(candidates.length);
  for (let n = 0; n < candidates.length; n++) {
    const v = candidates[n]!;
    const k = Math.floor(v / hw);
    const i = Math.floor((v % hw) / width);
    const j = v % width;
    const dx = (((j + 0.5) / width) * 2 - 1 - gx) / stretch[0]!;
    const dy = (((i + 0.5) / height) * 2 - 1 - gy) / stretch[1]!;
    const dz = (sliceZ[k]! - gz) / stretch[2]!;
    keys[n] = Math.sqrt(dx * dx + dy * dy + dz * dz) + rng.uniform(0, 0.6 * du);
  }
  const order = Array.from(candidates.keys()).sort((a, b) => keys[a]! - keys[b]! || a - b);
  const count = Math.max(1, Math.min(candidates.length, Math.round(plan.volumeMl / geometry.voxelMl)));
  let sx = 0;
  let sy = 0;
  let sz = 0;
  for (let n = 0; n < count; n++) {
    const v = candidates[order[n]!]!;
    occupied[v] = mark;
    const k = Math.floor(v / hw);
    const [x, y, z] = voxelToAnatomical(geometry, anatomy, k, Math.floor((v % hw) / width), v % width);
    sx += x;
    sy += y;
    sz += z;
  }
  return {
    territory: plan.territory,
    side: plan.side,
    sampledVolumeMl: plan.volumeMl,
    renderedVolumeMl: count * geometry.voxelMl,
    voxelCount: count,
    centroid: [sx / count, sy / count, sz / count],
    centre: plan.centre,
    eloquence: eloquence(plan.territory, plan.side, plan.centre),
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
  const images = new Float32Array(o.patients * geometry.size);
  const rows: ClinicalRow[] = [];
  const patients: SyntheticPatient[] = [];
  const mrsArr = new Int32Array(o.patients);
  const poorArr = new Uint8Array(o.patients);
  const probArr = new Float64Array(o.patients);
  const logMedian = Math.log(o.lesionVolume.medianMl);

  for (let p = 0; p < o.patients; p++) {
    const rng = (stream: number): Random => new Random(mixSeed(o.seed, p, stream));
    // 1. Baseline clinical variables.
    const baseline = sampleBaseline(rng(STREAM.clinical));

    // 2. Anatomy and lesion plan (independent of the image grid).
    const ar = rng(STREAM.anatomy);
    const anatomy: Anatomy = {
      scale: ar.uniform(0.93, 1.05),
      shiftX: ar.uniform(-0.04, 0.04),
      shiftY: ar.uniform(-0.04, 0.04),
      ventricleScale: Math.min(1.5, Math.max(0.8, 0.8 + 0.012 * (baseline.age - 40) + ar.normal(0, 0.05))),
    };
    const lr = rng(STREAM.lesion);
    const acutePlans: PlannedLesion[] = [];
    if (lr.bernoulli(o.acuteLesionRate)) {
      const volumeMl = Math.min(300, lr.logNormal(logMedian, o.lesionVolume.sigma));
      const mult = (t: Territory): number =>
        (baseline.atrialFibrillation && CORTICAL.includes(t) ? 1.5 : 1) *
        ((baseline.hypertension || baseline.diabetes) && LACUNAR.has(t) ? 1.4 : 1);
      const territory = chooseTerritory(lr, TERRITORY_WEIGHTS, volumeMl, mult, null);
      const side: Side = lr.bernoulli(0.5) ? 'left' : 'right';
      acutePlans.push({ territory, side, volumeMl, centre: sampleCentre(lr, territory, side, anatomy.ventricleScale) });
      const multipleRate = Math.min(0.95, o.multipleLesionRate * (baseline.atrialFibrillation ? 2 : 1));
      const u = lr.next();
      if (u < multipleRate) {
        const v2 = Math.max(0.8, volumeMl * lr.uniform(0.1, 0.35));
        const t2 = chooseTerritory(lr, TERRITORY_WEIGHTS, v2, () => 1, territory, CORTICAL);
        const s2: Side = lr.bernoulli(0.6) ? side : side === 'left' ? 'right' : 'left';
        acutePlans.push({ territory: t2, side: s2, volumeMl: v2, centre: sampleCentre(lr, t2, s2, anatomy.ventricleScale) });
      }
    }
    const oldPlans: PlannedLesion[] = [];
    {
      const a = (baseline.age - 70) / 10;
      const pOld = 1 / (1 + Math.exp(-(-1.9 + 0.4 * a + 0.5 * baseline.hypertension + 0.4 * baseline.atrialFibrillation)));
      const oldDraw = lr.next();
      const volumeMl = Math.min(30, lr.logNormal(Math.log(2.5), 0.7));
      const territory = chooseTerritory(lr, OLD_WEIGHTS, volumeMl, () => 1, null);
      const side: Side = lr.bernoulli(0.5) ? 'left' : 'right';
      if (o.oldLesions && oldDraw < pOld) {
        oldPlans.push({ territory, side, volumeMl, centre: sampleCentre(lr, territory, side, anatomy.ventricleScale) });
      }
    }

    // 3. Image.
    const labels = labelGrid(geometry, anatomy);
    const occupied = new Uint8Array(labels.tissue.length);
    const pr = rng(STREAM.acute);
    const acuteLesions: LesionTruth[] = [];
    for (const plan of acutePlans) {
      const l = paintLesion(pr, geometry, labels.territory, occupied, plan, 1, anatomy);
      if (l) acuteLesions.push(l);
    }
    const oldLesions: LesionTruth[] = [];
    for (const plan of oldPlans) {
      const l = paintLesion(pr, geometry, labels.territory, occupied, plan, 2, anatomy);
      if (l) oldLesions.push(l);
    }

    const sr = rng(STREAM.scanner);
    const dwiGain = sr.logNormal(0, 0.2);
    const scanner: ScannerEffects = {
      dwiGain,
      adcGain: sr.normal(1, 0.03),
      dwiNoise: sr.uniform(0.012, 0.03) * dwiGain,
      adcNoise: sr.uniform(0.02, 0.05),
      biasField: [sr.normal(0, 0.08), sr.normal(0, 0.08), sr.normal(0, 0.08), sr.normal(0, 0.08)],
    };
    const tissueDwi = new Float64Array(TISSUE_COUNT);
    const tissueAdc = new Float64Array(TISSUE_COUNT);
    for (let t = 0; t < TISSUE_COUNT; t++) {
      tissueDwi[t] = TISSUE_INTENSITY.dwi[t]! * sr.logNormal(0, 0.04);
      tissueAdc[t] = TISSUE_INTENSITY.adc[t]! * sr.logNormal(0, 0.03);
    }
    const acuteDwi = sr.uniform(2.0, 3.0);
    const acuteAdc = sr.uniform(0.45, 0.65);
    const oldAdc = sr.uniform(2.0, 2.6);
    renderImage(images.subarray(p * geometry.size, (p + 1) * geometry.size), geometry, labels.tissue, occupied, {
      scanner,
      tissueDwi,
      tissueAdc,
      acuteDwi,
      acuteAdc,
      oldAdc,
      rng: rng(STREAM.noise),
    });

    // 4. NIHSS, treatment, outcome.
    const main = acuteLesions[0] ?? null;
    const sat = acuteLesions[1] ?? null;
    const summary: LesionSummary = {
      territory: main?.territory ?? null,
      side: main?.side ?? null,
      volumeMl: main?.sampledVolumeMl ?? 0,
      eloquence: main?.eloquence ?? 0,
      satellite: sat ? { territory: sat.territory, side: sat.side, volumeMl: sat.sampledVolumeMl } : null,
    };
    const acute = sampleAcuteClinical(rng(STREAM.outcome), baseline, summary);
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
    const latent = latentSeverity({
      acuteVolumeMl: acuteLesions.reduce((s, l) => s + l.sampledVolumeMl, 0),
      acuteTerritory: summary.territory,
      acuteSide: summary.side,
      eloquence: main?.eloquence ?? 0,
      multiple: sat !== null,
      oldLesionVolumeMl: oldLesions.reduce((s, l) => s + l.sampledVolumeMl, 0),
      age: clinical.age,
      preStrokeMrs: clinical.preStrokeMrs,
      glucose: clinical.glucose,
      diabetes: clinical.diabetes === 1,
      atrialFibrillation: clinical.atrialFibrillation === 1,
      thrombolysis: clinical.thrombolysis === 1,
      thrombectomy: clinical.thrombectomy === 1,
      onsetToTreatmentMin: clinical.onsetToTreatmentMin,
    });
    const truePoorProbability = poorOutcomeProbability(latent.total);
    const mrs = sampleMrs(latent.total, rng(STREAM.outcome + 100).next());
    const poor: 0 | 1 = mrs >= 3 ? 1 : 0;

    // 5. Missing cells (MCAR).
    const mr = rng(STREAM.missing);
    const row: ClinicalRow = {};
    const full = clinical as unknown as Record<string, number | string>;
    for (const col of CLINICAL_SCHEMA) row[col.name] = mr.next() < o.missingRate ? null : full[col.name]!;

    const truth: ImageTruth = {
      acuteLesion: acuteLesions.length > 0 ? 'present' : 'absent',
      side:
        acuteLesions.length === 0
          ? 'none'
          : acuteLesions.every((l) => l.side === acuteLesions[0]!.side)
            ? acuteLesions[0]!.side
            : 'bilateral',
      territory:
        acuteLesions.length === 0
          ? 'none'
          : acuteLesions.every((l) => l.territory === acuteLesions[0]!.territory)
            ? acuteLesions[0]!.territory
            : 'multiple',
      volumeMl: acuteLesions.reduce((s, l) => s + l.renderedVolumeMl, 0),
      oldLesions: oldLesions.length > 0 ? 'present' : 'none',
    };
    rows.push(row);
    mrsArr[p] = mrs;
    poorArr[p] = poor;
    probArr[p] = truePoorProbability;
    patients.push({
      index: p,
      id: `P${String(p).padStart(4, '0')}`,
      clinical,
      row,
      acuteLesions,
      oldLesions,
      anatomy,
      scanner,
      truth,
      latent,
      truePoorProbability,
      mrs,
      poor,
    });
  }
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
    },
    layout: o.layout,
    sampleShape,
    channelNames,
    geometry,
    images,
    schema: CLINICAL_SCHEMA,
    rows,
    patients,
    mrs: mrsArr,
    poor: poorArr,
    truePoorProbability: probArr,
  };
}

interface RenderParams {
  scanner: ScannerEffects;
  tissueDwi: Float64Array;
  tissueAdc: Float64Array;
  acuteDwi: number;
  acuteAdc: number;
  oldAdc: number;
  rng: Random;
}

function renderImage(
  out: Float32Array,
  geometry: GridGeometry,
  tissue: Uint8Array,
  lesion: Uint8Array,
  r: RenderParams,
): void {
  const { depth, height, width, sliceZ, strides } = geometry;
  const [c0, c1, c2, c3] = r.scanner.biasField;
  const { dwiGain, adcGain, dwiNoise, adcNoise } = r.scanner;
  const rng = r.rng;
  // The bias field exp(c0·x + c1·y + c2·z + c3·(x² + y² + z² − 0.4)) is separable per axis.
  const bx = Float64Array.from({ length: width }, (_, j) => {
    const x = ((j + 0.5) / width) * 2 - 1;
    return Math.exp(c0 * x + c3 * x * x) * dwiGain;
  });
  const by = Float64Array.from({ length: height }, (_, i) => {
    const y = ((i + 0.5) / height) * 2 - 1;
    return Math.exp(c1 * y + c3 * y * y);
  });
  const acuteAdcValue = new Float64Array(TISSUE_COUNT);
  for (let t = 0; t < TISSUE_COUNT; t++) acuteAdcValue[t] = r.tissueAdc[t]! * r.acuteAdc;
  const twoPi = 2 * Math.PI;
  let v = 0;
  for (let k = 0; k < depth; k++) {
    const z = sliceZ[k]!;
    const bz = Math.exp(c2 * z + c3 * (z * z - 0.4));
    for (let i = 0; i < height; i++) {
      const byz = by[i]! * bz;
      const rowBase = k * strides[0] + i * strides[1];
      for (let j = 0; j < width; j++, v++) {
        const t = tissue[v]!;
        let dwi = r.tissueDwi[t]!;
        let adc = r.tissueAdc[t]!;
        const l = lesion[v]!;
        if (l === 1) {
          dwi *= r.acuteDwi;
          adc = acuteAdcValue[t]!;
        } else if (l === 2) {
          dwi *= 0.35;
          adc = r.oldAdc;
        }
        const s = dwi * bx[j]! * byz;
        // Box–Muller: one pair of uniforms gives the real and imaginary DWI noise.
        let u1 = rng.next();
        if (u1 === 0) u1 = Number.MIN_VALUE;
        const rad = Math.sqrt(-2 * Math.log(u1)) * dwiNoise;
        const ang = twoPi * rng.next();
        const re = s + rad * Math.cos(ang);
        const im = rad * Math.sin(ang);
        const a = (t === TISSUE.background ? 0 : adc * adcGain) + rng.normal(0, adcNoise);
        const base = rowBase + j * strides[2];
        out[base] = Math.sqrt(re * re + im * im);
        out[base + strides[3]] = a > 0 ? a : 0;
      }
    }
  }
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
