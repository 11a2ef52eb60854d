/**
 * Reading a real brain volume (`.nii` / `.nii.gz`, NIfTI-1 or NIfTI-2) and turning it into an
 * image the vdafm image encoder reads, laid out like a synthetic-cohort image:
 *
 * 1. {@link readNifti}: header and voxels (nifti-reader-js, gzip through its own `decompress`),
 *    datatypes uint8/int8/int16/uint16/int32/uint32/float32/float64, `scl_slope`/`scl_inter`,
 *    the voxel → world affine (sform, else qform, else pixdim) in millimetres, the orientation
 *    code and the obliquity.
 * 2. {@link reorient}: axis permutation and flips only (no oblique resampling) to the cohort's
 *    orientation, **LPS**: columns (fastest axis) run towards the patient's left, rows towards
 *    posterior (anterior at the top of a slice), slices towards superior. The array is then
 *    `[D, H, W]` row-major, exactly the cohort's `(slice, row, column)` order.
 * 3. {@link cohortGrid} + {@link resample}: trilinear resampling to the encoder's grid, either
 *    the cohort's physical field of view (a 200 mm cube, the cohort's [-1, 1] U, centred on the
 *    foreground's bounding box) or the whole volume stretched to the grid; the 2D layout picks
 *    the cohort's S axial slices (z ∈ [-50, +40] mm around that centre).
 * 4. {@link intensityStats} + {@link normalise}: a brain-mask-free robust z-score.
 * 5. {@link toCohortLayout}: one or more sequences into `[D, H, W, Q]` (3D) or `[H, W, S·Q]`
 *    (2D, channel `s·Q + q`), the cohort's channel layouts.
 *
 * Browser-safe (no `node:*`): pass the file's bytes to {@link readNifti}.
 *
 * @packageDocumentation
 */
import * as nifti from 'nifti-reader-js';
import { InvalidArgumentError } from '../../src/errors.js';
import { gridGeometry, PHANTOM_GEOMETRY } from '../../src/data/phantom.js';

/** A 4 × 4 affine, row-major (`affine[row][column]`). */
export type Affine = number[][];

/** Which header field gave the voxel → world affine. */
export type AffineSource = 'sform' | 'qform' | 'pixdim';

/** A volume as read from a NIfTI file (first three axes in file order, `i` fastest). */
export interface NiftiVolume {
  /** `'NIfTI-1'` or `'NIfTI-2'`. */
  format: 'NIfTI-1' | 'NIfTI-2';
  /** Whether the bytes were gzip-compressed. */
  compressed: boolean;
  /** Scaled voxel values (`raw · scl_slope + scl_inter`), index `i + nx·(j + ny·k)`. */
  data: Float32Array;
  /** `[nx, ny, nz]` (missing dimensions are 1). */
  dims: [number, number, number];
  /** Number of volumes in the file (product of dims 4–7); `data` holds one of them. */
  volumes: number;
  /** Index of the volume held in `data`. */
  volume: number;
  /** Voxel sizes along i, j, k in millimetres (column norms of the affine). */
  voxelSize: [number, number, number];
  /** Voxel (i, j, k) → world (x, y, z) in millimetres, RAS+ (x to the right, y anterior, z superior). */
  affine: Affine;
  affineSource: AffineSource;
  /** NIfTI datatype code and name, e.g. `4` / `'int16'`. */
  datatypeCode: number;
  datatype: string;
  /** Effective scaling (slope 1, intercept 0 when the header's slope is 0 or not finite). */
  sclSlope: number;
  sclInter: number;
  /** Orientation code of the voxel axes, e.g. `'RAS'` (i → right, j → anterior, k → superior). */
  orientation: string;
  /** Largest angle (degrees) between a voxel axis and its nearest world axis. */
  obliquityDeg: number;
  /** Whether `obliquityDeg` exceeds {@link OBLIQUE_TOLERANCE_DEG}. */
  oblique: boolean;
  /** The header description field. */
  description: string;
  /** What the reader had to assume or skip. */
  warnings: string[];
}

/** Angle (degrees) above which an affine counts as oblique (then only its nearest axes are used). */
export const OBLIQUE_TOLERANCE_DEG = 0.1;

