/**
 * The cohort manifest: one row per patient in a CSV / TSV file (RFC 4180 quoting, a header row)
 * or a JSON Lines file (one object per line), read and checked cell by cell against the
 * {@link ResolvedCohortSchema}. Every problem of a row becomes a {@link CohortProblem} naming the
 * row, the id, the column and the file; nothing is dropped silently.
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ClinicalRow } from '../../data/clinical.js';
import { CsvSyntaxError, parseCsv, type CsvTable } from './csv.js';
import { CohortManifestError, type CohortProblem, type CohortProblemKind } from './errors.js';
import type { ResolvedCohortSchema } from './schema.js';

/** A manifest cell: text from a CSV, or a JSON value from JSON Lines. */
export type ManifestCell = string | number | boolean | null;

/** One manifest record before validation. */
export interface ManifestRecord {
  /** 1-based line where the record starts (CSV: the header is line 1). */
  readonly row: number;
  /** Cells by manifest column name (absent columns are missing). */
  readonly cells: Readonly<Record<string, ManifestCell>>;
  /** Why the record cannot be read at all (wrong field count, invalid JSON), if so. */
  readonly malformed?: string;
}

/** What {@link readManifest} returns. */
export interface ManifestTable {
  /** Absolute path of the manifest. */
  readonly file: string;
  readonly format: 'csv' | 'tsv' | 'jsonl';
  /** The header's column names (CSV/TSV), or every key seen (JSON Lines). */
  readonly columns: readonly string[];
  readonly records: readonly ManifestRecord[];
  /** Manifest columns the schema does not use (they are ignored). */
  readonly ignoredColumns: readonly string[];
}

/** Manifest formats by file extension. */
const FORMATS: Record<string, 'csv' | 'tsv' | 'jsonl'> = { '.csv': 'csv', '.tsv': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };

/** Every manifest column the schema reads, with the schema field that names it. */
function schemaColumns(schema: ResolvedCohortSchema): Array<[string, string]> {
  return [
    [schema.id, 'id'],
    [schema.label.column, 'label'],
    ...schema.sequences.map((s): [string, string] => [s.column, `sequence ${s.name}`]),
    ...schema.columns.map((c): [string, string] => [c.column, `clinical column ${c.name}`]),
    ...(schema.report?.text ? [[schema.report.text, 'report text'] as [string, string]] : []),
    ...(schema.report?.file ? [[schema.report.file, 'report file'] as [string, string]] : []),
    ...(schema.split ? [[schema.split, 'split'] as [string, string]] : []),
  ];
}

/**
 * Reads a manifest file into records (no validation of the cells yet): `.csv` (comma), `.tsv`
 * (tab) or `.jsonl` / `.ndjson` (one JSON object per line), or the `format` given.
 *
 * @param file - the manifest.
 * @param schema - the schema; a CSV/TSV header must hold every column it names.
 * @param options - `format` overrides the extension.
 * @throws {@link CohortManifestError} for an unreadable file, an unknown extension, a CSV syntax
 *   error (with its line), a header without a column the schema needs, a repeated header
 *   column, or no patient row.
 * @example
 * ```ts
 * const table = await readManifest('cohort/manifest.csv', schema);
 * table.records.length; // patients
 * ```
 */
export async function readManifest(file: string, schema: ResolvedCohortSchema, options: { format?: 'csv' | 'tsv' | 'jsonl' } = {}): Promise<ManifestTable> {
  const abs = path.resolve(file);
  const format = options.format ?? FORMATS[path.extname(abs).toLowerCase()];
  if (!format) throw new CohortManifestError({ file: abs, message: `unknown manifest type '${path.extname(abs)}': use .csv, .tsv, .jsonl or .ndjson (or pass format).` });
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch (error) {
    throw new CohortManifestError({ file: abs, message: `cannot read the manifest (${(error as Error).message}).`, cause: error });
  }
  const needed = schemaColumns(schema);
  const table = format === 'jsonl' ? readJsonLines(abs, text) : readDelimited(abs, text, format, needed);
  if (table.records.length === 0) throw new CohortManifestError({ file: abs, message: 'the manifest has no patient rows.' });
  const usedNames = new Set(needed.map(([c]) => c));
  return { ...table, ignoredColumns: table.columns.filter((c) => !usedNames.has(c)) };
}

