/**
 * Named scenarios of the synthetic stroke cohort and their knobs. A scenario changes only the
 * structural equations of NIHSS and of the latent severity (never the random draws), so the same
 * seed gives the same patients, lesions and images in every scenario; only NIHSS, treatment
 * decisions that depend on it, and outcomes differ.
 *
 * - `'additive'` (the default): the original cohort. The true risk is additive (an image part
 *   and a table part) and NIHSS already summarises most of the image's acute-lesion severity,
 *   so concatenation with a linear head is already the optimal form: a negative control.
 * - `'imbalance'`: an easy, dominant clinical modality (NIHSS tracks the acute lesion's volume
 *   and eloquence more cleanly: knob A) and a harder but complementary image signal that the
 *   table does not see (knob B): a *strategic location* term (cognitive and attention networks
 *   that NIHSS under-weights: posterior parietal and medial frontal cortex, the mesial temporal
 *   lobe, the genu and anterior limb of the internal capsule) and a heavier old-lesion burden.
 *   Both are visible on the image and described by the report (lobe, limb, old lesions), so the
 *   text is an easier view of the hard image signal.
 *
 * The knob values and the claims a study tests on each scenario are fixed before any fused model
 * is trained on it (docs/guides/synthetic-cohort.md, "Scenarios").
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import type { Side, Territory } from './phantom.js';

/** The named scenarios. */
export type ScenarioName = 'additive' | 'imbalance';

/** Every scenario name. */
export const SCENARIO_NAMES: readonly ScenarioName[] = ['additive', 'imbalance'];

/**
 * The knobs of a scenario (see {@link SCENARIO_KNOBS} for each scenario's values).
 */
export interface ScenarioKnobs {
  /**
   * Knob A (dominance): log-sd of NIHSS around its expected value. Lower = the table tracks
   * the acute lesion's severity more cleanly (a more dominant clinical modality).
   */
  readonly nihssNoise: number;
  /** Knob A: how much the exact site's eloquence raises NIHSS, `(1 + k·eloquence)`. */
  readonly nihssEloquence: number;
  /**
   * Weight of the acute-volume term β·ln(1 + V/5): the part of the image's signal that NIHSS
   * shares. Lower = less of the image's information is also in the table.
   */
  readonly volume: number;
  /**
   * Knob B (complementarity): weight of the strategic-location term (image only; NIHSS does
   * not see it) in the latent severity.
   */
  readonly strategic: number;
  /** Knob B: weight of ln(1 + V_old), the old-lesion burden (image only). */
  readonly oldLesion: number;
  /**
   * Offset added to the latent severity so that the share of poor outcomes stays near the
   * additive cohort's (the image-only terms add severity on average).
   */
  readonly latentOffset: number;
}

/** Knob values of each named scenario. */
export const SCENARIO_KNOBS: Readonly<Record<ScenarioName, ScenarioKnobs>> = {
  additive: { nihssNoise: 0.35, nihssEloquence: 0.4, volume: 1.35, strategic: 0, oldLesion: 0.55, latentOffset: 0 },
  imbalance: { nihssNoise: 0.25, nihssEloquence: 0.4, volume: 0.8, strategic: 3.0, oldLesion: 0.9, latentOffset: 0.2 },
};

/**
 * Strategic hub of each territory (anatomical frame, U; x given for the left side and mirrored):
 * MCA posterior parietal cortex (angular gyrus / attention network), ACA medial frontal cortex
 * (abulia), PCA mesial temporal lobe (memory), internal capsule genu and anterior limb; the basal
 * ganglia, brainstem and cerebellum have none.
 */
export const STRATEGIC_HUBS: Readonly<Record<Territory, readonly [number, number, number] | null>> = {
  MCA: [0.42, 0.32, 0.28],
  ACA: [0.07, -0.42, 0.32],
  PCA: [0.24, 0.34, -0.16],
  'basal ganglia': null,
  'internal capsule': [0.11, -0.08, 0.08],
  brainstem: null,
  cerebellum: null,
};

/** Width (U) of the strategic kernel: broader than eloquence's 0.12, so lobe-level words carry part of it. */
export const STRATEGIC_WIDTH = 0.15;

/**
 * Strategic-location score of an exact lesion site: exp(−d²/(2·0.15²)), d = distance (U) from
 * the lesion centre to its territory's strategic hub ({@link STRATEGIC_HUBS}); 0 for territories
 * without one.
 *
 * @example
 * ```ts
 * strategicScore('MCA', 'left', [0.42, 0.32, 0.28]); // 1
 * strategicScore('brainstem', 'left', [0, 0.1, -0.4]); // 0
 * ```
 */
export function strategicScore(territory: Territory, side: Side, centre: readonly [number, number, number]): number {
  const hub = STRATEGIC_HUBS[territory];
  if (!hub) return 0;
  const hx = side === 'left' ? hub[0] : -hub[0];
  const d2 = (centre[0] - hx) ** 2 + (centre[1] - hub[1]) ** 2 + (centre[2] - hub[2]) ** 2;
  return Math.exp(-d2 / (2 * STRATEGIC_WIDTH * STRATEGIC_WIDTH));
}

/**
 * The knobs of a scenario, with overrides (for sensitivity studies; a study's pre-registered
 * scenarios use the named values unchanged).
 *
 * @throws {@link InvalidArgumentError} for an unknown scenario or a knob that is not a finite
 *   number in its range.
 * @example
 * ```ts
 * resolveScenario('imbalance').nihssNoise; // 0.2
 * resolveScenario('imbalance', { strategic: 0 }).strategic; // 0
 * ```
 */
export function resolveScenario(name: ScenarioName, overrides: Partial<ScenarioKnobs> = {}): ScenarioKnobs {
  if (!SCENARIO_NAMES.includes(name)) {
    throw new InvalidArgumentError({ argument: 'scenario', message: `scenario must be one of ${SCENARIO_NAMES.join(', ')}.`, received: name });
  }
  const knobs = { ...SCENARIO_KNOBS[name], ...overrides };
  const ranges: Record<keyof ScenarioKnobs, [number, number]> = {
    nihssNoise: [0, 2],
    nihssEloquence: [0, 5],
    volume: [0, 5],
    strategic: [-5, 5],
    oldLesion: [-5, 5],
    latentOffset: [-10, 10],
  };
  for (const [k, [lo, hi]] of Object.entries(ranges) as Array<[keyof ScenarioKnobs, [number, number]]>) {
    const v = knobs[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
      throw new InvalidArgumentError({ argument: `knobs.${k}`, message: `knobs.${k} must be a number in [${lo}, ${hi}].`, received: v });
    }
  }
  return knobs;
}
