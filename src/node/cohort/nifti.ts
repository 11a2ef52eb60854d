/**
 * NIfTI volumes for the image branch (Node-only, exported from `vdafm/node`): reading a brain
 * volume (`.nii` / `.nii.gz`, NIfTI-1 or NIfTI-2) and turning it into an image laid out like a
 * synthetic-cohort image.
 *
 * 1. {@link readNifti} / {@link readNiftiFile}: header and voxels (gzip through `node:zlib`),
 *    datatypes uint8/int8/int16/uint16/int32/uint32/float32/float64, either byte order,
 *    `scl_slope`/`scl_inter`, the voxel → world affine (sform, else qform, else pixdim) in
 *    millimetres, the orientation code and the obliquity. {@link writeNifti} writes NIfTI-1.
 * 2. {@link reorient}: axis permutation and flips only (no oblique resampling) to the cohort's
 *    orientation, **LPS**: columns (fastest axis) run towards the patient's left, rows towards
 *    posterior (anterior at the top of a slice), slices towards superior. The array is then
 *    `[D, H, W]` row-major, exactly the cohort's `(slice, row, column)` order.
 * 3. {@link cohortGrid} + {@link resample}: trilinear resampling to the encoder's grid, either
 *    the cohort's physical field of view (a 200 mm cube, the cohort's [-1, 1] U) centred on the
 *    foreground's bounding box, the volume's centre or the world origin, or the whole volume
 *    stretched to the grid; the 2D layout picks the cohort's S axial slices (z ∈ [-50, +40] mm
 *    around that centre).
 * 4. {@link intensityStats} + {@link normalise}: a robust z-score, with or without a brain
 *    mask left by skull stripping.
 * 5. {@link toCohortLayout}: one or more sequences into `[D, H, W, Q]` (3D) or `[H, W, S·Q]`
 *    (2D, channel `s·Q + q`), the cohort's channel layouts; {@link preprocessSequences} does
 *    steps 2–5 for co-registered sequences on one shared grid.
 *
 * Files: this one reads (`nifti-header.ts` holds the header layout and its affine, `affine.ts`
 * the orientation codes); `nifti-write.ts` writes; `reorient.ts`, `resample.ts`, `intensity.ts`
 * and `preprocess.ts` hold steps 2–5.
 *
 * The reader is this library's own (about 200 lines, no dependency): `nifti-reader-js` is
 * ESM-only (as a dependency it would break the CommonJS build of `vdafm/node` on Node 20), and
 * its gzip path does not verify the CRC-32, so a damaged `.nii.gz` decodes silently; `node:zlib`
 * checks it and tells a truncated stream (`Z_BUF_ERROR`) from a corrupt one. The tests
 * cross-check this reader against nifti-reader-js (a development dependency).
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { InvalidArgumentError } from '../../errors.js';
import { type Affine, type AffineSource, axisCodes, OBLIQUE_TOLERANCE_DEG } from './affine.js';
import { NiftiFormatError } from './errors.js';
import { type Datatype, DATATYPES, type Header, headerAffine, parseHeader, UNSUPPORTED_DATATYPES } from './nifti-header.js';

const gunzipAsync = promisify(gunzip);

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
  /** Number of dimensions in the header (`dim[0]`): 3 for a volume, 4 for a series, 2 for a single slice. */
  ndim: number;
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

function toBytes(bytes: ArrayBuffer | Uint8Array): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new InvalidArgumentError({ argument: 'bytes', message: 'bytes must be an ArrayBuffer or a Uint8Array (the file content).', received: typeof bytes });
}

/** Whether bytes start with the gzip magic number (0x1f 0x8b). */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** A zlib failure as a NIfTI problem: a stream that ends early is a truncated file, anything else a corrupt one. */
function gzipError(error: unknown, size: number): NiftiFormatError {
  const code = (error as { code?: string }).code;
  const truncated = code === 'Z_BUF_ERROR' || /unexpected end/i.test((error as Error).message ?? '');
  return new NiftiFormatError({
    kind: truncated ? 'truncated-nifti' : 'corrupt-nifti',
    message: truncated
      ? 'The gzip stream ends before its end marker: the .nii.gz file is truncated (an interrupted download or copy) or its compressed data is damaged.'
      : `The gzip stream is corrupt (${(error as Error).message}).`,
    received: `${size} bytes`,
    fix: 'Copy or download the file again.',
    cause: error,
  });
}

