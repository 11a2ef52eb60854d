/**
 * The deliberately broken rows {@link writeSyntheticCohort} can append to a synthetic cohort on
 * disk (copies of patient 0 with one defect each, in a cell or in a file), and the problem each
 * must raise when loaded.
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import type { Affine } from './affine.js';
import type { CohortProblemKind } from './errors.js';
import { writeNifti } from './nifti-write.js';

/** A deliberately broken row that {@link writeSyntheticCohort} can append (a copy of patient 0 with one defect). */
export type BrokenRowKind =
  | 'missing-file'
  | 'unreadable-file'
  | 'truncated-gzip'
  | 'truncated-nii'
  | 'corrupt-gzip'
  | 'not-nifti'
  | '2d-image'
  | '4d-image'
  | 'mismatched-sequences'
  | 'constant-image'
  | 'unknown-category'
  | 'out-of-range'
  | 'not-a-number'
  | 'not-binary'
  | 'label-outside-schema'
  | 'missing-label'
  | 'missing-id'
  | 'duplicate-id'
  | 'invalid-split'
  | 'missing-path'
  | 'missing-report-file';

/**
 * The problem kind each broken row must produce when loaded.
 *
 * @example
 * ```ts
 * BROKEN_ROW_PROBLEMS['truncated-gzip']; // 'truncated-nifti'
 * ```
 */
export const BROKEN_ROW_PROBLEMS: Readonly<Record<BrokenRowKind, CohortProblemKind>> = {
  'missing-file': 'missing-file',
  'unreadable-file': 'unreadable-file',
  'truncated-gzip': 'truncated-nifti',
  'truncated-nii': 'truncated-nifti',
  'corrupt-gzip': 'corrupt-nifti',
  'not-nifti': 'not-nifti',
  '2d-image': 'wrong-dimensionality',
  '4d-image': 'multiple-volumes',
  'mismatched-sequences': 'mismatched-sequences',
  'constant-image': 'empty-image',
  'unknown-category': 'unknown-category',
  'out-of-range': 'out-of-range',
  'not-a-number': 'not-a-number',
  'not-binary': 'not-binary',
  'label-outside-schema': 'label-outside-schema',
  'missing-label': 'missing-label',
  'missing-id': 'missing-id',
  'duplicate-id': 'duplicate-id',
  'invalid-split': 'invalid-split',
  'missing-path': 'missing-path',
  'missing-report-file': 'missing-file',
};

/** A broken row as written. */
export interface WrittenBrokenRow {
  readonly kind: BrokenRowKind;
  /** The problem kind the loader must report. */
  readonly expected: CohortProblemKind;
  /** Its id ('' for `missing-id`). */
  readonly id: string;
  /** Its manifest row (the 1-based line; CSV header = line 1). */
  readonly row: number;
  /** The file concerned (absolute), if the defect is in a file. */
  readonly file?: string;
}

/** What the broken rows are made from: the first patient's row and volumes, and how images are written. @internal */
export interface BrokenRowContext {
  /** The cohort folder (absolute). */
  readonly root: string;
  /** `.nii.gz` or `.nii`. */
  readonly ext: string;
  readonly dims: number[];
  readonly affine: Affine;
  /** The first patient's manifest row, and its DWI and ADC volumes. */
  readonly template: Readonly<Record<string, string>>;
  readonly dwi: Float32Array;
  readonly adc: Float32Array;
  readonly labelColumn: 'mrs90' | 'poor';
  readonly reportColumn: 'report' | 'report_file' | null;
  /** Writes `images/<name>` and returns that relative path. */
  writeImage(name: string, data: Float32Array, volumeDims?: number[], affine?: Affine): Promise<string>;
}

/** A broken row before it has its manifest line. @internal */
export interface BrokenRowSpec {
  kind: BrokenRowKind;
  row: Record<string, string>;
  file?: string;
}

/**
 * Writes the files of the broken rows and returns their manifest rows (`duplicate-id` gives two).
 *
 * @throws `InvalidArgumentError` (argument `options.broken`) for an unknown kind, or
 *   `missing-report-file` without report files.
 * @internal
 */
export async function writeBrokenRows(kinds: readonly BrokenRowKind[], ctx: BrokenRowContext): Promise<BrokenRowSpec[]> {
  const specs: BrokenRowSpec[] = [];
  for (const kind of kinds) {
    const row: Record<string, string> = { ...ctx.template, id: `BROKEN-${kind}` };
    if (kind === 'duplicate-id') specs.push({ kind, row: { ...row } });
    const bad = await breakRow(kind, row, ctx);
    specs.push({ kind, row, ...(bad ? { file: bad } : {}) });
  }
  return specs;
}

