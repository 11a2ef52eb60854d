/**
 * The preprocessing recipe that puts NIfTI volumes on the synthetic cohort's grid: the cohort's
 * sampling grid and channel layout, and the whole recipe for one volume ({@link preprocessNifti})
 * or for the co-registered sequences of one patient ({@link preprocessSequences}).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';
import { gridGeometry, PHANTOM_GEOMETRY } from '../../data/phantom.js';
import { type Affine, worldToVoxel } from './affine.js';
import { foregroundBox, type IntensityOptions, type IntensityStats, intensityStats, normalise } from './intensity.js';
import type { NiftiVolume } from './nifti.js';
import { type OrientedVolume, reorient } from './reorient.js';
import { checkShape3, resample, type SamplingGrid } from './resample.js';

/** Options of {@link cohortGrid}. */
export interface CohortGridOptions {
  /** `'3d'` (D slices over the whole field of view) or `'2d'` (the cohort's S axial slices). @defaultValue '3d' */
  layout?: '2d' | '3d';
  /**
   * Grid size: `[D, H, W]` for 3D, `[H, W]` for 2D.
   * @defaultValue [16, 32, 32] for 3D, [32, 32] for 2D (the cohort's defaults)
   */
  shape?: readonly number[];
  /** Axial slices of the 2D layout. @defaultValue 4 */
  slices?: number;
  /**
   * `'cohort'`: the cohort's physical field of view, a `fovMm` cube centred on `centre`
   * (1 cohort unit U = 10 cm, so [-1, 1] U = 200 mm). `'extent'`: the whole volume, each axis
   * stretched to the grid.
   * @defaultValue 'cohort'
   */
  fov?: 'cohort' | 'extent';
  /** Edge of the field-of-view cube in millimetres (`fov: 'cohort'`). @defaultValue 200 */
  fovMm?: number;
  /**
   * Centre of the field of view in voxel coordinates (D, H, W) of the oriented volume.
   * @defaultValue the volume's centre (callers usually pass the foreground box's centre)
   */
  centre?: readonly number[];
}

/**
 * The sampling grid that puts an LPS-oriented volume on the synthetic cohort's voxel grid.
 *
 * The cohort frame spans [-1, 1] U on every axis (U = 10 cm); a 3D grid of D slices samples
 * it at cell centres, the 2D layout samples S axial slices evenly spaced over
 * z ∈ `PHANTOM_GEOMETRY.slabZ2d` = [-0.5, 0.4] U (cerebellum to lateral ventricles), exactly
 * as `gridGeometry` lays out cohort images. The frame's origin is `centre` ('cohort' field of
 * view) or the volume's centre ('extent').
 *
 * @param volume - an oriented volume (its `shape` and `spacing` are used).
 * @throws `InvalidArgumentError` naming the bad option (`layout`, `shape`, `slices`,
 *   `fov`, `fovMm`, `centre`).
 * @example
 * ```ts
 * const box = foregroundBox(lps, stats.threshold)!;
 * const centre = [0, 1, 2].map((a) => (box.min[a] + box.max[a]) / 2);
 * const grid = cohortGrid(lps, { layout: '2d', slices: 4, centre }); // grid.shape [4, 32, 32]
 * ```
 */
