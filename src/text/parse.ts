/**
 * Parsing and repair of LLM report output against a {@link ReportSchema}.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import type { InvalidReportField } from './errors.js';
import { balancedObjects, fencedBlocks, isSpace, salvagePairs } from './json-extract.js';
import { assertReportSchema, normalizeValue, type ReportSchema } from './schema.js';

/** What {@link parseReport} returns. */
export interface ParsedReport {
  /** Recognised fields, key → canonical value (enum values in the schema's spelling). */
  readonly fields: Record<string, string>;
  /** Required fields not found in the text. */
  readonly missing: string[];
  /** Fields found with a value the schema does not allow (not in `fields`). */
  readonly invalid: InvalidReportField[];
  /** Which form was recognised: a JSON object, `Label: value` lines/pipes, or nothing usable. */
  readonly format: 'json' | 'lines' | 'none';
  /** True when nothing is missing or invalid. */
  readonly valid: boolean;
}

/** Options of {@link parseReport}. */
export interface ParseReportOptions {
  /**
   * Longest text (in UTF-16 code units, `text.length`) the parser reads; longer text is refused
   * with a typed error rather than parsed. Parsing is linear in the text, so this bounds its time
   * and memory.
   * @defaultValue 1048576 (1 MiB of characters; a report is a few hundred)
   */
  readonly maxInputChars?: number;
}

/** Default of {@link ParseReportOptions.maxInputChars}. @internal */
export const DEFAULT_MAX_INPUT_CHARS = 1_048_576;

type Field = ReportSchema['fields'][number];

const normKey = (k: string): string => k.toLowerCase().replace(/[^a-z0-9]/g, '');

function fieldIndex(schema: ReportSchema): Map<string, Field> {
  const m = new Map<string, Field>();
  for (const f of schema.fields) {
    m.set(normKey(f.key), f);
    m.set(normKey(f.label), f);
  }
  return m;
}

function tryJson(candidate: string): Record<string, unknown> | undefined {
  const attempts = [candidate, candidate.replace(/[\u201c\u201d]/g, '"').replace(/,\s*([}\]])/g, '$1')];
  for (const a of attempts) {
    try {
      const v: unknown = JSON.parse(a);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      if (Array.isArray(v) && v.length === 1 && v[0] !== null && typeof v[0] === 'object') return v[0] as Record<string, unknown>;
    } catch {
      // try the next variant
    }
  }
  return undefined;
}

