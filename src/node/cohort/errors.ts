/**
 * Typed errors of the cohort loader (`vdafm/node`): an unreadable NIfTI file, an invalid
 * cohort schema file, an unusable manifest, and the list of per-patient problems found before
 * any training. Each class carries a `Symbol.for` marker, so `isInstance` works across an ESM
 * and a CJS copy of the package.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, VdafmError } from '../../errors.js';

/** Why a NIfTI file cannot be used, as {@link NiftiFormatError.kind}. */
export type NiftiProblemKind = 'not-nifti' | 'corrupt-nifti' | 'truncated-nifti' | 'unsupported-datatype' | 'wrong-dimensionality' | 'multiple-volumes';

const NIFTI_MARKER = Symbol.for('vdafm.error.niftiFormat');

/**
 * A NIfTI file's bytes cannot be used: not a single-file NIfTI-1/2, a corrupt or truncated
 * (gzip) stream, an unsupported datatype, or the wrong dimensionality. It is an
 * `InvalidArgumentError` (argument `bytes`, or `datatype` / `volume`) that also says which
 * problem it is (`kind`), so that the cohort loader can report it per patient.
 *
 * @example
 * ```ts
 * try { readNifti(bytes); } catch (e) {
 *   if (NiftiFormatError.isInstance(e)) console.log(e.kind); // 'truncated-nifti'
 * }
 * ```
 */
export class NiftiFormatError extends InvalidArgumentError {
  private readonly [NIFTI_MARKER] = true;
  /** Which problem it is. */
  readonly kind: NiftiProblemKind;
  /** What is wrong and how to fix it, without the `Received:` part (for per-patient reports). */
  readonly reason: string;

  constructor(args: { kind: NiftiProblemKind; argument?: string; message: string; received?: unknown; fix?: string; cause?: unknown }) {
    const { kind, argument, ...rest } = args;
    super({ argument: argument ?? 'bytes', ...rest });
    this.name = 'NiftiFormatError';
    this.kind = kind;
    this.reason = args.fix ? `${args.message} ${args.fix}` : args.message;
  }

  static override isInstance(error: unknown): error is NiftiFormatError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[NIFTI_MARKER] === true;
  }
}

const SCHEMA_MARKER = Symbol.for('vdafm.error.cohortSchema');

/**
 * The cohort schema (the JSON file that says which manifest column is what) is invalid.
 * `field` is the offending entry as a path, e.g. `columns[2].range` or `label.positiveAtLeast`;
 * `file` the schema file when it was read from one.
 *
 * @example
 * ```ts
 * try { parseCohortSchema({ id: 'id' }); } catch (e) {
 *   if (CohortSchemaError.isInstance(e)) console.log(e.field); // 'label'
 * }
 * ```
 */
export class CohortSchemaError extends VdafmError {
  private readonly [SCHEMA_MARKER] = true;
  /** Path of the offending entry, e.g. `columns[2].type`. */
  readonly field: string;
  /** The schema file, when the schema was read from one. */
  readonly file: string | undefined;

  constructor(args: { field: string; message: string; file?: string | undefined; cause?: unknown }) {
    super(`${args.file ? `${args.file}: ` : ''}cohort schema field '${args.field}': ${args.message}`, { cause: args.cause });
    this.name = 'CohortSchemaError';
    this.field = args.field;
    this.file = args.file;
  }

  static override isInstance(error: unknown): error is CohortSchemaError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[SCHEMA_MARKER] === true;
  }
}

const MANIFEST_MARKER = Symbol.for('vdafm.error.cohortManifest');

/**
 * The manifest as a whole cannot be read: a missing or unreadable file, a CSV syntax error
 * (an unclosed quote), a header without a column the schema names, no patient rows, or an
 * unknown file type. (Problems of single rows are {@link CohortProblem}s instead.)
 *
 * @example
 * ```ts
 * try { await readManifest('cohort.csv', schema); } catch (e) {
 *   if (CohortManifestError.isInstance(e)) console.log(e.file, e.line);
 * }
 * ```
 */
export class CohortManifestError extends VdafmError {
  private readonly [MANIFEST_MARKER] = true;
  /** The manifest file. */
  readonly file: string;
  /** 1-based line of the syntax error, when there is one. */
  readonly line: number | undefined;

