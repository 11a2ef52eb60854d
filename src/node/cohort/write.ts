/**
 * Writes a synthetic cohort (`generateSyntheticCohort`) to disk as a real-world cohort would
 * come: one NIfTI file per patient and sequence (`.nii.gz`, with an affine that places the
 * cohort's voxels at their physical positions), a manifest CSV (or JSON Lines), a schema JSON
 * and optionally report texts, plus deliberately broken rows for tests. Loading it back with
 * the returned `imageOptions` gives the in-memory cohort's images (exactly in 3D, to float
 * rounding in 2D) and the same rows and labels.
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SyntheticCohort } from '../../data/cohort.js';
import { gridGeometry, PHANTOM_GEOMETRY } from '../../data/phantom.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Affine } from './affine.js';
import { BROKEN_ROW_PROBLEMS, type BrokenRowKind, type WrittenBrokenRow, writeBrokenRows } from './broken-rows.js';
import type { CohortImageOptions } from './cohort-image-options.js';
import { formatCsv } from './csv.js';
import { writeNifti } from './nifti-write.js';
import { COHORT_SCHEMA_FORMAT, type CohortSchema } from './schema.js';

/** Options of {@link writeSyntheticCohort}. */
export interface WriteSyntheticCohortOptions {
  /** Manifest format: `manifest.csv` or `manifest.jsonl`. @defaultValue 'csv' */
  format?: 'csv' | 'jsonl';
  /** Write `.nii.gz` (else `.nii`). @defaultValue true */
  gzip?: boolean;
  /**
   * The label column: `'mrs'` (column `mrs90`, ordinal 0–6, positive class mRS ≥ 3, the cohort's
   * `poor`) or `'poor'` (column `poor`, binary 0/1).
   * @defaultValue 'mrs'
   */
  label?: 'mrs' | 'poor';
  /** One report text (or null) per patient. @defaultValue no report column */
  reports?: ReadonlyArray<string | null>;
  /** Reports in a `report` column, or as `reports/<id>.txt` files named in a `report_file` column. @defaultValue 'column' */
  reportMode?: 'column' | 'file';
  /** One split (`train` / `val` / `test` / null) per patient, in a `split` column. @defaultValue the column is empty */
  split?: ReadonlyArray<'train' | 'val' | 'test' | null>;
  /** Broken rows appended after the patients (ids `BROKEN-<kind>`; `duplicate-id` adds two rows). @defaultValue none */
  broken?: readonly BrokenRowKind[];
}

/** What {@link writeSyntheticCohort} wrote. */
export interface WrittenCohort {
  readonly dir: string;
  /** Absolute paths. */
  readonly manifest: string;
  readonly schemaFile: string;
  readonly schema: CohortSchema;
  /** Image options under which loading gives the in-memory images back (world-origin field of view, raw intensities, the cohort's grid). */
  readonly imageOptions: CohortImageOptions;
  /** Patients written (without the broken rows). */
  readonly patients: number;
  readonly broken: readonly WrittenBrokenRow[];
}

/** Sequence names and the cohort's channel of each. */
const SEQUENCES = ['dwi', 'adc'] as const;

/**
 * The voxel → RAS+ (mm) affine of a cohort image: columns run R → L, rows A → P, slices I → S
 * (LPS storage, no flips on reading), voxel centres at the cohort's physical positions (1 U =
 * 10 cm, the frame's origin at the world origin), so that a `'world-origin'` field of view of
 * 200 mm puts every voxel back on itself.
 */
function cohortAffine(cohort: SyntheticCohort): Affine {
  const g = gridGeometry(cohort.sampleShape, cohort.layout);
  const mm = PHANTOM_GEOMETRY.unitCm * 10;
  const dz = g.depth > 1 ? (g.sliceZ[1]! - g.sliceZ[0]!) * mm : 2 * mm;
  const dy = (2 / g.height) * mm;
  const dx = (2 / g.width) * mm;
  return [
    [-dx, 0, 0, mm - dx / 2],
    [0, -dy, 0, mm - dy / 2],
    [0, 0, dz, g.sliceZ[0]! * mm],
  ];
}

