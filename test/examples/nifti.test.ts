// The NIfTI example (examples/nifti): reading, reorienting, resampling, normalising, the cohort
// layout, and the CLI end to end (fresh encoder and a saved bundle). Every volume is written
// here by a small NIfTI-1 writer that does not use nifti-reader-js (the reader under test).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTriModalModel, gridGeometry, InvalidArgumentError } from '../../src/index.js';
import { savePipeline } from '../../src/node.js';
import {
  axisCodes,
  cohortGrid,
  intensityStats,
  normalise,
  percentile,
  preprocessNifti,
  readNifti,
  reorient,
  resample,
  toCohortLayout,
  type Affine,
} from '../../examples/nifti/nifti.js';
import { main, parseArgs } from '../../examples/nifti/run.js';
import { toyEncoders } from '../training/toy.js';

// ---------------------------------------------------------------------------------------------
// A minimal NIfTI-1 writer (single file, "n+1"): 348-byte header, 4-byte extension flag,
// optional extension bytes, then the voxels (i fastest).

interface WriteOptions {
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

function writeNifti1(o: WriteOptions): Uint8Array {
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
const world = (a: number[][], i: number, j: number, k: number) => [0, 1, 2].map((r) => a[r]![0]! * i + a[r]![1]! * j + a[r]![2]! * k + a[r]![3]!);

const root = mkdtempSync(join(tmpdir(), 'vdafm-nifti-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const isArg = (argument: string) => (e: unknown) => InvalidArgumentError.isInstance(e) && e.argument === argument;

// ---------------------------------------------------------------------------------------------
describe('readNifti: header and voxels', () => {
  const dims = [5, 6, 7];
  const n = 5 * 6 * 7;
  const ramp = Array.from({ length: n }, (_, v) => (v % 250) - 100);

  it('reads dims, voxel size, datatype, scaling, description, extension and the sform (gzip too)', () => {
    const sform = [
      [-2, 0, 0, 10],
      [0, 3, 0, -20],
      [0, 0, 4, 30],
    ];
    const raw = writeNifti1({ dims, data: ramp, datatype: 'int16', sform, sclSlope: 2, sclInter: -5, extension: new TextEncoder().encode('hello'), description: 'unit test', pixdim: [2, 3, 4] });
    for (const bytes of [raw, gzipSync(raw)]) {
      const vol = readNifti(bytes);
      expect(vol.format).toBe('NIfTI-1');
      expect(vol.compressed).toBe(bytes !== raw);
      expect(vol.dims).toEqual([5, 6, 7]);
      expect(vol.voxelSize).toEqual([2, 3, 4]);
      expect(vol.datatype).toBe('int16');
      expect(vol.datatypeCode).toBe(4);
      expect(vol.sclSlope).toBe(2);
      expect(vol.sclInter).toBe(-5);
      expect(vol.description).toBe('unit test');
      expect(vol.affineSource).toBe('sform');
      expect(vol.affine).toEqual([...sform, [0, 0, 0, 1]]);
      expect(vol.orientation).toBe('LAS');
      expect(vol.oblique).toBe(false);
      expect(vol.warnings).toEqual([]);
      // values = raw · 2 − 5, i fastest
      expect(vol.data[0]).toBe(-100 * 2 - 5);
      expect(vol.data[1 + 5 * (2 + 6 * 3)]).toBe(ramp[1 + 5 * (2 + 6 * 3)]! * 2 - 5);
    }
  });

  it('handles uint8, int16 (big-endian), int32 and float32, and ignores a zero scl_slope', () => {
    const u8 = readNifti(writeNifti1({ dims, data: ramp.map((x) => x + 100), datatype: 'uint8' }));
    expect(u8.datatype).toBe('uint8');
    expect(Array.from(u8.data)).toEqual(ramp.map((x) => x + 100));
    const be = readNifti(writeNifti1({ dims, data: ramp, datatype: 'int16', littleEndian: false, sform: [[0, 0, -4, 1], [2, 0, 0, 2], [0, 3, 0, 3]] }));
    expect(Array.from(be.data)).toEqual(ramp);
    expect(be.orientation).toBe('ASL');
    expect(be.voxelSize).toEqual([2, 3, 4]);
    const i32 = readNifti(writeNifti1({ dims, data: ramp.map((x) => x * 100000), datatype: 'int32' }));
    expect(Array.from(i32.data)).toEqual(ramp.map((x) => x * 100000));
    const f32 = readNifti(writeNifti1({ dims, data: ramp.map((x) => x / 8), datatype: 'float32', sclSlope: 0, sclInter: 7 }));
    expect(f32.sclSlope).toBe(1);
    expect(f32.sclInter).toBe(0);
    expect(Array.from(f32.data)).toEqual(ramp.map((x) => x / 8));
  });

  it('uses the qform when there is no sform (quaternion and qfac), and pixdim with a warning when there is neither', () => {
    // quaternion (b, c, d) = (1, 0, 0): 180° about x, R = diag(1, −1, −1); qfac −1 flips k back
    const q = readNifti(writeNifti1({ dims, data: ramp, pixdim: [2, 3, 4], qform: { b: 1, c: 0, d: 0, offset: [1, 2, 3], qfac: -1 } }));
    expect(q.affineSource).toBe('qform');
    expect(q.affine.map((r) => r.map((x) => x + 0))).toEqual([
      [2, 0, 0, 1],
      [0, -3, 0, 2],
      [0, 0, 4, 3],
      [0, 0, 0, 1],
    ]);
    expect(q.orientation).toBe('RPS');
    const p = readNifti(writeNifti1({ dims, data: ramp, pixdim: [2, 3, 4] }));
    expect(p.affineSource).toBe('pixdim');
    expect(p.orientation).toBe('RAS');
    expect(p.warnings.join()).toMatch(/no sform or qform/);
  });

  it('converts metres to millimetres and reads the chosen volume of a 4D file', () => {
    const data = [...ramp, ...ramp.map((x) => x + 1000)];
    const vol = readNifti(writeNifti1({ dims: [5, 6, 7, 2], data, pixdim: [0.002, 0.003, 0.004], sform: [[0.002, 0, 0, 0], [0, 0.003, 0, 0], [0, 0, 0.004, 0]], xyztUnits: 1 }), { volume: 1 });
    expect(vol.volumes).toBe(2);
    expect(vol.voxelSize.map((s) => Number(s.toFixed(4)))).toEqual([2, 3, 4]);
    expect(vol.data[0]).toBe(900);
    expect(vol.warnings.join()).toMatch(/2 volumes; volume 1/);
  });

  it('rejects what it cannot read, naming the argument', () => {
    expect(() => readNifti(new Uint8Array(400))).toThrow(expect.toSatisfy(isArg('bytes')));
    expect(() => readNifti(writeNifti1({ dims, data: ramp, datatype: 'complex64' }))).toThrow(expect.toSatisfy(isArg('datatype')));
    expect(() => readNifti(writeNifti1({ dims, data: ramp }).subarray(0, 600))).toThrow(expect.toSatisfy(isArg('bytes')));
    expect(() => readNifti(writeNifti1({ dims: [5, 6, 7, 2], data: [...ramp, ...ramp] }), { volume: 2 })).toThrow(expect.toSatisfy(isArg('volume')));
    expect(() => readNifti('x' as never)).toThrow(expect.toSatisfy(isArg('bytes')));
  });
});

// ---------------------------------------------------------------------------------------------
describe('reorient: a bright cube in the left-posterior-superior corner lands where the cohort puts it', () => {
  const [nx, ny, nz] = [4, 5, 6];
  const rotZ = (deg: number) => {
    const c = Math.cos((deg * Math.PI) / 180);
    const s = Math.sin((deg * Math.PI) / 180);
    return [
      [2 * c, -3 * s, 0, 0],
      [2 * s, 3 * c, 0, 0],
      [0, 0, 4, 0],
    ];
  };
  const affines: Record<string, { sform: number[][]; code: string; oblique?: boolean }> = {
    'identity (RAS)': { sform: [[2, 0, 0, -4], [0, 3, 0, -6], [0, 0, 4, -10]], code: 'RAS' },
    'LPS flips': { sform: [[-2, 0, 0, 4], [0, -3, 0, 6], [0, 0, 4, -10]], code: 'LPS' },
    'LAI flips': { sform: [[-2, 0, 0, 4], [0, 3, 0, -6], [0, 0, -4, 10]], code: 'LAI' },
    'permuted axes (i → S, j → R, k → P)': { sform: [[0, 3, 0, -6], [0, 0, -2, 5], [4, 0, 0, -10]], code: 'SRP' },
    'oblique (10° about z)': { sform: rotZ(10), code: 'RAS', oblique: true },
  };
  for (const [name, c] of Object.entries(affines)) {
    it(name, () => {
      // The cube: the 2 × 2 × 2 voxels nearest the left (min x), posterior (min y), superior (max z) corner in world space.
      const data = new Float32Array(nx * ny * nz);
      const positions: number[][] = [];
      for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) positions.push(world(c.sform, i, j, k));
      const rank = (axis: number, sign: number) => {
        const values = [...new Set(positions.map((p) => Math.round(sign * p[axis]! * 1000)))].sort((a, b) => a - b);
        return (p: number[]) => values.indexOf(Math.round(sign * p[axis]! * 1000)) < 2;
      };
      const left = rank(0, 1);
      const posterior = rank(1, 1);
      const superior = rank(2, -1);
      if (!c.oblique) positions.forEach((p, v) => (data[v] = left(p) && posterior(p) && superior(p) ? 100 : 1));
      else {
        // rotated grid: mark the voxel-grid corner that is left/posterior/superior (i, j small? decided from the axes)
        for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = i < 2 && j < 2 && k >= nz - 2 ? 100 : 1;
      }
      const vol = readNifti(writeNifti1({ dims: [nx, ny, nz], data, sform: c.sform }));
      expect(vol.orientation).toBe(c.code);
      expect(vol.oblique).toBe(c.oblique ?? false);
      if (c.oblique) {
        expect(vol.obliquityDeg).toBeCloseTo(10, 4);
        expect(vol.warnings.join()).toMatch(/oblique affine \(10\.00°/);
      }
      const lps = reorient(vol);
      const [d, h, w] = lps.shape;
      expect(d * h * w).toBe(nx * ny * nz);
      // cohort layout: columns run to the patient's left, rows to posterior, slices to superior
      for (let z = 0; z < d; z++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const inCorner = z >= d - 2 && y >= h - 2 && x >= w - 2;
            expect(lps.data[(z * h + y) * w + x], `[${z}, ${y}, ${x}]`).toBe(inCorner ? 100 : 1);
          }
        }
      }
      // RAS puts the cube at the start of x and y, the end of z
      const ras = reorient(vol, 'RAS');
      const [rd, rh, rw] = ras.shape;
      expect(ras.data[((rd - 1) * rh + 0) * rw + 0]).toBe(100);
      expect(ras.data[0]).toBe(1);
    });
  }

  it('reports spacing along [D, H, W] and the source axes', () => {
    const vol = readNifti(writeNifti1({ dims: [nx, ny, nz], data: new Float32Array(nx * ny * nz), sform: affines['permuted axes (i → S, j → R, k → P)']!.sform }));
    const lps = reorient(vol);
    // W (→ L) comes from j (→ R) reversed, H (→ P) from k, D (→ S) from i
    expect(lps.sourceAxes).toEqual([1, 2, 0]);
    expect(lps.flipped).toEqual([true, false, false]);
    expect(lps.shape).toEqual([nx, nz, ny]);
    expect(lps.spacing).toEqual([4, 2, 3]);
  });

  it('axisCodes and reorient reject bad input', () => {
    expect(axisCodes([[-2, 0, 0, 0], [0, -2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 1]]).code).toBe('LPS');
    expect(() => axisCodes([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] as Affine)).toThrow(expect.toSatisfy(isArg('affine')));
    const vol = readNifti(writeNifti1({ dims: [2, 2, 2], data: new Float32Array(8) }));
    expect(() => reorient(vol, 'LPR')).toThrow(expect.toSatisfy(isArg('target')));
    expect(() => reorient(vol, 'XY')).toThrow(expect.toSatisfy(isArg('target')));
  });
});

// ---------------------------------------------------------------------------------------------
describe('resample (trilinear)', () => {
  const shape = [4, 5, 6] as const;
  const f = (z: number, y: number, x: number) => 1 + 2 * z - 3 * y + 0.5 * x;
  const ramp = new Float32Array(4 * 5 * 6);
  for (let z = 0; z < 4; z++) for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++) ramp[(z * 5 + y) * 6 + x] = f(z, y, x);

  it('is the identity on its own grid and exact for a linear ramp at grid points', () => {
    expect(Array.from(resample({ data: ramp, shape }, [4, 5, 6]))).toEqual(Array.from(ramp));
    // every other voxel: the grid points themselves
    const out = resample({ data: ramp, shape }, { shape: [2, 3, 3], origin: [0, 0, 0], step: [2, 2, 2] });
    for (let z = 0; z < 2; z++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) expect(out[(z * 3 + y) * 3 + x]).toBe(f(2 * z, 2 * y, 2 * x));
  });

  fcTest.prop([
    fc.tuple(fc.double({ min: 0, max: 3, noNaN: true }), fc.double({ min: 0, max: 4, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true })),
    fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true })),
  ])('reproduces a linear ramp at any point inside the grid', (origin, step) => {
    const out = resample({ data: ramp, shape }, { shape: [2, 2, 2], origin, step }, NaN);
    let v = 0;
    for (let z = 0; z < 2; z++) {
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 2; x++, v++) {
          const c = [origin[0] + z * step[0], origin[1] + y * step[1], origin[2] + x * step[2]];
          const inside = c.every((u, a) => u >= 0 && u <= shape[a]! - 1);
          const outside = c.some((u, a) => u < -0.5 || u > shape[a]! - 0.5);
          if (inside) expect(out[v]).toBeCloseTo(f(c[0]!, c[1]!, c[2]!), 3);
          else if (outside) expect(out[v]).toBeNaN();
          else expect(out[v]).toBeCloseTo(f(...(c.map((u, a) => Math.min(shape[a]! - 1, Math.max(0, u))) as [number, number, number])), 3);
        }
      }
    }
  });

  it('matches PyTorch F.interpolate(mode="trilinear", align_corners=False) on the whole extent', () => {
    // Reference Python code (torch 1.13):
    //   src = torch.tensor([[[float(((d*4 + h)*5 + w)**1.5 % 7) for w in range(5)] for h in range(4)] for d in range(3)])
    //   F.interpolate(src[None, None], size=(2, 3, 3), mode='trilinear', align_corners=False)[0, 0].flatten()
    //   (and size=(5, 7, 9); first 12 values kept below, rounded to 5 decimals)
    const src = new Float32Array(3 * 4 * 5);
    for (let v = 0; v < src.length; v++) src[v] = Math.pow(v, 1.5) % 7;
    const down = [1.96312, 3.42621, 3.28614, 3.46529, 4.94799, 3.59895, 2.5818, 1.35125, 5.30367, 2.76023, 4.98982, 3.80383, 2.87268, 2.36184, 2.19499, 3.49351, 3.05712, 3.81466];
    const up12 = [0.0, 0.33333, 0.88889, 1.81263, 2.82843, 4.14383, 4.72991, 2.39872, 1.0, 1.49298, 1.29257, 0.95857];
    const upLast = [3.34056, 1.88183, 1.21181, 3.69668, 5.1876];
    const a = resample({ data: src, shape: [3, 4, 5] }, [2, 3, 3]);
    Array.from(a).forEach((x, i) => expect(x).toBeCloseTo(down[i]!, 4));
    const b = resample({ data: src, shape: [3, 4, 5] }, [5, 7, 9]);
    up12.forEach((x, i) => expect(b[i]).toBeCloseTo(x, 4));
    upLast.forEach((x, i) => expect(b[b.length - 5 + i]).toBeCloseTo(x, 4));
  });

  it('rejects bad shapes and grids', () => {
    expect(() => resample({ data: ramp, shape: [4, 5] }, [2, 2, 2])).toThrow(expect.toSatisfy(isArg('source.shape')));
    expect(() => resample({ data: ramp.subarray(1), shape }, [2, 2, 2])).toThrow(expect.toSatisfy(isArg('source.data')));
    expect(() => resample({ data: ramp, shape }, [2, 0, 2])).toThrow(expect.toSatisfy(isArg('grid')));
    expect(() => resample({ data: ramp, shape }, { shape: [2, 2, 2], origin: [0, NaN, 0], step: [1, 1, 1] })).toThrow(expect.toSatisfy(isArg('grid')));
  });
});

