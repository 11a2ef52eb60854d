// Minimal NIfTI writers for tests, independent of the library's reader and writer (the reader
// under test must not check itself). NIfTI-1 (single file, "n+1"): 348-byte header, 4-byte
// extension flag, optional extension bytes, then the voxels (i fastest); any byte order,
// sform/qform, scaling, several datatypes. NIfTI-2 ("n+2"): 540-byte header, float32 voxels,
// sform.

export interface WriteOptions {
  dims: number[]; // [nx, ny, nz] or [nx, ny, nz, nt]
  data: ArrayLike<number>;
  datatype?: 'uint8' | 'int16' | 'int32' | 'float32' | 'complex64';
  pixdim?: [number, number, number];
  /** srow_x, srow_y, srow_z (sform_code 2 when given). */
  sform?: number[][];
  /** quatern_b, c, d, qoffset x, y, z and qfac (qform_code 1 when given). */
  qform?: { b: number; c: number; d: number; offset: [number, number, number]; qfac: 1 | -1 };
  sclSlope?: number;
  sclInter?: number;
  littleEndian?: boolean;
  xyztUnits?: number;
  extension?: Uint8Array; // padded to a multiple of 16 with its 8-byte header
  description?: string;
}

const CODES = { uint8: [2, 8], int16: [4, 16], int32: [8, 32], float32: [16, 32], complex64: [32, 64] } as const;

export function writeNifti1(o: WriteOptions): Uint8Array {
  const le = o.littleEndian ?? true;
  const type = o.datatype ?? 'float32';
  const [code, bits] = CODES[type];
  const ext = o.extension ? new Uint8Array(Math.ceil((o.extension.length + 8) / 16) * 16) : null;
  if (ext && o.extension) {
    const ev = new DataView(ext.buffer);
    ev.setInt32(0, ext.length, le);
    ev.setInt32(4, 6, le); // NIFTI_ECODE_COMMENT
    ext.set(o.extension, 8);
  }
  const voxOffset = 352 + (ext?.length ?? 0);
  const n = o.data.length;
  const bytes = new Uint8Array(voxOffset + n * (bits / 8));
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 348, le);
  v.setInt16(40, o.dims.length, le);
  o.dims.forEach((d, i) => v.setInt16(42 + 2 * i, d, le));
  for (let i = o.dims.length; i < 7; i++) v.setInt16(42 + 2 * i, 1, le);
  v.setInt16(70, code, le);
  v.setInt16(72, bits, le);
  const pix = o.pixdim ?? [1, 1, 1];
  v.setFloat32(76, o.qform?.qfac ?? 1, le);
  pix.forEach((p, i) => v.setFloat32(80 + 4 * i, p, le));
  v.setFloat32(108, voxOffset, le);
  v.setFloat32(112, o.sclSlope ?? 1, le);
  v.setFloat32(116, o.sclInter ?? 0, le);
  v.setUint8(123, o.xyztUnits ?? 2); // mm
  const desc = new TextEncoder().encode(o.description ?? '');
  bytes.set(desc.subarray(0, 79), 148);
  if (o.qform) {
    v.setInt16(252, 1, le);
    [o.qform.b, o.qform.c, o.qform.d, ...o.qform.offset].forEach((x, i) => v.setFloat32(256 + 4 * i, x, le));
  }
  if (o.sform) {
    v.setInt16(254, 2, le);
    o.sform.slice(0, 3).forEach((row, r) => row.slice(0, 4).forEach((x, c) => v.setFloat32(280 + (r * 4 + c) * 4, x, le)));
  }
  bytes.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"
  if (ext) {
    bytes[348] = 1;
    bytes.set(ext, 352);
  }
  for (let i = 0; i < n; i++) {
    const x = o.data[i]!;
    const at = voxOffset + i * (bits / 8);
    if (type === 'uint8') v.setUint8(at, x);
    else if (type === 'int16') v.setInt16(at, x, le);
    else if (type === 'int32') v.setInt32(at, x, le);
    else if (type === 'float32') v.setFloat32(at, x, le);
    else (v.setFloat32(at, x, le), v.setFloat32(at + 4, 0, le));
  }
  return bytes;
}

/** World (RAS+ mm) position of voxel (i, j, k) under a 3 × 4 affine. */
export const world = (a: number[][], i: number, j: number, k: number) => [0, 1, 2].map((r) => a[r]![0]! * i + a[r]![1]! * j + a[r]![2]! * k + a[r]![3]!);

/** A NIfTI-2 file (float32 voxels, sform code 1, little- or big-endian). */
export function writeNifti2(o: { dims: number[]; data: ArrayLike<number>; sform: number[][]; littleEndian?: boolean; sclSlope?: number; sclInter?: number }): Uint8Array {
  const le = o.littleEndian ?? true;
  const n = o.data.length;
  const bytes = new Uint8Array(544 + n * 4);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 540, le);
  bytes.set([0x6e, 0x2b, 0x32, 0, 0x0d, 0x0a, 0x1a, 0x0a], 4); // "n+2\0\r\n\032\n"
  v.setInt16(12, 16, le); // float32
  v.setInt16(14, 32, le);
  v.setBigInt64(16, BigInt(o.dims.length), le);
  for (let i = 0; i < 7; i++) v.setBigInt64(24 + 8 * i, BigInt(o.dims[i] ?? 1), le);
  v.setFloat64(104, 1, le);
  for (let i = 0; i < 3; i++) v.setFloat64(112 + 8 * i, Math.hypot(o.sform[0]![i]!, o.sform[1]![i]!, o.sform[2]![i]!), le);
  v.setBigInt64(168, 544n, le);
  v.setFloat64(176, o.sclSlope ?? 1, le);
  v.setFloat64(184, o.sclInter ?? 0, le);
  v.setInt32(348, 1, le); // sform_code
  o.sform.slice(0, 3).forEach((row, r) => row.slice(0, 4).forEach((x, c) => v.setFloat64(400 + (r * 4 + c) * 8, x, le)));
  v.setInt32(500, 2, le); // mm
  for (let i = 0; i < n; i++) v.setFloat32(544 + 4 * i, o.data[i]!, le);
  return bytes;
}
