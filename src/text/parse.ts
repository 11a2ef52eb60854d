/**
 * Parsing and repair of LLM report output against a {@link ReportSchema}.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import type { InvalidReportField } from './errors.js';
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

/** Finds the balanced `{...}` starting at `start`, honouring strings; returns the end index or -1. */
function matchBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
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

/** JSON objects found in the text: fenced blocks first, then balanced braces; then a salvage of complete pairs. */
function findJson(text: string, index: Map<string, Field>): { object: Record<string, unknown>; partial: boolean } | undefined {
  const candidates: string[] = [];
  const fence = /```[a-zA-Z]*\s*\n?([\s\S]*?)```/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) candidates.push(m[1]!);
  for (let i = text.indexOf('{'); i >= 0 && candidates.length < 8; i = text.indexOf('{', i + 1)) {
    const end = matchBrace(text, i);
    if (end > i) {
      candidates.push(text.slice(i, end + 1));
      i = end;
    }
  }
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
    const pair = /"([^"\\]{1,64})"\s*:\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\]|-?\d+(?:\.\d+)?|true|false|null)/g;
    const salvaged: Record<string, unknown> = {};
    for (let m = pair.exec(text); m; m = pair.exec(text)) {
      if (!index.has(normKey(m[1]!))) continue;
      try {
        salvaged[m[1]!] = JSON.parse(m[2]!);
      } catch {
        // an unterminated value: leave the field missing
      }
    }
    if (Object.keys(salvaged).length > 0) return { object: salvaged, partial: true };
  }
  return undefined;
}

function asText(value: unknown): string | undefined {
  if (value == null) return undefined;
  if (Array.isArray(value)) {
    const parts = value.map(asText).filter((v): v is string => v !== undefined);
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
    normalizeValue(base.replace(/\s*\([^)]*\)\s*$/, '')), // 'large (~40 mL)'
    normalizeValue(base.replace(/^["'`*_]+|["'`*_]+$/g, '')), // quoted or emphasised
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

function lineEntries(text: string, schema: ReportSchema, index: Map<string, Field>): Array<[string, string]> {
  const sep = schema.separator.trim();
  const segments = text.split(/\r?\n/).flatMap((line) => line.split(sep === '' ? '|' : sep));
  const out: Array<[string, string]> = [];
  for (const seg of segments) {
    const m = /^\s*(?:[-•>]\s+|\d+[.)]\s*)?\**([^:*]{1,64}?)\**\s*:\s*([\s\S]*)$/.exec(seg);
    if (!m) continue;
    if (!index.has(normKey(m[1]!))) continue;
    out.push([m[1]!, m[2]!.replace(/^\*+\s*|\s*\*+$/g, '')]); // Markdown bold around labels/values
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
 * Never throws on bad LLM text: it reports what is missing or invalid.
 *
 * @param text - the model's raw output.
 * @param schema - the report schema to fill.
 * @throws {@link InvalidArgumentError} when `text` is not a string or `schema` is not a schema.
 * @example
 * ```ts
 * const r = parseReport('```json\n{"acuteLesion": "Yes", "side": "LEFT"}\n```', strokeReportSchema);
 * r.fields;  // { acuteLesion: 'present', side: 'left' }
 * r.missing; // ['sequences', 'territory', ...]
 * ```
 */
export function parseReport(text: string, schema: ReportSchema): ParsedReport {
  if (typeof text !== 'string') {
    throw new InvalidArgumentError({ argument: 'text', message: 'text must be a string (the model output).', received: typeof text });
  }
  assertReportSchema(schema, 'schema');
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