// ---------------------------------------------------------------------------------------------
describe('intensity normalisation (robust z-score without a brain mask)', () => {
  it('has hand-computed statistics', () => {
    // 100 background zeros and a foreground 1..100.
    // P99 of all 200 values = 98.01 → threshold 9.801 → foreground 10..100 (91 voxels);
    // its P1 = 10.9, P99 = 99.1; clipped mean = (Σ11..99 + 10.9 + 99.1) / 91 = 5005 / 91 = 55.
    const data = new Float32Array(200);
    for (let v = 0; v < 100; v++) data[100 + v] = v + 1;
    const s = intensityStats(data);
    expect(s.threshold).toBeCloseTo(9.801, 5);
    expect(s.foreground).toBe(91);
    expect(s.foregroundFraction).toBeCloseTo(91 / 200, 10);
    expect(s.lower).toBeCloseTo(10.9, 5);
    expect(s.upper).toBeCloseTo(99.1, 5);
    expect(s.mean).toBeCloseTo(55, 10);
    const clipped = Array.from({ length: 91 }, (_, i) => Math.min(99.1, Math.max(10.9, i + 10)));
    const std = Math.sqrt(clipped.reduce((a, x) => a + (x - 55) ** 2, 0) / 91);
    expect(s.std).toBeCloseTo(std, 4);
    const z = normalise(data).data;
    expect(z[0]).toBeCloseTo((10.9 - 55) / std, 4); // background = the clipped lower bound
    expect(z[199]).toBeCloseTo((99.1 - 55) / std, 4);
    const fg = Array.from(z.subarray(109));
    expect(fg.reduce((a, x) => a + x, 0) / 91).toBeCloseTo(0, 5);
    expect(Math.sqrt(fg.reduce((a, x) => a + x * x, 0) / 91)).toBeCloseTo(1, 5);
  });

  it('percentile interpolates like numpy', () => {
    expect(percentile(Float32Array.of(1, 2, 3, 4), 50)).toBe(2.5);
    expect(percentile(Float32Array.of(1, 2, 3, 4), 100)).toBe(4);
    expect(percentile(Float32Array.of(0, 10), 25)).toBe(2.5);
  });

  fcTest.prop([fc.double({ min: 0.1, max: 100, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true })])(
    'is invariant to a positive gain and an offset',
    (gain, offset) => {
      const data = new Float32Array(300);
      for (let v = 0; v < 300; v++) data[v] = v < 120 ? 0 : 5 + ((v * 37) % 101);
      const a = normalise(data).data;
      const b = normalise(data.map((x) => x * gain + offset)).data;
      for (let v = 0; v < 300; v += 7) expect(b[v]).toBeCloseTo(a[v]!, 3);
    },
  );

  it('rejects empty, constant and non-finite images and bad options', () => {
    expect(() => intensityStats(new Float32Array(0))).toThrow(expect.toSatisfy(isArg('data')));
    expect(() => intensityStats(new Float32Array(10).fill(3))).toThrow(expect.toSatisfy(isArg('data')));
    expect(() => intensityStats(new Float32Array(4).fill(NaN))).toThrow(expect.toSatisfy(isArg('data')));
    expect(() => intensityStats(Float32Array.of(0, 1), { lowerPercentile: 99, upperPercentile: 1 })).toThrow(expect.toSatisfy(isArg('options')));
  });
});

