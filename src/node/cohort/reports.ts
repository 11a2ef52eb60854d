/**
 * The reports of a loaded cohort: the manifest's (its text column or report file) where a
 * patient has one, otherwise written by any `TextGenerator` (e.g. the OpenAI-compatible client
 * pointed at a local server) from a montage of the patient's axial slices, cached (a
 * `FileReportCache` makes a killed run resume where it stopped). A patient whose report cannot
 * be generated keeps no report, and is counted and listed: nothing is dropped silently.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';
import { generateReports, type ReportProgress } from '../../text/batch.js';
import type { ReportCache } from '../../text/cache.js';
import type { RawImage } from '../../text/images.js';
import type { ReportSchema } from '../../text/schema.js';
import type { TextGenerator } from '../../text/types.js';
import { resolveImageOptions } from './cohort-image-options.js';
import type { CohortPatient, LoadedCohort } from './load.js';
import { patientImage } from './patient-files.js';
import { pool } from './pool.js';

/** How the slices a generator sees are drawn. */
export interface ReportImageOptions {
  /** The sequence drawn. @defaultValue the schema's first sequence (e.g. DWI) */
  sequence?: string;
  /** Size of each slice, `[H, W]` pixels over the cohort's field of view. @defaultValue [128, 128] */
  shape?: readonly [number, number];
  /** Axial slices (inferior → superior, the cohort's slab), tiled in one montage. @defaultValue 6 */
  slices?: number;
}

/** Options of {@link cohortReports}. */
export interface CohortReportsOptions {
  /**
   * Writes the report of each patient without one in the manifest (the manifest's text or file
   * always wins). `null`: such patients keep no report.
   * @defaultValue null
   */
  generator?: TextGenerator | null;
  /** Where generated reports are kept; cached patients are not sent again (`FileReportCache` from `vdafm/node` persists it). @defaultValue none */
  cache?: ReportCache;
  /** The report schema the generator fills. @defaultValue strokeReportSchema */
  schema?: ReportSchema;
  /** The instruction sent with the slices. @defaultValue buildReportPrompt(schema) */
  prompt?: string;
  /** @defaultValue 0 */
  temperature?: number;
  /** @defaultValue 0 */
  seed?: number;
  /** Patients generated at once (the generator may limit its requests further). @defaultValue 2 */
  concurrency?: number;
  /** The slices sent to the generator. */
  images?: ReportImageOptions;
  /** Called after each generated (or cached, or failed) report. */
  onProgress?: (progress: ReportProgress) => void;
  /** Stops the generation (reports finished until then stay cached). */
  signal?: AbortSignal;
}

/** Where a patient's report came from. */
export type ReportOrigin = 'manifest' | 'generated' | 'cache' | 'failed' | 'none';

/** What {@link cohortReports} returns. */
export interface CohortReports {
  /** One per patient of `cohort.patients`, in order (null: no report). */
  readonly texts: Array<string | null>;
  /** Where each came from: the manifest, generated now, the cache, a failed generation, or none (no generator). */
  readonly origins: ReportOrigin[];
  /** How many patients of each origin. */
  readonly counts: Readonly<Record<ReportOrigin, number>>;
  /** The patients whose report could not be generated (they keep no report). */
  readonly failures: ReadonlyArray<{ readonly id: string; readonly row: number; readonly message: string }>;
  /** Whether any patient has a report (false: the cohort has no text modality). */
  readonly any: boolean;
}

/**
 * Draws the axial slices of one sequence of a 2D-layout image (`[H, W, S·Q]`, channel `s·Q + q`)
 * as one 8-bit montage (slices left to right, then top to bottom, inferior first; rows anterior →
 * posterior, columns patient right → left: the radiological view), windowed from the sequence's
 * 1st to its 99.5th percentile.
 *
 * @param image - the sample.
 * @param shape - `[H, W, S·Q]`.
 * @param sequences - Q.
 * @param sequence - q.
 * @throws `InvalidArgumentError` (argument `shape` or `sequence`).
 * @example
 * ```ts
 * const png = imageToPng(sliceMontage(image, [32, 32, 8], 2, 0)); // the 4 DWI slices, 2 × 2
 * ```
 */
export function sliceMontage(image: Float32Array, shape: readonly number[], sequences: number, sequence: number): RawImage {
  const [h, w, c] = shape;
  if (shape.length !== 3 || !h || !w || !c || c % sequences !== 0 || image.length !== h * w * c) {
    throw new InvalidArgumentError({ argument: 'shape', message: 'shape must be [H, W, S·Q] of a 2D-layout image with Q sequences.', received: shape });
  }
  if (!Number.isInteger(sequence) || sequence < 0 || sequence >= sequences) throw new InvalidArgumentError({ argument: 'sequence', message: `sequence must be an index below ${sequences}.`, received: sequence });
  const s = c / sequences;
  const values: number[] = [];
  for (let v = sequence; v < image.length; v += sequences) values.push(image[v]!);
  values.sort((a, b) => a - b);
  const lo = values[Math.floor(0.01 * (values.length - 1))]!;
  const hi = Math.max(lo + 1e-6, values[Math.floor(0.995 * (values.length - 1))]!);
  const cols = Math.ceil(Math.sqrt(s));
  const rows = Math.ceil(s / cols);
  const width = cols * w;
  const data = new Uint8Array(width * rows * h);
  for (let k = 0; k < s; k++) {
    const x0 = (k % cols) * w;
    const y0 = Math.floor(k / cols) * h;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const value = image[(i * w + j) * c + k * sequences + sequence]!;
        data[(y0 + i) * width + x0 + j] = Math.round(Math.min(1, Math.max(0, (value - lo) / (hi - lo))) * 255);
      }
    }
  }
  return { data, width, height: rows * h, channels: 1 };
}

