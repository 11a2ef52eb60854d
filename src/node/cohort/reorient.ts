/**
 * Reorienting a NIfTI volume to the cohort's axes by permutation and flips only.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';
import { axisCodes } from './affine.js';
import type { NiftiVolume } from './nifti.js';

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
 * @throws `InvalidArgumentError` (argument `target`) for an invalid code.
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
