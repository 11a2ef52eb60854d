/**
 * Loading a cohort from a manifest: every row and every file is validated before anything is
 * returned (so before any training), each volume is preprocessed onto the model's grid (through
 * the bounded on-disk {@link VolumeCache} when one is given), and the result is what the
 * training code consumes: per patient the image in the synthetic cohort's layout, the clinical
 * row, the report text, the label, the id and the split, plus the `ColumnSpec`s for
 * `TabularPreprocessor`. Invalid patients either stop the load with one
 * {@link CohortValidationError} listing every problem, or (`skipInvalid`) are returned in
 * `excluded` with their reasons and optionally written to a file.
 *
 * The image options are in `cohort-image-options.ts`, one patient's files in
 * `patient-files.ts`, the cohort as model inputs and batches in `cohort-inputs.ts`.
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ColumnSpec } from '../../encoders/tabular/preprocessor.js';
import { InvalidArgumentError } from '../../errors.js';
import { VolumeCache } from './cache.js';
import { type CohortImageOptions, type ImageSettings, resolveImageOptions } from './cohort-image-options.js';
import { formatCsv } from './csv.js';
import { CohortValidationError, type CohortProblem } from './errors.js';
import { readManifest, validateManifest, type CohortRow, type InvalidRowFiles, type ManifestCheck } from './manifest.js';
import { type ImageResult, patientImage, readReport } from './patient-files.js';
import { pool } from './pool.js';
import { cohortColumnSpecs, parseCohortSchema, readCohortSchema, type CohortSchema, type ResolvedCohortSchema } from './schema.js';

/** Progress after each patient's files. */
export interface CohortLoadProgress {
  readonly done: number;
  readonly total: number;
  /** Patients whose image came from the cache so far. */
  readonly cached: number;
  /** Patients with a problem so far (row or file). */
  readonly invalid: number;
  readonly id: string | null;
}

/** Options of {@link loadCohort}. */
export interface LoadCohortOptions {
  /** The manifest: `.csv`, `.tsv`, `.jsonl` or `.ndjson`. */
  manifest: string;
  /**
   * The schema: a path to its JSON file or the schema object.
   * @defaultValue `<manifest folder>/schema.json`
   */
  schema?: string | CohortSchema;
  /** Manifest format, when the extension does not say. */
  format?: 'csv' | 'tsv' | 'jsonl';
  /** How volumes become images. @defaultValue 3D `[16, 32, 32]`, cohort field of view, robust z-score */
  image?: CohortImageOptions;
  /**
   * `false`: any invalid patient stops the load with a {@link CohortValidationError} listing
   * every problem. `true`: invalid patients are left out and listed in `excluded`.
   * @defaultValue false
   */
  skipInvalid?: boolean;
  /**
   * Where to write the invalid patients and their reasons (CSV, or JSON for `.json`), whether
   * the load goes on (`skipInvalid`) or stops. Written even when empty.
   * @defaultValue not written
   */
  exclusionsFile?: string;
  /** The on-disk cache of preprocessed images: an open cache or its folder. @defaultValue no cache */
  cache?: VolumeCache | string | null;
  /**
   * `true`: every image is kept in memory (`patient.image`). `false`: images are validated and
   * cached but not kept (`patient.image` is null): read them with `cohort.readImage` or stream
   * them with {@link cohortBatches}, for cohorts larger than memory (give a cache that holds the
   * cohort, or images are recomputed from the NIfTI files on every read).
   * @defaultValue true
   */
  keepImages?: boolean;
  /** Patients processed at once (file reads and gunzip overlap with preprocessing). @defaultValue 2 */
  concurrency?: number;
  /** Called after each patient's files. */
  onProgress?: (progress: CohortLoadProgress) => void;
}

