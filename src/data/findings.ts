/**
 * A rule-based radiology "reader" that measures stroke findings on a DWI/ADC image and returns
 * them keyed by the report-schema fields (`sequences`, `acuteLesion`, `side`, `territory`,
 * `location`, `size`, `signal`, `massEffect`, `oldLesions`, `impression`, plus `volumeMl`).
 *
 * It sees only the image. It registers the atlas (the anatomy prior shared with the phantom)
 * to the head by image moments, normalises intensities by the brain's own medians, segments
 * restricted diffusion (DWI high and ADC low, hysteresis region growing, 26-connected
 * components) and chronic lesions (ADC near-CSF but inside parenchyma), then votes each
 * component's territory and side in the registered atlas. Its mistakes (registration error,
 * thresholding, voxel quantisation, size binning) are what makes a report built from it a
 * noisy view of the image.
 *
 * @packageDocumentation
 */
import { Random } from '../core/random.js';
import { InvalidArgumentError } from '../errors.js';
import type { PatientImage } from './cohort-types.js';
import { components, isOldLesion, lesionMasks, locateComponent, registerImage, type SegmentThresholds } from './segment.js';
import { PHANTOM_GEOMETRY, type Anatomy, type Side, type Territory } from './phantom.js';

/** Findings keyed exactly by the report-schema field keys. */
export type ImageFindings = {
  /** Sequences read, e.g. `'DWI, ADC'`. */
  sequences: string;
  acuteLesion: 'present' | 'absent';
  side: 'left' | 'right' | 'bilateral' | 'none';
  territory: Territory | 'multiple' | 'none';
  /** Free text, e.g. `'left frontal lobe, cortex and subcortical white matter'`. */
  location: string;
  size: 'none' | 'small' | 'medium' | 'large';
  /** Free text, e.g. `'DWI hyperintense, ADC hypointense'`. */
  signal: string;
  massEffect: 'none' | 'mild' | 'moderate' | 'severe';
  oldLesions: 'none' | 'present';
  /** Free text one-line conclusion. */
  impression: string;
  /** Measured acute lesion volume (mL, one decimal). */
  volumeMl: number;
};

/** One measured connected lesion component. */
export interface MeasuredComponent {
  readonly kind: 'acute' | 'old';
  readonly voxelCount: number;
  readonly volumeMl: number;
  /** Voted territory and side (`null` when no voxel fell in a territory). */
  readonly territory: Territory | null;
  readonly side: Side | null;
  /** Centroid in the registered anatomical frame (U). */
  readonly centroid: readonly [number, number, number];
  /** Slice index of the centroid. */
  readonly slice: number;
}

/** Everything the extractor measured, besides the findings. */
export interface FindingsMeasurement {
  readonly findings: ImageFindings;
  /** Atlas registration estimated from the head outline (ventricle scale is the atlas default). */
  readonly anatomy: Anatomy;
  /** Median DWI and ADC of the registered brain. */
  readonly brainMedian: { readonly dwi: number; readonly adc: number };
  readonly components: readonly MeasuredComponent[];
}

/** Options of {@link createFindingsExtractor}. */
export interface FindingsExtractorOptions {
  /**
   * Seed threshold: DWI / brain median DWI above this …
   * @defaultValue 1.5
   */
  acuteDwiRatio?: number;
  /**
   * … and ADC / brain median ADC below this.
   * @defaultValue 0.8
   */
  acuteAdcRatio?: number;
  /**
   * Region growing from seeds through voxels with DWI ratio above this …
   * @defaultValue 1.3
   */
  growDwiRatio?: number;
  /**
   * … and ADC ratio below this.
   * @defaultValue 0.88
   */
  growAdcRatio?: number;
  /**
   * Chronic lesion: ADC ratio in [oldAdcRange[0], oldAdcRange[1]) (above: free CSF) with DWI ratio below 1.
   * @defaultValue [1.9, 3.5]
   */
  oldAdcRange?: readonly [number, number];
  /**
   * Size bins (mL): small below `[0]`, medium below `[1]`, large from `[1]`.
   * @defaultValue [15, 70]
   */
  sizeCutoffsMl?: readonly [number, number];
  /**
   * Mass-effect bins (mL): none below `[0]`, mild below `[1]`, moderate below `[2]`, severe from `[2]`.
   * @defaultValue [30, 80, 150]
   */
  massEffectCutoffsMl?: readonly [number, number, number];
  /**
   * Reader noise, to make the findings (and the report built on them) a noisier view of the
   * image. Deterministic: the same image and seed always give the same findings.
   * @defaultValue none (exact measurement)
   */
  noise?: ReaderNoise;
}

