// The NIfTI module (src/node/cohort/nifti.ts, affine.ts, nifti-write.ts, reorient.ts, resample.ts,
// intensity.ts, preprocess.ts): reading, reorienting, resampling, normalising and
// the cohort layout. Every volume is written here by a small NIfTI-1 writer of the tests
// (test/helpers/nifti-writer.ts) that shares no code with the reader under test; the reader is
// also cross-checked against nifti-reader-js.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fc, test as fcTest } from '@fast-check/vitest';
import * as reference from 'nifti-reader-js';
import { afterAll, describe, expect, it } from 'vitest';
import { gridGeometry, InvalidArgumentError } from '../../../src/index.js';
import {
  axisCodes,
  cohortGrid,
  intensityStats,
  NiftiFormatError,
  normalise,
  percentile,
  preprocessNifti,
  preprocessSequences,
  readNifti,
  reorient,
  resample,
  sequenceMismatch,
  toCohortLayout,
  writeNifti,
  type Affine,
} from '../../../src/node.js';
import { world, writeNifti1, writeNifti2 } from '../../helpers/nifti-writer.js';
import { expectArgumentError } from '../../helpers/errors.js';

const readNiftiBytes = (gz: Uint8Array) => gunzipSync(gz);

const root = mkdtempSync(join(tmpdir(), 'vdafm-nifti-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));


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
    expectArgumentError(() => readNifti(new Uint8Array(400)), InvalidArgumentError, 'bytes');
    expectArgumentError(() => readNifti(writeNifti1({ dims, data: ramp, datatype: 'complex64' })), InvalidArgumentError, 'datatype');
    expectArgumentError(() => readNifti(writeNifti1({ dims, data: ramp }).subarray(0, 600)), InvalidArgumentError, 'bytes');
    expectArgumentError(() => readNifti(writeNifti1({ dims: [5, 6, 7, 2], data: [...ramp, ...ramp] }), { volume: 2 }), InvalidArgumentError, 'volume');
    expectArgumentError(() => readNifti('x' as never), InvalidArgumentError, 'bytes');
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
    expectArgumentError(() => axisCodes([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] as Affine), InvalidArgumentError, 'affine');
    const vol = readNifti(writeNifti1({ dims: [2, 2, 2], data: new Float32Array(8) }));
    expectArgumentError(() => reorient(vol, 'LPR'), InvalidArgumentError, 'target');
    expectArgumentError(() => reorient(vol, 'XY'), InvalidArgumentError, 'target');
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
    expectArgumentError(() => resample({ data: ramp, shape: [4, 5] }, [2, 2, 2]), InvalidArgumentError, 'source.shape');
    expectArgumentError(() => resample({ data: ramp.subarray(1), shape }, [2, 2, 2]), InvalidArgumentError, 'source.data');
    expectArgumentError(() => resample({ data: ramp, shape }, [2, 0, 2]), InvalidArgumentError, 'grid');
    expectArgumentError(() => resample({ data: ramp, shape }, { shape: [2, 2, 2], origin: [0, NaN, 0], step: [1, 1, 1] }), InvalidArgumentError, 'grid');
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

  fcTest.prop([
    fc.array(fc.oneof(fc.constant(0), fc.integer({ min: -5, max: 40 }), fc.float({ min: -100, max: 1000, noNaN: true })), { minLength: 2, maxLength: 300 }),
    fc.integer({ min: 0, max: 49 }),
    fc.integer({ min: 51, max: 100 }),
  ])('measures the same order statistics as sorting (selection, with ties and background runs)', (values, lowerPercentile, upperPercentile) => {
    const data = Float32Array.from(values);
    const sorted = data.slice().sort();
    if (sorted[0] === sorted[sorted.length - 1]) return; // constant: rejected, tested below
    const threshold = sorted[0]! + 0.1 * (percentile(sorted, 99) - sorted[0]!);
    const fg = sorted.filter((v) => v > threshold);
    if (fg.length === 0) return;
    const s = intensityStats(data, { lowerPercentile, upperPercentile });
    expect(s.min).toBe(sorted[0]);
    expect(s.threshold).toBe(threshold);
    expect(s.foreground).toBe(fg.length);
    expect(s.lower).toBe(percentile(fg, lowerPercentile));
    expect(s.upper).toBe(percentile(fg, upperPercentile));
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
    expectArgumentError(() => intensityStats(new Float32Array(0)), InvalidArgumentError, 'data');
    expectArgumentError(() => intensityStats(new Float32Array(10).fill(3)), InvalidArgumentError, 'data');
    expectArgumentError(() => intensityStats(new Float32Array(4).fill(NaN)), InvalidArgumentError, 'data');
    expectArgumentError(() => intensityStats(Float32Array.of(0, 1), { lowerPercentile: 99, upperPercentile: 1 }), InvalidArgumentError, 'options');
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
    expectArgumentError(() => cohortGrid(vol, { layout: '2d', shape: [2, 32] }), InvalidArgumentError, 'shape');
    expectArgumentError(() => cohortGrid(vol, { fovMm: -1 }), InvalidArgumentError, 'fovMm');
    expectArgumentError(() => cohortGrid(vol, { centre: [1, 2] }), InvalidArgumentError, 'centre');
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
    expectArgumentError(() => toCohortLayout([seq(0), new Float32Array(3)], [s, h, w], '2d'), InvalidArgumentError, 'sequences');
    expectArgumentError(() => toCohortLayout([seq(0)], [s, h, w], 'xd' as never), InvalidArgumentError, 'layout');
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
    const stats = pre.stats!;
    // the head (80 × 96 × 80 mm) is centred in the 200 mm grid: its middle voxel is bright
    const at = (z: number, y: number, x: number) => pre.data[(z * 32 + y) * 32 + x]!;
    expect(at(8, 16, 16)).toBeGreaterThan(at(0, 0, 0));
    // the marker is on the right of the image (patient's left, radiological convention)
    // (grid column 21 is 34 mm to the left of the centre: 17 voxels, inside the marker beyond 12)
    expect(at(8, 16, 21)).toBeCloseTo((stats.upper - stats.mean) / stats.std, 5);
    expect(at(8, 16, 11)).toBeLessThan(at(8, 16, 21));
    expect(at(8, 16, 16)).toBeLessThan(at(8, 16, 21));
    // the background is the constant (P1 − mean) / sd
    expect(at(0, 0, 0)).toBeCloseTo((stats.lower - stats.mean) / stats.std, 5);
  });
});

