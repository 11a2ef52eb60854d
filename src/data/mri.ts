/**
 * The MRI of a synthetic patient: scanner effects (gains, noise, bias field, tissue contrast
 * jitter) drawn per patient, and the DWI/ADC rendering of the labelled voxel grid with Rician
 * DWI noise and Gaussian ADC noise.
 *
 * @packageDocumentation
 */
import type { Random } from '../core/random.js';
import type { ScannerEffects } from './cohort-types.js';
import { TISSUE, TISSUE_COUNT, TISSUE_INTENSITY, type GridGeometry } from './phantom.js';

/** One patient's scanner and contrast draws. @internal */
export interface ScannerDraw {
  scanner: ScannerEffects;
  tissueDwi: Float64Array;
  tissueAdc: Float64Array;
  acuteDwi: number;
  acuteAdc: number;
  oldAdc: number;
}

/**
 * Draws a patient's scanner effects and tissue contrasts from its own stream `sr`.
 * @internal
 */
export function drawScanner(sr: Random): ScannerDraw {
  const dwiGain = sr.logNormal(0, 0.2);
  const scanner: ScannerEffects = {
    dwiGain,
    adcGain: sr.normal(1, 0.03),
    dwiNoise: sr.uniform(0.012, 0.03) * dwiGain,
    adcNoise: sr.uniform(0.02, 0.05),
    biasField: [sr.normal(0, 0.08), sr.normal(0, 0.08), sr.normal(0, 0.08), sr.normal(0, 0.08)],
  };
  const tissueDwi = new Float64Array(TISSUE_COUNT);
  const tissueAdc = new Float64Array(TISSUE_COUNT);
  for (let t = 0; t < TISSUE_COUNT; t++) {
    tissueDwi[t] = TISSUE_INTENSITY.dwi[t]! * sr.logNormal(0, 0.04);
    tissueAdc[t] = TISSUE_INTENSITY.adc[t]! * sr.logNormal(0, 0.03);
  }
  const acuteDwi = sr.uniform(2.0, 3.0);
  const acuteAdc = sr.uniform(0.45, 0.65);
  const oldAdc = sr.uniform(2.0, 2.6);
  return { scanner, tissueDwi, tissueAdc, acuteDwi, acuteAdc, oldAdc };
}

/** The draws and the noise stream a rendering uses. @internal */
export interface RenderParams extends ScannerDraw {
  rng: Random;
}

/**
 * Renders one patient's DWI and ADC into `out` (the patient's slice of the cohort's images) from
 * the tissue labels and the lesion marks (1 acute, 2 old).
 * @internal
 */
export function renderImage(
  out: Float32Array,
  geometry: GridGeometry,
  tissue: Uint8Array,
  lesion: Uint8Array,
  r: RenderParams,
): void {
  const { depth, height, width, sliceZ, strides } = geometry;
  const [c0, c1, c2, c3] = r.scanner.biasField;
  const { dwiGain, adcGain, dwiNoise, adcNoise } = r.scanner;
  const rng = r.rng;
  // The bias field exp(c0·x + c1·y + c2·z + c3·(x² + y² + z² − 0.4)) is separable per axis.
  const bx = Float64Array.from({ length: width }, (_, j) => {
    const x = ((j + 0.5) / width) * 2 - 1;
    return Math.exp(c0 * x + c3 * x * x) * dwiGain;
  });
  const by = Float64Array.from({ length: height }, (_, i) => {
    const y = ((i + 0.5) / height) * 2 - 1;
    return Math.exp(c1 * y + c3 * y * y);
  });
  const acuteAdcValue = new Float64Array(TISSUE_COUNT);
  for (let t = 0; t < TISSUE_COUNT; t++) acuteAdcValue[t] = r.tissueAdc[t]! * r.acuteAdc;
  const twoPi = 2 * Math.PI;
  let v = 0;
  for (let k = 0; k < depth; k++) {
    const z = sliceZ[k]!;
    const bz = Math.exp(c2 * z + c3 * (z * z - 0.4));
    for (let i = 0; i < height; i++) {
      const byz = by[i]! * bz;
      const rowBase = k * strides[0] + i * strides[1];
      for (let j = 0; j < width; j++, v++) {
        const t = tissue[v]!;
        let dwi = r.tissueDwi[t]!;
        let adc = r.tissueAdc[t]!;
        const l = lesion[v]!;
        if (l === 1) {
          dwi *= r.acuteDwi;
          adc = acuteAdcValue[t]!;
        } else if (l === 2) {
          dwi *= 0.35;
          adc = r.oldAdc;
        }
        const s = dwi * bx[j]! * byz;
        // Box–Muller: one pair of uniforms gives the real and imaginary DWI noise.
        let u1 = rng.next();
        if (u1 === 0) u1 = Number.MIN_VALUE;
        const rad = Math.sqrt(-2 * Math.log(u1)) * dwiNoise;
        const ang = twoPi * rng.next();
        const re = s + rad * Math.cos(ang);
        const im = rad * Math.sin(ang);
        const a = (t === TISSUE.background ? 0 : adc * adcGain) + rng.normal(0, adcNoise);
        const base = rowBase + j * strides[2];
        out[base] = Math.sqrt(re * re + im * im);
        out[base + strides[3]] = a > 0 ? a : 0;
      }
    }
  }
}