/** Deliberate reader errors applied after measurement (see {@link FindingsExtractorOptions.noise}). */
export interface ReaderNoise {
  /**
   * Probability of each misread: side flipped, territory swapped for a confusable one, old
   * lesions flipped, a lesion under 2 mL missed.
   * @defaultValue 0.1
   */
  misreadRate?: number;
  /**
   * Log-normal volume error (standard deviation of the log).
   * @defaultValue 0.25
   */
  volumeLogSd?: number;
  /**
   * Seed mixed with a hash of the image.
   * @defaultValue 0
   */
  seed?: number;
}

/**
 * A findings extractor: image in, report-schema findings out. Structurally a text module
 * `FindingsExtractor<PatientImage>`, so it plugs into `TemplateReportGenerator`.
 */
export interface ImageFindingsExtractor {
  /**
   * Measures one patient's image and returns the findings.
   * @throws {@link InvalidArgumentError} (argument `image.shape`, `image.layout` or `image.data`) for a malformed image.
   */
  extract(image: PatientImage): ImageFindings;
  /** Like `extract`, also returning the registration, brain statistics and components. */
  measure(image: PatientImage): FindingsMeasurement;
}

function describeComponent(c: MeasuredComponent): string {
  if (!c.territory || !c.side) return 'indeterminate location';
  const [x, y, z] = c.centroid;
  switch (c.territory) {
    case 'basal ganglia':
      return `${c.side} lentiform nucleus`;
    case 'internal capsule':
      return `${c.side} internal capsule${y > 0.02 ? ', posterior limb' : ', anterior limb'}`;
    case 'brainstem':
      return `${z < -0.3 ? 'pons' : 'midbrain'}, ${c.side} paramedian`;
    case 'cerebellum':
      return `${c.side} cerebellar hemisphere`;
    default: {
      let lobe: string;
      if (y < -0.15) lobe = 'frontal';
      else if (y > 0.45) lobe = 'occipital';
      else if (z < 0.05) lobe = 'temporal';
      else lobe = 'parietal';
      const e = PHANTOM_GEOMETRY.cerebrum;
      const r = Math.sqrt(
        ((x - e.center[0]) / e.radii[0]) ** 2 + ((y - e.center[1]) / e.radii[1]) ** 2 + ((z - e.center[2]) / e.radii[2]) ** 2,
      );
      const depth = r > PHANTOM_GEOMETRY.cortexFrom ? 'cortex and subcortical white matter' : 'deep white matter (corona radiata)';
      return `${c.side} ${lobe} lobe, ${depth}`;
    }
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** What the reader concluded, before wording. */
interface Reading {
  present: boolean;
  sides: Side[];
  territories: Territory[];
  volumeMl: number;
  location: string;
  oldCount: number;
}

/** FNV-1a over a strided sample of the image's float bits, mixed with a seed. */
function hashImage(data: Float32Array, seed: number): number {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let h = (0x811c9dc5 ^ Math.floor(seed)) >>> 0;
  for (let i = 0; i < bits.length; i += 7) {
    h ^= bits[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Territories a reader confuses with each territory. */
const CONFUSABLE: Readonly<Record<Territory, readonly Territory[]>> = {
  ACA: ['MCA'],
  MCA: ['ACA', 'PCA', 'basal ganglia'],
  PCA: ['MCA', 'cerebellum'],
  'basal ganglia': ['internal capsule', 'MCA'],
  'internal capsule': ['basal ganglia'],
  brainstem: ['cerebellum'],
  cerebellum: ['brainstem', 'PCA'],
};

function perturb(read: Reading, rng: Random, noise: Required<ReaderNoise>): void {
  // Draw every number in a fixed order so that the result does not depend on which branch runs.
  const volumeFactor = Math.exp(rng.normal(0, noise.volumeLogSd));
  const [uMiss, uSide, uTerr, uOld, uPick] = [rng.next(), rng.next(), rng.next(), rng.next(), rng.next()];
  if (read.present) {
    read.volumeMl = Math.round(read.volumeMl * volumeFactor * 10) / 10;
    if (read.volumeMl < 2 && uMiss < noise.misreadRate) {
      read.present = false;
    } else {
      if (uSide < noise.misreadRate) {
        read.sides = read.sides.length > 1 ? [read.sides[Math.floor(uPick * 2)]!] : [read.sides[0] === 'left' ? 'right' : 'left'];
      }
      if (uTerr < noise.misreadRate && read.territories.length === 1) {
        const options = CONFUSABLE[read.territories[0]!];
        read.territories = [options[Math.floor(uPick * options.length)]!];
      }
    }
  }
  if (uOld < noise.misreadRate) read.oldCount = read.oldCount > 0 ? 0 : 1;
}

function compose(read: Reading, sizeCut: number[], massCut: number[]): ImageFindings {
  const oldLesions: 'none' | 'present' = read.oldCount > 0 ? 'present' : 'none';
  const oldText = oldLesions === 'present' ? `Old infarct${read.oldCount > 1 ? 's' : ''} present.` : 'No old lesions.';
  if (!read.present) {
    return {
      sequences: 'DWI, ADC',
      acuteLesion: 'absent',
      side: 'none',
      territory: 'none',
      location: 'none',
      size: 'none',
      signal: 'no restricted diffusion',
      massEffect: 'none',
      oldLesions,
      impression: `No acute infarct. ${oldText}`,
      volumeMl: 0,
    };
  }
  const volumeMl = read.volumeMl;
  const side = read.sides.length > 1 ? 'bilateral' : read.sides[0]!;
  const territory = read.territories.length > 1 ? 'multiple' : read.territories[0]!;
  const size = volumeMl < sizeCut[0]! ? 'small' : volumeMl < sizeCut[1]! ? 'medium' : 'large';
  const massEffect =
    volumeMl < massCut[0]! ? 'none' : volumeMl < massCut[1]! ? 'mild' : volumeMl < massCut[2]! ? 'moderate' : 'severe';
  const where =
    territory === 'multiple'
      ? `${side} infarcts in multiple territories (${read.territories.join(', ')})`
      : `${side} ${territory}${territory === 'ACA' || territory === 'MCA' || territory === 'PCA' ? ' territory' : ''} infarct`;
  return {
    sequences: 'DWI, ADC',
    acuteLesion: 'present',
    side,
    territory,
    location: read.location,
    size,
    signal: 'DWI hyperintense, ADC hypointense',
    massEffect,
    oldLesions,
    impression: `${capitalise(`acute ${where}`)}, ${size} (~${volumeMl} mL), ${massEffect === 'none' ? 'no' : massEffect} mass effect. ${oldText}`,
    volumeMl,
  };
}

/**
 * A "realistic reader" noise preset for {@link createFindingsExtractor}: 10 % misreads of side,
 * territory and old lesions, 10 % of sub-2-mL lesions missed, volume error ×exp(N(0, 0.25²)).
 *
 * @example
 * ```ts
 * const reader = createFindingsExtractor({ noise: NOISY_READER });
 * ```
 */
export const NOISY_READER: Readonly<Required<ReaderNoise>> = { misreadRate: 0.1, volumeLogSd: 0.25, seed: 0 };

/**
 * Creates a findings extractor (see the module description for the method).
 *
 * @param options - thresholds and bins, see {@link FindingsExtractorOptions}.
 * @returns `{ extract(image), measure(image) }`.
 * @throws {@link InvalidArgumentError} naming the offending option.
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 1, seed: 3 });
 * const findings = createFindingsExtractor().extract(cohortImage(cohort, 0));
 * findings.territory; // e.g. 'MCA'
 * findings.impression; // e.g. 'Acute left MCA territory infarct, medium (~24.4 mL), no mass effect. No old lesions.'
 * ```
 */
export function createFindingsExtractor(options: FindingsExtractorOptions = {}): ImageFindingsExtractor {
  const num = (name: keyof FindingsExtractorOptions, fallback: number): number => {
    const v = options[name] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new InvalidArgumentError({ argument: name, message: `${name} must be a finite number > 0.`, received: v });
    }
    return v;
  };
  const acuteDwi = num('acuteDwiRatio', 1.5);
  const acuteAdc = num('acuteAdcRatio', 0.8);
  const growDwi = num('growDwiRatio', 1.3);
  const growAdc = num('growAdcRatio', 0.88);
  const increasing = (name: string, v: unknown, fallback: number[], n: number): number[] => {
    const arr = (v ?? fallback) as number[];
    if (
      !Array.isArray(arr) ||
      arr.length !== n ||
      arr.some((x, i) => typeof x !== 'number' || !Number.isFinite(x) || x <= 0 || (i > 0 && x <= arr[i - 1]!))
    ) {
      throw new InvalidArgumentError({
        argument: name,
        message: `${name} must be ${n} increasing positive numbers.`,
        received: v,
      });
    }
    return arr;
  };
  const oldRange = increasing('oldAdcRange', options.oldAdcRange, [1.9, 3.5], 2);
  const sizeCut = increasing('sizeCutoffsMl', options.sizeCutoffsMl, [15, 70], 2);
  const massCut = increasing('massEffectCutoffsMl', options.massEffectCutoffsMl, [30, 80, 150], 3);
  let noise: Required<ReaderNoise> | null = null;
  if (options.noise !== undefined) {
    const n = options.noise;
    const misreadRate = n?.misreadRate ?? 0.1;
    const volumeLogSd = n?.volumeLogSd ?? 0.25;
    const seed = n?.seed ?? 0;
    if (typeof n !== 'object' || n === null || !(misreadRate >= 0 && misreadRate <= 1) || !(volumeLogSd >= 0 && volumeLogSd <= 2) || !Number.isFinite(seed)) {
      throw new InvalidArgumentError({
        argument: 'noise',
        message: 'noise must be { misreadRate in [0, 1], volumeLogSd in [0, 2], seed: finite number }.',
        received: n,
      });
    }
    noise = { misreadRate, volumeLogSd, seed };
  }

  const thresholds: SegmentThresholds = { acuteDwi, acuteAdc, growDwi, growAdc, oldRange };

  function measure(image: PatientImage): FindingsMeasurement {
    const r = registerImage(image);
    const { seed, grow, old } = lesionMasks(r, thresholds);
    const summarise = (comp: number[], kind: 'acute' | 'old'): MeasuredComponent => ({ kind, voxelCount: comp.length, volumeMl: comp.length * r.g.voxelMl, ...locateComponent(comp, r.g, r.anatomy) });
    const measured: MeasuredComponent[] = components(grow, seed, r.g).map((comp) => summarise(comp, 'acute'));
    for (const comp of components(old, old, r.g)) if (isOldLesion(comp, r, oldRange)) measured.push(summarise(comp, 'old'));
    const acute = measured.filter((c) => c.kind === 'acute').sort((x, y) => y.voxelCount - x.voxelCount);
    const sides = new Set(acute.map((c) => c.side ?? (c.centroid[0] > 0 ? 'left' : 'right')));
    const read: Reading = {
      present: acute.length > 0,
      sides: [...sides].sort() as Side[],
      territories: [...new Set(acute.map((c) => c.territory ?? 'MCA'))],
      volumeMl: Math.round(acute.reduce((s, c) => s + c.volumeMl, 0) * 10) / 10,
      location: acute.map(describeComponent).filter((t, i, all) => all.indexOf(t) === i).join('; '),
      oldCount: measured.filter((c) => c.kind === 'old').length,
    };
    if (noise) perturb(read, new Random(hashImage(image.data, noise.seed)), noise);
    const findings = compose(read, sizeCut, massCut);
    return { findings, anatomy: r.anatomy, brainMedian: { dwi: r.medD, adc: r.medA }, components: measured };
  }

  return {
    extract: (image) => measure(image).findings,
    measure,
  };
}

/**
 * The default findings extractor (default thresholds).
 *
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 1, seed: 3, layout: '2d' });
 * findingsExtractor.extract(cohortImage(cohort, 0)).acuteLesion; // 'present' or 'absent'
 * ```
 */
export const findingsExtractor: ImageFindingsExtractor = createFindingsExtractor();
