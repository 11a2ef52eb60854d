/**
 * Writing a NIfTI-1 single file (`n+1`, float32, optionally gzipped), e.g. for the synthetic
 * cohort on disk and the tests.
 *
 * @packageDocumentation
 */
import { gzipSync } from 'node:zlib';
import { InvalidArgumentError } from '../../errors.js';
import { type Affine, axisCodes } from './affine.js';

/** What {@link writeNifti} writes: float32 voxels, i fastest, and the voxel → RAS+ world affine (mm). */
export interface NiftiWriteInput {
  /** Voxels, index `i + nx·(j + ny·k)` (then the 4th axis, if any). */
  data: Float32Array;
  /** `[nx, ny, nz]` or `[nx, ny, nz, nt]` (any axis may be 1: `[nx, ny, 1]` is a 2D file, `dim[0] = 2`). */
  dims: readonly number[];
  /** Voxel → world (RAS+, mm), 3 × 4 or 4 × 4 row-major; written as sform and qform (code 2, aligned). */
  affine: Affine;
  /** Header description (up to 79 characters). @defaultValue '' */
  description?: string;
}

/**
 * Writes a NIfTI-1 single file (`n+1`): float32 voxels, the affine as sform (code 2, aligned)
 * and, when it is a rotation with positive voxel sizes, as qform too; little-endian; spatial
 * unit mm. With `gzip` the result is a `.nii.gz` stream.
 *
 * @returns the file's bytes.
 * @throws `InvalidArgumentError` (argument `volume.dims`, `volume.data` or `volume.affine`).
 * @example
 * ```ts
 * const bytes = writeNifti({ data, dims: [32, 32, 16], affine: [[-6.25, 0, 0, 96.875], [0, -6.25, 0, 96.875], [0, 0, 12.5, -93.75]] }, { gzip: true });
 * readNifti(bytes).orientation; // 'LPS'
 * ```
 */
export function writeNifti(volume: NiftiWriteInput, options: { gzip?: boolean } = {}): Uint8Array {
  const dims = volume?.dims;
  if (!Array.isArray(dims) || dims.length < 3 || dims.length > 4 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > 32767)) {
    throw new InvalidArgumentError({ argument: 'volume.dims', message: 'dims must be [nx, ny, nz] or [nx, ny, nz, nt] with integers in [1, 32767].', received: dims });
  }
  const n = dims.reduce((a, b) => a * b, 1);
  if (!(volume.data instanceof Float32Array) || volume.data.length !== n) {
    throw new InvalidArgumentError({ argument: 'volume.data', message: `data must be a Float32Array of ${n} values (the product of dims).`, received: volume.data?.length });
  }
  const a = volume.affine;
  if (!Array.isArray(a) || a.length < 3 || a.slice(0, 3).some((r) => !Array.isArray(r) || r.length < 4 || r.slice(0, 4).some((v) => !Number.isFinite(v)))) {
    throw new InvalidArgumentError({ argument: 'volume.affine', message: 'affine must be 3 (or 4) rows of 4 finite numbers, voxel → RAS+ mm.', received: a });
  }
  axisCodes(a);
  const ndim = dims.length === 4 && dims[3]! > 1 ? 4 : dims[2]! > 1 ? 3 : 2;
  const bytes = new Uint8Array(352 + n * 4);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 348, true);
  v.setInt16(40, ndim, true);
  for (let i = 1; i <= 7; i++) v.setInt16(40 + 2 * i, dims[i - 1] ?? 1, true);
  v.setInt16(70, 16, true); // float32
  v.setInt16(72, 32, true);
  const size = [0, 1, 2].map((c) => Math.hypot(a[0]![c]!, a[1]![c]!, a[2]![c]!));
  // qform: R = columns / voxel size; proper rotation (det +1) or with qfac = −1 on k
  const r = [0, 1, 2].map((row) => [0, 1, 2].map((c) => a[row]![c]! / size[c]!));
  const det = r[0]![0]! * (r[1]![1]! * r[2]![2]! - r[1]![2]! * r[2]![1]!) - r[0]![1]! * (r[1]![0]! * r[2]![2]! - r[1]![2]! * r[2]![0]!) + r[0]![2]! * (r[1]![0]! * r[2]![1]! - r[1]![1]! * r[2]![0]!);
  const qfac = det < 0 ? -1 : 1;
  if (qfac < 0) for (let row = 0; row < 3; row++) r[row]![2] = -r[row]![2]!;
  v.setFloat32(76, qfac, true);
  size.forEach((s, i) => v.setFloat32(80 + 4 * i, s, true));
  v.setFloat32(108, 352, true);
  v.setFloat32(112, 1, true);
  v.setUint8(123, 2); // mm
  bytes.set(new TextEncoder().encode((volume.description ?? '').slice(0, 79)), 148);
  const quaternion = rotationToQuaternion(r);
  if (quaternion) {
    v.setInt16(252, 2, true);
    quaternion.forEach((q, i) => v.setFloat32(256 + 4 * i, q, true));
    [0, 1, 2].forEach((row) => v.setFloat32(268 + 4 * row, a[row]![3]!, true));
  }
  v.setInt16(254, 2, true);
  for (let row = 0; row < 3; row++) for (let c = 0; c < 4; c++) v.setFloat32(280 + (row * 4 + c) * 4, a[row]![c]!, true);
  bytes.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"
  new Float32Array(bytes.buffer, 352, n).set(volume.data);
  return options.gzip ? gzipSync(bytes) : bytes;
}

/** Quaternion (b, c, d) of a proper rotation matrix, or null when it is not orthonormal. */
function rotationToQuaternion(r: number[][]): [number, number, number] | null {
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const dot = r[0]![i]! * r[0]![j]! + r[1]![i]! * r[1]![j]! + r[2]![i]! * r[2]![j]!;
      if (Math.abs(dot - (i === j ? 1 : 0)) > 1e-4) return null;
    }
  }
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = r as [[number, number, number], [number, number, number], [number, number, number]];
  const trace = r11 + r22 + r33;
  let a: number, b: number, c: number, d: number;
  if (trace > 0.5) {
    a = 0.5 * Math.sqrt(1 + trace);
    b = (r32 - r23) / (4 * a);
    c = (r13 - r31) / (4 * a);
    d = (r21 - r12) / (4 * a);
  } else if (r11 >= r22 && r11 >= r33) {
    b = 0.5 * Math.sqrt(1 + r11 - r22 - r33);
    a = (r32 - r23) / (4 * b);
    c = (r12 + r21) / (4 * b);
    d = (r13 + r31) / (4 * b);
  } else if (r22 >= r33) {
    c = 0.5 * Math.sqrt(1 - r11 + r22 - r33);
    a = (r13 - r31) / (4 * c);
    b = (r12 + r21) / (4 * c);
    d = (r23 + r32) / (4 * c);
  } else {
    d = 0.5 * Math.sqrt(1 - r11 - r22 + r33);
    a = (r21 - r12) / (4 * d);
    b = (r13 + r31) / (4 * d);
    c = (r23 + r32) / (4 * d);
  }
  if (a < 0) (b = -b), (c = -c), (d = -d);
  return [b, c, d];
}
