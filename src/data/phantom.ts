/**
 * The analytic brain phantom behind the synthetic stroke cohort: head, skull, CSF, grey and
 * white matter, ventricles and a vascular-territory atlas, all defined by ellipsoids and
 * angles in a normalised anatomical frame, plus the voxel-grid geometry of the 2D and 3D
 * image layouts.
 *
 * Frame: one unit (`U`) is 10 cm. `x` grows towards the patient's **left** (image columns,
 * radiological convention: the patient's left is on the image's right), `y` grows towards
 * **posterior** (image rows, anterior at the top), `z` grows towards **superior** (slices).
 * The image field of view spans [-1, 1] U on every axis of a 3D volume.
 *
 * The same geometry is the "anatomy prior" of the findings extractor; the simulator's
 * ground-truth lesion record is never read by it.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/** Vascular/anatomical territories an infarct can occupy (the report vocabulary, minus `multiple`/`none`). */
export const TERRITORIES = [
  'ACA',
  'MCA',
  'PCA',
  'basal ganglia',
  'internal capsule',
  'brainstem',
  'cerebellum',
] as const;

/** One vascular/anatomical territory of the atlas. */
export type Territory = (typeof TERRITORIES)[number];

/** Hemisphere side of a territory or lesion. */
export type Side = 'left' | 'right';

/**
 * Tissue classes of the phantom (values of the per-voxel tissue label).
 *
 * @example
 * ```ts
 * TISSUE.whiteMatter; // 6
 * ```
 */
export const TISSUE = {
  background: 0,
  scalp: 1,
  skull: 2,
  csf: 3,
  ventricle: 4,
  greyMatter: 5,
  whiteMatter: 6,
  deepGrey: 7,
  brainstem: 8,
  cerebellum: 9,
} as const;

/** Number of tissue classes in {@link TISSUE}. */
export const TISSUE_COUNT = 10;

/**
 * Nominal intensity of each tissue (indexed by {@link TISSUE} value) before scanner effects:
 * DWI (b = 1000 s/mm², arbitrary units) and ADC (10⁻³ mm²/s).
 *
 * @example
 * ```ts
 * TISSUE_INTENSITY.adc[TISSUE.ventricle]; // 3.1 (free water)
 * ```
 */
export const TISSUE_INTENSITY = {
  dwi: [0, 0.4, 0.04, 0.12, 0.1, 0.58, 0.48, 0.55, 0.5, 0.6] as readonly number[],
  adc: [0, 1.0, 0.15, 3.0, 3.1, 0.85, 0.72, 0.78, 0.75, 0.82] as readonly number[],
} as const;

/** A point or vector in normalised head coordinates `[x, y, z]`. */
export type Vec3 = readonly [number, number, number];
/** An axis-aligned ellipsoid in normalised head coordinates (centre and semi-axes). */
export interface Ellipsoid {
  readonly center: Vec3;
  readonly radii: Vec3;
}

/**
 * The atlas geometry in the anatomical frame (units `U` = 10 cm), before the per-patient
 * scale and shift. Paired structures are given for the left side (`x > 0`) and mirrored.
 *
 * @example
 * ```ts
 * PHANTOM_GEOMETRY.cerebrum.radii; // [0.63, 0.72, 0.58]
 * ```
 */
export const PHANTOM_GEOMETRY = {
  /** Outer head (scalp) surface. */
  head: { center: [0, 0, 0], radii: [0.8, 0.9, 0.88] } as Ellipsoid,
  /** Relative head radius where the skull starts (scalp outside it). */
  skullOuter: 0.92,
  /** Relative head radius where the skull ends (intracranial space inside it). */
  skullInner: 0.84,
  cerebrum: { center: [0, 0, 0.12], radii: [0.63, 0.72, 0.58] } as Ellipsoid,
  /** Relative cerebrum radius beyond which cerebral tissue is cortex (grey matter). */
  cortexFrom: 0.82,
  cerebellum: { center: [0, 0.38, -0.5], radii: [0.45, 0.3, 0.2] } as Ellipsoid,
  brainstem: { center: [0, 0.12, -0.42], radii: [0.12, 0.12, 0.32] } as Ellipsoid,
  /** Lateral ventricle (left); radii are multiplied by the patient's ventricle scale. */
  ventricle: { center: [0.09, -0.02, 0.3], radii: [0.06, 0.28, 0.1] } as Ellipsoid,
  /** Internal capsule (left). */
  internalCapsule: { center: [0.11, 0, 0.08], radii: [0.05, 0.17, 0.13] } as Ellipsoid,
  /** Basal ganglia, lentiform nucleus (left). */
  basalGanglia: { center: [0.24, -0.02, 0.08], radii: [0.08, 0.16, 0.12] } as Ellipsoid,
  /** ACA: axial angle atan2(y, |x|) below this (anterior, medial wedge). */
  acaAngle: -1.15,
  /** ACA also covers the parasagittal vertex: z above this and |x| below `acaVertexHalfWidth`. */
  acaVertexZ: 0.42,
  acaVertexHalfWidth: 0.12,
  /** PCA: axial angle above this and y above `pcaMinY` (posterior, medial wedge). */
  pcaAngle: 0.9,
  pcaMinY: 0.22,
  /** PCA also covers the inferior occipito-temporal lobe: z below and y above these. */
  pcaInferiorZ: -0.12,
  pcaInferiorY: 0.3,
  /** One anatomical unit in centimetres. */
  unitCm: 10,
  /** Axial slice positions (z, U) spanned by the 2D layout's slices, inferior to superior. */
  slabZ2d: [-0.5, 0.4] as readonly [number, number],
} as const;

