/**
 * The binary NIfTI-1 / NIfTI-2 header: where each field the reader uses sits, the datatypes it
 * reads, and the voxel → world affine the header gives (sform, qform or pixdim).
 *
 * @packageDocumentation
 */
import type { Affine, AffineSource } from './affine.js';
import { NiftiFormatError } from './errors.js';

/** A supported voxel type: its name, size and reader. @internal */
export interface Datatype {
  name: string;
  bytes: number;
  get: (v: DataView, o: number, le: boolean) => number;
}

/** The supported datatypes by NIfTI code. @internal */
export const DATATYPES: Record<number, Datatype> = {
  2: { name: 'uint8', bytes: 1, get: (v, o) => v.getUint8(o) },
  4: { name: 'int16', bytes: 2, get: (v, o, le) => v.getInt16(o, le) },
  8: { name: 'int32', bytes: 4, get: (v, o, le) => v.getInt32(o, le) },
  16: { name: 'float32', bytes: 4, get: (v, o, le) => v.getFloat32(o, le) },
  64: { name: 'float64', bytes: 8, get: (v, o, le) => v.getFloat64(o, le) },
  256: { name: 'int8', bytes: 1, get: (v, o) => v.getInt8(o) },
  512: { name: 'uint16', bytes: 2, get: (v, o, le) => v.getUint16(o, le) },
  768: { name: 'uint32', bytes: 4, get: (v, o, le) => v.getUint32(o, le) },
};

/** Names of the datatypes that are refused, for the error message. @internal */
export const UNSUPPORTED_DATATYPES: Record<number, string> = {
  1: 'binary',
  32: 'complex64',
  128: 'rgb24',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'rgba32',
};

/** The header fields the reader uses, from either NIfTI version. @internal */
export interface Header {
  format: 'NIfTI-1' | 'NIfTI-2';
  le: boolean;
  dims: number[]; // dim[0..7]
  datatype: number;
  pixdim: number[]; // pixdim[0..7]
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  xyztUnits: number;
  description: string;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: [number, number, number];
  srow: number[][]; // 3 × 4
}

/** A header field: byte offset (of the first element) and binary type. */
type Field = readonly [offset: number, kind: 'u8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64'];

/** Where each field the reader uses sits in a NIfTI-1 (348-byte) and a NIfTI-2 (540-byte) header. */
const NIFTI1_LAYOUT = {
  dims: [40, 'i16'],
  datatype: [70, 'i16'],
  pixdim: [76, 'f32'],
  voxOffset: [108, 'f32'],
  sclSlope: [112, 'f32'],
  sclInter: [116, 'f32'],
  xyztUnits: [123, 'u8'],
  description: 148,
  qformCode: [252, 'i16'],
  sformCode: [254, 'i16'],
  quatern: [256, 'f32'],
  qoffset: [268, 'f32'],
  srow: [280, 'f32'],
} as const satisfies Record<string, Field | number>;

const NIFTI2_LAYOUT = {
  dims: [16, 'i64'],
  datatype: [12, 'i16'],
  pixdim: [104, 'f64'],
  voxOffset: [168, 'i64'],
  sclSlope: [176, 'f64'],
  sclInter: [184, 'f64'],
  xyztUnits: [500, 'i32'],
  description: 240,
  qformCode: [344, 'i32'],
  sformCode: [348, 'i32'],
  quatern: [352, 'f64'],
  qoffset: [376, 'f64'],
  srow: [400, 'f64'],
} as const satisfies Record<string, Field | number>;

const text = (bytes: Uint8Array, start: number, length: number) => {
  const s = bytes.subarray(start, start + length);
  const end = s.indexOf(0);
  return new TextDecoder('latin1').decode(end < 0 ? s : s.subarray(0, end)).trim();
};

/**
 * Reads the fields the reader uses from a NIfTI-1 or NIfTI-2 header, in either byte order.
 *
 * @throws {@link NiftiFormatError} (`'not-nifti'`, `'truncated-nifti'`).
 * @internal
 */