/** The broken rows whose defect is in one cell: the column and its bad value. */
function cellDefects(labelColumn: 'mrs90' | 'poor'): Partial<Record<BrokenRowKind, [column: string, value: string]>> {
  return {
    'unknown-category': ['sex', 'unknown'],
    'out-of-range': ['age', '150'],
    'not-a-number': ['nihss', 'twelve'],
    'not-binary': ['thrombolysis', 'maybe'],
    'label-outside-schema': [labelColumn, labelColumn === 'mrs90' ? '7' : '2'],
    'missing-label': [labelColumn, ''],
    'missing-id': ['id', ''],
    'invalid-split': ['split', 'training'],
    'missing-path': ['adc', ''],
  };
}

/** Gives `row` its defect (writing the bad file, if any); returns the bad file's absolute path. */
async function breakRow(kind: BrokenRowKind, row: Record<string, string>, ctx: BrokenRowContext): Promise<string | undefined> {
  const { root, ext, dims, affine, dwi } = ctx;
  const id = row['id']!;
  const file = (rel: string) => path.join(root, rel);
  const badImage = async (name: string, bytes: Uint8Array | string) => {
    await fs.writeFile(file(`images/${name}`), bytes);
    row['dwi'] = `images/${name}`;
    return file(`images/${name}`);
  };
  const valid = writeNifti({ data: dwi, dims, affine }, { gzip: true });
  switch (kind) {
    case 'missing-file':
      row['dwi'] = `images/${id}_dwi${ext}`;
      return file(row['dwi']);
    case 'unreadable-file':
      await fs.mkdir(file(`images/${id}_dwi${ext}`), { recursive: true }); // a folder where a file is expected
      row['dwi'] = `images/${id}_dwi${ext}`;
      return file(row['dwi']);
    case 'truncated-gzip':
      return badImage(`${id}_dwi.nii.gz`, valid.subarray(0, Math.floor(valid.length / 2)));
    case 'truncated-nii': {
      const raw = writeNifti({ data: dwi, dims, affine });
      return badImage(`${id}_dwi.nii`, raw.subarray(0, raw.length - 64));
    }
    case 'corrupt-gzip': {
      const copy = Uint8Array.from(valid);
      copy[copy.length - 8] = copy[copy.length - 8]! ^ 0xff; // the CRC-32 of the gzip trailer
      return badImage(`${id}_dwi.nii.gz`, copy);
    }
    case 'not-nifti':
      return badImage(`${id}_dwi.nii`, 'this is a text file, not a NIfTI volume\n'.repeat(20));
    default:
      return breakVolumeOrCell(kind, row, ctx);
  }
}

/** The defects in a valid NIfTI file (its shape, grid or content), a missing report file, or a cell. */
async function breakVolumeOrCell(kind: BrokenRowKind, row: Record<string, string>, ctx: BrokenRowContext): Promise<string | undefined> {
  const { root, ext, dims, affine, dwi } = ctx;
  const id = row['id']!;
  const file = (rel: string) => path.join(root, rel);
  switch (kind) {
    case '2d-image':
      row['dwi'] = await ctx.writeImage(`${id}_dwi${ext}`, dwi.subarray(0, dims[0]! * dims[1]!), [dims[0]!, dims[1]!, 1]);
      return file(row['dwi']);
    case '4d-image': {
      const two = new Float32Array(dwi.length * 2);
      two.set(dwi);
      two.set(dwi, dwi.length);
      row['dwi'] = await ctx.writeImage(`${id}_dwi${ext}`, two, [...dims, 2]);
      return file(row['dwi']);
    }
    case 'mismatched-sequences': {
      const shifted = affine.map((r, k) => r.map((v, c) => (c === 3 && k === 0 ? v + 5 : v)));
      row['adc'] = await ctx.writeImage(`${id}_adc${ext}`, ctx.adc, dims, shifted);
      return file(row['adc']);
    }
    case 'constant-image':
      row['dwi'] = await ctx.writeImage(`${id}_dwi${ext}`, new Float32Array(dwi.length));
      return file(row['dwi']);
    case 'duplicate-id':
      return undefined;
    case 'missing-report-file':
      if (ctx.reportColumn !== 'report_file') throw new InvalidArgumentError({ argument: 'options.broken', message: "the broken row 'missing-report-file' needs reports with reportMode 'file'.", received: kind });
      row['report_file'] = `reports/${id}.txt`;
      return file(row['report_file']);
    default: {
      const cell = cellDefects(ctx.labelColumn)[kind];
      if (!cell) throw new InvalidArgumentError({ argument: 'options.broken', message: `unknown broken row kind; known: ${Object.keys(BROKEN_ROW_PROBLEMS).join(', ')}.`, received: kind });
      row[cell[0]] = cell[1];
      return undefined;
    }
  }
}
