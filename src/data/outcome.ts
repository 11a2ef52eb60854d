/**
 * The latent-severity outcome model of the synthetic stroke cohort: a linear latent severity
 * built from the lesion (image-only), the clinical table and treatment, turned into a 90-day
 * modified Rankin Scale score by ordinal logistic thresholds. Because the noise is logistic,
 * each patient's true probability of a poor outcome (mRS ≥ 3) is analytic.
 *
 * @packageDocumentation
 */
import type { Side, Territory } from './phantom.js';

/**
 * Eloquent hub of each territory (anatomical frame, U; x given for the left side and mirrored):
 * MCA hand-motor/language cortex, ACA leg-motor cortex, PCA calcarine cortex, posterior limb
 * of the internal capsule, corticospinal tract in the pons, dentate nucleus; the basal
 * ganglia have none.
 */
export const ELOQUENT_HUBS: Readonly<Record<Territory, readonly [number, number, number] | null>> = {
  MCA: [0.5, -0.05, 0.3],
  ACA: [0.06, 0.0, 0.55],
  PCA: [0.12, 0.62, 0.05],
  'basal ganglia': null,
  'internal capsule': [0.11, 0.08, 0.06],
  brainstem: [0.05, 0.12, -0.38],
  cerebellum: [0.18, 0.36, -0.48],
};

/**
 * Eloquence of an exact lesion site: exp(−d²/(2·0.12²)), d = distance (U) from the lesion centre
 * to its territory's eloquent hub ({@link ELOQUENT_HUBS}); 0 for the basal ganglia.
 *
 * @example
 * ```ts
 * eloquence('MCA', 'left', [0.5, -0.05, 0.3]); // 1
 * eloquence('MCA', 'right', [0.5, -0.05, 0.3]); // ≈ 0 (hub is at x = −0.5 on the right)
 * ```
 */
export function eloquence(territory: Territory, side: Side, centre: readonly [number, number, number]): number {
  const hub = ELOQUENT_HUBS[territory];
  if (!hub) return 0;
  const hx = side === 'left' ? hub[0] : -hub[0];
  const d2 = (centre[0] - hx) ** 2 + (centre[1] - hub[1]) ** 2 + (centre[2] - hub[2]) ** 2;
  return Math.exp(-d2 / (2 * 0.12 * 0.12));
}

/**
 * Coefficients of the latent severity model (see {@link latentSeverity}) and the ordinal
 * thresholds θ₁…θ₆ on `latent + ε`, ε ~ Logistic(0, 1): mRS = #{k : latent + ε > θₖ}.
 *
 * @example
 * ```ts
 * OUTCOME_MODEL.mrsThresholds[2]; // θ₃: P(mRS ≥ 3) = σ(latent − θ₃)
 * ```
 */
export const OUTCOME_MODEL = {
  /** β·ln(1 + V/5), V = acute lesion volume in mL. */
  volume: 1.35,
  /** Site (eloquence) offset added when an acute lesion is present, by territory; MCA by side. */
  site: {
    'MCA-left': 0.6,
    'MCA-right': 0.25,
    ACA: 0.25,
    PCA: -0.1,
    'basal ganglia': 0.35,
    'internal capsule': 1.1,
    brainstem: 1.0,
    cerebellum: 0,
  } as Readonly<Record<string, number>>,
  /** β·eloquence of the exact site of the main lesion (see {@link eloquence}); image-only. */
  eloquence: 1.2,
  /** Added when a second acute lesion lies in another territory. */
  multiple: 0.35,
  /** β·ln(1 + V_old), V_old = total old-lesion volume in mL (chronic burden, image-only). */
  oldLesion: 0.55,
  /** β·(age − 70)/10. */
  age: 0.6,
  /** β·preStrokeMrs. */
  preStrokeMrs: 0.7,
  /** β·max(0, glucose − 140)/100 (mg/dL). */
  glucose: 1.0,
  /** Comorbidities. */
  diabetes: 0.2,
  atrialFibrillation: 0.2,
  /** Thrombolysis benefit −β·max(0, 1 − onsetToTreatmentMin/360). */
  thrombolysis: 0.8,
  /** Thrombectomy benefit −β. */
  thrombectomy: 1.0,
  /** θ₁…θ₆ for mRS ≥ 1 … mRS = 6 on `latent + ε`. */
  mrsThresholds: [-0.4, 1.1, 2.8, 3.8, 4.85, 5.6] as readonly number[],
} as const;