// ---------------------------------------------------------------------------------------------
describe('cohort grid and channel layout', () => {
  it('puts the field of view where the cohort does (hand-computed grids)', () => {
    const vol = { shape: [200, 220, 180] as [number, number, number], spacing: [1, 2, 1] as [number, number, number] };
    const g3 = cohortGrid(vol, { centre: [100, 110, 90] });
    expect(g3.shape).toEqual([16, 32, 32]);
    // cell centres of a 200 mm cube: (1/N − 1) · 100 mm from the centre, step 200/N mm
    expect(g3.origin).toEqual([100 - 93.75, 110 - 96.875 / 2, 90 - 96.875]);
    expect(g3.step).toEqual([12.5, 3.125, 6.25]);
    // 2D: 4 slices at z = −50, −20, +10, +40 mm (PHANTOM_GEOMETRY.slabZ2d = [−0.5, 0.4] U)
    const g2 = cohortGrid(vol, { layout: '2d', slices: 4, centre: [100, 110, 90] });
    expect(g2.shape).toEqual([4, 32, 32]);
    expect(g2.origin[0]).toBeCloseTo(50, 10);
    expect(g2.step[0]).toBeCloseTo(30, 10);
    // 'extent': the whole volume, cell edges aligned
    const ge = cohortGrid(vol, { fov: 'extent', shape: [20, 22, 18] });
    ge.step.forEach((x) => expect(x).toBeCloseTo(10, 12));
    ge.origin.forEach((x) => expect(x).toBeCloseTo(4.5, 12));
    expect(() => cohortGrid(vol, { layout: '2d', shape: [2, 32] })).toThrow(expect.toSatisfy(isArg('shape')));
    expect(() => cohortGrid(vol, { fovMm: -1 })).toThrow(expect.toSatisfy(isArg('fovMm')));
    expect(() => cohortGrid(vol, { centre: [1, 2] })).toThrow(expect.toSatisfy(isArg('centre')));
  });

  it("lays out sequences as the cohort's images (checked with the cohort's own strides)", () => {
    const [s, h, w] = [3, 4, 5];
    const seq = (q: number) => Float32Array.from({ length: s * h * w }, (_, v) => 1000 * q + v);
    for (const layout of ['2d', '3d'] as const) {
      const out = toCohortLayout([seq(0), seq(1)], [s, h, w], layout);
      const geometry = gridGeometry(out.shape, layout);
      expect(out.shape).toEqual(layout === '3d' ? [3, 4, 5, 2] : [4, 5, 6]);
      const [ss, sh, sw, sq] = geometry.strides;
      for (let z = 0; z < s; z++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let q = 0; q < 2; q++) {
        expect(out.data[z * ss + y * sh + x * sw + q * sq]).toBe(1000 * q + (z * h + y) * w + x);
      }
    }
    expect(() => toCohortLayout([seq(0), new Float32Array(3)], [s, h, w], '2d')).toThrow(expect.toSatisfy(isArg('sequences')));
    expect(() => toCohortLayout([seq(0)], [s, h, w], 'xd' as never)).toThrow(expect.toSatisfy(isArg('layout')));
  });

  it('preprocessNifti centres an off-centre head and reads it like a cohort image', () => {
    // A 2 mm LPS-stored volume with a bright ellipsoid "head" off centre, and a marker at its left side.
    const [nx, ny, nz] = [60, 70, 50];
    const data = new Float32Array(nx * ny * nz);
    const c = [35, 30, 28]; // voxel centre of the head (i, j, k)
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const q = ((i - c[0]!) / 20) ** 2 + ((j - c[1]!) / 24) ** 2 + ((k - c[2]!) / 20) ** 2;
      data[i + nx * (j + ny * k)] = q <= 1 ? (i > c[0]! + 12 ? 300 : 60 + 2 * k) : 0;
    }
    // LPS storage: i → L, so the marker (large i) is on the patient's left
    const vol = readNifti(writeNifti1({ dims: [nx, ny, nz], data, datatype: 'int16', sform: [[-2, 0, 0, 0], [0, -2, 0, 0], [0, 0, 2, 0]] }));
    const pre = preprocessNifti(vol, { layout: '3d', shape: [16, 32, 32] });
    expect(pre.centre).toEqual([28, 30, 35]);
    // the head (80 × 96 × 80 mm) is centred in the 200 mm grid: its middle voxel is bright
    const at = (z: number, y: number, x: number) => pre.data[(z * 32 + y) * 32 + x]!;
    expect(at(8, 16, 16)).toBeGreaterThan(at(0, 0, 0));
    // the marker is on the right of the image (patient's left, radiological convention)
    // (grid column 21 is 34 mm to the left of the centre: 17 voxels, inside the marker beyond 12)
    expect(at(8, 16, 21)).toBeCloseTo((pre.stats.upper - pre.stats.mean) / pre.stats.std, 5);
    expect(at(8, 16, 11)).toBeLessThan(at(8, 16, 21));
    expect(at(8, 16, 16)).toBeLessThan(at(8, 16, 21));
    // the background is the constant (P1 − mean) / sd
    expect(at(0, 0, 0)).toBeCloseTo((pre.stats.lower - pre.stats.mean) / pre.stats.std, 5);
  });
});