export function cohortGrid(volume: Pick<OrientedVolume, 'shape' | 'spacing'>, options: CohortGridOptions = {}): SamplingGrid {
  const layout = options.layout ?? '3d';
  if (layout !== '2d' && layout !== '3d') throw new InvalidArgumentError({ argument: 'layout', message: "layout must be '2d' or '3d'.", received: layout });
  const slices = options.slices ?? 4;
  if (!Number.isInteger(slices) || slices < 1) throw new InvalidArgumentError({ argument: 'slices', message: 'slices must be a positive integer.', received: slices });
  const shape = options.shape ?? (layout === '3d' ? [16, 32, 32] : [32, 32]);
  const fov = options.fov ?? 'cohort';
  if (fov !== 'cohort' && fov !== 'extent') throw new InvalidArgumentError({ argument: 'fov', message: "fov must be 'cohort' or 'extent'.", received: fov });
  const fovMm = options.fovMm ?? 2 * PHANTOM_GEOMETRY.unitCm * 10;
  if (!(typeof fovMm === 'number' && fovMm > 0 && Number.isFinite(fovMm))) throw new InvalidArgumentError({ argument: 'fovMm', message: 'fovMm must be a positive number.', received: fovMm });
  // gridGeometry validates the shape and gives the cohort's slice positions (U).
  let geometry;
  try {
    geometry = gridGeometry(layout === '3d' ? [...shape, 2] : [...shape, 2 * slices], layout);
  } catch (error) {
    throw new InvalidArgumentError({
      argument: 'shape',
      message: `shape must be ${layout === '3d' ? '[D ≥ 2, H ≥ 4, W ≥ 4]' : '[H ≥ 4, W ≥ 4]'} for layout '${layout}'.`,
      received: shape,
      cause: error,
    });
  }
  const outShape: [number, number, number] = [geometry.depth, geometry.height, geometry.width];
  const centre = options.centre ?? volume.shape.map((n) => (n - 1) / 2);
  if (!Array.isArray(centre) || centre.length !== 3 || !centre.every(Number.isFinite)) {
    throw new InvalidArgumentError({ argument: 'centre', message: 'centre must be 3 finite voxel coordinates (D, H, W).', received: centre });
  }
  const frameCentre = fov === 'cohort' ? centre : volume.shape.map((n) => (n - 1) / 2);
  // half-width (source voxels) of the [-1, 1] U frame along each axis
  const half = [0, 1, 2].map((a) => (fov === 'cohort' ? fovMm / 2 / volume.spacing[a]! : volume.shape[a]! / 2));
  // frame coordinate u ∈ [-1, 1] of output index o: cell centres for H, W (and D in 3D), the cohort's slice positions in 2D
  const u0 = [geometry.sliceZ[0]!, 1 / outShape[1] - 1, 1 / outShape[2] - 1];
  const du = [geometry.depth > 1 ? geometry.sliceZ[1]! - geometry.sliceZ[0]! : 0, 2 / outShape[1], 2 / outShape[2]];
  return {
    shape: outShape,
    origin: [0, 1, 2].map((a) => frameCentre[a]! + u0[a]! * half[a]!) as [number, number, number],
    step: [0, 1, 2].map((a) => du[a]! * half[a]!) as [number, number, number],
  };
}

/**
 * Stacks preprocessed sequences into the synthetic cohort's channel layout.
 *
 * 3D: `[D, H, W, Q]` (channel q = sequence q, e.g. DWI then ADC). 2D: `[H, W, S·Q]` with
 * channel `s·Q + q` = slice s (inferior → superior) of sequence q, as `generateSyntheticCohort`
 * lays out its 2D images (Q = 2 there).
 *
 * @param sequences - Q arrays of the grid's shape `[D, H, W]` (3D) or `[S, H, W]` (2D).
 * @param shape - that shape.
 * @param layout - `'3d'` or `'2d'`.
 * @returns the sample (no batch axis) and its shape.
 * @throws `InvalidArgumentError` (argument `sequences`, `shape` or `layout`).
 * @example
 * ```ts
 * toCohortLayout([dwi, adc], [4, 32, 32], '2d').shape; // [32, 32, 8]
 * ```
 */