/** Options of {@link readNifti} and {@link readNiftiFile}. */
export interface ReadNiftiOptions {
  /**
   * Which volume of a 4D (or higher) file to read.
   * @defaultValue 0
   */
  volume?: number;
}

/**
 * Reads a NIfTI-1 or NIfTI-2 volume (`.nii`, or `.nii.gz` decompressed with `node:zlib`) into
 * scaled float voxels plus what is needed to orient it.
 *
 * The affine is the sform when `sform_code > 0`, else the qform when `qform_code > 0`, else
 * the pixdim diagonal (orientation unknown: a warning says so), converted to millimetres from
 * the header's spatial unit. Values are `raw · scl_slope + scl_inter` (no scaling when the
 * slope is 0 or not finite, as the standard says). For a 4D file the volume `options.volume`
 * is read (with a warning).
 *
 * @param bytes - the file's content.
 * @param options - which volume of a 4D file.
 * @throws {@link NiftiFormatError} (an `InvalidArgumentError`, argument `bytes`) for data that is
 *   not a single-file NIfTI (`kind` `'not-nifti'`), a corrupt or truncated gzip stream or voxel
 *   block (`'corrupt-nifti'`, `'truncated-nifti'`); (argument `datatype`, kind
 *   `'unsupported-datatype'`) for complex, RGB or 64-bit integer data; `InvalidArgumentError`
 *   (argument `volume`) for a volume index out of range.
 * @example
 * ```ts
 * const volume = readNifti(readFileSync('ch2bet.nii.gz'));
 * volume.dims;        // [181, 217, 181]
 * volume.orientation; // 'RAS'
 * ```
 */
export function readNifti(bytes: ArrayBuffer | Uint8Array, options: ReadNiftiOptions = {}): NiftiVolume {
  const raw = toBytes(bytes);
  if (!isGzip(raw)) return parseNifti(raw, false, options);
  let inflated: Uint8Array;
  try {
    inflated = gunzipSync(raw);
  } catch (error) {
    throw gzipError(error, raw.byteLength);
  }
  return parseNifti(inflated, true, options);
}

/**
 * Reads a `.nii` or `.nii.gz` file (decompressing on libuv's thread pool, so that several files
 * load in parallel). See {@link readNifti}.
 *
 * @param file - path of the file.
 * @returns the volume and the file's bytes as read (e.g. to hash them).
 * @throws Node's file-system errors (`ENOENT`, `EACCES`, ...) unchanged; otherwise as {@link readNifti}.
 * @example
 * ```ts
 * const { volume } = await readNiftiFile('sub-01_dwi.nii.gz');
 * ```
 */
export async function readNiftiFile(file: string, options: ReadNiftiOptions = {}): Promise<{ volume: NiftiVolume; bytes: Uint8Array }> {
  const bytes = await fs.readFile(file);
  return { volume: await decodeNifti(bytes, options), bytes };
}

/**
 * {@link readNifti} with the gunzip on libuv's thread pool (for bytes already read, e.g. to hash
 * them first, as the cohort loader does).
 *
 * @throws {@link NiftiFormatError} as {@link readNifti}.
 * @example
 * ```ts
 * const bytes = await readFile('sub-01_dwi.nii.gz');
 * const volume = await decodeNifti(bytes);
 * ```
 */
export async function decodeNifti(bytes: Uint8Array, options: ReadNiftiOptions = {}): Promise<NiftiVolume> {
  if (!isGzip(bytes)) return parseNifti(bytes, false, options);
  let inflated: Uint8Array;
  try {
    inflated = await gunzipAsync(bytes);
  } catch (error) {
    throw gzipError(error, bytes.byteLength);
  }
  return parseNifti(inflated, true, options);
}

function parseNifti(bytes: Uint8Array, compressed: boolean, options: ReadNiftiOptions): NiftiVolume {
  const h = parseHeader(bytes);
  const warnings: string[] = [];
  const { ndim, dims, volumes, volume } = volumeExtent(h, options, warnings);
  const type = datatypeOf(h);
  const { data, slope, inter } = readVoxels(bytes, h, type, dims, volumes, volume, warnings);
  const { affine, affineSource } = headerAffine(h, warnings);
  let codes;
  try {
    codes = axisCodes(affine);
  } catch (error) {
    throw new NiftiFormatError({ kind: 'corrupt-nifti', message: `The ${affineSource} affine is singular or not finite.`, received: affine.slice(0, 3), cause: error });
  }
  const oblique = codes.obliquityDeg > OBLIQUE_TOLERANCE_DEG;
  if (oblique) {
    warnings.push(
      `oblique affine (${codes.obliquityDeg.toFixed(2)}° from the nearest axes): reoriented by the nearest axes only, without oblique resampling`,
    );
  }
  const voxelSize = [0, 1, 2].map((a) => Math.hypot(affine[0]![a]!, affine[1]![a]!, affine[2]![a]!)) as [number, number, number];
  return {
    format: h.format,
    compressed,
    data,
    dims,
    ndim,
    volumes,
    volume,
    voxelSize,
    affine,
    affineSource,
    datatypeCode: h.datatype,
    datatype: type.name,
    sclSlope: slope,
    sclInter: inter,
    orientation: codes.code,
    obliquityDeg: codes.obliquityDeg,
    oblique,
    description: h.description,
    warnings,
  };
}