const DATATYPES: Record<number, { name: string; bytes: number; get: (v: DataView, o: number, le: boolean) => number }> = {
  2: { name: 'uint8', bytes: 1, get: (v, o) => v.getUint8(o) },
  4: { name: 'int16', bytes: 2, get: (v, o, le) => v.getInt16(o, le) },
  8: { name: 'int32', bytes: 4, get: (v, o, le) => v.getInt32(o, le) },
  16: { name: 'float32', bytes: 4, get: (v, o, le) => v.getFloat32(o, le) },
  64: { name: 'float64', bytes: 8, get: (v, o, le) => v.getFloat64(o, le) },
  256: { name: 'int8', bytes: 1, get: (v, o) => v.getInt8(o) },
  512: { name: 'uint16', bytes: 2, get: (v, o, le) => v.getUint16(o, le) },
  768: { name: 'uint32', bytes: 4, get: (v, o, le) => v.getUint32(o, le) },
};

function toArrayBuffer(bytes: ArrayBuffer | Uint8Array): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  if (bytes instanceof Uint8Array) return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  throw new InvalidArgumentError({ argument: 'bytes', message: 'bytes must be an ArrayBuffer or a Uint8Array (the file content).', received: typeof bytes });
}

/** Orientation letter of a world axis (0 = x, 1 = y, 2 = z) and direction sign, RAS+ world. */
function letter(axis: number, sign: number): string {
  return axis === 0 ? (sign > 0 ? 'R' : 'L') : axis === 1 ? (sign > 0 ? 'A' : 'P') : sign > 0 ? 'S' : 'I';
}

/**
 * Nearest world axis and direction of each voxel axis of an affine (a greedy assignment by
 * largest |cosine|, so the result is always a permutation), and the obliquity.
 *
 * @param affine - voxel → RAS+ world, 4 × 4 (or 3 × 4) row-major.
 * @returns `axes[a]` = world axis (0 x, 1 y, 2 z) of voxel axis a, `signs[a]` = ±1, the
 *   orientation code (e.g. `'LPS'`) and the largest angle in degrees between a voxel axis and
 *   its world axis.
 * @throws {@link InvalidArgumentError} (argument `affine`) for a singular or non-finite affine.
 * @example
 * ```ts
 * axisCodes([[-2, 0, 0, 0], [0, -2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 1]]).code; // 'LPS'
 * ```
 */
export function axisCodes(affine: Affine): { axes: [number, number, number]; signs: [number, number, number]; code: string; obliquityDeg: number } {
  const col = (a: number) => [0, 1, 2].map((r) => affine[r]?.[a] ?? NaN);
  const cols = [col(0), col(1), col(2)];
  const norms = cols.map((c) => Math.hypot(...c));
  if (norms.some((n) => !Number.isFinite(n) || n === 0)) {
    throw new InvalidArgumentError({ argument: 'affine', message: 'The voxel-to-world affine has a zero or non-finite column.', received: affine.slice(0, 3) });
  }
  const axes: [number, number, number] = [-1, -1, -1];
  const signs: [number, number, number] = [1, 1, 1];
  const usedWorld = new Set<number>();
  const cosines: number[] = [0, 0, 0];
  for (let step = 0; step < 3; step++) {
    let best = -1;
    let bestA = -1;
    let bestW = -1;
    for (let a = 0; a < 3; a++) {
      if (axes[a] !== -1) continue;
      for (let w = 0; w < 3; w++) {
        if (usedWorld.has(w)) continue;
        const c = Math.abs(cols[a]![w]!) / norms[a]!;
        if (c > best) (best = c), (bestA = a), (bestW = w);
      }
    }
    axes[bestA] = bestW;
    signs[bestA] = cols[bestA]![bestW]! >= 0 ? 1 : -1;
    cosines[bestA] = best;
    usedWorld.add(bestW);
  }
  const obliquityDeg = Math.max(...cosines.map((c) => (Math.acos(Math.min(1, c)) * 180) / Math.PI));
  return { axes, signs, code: axes.map((w, a) => letter(w, signs[a]!)).join(''), obliquityDeg };
}