/** Per-patient anatomy: isotropic head scale, in-plane shift (U) and ventricle enlargement. */
export interface Anatomy {
  /** Isotropic scale of the whole phantom (≈ 0.93–1.05). */
  readonly scale: number;
  /** Shift of the head centre along x (U). */
  readonly shiftX: number;
  /** Shift of the head centre along y (U). */
  readonly shiftY: number;
  /** Multiplier of the lateral ventricles' radii (grows with age). */
  readonly ventricleScale: number;
}

/** Atlas anatomy of an average patient (no shift, unit scale). */
export const NOMINAL_ANATOMY: Anatomy = { scale: 1, shiftX: 0, shiftY: 0, ventricleScale: 1.15 };

function q(e: Ellipsoid, x: number, y: number, z: number, rs = 1): number {
  const dx = (x - e.center[0]) / (e.radii[0] * rs);
  const dy = (y - e.center[1]) / (e.radii[1] * rs);
  const dz = (z - e.center[2]) / (e.radii[2] * rs);
  return dx * dx + dy * dy + dz * dz;
}

/**
 * Encodes a territory and side as a small integer (the per-voxel territory label):
 * 0 = none, otherwise `1 + 2·territoryIndex + (left ? 1 : 0)`.
 *
 * @example
 * ```ts
 * territoryCode('MCA', 'left'); // 4
 * ```
 */
export function territoryCode(territory: Territory, side: Side): number {
  return 1 + 2 * TERRITORIES.indexOf(territory) + (side === 'left' ? 1 : 0);
}

/**
 * Decodes a territory code (see {@link territoryCode}); `null` for code 0.
 *
 * @example
 * ```ts
 * decodeTerritory(4); // { territory: 'MCA', side: 'left' }
 * ```
 */
export function decodeTerritory(code: number): { territory: Territory; side: Side } | null {
  if (code <= 0) return null;
  const t = TERRITORIES[(code - 1) >> 1];
  if (t === undefined) return null;
  return { territory: t, side: (code - 1) % 2 === 1 ? 'left' : 'right' };
}

function cerebralTerritory(x: number, y: number, z: number): number {
  const g = PHANTOM_GEOMETRY;
  const xm = Math.abs(x);
  const sideBit = x > 0 ? 1 : 0;
  const angle = Math.atan2(y, xm);
  let t = 1; // MCA
  if ((z > g.acaVertexZ && xm < g.acaVertexHalfWidth && y < 0.35) || (y < 0 && angle < g.acaAngle)) t = 0;
  else if ((y > g.pcaMinY && angle > g.pcaAngle) || (z < g.pcaInferiorZ && y > g.pcaInferiorY)) t = 2;
  return 1 + 2 * t + sideBit;
}

/**
 * Labels one point of the anatomical frame: tissue class and territory code.
 *
 * @param x - left-right coordinate (U, left positive).
 * @param y - anterior-posterior coordinate (U, posterior positive).
 * @param z - inferior-superior coordinate (U, superior positive).
 * @param ventricleScale - ventricle enlargement (1 = atlas size).
 * @param ignoreVentricles - label the ventricles as the parenchyma around them (used by the
 *   findings extractor, which does not know the patient's ventricle size).
 * @returns `tissue | (territoryCode << 4)`.
 * @example
 * ```ts
 * const packed = atlasLabel(0.5, 0, 0.1, 1);
 * packed & 15;                   // TISSUE.whiteMatter or greyMatter
 * decodeTerritory(packed >> 4);  // { territory: 'MCA', side: 'left' }
 * ```
 */
