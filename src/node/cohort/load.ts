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
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../../core/random.js';
import type { ColumnSpec, TabularPreprocessor } from '../../encoders/tabular/preprocessor.js';
import type { WordPieceTokenizer } from '../../encoders/text/tokenizer.js';
import { InvalidArgumentError } from '../../errors.js';
import { prepareTriModalData, type RawTriModalInputs, type TriModalData } from '../../models/data.js';
import { VolumeCache, volumeCacheKey } from './cache.js';
import { formatCsv } from './csv.js';
import { CohortValidationError, NiftiFormatError, type CohortProblem, type CohortProblemKind } from './errors.js';
import { readManifest, validateManifest, type CohortRow, type InvalidRowFiles } from './manifest.js';
import { decodeNifti, type NiftiVolume } from './nifti.js';
import { preprocessNifti, preprocessSequences, sequenceMismatch, type PreprocessOptions } from './preprocess.js';
import { cohortColumnSpecs, parseCohortSchema, readCohortSchema, type CohortSchema, type ResolvedCohortSchema } from './schema.js';

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

type ImageSettings = LoadedCohort['imageOptions'];

function resolveImageOptions(o: CohortImageOptions = {}): ImageSettings {
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

/** Runs `fn` over items with at most `limit` in flight; results in item order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function fileProblemKind(error: unknown): CohortProblemKind {
  return (error as { code?: string }).code === 'ENOENT' ? 'missing-file' : 'unreadable-file';
}

/** Whether a volume holds at least two distinct finite values. */
function hasContrast(data: Float32Array): boolean {
  let first = NaN;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) continue;
    if (Number.isNaN(first)) first = v;
    else if (v !== first) return true;
  }
  return false;
}

type ImageResult = { ok: true; data: Float32Array; key: string; warnings: string[]; cached: boolean } | { ok: false; problems: CohortProblem[] };

/** Reads, checks and preprocesses one patient's sequences (through the cache). */
async function patientImage(
  where: { row: number; id: string | null; files: Readonly<Record<string, string>> },
  schema: ResolvedCohortSchema,
  settings: ImageSettings,
  cache: VolumeCache | null,
): Promise<ImageResult> {
  const problems: CohortProblem[] = [];
  const problem = (kind: CohortProblemKind, sequence: string, message: string) =>
    problems.push({ row: where.row, id: where.id, kind, column: schema.sequences.find((s) => s.name === sequence)?.column ?? sequence, file: where.files[sequence]!, message });
  const names = schema.sequences.map((s) => s.name).filter((n) => where.files[n] !== undefined);
  const bytes = await Promise.all(
    names.map(async (name) => {
      try {
        return await fs.readFile(where.files[name]!);
      } catch (error) {
        const kind = fileProblemKind(error);
        problem(kind, name, kind === 'missing-file' ? `the ${name} file does not exist` : `the ${name} file cannot be read (${(error as Error).message})`);
        return null;
      }
    }),
  );
  if (problems.length || names.length !== schema.sequences.length) return { ok: false, problems };
  const key = volumeCacheKey(
    bytes.map((b) => createHash('sha256').update(b!).digest('hex')),
    settings,
  );
  const hit = await cache?.get(key);
  if (hit) return { ok: true, data: hit.data, key, warnings: (hit.meta?.['warnings'] as string[] | undefined) ?? [], cached: true };

  const volumes: Array<NiftiVolume | null> = await Promise.all(
    names.map(async (name, i) => {
      try {
        return await decodeNifti(bytes[i]!);
      } catch (error) {
        if (!NiftiFormatError.isInstance(error)) throw error;
        problem(error.kind, name, error.reason);
        return null;
      }
    }),
  );
  const warnings: string[] = [];
  names.forEach((name, i) => {
    const v = volumes[i];
    if (!v) return;
    if (v.ndim < 3 || v.dims.some((d) => d < 2)) {
      problem('wrong-dimensionality', name, `a ${v.dims.filter((d) => d > 1).length}D image (dims ${v.dims.join('×')}, dim[0] = ${v.ndim}) where a 3D volume with at least 2 voxels per axis is needed`);
    } else if (v.volumes > 1 && settings.multiVolume === 'error') {
      problem('multiple-volumes', name, `the file holds ${v.volumes} volumes (a ${v.ndim}D series); give one 3D volume per sequence (e.g. the b = 1000 image of a diffusion series), or load with image.multiVolume: 'first'`);
    } else if (!hasContrast(v.data)) {
      problem('empty-image', name, `every voxel has the same value: there is no image`);
    }
    for (const w of v.warnings) warnings.push(`${name}: ${w}`);
  });
  if (problems.length) return { ok: false, problems };
  const mismatch = sequenceMismatch(volumes as NiftiVolume[], names, settings.coregistrationToleranceMm);
  if (mismatch) {
    const bad = names.find((n) => mismatch.startsWith(`${n} `)) ?? names[names.length - 1]!;
    problem('mismatched-sequences', bad, `${mismatch}; vdafm assumes the sequences of a patient are co-registered on one grid (resample them onto one first)`);
    return { ok: false, problems };
  }
  const sample = preprocessSequences(volumes as NiftiVolume[], settings);
  await cache?.set(key, { data: sample.data, shape: sample.shape, meta: { warnings } });
  return { ok: true, data: sample.data, key, warnings, cached: false };
}

