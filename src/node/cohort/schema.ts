/**
 * The cohort schema: a small JSON file that says which manifest column is what (the id, the
 * label and its positive class, the clinical columns with their kinds, units, categories and
 * ranges, one NIfTI path column per sequence, the report and the split), validated with typed
 * errors. Its clinical columns use `TabularPreprocessor`'s column kinds (numeric / categorical /
 * binary), so {@link cohortColumnSpecs} hands them to the preprocessor directly.
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import type { ColumnSchema } from '../../data/clinical.js';
import type { ColumnSpec, ColumnType } from '../../encoders/tabular/preprocessor.js';
import { CohortSchemaError } from './errors.js';

/**
 * The schema file's format tag (its `format` key).
 *
 * @example
 * ```ts
 * const schema = { format: COHORT_SCHEMA_FORMAT, version: 1, id: 'id', label: { column: 'poor', type: 'binary' } };
 * ```
 */
export const COHORT_SCHEMA_FORMAT = 'vdafm-cohort-schema';

/** One image sequence: its name (the channel, in order) and the manifest column holding its NIfTI path. */
export interface CohortSequence {
  /** Sequence name, e.g. `'dwi'` (channel q of the image is the q-th sequence). */
  readonly name: string;
  /**
   * Manifest column holding the path (`.nii` / `.nii.gz`, relative to the manifest's folder).
   * @defaultValue the name
   */
  readonly column?: string;
  /** One-line description. */
  readonly description?: string;
}

/**
 * One clinical column: `TabularPreprocessor`'s kinds (`numeric`, `categorical`, `binary`) plus
 * what validation needs. Categorical columns must list their `categories` (a value outside them
 * is a per-patient error, never a silent "unseen" index); numeric columns may give a closed
 * `range`.
 */
export interface CohortColumn {
  /** Name in the clinical rows (and for the preprocessor). */
  readonly name: string;
  readonly type: ColumnType;
  /** Manifest column, when it is not `name` (e.g. `'NIHSS at admission'`). @defaultValue the name */
  readonly column?: string;
  /** Categorical: the allowed values (compared as text). Required for categorical columns. */
  readonly categories?: ReadonlyArray<string | number>;
  /** Numeric: the closed range of valid values. @defaultValue no bound */
  readonly range?: readonly [number, number];
  /** Numeric: the unit (documentation only), e.g. `'years'`. */
  readonly unit?: string;
  readonly description?: string;
}

/**
 * The outcome label. `binary`: the cell holds one of two `values`, the second being the positive
 * class. `ordinal`: the cell holds one of the integer levels `values` (e.g. mRS 0–6) and the
 * positive class is `value ≥ positiveAtLeast` (e.g. 3: poor outcome).
 */
export type CohortLabel =
  | {
      readonly column: string;
      readonly type: 'binary';
      /** `[negative, positive]`, compared as text (and as numbers when both are numeric). @defaultValue [0, 1] */
      readonly values?: readonly [string | number, string | number];
      readonly description?: string;
    }
  | {
      readonly column: string;
      readonly type: 'ordinal';
      /** The allowed integer levels, ascending, e.g. `[0, 1, 2, 3, 4, 5, 6]` for the mRS. */
      readonly values: readonly number[];
      /** The smallest level of the positive class, e.g. 3 for "mRS ≥ 3". */
      readonly positiveAtLeast: number;
      readonly description?: string;
    };

/**
 * A cohort schema as written in its JSON file. Every key names a manifest column.
 *
 * @example
 * ```ts
 * const schema: CohortSchema = {
 *   format: 'vdafm-cohort-schema',
 *   version: 1,
 *   id: 'id',
 *   label: { column: 'mrs90', type: 'ordinal', values: [0, 1, 2, 3, 4, 5, 6], positiveAtLeast: 3 },
 *   sequences: ['dwi', 'adc'],
 *   columns: [
 *     { name: 'age', type: 'numeric', unit: 'years', range: [18, 110] },
 *     { name: 'sex', type: 'categorical', categories: ['female', 'male'] },
 *     { name: 'thrombolysis', type: 'binary' },
 *   ],
 *   report: { text: 'report' },
 *   split: 'split',
 * };
 * ```
 */
