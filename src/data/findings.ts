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
import type { PatientImage } from './cohort.js';
import {
  PHANTOM_GEOMETRY,
  TISSUE,
  atlasLabel,
  decodeTerritory,
  gridGeometry,
  labelGrid,
  voxelToAnatomical,
  type Anatomy,
  type GridGeometry,
  type Side,
  type Territory,
} from './phantom.js';

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

const PARENCHYMA = new Set<number>([
  TISSUE.greyMatter,
  TISSUE.whiteMatter,
  TISSUE.deepGrey,
  TISSUE.brainstem,
  TISSUE.cerebellum,
]);

function median(values: Float32Array | number[]): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

function checkImage(image: PatientImage): GridGeometry {
  if (typeof image !== 'object' || image === null) {
    throw new InvalidArgumentError({ argument: 'image', message: 'image must be { data, shape, layout }.', received: image });
  }
  if (image.layout !== '2d' && image.layout !== '3d') {
    throw new InvalidArgumentError({ argument: 'image.layout', message: "image.layout must be '2d' or '3d'.", received: image.layout });
  }
  let geometry: GridGeometry;
  try {
    geometry = gridGeometry(Array.isArray(image.shape) ? image.shape : [], image.layout);
  } catch (e) {
    throw new InvalidArgumentError({
      argument: 'image.shape',
      message:
        image.layout === '3d'
          ? 'image.shape must be [depth, height, width, 2] for a 3D image.'
          : 'image.shape must be [height, width, 2·slices] for a 2D image.',
      received: image.shape,
      cause: e,
    });
  }
  if (!(image.data instanceof Float32Array) || image.data.length !== geometry.size) {
    throw new InvalidArgumentError({
      argument: 'image.data',
      message: `image.data must be a Float32Array of ${geometry.size} values (the product of image.shape).`,
      received: image.data instanceof Float32Array ? `Float32Array(${image.data.length})` : typeof image.data,
    });
  }
  return geometry;
}

/** Registers the atlas to the head outline: centre and scale from the moments of the filled head on its widest slice. */
function registerHead(dwi: Float32Array, g: GridGeometry): Anatomy {
  const { depth, height, width } = g;
  const hw = height * width;
  const sorted = Float64Array.from(dwi).sort();
  const p90 = sorted[Math.floor(0.9 * (sorted.length - 1))]!;
  const threshold = 0.25 * p90;
  let best = { area: -1, k: 0, cx: 0, cy: 0, vx: 0, vy: 0 };
  for (let k = 0; k < depth; k++) {
    let area = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < height; i++) {
      let first = -1;
      let last = -1;
      for (let j = 0; j < width; j++) {
        if (dwi[k * hw + i * width + j]! > threshold) {
          if (first < 0) first = j;
          last = j;
        }
      }
      if (first < 0) continue;
      const y = ((i + 0.5) / height) * 2 - 1;
      for (let j = first; j <= last; j++) {
        const x = ((j + 0.5) / width) * 2 - 1;
        area++;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
      }
    }
    if (area > best.area) {
      const cx = area > 0 ? sx / area : 0;
      const cy = area > 0 ? sy / area : 0;
      best = { area, k, cx, cy, vx: area > 0 ? sxx / area - cx * cx : 0, vy: area > 0 ? syy / area - cy * cy : 0 };
    }
  }
  const du = 2 / width;
  const dv = 2 / height;
  // A filled ellipse of semi-axis a has variance a²/4 along that axis; pixels add du²/12.
  const a = 2 * Math.sqrt(Math.max(1e-6, best.vx + (du * du) / 12));
  const b = 2 * Math.sqrt(Math.max(1e-6, best.vy + (dv * dv) / 12));
  const [rx, ry, rz] = PHANTOM_GEOMETRY.head.radii;
  const inPlane = (a / rx + b / ry) / 2; // = scale · sqrt(1 − (z / (scale·rz))²)
  const z = g.sliceZ[best.k]!;
  let scale = inPlane;
  for (let it = 0; it < 8; it++) {
    const f = 1 - (z / (scale * rz)) ** 2;
    scale = inPlane / Math.sqrt(Math.max(0.05, f));
  }
  return { scale, shiftX: best.cx, shiftY: best.cy, ventricleScale: 1.15 };
}

/** 26-neighbourhood offsets of a voxel (k, i, j), bounds-checked by the caller. */
const NEIGHBOURS: ReadonlyArray<readonly [number, number, number]> = (() => {
  const out: Array<[number, number, number]> = [];
  for (let dk = -1; dk <= 1; dk++)
    for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) if (dk || di || dj) out.push([dk, di, dj]);
  return out;
})();

/** Connected components (26-connectivity) of `mask`, grown from voxels where `seed` is set. */
function components(mask: Uint8Array, seed: Uint8Array, g: GridGeometry): number[][] {
  const { depth, height, width } = g;
  const hw = height * width;
  const seen = new Uint8Array(mask.length);
  const out: number[][] = [];
  for (let v0 = 0; v0 < mask.length; v0++) {
    if (!seed[v0] || seen[v0]) continue;
    const comp: number[] = [];
    const stack = [v0];
    seen[v0] = 1;
    while (stack.length > 0) {
      const v = stack.pop()!;
      comp.push(v);
      const k = Math.floor(v / hw);
      const i = Math.floor((v % hw) / width);
      const j = v % width;
      for (const [dk, di, dj] of NEIGHBOURS) {
        const kk = k + dk;
        const ii = i + di;
        const jj = j + dj;
        if (kk < 0 || kk >= depth || ii < 0 || ii >= height || jj < 0 || jj >= width) continue;
        const u = kk * hw + ii * width + jj;
        if (mask[u] && !seen[u]) {
          seen[u] = 1;
          stack.push(u);
        }
      }
    }
    out.push(comp.sort((a, b) => a - b));
  }
  return out;
}

