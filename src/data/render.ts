/**
 * Renders one axial slice of a patient image as an 8-bit grey picture (for LLM prompts,
 * overlays and previews).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import type { PatientImage } from './cohort.js';
import { findingsExtractor } from './findings.js';
import { gridGeometry } from './phantom.js';

/** An 8-bit grey image, row-major, `width × height` bytes. */
export interface GreyImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Options of {@link renderSlice}. */
export interface RenderSliceOptions {
  /**
   * Sequence(s) to draw; `'both'` puts DWI and ADC side by side (width doubled).
   * @defaultValue 'DWI'
   */
  sequence?: 'DWI' | 'ADC' | 'both';
  /**
   * Slice index (0 = most inferior). Default: the representative slice, i.e. the slice through
   * the centroid of the largest acute lesion measured by `findingsExtractor`, else the slice
   * nearest the basal ganglia (z = 0.1 U).
   */
  slice?: number;
  /**
   * Integer nearest-neighbour upscaling factor.
   * @defaultValue 1
   */
  scale?: number;
}

/**
 * Renders one axial slice to 8-bit grey. Each sequence is windowed from 0 to its 99.5th
 * percentile over the whole image (so the slice shows the lesion with the image's own
 * contrast). Rows go anterior → posterior, columns patient right → left (radiological view).
 *
 * @param image - one patient image (see `cohortImage`).
 * @returns `{ data, width, height }` (`width = W·scale`, doubled for `'both'`).
 * @throws {@link InvalidArgumentError} (argument `image.shape`, `slice`, `sequence` or `scale`).
 * @example
 * ```ts
 * const cohort = generateSyntheticCohort({ patients: 1, seed: 2 });
 * const png = renderSlice(cohortImage(cohort, 0), { sequence: 'both', scale: 4 });
 * [png.width, png.height]; // [256, 128]
 * ```
 */
export function renderSlice(image: PatientImage, options: RenderSliceOptions = {}): GreyImage {
  let g;
  try {
    g = gridGeometry(image.shape, image.layout);
  } catch (e) {
    throw new InvalidArgumentError({ argument: 'image.shape', message: 'image.shape does not fit image.layout.', received: image.shape, cause: e });
  }
  const sequence = options.sequence ?? 'DWI';
  if (sequence !== 'DWI' && sequence !== 'ADC' && sequence !== 'both') {
    throw new InvalidArgumentError({ argument: 'sequence', message: "sequence must be 'DWI', 'ADC' or 'both'.", received: sequence });
  }
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 32) {
    throw new InvalidArgumentError({ argument: 'scale', message: 'scale must be an integer in [1, 32].', received: scale });
  }
  let slice = options.slice;
  if (slice === undefined) {
    const m = findingsExtractor.measure(image);
    const lesion = m.components.filter((c) => c.kind === 'acute').sort((a, b) => b.voxelCount - a.voxelCount)[0];
    if (lesion) slice = lesion.slice;
    else {
      let best = 0;
      for (let k = 1; k < g.depth; k++) if (Math.abs(g.sliceZ[k]! - 0.1) < Math.abs(g.sliceZ[best]! - 0.1)) best = k;
      slice = best;
    }
  }
  if (!Number.isInteger(slice) || slice < 0 || slice >= g.depth) {
    throw new InvalidArgumentError({ argument: 'slice', message: `slice must be an integer in [0, ${g.depth}).`, received: slice });
  }
  const seqs = sequence === 'both' ? [0, 1] : [sequence === 'DWI' ? 0 : 1];
  const { height, width, strides } = g;
  const outW = width * scale * seqs.length;
  const outH = height * scale;
  const data = new Uint8Array(outW * outH);
  seqs.forEach((q, panel) => {
    const all: number[] = [];
    for (let v = q; v < image.data.length; v += 2) all.push(image.data[v]!);
    all.sort((a, b) => a - b);
    const top = Math.max(1e-9, all[Math.floor(0.995 * (all.length - 1))]!);
    for (let i = 0; i < height; i++)
      for (let j = 0; j < width; j++) {
        const value = image.data[slice! * strides[0] + i * strides[1] + j * strides[2] + q * strides[3]]!;
        const byte = Math.round(Math.min(1, Math.max(0, value / top)) * 255);
        for (let a = 0; a < scale; a++)
          for (let b = 0; b < scale; b++) data[(i * scale + a) * outW + panel * width * scale + j * scale + b] = byte;
      }
  });
  return { data, width: outW, height: outH };
}
