/**
 * Trilinear resampling of an oriented volume onto a sampling grid.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';

/** A sampling grid: output index `o` along an axis reads source voxel coordinate `origin + o·step`. */
export interface SamplingGrid {
  /** Output shape `[D, H, W]`. */
  shape: [number, number, number];
  /** Source voxel coordinate of output index 0, per axis (D, H, W). */
  origin: [number, number, number];
  /** Source voxels per output voxel, per axis (D, H, W). */
  step: [number, number, number];
}

/** Throws unless `shape` is `[D, H, W]` with positive integers. @internal */
export function checkShape3(shape: unknown, argument: string): asserts shape is [number, number, number] {
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
 * @throws `InvalidArgumentError` (argument `source.shape`, `source.data` or `grid`).
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
  const g = samplingGrid(source.shape, grid);
  const [az, ay, ax] = [0, 1, 2].map((a) => axisTaps(source.shape[a]!, g.shape[a]!, g.origin[a]!, g.step[a]!)) as [AxisTaps, AxisTaps, AxisTaps];
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

/** The grid `resample` samples: the one given (checked), or the whole extent mapped onto a shape. */
function samplingGrid(sourceShape: readonly number[], grid: readonly number[] | SamplingGrid): SamplingGrid {
  if (Array.isArray(grid)) {
    checkShape3(grid, 'grid');
    const step = [0, 1, 2].map((a) => sourceShape[a]! / grid[a]!) as [number, number, number];
    return { shape: [...grid] as [number, number, number], step, origin: step.map((s) => (s - 1) / 2) as [number, number, number] };
  }
  const g = grid as SamplingGrid;
  checkShape3(g?.shape, 'grid');
  if (![...(g.origin ?? []), ...(g.step ?? [])].every(Number.isFinite) || g.origin.length !== 3 || g.step.length !== 3) {
    throw new InvalidArgumentError({ argument: 'grid', message: 'grid.origin and grid.step must be 3 finite numbers each.', received: g });
  }
  return g;
}

/** Per output index along one axis: lower and upper source index and the upper weight; `lo` −1 marks "outside" (fill). */
interface AxisTaps {
  lo: Int32Array;
  hi: Int32Array;
  wt: Float64Array;
}

/** The interpolation taps of one axis of `n` source voxels sampled at `origin + o·step`, `o` < `size`. */
function axisTaps(n: number, size: number, origin: number, step: number): AxisTaps {
  const lo = new Int32Array(size);
  const hi = new Int32Array(size);
  const wt = new Float64Array(size);
  for (let o = 0; o < size; o++) {
    const c = origin + o * step;
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
}
