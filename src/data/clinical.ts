/**
 * The clinical table of the synthetic stroke cohort: its column schema (as data, for a tabular
 * preprocessor) and the structural equations that draw each column.
 *
 * @packageDocumentation
 */
import type { Random } from '../core/random.js';
import type { Side, Territory } from './phantom.js';

/**
 * One column of a tabular data set, in the form a tabular preprocessor takes.
 * `binary` columns hold 0/1, `categorical` ones a string from `categories`, `numeric` ones a
 * number; any cell may be `null` (missing).
 */
export interface ColumnSchema {
  readonly name: string;
  readonly type: 'numeric' | 'categorical' | 'binary';
  /** Allowed values of a categorical column. */
  readonly categories?: readonly string[];
  /** Closed value range of a numeric column. */
  readonly range?: readonly [number, number];
  /** Unit of a numeric column. */
  readonly unit?: string;
  /** One-line description. */
  readonly description?: string;
}

/**
 * The clinical columns of the synthetic cohort, in row order.
 *
 * @example
 * ```ts
 * CLINICAL_SCHEMA.map((c) => c.name); // ['age', 'sex', 'nihss', ...]
 * ```
 */
export const CLINICAL_SCHEMA: readonly ColumnSchema[] = [
  { name: 'age', type: 'numeric', range: [18, 99], unit: 'years', description: 'Age at stroke onset.' },
  { name: 'sex', type: 'categorical', categories: ['female', 'male'], description: 'Sex.' },
  { name: 'nihss', type: 'numeric', range: [0, 42], unit: 'points', description: 'NIH Stroke Scale at admission.' },
  {
    name: 'onsetToTreatmentMin',
    type: 'numeric',
    range: [20, 1440],
    unit: 'min',
    description: 'Time from symptom onset (or last seen well) to treatment decision.',
  },
  { name: 'thrombolysis', type: 'binary', description: 'Intravenous thrombolysis given.' },
  { name: 'thrombectomy', type: 'binary', description: 'Endovascular thrombectomy performed.' },
  { name: 'hypertension', type: 'binary', description: 'History of hypertension.' },
  { name: 'diabetes', type: 'binary', description: 'Diabetes mellitus.' },
  { name: 'atrialFibrillation', type: 'binary', description: 'Atrial fibrillation.' },
  { name: 'glucose', type: 'numeric', range: [50, 450], unit: 'mg/dL', description: 'Admission blood glucose.' },
  { name: 'systolicBp', type: 'numeric', range: [85, 240], unit: 'mmHg', description: 'Admission systolic blood pressure.' },
  {
    name: 'preStrokeMrs',
    type: 'numeric',
    range: [0, 5],
    unit: 'points',
    description: 'Pre-stroke modified Rankin Scale (ordinal 0–5).',
  },
];

/** A complete (no missing cells) clinical record. */
export interface ClinicalRecord {
  age: number;
  sex: 'female' | 'male';
  nihss: number;
  onsetToTreatmentMin: number;
  thrombolysis: 0 | 1;
  thrombectomy: 0 | 1;
  hypertension: 0 | 1;
  diabetes: 0 | 1;
  atrialFibrillation: 0 | 1;
  glucose: number;
  systolicBp: number;
  preStrokeMrs: number;
}

/** One row of the clinical table: column name → value, `null` when missing. */
export type ClinicalRow = Record<string, number | string | null>;

/** NIHSS weight of each lesion site (MCA by side). */
export const NIHSS_SITE_WEIGHT: Readonly<Record<string, number>> = {
  'MCA-left': 1.25,
  'MCA-right': 1.05,
  ACA: 0.8,
  PCA: 0.6,
  'basal ganglia': 0.9,
  'internal capsule': 1.6,
  brainstem: 1.5,
  cerebellum: 0.5,
};

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const clip = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const bit = (b: boolean): 0 | 1 => (b ? 1 : 0);

/** Demographics and history, drawn before the stroke. */
export interface Baseline {
  age: number;
  sex: 'female' | 'male';
  hypertension: 0 | 1;
  diabetes: 0 | 1;
  atrialFibrillation: 0 | 1;
  preStrokeMrs: number;
  glucose: number;
  systolicBp: number;
  onsetToTreatmentMin: number;
}

/**
 * Draws demographics, history, admission glucose and blood pressure, onset-to-treatment time
 * and pre-stroke mRS (equations in docs/guides/synthetic-cohort.md).
 *
 * @example
 * ```ts
 * sampleBaseline(new Random(1)).age; // an integer in [18, 99]
 * ```
 */