export function toCohortLayout(sequences: readonly Float32Array[], shape: readonly number[], layout: '2d' | '3d'): { data: Float32Array; shape: number[] } {
  checkShape3(shape, 'shape');
  if (layout !== '2d' && layout !== '3d') throw new InvalidArgumentError({ argument: 'layout', message: "layout must be '2d' or '3d'.", received: layout });
  const [d, h, w] = shape;
  const n = d * h * w;
  if (!Array.isArray(sequences) || sequences.length === 0 || sequences.some((s) => !(s instanceof Float32Array) || s.length !== n)) {
    throw new InvalidArgumentError({ argument: 'sequences', message: `sequences must be a non-empty list of Float32Array with ${n} values each (shape [${shape.join(', ')}]).`, received: sequences?.map?.((s) => s?.length) });
  }
  const q = sequences.length;
  const data = new Float32Array(n * q);
  for (let c = 0; c < q; c++) {
    const src = sequences[c]!;
    let v = 0;
    for (let z = 0; z < d; z++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++, v++) {
          const dst = layout === '3d' ? v * q + c : (y * w + x) * d * q + z * q + c;
          data[dst] = src[v]!;
        }
      }
    }
  }
  return { data, shape: layout === '3d' ? [d, h, w, q] : [h, w, d * q] };
}

/**
 * Options of {@link preprocessNifti} and {@link preprocessSequences}: the grid
 * ({@link CohortGridOptions}), the intensities ({@link IntensityOptions}), where the field of
 * view is centred and whether intensities are normalised at all.
 */
export type PreprocessOptions = Omit<CohortGridOptions, 'centre'> &
  IntensityOptions & {
    /**
     * Where the `'cohort'` field of view is centred: `'foreground'` on the centre of the
     * foreground's bounding box (an off-centre head is centred like a phantom; needs no
     * registration), `'volume'` on the volume's centre, `'world-origin'` on the world point
     * (0, 0, 0) of the affine (for volumes registered to a template whose origin is the brain's
     * centre, e.g. MNI, and for the files {@link writeSyntheticCohort} writes).
     * @defaultValue 'foreground'
     */
    fovCentre?: 'foreground' | 'volume' | 'world-origin';
    /**
     * `'robust-z'`: the z-score of {@link normalise}. `'none'`: raw (scaled) intensities, for
     * data that is already normalised or, like the synthetic cohort, on a fixed scale.
     * @defaultValue 'robust-z'
     */
    intensity?: 'robust-z' | 'none';
  };

/** What {@link preprocessNifti} returns. */
export interface Preprocessed {
  /** The grid's values (normalised unless `intensity: 'none'`), `[D, H, W]` (3D) or `[S, H, W]` (2D), row-major. */
  data: Float32Array;
  shape: [number, number, number];
  /** The oriented full-resolution volume (LPS). */
  oriented: OrientedVolume;
  grid: SamplingGrid;
  /** Field-of-view centre in the oriented volume's voxel coordinates (D, H, W). */
  centre: [number, number, number];
  /** The intensity statistics (measured on the full-resolution oriented volume); `null` with `intensity: 'none'` and a centre other than `'foreground'`. */
  stats: IntensityStats | null;
}

const FOV_CENTRES = ['foreground', 'volume', 'world-origin'] as const;

function checkPreprocessOptions(options: PreprocessOptions): { fovCentre: (typeof FOV_CENTRES)[number]; intensity: 'robust-z' | 'none' } {
  const fovCentre = options.fovCentre ?? 'foreground';
  if (!FOV_CENTRES.includes(fovCentre)) throw new InvalidArgumentError({ argument: 'fovCentre', message: `fovCentre must be one of ${FOV_CENTRES.join(', ')}.`, received: fovCentre });
  const intensity = options.intensity ?? 'robust-z';
  if (intensity !== 'robust-z' && intensity !== 'none') throw new InvalidArgumentError({ argument: 'intensity', message: "intensity must be 'robust-z' or 'none'.", received: intensity });
  return { fovCentre, intensity };
}