async function readReport(where: { row: number; id: string | null; reportSource: CohortRow['reportSource'] }, schema: ResolvedCohortSchema): Promise<{ text: string | null; file: string | null; problem?: CohortProblem }> {
  const r = where.reportSource;
  if (r === null) return { text: null, file: null };
  if ('text' in r) return { text: r.text, file: null };
  try {
    return { text: await fs.readFile(r.file, 'utf8'), file: r.file };
  } catch (error) {
    const kind = fileProblemKind(error);
    return {
      text: null,
      file: r.file,
      problem: { row: where.row, id: where.id, kind, column: schema.report!.file!, file: r.file, message: kind === 'missing-file' ? 'the report file does not exist' : `the report file cannot be read (${(error as Error).message})` },
    };
  }
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
  const invalidRows = new Set(check.problems.map((p) => p.row));

  type Job = { valid: CohortRow | null; where: InvalidRowFiles };
  const jobs: Job[] = [
    ...check.rows.map((r) => ({ valid: r, where: { row: r.row, id: r.id, files: r.files, reportSource: r.reportSource } })),
    ...check.invalidRowFiles.map((w) => ({ valid: null, where: w })),
  ].sort((a, b) => a.where.row - b.where.row);
  let done = 0;
  let cached = 0;
  const results = await pool(jobs, concurrency, async (job) => {
    const jobProblems: CohortProblem[] = [];
    const report = await readReport(job.where, schema);
    if (report.problem) jobProblems.push(report.problem);
    let image: ImageResult | null = null;
    if (schema.sequences.length) {
      image = await patientImage(job.where, schema, settings, cache);
      if (!image.ok) jobProblems.push(...image.problems);
      else if (image.cached) cached++;
    }
    for (const p of jobProblems) invalidRows.add(p.row);
    done++;
    options.onProgress?.({ done, total: jobs.length, cached, invalid: invalidRows.size, id: job.where.id });
    return { job, report, image, problems: jobProblems };
  });

  const patients: CohortPatient[] = [];
  for (const r of results) {
    problems.push(...r.problems);
    if (!r.job.valid || r.problems.length) continue;
    const img = r.image && r.image.ok ? r.image : null;
    patients.push({
      ...r.job.valid,
      report: r.report.text,
      reportFile: r.report.file,
      image: img && keepImages ? img.data : null,
      imageKey: img?.key ?? null,
      warnings: img?.warnings ?? [],
    });
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

  const q = schema.sequences.length;
  const [a, b, c] = settings.shape;
  const imageShape = q === 0 ? null : settings.layout === '3d' ? [a!, b!, c!, q] : [a!, b!, settings.slices * q];
  const members = new Set(patients);
  const cohort: LoadedCohort = {
    manifest,
    schema,
    patients,
    excluded,
    columns: cohortColumnSpecs(schema),
    sequences: schema.sequences.map((s) => s.name),
    layout: settings.layout,
    imageShape,
    imageOptions: settings,
    warnings,
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
  return cohort;
}

/** Which patients: all, the ones of a split, or an explicit list. */
export type PatientSelection = readonly CohortPatient[] | 'train' | 'val' | 'test' | 'all';

function select(cohort: LoadedCohort, which: PatientSelection = 'all'): readonly CohortPatient[] {
  if (which === 'all') return cohort.patients;
  if (which === 'train' || which === 'val' || which === 'test') return cohort.patients.filter((p) => p.split === which);
  if (!Array.isArray(which)) throw new InvalidArgumentError({ argument: 'patients', message: "patients must be 'all', 'train', 'val', 'test' or an array of the cohort's patients.", received: which });
  return which;
}

/** A modality of the tri-modal model's inputs. */
export type CohortModality = 'image' | 'clinical' | 'text';

/** Options of {@link cohortInputs}. */
export interface CohortInputsOptions {
  /** Which patients. @defaultValue 'all' */
  patients?: PatientSelection;
  /**
   * Which inputs to include.
   * @defaultValue every modality the cohort has (image with sequences, clinical with clinical columns, text with a report column)
   */
  modalities?: readonly CohortModality[];
  /**
   * `'binary'`: the positive class (0/1, for a binary head). `'index'`: the index of the label
   * value in the schema (e.g. mRS 0–6, for an ordinal head).
   * @defaultValue 'binary'
   */
  labels?: 'binary' | 'index';
}

/**
 * The raw inputs of `prepareTriModalData` for some patients, in memory: images concatenated
 * (`n · prod(imageShape)`), clinical rows, report texts (null when missing), as `modalities`
 * says, and labels.
 *
 * @throws `InvalidArgumentError` (argument `modalities`) for a modality the cohort lacks.
 * @example
 * ```ts
 * const raw = await cohortInputs(cohort, { patients: 'train' });
 * const data = prepareTriModalData(raw, { preprocessor, tokenizer });
 * ```
 */
export async function cohortInputs(cohort: LoadedCohort, options: CohortInputsOptions = {}): Promise<RawTriModalInputs> {
  const patients = select(cohort, options.patients);
  const labelOf = labelGetter(options.labels);
  const modalities = checkModalities(cohort, options.modalities ?? cohortModalities(cohort));
  return rawInputs(cohort, patients, modalities, labelOf);
}

/** The raw inputs of some patients: labels, and the modalities asked for (images read 4 at a time). */
async function rawInputs(cohort: LoadedCohort, patients: readonly CohortPatient[], modalities: ReadonlySet<CohortModality>, labelOf: (p: CohortPatient) => number): Promise<RawTriModalInputs> {
  const raw: { -readonly [K in keyof RawTriModalInputs]: RawTriModalInputs[K] } = { labels: Float32Array.from(patients, labelOf) };
  if (modalities.has('clinical')) raw.rows = patients.map((p) => p.clinical);
  if (modalities.has('text')) raw.reports = patients.map((p) => p.report);
  if (modalities.has('image')) {
    const per = cohort.imageShape!.reduce((x, y) => x * y, 1);
    const images = new Float32Array(per * patients.length);
    const arrays = await pool(patients, 4, (p) => cohort.readImage(p));
    arrays.forEach((a, i) => images.set(a, i * per));
    raw.images = images;
    raw.imageShape = cohort.imageShape!;
  }
  return raw;
}

/** The modalities a cohort has: image (sequences), clinical (clinical columns), text (a report column). */
function cohortModalities(cohort: LoadedCohort): CohortModality[] {
  return [...(cohort.imageShape ? ['image' as const] : []), ...(cohort.schema.columns.length ? ['clinical' as const] : []), ...(cohort.schema.report ? ['text' as const] : [])];
}

function checkModalities(cohort: LoadedCohort, modalities: readonly CohortModality[]): Set<CohortModality> {
  const has = new Set(cohortModalities(cohort));
  if (!Array.isArray(modalities) || modalities.some((m) => !has.has(m))) {
    throw new InvalidArgumentError({ argument: 'modalities', message: `modalities must be a list of the cohort's modalities (${[...has].join(', ') || 'none'}).`, received: modalities });
  }
  return new Set(modalities);
}

function labelGetter(labels: 'binary' | 'index' = 'binary'): (p: CohortPatient) => number {
  if (labels !== 'binary' && labels !== 'index') throw new InvalidArgumentError({ argument: 'labels', message: "labels must be 'binary' or 'index'.", received: labels });
  return labels === 'binary' ? (p) => p.label : (p) => p.labelIndex;
}

/** Options of {@link cohortBatches}. */
export interface CohortBatchesOptions extends CohortInputsOptions {
  /** Patients per batch (the last batch may be smaller). @defaultValue 16 */
  batchSize?: number;
  /** Shuffle the patients at every epoch (seeded: epoch e uses seed + e). @defaultValue true */
  shuffle?: boolean;
  /** @defaultValue 0 */
  seed?: number;
  /** The fitted preprocessor, needed for the clinical modality (`clinicalValues` / `clinicalMask`). */
  preprocessor?: TabularPreprocessor;
  /** The tokenizer, needed for the text modality (`textIds` / `textMask`, an all-zero mask for a missing report). */
  tokenizer?: WordPieceTokenizer;
  /**
   * Which inputs the batches hold.
   * @defaultValue the image when the cohort has one, clinical when a preprocessor is given, text when a tokenizer is given
   */
  modalities?: readonly CohortModality[];
}

/**
 * Streams a cohort as training batches, patient images read one batch at a time (from memory,
 * the cache, or the NIfTI files), so that a cohort larger than memory trains. Returns a
 * function: each call is one epoch (an async iterable of `TriModalData`, which is what
 * `Trainer.fit` takes as `TrainingData`). The next batch is read while the current one trains.
 * Each batch's tensors are disposed when the next batch is requested or the epoch ends: copy
 * what you keep.
 *
 * @throws `InvalidArgumentError` (argument `batchSize`, `modalities`, `preprocessor` or
 *   `tokenizer`) for a bad size, a modality the cohort lacks, or clinical / text without its tool.
 * @example
 * ```ts
 * const train = cohortBatches(cohort, { patients: 'train', batchSize: 8, preprocessor, tokenizer });
 * await trainer.fit(model, train);
 * ```
 */
export function cohortBatches(cohort: LoadedCohort, options: CohortBatchesOptions = {}): () => AsyncIterable<TriModalData> {
  const patients = select(cohort, options.patients);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError({ argument: 'batchSize', message: 'batchSize must be a positive integer.', received: batchSize });
  const labelOf = labelGetter(options.labels);
  const seed = options.seed ?? 0;
  const modalities = checkModalities(
    cohort,
    options.modalities ?? [...(cohort.imageShape ? ['image' as const] : []), ...(options.preprocessor ? ['clinical' as const] : []), ...(options.tokenizer ? ['text' as const] : [])],
  );
  for (const [m, tool, name] of [['clinical', options.preprocessor, 'preprocessor'], ['text', options.tokenizer, 'tokenizer']] as const) {
    if (modalities.has(m) && !tool) throw new InvalidArgumentError({ argument: name, message: `the ${m} modality needs the fitted ${name}.`, received: undefined });
  }
  let epoch = 0;
  const tools = { ...(options.preprocessor ? { preprocessor: options.preprocessor } : {}), ...(options.tokenizer ? { tokenizer: options.tokenizer } : {}) };
  const readBatch = (batch: readonly CohortPatient[]) => rawInputs(cohort, batch, modalities, labelOf);
  return () => {
    const order = options.shuffle === false ? [...patients] : new Random(seed + epoch).shuffle(patients);
    epoch++;
    const batches: CohortPatient[][] = [];
    for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
    return {
      async *[Symbol.asyncIterator]() {
        // the next batch is read while the current one trains; a failed read is raised when its turn comes
        const start = (b: number) => {
          const p = readBatch(batches[b]!);
          p.catch(() => undefined);
          return p;
        };
        let next = batches.length ? start(0) : null;
        let current: TriModalData | null = null;
        try {
          for (let b = 0; b < batches.length; b++) {
            const raw = await next!;
            next = b + 1 < batches.length ? start(b + 1) : null;
            if (current) tf.dispose(Object.values(current));
            current = prepareTriModalData(raw, tools);
            yield current;
          }
        } finally {
          if (current) tf.dispose(Object.values(current));
          await next?.catch(() => undefined);
        }
      },
    };
  };
}

