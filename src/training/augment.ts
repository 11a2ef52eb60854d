/**
 * Training-only image augmentation that keeps the anatomy's side: random in-plane shifts and
 * per-channel intensity gains (scanner gain), optionally Gaussian noise. No left–right flip: the
 * side of a lesion is a finding (the report states it, the deficit depends on it).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Random } from '../core/random.js';
import { InvalidArgumentError } from '../errors.js';
import type { TriModalData } from '../models/data.js';

/** Options of the trainer's `augment`. */
export interface AugmentOptions {
  /**
   * Largest shift in voxels along each in-plane axis (height, width), drawn uniformly per
   * patient from −shift…shift; the volume is zero-padded. The slice axis of a 3D volume is not shifted.
   * @defaultValue 2
   */
  shift?: number;
  /** Standard deviation of the log gain drawn per patient and channel (0.1 ≈ ±10%). @defaultValue 0.1 */
  gain?: number;
  /** Standard deviation of additive Gaussian noise, relative to each patient-channel's mean absolute intensity. @defaultValue 0 */
  noise?: number;
}

/** Resolved augmentation settings. @internal */
export type ResolvedAugment = Required<AugmentOptions>;

/**
 * Validates `augment` and fills the defaults (`true` = the defaults; `false`/undefined = none).
 *
 * @throws {@link InvalidArgumentError} naming `augment.shift`, `augment.gain` or `augment.noise`.
 * @internal
 */
export function resolveAugment(augment: boolean | AugmentOptions | undefined): ResolvedAugment | null {
  if (augment === undefined || augment === false) return null;
  if (augment !== true && (typeof augment !== 'object' || augment === null)) {
    throw new InvalidArgumentError({ argument: 'augment', message: 'augment must be true, false or an options object.', received: augment });
  }
  const o = { shift: 2, gain: 0.1, noise: 0, ...(augment === true ? {} : augment) };
  if (!Number.isInteger(o.shift) || o.shift < 0) {
    throw new InvalidArgumentError({ argument: 'augment.shift', message: 'augment.shift must be an integer ≥ 0 (voxels).', received: o.shift });
  }
  for (const k of ['gain', 'noise'] as const) {
    if (typeof o[k] !== 'number' || !(o[k] >= 0) || !Number.isFinite(o[k])) {
      throw new InvalidArgumentError({ argument: `augment.${k}`, message: `augment.${k} must be a finite number ≥ 0.`, received: o[k] });
    }
  }
  return o;
}

/**
 * Augments a batch's `image` (`[B, H, W, C]` or `[B, D, H, W, C]`): per patient a shift of
 * height and width (zero fill), a gain per channel and optional noise. Draws from `rng` only, so
 * a seeded trainer stays deterministic. Returns the new batch and the tensors it created.
 * @internal
 */
export function augmentImages(batch: TriModalData, settings: ResolvedAugment | null, rng: Random): { batch: TriModalData; created: tf.Tensor[] } {
  const image = batch.image;
  if (!settings || !image) return { batch, created: [] };
  const n = image.shape[0]!;
  const channels = image.shape[image.rank - 1]!;
  const planeAxes = [image.rank - 3, image.rank - 2]; // height, width
  const shifts = Array.from({ length: n }, () => planeAxes.map(() => (settings.shift > 0 ? rng.int(2 * settings.shift + 1) - settings.shift : 0)));
  const gains = Float32Array.from({ length: n * channels }, () => Math.exp(settings.gain * rng.normal(0, 1)));
  const noiseSeed = settings.noise > 0 ? rng.int(2 ** 30) : 0;
  const out = tf.tidy(() => {
    let x: tf.Tensor = image;
    if (shifts.some((s) => s[0] !== 0 || s[1] !== 0)) x = shiftEach(x, shifts, settings.shift, planeAxes);
    const shape = [n, ...Array.from({ length: image.rank - 2 }, () => 1), channels];
    if (settings.gain > 0) x = tf.mul(x, tf.tensor(gains, shape));
    if (settings.noise > 0) {
      const axes = Array.from({ length: image.rank - 2 }, (_, i) => i + 1);
      const scale = tf.mul(tf.mean(tf.abs(x), axes, true), settings.noise);
      x = tf.add(x, tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', noiseSeed), scale));
    }
    return x;
  });
  return { batch: { ...batch, image: out }, created: [out] };
}

/** Shifts each patient's plane by its own offsets: zero-pad by `pad`, then cut each patient's window. */
function shiftEach(x: tf.Tensor, shifts: number[][], pad: number, planeAxes: number[]): tf.Tensor {
  const padding = x.shape.map((_, a) => (planeAxes.includes(a) ? [pad, pad] : [0, 0])) as Array<[number, number]>;
  const padded = tf.pad(x, padding);
  const rows = shifts.map((s, i) => {
    const begin = x.shape.map((_, a) => (a === 0 ? i : a === planeAxes[0] ? pad - s[0]! : a === planeAxes[1] ? pad - s[1]! : 0));
    const size = x.shape.map((d, a) => (a === 0 ? 1 : d));
    return tf.slice(padded, begin, size);
  });
  return tf.concat(rows, 0);
}