/** The field-of-view centre in (D, H, W) voxel coordinates of the oriented volume. */
function fieldCentre(volume: NiftiVolume, oriented: OrientedVolume, stats: IntensityStats | null, fovCentre: (typeof FOV_CENTRES)[number]): [number, number, number] {
  if (fovCentre === 'foreground') {
    const box = foregroundBox(oriented, stats!.threshold)!;
    return [0, 1, 2].map((a) => (box.min[a]! + box.max[a]!) / 2) as [number, number, number];
  }
  if (fovCentre === 'volume') return oriented.shape.map((n) => (n - 1) / 2) as [number, number, number];
  const src = worldToVoxel(volume.affine, [0, 0, 0]);
  // oriented axis m (0 = W, 1 = H, 2 = D) reads source axis sourceAxes[m], reversed when flipped
  const o = [0, 1, 2].map((m) => {
    const c = src[oriented.sourceAxes[m]!]!;
    const n = volume.dims[oriented.sourceAxes[m]!]!;
    return oriented.flipped[m] ? n - 1 - c : c;
  });
  return [o[2]!, o[1]!, o[0]!];
}

function minimum(data: Float32Array): number {
  let min = Infinity;
  for (let i = 0; i < data.length; i++) if (data[i]! < min) min = data[i]!;
  return Number.isFinite(min) ? min : 0;
}

/**
 * The whole recipe for one volume: reorient to LPS, measure the intensity statistics on the
 * full-resolution volume, centre the field of view (by default on the foreground's bounding
 * box), resample trilinearly (outside the volume: its minimum) and apply the robust z-score
 * (unless `intensity: 'none'`). The 2D layout gives `[S, H, W]`, the 3D layout `[D, H, W]`:
 * pass it to {@link toCohortLayout}, or use {@link preprocessSequences} for several sequences.
 *
 * @throws `InvalidArgumentError` as {@link cohortGrid} and {@link intensityStats}, and
 *   naming `fovCentre` or `intensity`.
 * @example
 * ```ts
 * const pre = preprocessNifti(readNifti(bytes), { layout: '3d', shape: [16, 32, 32] });
 * pre.shape; // [16, 32, 32]
 * ```
 */
export function preprocessNifti(volume: NiftiVolume, options: PreprocessOptions = {}): Preprocessed {
  return preprocessOnGrid(volume, options, null);
}

/** One volume on a grid: the reference's grid (`shared`) or its own. */
function preprocessOnGrid(volume: NiftiVolume, options: PreprocessOptions, shared: { grid: SamplingGrid; centre: [number, number, number] } | null): Preprocessed {
  const { fovCentre, intensity } = checkPreprocessOptions(options);
  const oriented = reorient(volume, 'LPS');
  const needStats = intensity === 'robust-z' || (fovCentre === 'foreground' && !shared);
  const stats = needStats ? intensityStats(oriented.data, options) : null;
  const centre = shared?.centre ?? fieldCentre(volume, oriented, stats, fovCentre);
  const grid = shared?.grid ?? cohortGrid(oriented, { ...options, centre });
  const sampled = resample(oriented, grid, stats?.min ?? minimum(oriented.data));
  const data = intensity === 'robust-z' ? normalise(sampled, stats!).data : sampled;
  return { data, shape: grid.shape, oriented, grid, centre, stats };
}

/**
 * Why co-registered sequences of one patient do not share one voxel grid, or `null` when they
 * do: the same `dims`, and voxel → world affines whose images of the volume's 8 corners lie
 * within `toleranceMm` of each other. vdafm assumes the sequences of a patient are
 * co-registered (stored on one grid, as DWI and ADC of one acquisition are, or as a
 * registration tool writes them); it does not register them.
 *
 * @param volumes - the sequences, as read.
 * @param names - their names, for the message. @defaultValue `sequence 0`, `sequence 1`, ...
 * @param toleranceMm - largest corner distance. @defaultValue 0.1
 * @example
 * ```ts
 * sequenceMismatch([dwi, adc], ['dwi', 'adc']); // null, or 'adc has dims 128×128×25, dwi 256×256×25'
 * ```
 */
