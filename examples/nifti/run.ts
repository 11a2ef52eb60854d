/**
 * Runs the vdafm image encoder on a real brain volume.
 *
 *   node --import tsx examples/nifti/run.ts <file.nii[.gz]> [--layout 2d|3d] [--bundle <dir>]
 *        [--adc <file.nii[.gz]>] [--png out.png] [--fov cohort|extent] [--seed 1] [--backend wasm|cpu]
 *
 * Prints the header (dims, voxel size, datatype, orientation), reorients to the synthetic
 * cohort's layout (LPS), resamples to the encoder's grid, z-scores the intensities, and runs
 * the image encoder: a fresh one (seeded) or, with `--bundle`, the image branch of a pipeline
 * saved by `savePipeline`, plus that model's prediction from the image alone (report and
 * clinical values passed as missing: masks all zeros). `--png` writes the middle slice after
 * preprocessing. See docs/guides/nifti.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { createImageEncoder, InvalidArgumentError, imageToPng, VdafmError } from '../../src/index.js';
import { loadPipeline, preprocessNifti, preprocessSequences, readNifti, toCohortLayout, type NiftiVolume, type Pipeline, type Preprocessed } from '../../src/node.js';

/** Options of {@link main} (what the command line sets). */
export interface RunOptions {
  /** The volume (first sequence; the cohort's DWI slot). */
  file: string;
  /** Optional second sequence (the cohort's ADC slot), same subject. */
  adc?: string;
  /** Encoder layout when no bundle is given. @defaultValue '3d' */
  layout?: '2d' | '3d';
  /** Folder written by `savePipeline`. */
  bundle?: string;
  /** Where to write the PNG of the middle slice. */
  png?: string;
  /** Field of view. @defaultValue 'cohort' */
  fov?: 'cohort' | 'extent';
  /** Seed of the fresh encoder. @defaultValue 1 */
  seed?: number;
  /** Sequences per slice of a 2D bundle's channels. @defaultValue 2 when its channel count is even, else 1 */
  sequences?: number;
  /**
   * tfjs backend the command line selects before {@link main} (main itself runs on the active
   * backend). wasm is about 15× faster than cpu for the 3D encoder.
   * @defaultValue 'wasm' (cpu when wasm cannot start)
   */
  backend?: 'cpu' | 'wasm';
}

/** What {@link main} computed (for tests). */
export interface RunResult {
  volume: NiftiVolume;
  /** The encoder's input sample shape (no batch axis). */
  inputShape: number[];
  tokensShape: number[];
  pooledShape: number[];
  /** Mean and standard deviation of the pooled vector. */
  pooledMean: number;
  pooledStd: number;
  /** With a bundle: P(poor outcome) (binary head) or class probabilities, from the image only. */
  probability?: number[];
  /** With a bundle that has an auxiliary image head: its probability. */
  auxiliaryImageProbability?: number[];
  /** The preprocessed image sample in the cohort layout. */
  sample: Float32Array;
  lines: string[];
}

const USAGE =
  'usage: node --import tsx examples/nifti/run.ts <file.nii[.gz]> [--layout 2d|3d] [--bundle <dir>] [--adc <file>] [--png out.png] [--fov cohort|extent] [--seed N] [--sequences N] [--backend wasm|cpu]';

/**
 * Parses the command line into {@link RunOptions}.
 *
 * @throws {@link InvalidArgumentError} naming the bad flag.
 * @example
 * ```ts
 * parseArgs(['brain.nii.gz', '--layout', '2d']); // { file: 'brain.nii.gz', layout: '2d' }
 * ```
 */
export function parseArgs(argv: readonly string[]): RunOptions {
  const out: Partial<RunOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new InvalidArgumentError({ argument: a, message: `${a} needs a value. ${USAGE}`, received: v });
      return v;
    };
    if (a === '--layout') {
      const v = value();
      if (v !== '2d' && v !== '3d') throw new InvalidArgumentError({ argument: a, message: "--layout must be '2d' or '3d'.", received: v });
      out.layout = v;
    } else if (a === '--fov') {
      const v = value();
      if (v !== 'cohort' && v !== 'extent') throw new InvalidArgumentError({ argument: a, message: "--fov must be 'cohort' or 'extent'.", received: v });
      out.fov = v;
    } else if (a === '--backend') {
      const v = value();
      if (v !== 'cpu' && v !== 'wasm') throw new InvalidArgumentError({ argument: a, message: "--backend must be 'cpu' or 'wasm'.", received: v });
      out.backend = v;
    } else if (a === '--bundle') out.bundle = value();
    else if (a === '--adc') out.adc = value();
    else if (a === '--png') out.png = value();
    else if (a === '--seed' || a === '--sequences') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < (a === '--seed' ? 0 : 1)) throw new InvalidArgumentError({ argument: a, message: `${a} must be an integer.`, received: v });
      if (a === '--seed') out.seed = v;
      else out.sequences = v;
    } else if (a.startsWith('--')) throw new InvalidArgumentError({ argument: a, message: `Unknown flag ${a}. ${USAGE}`, received: a });
    else if (out.file === undefined) out.file = a;
    else throw new InvalidArgumentError({ argument: 'file', message: `One volume only (the second sequence goes with --adc). ${USAGE}`, received: a });
  }
  if (out.file === undefined) throw new InvalidArgumentError({ argument: 'file', message: `No NIfTI file given. ${USAGE}` });
  return out as RunOptions;
}