/** JSON objects found in the text: fenced blocks first, then balanced braces (8 candidates at most); then a salvage of complete pairs. */
function findJson(text: string, index: Map<string, Field>): { object: Record<string, unknown>; partial: boolean } | undefined {
  const candidates = fencedBlocks(text, 8);
  candidates.push(...balancedObjects(text, 8 - candidates.length));
  for (const c of candidates) {
    let obj = tryJson(c.trim());
    if (!obj) continue;
    // One level of wrapping, e.g. {"report": {...}}.
    const known = Object.keys(obj).some((k) => index.has(normKey(k)));
    if (!known) {
      const nested = Object.values(obj).filter((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
      if (nested.length === 1) obj = nested[0] as Record<string, unknown>;
    }
    if (Object.keys(obj).some((k) => index.has(normKey(k)))) return { object: obj, partial: false };
  }
  // Truncated or malformed JSON: keep the complete "key": "value" pairs.
  if (text.includes('{')) {
    const salvaged: Record<string, unknown> = {};
    for (const [key, value] of salvagePairs(text)) {
      if (!index.has(normKey(key))) continue;
      try {
        salvaged[key] = JSON.parse(value);
      } catch {
        // an unterminated value: leave the field missing
      }
    }
    if (Object.keys(salvaged).length > 0) return { object: salvaged, partial: true };
  }
  return undefined;
}

/** A field value as one line of text; arrays (nested at most 4 deep) become comma-separated. */
function asText(value: unknown, depth = 0): string | undefined {
  if (value == null) return undefined;
  if (Array.isArray(value)) {
    if (depth >= 4) return undefined;
    const parts = value.map((v) => asText(v, depth + 1)).filter((v): v is string => v !== undefined);
    return parts.length ? parts.join(', ') : undefined;
  }
  if (typeof value === 'string') {
    const s = value.replace(/\s+/g, ' ').trim();
    return s === '' ? undefined : s;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

const NEGATION = /\b(no|not|without|absent|none|neither|nor)\b/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Maps a raw value to the field's canonical enum value, or undefined. */
function matchEnum(field: Field, raw: string): string | undefined {
  const values = field.values ?? [];
  const table = new Map<string, string>();
  for (const v of values) table.set(normalizeValue(v), v);
  for (const [alias, target] of Object.entries(field.synonyms ?? {})) {
    const n = normalizeValue(alias);
    if (!table.has(n)) table.set(n, target);
  }
  const base = normalizeValue(raw);
  const variants = [
    base,
    normalizeValue(withoutTrailingNote(base)), // 'large (~40 mL)'
    normalizeValue(trimChars(base, '"\'`*_')), // quoted or emphasised
    normalizeValue(base.replace(/[_-]+/g, ' ')),
  ];
  for (const v of variants) {
    const hit = table.get(v);
    if (hit !== undefined) return hit;
  }
  // Last resort: exactly one canonical value occurs as a whole phrase (not under a negation).
  if (NEGATION.test(base)) return undefined;
  const found = new Set<string>();
  for (const [n, target] of table) {
    if (n.length < 2) continue;
    if (new RegExp(`(^|[^a-z0-9])${escapeRe(n)}($|[^a-z0-9])`).test(base)) found.add(target);
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** `text` without a trailing parenthesised note and the whitespace before it (`'large (~40 mL)'` → `'large'`). */
function withoutTrailingNote(text: string): string {
  const t = text.trimEnd();
  if (!t.endsWith(')')) return text;
  const open = t.indexOf('(', t.lastIndexOf(')', t.length - 2) + 1);
  if (open < 0) return text;
  return t.slice(0, open).trimEnd();
}

/** `text` without leading and trailing runs of the given characters. */
function trimChars(text: string, chars: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && chars.includes(text[a]!)) a++;
  while (b > a && chars.includes(text[b - 1]!)) b--;
  return text.slice(a, b);
}

/** Removes Markdown bold around a value: leading `*`s (and the spaces after), trailing `*`s (and the spaces before). */
function withoutStars(value: string): string {
  let a = 0;
  let b = value.length;
  if (value[0] === '*') {
    while (a < b && value[a] === '*') a++;
    while (a < b && isSpace(value.charCodeAt(a))) a++;
  }
  let e = b;
  while (e > a && value[e - 1] === '*') e--;
  if (e < b) {
    while (e > a && isSpace(value.charCodeAt(e - 1))) e--;
    b = e;
  }
  return value.slice(a, b);
}

/** A label before the first `:` of a segment: an optional list marker, `**bold**`, ≤ 64 characters. */
const LABEL = /^(?:[-•>]\s+|\d+[.)]\s*)?\**([^:*]{1,64}?)\**$/;

function lineEntries(text: string, schema: ReportSchema, index: Map<string, Field>): Array<[string, string]> {
  const sep = schema.separator.trim();
  const segments = text.split(/\r?\n/).flatMap((line) => line.split(sep === '' ? '|' : sep));
  const out: Array<[string, string]> = [];
  for (const seg of segments) {
    const colon = seg.indexOf(':');
    if (colon < 0) continue;
    const head = seg.slice(0, colon).trim();
    if (head.length > 256) continue; // longer than any marker + bold + 64-character label
    const m = LABEL.exec(head);
    if (!m) continue;
    if (!index.has(normKey(m[1]!))) continue;
    out.push([m[1]!, withoutStars(seg.slice(colon + 1).trimStart())]); // Markdown bold around labels/values
  }
  return out;
}

/**
 * Validates and repairs LLM output against a report schema. Accepts a JSON object (bare, in
 * ```` ``` ```` fences, surrounded by prose, with trailing commas, wrapped once as
 * `{"report": {...}}`, or truncated, in which case the complete pairs are kept) or
 * `Label: value` lines or pipes (the rendered form; Markdown list markers and `**bold**` around
 * labels or values are ignored). Keys match field keys or labels ignoring
 * case, spaces and punctuation (`mass_effect`, `Mass effect`, `massEffect`). Enum values match
 * ignoring case, whitespace, a trailing period or parenthesised note (`Large (~40 mL)`), and the
 * schema's synonyms (`yes` → `present`). Arrays become comma-separated text.
 *
 * Never throws on bad LLM text: it reports what is missing or invalid. Linear in the length of
 * the text (no backtracking patterns, no rescanning per brace), and it reads at most
 * `maxInputChars` characters.
 *
 * @param text - the model's raw output.
 * @param schema - the report schema to fill.
 * @param options - see {@link ParseReportOptions}.
 * @throws {@link InvalidArgumentError} when `text` is not a string, is longer than
 * `options.maxInputChars` (`argument: 'text'`; the message gives the lengths, never the text), or
 * `schema` is not a schema, or `options.maxInputChars` is not a positive integer.
 * @example
 * ```ts
 * const r = parseReport('```json\n{"acuteLesion": "Yes", "side": "LEFT"}\n```', strokeReportSchema);
 * r.fields;  // { acuteLesion: 'present', side: 'left' }
 * r.missing; // ['sequences', 'territory', ...]
 * ```
 */
export function parseReport(text: string, schema: ReportSchema, options: ParseReportOptions = {}): ParsedReport {
  if (typeof text !== 'string') {
    throw new InvalidArgumentError({ argument: 'text', message: 'text must be a string (the model output).', received: typeof text });
  }
  assertReportSchema(schema, 'schema');
  const maxInputChars = options?.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS;
  if (!Number.isInteger(maxInputChars) || maxInputChars < 1) {
    throw new InvalidArgumentError({ argument: 'options.maxInputChars', message: 'maxInputChars must be a positive integer.', received: maxInputChars });
  }
  if (text.length > maxInputChars) {
    throw new InvalidArgumentError({
      argument: 'text',
      message: `text is ${text.length} characters long, more than maxInputChars (${maxInputChars}); it was not parsed.`,
      fix: 'A report is a few hundred characters: check the model output (or raise maxInputChars).',
    });
  }
  const index = fieldIndex(schema);
  let entries: Array<[string, unknown]> = [];
  let format: ParsedReport['format'] = 'none';
  const json = findJson(text, index);
  if (json) {
    entries = Object.entries(json.object);
    format = 'json';
  } else {
    entries = lineEntries(text, schema, index);
    if (entries.length > 0) format = 'lines';
  }
  const fields: Record<string, string> = {};
  const invalid: InvalidReportField[] = [];
  const seen = new Set<string>();
  for (const [k, v] of entries) {
    const field = index.get(normKey(k));
    if (!field || seen.has(field.key)) continue;
    const value = asText(v);
    if (value === undefined) continue;
    seen.add(field.key);
    if (field.kind === 'text') {
      fields[field.key] = value;
      continue;
    }
    const canonical = matchEnum(field, value);
    if (canonical !== undefined) fields[field.key] = canonical;
    else invalid.push({ key: field.key, value: value.slice(0, 80), reason: `not one of ${field.values!.join(', ')}` });
  }
  const missing = schema.fields.filter((f) => f.required && !seen.has(f.key)).map((f) => f.key);
  return { fields, missing, invalid, format, valid: missing.length === 0 && invalid.length === 0 };
}