/** The header's dimensions checked: the first three axes, the volume count, and the volume to read. */
function volumeExtent(h: Header, options: ReadNiftiOptions, warnings: string[]) {
  const ndim = h.dims[0]!;
  if (!(Number.isInteger(ndim) && ndim >= 1 && ndim <= 7) || h.dims.slice(1, ndim + 1).some((d) => !(Number.isInteger(d) && d >= 1))) {
    throw new NiftiFormatError({ kind: 'corrupt-nifti', message: `The header's dimensions are invalid (dim = [${h.dims.join(', ')}]).`, received: h.dims.slice(0, 8) });
  }
  const dimAt = (d: number) => (d <= ndim ? h.dims[d]! : 1);
  const dims: [number, number, number] = [dimAt(1), dimAt(2), dimAt(3)];
  let volumes = 1;
  for (let d = 4; d <= ndim; d++) volumes *= dimAt(d);
  const volume = options.volume ?? 0;
  if (!Number.isInteger(volume) || volume < 0 || volume >= volumes) {
    throw new InvalidArgumentError({ argument: 'volume', message: `volume must be an integer in [0, ${volumes - 1}] (the file holds ${volumes}).`, received: volume });
  }
  if (volumes > 1) warnings.push(`the file holds ${volumes} volumes; volume ${volume} is used`);
  return { ndim, dims, volumes, volume };
}

function datatypeOf(h: Header): Datatype {
  const type = DATATYPES[h.datatype];
  if (!type) {
    throw new NiftiFormatError({
      kind: 'unsupported-datatype',
      argument: 'datatype',
      message: `NIfTI datatype ${h.datatype} (${UNSUPPORTED_DATATYPES[h.datatype] ?? 'unknown'}) is not supported; a scalar integer or float volume is needed.`,
      received: h.datatype,
      fix: 'Supported: uint8, int8, int16, uint16, int32, uint32, float32, float64.',
    });
  }
  return type;
}

/** One volume's voxels, scaled (`raw · scl_slope + scl_inter`, no scaling for a slope of 0 or not finite). */
function readVoxels(bytes: Uint8Array, h: Header, type: Datatype, dims: [number, number, number], volumes: number, volume: number, warnings: string[]) {
  const n = dims[0] * dims[1] * dims[2];
  const headerEnd = h.format === 'NIfTI-1' ? 352 : 544;
  let offset = Math.floor(h.voxOffset);
  if (!(offset >= headerEnd)) {
    warnings.push(`vox_offset ${h.voxOffset} is below the header's end: voxels read from byte ${headerEnd}`);
    offset = headerEnd;
  }
  const needed = n * volumes * type.bytes;
  if (bytes.byteLength - offset < needed) {
    throw new NiftiFormatError({
      kind: 'truncated-nifti',
      message: `The file is truncated: dims ${dims.join('×')}×${volumes} of ${type.name} need ${needed} bytes of voxels, the file holds ${Math.max(0, bytes.byteLength - offset)}.`,
      received: `${bytes.byteLength} bytes`,
    });
  }
  let slope = h.sclSlope;
  let inter = h.sclInter;
  if (!Number.isFinite(slope) || slope === 0) {
    slope = 1;
    inter = 0;
  } else if (!Number.isFinite(inter)) inter = 0;
  const data = new Float32Array(n);
  const base = offset + volume * n * type.bytes;
  if (type.name === 'float32' && h.le && (bytes.byteOffset + base) % 4 === 0 && slope === 1 && inter === 0) {
    data.set(new Float32Array(bytes.buffer, bytes.byteOffset + base, n));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let v = 0; v < n; v++) data[v] = type.get(view, base + v * type.bytes, h.le) * slope + inter;
  }
  return { data, slope, inter };
}