/** One valid patient. */
export interface CohortPatient extends CohortRow {
  /** The report text (from the manifest's text column or its file), or null when there is none. */
  readonly report: string | null;
  /** The report file it came from, if any. */
  readonly reportFile: string | null;
  /** The preprocessed image in the cohort layout (`[D, H, W, Q]` or `[H, W, S·Q]`), or null without images or with `keepImages: false`. */
  readonly image: Float32Array | null;
  /** Cache key of the image (null without sequences). */
  readonly imageKey: string | null;
  /** What loading had to assume (oblique affine, first of several volumes, unknown spatial unit, ...). */
  readonly warnings: readonly string[];
}

/** One invalid patient and why. */
export interface ExcludedPatient {
  readonly row: number;
  readonly id: string | null;
  /** The first file concerned, if any. */
  readonly file?: string;
  /** Every reason, joined. */
  readonly reason: string;
  readonly problems: readonly CohortProblem[];
}

/** A loaded cohort (see {@link loadCohort}). */
export interface LoadedCohort {
  /** The manifest (absolute path). */
  readonly manifest: string;
  readonly schema: ResolvedCohortSchema;
  /** The valid patients, in manifest order. */
  readonly patients: readonly CohortPatient[];
  /** The invalid patients (only with `skipInvalid`; otherwise the load throws). */
  readonly excluded: readonly ExcludedPatient[];
  /** Column specs for `new TabularPreprocessor({ columns })` (categories fixed by the schema). */
  readonly columns: ColumnSpec[];
  /** Sequence names, in channel order. */
  readonly sequences: readonly string[];
  readonly layout: '2d' | '3d';
  /** Shape of one image (`[D, H, W, Q]` or `[H, W, S·Q]`), or null without sequences. */
  readonly imageShape: number[] | null;
  /** The image options in force (defaults filled in): they are part of every cache key. */
  readonly imageOptions: Readonly<Required<CohortImageOptions>>;
  /** Cohort-level notes (ignored manifest columns, patient warnings, the exclusions file). */
  readonly warnings: readonly string[];
  readonly cache: VolumeCache | null;
  /**
   * A patient's image: from memory (the cohort's own array: do not modify it), else from the
   * cache, else recomputed from its files.
   * @throws {@link CohortValidationError} when the files changed and are no longer valid.
   */
  readImage(patient: CohortPatient): Promise<Float32Array>;
}

/**
 * Groups problems by row into excluded patients.
 *
 * @example
 * ```ts
 * excludedPatients(error.problems).map((e) => e.reason);
 * ```
 */
export function excludedPatients(problems: readonly CohortProblem[]): ExcludedPatient[] {
  const byRow = new Map<number, CohortProblem[]>();
  for (const p of problems) byRow.set(p.row, [...(byRow.get(p.row) ?? []), p]);
  return [...byRow.entries()]
    .sort(([a], [b]) => a - b)
    .map(([row, list]) => {
      const file = list.find((p) => p.file)?.file;
      return { row, id: list[0]!.id, ...(file ? { file } : {}), reason: list.map((p) => `${p.kind}${p.column ? ` (${p.column})` : ''}: ${p.message}`).join('; '), problems: list };
    });
}

/**
 * Writes invalid patients and their reasons to a file, one line per problem: CSV (columns row,
 * id, kind, column, file, message) or, for a `.json` path, a JSON array of
 * {@link ExcludedPatient}. The write is atomic (temporary file + rename).
 *
 * @example
 * ```ts
 * await writeExclusions('out/excluded.csv', cohort.excluded);
 * ```
 */
export async function writeExclusions(file: string, excluded: readonly ExcludedPatient[]): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new InvalidArgumentError({ argument: 'file', message: 'file must be a non-empty path.', received: file });
  const content =
    path.extname(file).toLowerCase() === '.json'
      ? `${JSON.stringify(excluded, null, 2)}\n`
      : formatCsv([
          ['row', 'id', 'kind', 'column', 'file', 'message'],
          ...excluded.flatMap((e) => e.problems.map((p) => [String(p.row), p.id ?? '', p.kind, p.column ?? '', p.file ?? '', p.message])),
        ]);
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, content);
  await fs.rename(tmp, file);
}