export function atlasLabel(x: number, y: number, z: number, ventricleScale: number, ignoreVentricles = false): number {
  const g = PHANTOM_GEOMETRY;
  const qh = q(g.head, x, y, z);
  if (qh > 1) return TISSUE.background;
  const rh = Math.sqrt(qh);
  if (rh > g.skullOuter) return TISSUE.scalp;
  if (rh > g.skullInner) return TISSUE.skull;
  const sideBit = x > 0 ? 1 : 0;
  const xm = Math.abs(x);
  if (q(g.brainstem, x, y, z) <= 1) return TISSUE.brainstem | ((1 + 2 * 5 + sideBit) << 4);
  const qcb = q(g.cerebellum, x, y, z);
  if (qcb <= 1) {
    const tissue = qcb > 0.3 ? TISSUE.cerebellum : TISSUE.whiteMatter;
    return tissue | ((1 + 2 * 6 + sideBit) << 4);
  }
  if (!ignoreVentricles && q(g.ventricle, xm, y, z, ventricleScale) <= 1) return TISSUE.ventricle;
  if (q(g.internalCapsule, xm, y, z) <= 1) return TISSUE.whiteMatter | ((1 + 2 * 4 + sideBit) << 4);
  if (q(g.basalGanglia, xm, y, z) <= 1) return TISSUE.deepGrey | ((1 + 2 * 3 + sideBit) << 4);
  const qc = q(g.cerebrum, x, y, z);
  if (qc <= 1) {
    const tissue = Math.sqrt(qc) > g.cortexFrom ? TISSUE.greyMatter : TISSUE.whiteMatter;
    return tissue | (cerebralTerritory(x, y, z) << 4);
  }
  return TISSUE.csf;
}

/**
 * Voxel-grid geometry of one patient image: spatial size, the axial position of every slice,
 * memory strides of the layout and the physical voxel volume.
 *
 * 3D layout: sample shape `[D, H, W, 2]` (NDHWC without N), channel 0 = DWI, 1 = ADC, slices
 * cover z ∈ [-1, 1] U. 2D layout: sample shape `[H, W, 2·S]` (NHWC without N), channel
 * `2·s + q` holds slice `s` (inferior → superior) of sequence `q` (0 = DWI, 1 = ADC); the S
 * slices are evenly spaced over z ∈ `PHANTOM_GEOMETRY.slabZ2d` and each stands for the slab
 * up to the next slice (thick slices with a gap), which sets its voxel volume.
 */
export interface GridGeometry {
  readonly layout: '2d' | '3d';
  /** Slices (D in 3D, S in 2D). */
  readonly depth: number;
  readonly height: number;
  readonly width: number;
  /** Axial position (U) of each slice. */
  readonly sliceZ: Float64Array;
  /** Element strides of (slice, row, column, sequence) in the sample's flat array. */
  readonly strides: readonly [number, number, number, number];
  /** Elements per sample. */
  readonly size: number;
  /** Sample shape without the batch axis. */
  readonly sampleShape: readonly number[];
  /** Physical volume of one voxel in mL. */
  readonly voxelMl: number;
  /** In-plane voxel size (U). */
  readonly voxelU: number;
}

/**
 * Computes the {@link GridGeometry} of a sample shape and layout.
 *
 * @param sampleShape - `[D, H, W, 2]` for `'3d'`, `[H, W, 2·S]` for `'2d'`.
 * @param layout - `'2d'` or `'3d'`.
 * @throws {@link InvalidArgumentError} (argument `shape`) when the shape does not fit the layout.
 * @example
 * ```ts
 * gridGeometry([16, 32, 32, 2], '3d').voxelMl; // 0.48828125
 * ```
 */
