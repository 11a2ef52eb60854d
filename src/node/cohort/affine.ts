/**
 * Voxel → world affines of NIfTI volumes: the type, where a volume's came from, the orientation
 * code and obliquity of one, and the inverse mapping of a world point.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';

/** A 4 × 4 affine, row-major (`affine[row][column]`). */
export type Affine = number[][];

/** Which header field gave the voxel → world affine. */
export type AffineSource = 'sform' | 'qform' | 'pixdim';

/** Angle (degrees) above which an affine counts as oblique (then only its nearest axes are used). */
export const OBLIQUE_TOLERANCE_DEG = 0.1;

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
 * @throws `InvalidArgumentError` (argument `affine`) for a singular or non-finite affine.
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

/** Source voxel coordinates (i, j, k) of a world point under an affine. @internal */
export function worldToVoxel(affine: Affine, point: readonly number[]): [number, number, number] {
  const m = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r]![c]!));
  const b = [0, 1, 2].map((r) => point[r]! - affine[r]![3]!);
  const det = (a: number[][]) => a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) - a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) + a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det(m);
  // Cramer's rule (axisCodes has already rejected singular affines)
  return [0, 1, 2].map((c) => det(m.map((row, r) => row.map((v, k) => (k === c ? b[r]! : v)))) / d) as [number, number, number];
}