/**
 * Loads a cohort: reads the schema and the manifest, validates every row and every file, and
 * preprocesses every image, before returning anything.
 *
 * Per patient it checks: the id (present, unique), the label (present, one of the schema's
 * values), each clinical cell (a number within its range, 0/1, a declared category), the
 * split, and each sequence file (present, readable, a NIfTI-1/2 file that is neither corrupt
 * nor truncated, gzip included, 3D, one volume unless `image.multiVolume: 'first'`, not
 * constant, on the same grid as the other sequences), and the report file. Each problem names the
 * row, the id, the column and the file.
 *
 * @returns the valid patients (image, clinical row, report, label, id, split), the excluded ones
 *   (with `skipInvalid`), the `ColumnSpec`s for `TabularPreprocessor`, and `readImage`.
 * @throws {@link CohortValidationError} with every problem when a patient is invalid and
 *   `skipInvalid` is not set (or when no patient is valid); {@link CohortSchemaError} for an
 *   invalid schema; {@link CohortManifestError} for an unreadable manifest;
 *   `InvalidArgumentError` for invalid options.
 * @example
 * ```ts
 * const cohort = await loadCohort({ manifest: 'cohort/manifest.csv', cache: '.vdafm-cache', skipInvalid: true, exclusionsFile: 'out/excluded.csv' });
 * const pre = new TabularPreprocessor({ columns: cohort.columns }).fit(cohort.patients.map((p) => p.clinical));
 * ```
 */
export async function loadCohort(options: LoadCohortOptions): Promise<LoadedCohort> {
  if (options == null || typeof options.manifest !== 'string' || options.manifest === '') {
    throw new InvalidArgumentError({ argument: 'manifest', message: 'manifest must be the path of a .csv, .tsv or .jsonl manifest.', received: options?.manifest });
  }
  const manifest = path.resolve(options.manifest);
  const settings = resolveImageOptions(options.image);
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError({ argument: 'concurrency', message: 'concurrency must be a positive integer.', received: concurrency });
  const keepImages = options.keepImages ?? true;
  const schema =
    typeof options.schema === 'object' && options.schema !== null
      ? parseCohortSchema(options.schema)
      : await readCohortSchema(options.schema ?? path.join(path.dirname(manifest), 'schema.json'));
  const cache = typeof options.cache === 'string' ? await VolumeCache.open(options.cache) : (options.cache ?? null);

  const table = await readManifest(manifest, schema, options.format ? { format: options.format } : {});
  const check = validateManifest(table, schema);
  const problems: CohortProblem[] = [...check.problems];
  const warnings: string[] = table.ignoredColumns.length ? [`manifest columns not in the schema (ignored): ${table.ignoredColumns.join(', ')}`] : [];
  const results = await readPatientFiles(check, { schema, settings, cache, concurrency, onProgress: options.onProgress });
  const patients: CohortPatient[] = [];
  for (const r of results) {
    problems.push(...r.problems);
    if (r.job.valid && !r.problems.length) patients.push(validPatient(r.job.valid, r.report, r.image, keepImages));
  }
  problems.sort((a, b) => a.row - b.row);
  const excluded = excludedPatients(problems);
  if (options.exclusionsFile !== undefined) {
    await writeExclusions(options.exclusionsFile, excluded);
    warnings.push(`${excluded.length} excluded patient(s) written to ${path.resolve(options.exclusionsFile)}`);
  }
  if (problems.length && (!options.skipInvalid || patients.length === 0)) {
    throw new CohortValidationError({ manifest, problems, patients: table.records.length });
  }
  for (const p of patients) for (const w of p.warnings) warnings.push(`row ${p.row} (id ${p.id}): ${w}`);
  return loadedCohort({ manifest, schema, patients, excluded, settings, warnings, cache });
}

/** A manifest row and its files: a valid row's, or an invalid row's (checked too, so that one run reports everything). */
type Job = { valid: CohortRow | null; where: InvalidRowFiles };

