/**
 * RFC 4180 CSV: a strict parser (quoted fields with `""` escapes and embedded line breaks, CRLF
 * or LF, a UTF-8 byte-order mark skipped) that says on which line each record starts, and the
 * matching writer. Used for cohort manifests and exclusion lists.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../../errors.js';

/** Options of {@link parseCsv} and {@link formatCsv}. */
export interface CsvOptions {
  /**
   * Field separator (one character, not `"`, CR or LF): `','` for CSV, `'\t'` for TSV.
   * @defaultValue ','
   */
  delimiter?: string;
}

/** What {@link parseCsv} returns. */
export interface CsvTable {
  /** The records (header included), each a list of fields. */
  records: string[][];
  /** 1-based line on which each record starts (a quoted field may span lines). */
  lines: number[];
}

const CSV_MARKER = Symbol.for('vdafm.error.csvSyntax');

/**
 * A CSV syntax error, with the 1-based line and column where it was found (an
 * `InvalidArgumentError` on the argument `text`).
 *
 * @example
 * ```ts
 * try { parseCsv('a,"b\n'); } catch (e) { if (CsvSyntaxError.isInstance(e)) console.log(e.line); } // 1
 * ```
 */
export class CsvSyntaxError extends InvalidArgumentError {
  private readonly [CSV_MARKER] = true;
  /** 1-based line and column (characters) of the error. */
  readonly line: number;
  readonly column: number;

  constructor(line: number, column: number, message: string) {
    super({ argument: 'text', message: `CSV syntax error at line ${line}, column ${column}: ${message}` });
    this.name = 'CsvSyntaxError';
    this.line = line;
    this.column = column;
  }

  static override isInstance(error: unknown): error is CsvSyntaxError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[CSV_MARKER] === true;
  }
}

function checkDelimiter(delimiter: unknown): string {
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n') {
    throw new InvalidArgumentError({ argument: 'options.delimiter', message: 'delimiter must be one character other than ", CR and LF.', received: delimiter });
  }
  return delimiter;
}

/**
 * Parses CSV text (RFC 4180). Fields may be quoted with `"`; inside quotes a quote is written
 * `""` and delimiters and line breaks are literal. Records end at CRLF or LF; blank lines are
 * skipped; a trailing line break is optional. Records may have different field counts (the
 * caller decides what that means).
 *
 * @returns the records and the line each starts on.
 * @throws {@link CsvSyntaxError} for a quote inside an unquoted field, text after a closing
 *   quote, or a quoted field that is never closed (each naming the line and column).
 * @example
 * ```ts
 * parseCsv('id,note\nP1,"said ""hi"", left"\n').records; // [['id', 'note'], ['P1', 'said "hi", left']]
 * ```
 */
export function parseCsv(text: string, options: CsvOptions = {}): CsvTable {
  if (typeof text !== 'string') throw new InvalidArgumentError({ argument: 'text', message: 'text must be a string.', received: typeof text });
  const delimiter = checkDelimiter(options.delimiter ?? ',');
  const records: string[][] = [];
  const lines: number[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = i;
  const n = text.length;
  while (i < n) {
    // blank line
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n')) {
      i += text[i] === '\r' ? 2 : 1;
      line++;
      lineStart = i;
      continue;
    }
    const record: string[] = [];
    const startLine = line;
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        const openLine = line;
        const openColumn = i - lineStart + 1;
        i++;
        for (;;) {
          if (i >= n) throw new CsvSyntaxError(openLine, openColumn, 'a quoted field is never closed (a missing ").');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') {
            line++;
            lineStart = i + 1;
          }
          field += c;
          i++;
        }
        const next = text[i];
        if (i < n && next !== delimiter && next !== '\n' && !(next === '\r' && text[i + 1] === '\n')) {
          throw new CsvSyntaxError(line, i - lineStart + 1, `unexpected ${JSON.stringify(next)} after a closing quote (a field with quotes must be quoted whole, quotes doubled).`);
        }
      } else {
        const start = i;
        while (i < n && text[i] !== delimiter && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw new CsvSyntaxError(line, i - lineStart + 1, 'a quote inside an unquoted field (quote the whole field and double the quote: "a ""b"" c").');
          i++;
        }
        field = text.slice(start, i);
      }
      record.push(field);
      if (i < n && text[i] === delimiter) {
        i++;
        continue;
      }
      // end of record: line break or end of text
      if (i < n) {
        i += text[i] === '\r' ? 2 : 1;
        line++;
        lineStart = i;
      }
      break;
    }
    records.push(record);
    lines.push(startLine);
  }
  return { records, lines };
}

/**
 * Formats records as CSV (RFC 4180): a field is quoted when it holds the delimiter, a quote, a
 * CR or LF, or leading/trailing spaces (or is the only, empty field of its record), quotes are
 * doubled, records end with LF. `parseCsv(formatCsv(records))` gives the records back.
 *
 * @throws `InvalidArgumentError` (argument `records`) for anything but arrays of strings.
 * @example
 * ```ts
 * formatCsv([['id', 'note'], ['P1', 'said "hi", left']]); // 'id,note\nP1,"said ""hi"", left"\n'
 * ```
 */
export function formatCsv(records: ReadonlyArray<ReadonlyArray<string>>, options: CsvOptions = {}): string {
  const delimiter = checkDelimiter(options.delimiter ?? ',');
  if (!Array.isArray(records) || records.some((r) => !Array.isArray(r) || r.length === 0 || (r as readonly unknown[]).some((f) => typeof f !== 'string'))) {
    throw new InvalidArgumentError({ argument: 'records', message: 'records must be an array of non-empty arrays of strings.', received: typeof records });
  }
  const quote = (f: string, only: boolean) =>
    (only && f === '') || f.includes(delimiter) || f.includes('"') || f.includes('\n') || f.includes('\r') || f !== f.trim() ? `"${f.replaceAll('"', '""')}"` : f;
  return records.map((r) => `${r.map((f: string) => quote(f, r.length === 1)).join(delimiter)}\n`).join('');
}