// ---------------------------------------------------------------------------------------------
describe('the CLI (examples/nifti/run.ts)', () => {
  // wasm: the 3D encoder is about 15× faster than on the cpu backend
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });
  const headFile = (name: string, gzip: boolean) => {
    const [nx, ny, nz] = [40, 48, 36];
    const data = new Float32Array(nx * ny * nz);
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const q = ((i - 20) / 16) ** 2 + ((j - 24) / 20) ** 2 + ((k - 18) / 15) ** 2;
      data[i + nx * (j + ny * k)] = q <= 1 ? 80 + 40 * Math.sin(i / 3) * Math.cos(j / 4) + k : 0;
    }
    const bytes = writeNifti1({ dims: [nx, ny, nz], data, datatype: 'float32', pixdim: [4, 4, 4], sform: [[4, 0, 0, -80], [0, 4, 0, -96], [0, 0, 4, -72]] });
    const file = join(root, name);
    writeFileSync(file, gzip ? gzipSync(bytes) : bytes);
    return file;
  };

  it('parses its flags and rejects bad ones by name', () => {
    expect(parseArgs(['a.nii.gz', '--layout', '2d', '--png', 'o.png', '--seed', '3', '--backend', 'cpu'])).toEqual({ file: 'a.nii.gz', layout: '2d', png: 'o.png', seed: 3, backend: 'cpu' });
    expect(() => parseArgs(['a.nii', '--backend', 'gpu'])).toThrow(expect.toSatisfy(isArg('--backend')));
    expect(() => parseArgs(['a.nii', '--layout', '4d'])).toThrow(expect.toSatisfy(isArg('--layout')));
    expect(() => parseArgs(['a.nii', '--bundle'])).toThrow(expect.toSatisfy(isArg('--bundle')));
    expect(() => parseArgs(['--png', 'x.png'])).toThrow(expect.toSatisfy(isArg('file')));
    expect(() => parseArgs(['a.nii', '--what'])).toThrow(expect.toSatisfy(isArg('--what')));
  });

  it('runs a fresh encoder on 3D and 2D layouts, prints the header and writes the PNG, without leaking tensors', async () => {
    const file = headFile('head.nii.gz', true);
    const png = join(root, 'mid.png');
    const before = tf.memory().numTensors;
    const r3 = await main({ file, png }, () => {});
    expect(tf.memory().numTensors).toBe(before);
    expect(r3.lines[0]).toBe('head.nii.gz: NIfTI-1 (gzip)');
    expect(r3.lines[1]).toBe('  dims 40 × 48 × 36, voxel 4 × 4 × 4 mm, datatype float32 (code 16), scl_slope 1, scl_inter 0');
    expect(r3.lines[3]).toBe('  orientation RAS (i → R, j → A, k → S), obliquity 0.00°');
    expect(r3.inputShape).toEqual([16, 32, 32, 1]);
    expect(r3.tokensShape).toEqual([1, 256, 64]);
    expect(r3.pooledShape).toEqual([1, 64]);
    expect(Number.isFinite(r3.pooledMean)).toBe(true);
    expect(Array.from(readFileSync(png).subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    const r2 = await main({ file, layout: '2d', adc: file }, () => {});
    expect(r2.inputShape).toEqual([32, 32, 8]);
    expect(r2.tokensShape).toEqual([1, 64, 64]);
    // the second sequence sits in the odd channels and equals the first here
    for (let v = 0; v < r2.sample.length; v += 2) expect(r2.sample[v + 1]).toBe(r2.sample[v]);
  });

  it("with a bundle: runs the model's image branch and predicts from the image alone (text and clinical masked)", async () => {
    const { pre, tok } = toyEncoders();
    pre.fit([{ c: 1, noise: 0, age: 60 }, { c: -1, noise: 1, age: 70 }]);
    const model = createTriModalModel({
      image: { inputShape: [16, 16, 8], spatialDims: 2, widths: [8, 8], depths: [1, 1], strides: [1, 2] },
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1 },
      seed: 4,
    });
    const dir = join(root, 'bundle');
    await savePipeline({ model, preprocessor: pre, tokenizer: tok }, dir);
    const file = headFile('head.nii', false);
    const lines: string[] = [];
    const r = await main({ file, bundle: dir, layout: '3d' }, (l) => lines.push(l));
    expect(r.inputShape).toEqual([16, 16, 8]);
    expect(lines.some((l) => l === "note: --layout 3d ignored, the bundle's image input is 2d")).toBe(true);
    expect(lines.some((l) => /sequence 1 is missing and filled with zeros/.test(l))).toBe(true);
    const prediction = lines.find((l) => l.startsWith('prediction from the IMAGE ONLY'))!;
    expect(prediction).toMatch(/text and clinical passed as missing, masks all zeros; binary head\): P\(poor outcome\) = 0\.\d{4}$/);
    // the same prediction computed here from the printed sample with the in-memory model
    const image = tf.tensor(r.sample, [1, 16, 16, 8]);
    const [, ids, , values] = model.model.inputs.map((i) => i.shape[1] as number);
    const masked = { textIds: tf.zeros([1, ids!]), textMask: tf.zeros([1, ids!]), clinicalValues: tf.zeros([1, values!]), clinicalMask: tf.zeros([1, values!]) };
    const out = model.predict({ image, ...masked }, { auxiliary: true });
    expect(r.probability![0]).toBeCloseTo(out.probabilities.dataSync()[0]!, 5);
    expect(r.auxiliaryImageProbability![0]).toBeCloseTo(out.auxiliary!.image!.dataSync()[0]!, 5);
    const [tokens, pooled] = model.model.getLayer(model.groupLayerNames()['image']![0]!).apply(image) as tf.Tensor[];
    expect(r.tokensShape).toEqual(tokens!.shape);
    expect(r.pooledMean).toBeCloseTo(tf.mean(pooled!).dataSync()[0]!, 5);
    tf.dispose([image, ...Object.values(masked), out.probabilities, ...Object.values(out.auxiliary!), tokens!, pooled!]);
    model.dispose();
    await expect(main({ file, bundle: dir, adc: file, sequences: 1 }, () => {})).rejects.toSatisfy(isArg('--adc'));
  });

  it('runs as a command (node --import tsx) and fails cleanly on a bad file', () => {
    const file = headFile('cli.nii.gz', true);
    const ok = spawnSync(process.execPath, ['--import', 'tsx', 'examples/nifti/run.ts', file, '--layout', '2d'], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^cli\.nii\.gz: NIfTI-1 \(gzip\)/);
    expect(ok.stdout).toMatch(/tokens \[1, 64, 64\], pooled \[1, 64\]/);
    const bad = join(root, 'bad.nii');
    writeFileSync(bad, 'not a nifti file at all');
    const ko = spawnSync(process.execPath, ['--import', 'tsx', 'examples/nifti/run.ts', bad], { encoding: 'utf8' });
    expect(ko.status).toBe(1);
    expect(ko.stderr).toMatch(/^error: This is not a single-file NIfTI/);
  });
});
