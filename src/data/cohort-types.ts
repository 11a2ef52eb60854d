/**
 * The types of the synthetic stroke cohort: its options, one patient's image and ground truth,
 * and the generated cohort (see `generateSyntheticCohort` in ./cohort.ts).
 *
 * @packageDocumentation
 */
import type { ClinicalRecord, ClinicalRow, ColumnSchema } from './clinical.js';
import type { LatentComponents } from './outcome.js';
import type { Anatomy, GridGeometry, Side, Territory } from './phantom.js';
import type { ScenarioKnobs, ScenarioName } from './scenarios.js';

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
  /**
   * The scenario: which structural equations NIHSS and the outcome follow (./scenarios.ts).
   * `'additive'` is the original cohort (a negative control for fusion); `'imbalance'` has a
   * dominant clinical modality and a complementary, harder image signal. The random draws are
   * the same in every scenario: the same seed gives the same patients, lesions and images.
   * @defaultValue 'additive'
   */
  scenario?: ScenarioName;
  /** Overrides of the scenario's knobs (sensitivity studies). @defaultValue the scenario's values */
  knobs?: Partial<ScenarioKnobs>;
  /**
   * Whether to draw the images. Without them (for ceilings on 10⁵ patients) lesions are not
   * painted: `renderedVolumeMl` is the drawn volume, `voxelCount` 0, `centroid` the centre, and
   * `images` is empty; the table and outcomes are those of the 3D default grid.
   * @defaultValue true
   */
  images?: boolean;
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
  /** Strategic-location score of the exact site, exp(−d²/(2·0.15²)) to the territory's strategic hub (0–1; see `strategicScore`). */
  readonly strategic: number;
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
  readonly options: Readonly<Required<Omit<SyntheticCohortOptions, 'imageShape' | 'lesionVolume' | 'knobs'>>> & {
    readonly imageShape: readonly number[];
    readonly lesionVolume: { readonly medianMl: number; readonly sigma: number };
    /** The scenario's knobs in force (with any overrides). */
    readonly knobs: ScenarioKnobs;
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