/**
 * Reads a NIfTI-1 or NIfTI-2 volume (`.nii`, or `.nii.gz` decompressed with nifti-reader-js's
 * `decompress`) into scaled float voxels plus what is needed to orient it.
 *
 * The affine is the sform when `sform_code > 0`, else the qform when `qform_code > 0`, else
 * the pixdim diagonal (orientation unknown: a warning says so), converted to millimetres from
 * the header's spatial unit. Values are `raw · scl_slope + scl_inter` (no scaling when the
 * slope is 0 or not finite, as the standard says). For a 4D file the volume `options.volume`
 * is read (with a warning).
 *
 * @param bytes - the file's content.
 * @param options - `volume`: which volume of a 4D file. @defaultValue `{ volume: 0 }`
 * @throws {@link InvalidArgumentError} (argument `bytes`) for data that is not a single-file
 *   NIfTI or is truncated, (`datatype`) for an unsupported datatype (complex, RGB, 64-bit
 *   integers), (`volume`) for a volume index out of range.
 * @example
 * ```ts
 * const volume = readNifti(readFileSync('ch2bet.nii.gz'));
 * volume.dims;        // [181, 217, 181]
 * volume.orientation; // 'RAS'
 * ```
 */
export function readNifti(bytes: ArrayBuffer | Uint8Array, options: { volume?: number } = {}): NiftiVolume {
  let buffer = toArrayBuffer(bytes);
  const compressed = nifti.isCompressed(buffer);
  if (compressed) {
    try {
      buffer = nifti.decompress(buffer) as ArrayBuffer;
    } catch (error) {
      throw new InvalidArgumentError({ argument: 'bytes', message: `The gzip stream cannot be decompressed (${(error as Error).message}).`, received: `${bytes.byteLength} bytes`, cause: error });
    }
  }
  if (!nifti.isNIFTI(buffer)) {
    throw new InvalidArgumentError({
      argument: 'bytes',
      message: 'This is not a single-file NIfTI-1/NIfTI-2 volume (no "n+1"/"n+2" magic).',
      received: `${buffer.byteLength} bytes`,
      fix: 'Convert .hdr/.img pairs and DICOM to .nii first (e.g. with dcm2niix).',
    });
  }
  const header = nifti.readHeader(buffer);
  const format = header instanceof nifti.NIFTI2 ? 'NIfTI-2' : 'NIfTI-1';
  const le = header.littleEndian;
  const warnings: string[] = [];

  const ndim = Math.max(1, Math.min(7, header.dims[0] ?? 3));
  const dimAt = (d: number) => (d <= ndim ? Math.max(1, header.dims[d] ?? 1) : 1);
  const dims: [number, number, number] = [dimAt(1), dimAt(2), dimAt(3)];
  let volumes = 1;
  for (let d = 4; d <= ndim; d++) volumes *= dimAt(d);
  const volume = options.volume ?? 0;
  if (!Number.isInteger(volume) || volume < 0 || volume >= volumes) {
    throw new InvalidArgumentError({ argument: 'volume', message: `volume must be an integer in [0, ${volumes - 1}] (the file holds ${volumes}).`, received: volume });
  }
  if (volumes > 1) warnings.push(`the file holds ${volumes} volumes; volume ${volume} is used`);

  const type = DATATYPES[header.datatypeCode];
  if (!type) {
    throw new InvalidArgumentError({
      argument: 'datatype',
      message: `NIfTI datatype ${header.datatypeCode} (${header.getDatatypeCodeString(header.datatypeCode)}) is not supported; a scalar integer or float volume is needed.`,
      received: header.datatypeCode,
      fix: 'Supported: uint8, int8, int16, uint16, int32, uint32, float32, float64.',
    });
  }
  const n = dims[0] * dims[1] * dims[2];
  const image = nifti.readImage(header, buffer);
  const needed = n * volumes * type.bytes;
  if (image.byteLength < needed) {
    throw new InvalidArgumentError({
      argument: 'bytes',
      message: `The file is truncated: dims ${dims.join('×')}×${volumes} of ${type.name} need ${needed} bytes of voxels, the file holds ${image.byteLength}.`,
      received: `${buffer.byteLength} bytes`,
    });
  }
  let slope = header.scl_slope;
  let inter = header.scl_inter;
  if (!Number.isFinite(slope) || slope === 0) {
    slope = 1;
    inter = 0;
  } else if (!Number.isFinite(inter)) inter = 0;
  const view = new DataView(image);
  const data = new Float32Array(n);
  const base = volume * n * type.bytes;
  for (let v = 0; v < n; v++) data[v] = type.get(view, base + v * type.bytes, le) * slope + inter;

  // Spatial unit → millimetres.
  const unit = header.xyzt_units & 7;
  const toMm = unit === 1 ? 1000 : unit === 3 ? 0.001 : 1;
  if (unit === 0) warnings.push('spatial unit unknown: millimetres assumed');
  const pix = [1, 2, 3].map((d) => {
    const p = Math.abs(header.pixDims[d] ?? 1);
    return Number.isFinite(p) && p > 0 ? p : 1;
  });
  let affine: Affine;
  let affineSource: AffineSource;
  if (header.sform_code > 0) {
    affineSource = 'sform';
    if (format === 'NIfTI-1') {
      const hv = new DataView(buffer);
      affine = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => hv.getFloat32(280 + (r * 4 + c) * 4, le)));
    } else {
      affine = header.affine.slice(0, 3).map((row) => row.slice(0, 4));
    }
  } else if (header.qform_code > 0) {
    affineSource = 'qform';
    const qfac = (header.pixDims[0] ?? 1) < 0 ? -1 : 1;
    affine = header
      .convertNiftiQFormToNiftiSForm(header.quatern_b, header.quatern_c, header.quatern_d, header.qoffset_x, header.qoffset_y, header.qoffset_z, pix[0]!, pix[1]!, pix[2]!, qfac)
      .slice(0, 3);
  } else {
    affineSource = 'pixdim';
    affine = [
      [pix[0]!, 0, 0, 0],
      [0, pix[1]!, 0, 0],
      [0, 0, pix[2]!, 0],
    ];
    warnings.push('no sform or qform (both codes 0): orientation unknown, voxel axes taken as RAS');
  }
  affine = affine.map((row) => row.map((v) => v * toMm));
  affine.push([0, 0, 0, 1]);
  const codes = axisCodes(affine);
  const oblique = codes.obliquityDeg > OBLIQUE_TOLERANCE_DEG;
  if (oblique) {
    warnings.push(
      `oblique affine (${codes.obliquityDeg.toFixed(2)}° from the nearest axes): reoriented by the nearest axes only, without oblique resampling`,
    );
  }
  const voxelSize = [0, 1, 2].map((a) => Math.hypot(affine[0]![a]!, affine[1]![a]!, affine[2]![a]!)) as [number, number, number];
  return {
    format,
    compressed,
    data,
    dims,
    volumes,
    volume,
    voxelSize,
    affine,
    affineSource,
    datatypeCode: header.datatypeCode,
    datatype: type.name,
    sclSlope: slope,
    sclInter: inter,
    orientation: codes.code,
    obliquityDeg: codes.obliquityDeg,
    oblique,
    description: header.description,
    warnings,
  };
}

