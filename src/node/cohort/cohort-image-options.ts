/**
 * How a cohort's volumes become images: the image options of `loadCohort`, their defaults, and
 * their check.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';
import type { NiftiVolume } from './nifti.js';
import { preprocessNifti, type PreprocessOptions } from './preprocess.js';

/**
 * How volumes become images: the grid and intensity options of `preprocessSequences` (layout,
 * shape, slices, field of view, `fovCentre`, `intensity`, `skullStripped`, percentiles), plus
 * what to do with several volumes in one file and how close co-registered sequences must be.
 */
export type CohortImageOptions = PreprocessOptions & {
  /**
   * A file with several volumes (4D): `'error'` makes it a per-patient problem
   * (`multiple-volumes`); `'first'` reads volume 0 with a warning. The default is an error
   * because the first volume of a diffusion series is usually the b = 0 image, not the DWI.
   * @defaultValue 'error'
   */
  multiVolume?: 'error' | 'first';
  /**
   * Largest distance (mm) between the sequences' grid corners for them to count as
   * co-registered (see `sequenceMismatch`).
   * @defaultValue 0.1
   */
  coregistrationToleranceMm?: number;
};

/** The image options in force: every default filled in (they are part of every cache key). @internal */
export type ImageSettings = Readonly<Required<CohortImageOptions>>;

/**
 * Fills in the image options' defaults and tries them on a tiny volume, so that a bad grid or
 * intensity option is the caller's error, not a patient's.
 *
 * @throws `InvalidArgumentError` naming the option (`image.layout`, `image.multiVolume`, ...).
 * @internal
 */
export function resolveImageOptions(o: CohortImageOptions = {}): ImageSettings {
  const layout = o.layout ?? '3d';
  if (layout !== '2d' && layout !== '3d') throw new InvalidArgumentError({ argument: 'image.layout', message: "layout must be '2d' or '3d'.", received: layout });
  const multiVolume = o.multiVolume ?? 'error';
  if (multiVolume !== 'error' && multiVolume !== 'first') throw new InvalidArgumentError({ argument: 'image.multiVolume', message: "multiVolume must be 'error' or 'first'.", received: multiVolume });
  const tol = o.coregistrationToleranceMm ?? 0.1;
  if (!(typeof tol === 'number' && tol >= 0)) throw new InvalidArgumentError({ argument: 'image.coregistrationToleranceMm', message: 'coregistrationToleranceMm must be a non-negative number.', received: tol });
  const settings: ImageSettings = {
    layout,
    shape: [...(o.shape ?? (layout === '3d' ? [16, 32, 32] : [32, 32]))],
    slices: o.slices ?? 4,
    fov: o.fov ?? 'cohort',
    fovMm: o.fovMm ?? 200,
    fovCentre: o.fovCentre ?? 'foreground',
    intensity: o.intensity ?? 'robust-z',
    skullStripped: o.skullStripped ?? false,
    backgroundFraction: o.backgroundFraction ?? 0.1,
    lowerPercentile: o.lowerPercentile ?? 1,
    upperPercentile: o.upperPercentile ?? 99,
    multiVolume,
    coregistrationToleranceMm: tol,
  };
  // A bad grid or intensity option is the caller's error, not a patient's: try it on a tiny volume first.
  const data = Float32Array.from({ length: 64 }, (_, i) => i % 7);
  preprocessNifti({ ...PROBE_VOLUME, data }, settings);
  return settings;
}

/** A 4 × 4 × 4 RAS volume to try the image options on. */
const PROBE_VOLUME: Omit<NiftiVolume, 'data'> = {
  format: 'NIfTI-1',
  compressed: false,
  dims: [4, 4, 4],
  ndim: 3,
  volumes: 1,
  volume: 0,
  voxelSize: [1, 1, 1],
  affine: [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ],
  affineSource: 'sform',
  datatypeCode: 16,
  datatype: 'float32',
  sclSlope: 1,
  sclInter: 0,
  orientation: 'RAS',
  obliquityDeg: 0,
  oblique: false,
  description: '',
  warnings: [],
};