const fmt = (v: number, digits = 3) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(digits)).toString());

/**
 * Header lines of a volume, as the command line prints them (dims, voxel size, datatype,
 * scaling, affine, orientation and obliquity, warnings).
 *
 * @example
 * ```ts
 * describeVolume('ch2bet.nii.gz', readNifti(bytes))[3]; // '  orientation RAS (i → R, j → A, k → S), obliquity 0.00°'
 * ```
 */
export function describeVolume(name: string, v: NiftiVolume): string[] {
  const lines = [
    `${name}: ${v.format}${v.compressed ? ' (gzip)' : ''}${v.description ? `, "${v.description}"` : ''}`,
    `  dims ${v.dims.join(' × ')}${v.volumes > 1 ? ` (volume ${v.volume} of ${v.volumes})` : ''}, voxel ${v.voxelSize.map((s) => fmt(s)).join(' × ')} mm, datatype ${v.datatype} (code ${v.datatypeCode}), scl_slope ${fmt(v.sclSlope)}, scl_inter ${fmt(v.sclInter)}`,
    `  affine (${v.affineSource}, voxel → RAS+ mm): ${v.affine
      .slice(0, 3)
      .map((r) => `[${r.map((x) => fmt(x, 4)).join(', ')}]`)
      .join(' ')}`,
    `  orientation ${v.orientation} (i → ${v.orientation[0]}, j → ${v.orientation[1]}, k → ${v.orientation[2]}), obliquity ${v.obliquityDeg.toFixed(2)}°${v.oblique ? ' (OBLIQUE)' : ''}`,
  ];
  for (const w of v.warnings) lines.push(`  warning: ${w}`);
  return lines;
}

function describePre(p: Preprocessed, layout: '2d' | '3d'): string[] {
  const o = p.oriented;
  const names = ['i', 'j', 'k'];
  const axes = ['W (columns → L)', 'H (rows → P)', 'D (slices → S)'].map((label, m) => `${label} = ${o.flipped[m] ? '−' : ''}${names[o.sourceAxes[m]!]}`);
  const s = p.stats!;
  return [
    `reoriented to LPS, the cohort's layout: ${axes.join(', ')}; [D, H, W] = [${o.shape.join(', ')}], spacing ${o.spacing.map((x) => fmt(x)).join(' × ')} mm`,
    `  field of view centre (foreground box centre) at voxel [${p.centre.map((c) => fmt(c, 4)).join(', ')}]; ${layout === '3d' ? `3D grid [D, H, W] = [${p.shape.join(', ')}]` : `2D: ${p.shape[0]} axial slices of ${p.shape[1]} × ${p.shape[2]}`}, step ${p.grid.step.map((x) => fmt(x)).join(' × ')} source voxels`,
    `  intensities: foreground ${(100 * s.foregroundFraction).toFixed(1)} % (above ${fmt(s.threshold, 4)}), clipped to [P1, P99] = [${fmt(s.lower, 4)}, ${fmt(s.upper, 4)}], z-scored with mean ${fmt(s.mean, 4)}, sd ${fmt(s.std, 4)}`,
  ];
}

function findLayer(model: tfl.LayersModel, name: string): tfl.layers.Layer | null {
  for (const layer of model.layers) {
    if (layer.name === name) return layer;
    const nested = layer as unknown as tfl.LayersModel;
    if (Array.isArray(nested.layers)) {
      const found = findLayer(nested, name);
      if (found) return found;
    }
  }
  return null;
}

/** Middle slice of a sample's first sequence as a PNG (min–max window, nearest-neighbour upscaled to ≥ 256 px). */
function middleSlicePng(pre: Float32Array, shape: readonly number[]): Uint8Array {
  const [d, h, w] = shape as [number, number, number];
  const z = Math.floor(d / 2);
  const slice = pre.subarray(z * h * w, (z + 1) * h * w);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of slice) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  const k = Math.max(1, Math.ceil(256 / w));
  const out = new Float32Array(h * k * w * k);
  for (let y = 0; y < h * k; y++) {
    for (let x = 0; x < w * k; x++) out[y * w * k + x] = hi > lo ? (slice[Math.floor(y / k) * w + Math.floor(x / k)]! - lo) / (hi - lo) : 0;
  }
  return imageToPng({ data: out, width: w * k, height: h * k });
}