export function sampleBaseline(rng: Random): Baseline {
  const sex = rng.bernoulli(0.52) ? 'male' : 'female';
  const age = Math.round(clip(rng.normal(70 + (sex === 'female' ? 3 : 0), 12), 18, 99));
  const a = (age - 70) / 10;
  const hypertension = bit(rng.bernoulli(sigmoid(0.55 + 0.4 * a)));
  const diabetes = bit(rng.bernoulli(sigmoid(-1.1 + 0.15 * a + 0.4 * hypertension)));
  const atrialFibrillation = bit(rng.bernoulli(sigmoid(-1.7 + 0.7 * a)));
  // Pre-stroke mRS: ordinal logistic on 0.45·(age−70)/10 + 0.5·AF with cut points c.
  const m = 0.45 * a + 0.5 * atrialFibrillation;
  const u = Math.min(1 - 1e-12, Math.max(1e-12, rng.next()));
  const e = m + Math.log(u / (1 - u)); // + Logistic(0, 1) noise
  const cuts = [1.4, 2.3, 3.0, 3.8, 5.0];
  let preStrokeMrs = 0;
  for (const c of cuts) if (e > c) preStrokeMrs++;
  const glucoseMedian = diabetes ? 165 : 108;
  const glucoseSigma = diabetes ? 0.3 : 0.15;
  const glucose = Math.round(clip(rng.logNormal(Math.log(glucoseMedian), glucoseSigma), 50, 450));
  const systolicBp = Math.round(clip(rng.normal(148 + 12 * hypertension + 2.5 * a, 20), 85, 240));
  const onsetToTreatmentMin = Math.round(clip(rng.logNormal(Math.log(170), 0.75), 20, 1440));
  return { age, sex, hypertension, diabetes, atrialFibrillation, preStrokeMrs, glucose, systolicBp, onsetToTreatmentMin };
}

/** Acute lesion summary that drives NIHSS and treatment. */
export interface LesionSummary {
  /** Main lesion territory and side, or null without an acute lesion. */
  readonly territory: Territory | null;
  readonly side: Side | null;
  readonly volumeMl: number;
  /** Eloquence (0–1) of the main lesion's exact site. */
  readonly eloquence: number;
  /** Second lesion, if any. */
  readonly satellite: { territory: Territory; side: Side; volumeMl: number } | null;
}

function siteKey(territory: Territory, side: Side): string {
  return territory === 'MCA' ? `MCA-${side}` : territory;
}

/**
 * Expected NIHSS of a lesion: 1 + 4.5·w_site·(1 + k·eloquence)·ln(1 + V/4) for the main lesion,
 * plus 4.5·w_site·ln(1 + V/4) for a satellite (1.5 without a lesion), with k = `eloquenceGain`
 * (the scenario's knob `nihssEloquence`, 0.4 in the additive cohort). The drawn NIHSS
 * multiplies it by exp(N(0, s²)) (s = the knob `nihssNoise`, 0.35), rounds and clips to [0, 42].
 *
 * @example
 * ```ts
 * expectedNihss({ territory: 'MCA', side: 'left', volumeMl: 12, eloquence: 0, satellite: null }); // 1 + 4.5·1.25·ln 4 ≈ 8.80
 * ```
 */
export function expectedNihss(lesion: LesionSummary, eloquenceGain = 0.4): number {
  if (lesion.territory === null || lesion.side === null) return 1.5;
  let mu =
    1 +
    4.5 *
      (NIHSS_SITE_WEIGHT[siteKey(lesion.territory, lesion.side)] ?? 1) *
      (1 + eloquenceGain * lesion.eloquence) *
      Math.log1p(lesion.volumeMl / 4);
  const s = lesion.satellite;
  if (s) mu += 4.5 * (NIHSS_SITE_WEIGHT[siteKey(s.territory, s.side)] ?? 1) * Math.log1p(s.volumeMl / 4);
  return mu;
}

/**
 * Draws the admission NIHSS (a noisy summary of the lesion, see {@link expectedNihss}) and the
 * treatments. `nihss` sets the NIHSS noise and eloquence gain (a scenario's knob A; the additive
 * cohort's values by default).
 *
 * Thrombolysis: p = 0.6 when OTT ≤ 270 min, pre-stroke mRS ≤ 2, 50 ≤ glucose ≤ 400 and NIHSS ≥ 2,
 * else 0.02. Thrombectomy: p = 0.65 when the main lesion is MCA with V ≥ 20 mL, NIHSS ≥ 6 and
 * pre-stroke mRS ≤ 2, else 0.01.
 *
 * @example
 * ```ts
 * const b = sampleBaseline(new Random(2));
 * sampleAcuteClinical(new Random(3), b, { territory: null, side: null, volumeMl: 0, eloquence: 0, satellite: null }).nihss;
 * ```
 */
export function sampleAcuteClinical(
  rng: Random,
  baseline: Baseline,
  lesion: LesionSummary,
  nihss: { noise: number; eloquenceGain: number } = { noise: 0.35, eloquenceGain: 0.4 },
): { nihss: number; thrombolysis: 0 | 1; thrombectomy: 0 | 1 } {
  const score = Math.round(clip(expectedNihss(lesion, nihss.eloquenceGain) * Math.exp(rng.normal(0, nihss.noise)), 0, 42));
  const ivtEligible =
    baseline.onsetToTreatmentMin <= 270 &&
    baseline.preStrokeMrs <= 2 &&
    baseline.glucose >= 50 &&
    baseline.glucose <= 400 &&
    score >= 2;
  const thrombolysis = bit(rng.bernoulli(ivtEligible ? 0.6 : 0.02));
  const evtEligible = lesion.territory === 'MCA' && lesion.volumeMl >= 20 && score >= 6 && baseline.preStrokeMrs <= 2;
  const thrombectomy = bit(rng.bernoulli(evtEligible ? 0.65 : 0.01));
  return { nihss: score, thrombolysis, thrombectomy };
}
