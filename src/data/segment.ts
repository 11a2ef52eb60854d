/**
 * The image analysis of the findings reader (./findings.ts): input checks, atlas registration by
 * head moments, per-sequence volumes and brain medians, thresholded masks, 26-connected
 * components and their territory/side votes in the registered atlas.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import type { PatientImage } from './cohort-types.js';
import {
  atlasLabel,
  decodeTerritory,
  gridGeometry,
  labelGrid,
  PHANTOM_GEOMETRY,
  TISSUE,
  voxelToAnatomical,
  type Anatomy,
  type GridGeometry,
  type Side,
  type Territory,
} from './phantom.js';

/** Tissue labels that count as brain parenchyma. @internal */
const PARENCHYMA = new Set<number>([
  TISSUE.greyMatter,
  TISSUE.whiteMatter,
  TISSUE.deepGrey,
  TISSUE.brainstem,
  TISSUE.cerebellum,
]);

/** Median of a list (0 for an empty one). @internal */
function median(values: Float32Array | number[]): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}

/** Validates a patient image and returns its grid geometry. @internal */
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

/** Registers the atlas to the head outline: centre and scale from the moments of the filled head on its widest slice. @internal */
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

/** Connected components (26-connectivity) of `mask`, grown from voxels where `seed` is set. @internal */
export function components(mask: Uint8Array, seed: Uint8Array, g: GridGeometry): number[][] {
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

/** Territory and side of an anatomical point in the atlas, pulling points just outside the brain inwards. @internal */
function territoryOf(x: number, y: number, z: number): { territory: Territory; side: Side } | null {
  // Voxels that the registration puts just outside the brain are pulled towards its centre.
  const cz = PHANTOM_GEOMETRY.cerebrum.center[2];
  for (const f of [1, 0.96, 0.92, 0.88, 0.84]) {
    const d = decodeTerritory(atlasLabel(x * f, y * f, cz + (z - cz) * f, 1, true) >> 4);
    if (d) return d;
  }
  return null;
}

/** The DWI and ADC volumes of an image, `[D·H·W]` each in (slice, row, column) order. @internal */
function splitSequences(image: PatientImage, g: GridGeometry): { dwi: Float32Array; adc: Float32Array } {
  const { depth, height, width, strides } = g;
  const n = depth * height * width;
  const dwi = new Float32Array(n);
  const adc = new Float32Array(n);
  for (let k = 0, v = 0; k < depth; k++)
    for (let i = 0; i < height; i++)
      for (let j = 0; j < width; j++, v++) {
        const base = k * strides[0] + i * strides[1] + j * strides[2];
        dwi[v] = image.data[base]!;
        adc[v] = image.data[base + strides[3]]!;
      }
  return { dwi, adc };
}

/** A registered image: its volumes, the atlas labels on its grid, and the brain's median intensities. @internal */
export interface RegisteredImage {
  g: GridGeometry;
  dwi: Float32Array;
  adc: Float32Array;
  anatomy: Anatomy;
  tissue: Uint8Array;
  medD: number;
  medA: number;
}

/** Splits, registers and normalises an image (medians over the atlas's parenchyma). @internal */
export function registerImage(image: PatientImage): RegisteredImage {
  const g = checkImage(image);
  const { dwi, adc } = splitSequences(image, g);
  const anatomy = registerHead(dwi, g);
  const tissue = labelGrid(g, anatomy).tissue;
  const brainDwi: number[] = [];
  const brainAdc: number[] = [];
  for (let v = 0; v < dwi.length; v++) {
    if (PARENCHYMA.has(tissue[v]!)) {
      brainDwi.push(dwi[v]!);
      brainAdc.push(adc[v]!);
    }
  }
  return { g, dwi, adc, anatomy, tissue, medD: Math.max(1e-9, median(brainDwi)), medA: Math.max(1e-9, median(brainAdc)) };
}

/** Thresholds of the reader on intensities relative to the brain medians. @internal */
export interface SegmentThresholds {
  acuteDwi: number;
  acuteAdc: number;
  growDwi: number;
  growAdc: number;
  oldRange: number[];
}

/**
 * Masks of restricted diffusion (hysteresis: `seed` voxels pass the acute thresholds, `grow`
 * voxels the looser growth thresholds) and of chronic lesions (near-CSF ADC, dark DWI), inside
 * the head only.
 * @internal
 */
export function lesionMasks(r: RegisteredImage, t: SegmentThresholds): { seed: Uint8Array; grow: Uint8Array; old: Uint8Array } {
  const n = r.dwi.length;
  const seed = new Uint8Array(n);
  const grow = new Uint8Array(n);
  const old = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    if (r.tissue[v] === TISSUE.background || r.tissue[v] === TISSUE.scalp) continue;
    const rd = r.dwi[v]! / r.medD;
    const ra = r.adc[v]! / r.medA;
    if (rd > t.growDwi && ra < t.growAdc) {
      grow[v] = 1;
      if (rd > t.acuteDwi && ra < t.acuteAdc) seed[v] = 1;
    }
    if (ra >= t.oldRange[0]! && ra < t.oldRange[1]! && rd < 1) old[v] = 1;
  }
  return { seed, grow, old };
}

/** A measured component's location: atlas vote of its territory and side, centroid, middle slice. @internal */
export interface ComponentLocation {
  territory: Territory | null;
  side: Side | null;
  centroid: [number, number, number];
  slice: number;
}

/**
 * Locates a component: each voxel votes its territory and side in the registered atlas; the
 * side is the majority over all voxels (robust for midline structures).
 * @internal
 */
export function locateComponent(comp: number[], g: GridGeometry, anatomy: Anatomy): ComponentLocation {
  const hw = g.height * g.width;
  const votes = new Map<string, number>();
  let sx = 0;
  let sy = 0;
  let sz = 0;
  for (const v of comp) {
    const k = Math.floor(v / hw);
    const [x, y, z] = voxelToAnatomical(g, anatomy, k, Math.floor((v % hw) / g.width), v % g.width);
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
  let sideVotes = 0;
  for (const [key, c] of votes) sideVotes += key.endsWith('|left') ? c : -c;
  const [territory] = bestKey ? (bestKey.split('|') as [Territory, Side]) : [null];
  const side: Side | null = bestKey ? (sideVotes > 0 ? 'left' : sideVotes < 0 ? 'right' : centroid[0] > 0 ? 'left' : 'right') : null;
  const slice = Math.min(g.depth - 1, Math.max(0, Math.round(comp.reduce((s, v) => s + Math.floor(v / hw), 0) / comp.length)));
  return { territory, side, centroid, slice };
}

/** Whether an old-lesion candidate is inside parenchyma (≥ 60 %) and not entirely free water. @internal */
export function isOldLesion(comp: number[], r: RegisteredImage, oldRange: number[]): boolean {
  let inside = 0;
  let free = 0;
  for (const v of comp) {
    if (PARENCHYMA.has(r.tissue[v]!)) inside++;
    if (r.adc[v]! / r.medA >= oldRange[1]! - 0.3) free++;
  }
  return inside / comp.length >= 0.6 && free < comp.length;
}