/** What the latent severity depends on (true values, before any missingness). */
export interface SeverityInputs {
  /** Total acute lesion volume (mL); 0 without an acute lesion. */
  readonly acuteVolumeMl: number;
  /** Territory of the main acute lesion, `null` without one. */
  readonly acuteTerritory: Territory | null;
  /** Side of the main acute lesion, `null` without one. */
  readonly acuteSide: Side | null;
  /** Eloquence (0–1) of the main lesion's exact site, see {@link eloquence}. */
  readonly eloquence: number;
  /** A second acute lesion in another territory. */
  readonly multiple: boolean;
  /**
   * Strategic-location score (0–1) of the main lesion's exact site (`strategicScore` in
   * ./scenarios.ts); weighted by the scenario's knob `strategic` (0 in the additive cohort).
   * @defaultValue 0
   */
  readonly strategic?: number;
  /** Old-lesion volume (mL); 0 without old lesions. */
  readonly oldLesionVolumeMl: number;
  readonly age: number;
  readonly preStrokeMrs: number;
  readonly glucose: number;
  readonly diabetes: boolean;
  readonly atrialFibrillation: boolean;
  readonly thrombolysis: boolean;
  readonly thrombectomy: boolean;
  readonly onsetToTreatmentMin: number;
}

/** The additive components of the latent severity (their sum is `total`). */
export interface LatentComponents {
  /** Image-only, noisily summarised by NIHSS: volume term. */
  readonly lesionVolume: number;
  /** Image-only: exact lesion site (eloquence) and multiplicity. */
  readonly lesionSite: number;
  /** Image-only: strategic location of the main lesion (the `'imbalance'` scenario; 0 in `'additive'`). */
  readonly strategicSite: number;
  /** Image-only: chronic lesion burden. */
  readonly oldLesion: number;
  /** Table. */
  readonly age: number;
  /** Table-only. */
  readonly preStrokeMrs: number;
  /** Table-only. */
  readonly glucose: number;
  /** Table: diabetes and atrial fibrillation. */
  readonly comorbidity: number;
  /** Table: thrombolysis and thrombectomy (negative = benefit). */
  readonly treatment: number;
  /** The scenario's constant offset (knob `latentOffset`; 0 in `'additive'`). */
  readonly offset: number;
  /** Sum of the components. */
  readonly total: number;
}

/** The scenario terms of the latent severity (knob B and the offset; see `SCENARIO_KNOBS`). */
export interface LatentKnobs {
  /** Weight of ln(1 + V/5), the acute volume. */
  readonly volume: number;
  /** Weight of the strategic-location score. */
  readonly strategic: number;
  /** Weight of ln(1 + V_old). */
  readonly oldLesion: number;
  /** Constant added to the latent severity. */
  readonly latentOffset: number;
}

/** The additive cohort's values of {@link LatentKnobs}. */
const ADDITIVE_LATENT: LatentKnobs = { volume: OUTCOME_MODEL.volume, strategic: 0, oldLesion: OUTCOME_MODEL.oldLesion, latentOffset: 0 };

/**
 * Computes the latent severity of a patient (no noise):
 *
 * latent = b_v·ln(1 + V/5) + site + 1.2·eloquence + 0.35·multiple + b_s·strategic + b_old·ln(1 + V_old)
 *        + 0.6·(age − 70)/10 + 0.7·preMrs + 1.0·max(0, glucose − 140)/100 + 0.2·DM + 0.2·AF
 *        − 0.8·IVT·max(0, 1 − OTT/360) − 1.0·EVT + offset
 *
 * with b_v = 1.35, b_s = 0, b_old = 0.55 and offset 0 in the additive cohort (`knobs`, the scenario's terms).
 *
 * @example
 * ```ts
 * const base = { acuteVolumeMl: 20, acuteTerritory: 'MCA', acuteSide: 'left', eloquence: 0, multiple: false, oldLesionVolumeMl: 0,
 *   age: 70, preStrokeMrs: 0, glucose: 120, diabetes: false, atrialFibrillation: false, thrombolysis: false,
 *   thrombectomy: false, onsetToTreatmentMin: 120 } as const;
 * latentSeverity(base).total; // 1.35·ln 5 + 0.6 ≈ 2.773
 * ```
 */