/** One sequence of one patient as a NIfTI `[W, H, S]` volume (i = column, j = row, k = slice). */
function sequenceVolume(cohort: SyntheticCohort, index: number, q: number): Float32Array {
  const g = gridGeometry(cohort.sampleShape, cohort.layout);
  const image = cohort.images.subarray(index * g.size, (index + 1) * g.size);
  const [ss, sy, sx, sq] = g.strides;
  const out = new Float32Array(g.depth * g.height * g.width);
  let v = 0;
  for (let s = 0; s < g.depth; s++) for (let y = 0; y < g.height; y++) for (let x = 0; x < g.width; x++) out[v++] = image[s * ss + y * sy + x * sx + q * sq]!;
  return out;
}

/**
 * Writes a synthetic cohort as NIfTI files + manifest + schema (+ reports), e.g. to try the
 * cohort loader, or as a template for laying out a real cohort.
 *
 * Layout: `dir/manifest.csv` (or `.jsonl`), `dir/schema.json`, `dir/images/<id>_dwi.nii.gz` and
 * `_adc.nii.gz`, `dir/reports/<id>.txt` with `reportMode: 'file'`. Manifest columns: `id`, the
 * label (`mrs90` or `poor`), the clinical columns of `cohort.schema` (empty = missing), `dwi`,
 * `adc` (paths relative to `dir`), `split`, and `report` or `report_file`.
 *
 * @param cohort - from `generateSyntheticCohort` (2D cohorts need at least 2 slices).
 * @param dir - destination folder (created; existing files are replaced).
 * @returns the paths, the schema, the image options of an exact round trip, and the broken rows
 *   with the problem each must raise.
 * @throws `InvalidArgumentError` (argument `cohort`, `options.reports` or `options.split`).
 * @example
 * ```ts
 * const written = await writeSyntheticCohort(generateSyntheticCohort({ patients: 8, imageShape: [8, 16, 16] }), '/tmp/cohort');
 * const cohort = await loadCohort({ manifest: written.manifest, image: written.imageOptions });
 * ```
 */
export async function writeSyntheticCohort(cohort: SyntheticCohort, dir: string, options: WriteSyntheticCohortOptions = {}): Promise<WrittenCohort> {
  if (!cohort || !Array.isArray(cohort.patients) || !(cohort.images instanceof Float32Array)) {
    throw new InvalidArgumentError({ argument: 'cohort', message: 'cohort must be what generateSyntheticCohort returns.', received: typeof cohort });
  }
  const g = gridGeometry(cohort.sampleShape, cohort.layout);
  if (g.depth < 2) throw new InvalidArgumentError({ argument: 'cohort', message: 'a 2D cohort needs at least 2 slices to be written as 3D volumes.', received: cohort.sampleShape });
  const n = cohort.patients.length;
  for (const [name, list] of [['reports', options.reports], ['split', options.split]] as const) {
    if (list !== undefined && (!Array.isArray(list) || list.length !== n)) throw new InvalidArgumentError({ argument: `options.${name}`, message: `options.${name} must hold one entry per patient (${n}).`, received: list?.length });
  }
  const root = path.resolve(dir);
  await fs.mkdir(path.join(root, 'images'), { recursive: true });
  const gz = options.gzip ?? true;
  const ext = gz ? '.nii.gz' : '.nii';
  const affine = cohortAffine(cohort);
  const dims = [g.width, g.height, g.depth];
  const labelColumn = (options.label ?? 'mrs') === 'mrs' ? 'mrs90' : 'poor';
  const reportColumn = options.reports ? ((options.reportMode ?? 'column') === 'column' ? 'report' : 'report_file') : null;
  const header = ['id', labelColumn, ...cohort.schema.map((c) => c.name), ...SEQUENCES, 'split', ...(reportColumn ? [reportColumn] : [])];
  const writeImage = async (name: string, data: Float32Array, volumeDims = dims, a: Affine = affine) => {
    await fs.writeFile(path.join(root, 'images', name), writeNifti({ data, dims: volumeDims, affine: a, description: 'vdafm synthetic cohort' }, { gzip: gz }));
    return `images/${name}`;
  };
  const rows: Array<Record<string, string>> = [];
  for (let i = 0; i < n; i++) rows.push(await writePatient(cohort, i, { root, ext, labelColumn, reportColumn, options, writeImage }));
  const brokenKinds = options.broken ?? [];
  const brokenSpecs = !brokenKinds.length ? [] : await writeBrokenRows(brokenKinds, {
    root,
    ext,
    dims,
    affine,
    template: rows[0]!,
    dwi: sequenceVolume(cohort, 0, 0),
    adc: sequenceVolume(cohort, 0, 1),
    labelColumn,
    reportColumn,
    writeImage,
  });

  const allRows = [...rows, ...brokenSpecs.map((b) => b.row)];
  const format = options.format ?? 'csv';
  const manifest = path.join(root, `manifest.${format}`);
  await fs.writeFile(
    manifest,
    format === 'csv'
      ? formatCsv([header, ...allRows.map((r) => header.map((h) => r[h] ?? ''))])
      : allRows.map((r) => `${JSON.stringify(Object.fromEntries(header.map((h) => [h, r[h] === '' ? null : r[h]!])))}\n`).join(''),
  );
  const firstRow = format === 'csv' ? 2 : 1;
  const broken = brokenSpecs.map((b, k) => ({ kind: b.kind, expected: BROKEN_ROW_PROBLEMS[b.kind], id: b.row['id']!, row: firstRow + n + k, ...(b.file ? { file: b.file } : {}) }));
  const schema = writtenSchema(cohort, labelColumn, reportColumn);
  const schemaFile = path.join(root, 'schema.json');
  await fs.writeFile(schemaFile, `${JSON.stringify(schema, null, 2)}\n`);
  const imageOptions: CohortImageOptions = {
    layout: cohort.layout,
    shape: cohort.layout === '3d' ? [g.depth, g.height, g.width] : [g.height, g.width],
    slices: g.depth,
    fov: 'cohort',
    fovMm: 2 * PHANTOM_GEOMETRY.unitCm * 10,
    fovCentre: 'world-origin',
    intensity: 'none',
  };
  return { dir: root, manifest, schemaFile, schema, imageOptions, patients: n, broken };
}