export function sequenceMismatch(volumes: readonly NiftiVolume[], names?: readonly string[], toleranceMm = 0.1): string | null {
  const name = (i: number) => names?.[i] ?? `sequence ${i}`;
  const ref = volumes[0];
  if (!ref) return null;
  for (let i = 1; i < volumes.length; i++) {
    const v = volumes[i]!;
    if (v.dims.some((d, a) => d !== ref.dims[a])) return `${name(i)} has dims ${v.dims.join('×')}, ${name(0)} ${ref.dims.join('×')}: the sequences are not on one voxel grid`;
    let worst = 0;
    for (let corner = 0; corner < 8; corner++) {
      const p = [0, 1, 2].map((a) => ((corner >> a) & 1 ? ref.dims[a]! - 1 : 0));
      const at = (m: Affine) => [0, 1, 2].map((r) => m[r]![0]! * p[0]! + m[r]![1]! * p[1]! + m[r]![2]! * p[2]! + m[r]![3]!);
      const [x, y] = [at(ref.affine), at(v.affine)];
      worst = Math.max(worst, Math.hypot(x[0]! - y[0]!, x[1]! - y[1]!, x[2]! - y[2]!));
    }
    if (!(worst <= toleranceMm)) {
      return `${name(i)} and ${name(0)} have the same dims but different voxel-to-world affines (corners up to ${worst.toPrecision(3)} mm apart, tolerance ${toleranceMm} mm): the sequences are not co-registered`;
    }
  }
  return null;
}

/** What {@link preprocessSequences} returns. */
export interface PreprocessedSequences {
  /** The sample in the cohort layout: `[D, H, W, Q]` (3D) or `[H, W, S·Q]` (2D), row-major. */
  data: Float32Array;
  /** Its shape (no batch axis). */
  shape: number[];
  /** The shared grid and field-of-view centre (from the first sequence). */
  grid: SamplingGrid;
  centre: [number, number, number];
  /** Per sequence: its grid before stacking, `[D, H, W]` (3D) or `[S, H, W]` (2D). */
  channels: Float32Array[];
  /** Per sequence: its intensity statistics (`null` with `intensity: 'none'`). */
  stats: Array<IntensityStats | null>;
}

/**
 * Preprocesses the co-registered sequences of one patient onto ONE grid and stacks them in the
 * cohort layout: the field of view is placed on the first sequence (the reference, e.g. DWI)
 * and reused for the others, so that the channels stay aligned voxel for voxel; each sequence
 * gets its own intensity statistics.
 *
 * @param volumes - Q sequences on one voxel grid (see {@link sequenceMismatch}).
 * @returns the sample `[D, H, W, Q]` (3D) or `[H, W, S·Q]` (2D) and what was measured.
 * @throws `InvalidArgumentError` (argument `volumes`) for no volume or sequences on
 *   different grids; as {@link preprocessNifti} otherwise.
 * @example
 * ```ts
 * const sample = preprocessSequences([dwi, adc], { layout: '2d', shape: [32, 32], slices: 4 });
 * sample.shape; // [32, 32, 8]
 * ```
 */
export function preprocessSequences(volumes: readonly NiftiVolume[], options: PreprocessOptions & { coregistrationToleranceMm?: number } = {}): PreprocessedSequences {
  if (!Array.isArray(volumes) || volumes.length === 0) throw new InvalidArgumentError({ argument: 'volumes', message: 'volumes must be a non-empty array of NIfTI volumes.', received: volumes });
  const mismatch = sequenceMismatch(volumes, undefined, options.coregistrationToleranceMm);
  if (mismatch) throw new InvalidArgumentError({ argument: 'volumes', message: `${mismatch}.`, fix: 'Resample the sequences onto one grid first (co-registration is assumed, not done).' });
  const first = preprocessOnGrid(volumes[0]!, options, null);
  const rest = volumes.slice(1).map((v) => preprocessOnGrid(v, options, first));
  const all = [first, ...rest];
  const sample = toCohortLayout(
    all.map((p) => p.data),
    first.shape,
    options.layout ?? '3d',
  );
  return { data: sample.data, shape: sample.shape, grid: first.grid, centre: first.centre, channels: all.map((p) => p.data), stats: all.map((p) => p.stats) };
}