function readDelimited(file: string, text: string, format: 'csv' | 'tsv', needed: Array<[string, string]>): Omit<ManifestTable, 'ignoredColumns'> {
  let parsed: CsvTable;
  try {
    parsed = parseCsv(text, { delimiter: format === 'tsv' ? '\t' : ',' });
  } catch (error) {
    if (CsvSyntaxError.isInstance(error)) throw new CohortManifestError({ file, line: error.line, message: error.message, cause: error });
    throw error;
  }
  const [header, ...rows] = parsed.records;
  if (!header) throw new CohortManifestError({ file, message: 'the manifest is empty (no header row).' });
  const columns = header.map((h) => h.trim());
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup !== undefined) throw new CohortManifestError({ file, line: parsed.lines[0], message: `the header repeats the column '${dup}'.` });
  const missing = needed.filter(([c]) => !columns.includes(c));
  if (missing.length) {
    throw new CohortManifestError({
      file,
      line: parsed.lines[0],
      message: `the header lacks ${missing.map(([c, what]) => `'${c}' (${what})`).join(', ')}; it has ${columns.map((c) => `'${c}'`).join(', ')}. Rename the columns or the schema's entries.`,
    });
  }
  const records = rows.map((fields, r): ManifestRecord => {
    const row = parsed.lines[r + 1]!;
    const cells: Record<string, ManifestCell> = {};
    columns.forEach((c, i) => {
      if (i < fields.length) cells[c] = fields[i]!;
    });
    if (fields.length !== columns.length) {
      return { row, cells, malformed: `the row has ${fields.length} fields, the header ${columns.length} (a missing or extra ${format === 'tsv' ? 'tab' : 'comma'}, or an unquoted ${format === 'tsv' ? 'tab' : 'comma'} in a value)` };
    }
    return { row, cells };
  });
  return { file, format, columns, records };
}

function readJsonLines(file: string, text: string): Omit<ManifestTable, 'ignoredColumns'> {
  const records: ManifestRecord[] = [];
  const columns = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^\uFEFF/, '');
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      records.push({ row: i + 1, cells: {}, malformed: `the line is not valid JSON (${(error as Error).message})` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      records.push({ row: i + 1, cells: {}, malformed: 'the line is not a JSON object' });
      return;
    }
    const cells: Record<string, ManifestCell> = {};
    const bad: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      columns.add(k);
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') cells[k] = v;
      else bad.push(k);
    }
    records.push(bad.length ? { row: i + 1, cells, malformed: `the values of ${bad.join(', ')} are objects or arrays; cells must be strings, numbers, booleans or null` } : { row: i + 1, cells });
  });
  return { file, format: 'jsonl', columns: [...columns], records };
}

/** Where a patient's report comes from. */
export type ReportSource = { readonly text: string } | { readonly file: string } | null;

