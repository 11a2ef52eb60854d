/**
 * Reading a clinical table for `TabularPreprocessor`: rows or column arrays, checked
 * against the schema's columns, and the cells of each column kind (the cell named in errors,
 * e.g. `rows[3].age`).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';

/** A cell value: missing is `null`, `undefined` or `NaN`. */
export type CellValue = number | string | boolean | null | undefined;

/** A table: an array of row objects, or an object of equally long column arrays. */
export type TableInput = ReadonlyArray<Readonly<Record<string, CellValue>>> | Readonly<Record<string, ReadonlyArray<CellValue>>>;

/** What {@link readTable} needs of the preprocessor: how unknown columns are treated. @internal */
export interface TableSchema {
  readonly unknownColumns: 'error' | 'ignore';
  isKnownColumn(name: string): boolean;
}

/** A table read by {@link readTable}: its row count, each column's cells, and a cell's name. @internal */
export interface Table {
  length: number;
  column(name: string): ReadonlyArray<CellValue>;
  where(name: string, row: number): string;
}

/**
 * Checks a table's shape and columns against the schema.
 *
 * @throws {@link InvalidArgumentError} naming the row, the column or the cell.
 * @internal
 */
export function readTable(rows: TableInput, pre: TableSchema): Table {
  if (Array.isArray(rows)) {
    const list = rows as ReadonlyArray<Readonly<Record<string, CellValue>>>;
    list.forEach((row, r) => {
      if (row == null || typeof row !== 'object' || Array.isArray(row)) {
        throw new InvalidArgumentError({ argument: `rows[${r}]`, message: 'Each row must be a plain object {column: value}.', received: row });
      }
      if (pre.unknownColumns === 'error') {
        for (const key of Object.keys(row)) {
          if (!pre.isKnownColumn(key)) {
            throw new InvalidArgumentError({
              argument: `rows[${r}].${key}`,
              message: `Column '${key}' is not in the schema.`,
              received: row[key],
              fix: "Declare it in columns, remove it, or set unknownColumns: 'ignore'.",
            });
          }
        }
      }
    });
    return {
      length: list.length,
      column: (name) => list.map((row) => row[name]),
      where: (name, r) => `rows[${r}].${name}`,
    };
  }
  if (rows == null || typeof rows !== 'object') {
    throw new InvalidArgumentError({
      argument: 'rows',
      message: 'rows must be an array of row objects or an object of column arrays.',
      received: rows,
    });
  }
  const cols = rows as Readonly<Record<string, ReadonlyArray<CellValue>>>;
  let length = -1;
  for (const [key, values] of Object.entries(cols)) {
    if (!pre.isKnownColumn(key)) {
      if (pre.unknownColumns === 'ignore') continue;
      throw new InvalidArgumentError({
        argument: `rows.${key}`,
        message: `Column '${key}' is not in the schema.`,
        received: `array of ${Array.isArray(values) ? values.length : typeof values}`,
        fix: "Declare it in columns, remove it, or set unknownColumns: 'ignore'.",
      });
    }
    if (!Array.isArray(values)) {
      throw new InvalidArgumentError({ argument: `rows.${key}`, message: 'Each column must be an array of values.', received: typeof values });
    }
    if (length >= 0 && values.length !== length) {
      throw new InvalidArgumentError({
        argument: `rows.${key}`,
        message: `All columns must have the same length (${length}).`,
        received: values.length,
      });
    }
    length = values.length;
  }
  const n = Math.max(0, length);
  return {
    length: n,
    column: (name) => {
      const v = Object.prototype.hasOwnProperty.call(cols, name) ? cols[name] : undefined;
      return v ?? new Array<CellValue>(n).fill(undefined);
    },
    where: (name, r) => `rows.${name}[${r}]`,
  };
}

/** Missing: `null`, `undefined` or `NaN`. */
function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

/** A numeric cell: its number, or null when missing. @throws {@link InvalidArgumentError} naming the cell. @internal */
export function numericCell(v: CellValue, where: string): number | null {
  if (isMissing(v)) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new InvalidArgumentError({
      argument: where,
      message: `${where} must be a finite number (or null/undefined/NaN when missing) for a numeric column.`,
      received: v,
    });
  }
  return v;
}

/** A binary cell: 0 or 1, or null when missing. @throws {@link InvalidArgumentError} naming the cell. @internal */
export function binaryCell(v: CellValue, where: string): 0 | 1 | null {
  if (isMissing(v)) return null;
  if (v === true || v === 1) return 1;
  if (v === false || v === 0) return 0;
  throw new InvalidArgumentError({
    argument: where,
    message: `${where} must be true/false or 1/0 (or null/undefined/NaN when missing) for a binary column.`,
    received: v,
  });
}

/** A categorical cell: its category as text, or null when missing. @throws {@link InvalidArgumentError} naming the cell. @internal */
export function categoricalCell(v: CellValue, where: string): string | null {
  if (isMissing(v)) return null;
  if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return String(v);
  throw new InvalidArgumentError({
    argument: where,
    message: `${where} must be a string, number or boolean (or null/undefined/NaN when missing) for a categorical column.`,
    received: v,
  });
}