export interface CohortSchema {
  /** @defaultValue 'vdafm-cohort-schema' */
  readonly format?: typeof COHORT_SCHEMA_FORMAT;
  /** @defaultValue 1 */
  readonly version?: 1;
  /** The id column (unique, non-empty). */
  readonly id: string;
  readonly label: CohortLabel;
  /** The image sequences, in channel order (names, or `{ name, column }`). @defaultValue [] (no image) */
  readonly sequences?: ReadonlyArray<string | CohortSequence>;
  /** The clinical columns. @defaultValue [] */
  readonly columns?: ReadonlyArray<CohortColumn>;
  /** The report: a column with the text, and/or a column with a path to a UTF-8 text file (the text wins when both are filled). */
  readonly report?: { readonly text?: string; readonly file?: string };
  /** The split column: `train`, `val` or `test` (empty: unassigned). */
  readonly split?: string;
  /**
   * Cell texts read as missing (compared after trimming).
   * @defaultValue ['', 'NA', 'N/A', 'NaN', 'null']
   */
  readonly missingValues?: readonly string[];
}

/** A validated schema with every default filled in (what {@link parseCohortSchema} returns). */
export interface ResolvedCohortSchema {
  readonly format: typeof COHORT_SCHEMA_FORMAT;
  readonly version: 1;
  readonly id: string;
  readonly label: Readonly<
    | { column: string; type: 'binary'; values: readonly [string | number, string | number]; description?: string }
    | { column: string; type: 'ordinal'; values: readonly number[]; positiveAtLeast: number; description?: string }
  >;
  readonly sequences: ReadonlyArray<Required<Pick<CohortSequence, 'name' | 'column'>> & Pick<CohortSequence, 'description'>>;
  /** The clinical columns, in the {@link ColumnSchema} form (categories as text), plus their manifest column. */
  readonly columns: ReadonlyArray<ColumnSchema & { readonly column: string }>;
  readonly report: { readonly text?: string; readonly file?: string } | null;
  readonly split: string | null;
  readonly missingValues: readonly string[];
  /** The schema file, when read from one. */
  readonly file?: string;
}