/** What the files of one row gave. */
type JobResult = { job: Job; report: Awaited<ReturnType<typeof readReport>>; image: ImageResult | null; problems: CohortProblem[] };

/** Reads every row's report and image files, `concurrency` rows at a time, in row order, reporting progress. */
async function readPatientFiles(
  check: ManifestCheck,
  o: { schema: ResolvedCohortSchema; settings: ImageSettings; cache: VolumeCache | null; concurrency: number; onProgress: LoadCohortOptions['onProgress'] },
): Promise<JobResult[]> {
  const { schema } = o;
  const invalidRows = new Set(check.problems.map((p) => p.row));
  const jobs: Job[] = [
    ...check.rows.map((r) => ({ valid: r, where: { row: r.row, id: r.id, files: r.files, reportSource: r.reportSource } })),
    ...check.invalidRowFiles.map((w) => ({ valid: null, where: w })),
  ].sort((a, b) => a.where.row - b.where.row);
  let done = 0;
  let cached = 0;
  return pool(jobs, o.concurrency, async (job) => {
    const jobProblems: CohortProblem[] = [];
    const report = await readReport(job.where, schema);
    if (report.problem) jobProblems.push(report.problem);
    let image: ImageResult | null = null;
    if (schema.sequences.length) {
      image = await patientImage(job.where, schema, o.settings, o.cache);
      if (!image.ok) jobProblems.push(...image.problems);
      else if (image.cached) cached++;
    }
    for (const p of jobProblems) invalidRows.add(p.row);
    done++;
    o.onProgress?.({ done, total: jobs.length, cached, invalid: invalidRows.size, id: job.where.id });
    return { job, report, image, problems: jobProblems };
  });
}

/** A valid row with its report and image (kept in memory with `keepImages`). */
function validPatient(row: CohortRow, report: JobResult['report'], image: ImageResult | null, keepImages: boolean): CohortPatient {
  const img = image && image.ok ? image : null;
  return {
    ...row,
    report: report.text,
    reportFile: report.file,
    image: img && keepImages ? img.data : null,
    imageKey: img?.key ?? null,
    warnings: img?.warnings ?? [],
  };
}

/** The {@link LoadedCohort}: its patients, shapes and `readImage` (memory, then the cache, then the files). */
function loadedCohort(c: {
  manifest: string;
  schema: ResolvedCohortSchema;
  patients: CohortPatient[];
  excluded: ExcludedPatient[];
  settings: ImageSettings;
  warnings: string[];
  cache: VolumeCache | null;
}): LoadedCohort {
  const { manifest, schema, patients, settings, cache } = c;
  const q = schema.sequences.length;
  const [a, b, d] = settings.shape;
  const imageShape = q === 0 ? null : settings.layout === '3d' ? [a!, b!, d!, q] : [a!, b!, settings.slices * q];
  const members = new Set(patients);
  return {
    manifest,
    schema,
    patients,
    excluded: c.excluded,
    columns: cohortColumnSpecs(schema),
    sequences: schema.sequences.map((s) => s.name),
    layout: settings.layout,
    imageShape,
    imageOptions: settings,
    warnings: c.warnings,
    cache,
    async readImage(patient: CohortPatient): Promise<Float32Array> {
      if (!members.has(patient)) throw new InvalidArgumentError({ argument: 'patient', message: 'patient must be one of this cohort’s patients.', received: patient?.id });
      if (patient.image) return patient.image;
      if (q === 0) throw new InvalidArgumentError({ argument: 'patient', message: 'this cohort has no image sequences.', received: patient.id });
      if (cache && patient.imageKey) {
        const hit = await cache.get(patient.imageKey);
        if (hit) return hit.data;
      }
      const again = await patientImage(patient, schema, settings, cache);
      if (!again.ok) throw new CohortValidationError({ manifest, problems: again.problems, patients: 1, outcome: 'its image was not in the cache and its files changed after loading' });
      return again.data;
    },
  };
}