/** A manifest row whose cells passed validation (files not read yet). */
export interface CohortRow {
  readonly row: number;
  readonly id: string;
  /** 1 for the positive class, 0 otherwise. */
  readonly label: 0 | 1;
  /** The label as in the manifest (the mRS level for an ordinal label). */
  readonly labelValue: string | number;
  /** Index of the value in the schema's `label.values` (the class index of an ordinal head). */
  readonly labelIndex: number;
  readonly clinical: ClinicalRow;
  /** Where the report comes from (the manifest's text, a file) or null. */
  readonly reportSource: ReportSource;
  readonly split: 'train' | 'val' | 'test' | null;
  /** Sequence name → absolute NIfTI path, in the schema's sequence order. */
  readonly files: Readonly<Record<string, string>>;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPLITS = new Set(['train', 'val', 'test']);

/** A row that failed a cell check but names files: they are checked too, so that one run reports everything. */
export interface InvalidRowFiles {
  readonly row: number;
  readonly id: string | null;
  readonly files: Readonly<Record<string, string>>;
  readonly reportSource: ReportSource;
}

/** What {@link validateManifest} returns. */
export interface ManifestCheck {
  /** The rows whose cells are all valid, in manifest order. */
  readonly rows: CohortRow[];
  /** Every problem, by row. */
  readonly problems: CohortProblem[];
  /** The invalid rows' files (to be checked as well). */
  readonly invalidRowFiles: InvalidRowFiles[];
}

/**
 * Validates every record against the schema: id present and unique, label present and one of
 * the schema's values, numeric cells numbers within their range, binary cells 0/1/true/false,
 * categorical cells among their categories, split `train`/`val`/`test`, a path for every
 * sequence. Paths resolve against `baseDir` (the manifest's folder).
 *
 * @returns the valid rows (each with all its cells parsed), every problem (a record with any
 *   problem is not in `rows`; duplicate ids exclude every row that carries them), and the files
 *   named by invalid rows.
 * @example
 * ```ts
 * const { rows, problems } = validateManifest(await readManifest(file, schema), schema);
 * ```
 */
export function validateManifest(table: ManifestTable, schema: ResolvedCohortSchema, baseDir = path.dirname(table.file)): ManifestCheck {
  const missing = new Set(schema.missingValues);
  const isMissing = (v: ManifestCell | undefined) => v === undefined || v === null || (typeof v === 'string' && missing.has(v.trim())) || (typeof v === 'number' && Number.isNaN(v));
  const problems: CohortProblem[] = [];
  const parsed = table.records.map((record) => checkRecord(record, { schema, baseDir, missing, isMissing }, problems));
  // duplicate ids: every row that carries one is excluded (which of them is right cannot be told)
  const byId = new Map<string, number[]>();
  for (const p of parsed) if (p.id !== null) byId.set(p.id, [...(byId.get(p.id) ?? []), p.record.row]);
  const duplicated = new Set<string>();
  for (const [id, rows] of byId) {
    if (rows.length < 2) continue;
    duplicated.add(id);
    for (const row of rows) problems.push({ row, id, kind: 'duplicate-id', column: schema.id, message: `the id ${JSON.stringify(id)} is on rows ${rows.join(', ')}; ids must be unique (every row with it is excluded)` });
  }
  problems.sort((a, b) => a.row - b.row);
  const valid = (p: ParsedRecord) => p.row !== null && !duplicated.has(p.id!);
  const rows = parsed.filter(valid).map((p) => p.row!);
  const invalidRowFiles = parsed.filter((p) => !valid(p) && p.files).map((p) => ({ row: p.record.row, id: p.id, files: p.files!, reportSource: p.report ?? null }));
  return { rows, problems, invalidRowFiles };
}

/** A record after its cells were checked: the row when they are all valid, and the files it names. */
interface ParsedRecord {
  row: CohortRow | null;
  record: ManifestRecord;
  id: string | null;
  files?: Record<string, string>;
  report?: ReportSource;
}

/** What the cell checks read: the schema, the manifest's folder, and what counts as missing. */
interface CellContext {
  schema: ResolvedCohortSchema;
  baseDir: string;
  missing: ReadonlySet<string>;
  isMissing(v: ManifestCell | undefined): boolean;
}

/** Adds a problem of the record's row (a cell's column, a file) to the list. */
type AddProblem = (kind: CohortProblemKind, message: string, extra?: { column?: string; file?: string }) => void;

/** Checks one record's cells (id, label, clinical cells, split, sequence paths, report), adding each problem to `problems`. */
function checkRecord(record: ManifestRecord, ctx: CellContext, problems: CohortProblem[]): ParsedRecord {
  const { schema, baseDir, isMissing } = ctx;
  const idCell = record.cells[schema.id];
  const id = isMissing(idCell) ? null : String(idCell).trim();
  const before = problems.length;
  const add: AddProblem = (kind, message, extra = {}) => problems.push({ row: record.row, id, kind, message, ...extra });
  if (record.malformed) {
    add('malformed-row', record.malformed);
    return { row: null, record, id };
  }
  const cells = record.cells;
  if (id === null) add('missing-id', `the id cell is empty`, { column: schema.id });
  const { label, labelValue, labelIndex } = readLabel(cells, ctx, add);
  const clinical = readClinical(cells, ctx, add);
  // split
  let split: CohortRow['split'] = null;
  if (schema.split && !isMissing(cells[schema.split])) {
    const s = String(cells[schema.split]).trim();
    if (SPLITS.has(s)) split = s as CohortRow['split'];
    else add('invalid-split', `${JSON.stringify(cells[schema.split])} is not a split; use train, val or test (or leave it empty)`, { column: schema.split });
  }
  // sequence paths
  const files: Record<string, string> = {};
  for (const s of schema.sequences) {
    const v = cells[s.column];
    if (isMissing(v)) add('missing-path', `no ${s.name} file is given`, { column: s.column });
    else files[s.name] = path.resolve(baseDir, String(v).trim());
  }
  // report
  let report: ReportSource = null;
  const rt = schema.report?.text;
  const rf = schema.report?.file;
  if (rt && !isMissing(cells[rt])) report = { text: String(cells[rt]) };
  else if (rf && !isMissing(cells[rf])) report = { file: path.resolve(baseDir, String(cells[rf]).trim()) };

  const ok = problems.length === before;
  return { row: ok ? { row: record.row, id: id!, label, labelValue, labelIndex, clinical, reportSource: report, split, files } : null, record, id, files, report };
}

/** The label cell: present and one of the schema's values (binary) or levels (ordinal). */
function readLabel(cells: ManifestRecord['cells'], { schema, isMissing }: CellContext, add: AddProblem) {
  const lc = schema.label.column;
  const lv = cells[lc];
  let label: 0 | 1 = 0;
  let labelValue: string | number = '';
  let labelIndex = -1;
  if (isMissing(lv)) add('missing-label', 'the label is empty (a patient without an outcome cannot be used)', { column: lc });
  else if (schema.label.type === 'binary') {
    const text = String(lv).trim();
    labelIndex = schema.label.values.findIndex((v) => String(v) === text || (typeof v === 'number' && NUMBER.test(text) && Number(text) === v));
    if (labelIndex < 0) add('label-outside-schema', `label ${JSON.stringify(lv)} is not one of the schema's values ${JSON.stringify(schema.label.values)} (negative, positive)`, { column: lc });
    else (labelValue = schema.label.values[labelIndex]!), (label = labelIndex as 0 | 1);
  } else {
    const text = String(lv).trim();
    const n = typeof lv === 'number' ? lv : NUMBER.test(text) ? Number(text) : NaN;
    labelIndex = schema.label.values.indexOf(n);
    if (labelIndex < 0) add('label-outside-schema', `label ${JSON.stringify(lv)} is not one of the schema's levels ${JSON.stringify(schema.label.values)}`, { column: lc });
    else (labelValue = n), (label = n >= schema.label.positiveAtLeast ? 1 : 0);
  }
  return { label, labelValue, labelIndex };
}

/** The clinical cells: numbers within their range, 0/1, declared categories (missing cells are null). */
function readClinical(cells: ManifestRecord['cells'], { schema, missing, isMissing }: CellContext, add: AddProblem): ClinicalRow {
  const clinical: ClinicalRow = {};
  for (const c of schema.columns) {
    const v = cells[c.column];
    if (isMissing(v)) {
      clinical[c.name] = null;
      continue;
    }
    const text = String(v).trim();
    if (c.type === 'numeric') {
      const n = typeof v === 'number' ? v : NUMBER.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n)) {
        add('not-a-number', `${JSON.stringify(v)} is not a number${/^[+-]?\d+,\d+$/.test(text) ? ' (use a decimal point, not a comma)' : ''}; leave the cell empty (or ${[...missing].filter((m) => m).join('/')}) when the value is missing`, { column: c.column });
      } else if (c.range && (n < c.range[0] || n > c.range[1])) {
        add('out-of-range', `${n}${c.unit ? ` ${c.unit}` : ''} is outside the schema's range [${c.range[0]}, ${c.range[1]}]`, { column: c.column });
      } else clinical[c.name] = n;
    } else if (c.type === 'binary') {
      const b = v === true || v === 1 || /^(1|true)$/i.test(text) ? 1 : v === false || v === 0 || /^(0|false)$/i.test(text) ? 0 : null;
      if (b === null) add('not-binary', `${JSON.stringify(v)} is not binary; use 0/1 or true/false`, { column: c.column });
      else clinical[c.name] = b;
    } else if (!c.categories!.includes(text)) {
      add('unknown-category', `${JSON.stringify(v)} is not a category of this column (${c.categories!.map((x) => JSON.stringify(x)).join(', ')}); add it to the schema or fix the cell`, { column: c.column });
    } else clinical[c.name] = text;
  }
  return clinical;
}