// ---------------------------------------------------------------------------------------------
describe('the reader against nifti-reader-js, NIfTI-2, and typed file problems', () => {
  const TYPES = ['uint8', 'int16', 'int32', 'float32'] as const;
  fcTest.prop([
    fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 })),
    fc.constantFrom(...TYPES),
    fc.boolean(),
    fc.boolean(),
    fc.double({ min: 0.25, max: 4, noNaN: true }),
    fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  ])('agrees with nifti-reader-js on dims, datatype, scaling and every voxel', (dims, datatype, littleEndian, gzip, slope, seed) => {
    const n = dims[0] * dims[1] * dims[2];
    let s = seed;
    const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % 200) - (datatype === 'uint8' ? 0 : 100);
    const data = Array.from({ length: n }, next);
    const raw = writeNifti1({ dims, data, datatype, littleEndian, sclSlope: Math.fround(slope), sclInter: 3, sform: [[-2, 0, 0, 1], [0, 3, 0, 2], [0, 0, 1.5, -4]] });
    const bytes = gzip ? gzipSync(raw) : raw;
    const ours = readNifti(bytes);
    const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
    const header = reference.readHeader(buffer)!;
    const image = reference.readImage(header, buffer);
    const Typed = { uint8: Uint8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array }[datatype];
    const view = new DataView(image);
    const get = (i: number) =>
      datatype === 'uint8' ? view.getUint8(i) : datatype === 'int16' ? view.getInt16(2 * i, littleEndian) : datatype === 'int32' ? view.getInt32(4 * i, littleEndian) : view.getFloat32(4 * i, littleEndian);
    expect(ours.dims).toEqual(header.dims.slice(1, 4));
    expect(ours.datatypeCode).toBe(header.datatypeCode);
    expect(ours.compressed).toBe(gzip);
    expect(ours.affine.slice(0, 3)).toEqual(header.affine.slice(0, 3));
    expect(Typed.BYTES_PER_ELEMENT * n).toBe(image.byteLength);
    for (let i = 0; i < n; i++) expect(ours.data[i]).toBe(Math.fround(get(i) * header.scl_slope + header.scl_inter));
  });

  it('reads NIfTI-2 (either byte order) like NIfTI-1', () => {
    const dims = [3, 4, 5];
    const data = Array.from({ length: 60 }, (_, i) => i * 0.5 - 7);
    const sform = [[0, 0, 2, -3], [-1.5, 0, 0, 4], [0, 2.5, 0, 5]];
    for (const littleEndian of [true, false]) {
      const v = readNifti(writeNifti2({ dims, data, sform, littleEndian, sclSlope: 2, sclInter: 1 }));
      expect(v.format).toBe('NIfTI-2');
      expect(v.dims).toEqual([3, 4, 5]);
      expect(v.affine).toEqual([...sform, [0, 0, 0, 1]]);
      expect(v.orientation).toBe('PSR'); // i → P, j → S, k → R
      expect(Array.from(v.data)).toEqual(data.map((x) => x * 2 + 1));
    }
  });

  it('names the problem of a bad file: not NIfTI, truncated voxels or gzip, a damaged gzip, a .hdr header, complex data', () => {
    const good = writeNifti1({ dims: [4, 4, 4], data: Array.from({ length: 64 }, (_, i) => i) });
    const kind = (bytes: Uint8Array) => {
      try {
        readNifti(bytes);
      } catch (e) {
        expect(NiftiFormatError.isInstance(e) && InvalidArgumentError.isInstance(e)).toBe(true);
        return (e as NiftiFormatError).kind;
      }
      return 'ok';
    };
    const gz = Uint8Array.from(gzipSync(good));
    const crc = Uint8Array.from(gz);
    crc[crc.length - 8] = crc[crc.length - 8]! ^ 0xff;
    const hdr = Uint8Array.from(good);
    hdr.set([0x6e, 0x69, 0x31, 0], 344); // "ni1": a .hdr/.img pair
    expect(kind(good)).toBe('ok');
    expect(kind(new TextEncoder().encode('id,age\nP1,70\n'))).toBe('not-nifti');
    expect(kind(hdr)).toBe('not-nifti');
    expect(kind(good.subarray(0, 300))).toBe('truncated-nifti');
    expect(kind(good.subarray(0, good.length - 1))).toBe('truncated-nifti');
    expect(kind(gz.subarray(0, gz.length - 5))).toBe('truncated-nifti');
    expect(kind(crc)).toBe('corrupt-nifti');
    expect(kind(writeNifti1({ dims: [4, 4, 4], data: new Array(64).fill(0), datatype: 'complex64' }))).toBe('unsupported-datatype');
  });
});

