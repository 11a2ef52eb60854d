/**
 * One patient's files: the image sequences read, checked (NIfTI, 3D, one volume, contrast,
 * co-registered) and preprocessed through the volume cache, and the report file.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { type VolumeCache, volumeCacheKey } from './cache.js';
import type { ImageSettings } from './cohort-image-options.js';
import { NiftiFormatError, type CohortProblem, type CohortProblemKind } from './errors.js';
import type { CohortRow } from './manifest.js';
import { decodeNifti, type NiftiVolume } from './nifti.js';
import { preprocessSequences, sequenceMismatch } from './preprocess.js';
import type { ResolvedCohortSchema } from './schema.js';

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

/** A patient's image (from the cache or preprocessed), or the problems of its files. @internal */
export type ImageResult = { ok: true; data: Float32Array; key: string; warnings: string[]; cached: boolean } | { ok: false; problems: CohortProblem[] };

/** Reads, checks and preprocesses one patient's sequences (through the cache). @internal */
export async function patientImage(
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

/** A patient's report text: from the manifest, from its file, or the problem reading that file. @internal */
export async function readReport(where: { row: number; id: string | null; reportSource: CohortRow['reportSource'] }, schema: ResolvedCohortSchema): Promise<{ text: string | null; file: string | null; problem?: CohortProblem }> {
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