const DEFAULT_MISSING = ['', 'NA', 'N/A', 'NaN', 'null'];
const TYPES: readonly ColumnType[] = ['numeric', 'categorical', 'binary'];
const KEYS = new Set(['format', 'version', 'id', 'label', 'sequences', 'columns', 'report', 'split', 'missingValues', 'description', '$schema']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

/**
 * Validates a cohort schema (the parsed JSON of its file) and fills in the defaults.
 *
 * @param json - the schema object.
 * @param file - the file it came from, for error messages.
 * @returns the {@link ResolvedCohortSchema}.
 * @throws {@link CohortSchemaError} naming the offending field (e.g. `columns[2].categories`):
 *   unknown keys, a wrong format or version, a missing id or label, a label without two
 *   distinct values or an ordinal label whose `positiveAtLeast` leaves a class empty, a column
 *   kind other than numeric/categorical/binary, a categorical column without categories, a
 *   range that is not `[low ≤ high]`, duplicate names, or one manifest column used twice.
 * @example
 * ```ts
 * const schema = parseCohortSchema({ id: 'id', label: { column: 'poor', type: 'binary' }, sequences: ['dwi'] });
 * schema.label.values; // [0, 1]
 * ```
 */
export function parseCohortSchema(json: unknown, file?: string): ResolvedCohortSchema {
  const fail: Fail = (field, message) => {
    throw new CohortSchemaError({ field, message, file });
  };
  if (!isObject(json)) return fail('(root)', 'the schema must be a JSON object.');
  for (const key of Object.keys(json)) if (!KEYS.has(key)) fail(key, `unknown key (known: ${[...KEYS].filter((k) => k !== '$schema').join(', ')}).`);
  if (json['format'] !== undefined && json['format'] !== COHORT_SCHEMA_FORMAT) fail('format', `must be '${COHORT_SCHEMA_FORMAT}', found ${JSON.stringify(json['format'])}.`);
  if (json['version'] !== undefined && json['version'] !== 1) fail('version', `this vdafm reads version 1 schemas, found ${JSON.stringify(json['version'])}.`);
  if (!nonEmpty(json['id'])) fail('id', 'must name the id column (a non-empty string).');
  const id = json['id'] as string;
  const label = parseLabel(json['label'], fail);
  const sequences = parseSequences(json['sequences'] ?? [], fail);
  const rawCols = json['columns'] ?? [];
  if (!Array.isArray(rawCols)) fail('columns', 'must be an array of { name, type, ... }.');
  const columns = (rawCols as unknown[]).map((c, i) => parseColumn(c, `columns[${i}]`, fail));
  const report = parseReport(json['report'], fail);
  if (json['split'] !== undefined && !nonEmpty(json['split'])) fail('split', 'must name the split column.');
  const missing = json['missingValues'] ?? DEFAULT_MISSING;
  if (!Array.isArray(missing) || missing.some((m) => typeof m !== 'string')) fail('missingValues', 'must be an array of strings.');
  const split = (json['split'] as string | undefined) ?? null;
  checkNamesAndColumns({ id, label, sequences, columns, report, split }, fail);
  return {
    format: COHORT_SCHEMA_FORMAT,
    version: 1,
    id,
    label,
    sequences,
    columns,
    report,
    split,
    missingValues: (missing as string[]).map((m) => m.trim()),
    ...(file ? { file } : {}),
  };
}

/** Throws the {@link CohortSchemaError} of a field. */
type Fail = (field: string, message: string) => never;

type ResolvedColumn = ResolvedCohortSchema['columns'][number];

/** `label`: a binary label with two distinct values, or an ordinal one with ascending levels and a threshold leaving both classes possible. */
function parseLabel(l: unknown, fail: Fail): ResolvedCohortSchema['label'] {
  if (!isObject(l)) return fail('label', "must be { column, type: 'binary' | 'ordinal', ... }.");
  if (!nonEmpty(l['column'])) fail('label.column', 'must name the label column.');
  const labelDescription = typeof l['description'] === 'string' ? { description: l['description'] } : {};
  if (l['type'] === 'binary') {
    const values = l['values'] ?? [0, 1];
    if (!Array.isArray(values) || values.length !== 2 || values.some((v) => typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) || String(values[0]) === String(values[1])) {
      fail('label.values', `must be [negative, positive]: two distinct strings or numbers (found ${JSON.stringify(values)}).`);
    }
    return { column: l['column'] as string, type: 'binary', values: [values[0], values[1]] as [string | number, string | number], ...labelDescription };
  }
  if (l['type'] === 'ordinal') {
    const values = l['values'];
    if (!Array.isArray(values) || values.length < 2 || values.some((v) => !Number.isInteger(v)) || values.some((v, i) => i > 0 && v <= values[i - 1])) {
      fail('label.values', `must list at least two integer levels in ascending order, e.g. [0, 1, 2, 3, 4, 5, 6] (found ${JSON.stringify(values)}).`);
    }
    const at = l['positiveAtLeast'];
    const levels = values as number[];
    if (typeof at !== 'number' || !(at > levels[0]! && at <= levels[levels.length - 1]!)) {
      fail('label.positiveAtLeast', `must be a level above the lowest and at most the highest (${levels[0]} < positiveAtLeast ≤ ${levels[levels.length - 1]}), so that both classes can occur (found ${JSON.stringify(at)}).`);
    }
    return { column: l['column'] as string, type: 'ordinal', values: [...levels], positiveAtLeast: at as number, ...labelDescription };
  }
  return fail('label.type', `must be 'binary' or 'ordinal' (found ${JSON.stringify(l['type'])}).`);
}

/** `sequences`: names, or `{ name, column?, description? }`. */
function parseSequences(rawSeq: unknown, fail: Fail): ResolvedCohortSchema['sequences'] {
  if (!Array.isArray(rawSeq)) fail('sequences', 'must be an array of sequence names or { name, column } objects.');
  return (rawSeq as unknown[]).map((s, i) => {
    if (nonEmpty(s)) return { name: s, column: s };
    if (!isObject(s) || !nonEmpty(s['name'])) return fail(`sequences[${i}]`, 'must be a name or { name, column? }.');
    if (s['column'] !== undefined && !nonEmpty(s['column'])) fail(`sequences[${i}].column`, 'must be a non-empty string.');
    return { name: s['name'] as string, column: (s['column'] as string | undefined) ?? (s['name'] as string), ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}) };
  });
}