describe('writeNifti', () => {
  it('round-trips voxels and the affine through readNifti (sform, and the qform alone), gzip or not', () => {
    const data = Float32Array.from({ length: 4 * 3 * 2 }, (_, i) => Math.sin(i) * 100);
    for (const affine of [
      [[-6.25, 0, 0, 96.875], [0, -6.25, 0, 96.875], [0, 0, 12.5, -93.75]], // LPS, the cohort's
      [[0, 0, 2, -3], [1.5, 0, 0, 4], [0, 2.5, 0, 5]], // a permutation with det > 0
      [[2, 0, 0, 0], [0, 3, 0, 0], [0, 0, -4, 7]], // det < 0: qfac −1
    ]) {
      for (const gzip of [false, true]) {
        const bytes = writeNifti({ data, dims: [4, 3, 2], affine, description: 'test' }, { gzip });
        const v = readNifti(bytes);
        expect(v.affineSource).toBe('sform');
        expect(v.affine.slice(0, 3)).toEqual(affine);
        expect(Array.from(v.data)).toEqual(Array.from(data));
        expect(v.description).toBe('test');
        expect(v.warnings).toEqual([]);
        // without the sform, the qform gives the same affine
        const raw = Uint8Array.from(gzip ? readNiftiBytes(bytes) : bytes);
        new DataView(raw.buffer).setInt16(254, 0, true);
        const q = readNifti(raw);
        expect(q.affineSource).toBe('qform');
        q.affine.slice(0, 3).forEach((row, r) => row.forEach((x, c) => expect(x).toBeCloseTo(affine[r]![c]!, 4)));
      }
    }
    expect(readNifti(writeNifti({ data: data.subarray(0, 12), dims: [4, 3, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] })).ndim).toBe(2);
    expectArgumentError(() => writeNifti({ data, dims: [4, 3], affine: [] as never }), InvalidArgumentError, 'volume.dims');
    expectArgumentError(() => writeNifti({ data, dims: [4, 3, 3], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }), InvalidArgumentError, 'volume.data');
  });
});