export function latentSeverity(inputs: SeverityInputs, knobs: LatentKnobs = ADDITIVE_LATENT): LatentComponents {
  const m = OUTCOME_MODEL;
  const lesionVolume = knobs.volume * Math.log1p(Math.max(0, inputs.acuteVolumeMl) / 5);
  let lesionSite = 0;
  let strategicSite = 0;
  if (inputs.acuteTerritory !== null && inputs.acuteVolumeMl > 0) {
    const key = inputs.acuteTerritory === 'MCA' ? `MCA-${inputs.acuteSide ?? 'right'}` : inputs.acuteTerritory;
    lesionSite = (m.site[key] ?? 0) + m.eloquence * inputs.eloquence + (inputs.multiple ? m.multiple : 0);
    strategicSite = knobs.strategic * (inputs.strategic ?? 0);
  }
  const oldLesion = knobs.oldLesion * Math.log1p(Math.max(0, inputs.oldLesionVolumeMl));
  const age = (m.age * (inputs.age - 70)) / 10;
  const preStrokeMrs = m.preStrokeMrs * inputs.preStrokeMrs;
  const glucose = (m.glucose * Math.max(0, inputs.glucose - 140)) / 100;
  const comorbidity = (inputs.diabetes ? m.diabetes : 0) + (inputs.atrialFibrillation ? m.atrialFibrillation : 0);
  const treatment =
    (inputs.thrombolysis ? -m.thrombolysis * Math.max(0, 1 - inputs.onsetToTreatmentMin / 360) : 0) +
    (inputs.thrombectomy ? -m.thrombectomy : 0);
  const offset = knobs.latentOffset;
  const total = lesionVolume + lesionSite + strategicSite + oldLesion + age + preStrokeMrs + glucose + comorbidity + treatment + offset;
  return { lesionVolume, lesionSite, strategicSite, oldLesion, age, preStrokeMrs, glucose, comorbidity, treatment, offset, total };
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/**
 * True probability of a poor 90-day outcome (mRS ≥ 3) given the latent severity:
 * σ(latent − θ₃). Scoring patients by it gives the Bayes-optimal AUC.
 *
 * @example
 * ```ts
 * poorOutcomeProbability(OUTCOME_MODEL.mrsThresholds[2]!); // 0.5
 * ```
 */
export function poorOutcomeProbability(latent: number): number {
  return sigmoid(latent - OUTCOME_MODEL.mrsThresholds[2]!);
}

/**
 * Probability of each mRS grade 0…6 given the latent severity (ordinal logistic model).
 *
 * @example
 * ```ts
 * mrsDistribution(1).reduce((a, b) => a + b, 0); // 1
 * ```
 */
export function mrsDistribution(latent: number): number[] {
  const t = OUTCOME_MODEL.mrsThresholds;
  const atLeast = [1, ...t.map((th) => sigmoid(latent - th)), 0];
  const out: number[] = [];
  for (let k = 0; k <= 6; k++) out.push(atLeast[k]! - atLeast[k + 1]!);
  return out;
}

/**
 * Draws an mRS grade from the latent severity and a uniform number u ∈ (0, 1):
 * ε = logit(u), mRS = #{k : latent + ε > θₖ}.
 *
 * @example
 * ```ts
 * sampleMrs(0, 0.5); // 1 (θ₁ = −0.4 < 0 < θ₂ = 1.1)
 * ```
 */
export function sampleMrs(latent: number, u: number): number {
  const uu = Math.min(1 - 1e-12, Math.max(1e-12, u));
  const e = latent + Math.log(uu / (1 - uu));
  let mrs = 0;
  for (const th of OUTCOME_MODEL.mrsThresholds) if (e > th) mrs++;
  return mrs;
}