/** One clinical column (`at` names it): name, kind, manifest column, categories or range, unit, description. */
function parseColumn(c: unknown, at: string, fail: Fail): ResolvedColumn {
  if (!isObject(c) || !nonEmpty(c['name'])) return fail(`${at}.name`, 'each column needs a non-empty name.');
  const type = c['type'] as ColumnType;
  if (!TYPES.includes(type)) fail(`${at}.type`, `must be one of ${TYPES.join(', ')} (TabularPreprocessor's column kinds), found ${JSON.stringify(c['type'])}.`);
  if (c['column'] !== undefined && !nonEmpty(c['column'])) fail(`${at}.column`, 'must be a non-empty string.');
  const out: { -readonly [K in keyof ColumnSchema]: ColumnSchema[K] } & { column: string } = { name: c['name'] as string, type, column: (c['column'] as string | undefined) ?? (c['name'] as string) };
  if (type === 'categorical') {
    const cats = c['categories'];
    if (!Array.isArray(cats) || cats.length === 0 || cats.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
      fail(`${at}.categories`, 'a categorical column must list its categories (strings or numbers), so that an unknown value is reported instead of silently encoded.');
    }
    const text = (cats as Array<string | number>).map((v) => String(v).trim());
    if (new Set(text).size !== text.length || text.some((v) => v === '')) fail(`${at}.categories`, 'categories must be distinct and non-empty.');
    out.categories = text;
  } else if (c['categories'] !== undefined) fail(`${at}.categories`, `only categorical columns take categories (this one is ${type}).`);
  if (c['range'] !== undefined) {
    const r = c['range'];
    if (type !== 'numeric') fail(`${at}.range`, `only numeric columns take a range (this one is ${type}).`);
    if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => typeof v === 'number' && Number.isFinite(v)) || r[0] > r[1]) fail(`${at}.range`, `must be [low, high] with low ≤ high (found ${JSON.stringify(r)}).`);
    out.range = [r[0], r[1]] as [number, number];
  }
  if (typeof c['unit'] === 'string') out.unit = c['unit'];
  if (typeof c['description'] === 'string') out.description = c['description'];
  for (const key of Object.keys(c)) if (!['name', 'type', 'column', 'categories', 'range', 'unit', 'description'].includes(key)) fail(`${at}.${key}`, 'unknown key (known: name, type, column, categories, range, unit, description).');
  return out;
}

/** `report`: `{ text?, file? }` naming at least one column. */
function parseReport(r: unknown, fail: Fail): ResolvedCohortSchema['report'] {
  if (r === undefined) return null;
  if (!isObject(r) || (r['text'] === undefined && r['file'] === undefined)) fail('report', 'must be { text?: column, file?: column } with at least one of them.');
  const rr = r as Record<string, unknown>;
  for (const k of ['text', 'file']) if (rr[k] !== undefined && !nonEmpty(rr[k])) fail(`report.${k}`, 'must name a column.');
  return { ...(rr['text'] !== undefined ? { text: rr['text'] as string } : {}), ...(rr['file'] !== undefined ? { file: rr['file'] as string } : {}) };
}

/** Column and sequence names are unique, and each manifest column is used once. */
function checkNamesAndColumns(
  s: Pick<ResolvedCohortSchema, 'id' | 'label' | 'sequences' | 'columns' | 'report' | 'split'>,
  fail: Fail,
): void {
  const names = new Map<string, string>();
  s.columns.forEach((c, i) => {
    if (names.has(c.name)) fail(`columns[${i}].name`, `duplicate column name '${c.name}'.`);
    names.set(c.name, `columns[${i}]`);
  });
  const seqNames = new Set<string>();
  s.sequences.forEach((q, i) => {
    if (seqNames.has(q.name)) fail(`sequences[${i}].name`, `duplicate sequence name '${q.name}'.`);
    seqNames.add(q.name);
  });
  const used = new Map<string, string>();
  const use = (column: string, field: string) => {
    const before = used.get(column);
    if (before) fail(field, `manifest column '${column}' is already used by ${before}.`);
    used.set(column, field);
  };
  use(s.id, 'id');
  use(s.label.column, 'label.column');
  s.sequences.forEach((q, i) => use(q.column, `sequences[${i}]`));
  s.columns.forEach((c, i) => use(c.column, `columns[${i}]`));
  if (s.report?.text) use(s.report.text, 'report.text');
  if (s.report?.file) use(s.report.file, 'report.file');
  if (s.split !== null) use(s.split, 'split');
}

/**
 * Reads and validates a cohort schema file (JSON).
 *
 * @throws {@link CohortSchemaError} for a missing file, invalid JSON (field `(root)`), or an
 *   invalid schema (as {@link parseCohortSchema}).
 * @example
 * ```ts
 * const schema = await readCohortSchema('cohort/schema.json');
 * ```
 */
export async function readCohortSchema(file: string): Promise<ResolvedCohortSchema> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new CohortSchemaError({ field: '(root)', file, message: `cannot read the schema file (${(error as Error).message}).`, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CohortSchemaError({ field: '(root)', file, message: `the schema file is not valid JSON (${(error as Error).message}).`, cause: error });
  }
  return parseCohortSchema(json, file);
}

/**
 * The schema's clinical columns as `TabularPreprocessor` column specs (name, kind, and the fixed
 * category list of each categorical column, so that category indices do not depend on which
 * patients `fit` saw).
 *
 * @example
 * ```ts
 * const pre = new TabularPreprocessor({ columns: cohortColumnSpecs(schema) }).fit(trainRows);
 * ```
 */
export function cohortColumnSpecs(schema: ResolvedCohortSchema): ColumnSpec[] {
  return schema.columns.map((c) => ({ name: c.name, type: c.type, ...(c.categories ? { categories: [...c.categories] } : {}) }));
}