/**
 * The example's whole run: read, preprocess, encode, and with a bundle predict from the image
 * alone, on the active tfjs backend. Every line printed goes to `log`.
 *
 * @throws {@link InvalidArgumentError} for unreadable files, a bundle without an image branch,
 *   or a second sequence the model cannot take.
 * @example
 * ```ts
 * const result = await main(parseArgs(['brain.nii.gz', '--layout', '2d']));
 * result.tokensShape; // [1, 64, 64]
 * ```
 */
export async function main(options: RunOptions, log: (line: string) => void = (l) => console.log(l)): Promise<RunResult> {
  const lines: string[] = [];
  const say = (l: string) => {
    lines.push(l);
    log(l);
  };
  const read = (file: string) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new InvalidArgumentError({ argument: 'file', message: `Cannot read ${file}: ${(error as Error).message}.`, received: file, cause: error });
    }
    return readNifti(bytes);
  };
  const volume = read(options.file);
  describeVolume(basename(options.file), volume).forEach(say);
  const adcVolume = options.adc ? read(options.adc) : null;
  if (adcVolume && options.adc) describeVolume(basename(options.adc), adcVolume).forEach(say);

  // The encoder's input: from the bundle's image input, else from --layout.
  const pipeline = options.bundle ? await loadPipeline(options.bundle) : null;
  try {
    return await encode(options, volume, adcVolume, pipeline, say, lines);
  } finally {
    pipeline?.model.dispose();
  }
}

