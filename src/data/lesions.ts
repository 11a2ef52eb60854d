/**
 * Lesions of the synthetic cohort: where the acute (and old) infarcts go and how large they are
 * (the lesion plan, independent of the image grid), and how a planned lesion is painted onto the
 * voxel grid.
 *
 * @packageDocumentation
 */
import type { Random } from '../core/random.js';
import type { Baseline } from './clinical.js';
import type { LesionTruth } from './cohort-types.js';
import { eloquence } from './outcome.js';
import { strategicScore } from './scenarios.js';
import {
  atlasLabel,
  PHANTOM_GEOMETRY,
  TERRITORIES,
  territoryCode,
  voxelToAnatomical,
  type Anatomy,
  type GridGeometry,
  type Side,
  type Territory,
} from './phantom.js';

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

/** A lesion before painting: territory, side, volume and exact centre. @internal */
export interface PlannedLesion {
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
export function paintLesion(
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
    strategic: strategicScore(plan.territory, plan.side, plan.centre),
  };
}

/** What the lesion plan depends on. @internal */
export interface LesionPlanOptions {
  acuteLesionRate: number;
  multipleLesionRate: number;
  oldLesions: boolean;
  lesionVolume: { medianMl: number; sigma: number };
}

/**
 * Draws a patient's lesion plan from its own stream `lr`: the main acute lesion (volume, then a
 * territory weighted by risk factors, side, exact centre), an optional embolic satellite in
 * another cortical territory, and an optional old lesion (rate rising with age, hypertension
 * and AF). The draws happen in a fixed order whatever the outcome, so that plans are stable.
 * @internal
 */
export function planLesions(lr: Random, baseline: Baseline, anatomy: Anatomy, o: LesionPlanOptions): { acute: PlannedLesion[]; old: PlannedLesion[] } {
  const acute: PlannedLesion[] = [];
  if (lr.bernoulli(o.acuteLesionRate)) {
    const volumeMl = Math.min(300, lr.logNormal(Math.log(o.lesionVolume.medianMl), o.lesionVolume.sigma));
    const mult = (t: Territory): number =>
      (baseline.atrialFibrillation && CORTICAL.includes(t) ? 1.5 : 1) *
      ((baseline.hypertension || baseline.diabetes) && LACUNAR.has(t) ? 1.4 : 1);
    const territory = chooseTerritory(lr, TERRITORY_WEIGHTS, volumeMl, mult, null);
    const side: Side = lr.bernoulli(0.5) ? 'left' : 'right';
    acute.push({ territory, side, volumeMl, centre: sampleCentre(lr, territory, side, anatomy.ventricleScale) });
    const multipleRate = Math.min(0.95, o.multipleLesionRate * (baseline.atrialFibrillation ? 2 : 1));
    const u = lr.next();
    if (u < multipleRate) {
      const v2 = Math.max(0.8, volumeMl * lr.uniform(0.1, 0.35));
      const t2 = chooseTerritory(lr, TERRITORY_WEIGHTS, v2, () => 1, territory, CORTICAL);
      const s2: Side = lr.bernoulli(0.6) ? side : side === 'left' ? 'right' : 'left';
      acute.push({ territory: t2, side: s2, volumeMl: v2, centre: sampleCentre(lr, t2, s2, anatomy.ventricleScale) });
    }
  }
  const old: PlannedLesion[] = [];
  const a = (baseline.age - 70) / 10;
  const pOld = 1 / (1 + Math.exp(-(-1.9 + 0.4 * a + 0.5 * baseline.hypertension + 0.4 * baseline.atrialFibrillation)));
  const oldDraw = lr.next();
  const volumeMl = Math.min(30, lr.logNormal(Math.log(2.5), 0.7));
  const territory = chooseTerritory(lr, OLD_WEIGHTS, volumeMl, () => 1, null);
  const side: Side = lr.bernoulli(0.5) ? 'left' : 'right';
  if (o.oldLesions && oldDraw < pOld) {
    old.push({ territory, side, volumeMl, centre: sampleCentre(lr, territory, side, anatomy.ventricleScale) });
  }
  return { acute, old };
}