  constructor(args: { file: string; message: string; line?: number | undefined; cause?: unknown }) {
    super(`${args.file}${args.line ? `:${args.line}` : ''}: ${args.message}`, { cause: args.cause });
    this.name = 'CohortManifestError';
    this.file = args.file;
    this.line = args.line;
  }

  static override isInstance(error: unknown): error is CohortManifestError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MANIFEST_MARKER] === true;
  }
}

/** What is wrong with one patient's row or files. */
export type CohortProblemKind =
  | 'malformed-row'
  | 'missing-id'
  | 'duplicate-id'
  | 'missing-label'
  | 'label-outside-schema'
  | 'not-a-number'
  | 'out-of-range'
  | 'unknown-category'
  | 'not-binary'
  | 'invalid-split'
  | 'missing-path'
  | 'missing-file'
  | 'unreadable-file'
  | 'mismatched-sequences'
  | 'empty-image'
  | NiftiProblemKind;

/**
 * One problem of one patient: the manifest row (its 1-based line in the file; the CSV header is
 * line 1), the patient id (`null` when the row has none), the column and the file concerned,
 * and a sentence saying what is wrong and what was expected.
 */
export interface CohortProblem {
  /** 1-based line of the row in the manifest (CSV: the header is line 1; JSON Lines: the line). */
  readonly row: number;
  /** The patient id, or `null` when the row has no id. */
  readonly id: string | null;
  readonly kind: CohortProblemKind;
  /** The manifest column concerned, when there is one. */
  readonly column?: string;
  /** The file concerned (absolute path), when there is one. */
  readonly file?: string;
  /** What is wrong, what was expected, what was found. */
  readonly message: string;
}

/**
 * Formats one problem as a line: `row 7 (id P0005), column dwi, file /data/P0005_dwi.nii.gz:
 * truncated-nifti: ...`.
 *
 * @example
 * ```ts
 * formatProblem({ row: 3, id: 'P1', kind: 'missing-label', column: 'mrs', message: 'the label is empty' });
 * // 'row 3 (id P1), column mrs: missing-label: the label is empty'
 * ```
 */
export function formatProblem(p: CohortProblem): string {
  const where = [`row ${p.row} (id ${p.id ?? '?'})`, ...(p.column ? [`column ${p.column}`] : []), ...(p.file ? [`file ${p.file}`] : [])];
  return `${where.join(', ')}: ${p.kind}: ${p.message}`;
}

const VALIDATION_MARKER = Symbol.for('vdafm.error.cohortValidation');

/**
 * The cohort has invalid patients and `skipInvalid` was not set: nothing was trained, and
 * `problems` lists every problem of every patient (the message shows the first 20). Fix the rows
 * or files, or load with `skipInvalid: true` to go on without those patients (they are then
 * listed in `excluded`).
 *
 * @example
 * ```ts
 * try { await loadCohort({ manifest: 'cohort.csv' }); } catch (e) {
 *   if (CohortValidationError.isInstance(e)) for (const p of e.problems) console.log(formatProblem(p));
 * }
 * ```
 */
export class CohortValidationError extends VdafmError {
  private readonly [VALIDATION_MARKER] = true;
  /** Every problem found, in row order. */
  readonly problems: readonly CohortProblem[];
  /** The manifest file. */
  readonly manifest: string;

  /**
   * @param args.outcome - what the problems stopped. @defaultValue 'nothing was loaded'
   */
  constructor(args: { manifest: string; problems: readonly CohortProblem[]; patients: number; outcome?: string }) {
    const rows = new Set(args.problems.map((p) => p.row)).size;
    const shown = args.problems.slice(0, 20).map((p) => `  - ${formatProblem(p)}`);
    const more = args.problems.length > 20 ? [`  ... and ${args.problems.length - 20} more (see error.problems)`] : [];
    super(
      [
        `${args.manifest}: ${rows} of ${args.patients} patients are invalid (${args.problems.length} problem${args.problems.length === 1 ? '' : 's'}); ${args.outcome ?? 'nothing was loaded'}.`,
        ...shown,
        ...more,
        'Fix these rows or files, or load with skipInvalid: true to exclude them (they are then listed, with their reasons, in `excluded`).',
      ].join('\n'),
    );
    this.name = 'CohortValidationError';
    this.problems = args.problems;
    this.manifest = args.manifest;
  }

  static override isInstance(error: unknown): error is CohortValidationError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[VALIDATION_MARKER] === true;
  }
}