async function encode(
  options: RunOptions,
  volume: NiftiVolume,
  adcVolume: NiftiVolume | null,
  pipeline: Pipeline | null,
  say: (line: string) => void,
  lines: string[],
): Promise<RunResult> {
  let layout: '2d' | '3d' = options.layout ?? '3d';
  let gridShape: number[] = layout === '3d' ? [16, 32, 32] : [32, 32];
  let slices = 4;
  let sequences = adcVolume ? 2 : 1;
  if (pipeline) {
    const tm = pipeline.model;
    const index = tm.inputNames.indexOf('image');
    if (index < 0) throw new InvalidArgumentError({ argument: '--bundle', message: `The bundle's model has no image branch (modalities ${tm.modalities.join(', ')}).`, received: options.bundle });
    const shape = (tm.model.inputs[index]!.shape as number[]).slice(1);
    if (shape.length === 4) {
      layout = '3d';
      gridShape = shape.slice(0, 3);
      sequences = shape[3]!;
    } else {
      layout = '2d';
      gridShape = shape.slice(0, 2);
      sequences = options.sequences ?? (shape[2]! % 2 === 0 ? 2 : 1);
      if (shape[2]! % sequences !== 0) throw new InvalidArgumentError({ argument: '--sequences', message: `The bundle's ${shape[2]} image channels are not a multiple of ${sequences} sequences.`, received: sequences });
      slices = shape[2]! / sequences;
    }
    if (options.layout && options.layout !== layout) say(`note: --layout ${options.layout} ignored, the bundle's image input is ${layout}`);
    if (adcVolume && sequences < 2) throw new InvalidArgumentError({ argument: '--adc', message: `The bundle's image input takes ${sequences} sequence(s) per slice; --adc needs 2.`, received: options.adc });
  }
  const preOptions = { layout, shape: gridShape, slices, fov: options.fov ?? 'cohort' } as const;
  const pre = preprocessNifti(volume, preOptions);
  describePre(pre, layout).forEach(say);
  const channels = [pre.data];
  if (adcVolume) {
    // the second sequence on the first one's grid (co-registered sequences stay aligned)
    const both = preprocessSequences([volume, adcVolume], preOptions);
    const adcStats = both.stats[1]!;
    say(`  ${basename(options.adc!)}: on the same grid; foreground ${(100 * adcStats.foregroundFraction).toFixed(1)} %, clipped to [${fmt(adcStats.lower, 4)}, ${fmt(adcStats.upper, 4)}], mean ${fmt(adcStats.mean, 4)}, sd ${fmt(adcStats.std, 4)}`);
    channels.push(both.channels[1]!);
  }
  while (channels.length < sequences) {
    say(`warning: the model takes ${sequences} sequences (the cohort's DWI, ADC); sequence ${channels.length} is missing and filled with zeros`);
    channels.push(new Float32Array(pre.data.length));
  }
  const sample = toCohortLayout(channels, pre.shape, layout);
  if (options.png) {
    writeFileSync(options.png, middleSlicePng(pre.data, pre.shape));
    say(`png: middle ${layout === '3d' ? 'slice' : 'axial slice'} ${Math.floor(pre.shape[0] / 2)} of [${pre.shape.join(', ')}] after preprocessing → ${options.png}`);
  }

  const image = tf.tensor(sample.data, [1, ...sample.shape]);
  const result: RunResult = { volume, inputShape: sample.shape, tokensShape: [], pooledShape: [], pooledMean: NaN, pooledStd: NaN, sample: sample.data, lines };
  try {
    let tokens: tf.Tensor;
    let pooled: tf.Tensor;
    let disposeEncoder = () => {};
    if (pipeline) {
      const name = pipeline.model.groupLayerNames()['image']?.[0];
      const layer = name ? findLayer(pipeline.model.model, name) : null;
      if (!layer) throw new InvalidArgumentError({ argument: '--bundle', message: "The bundle's image encoder layer was not found.", received: name });
      [tokens, pooled] = layer.apply(image) as tf.Tensor[] as [tf.Tensor, tf.Tensor];
      say(`image encoder: the bundle's image branch (${layer.name}), input [${image.shape.join(', ')}], ${tf.getBackend()} backend`);
    } else {
      const seed = options.seed ?? 1;
      const enc = createImageEncoder({ inputShape: sample.shape, spatialDims: layout === '3d' ? 3 : 2, widths: [16, 32, 64], strides: [1, 2, 2], seed });
      [tokens, pooled] = enc.model.predict(image) as tf.Tensor[] as [tf.Tensor, tf.Tensor];
      disposeEncoder = () => enc.model.dispose();
      say(`image encoder: fresh (seed ${seed}, widths [16, 32, 64], strides [1, 2, 2]), input [${image.shape.join(', ')}], ${tf.getBackend()} backend`);
    }
    const [mean, variance] = tf.tidy(() => {
      const m = tf.moments(pooled);
      return [m.mean.dataSync()[0]!, m.variance.dataSync()[0]!];
    });
    result.tokensShape = tokens.shape;
    result.pooledShape = pooled.shape;
    result.pooledMean = mean;
    result.pooledStd = Math.sqrt(variance);
    say(`  tokens [${tokens.shape.join(', ')}], pooled [${pooled.shape.join(', ')}] (pooled mean ${fmt(mean, 4)}, sd ${fmt(result.pooledStd, 4)})`);
    tf.dispose([tokens, pooled]);
    disposeEncoder();

    if (pipeline) {
      const tm = pipeline.model;
      const zeros = (name: string) => tf.zeros([1, ...(tm.model.inputs[tm.inputNames.indexOf(name as never)]!.shape as number[]).slice(1)]);
      const batch = {
        image,
        ...(tm.inputNames.includes('textIds') ? { textIds: zeros('textIds'), textMask: zeros('textMask') } : {}),
        ...(tm.inputNames.includes('clinicalValues') ? { clinicalValues: zeros('clinicalValues'), clinicalMask: zeros('clinicalMask') } : {}),
      };
      const out = tm.predict(batch, { auxiliary: true });
      result.probability = Array.from(out.probabilities.dataSync());
      const missing = tm.modalities.filter((m) => m !== 'image');
      say(
        `prediction from the IMAGE ONLY (${missing.length ? `${missing.join(' and ')} passed as missing, masks all zeros` : 'image-only model'}; ${tm.headType} head): ${
          tm.headType === 'binary' ? `P(poor outcome) = ${result.probability[0]!.toFixed(4)}` : `class probabilities [${result.probability.map((p) => p.toFixed(3)).join(', ')}]`
        }`,
      );
      const aux = out.auxiliary?.image;
      if (aux) {
        result.auxiliaryImageProbability = Array.from(aux.dataSync());
        say(`  auxiliary image head: ${result.auxiliaryImageProbability.map((p) => p.toFixed(4)).join(', ')}`);
      }
      say('  (a model trained on the synthetic cohort has never seen a real scan: these numbers test the plumbing, they are not a prognosis)');
      tf.dispose([out.probabilities, ...Object.values(out.auxiliary ?? {}), ...Object.entries(batch).filter(([k]) => k !== 'image').map(([, t]) => t)]);
    }
  } finally {
    image.dispose();
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  tf.enableProdMode();
  try {
    const options = parseArgs(process.argv.slice(2));
    if (!(options.backend !== 'cpu' && (await tf.setBackend('wasm')))) await tf.setBackend('cpu');
    await tf.ready();
    await main(options);
  } catch (error) {
    if (VdafmError.isInstance(error)) {
      console.error(`error: ${error.message}`);
      process.exitCode = 1;
    } else throw error;
  }
}