export function parseHeader(bytes: Uint8Array): Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const notNifti = (message: string) =>
    new NiftiFormatError({
      kind: 'not-nifti',
      message,
      received: `${bytes.byteLength} bytes`,
      fix: 'Convert .hdr/.img pairs, ANALYZE and DICOM files to single-file .nii or .nii.gz first (e.g. with dcm2niix).',
    });
  if (bytes.byteLength < 4) throw notNifti('This is not a NIfTI file: it is shorter than a header.');
  const size = (le: boolean) => view.getInt32(0, le);
  const le = size(true) === 348 || size(true) === 540;
  if (!le && size(false) !== 348 && size(false) !== 540) throw notNifti('This is not a single-file NIfTI-1/NIfTI-2 volume (sizeof_hdr is neither 348 nor 540).');
  const version = size(le) === 348 ? 1 : 2;
  const headerBytes = version === 1 ? 348 : 540;
  if (bytes.byteLength < headerBytes) {
    throw new NiftiFormatError({ kind: 'truncated-nifti', message: `The file ends inside its ${headerBytes}-byte NIfTI-${version} header.`, received: `${bytes.byteLength} bytes` });
  }
  const magic = version === 1 ? text(bytes, 344, 4) : text(bytes, 4, 4);
  if (magic !== (version === 1 ? 'n+1' : 'n+2')) {
    throw notNifti(
      magic === 'ni1' || magic === 'ni2'
        ? `This is the header of a .hdr/.img pair (magic "${magic}"); only single-file NIfTI ("n+1"/"n+2") is read.`
        : `This is not a single-file NIfTI-1/NIfTI-2 volume (no "n+1"/"n+2" magic; found ${JSON.stringify(magic)}).`,
    );
  }
  const layout = version === 1 ? NIFTI1_LAYOUT : NIFTI2_LAYOUT;
  const sizes = { u8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 } as const;
  const read = ([offset, kind]: Field, i = 0): number => {
    const o = offset + i * sizes[kind];
    switch (kind) {
      case 'u8':
        return view.getUint8(o);
      case 'i16':
        return view.getInt16(o, le);
      case 'i32':
        return view.getInt32(o, le);
      case 'i64':
        return Number(view.getBigInt64(o, le));
      case 'f32':
        return view.getFloat32(o, le);
      case 'f64':
        return view.getFloat64(o, le);
    }
  };
  const list = (field: Field, n: number) => Array.from({ length: n }, (_, i) => read(field, i));
  return {
    format: version === 1 ? 'NIfTI-1' : 'NIfTI-2',
    le,
    dims: list(layout.dims, 8),
    datatype: read(layout.datatype),
    pixdim: list(layout.pixdim, 8),
    voxOffset: read(layout.voxOffset),
    sclSlope: read(layout.sclSlope),
    sclInter: read(layout.sclInter),
    xyztUnits: read(layout.xyztUnits),
    description: text(bytes, layout.description, 80),
    qformCode: read(layout.qformCode),
    sformCode: read(layout.sformCode),
    quatern: list(layout.quatern, 3) as [number, number, number],
    qoffset: list(layout.qoffset, 3) as [number, number, number],
    srow: [0, 1, 2].map((r) => list([layout.srow[0] + 4 * r * sizes[layout.srow[1]], layout.srow[1]], 4)),
  };
}

/** The qform (quaternion, offsets, voxel sizes, qfac) as a 3 × 4 affine, as `nifti1_io`'s `quatern_to_mat44`. */
function qformAffine(h: Header, pix: number[]): number[][] {
  let [b, c, d] = h.quatern;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    const s = 1 / Math.sqrt(b * b + c * c + d * d);
    (b *= s), (c *= s), (d *= s), (a = 0);
  } else a = Math.sqrt(a);
  const qfac = (h.pixdim[0] ?? 1) < 0 ? -1 : 1;
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const scale = [pix[0]!, pix[1]!, qfac * pix[2]!];
  return [0, 1, 2].map((row) => [...[0, 1, 2].map((col) => r[row]![col]! * scale[col]!), h.qoffset[row]!]);
}

/**
 * The header's voxel → world affine in millimetres (4 × 4): the sform when `sform_code > 0`,
 * else the qform when `qform_code > 0`, else the pixdim diagonal (a warning says the
 * orientation is unknown), scaled from the header's spatial unit (unknown: mm, with a warning).
 * @internal
 */
export function headerAffine(h: Header, warnings: string[]): { affine: Affine; affineSource: AffineSource } {
  const unit = h.xyztUnits & 7;
  const toMm = unit === 1 ? 1000 : unit === 3 ? 0.001 : 1;
  if (unit === 0) warnings.push('spatial unit unknown: millimetres assumed');
  const pix = [1, 2, 3].map((d) => {
    const p = Math.abs(h.pixdim[d] ?? 1);
    return Number.isFinite(p) && p > 0 ? p : 1;
  });
  let affine: Affine;
  let affineSource: AffineSource;
  if (h.sformCode > 0) {
    affineSource = 'sform';
    affine = h.srow.map((row) => [...row]);
  } else if (h.qformCode > 0) {
    affineSource = 'qform';
    affine = qformAffine(h, pix);
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
  return { affine, affineSource };
}