describe('preprocessing options: skull stripping, field-of-view centre, shared grid of the sequences', () => {
  // A 2 mm LPS volume: a "brain" ellipsoid (values 100–200) on a zero background, off centre.
  const [nx, ny, nz] = [40, 44, 36];
  const lps = [[-2, 0, 0, 30], [0, -2, 0, 40], [0, 0, 2, -20]];
  const brain = (scale: number, offset: number) => {
    const data = new Float32Array(nx * ny * nz);
    for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const q = ((i - 24) / 12) ** 2 + ((j - 20) / 14) ** 2 + ((k - 18) / 12) ** 2;
      if (q <= 1) data[i + nx * (j + ny * k)] = offset + scale * (100 + 100 * (1 - q));
    }
    return readNifti(writeNifti({ data, dims: [nx, ny, nz], affine: lps }));
  };

  it('skullStripped: the foreground is the brain mask (above the minimum) and the background ends at 0', () => {
    const v = brain(1, 0);
    const stripped = preprocessNifti(v, { shape: [8, 16, 16], skullStripped: true });
    const head = preprocessNifti(v, { shape: [8, 16, 16] });
    expect(stripped.stats!.threshold).toBe(0);
    expect(stripped.stats!.foregroundFraction).toBeGreaterThan(head.stats!.foregroundFraction - 1e-9);
    expect(stripped.data[0]).toBe(0); // a background corner
    expect(head.data[0]).toBeCloseTo((head.stats!.lower - head.stats!.mean) / head.stats!.std, 5);
    // inside the brain both are z-scores of the same intensities
    const centre = (4 * 16 + 8) * 16 + 8; // [z, y, x] = [4, 8, 8]
    expect(stripped.data[centre]).toBeGreaterThan(0);
  });

  it("fovCentre: 'foreground' centres the brain, 'volume' the array, 'world-origin' the affine's origin", () => {
    const v = brain(1, 0);
    const f = preprocessNifti(v, { shape: [8, 16, 16], intensity: 'none' });
    const vol = preprocessNifti(v, { shape: [8, 16, 16], intensity: 'none', fovCentre: 'volume' });
    const w = preprocessNifti(v, { shape: [8, 16, 16], intensity: 'none', fovCentre: 'world-origin' });
    expect(vol.centre).toEqual([(nz - 1) / 2, (ny - 1) / 2, (nx - 1) / 2]);
    // world (0, 0, 0): i = 15, j = 20, k = 10; LPS storage is not flipped
    w.centre.forEach((c, a) => expect(c).toBeCloseTo([10, 20, 15][a]!, 6));
    expect(f.centre).toEqual([18, 20, 24]);
    expect(f.stats).not.toBeNull(); // the foreground needs the threshold
    expect(w.stats).toBeNull(); // raw intensities, no foreground: no sort at all
    expectArgumentError(() => preprocessNifti(v, { fovCentre: 'middle' as never }), InvalidArgumentError, 'fovCentre');
    expectArgumentError(() => preprocessNifti(v, { intensity: 'minmax' as never }), InvalidArgumentError, 'intensity');
  });

  it('preprocessSequences puts every sequence on the first one’s grid, with its own intensity statistics', () => {
    const dwi = brain(1, 0);
    // the "ADC": same grid, other intensities, and a bright blob far off that would move its own foreground centre
    const adcData = Float32Array.from(brain(3, 50).data);
    for (let k = 0; k < 4; k++) for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) adcData[i + nx * (j + ny * k)] = 900;
    const adc = readNifti(writeNifti({ data: adcData, dims: [nx, ny, nz], affine: lps }));
    const both = preprocessSequences([dwi, adc], { shape: [8, 16, 16] });
    const alone = preprocessNifti(adc, { shape: [8, 16, 16] });
    expect(both.shape).toEqual([8, 16, 16, 2]);
    expect(both.centre).toEqual(preprocessNifti(dwi, { shape: [8, 16, 16] }).centre);
    expect(alone.centre).not.toEqual(both.centre);
    expect(both.stats[1]!.mean).toBeCloseTo(alone.stats!.mean, 6);
    expect(Array.from(both.channels[0]!)).toEqual(Array.from(preprocessNifti(dwi, { shape: [8, 16, 16] }).data));
    // channel q of voxel v is both.data[v·2 + q]
    expect(both.data[2 * 100 + 1]).toBe(both.channels[1]![100]);
    // 2D layout: [H, W, S·Q]
    expect(preprocessSequences([dwi, adc], { layout: '2d', shape: [16, 16], slices: 3 }).shape).toEqual([16, 16, 6]);
  });

  it('sequenceMismatch: other dims, or affines whose corners are farther apart than the tolerance', () => {
    const a = brain(1, 0);
    const shifted = (mm: number) => readNifti(writeNifti({ data: a.data, dims: [nx, ny, nz], affine: lps.map((r, k) => r.map((x, c) => (c === 3 && k === 2 ? x + mm : x))) }));
    expect(sequenceMismatch([a, shifted(0.05)], ['dwi', 'adc'])).toBeNull();
    expect(sequenceMismatch([a, shifted(0.5)], ['dwi', 'adc'])).toMatch(/^adc and dwi have the same dims but different voxel-to-world affines \(corners up to 0\.500 mm apart/);
    expect(sequenceMismatch([a, shifted(0.5)], ['dwi', 'adc'], 1)).toBeNull();
    const small = readNifti(writeNifti({ data: a.data.subarray(0, nx * ny * 2), dims: [nx, ny, 2], affine: lps }));
    expect(sequenceMismatch([a, small])).toBe(`sequence 1 has dims ${nx}×${ny}×2, sequence 0 ${nx}×${ny}×${nz}: the sequences are not on one voxel grid`);
    expectArgumentError(() => preprocessSequences([a, small]), InvalidArgumentError, 'volumes');
  });
});