/** A volume in a canonical orientation: `[D, H, W]` row-major, W fastest. */
export interface OrientedVolume {
  /** Voxels, index `(d·H + h)·W + w`. */
  data: Float32Array;
  /** `[D, H, W]`. */
  shape: [number, number, number];
  /** Voxel sizes along D, H, W in millimetres. */
  spacing: [number, number, number];
  /** Orientation of (W, H, D), i.e. of the NIfTI-style axes (fastest first), e.g. `'LPS'`. */
  orientation: string;
  /** For W, H, D: the source voxel axis (0 = i, 1 = j, 2 = k) it came from. */
  sourceAxes: [number, number, number];
  /** For W, H, D: whether that source axis was reversed. */
  flipped: [boolean, boolean, boolean];
}

const LETTER_AXIS: Record<string, [number, number]> = { R: [0, 1], L: [0, -1], A: [1, 1], P: [1, -1], S: [2, 1], I: [2, -1] };

/**
 * Reorients a volume by axis permutation and flips only, so that its axes (fastest first) point
 * along `target`. The default `'LPS'` is the synthetic cohort's layout: columns run towards
 * the patient's left (radiological display: the patient's left on the image's right), rows
 * towards posterior (anterior at the top), slices towards superior (slice 0 is the most
 * inferior). An oblique volume is reoriented by its nearest axes (see {@link NiftiVolume.oblique}).
 *
 * @param volume - what {@link readNifti} returned.
 * @param target - a 3-letter orientation code with one of R/L, A/P, S/I each. @defaultValue 'LPS'
 * @returns a new `[D, H, W]` volume (the input is not modified).
 * @throws {@link InvalidArgumentError} (argument `target`) for an invalid code.
 * @example
 * ```ts
 * const lps = reorient(readNifti(bytes));  // cohort layout
 * lps.shape;                               // [D, H, W] = [slices, rows, columns]
 * reorient(readNifti(bytes), 'RAS').orientation; // 'RAS'
 * ```
 */