export function gridGeometry(sampleShape: readonly number[], layout: '2d' | '3d'): GridGeometry {
  const okInt = (v: number | undefined): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 4;
  if (layout === '3d') {
    const [d, h, w, c] = sampleShape;
    if (sampleShape.length !== 4 || !okInt(h) || !okInt(w) || typeof d !== 'number' || !Number.isInteger(d) || d < 2 || c !== 2) {
      throw new InvalidArgumentError({
        argument: 'shape',
        message: 'A 3D sample must have shape [depth >= 2, height >= 4, width >= 4, 2] (channels DWI, ADC).',
        received: sampleShape,
      });
    }
    const sliceZ = new Float64Array(d);
    for (let k = 0; k < d; k++) sliceZ[k] = ((k + 0.5) / d) * 2 - 1;
    const voxelU = 2 / w;
    const voxelCm = (2 / h) * (2 / w) * (2 / d) * PHANTOM_GEOMETRY.unitCm ** 3;
    return {
      layout,
      depth: d,
      height: h,
      width: w,
      sliceZ,
      strides: [h * w * 2, w * 2, 2, 1],
      size: d * h * w * 2,
      sampleShape: [d, h, w, 2],
      voxelMl: voxelCm,
      voxelU,
    };
  }
  if (layout === '2d') {
    const [h, w, c] = sampleShape;
    if (sampleShape.length !== 3 || !okInt(h) || !okInt(w) || typeof c !== 'number' || !Number.isInteger(c) || c < 2 || c % 2 !== 0) {
      throw new InvalidArgumentError({
        argument: 'shape',
        message: 'A 2D sample must have shape [height >= 4, width >= 4, 2·slices] (channels slice-major, DWI then ADC).',
        received: sampleShape,
      });
    }
    const s = c / 2;
    const [lo, hi] = PHANTOM_GEOMETRY.slabZ2d;
    const sliceZ = new Float64Array(s);
    for (let k = 0; k < s; k++) sliceZ[k] = s === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * k) / (s - 1);
    const thickness = s === 1 ? 0.1 : (hi - lo) / (s - 1);
    return {
      layout,
      depth: s,
      height: h,
      width: w,
      sliceZ,
      strides: [2, w * c, c, 1],
      size: h * w * c,
      sampleShape: [h, w, c],
      voxelMl: (2 / h) * (2 / w) * thickness * PHANTOM_GEOMETRY.unitCm ** 3,
      voxelU: 2 / w,
    };
  }
  throw new InvalidArgumentError({ argument: 'layout', message: "layout must be '2d' or '3d'.", received: layout });
}

/** Per-voxel labels of one patient: tissue class and territory code, in (slice, row, column) order. */
export interface VoxelLabels {
  readonly tissue: Uint8Array;
  readonly territory: Uint8Array;
}

/**
 * Labels every voxel of a grid for one patient's anatomy.
 *
 * @param geometry - the grid (see {@link gridGeometry}).
 * @param anatomy - the patient's scale, shift and ventricle size.
 * @param ignoreVentricles - see {@link atlasLabel}.
 * @returns tissue and territory labels, length `D·H·W`, index `(k·H + i)·W + j`.
 * @example
 * ```ts
 * const labels = labelGrid(gridGeometry([16, 32, 32, 2], '3d'), NOMINAL_ANATOMY);
 * labels.tissue.length; // 16384
 * ```
 */
export function labelGrid(geometry: GridGeometry, anatomy: Anatomy, ignoreVentricles = false): VoxelLabels {
  const { depth, height, width, sliceZ } = geometry;
  const n = depth * height * width;
  const tissue = new Uint8Array(n);
  const territory = new Uint8Array(n);
  const inv = 1 / anatomy.scale;
  let v = 0;
  for (let k = 0; k < depth; k++) {
    const z = sliceZ[k]! * inv;
    for (let i = 0; i < height; i++) {
      const y = (((i + 0.5) / height) * 2 - 1 - anatomy.shiftY) * inv;
      for (let j = 0; j < width; j++, v++) {
        const x = (((j + 0.5) / width) * 2 - 1 - anatomy.shiftX) * inv;
        const packed = atlasLabel(x, y, z, anatomy.ventricleScale, ignoreVentricles);
        tissue[v] = packed & 15;
        territory[v] = packed >> 4;
      }
    }
  }
  return { tissue, territory };
}

/**
 * Anatomical coordinates (U) of a voxel centre for a given anatomy.
 *
 * @example
 * ```ts
 * voxelToAnatomical(gridGeometry([16, 32, 32, 2], '3d'), NOMINAL_ANATOMY, 8, 16, 16); // [0.03125, 0.03125, 0.0625]
 * ```
 */
export function voxelToAnatomical(
  geometry: GridGeometry,
  anatomy: Anatomy,
  k: number,
  i: number,
  j: number,
): [number, number, number] {
  const inv = 1 / anatomy.scale;
  return [
    (((j + 0.5) / geometry.width) * 2 - 1 - anatomy.shiftX) * inv,
    (((i + 0.5) / geometry.height) * 2 - 1 - anatomy.shiftY) * inv,
    geometry.sliceZ[k]! * inv,
  ];
}