function territoryOf(x: number, y: number, z: number): { territory: Territory; side: Side } | null {
  // Voxels that the registration puts just outside the brain are pulled towards its centre.
  const cz = PHANTOM_GEOMETRY.cerebrum.center[2];
  for (const f of [1, 0.96, 0.92, 0.88, 0.84]) {
    const d = decodeTerritory(atlasLabel(x * f, y * f, cz + (z - cz) * f, 1, true) >> 4);
    if (d) return d;
  }
  return null;
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

  function measure(image: PatientImage): FindingsMeasurement {
    const g = checkImage(image);
    const { depth, height, width, strides } = g;
    const n = depth * height * width;
    const hw = height * width;
    const dwi = new Float32Array(n);
    const adc = new Float32Array(n);
    for (let k = 0, v = 0; k < depth; k++)
      for (let i = 0; i < height; i++)
        for (let j = 0; j < width; j++, v++) {
          const base = k * strides[0] + i * strides[1] + j * strides[2];
          dwi[v] = image.data[base]!;
          adc[v] = image.data[base + strides[3]]!;
        }
    const anatomy = registerHead(dwi, g);
    const labels = labelGrid(g, anatomy);
    const brainDwi: number[] = [];
    const brainAdc: number[] = [];
    for (let v = 0; v < n; v++) {
      if (PARENCHYMA.has(labels.tissue[v]!)) {
        brainDwi.push(dwi[v]!);
        brainAdc.push(adc[v]!);
      }
    }
    const medD = Math.max(1e-9, median(brainDwi));
    const medA = Math.max(1e-9, median(brainAdc));
    const inHead = (v: number): boolean => labels.tissue[v] !== TISSUE.background && labels.tissue[v] !== TISSUE.scalp;

    // Acute: hysteresis segmentation of restricted diffusion.
    const seed = new Uint8Array(n);
    const grow = new Uint8Array(n);
    // Chronic: near-CSF ADC, dark DWI.
    const old = new Uint8Array(n);
    for (let v = 0; v < n; v++) {
      if (!inHead(v)) continue;
      const rd = dwi[v]! / medD;
      const ra = adc[v]! / medA;
      if (rd > growDwi && ra < growAdc) {
        grow[v] = 1;
        if (rd > acuteDwi && ra < acuteAdc) seed[v] = 1;
      }
      if (ra >= oldRange[0]! && ra < oldRange[1]! && rd < 1) old[v] = 1;
    }
    const measured: MeasuredComponent[] = [];
    const summarise = (comp: number[], kind: 'acute' | 'old'): MeasuredComponent => {
      const votes = new Map<string, number>();
      let sx = 0;
      let sy = 0;
      let sz = 0;
      for (const v of comp) {
        const k = Math.floor(v / hw);
        const [x, y, z] = voxelToAnatomical(g, anatomy, k, Math.floor((v % hw) / width), v % width);
        sx += x;
        sy += y;
        sz += z;
        const t = territoryOf(x, y, z);
        if (t) votes.set(`${t.territory}|${t.side}`, (votes.get(`${t.territory}|${t.side}`) ?? 0) + 1);
      }
      let bestKey: string | null = null;
      let bestVotes = 0;
      for (const [key, c] of votes) {
        if (c > bestVotes) {
          bestKey = key;
          bestVotes = c;
        }
      }
      const centroid: [number, number, number] = [sx / comp.length, sy / comp.length, sz / comp.length];
      // Side by majority over all the component's voxels (robust for midline structures).
      let sideVotes = 0;
      for (const [key, c] of votes) sideVotes += key.endsWith('|left') ? c : -c;
      const [territory] = bestKey ? (bestKey.split('|') as [Territory, Side]) : [null];
      const side: Side | null = bestKey ? (sideVotes > 0 ? 'left' : sideVotes < 0 ? 'right' : centroid[0] > 0 ? 'left' : 'right') : null;
      const slice = Math.min(depth - 1, Math.max(0, Math.round(comp.reduce((s, v) => s + Math.floor(v / hw), 0) / comp.length)));
      return { kind, voxelCount: comp.length, volumeMl: comp.length * g.voxelMl, territory, side, centroid, slice };
    };
    for (const comp of components(grow, seed, g)) measured.push(summarise(comp, 'acute'));
    for (const comp of components(old, old, g)) {
      let inside = 0;
      let free = 0;
      for (const v of comp) {
        if (PARENCHYMA.has(labels.tissue[v]!)) inside++;
        if (adc[v]! / medA >= oldRange[1]! - 0.3) free++;
      }
      if (inside / comp.length >= 0.6 && free < comp.length) measured.push(summarise(comp, 'old'));
    }
    const acute = measured.filter((c) => c.kind === 'acute').sort((a, b) => b.voxelCount - a.voxelCount);
    const olds = measured.filter((c) => c.kind === 'old');
    const volumeMl = Math.round(acute.reduce((s, c) => s + c.volumeMl, 0) * 10) / 10;

    const sides = new Set(acute.map((c) => c.side ?? (c.centroid[0] > 0 ? 'left' : 'right')));
    const read: Reading = {
      present: acute.length > 0,
      sides: [...sides].sort() as Side[],
      territories: [...new Set(acute.map((c) => c.territory ?? 'MCA'))],
      volumeMl,
      location: acute.map(describeComponent).filter((t, i, all) => all.indexOf(t) === i).join('; '),
      oldCount: olds.length,
    };
    if (noise) perturb(read, new Random(hashImage(image.data, noise.seed)), noise);
    const findings = compose(read, sizeCut, massCut);
    return { findings, anatomy, brainMedian: { dwi: medD, adc: medA }, components: measured };
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