export function reorient(volume: NiftiVolume, target = 'LPS'): OrientedVolume {
  const t = typeof target === 'string' ? target.toUpperCase() : '';
  const world = [...t].map((c) => LETTER_AXIS[c]);
  if (t.length !== 3 || world.some((w) => !w) || new Set(world.map((w) => w![0])).size !== 3) {
    throw new InvalidArgumentError({ argument: 'target', message: 'target must be a 3-letter orientation code using one of R/L, A/P and S/I each, e.g. LPS or RAS.', received: target });
  }
  const codes = axisCodes(volume.affine);
  const sourceAxes = [0, 0, 0] as [number, number, number];
  const flipped = [false, false, false] as [boolean, boolean, boolean];
  for (let m = 0; m < 3; m++) {
    const [w, sign] = world[m]!;
    const a = codes.axes.indexOf(w);
    sourceAxes[m] = a;
    flipped[m] = codes.signs[a] !== sign;
  }
  const [nx, ny] = volume.dims;
  const srcStride = [1, nx, nx * ny];
  const out = [0, 1, 2].map((m) => volume.dims[sourceAxes[m]!]!);
  const [w, h, d] = out as [number, number, number];
  const data = new Float32Array(w * h * d);
  // source offset of output (ow, oh, od) = Σ_m (flip ? n − 1 − o : o) · stride(source axis)
  const axisOffsets = [0, 1, 2].map((m) => {
    const size = out[m]!;
    const stride = srcStride[sourceAxes[m]!]!;
    return Int32Array.from({ length: size }, (_, o) => (flipped[m] ? size - 1 - o : o) * stride);
  });
  const [ow, oh, od] = axisOffsets as [Int32Array, Int32Array, Int32Array];
  let v = 0;
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      const base = od[z]! + oh[y]!;
      for (let x = 0; x < w; x++) data[v++] = volume.data[base + ow[x]!]!;
    }
  }
  const size = volume.voxelSize;
  return {
    data,
    shape: [d, h, w],
    spacing: [size[sourceAxes[2]]!, size[sourceAxes[1]]!, size[sourceAxes[0]]!],
    orientation: t,
    sourceAxes,
    flipped,
  };
}

/** A sampling grid: output index `o` along an axis reads source voxel coordinate `origin + o·step`. */
export interface SamplingGrid {
  /** Output shape `[D, H, W]`. */
  shape: [number, number, number];
  /** Source voxel coordinate of output index 0, per axis (D, H, W). */
  origin: [number, number, number];
  /** Source voxels per output voxel, per axis (D, H, W). */
  step: [number, number, number];
}