/** The montage sent for one patient: its sequences preprocessed onto the rendering grid (through the cohort's volume cache). */
async function patientMontage(cohort: LoadedCohort, patient: CohortPatient, o: Required<ReportImageOptions>): Promise<RawImage> {
  const settings = resolveImageOptions({ ...cohort.imageOptions, layout: '2d', shape: [...o.shape], slices: o.slices });
  const image = await patientImage(patient, cohort.schema, settings, cohort.cache);
  if (!image.ok) throw new Error(`its image files changed after loading: ${image.problems.map((p) => p.message).join('; ')}`);
  const q = cohort.sequences.indexOf(o.sequence);
  return sliceMontage(image.data, [o.shape[0], o.shape[1], o.slices * cohort.sequences.length], cohort.sequences.length, q);
}

function resolveImages(cohort: LoadedCohort, images: ReportImageOptions = {}): Required<ReportImageOptions> {
  const sequence = images.sequence ?? cohort.sequences[0];
  if (sequence === undefined || !cohort.sequences.includes(sequence)) {
    throw new InvalidArgumentError({ argument: 'images.sequence', message: `images.sequence must be one of the cohort's sequences (${cohort.sequences.join(', ') || 'none'}).`, received: sequence });
  }
  const shape = images.shape ?? [128, 128];
  const slices = images.slices ?? 6;
  if (!Number.isInteger(slices) || slices < 1) throw new InvalidArgumentError({ argument: 'images.slices', message: 'images.slices must be a positive integer.', received: slices });
  return { sequence, shape, slices };
}

/**
 * Every patient's report: the manifest's where there is one, else generated by `generator`
 * (cached, resumable), else none. A failed generation leaves the patient without a report and is
 * listed in `failures` (with `origins[i] === 'failed'`).
 *
 * @param cohort - from `loadCohort` (its patients, in order).
 * @throws `InvalidArgumentError` for bad options (before any request); the generator's abort
 *   error when `signal` fires.
 * @example
 * ```ts
 * const generator = createOpenAICompatibleGenerator({ baseURL: 'http://127.0.0.1:11434/v1', model: 'qwen2.5vl:7b' });
 * const cache = await FileReportCache.open('out/reports-cache.jsonl');
 * const reports = await cohortReports(cohort, { generator, cache });
 * await cache.close();
 * console.log(reports.counts); // { manifest: 120, generated: 28, cache: 0, failed: 1, none: 0 }
 * ```
 */
export async function cohortReports(cohort: LoadedCohort, options: CohortReportsOptions = {}): Promise<CohortReports> {
  const generator = options.generator ?? null;
  const texts: Array<string | null> = cohort.patients.map((p) => p.report);
  const origins: ReportOrigin[] = texts.map((t) => (t !== null ? 'manifest' : generator ? 'failed' : 'none'));
  const failures: Array<{ id: string; row: number; message: string }> = [];
  const todo = cohort.patients.map((p, i) => ({ p, i })).filter(({ i }) => texts[i] === null);
  if (generator && todo.length > 0) {
    const images = resolveImages(cohort, options.images);
    const cases: Array<{ id: string; images: RawImage[]; source: CohortPatient; index: number }> = [];
    await pool(todo, 2, async ({ p, i }) => {
      try {
        cases.push({ id: p.id, images: [await patientMontage(cohort, p, images)], source: p, index: i });
      } catch (error) {
        failures.push({ id: p.id, row: p.row, message: `no slices to send: ${(error as Error).message}` });
      }
    });
    cases.sort((a, b) => a.index - b.index);
    const result = await generateReports(cases, generator, {
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.schema ? { schema: options.schema } : {}),
      ...(options.prompt !== undefined ? { prompt: options.prompt } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      temperature: options.temperature ?? 0,
      seed: options.seed ?? 0,
      concurrency: options.concurrency ?? 2,
    });
    for (const outcome of result.outcomes) {
      const c = cases.find((x) => x.id === outcome.id)!;
      if (outcome.ok) {
        texts[c.index] = outcome.result.text;
        origins[c.index] = outcome.cached ? 'cache' : 'generated';
      } else failures.push({ id: c.id, row: c.source.row, message: outcome.error.message });
    }
    failures.sort((a, b) => a.row - b.row);
  }
  const counts: Record<ReportOrigin, number> = { manifest: 0, generated: 0, cache: 0, failed: 0, none: 0 };
  for (const o of origins) counts[o]++;
  return { texts, origins, counts, failures, any: texts.some((t) => t !== null) };
}