/** Patient `i`'s manifest row, after writing its sequences (and its report file with `reportMode: 'file'`). */
async function writePatient(
  cohort: SyntheticCohort,
  i: number,
  o: {
    root: string;
    ext: string;
    labelColumn: 'mrs90' | 'poor';
    reportColumn: 'report' | 'report_file' | null;
    options: WriteSyntheticCohortOptions;
    writeImage: (name: string, data: Float32Array) => Promise<string>;
  },
): Promise<Record<string, string>> {
  const { labelColumn, reportColumn, options } = o;
  const p = cohort.patients[i]!;
  const row: Record<string, string> = { id: p.id, [labelColumn]: String(labelColumn === 'mrs90' ? p.mrs : p.poor), split: options.split?.[i] ?? '' };
  for (const c of cohort.schema) row[c.name] = p.row[c.name] == null ? '' : String(p.row[c.name]);
  for (let q = 0; q < SEQUENCES.length; q++) row[SEQUENCES[q]!] = await o.writeImage(`${p.id}_${SEQUENCES[q]}${o.ext}`, sequenceVolume(cohort, i, q));
  const report = options.reports?.[i] ?? null;
  if (reportColumn === 'report') row['report'] = report ?? '';
  else if (reportColumn === 'report_file') {
    if (report === null) row['report_file'] = '';
    else {
      await fs.mkdir(path.join(o.root, 'reports'), { recursive: true });
      await fs.writeFile(path.join(o.root, 'reports', `${p.id}.txt`), report);
      row['report_file'] = `reports/${p.id}.txt`;
    }
  }
  return row;
}

/** The schema of the written manifest: the label column, the two sequences, the clinical columns, the report and split columns. */
function writtenSchema(cohort: SyntheticCohort, labelColumn: 'mrs90' | 'poor', reportColumn: 'report' | 'report_file' | null): CohortSchema {
  return {
    format: COHORT_SCHEMA_FORMAT,
    version: 1,
    id: 'id',
    label:
      labelColumn === 'mrs90'
        ? { column: 'mrs90', type: 'ordinal', values: [0, 1, 2, 3, 4, 5, 6], positiveAtLeast: 3, description: '90-day modified Rankin Scale; poor outcome = mRS ≥ 3.' }
        : { column: 'poor', type: 'binary', values: [0, 1], description: 'Poor 90-day outcome (mRS ≥ 3).' },
    sequences: [
      { name: 'dwi', description: 'Diffusion-weighted image (b = 1000).' },
      { name: 'adc', description: 'Apparent diffusion coefficient map.' },
    ],
    columns: cohort.schema.map((c) => ({ ...c })),
    ...(reportColumn === 'report' ? { report: { text: 'report' } } : reportColumn === 'report_file' ? { report: { file: 'report_file' } } : {}),
    split: 'split',
  };
}