function checkShape3(shape: unknown, argument: string): asserts shape is [number, number, number] {
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((s) => typeof s !== 'number' || !Number.isInteger(s) || s < 1)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be [D, H, W] with positive integers.`, received: shape });
  }
}

/**
 * Trilinear resampling of a `[D, H, W]` volume onto a grid.
 *
 * Voxels are cells: a source coordinate inside the volume's extent `[-0.5, n − 0.5]` is
 * clamped to `[0, n − 1]` and interpolated; one outside gets `fill`. Without a grid, the whole
 * extent is mapped onto `shape` (cell edges aligned: `origin = (n/N − 1)/2`, `step = n/N`, as
 * `align_corners=False`). A linear function of the voxel coordinates is reproduced exactly at
 * every output point inside `[0, n − 1]`.
 *
 * @param source - `{ data, shape: [D, H, W] }`.
 * @param grid - a shape `[D, H, W]` (whole extent) or a {@link SamplingGrid}.
 * @param fill - value outside the volume. @defaultValue 0
 * @returns `Float32Array` of the grid's shape, row-major.
 * @throws {@link InvalidArgumentError} (argument `source.shape`, `source.data` or `grid`).
 * @example
 * ```ts
 * const small = resample({ data: lps.data, shape: lps.shape }, [16, 32, 32]);
 * ```
 */
export function resample(
  source: { data: Float32Array; shape: readonly number[] },
  grid: readonly number[] | SamplingGrid,
  fill = 0,
): Float32Array {
  checkShape3(source?.shape, 'source.shape');
  const [sd, sh, sw] = source.shape;
  if (!(source.data instanceof Float32Array) || source.data.length !== sd * sh * sw) {
    throw new InvalidArgumentError({ argument: 'source.data', message: `source.data must be a Float32Array of ${sd * sh * sw} values.`, received: source.data?.length });
  }
  let g: SamplingGrid;
  if (Array.isArray(grid)) {
    checkShape3(grid, 'grid');
    const step = [0, 1, 2].map((a) => source.shape[a]! / grid[a]!) as [number, number, number];
    g = { shape: [...grid] as [number, number, number], step, origin: step.map((s) => (s - 1) / 2) as [number, number, number] };
  } else {
    g = grid as SamplingGrid;
    checkShape3(g?.shape, 'grid');
    if (![...(g.origin ?? []), ...(g.step ?? [])].every(Number.isFinite) || g.origin.length !== 3 || g.step.length !== 3) {
      throw new InvalidArgumentError({ argument: 'grid', message: 'grid.origin and grid.step must be 3 finite numbers each.', received: g });
    }
  }
  // Per axis: lower index, upper index, upper weight; -1 marks "outside" (fill).
  const axis = (a: number) => {
    const n = source.shape[a]!;
    const size = g.shape[a]!;
    const lo = new Int32Array(size);
    const hi = new Int32Array(size);
    const wt = new Float64Array(size);
    for (let o = 0; o < size; o++) {
      const c = g.origin[a]! + o * g.step[a]!;
      if (c < -0.5 - 1e-9 || c > n - 0.5 + 1e-9) {
        lo[o] = -1;
        continue;
      }
      const cc = Math.min(n - 1, Math.max(0, c));
      const f = Math.min(n - 2, Math.floor(cc));
      if (n === 1) {
        lo[o] = hi[o] = 0;
        wt[o] = 0;
      } else {
        lo[o] = f;
        hi[o] = f + 1;
        wt[o] = cc - f;
      }
    }
    return { lo, hi, wt };
  };
  const [az, ay, ax] = [axis(0), axis(1), axis(2)];
  const [od, oh, ow] = g.shape;
  const src = source.data;
  const out = new Float32Array(od * oh * ow);
  const plane = sh * sw;
  let v = 0;
  for (let z = 0; z < od; z++) {
    const z0 = az.lo[z]!;
    const z1 = az.hi[z]!;
    const wz = az.wt[z]!;
    for (let y = 0; y < oh; y++) {
      const y0 = ay.lo[y]!;
      const y1 = ay.hi[y]!;
      const wy = ay.wt[y]!;
      for (let x = 0; x < ow; x++, v++) {
        const x0 = ax.lo[x]!;
        if (z0 < 0 || y0 < 0 || x0 < 0) {
          out[v] = fill;
          continue;
        }
        const x1 = ax.hi[x]!;
        const wx = ax.wt[x]!;
        const at = (zz: number, yy: number) => {
          const row = zz * plane + yy * sw;
          return src[row + x0]! * (1 - wx) + src[row + x1]! * wx;
        };
        const c0 = at(z0, y0) * (1 - wy) + at(z0, y1) * wy;
        const c1 = at(z1, y0) * (1 - wy) + at(z1, y1) * wy;
        out[v] = c0 * (1 - wz) + c1 * wz;
      }
    }
  }
  return out;
}

/**
 * Percentile with linear interpolation between order statistics (numpy's default).
 *
 * @param sorted - ascending values.
 * @param p - percentile in [0, 100].
 * @example
 * ```ts
 * percentile(Float32Array.of(1, 2, 3, 4), 50); // 2.5
 * ```
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Options of {@link intensityStats}. */
export interface IntensityOptions {
  /**
   * A voxel is background when its value is at most `min + backgroundFraction · (P99 − min)`
   * (P99 over all voxels).
   * @defaultValue 0.1
   */
  backgroundFraction?: number;
  /** Lower clipping percentile of the foreground. @defaultValue 1 */
  lowerPercentile?: number;
  /** Upper clipping percentile of the foreground. @defaultValue 99 */
  upperPercentile?: number;
}

/** What {@link intensityStats} measured (and {@link normalise} applies). */
export interface IntensityStats {
  /** Smallest finite value (raw units). */
  min: number;
  /** Background threshold (raw units). */
  threshold: number;
  /** Foreground voxels (value > threshold) and their share of the volume. */
  foreground: number;
  foregroundFraction: number;
  /** Clipping bounds: the foreground's lower and upper percentiles. */
  lower: number;
  upper: number;
  /** Mean and standard deviation (population) of the clipped foreground. */
  mean: number;
  std: number;
}

/**
 * Measures a brain-mask-free robust z-score: background threshold, foreground clipping
 * percentiles, and mean and standard deviation of the clipped foreground. See
 * {@link normalise} for the whole recipe.
 *
 * @throws {@link InvalidArgumentError} (argument `data`) for an empty array, non-finite values
 *   only, or a constant image (no foreground); (`options`) for bad fractions or percentiles.
 * @example
 * ```ts
 * const stats = intensityStats(lps.data); // { threshold, lower, upper, mean, std, ... }
 * ```
 */
export function intensityStats(data: Float32Array, options: IntensityOptions = {}): IntensityStats {
  const fraction = options.backgroundFraction ?? 0.1;
  const lowerP = options.lowerPercentile ?? 1;
  const upperP = options.upperPercentile ?? 99;
  if (!(fraction >= 0 && fraction < 1) || !(lowerP >= 0 && lowerP < upperP && upperP <= 100)) {
    throw new InvalidArgumentError({
      argument: 'options',
      message: 'backgroundFraction must be in [0, 1) and 0 ≤ lowerPercentile < upperPercentile ≤ 100.',
      received: { backgroundFraction: fraction, lowerPercentile: lowerP, upperPercentile: upperP },
    });
  }
  if (!(data instanceof Float32Array) || data.length === 0) {
    throw new InvalidArgumentError({ argument: 'data', message: 'data must be a non-empty Float32Array.', received: data?.length });
  }
  let allFinite = true;
  for (let i = 0; i < data.length && allFinite; i++) allFinite = Number.isFinite(data[i]!);
  const finite = (allFinite ? Float32Array.from(data) : data.filter((v) => Number.isFinite(v))).sort();
  if (finite.length === 0) throw new InvalidArgumentError({ argument: 'data', message: 'data has no finite value.', received: `${data.length} values` });
  const min = finite[0]!;
  const threshold = min + fraction * (percentile(finite, 99) - min);
  // finite is sorted: the foreground is its tail above the threshold.
  let start = finite.length;
  for (let lo = 0, hi = finite.length; lo < hi; ) {
    const mid = (lo + hi) >> 1;
    if (finite[mid]! > threshold) hi = start = mid;
    else lo = mid + 1;
  }
  const fg = finite.subarray(start);
  if (fg.length === 0) {
    throw new InvalidArgumentError({ argument: 'data', message: 'The image is constant: no voxel stands out from the background.', received: `all values ${min}` });
  }
  const lower = percentile(fg, lowerP);
  const upper = percentile(fg, upperP);
  let sum = 0;
  for (let i = 0; i < fg.length; i++) sum += Math.min(upper, Math.max(lower, fg[i]!));
  const mean = sum / fg.length;
  let sq = 0;
  for (let i = 0; i < fg.length; i++) {
    const d = Math.min(upper, Math.max(lower, fg[i]!)) - mean;
    sq += d * d;
  }
  return { min, threshold, foreground: fg.length, foregroundFraction: fg.length / data.length, lower, upper, mean, std: Math.sqrt(sq / fg.length) };
}

/**
 * Brain-mask-free robust z-score: every voxel is clipped to the foreground's
 * [P1, P99] and z-scored with the mean and standard deviation of the clipped foreground
 * (foreground = above `min + 0.1 · (P99 − min)`, see {@link IntensityOptions}). Background
 * voxels therefore all end at the same value, `(P1 − mean) / std`. Non-finite voxels become
 * that value too. With a zero standard deviation the output is `value − mean`.
 *
 * @param data - intensities (any shape, flattened).
 * @param stats - statistics to apply (e.g. measured on the full-resolution volume and applied
 *   to its resampled grid); measured on `data` when omitted.
 * @returns a new array and the statistics used.
 * @throws {@link InvalidArgumentError} as {@link intensityStats}.
 * @example
 * ```ts
 * const stats = intensityStats(lps.data);
 * const { data } = normalise(resample(lps, [16, 32, 32]), stats);
 * ```
 */
export function normalise(data: Float32Array, stats?: IntensityStats, options: IntensityOptions = {}): { data: Float32Array; stats: IntensityStats } {
  const s = stats ?? intensityStats(data, options);
  const scale = s.std > 0 ? 1 / s.std : 1;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const c = Number.isFinite(v) ? Math.min(s.upper, Math.max(s.lower, v)) : s.lower;
    out[i] = (c - s.mean) * scale;
  }
  return { data: out, stats: s };
}

/**
 * Bounding box of the voxels above a threshold, in voxel coordinates per axis (D, H, W), or
 * `null` when no voxel is above it.
 *
 * @example
 * ```ts
 * foregroundBox(lps, stats.threshold); // { min: [3, 10, 12], max: [170, 205, 168] }
 * ```
 */
export function foregroundBox(volume: { data: Float32Array; shape: readonly number[] }, threshold: number): { min: [number, number, number]; max: [number, number, number] } | null {
  const [d, h, w] = volume.shape as [number, number, number];
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  let v = 0;
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, v++) {
        if (!(volume.data[v]! > threshold)) continue;
        if (z < min[0]) min[0] = z;
        if (z > max[0]) max[0] = z;
        if (y < min[1]) min[1] = y;
        if (y > max[1]) max[1] = y;
        if (x < min[2]) min[2] = x;
        if (x > max[2]) max[2] = x;
      }
    }
  }
  return Number.isFinite(min[0]) ? { min, max } : null;
}

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
 * @throws {@link InvalidArgumentError} naming the bad option (`layout`, `shape`, `slices`,
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
 * @throws {@link InvalidArgumentError} (argument `sequences`, `shape` or `layout`).
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

/** Options of {@link preprocessNifti}: the grid ({@link CohortGridOptions}) and the intensities ({@link IntensityOptions}). */
export type PreprocessOptions = Omit<CohortGridOptions, 'centre'> & IntensityOptions;

/** What {@link preprocessNifti} returns. */
export interface Preprocessed {
  /** Normalised grid, `[D, H, W]` (3D) or `[S, H, W]` (2D), row-major. */
  data: Float32Array;
  shape: [number, number, number];
  /** The oriented full-resolution volume (LPS). */
  oriented: OrientedVolume;
  grid: SamplingGrid;
  /** Field-of-view centre in the oriented volume's voxel coordinates (D, H, W). */
  centre: [number, number, number];
  stats: IntensityStats;
}

/**
 * The whole recipe for one volume: reorient to LPS, measure the intensity statistics on the
 * full-resolution volume, centre the cohort field of view on the foreground's bounding box,
 * resample trilinearly (outside the volume: its minimum) and apply the robust z-score.
 * The 2D layout gives `[S, H, W]`, the 3D layout `[D, H, W]`: pass it to {@link toCohortLayout}.
 *
 * @throws {@link InvalidArgumentError} as {@link cohortGrid} and {@link intensityStats}.
 * @example
 * ```ts
 * const pre = preprocessNifti(readNifti(bytes), { layout: '3d', shape: [16, 32, 32] });
 * pre.shape; // [16, 32, 32]
 * ```
 */
export function preprocessNifti(volume: NiftiVolume, options: PreprocessOptions = {}): Preprocessed {
  const oriented = reorient(volume, 'LPS');
  const stats = intensityStats(oriented.data, options);
  const box = foregroundBox(oriented, stats.threshold)!;
  const centre = [0, 1, 2].map((a) => (box.min[a]! + box.max[a]!) / 2) as [number, number, number];
  const grid = cohortGrid(oriented, { ...options, centre });
  const sampled = resample(oriented, grid, stats.min);
  return { data: normalise(sampled, stats).data, shape: grid.shape, oriented, grid, centre, stats };
}
