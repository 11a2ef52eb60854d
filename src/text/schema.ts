/**
 * Report schemas: the fixed fields of a semi-structured report, as data.
 *
 * A schema lists named fields in order. Each field is either `'enum'` (one of a list of allowed
 * values, with optional synonyms that the parser maps onto them) or `'text'` (free text). The
 * schema renders filled fields to one line of text, `Label: value` pairs joined by
 * {@link DEFAULT_REPORT_SEPARATOR} (`' | '`), the form the text encoder tokenizes.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

const SCHEMA_MARKER = Symbol.for('vdafm.reportSchema');

/**
 * The separator between `Label: value` pairs in a rendered report: `' | '` (space, pipe, space).
 * Free-text values never contain it: {@link renderReport} replaces `|` in values by `/` and
 * line breaks by spaces, so the rendered text always splits back into the same fields.
 */
export const DEFAULT_REPORT_SEPARATOR = ' | ';

/** One field of a report schema. */
export interface ReportFieldDefinition {
  /** Key in the parsed record, e.g. `'massEffect'` (letters, digits, `_`; starts with a letter). */
  readonly key: string;
  /** Label in the rendered text, e.g. `'Mass effect'` (no `:`, `|` or line break). */
  readonly label: string;
  /** `'enum'`: one of `values`; `'text'`: free text. */
  readonly kind: 'enum' | 'text';
  /** Allowed values of an `'enum'` field, canonical spelling. */
  readonly values?: ReadonlyArray<string>;
  /** Other spellings the parser accepts, mapped to a canonical value (`{ yes: 'present' }`). Case-insensitive. */
  readonly synonyms?: Readonly<Record<string, string>>;
  /**
   * Whether a report lacking this field is invalid.
   * @defaultValue true
   */
  readonly required?: boolean;
  /** What the field means; shown to the LLM in the prompt and the JSON schema. */
  readonly description?: string;
}

/**
 * Extra measured values a renderer may use (e.g. the lesion volume behind `size`).
 */
export interface ReportRenderContext {
  /** Lesion volume in millilitres, when measured. */
  readonly volumeMl?: number;
}

/**
 * Optional per-field rendering hook: returns the text shown for `value` (e.g. `'large (~40 mL)'`).
 * The parser strips a trailing parenthesised note before matching enum values, so a hook may
 * append one.
 */
export type ReportValueFormatter = (key: string, value: string, context: ReportRenderContext) => string;

/** What {@link defineReportSchema} takes. */
export interface ReportSchemaDefinition {
  /** Schema name, e.g. `'stroke'` (used as the JSON-schema name sent to the server). */
  readonly name: string;
  /**
   * Version; bump it when the fields change so that caches keyed on the schema are invalidated.
   * @defaultValue 1
   */
  readonly version?: number;
  /** The fields, in rendering order. */
  readonly fields: ReadonlyArray<ReportFieldDefinition>;
  /**
   * Separator between rendered fields.
   * @defaultValue ' | '
   */
  readonly separator?: string;
  /** Optional rendering hook (see {@link ReportValueFormatter}). */
  readonly formatValue?: ReportValueFormatter;
}

/** A validated, frozen report schema (create one with {@link defineReportSchema}). */
export interface ReportSchema {
  readonly name: string;
  readonly version: number;
  readonly fields: ReadonlyArray<Required<Pick<ReportFieldDefinition, 'key' | 'label' | 'kind' | 'required'>> & ReportFieldDefinition>;
  readonly separator: string;
  readonly formatValue: ReportValueFormatter | undefined;
  /** Renders fields to text (same as {@link renderReport}). */
  render(fields: Readonly<Record<string, string | undefined>>, context?: ReportRenderContext): string;
}

const KEY_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

function bad(argument: string, message: string, received?: unknown): InvalidArgumentError {
  return received === undefined
    ? new InvalidArgumentError({ argument, message })
    : new InvalidArgumentError({ argument, message, received });
}

/**
 * Validates a report-schema definition and returns a frozen {@link ReportSchema}.
 * Other diseases define their own schema this way; {@link strokeReportSchema} is the default.
 *
 * @throws {@link InvalidArgumentError} naming the offending part (`'definition.fields[2].values'`)
 * for an empty name, no fields, duplicate keys or labels, labels containing `:`/`|`, an enum
 * without values, duplicate values, or a synonym pointing at a value that does not exist.
 * @example
 * ```ts
 * const schema = defineReportSchema({
 *   name: 'tumour',
 *   fields: [
 *     { key: 'enhancing', label: 'Enhancing', kind: 'enum', values: ['yes', 'no'] },
 *     { key: 'impression', label: 'Impression', kind: 'text' },
 *   ],
 * });
 * schema.render({ enhancing: 'yes', impression: 'ring-enhancing lesion.' });
 * // 'Enhancing: yes | Impression: ring-enhancing lesion.'
 * ```
 */
export function defineReportSchema(definition: ReportSchemaDefinition): ReportSchema {
  if (definition == null || typeof definition !== 'object') {
    throw bad('definition', 'definition must be an object with name and fields.', definition);
  }
  const { name, fields } = definition;
  if (typeof name !== 'string' || name.trim() === '') throw bad('definition.name', 'name must be a non-empty string.', name);
  const version = definition.version ?? 1;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw bad('definition.version', 'version must be a positive integer.', version);
  }
  const separator = definition.separator ?? DEFAULT_REPORT_SEPARATOR;
  if (typeof separator !== 'string' || separator.trim() === '' || separator.includes(':') || /[\r\n]/.test(separator)) {
    throw bad('definition.separator', 'separator must contain a visible character other than ":" and no line break.', separator);
  }
  if (definition.formatValue !== undefined && typeof definition.formatValue !== 'function') {
    throw bad('definition.formatValue', 'formatValue must be a function.', definition.formatValue);
  }
  if (!Array.isArray(fields) || fields.length === 0) {
    throw bad('definition.fields', 'fields must be a non-empty array.', fields);
  }
  const keys = new Set<string>();
  const labels = new Set<string>();
  const out: SchemaField[] = [];
  fields.forEach((f: ReportFieldDefinition, i: number) => out.push(checkField(f, `definition.fields[${i}]`, separator, keys, labels)));
  const schema: ReportSchema = {
    name: name.trim(),
    version,
    fields: Object.freeze(out),
    separator,
    formatValue: definition.formatValue,
    render(values, context) {
      return renderReport(values, schema, context);
    },
  };
  Object.defineProperty(schema, SCHEMA_MARKER, { value: true });
  return Object.freeze(schema);
}

type SchemaField = ReportSchema['fields'][number];

/** Validates one field definition (`at` names it) against the keys and labels seen so far; returns it frozen. */
function checkField(f: ReportFieldDefinition, at: string, separator: string, keys: Set<string>, labels: Set<string>): SchemaField {
  if (f == null || typeof f !== 'object') throw bad(at, 'each field must be an object.', f);
  if (typeof f.key !== 'string' || !KEY_RE.test(f.key)) {
    throw bad(`${at}.key`, 'key must start with a letter and contain only letters, digits and "_".', f.key);
  }
  if (keys.has(f.key.toLowerCase())) throw bad(`${at}.key`, 'keys must be unique (case-insensitive).', f.key);
  keys.add(f.key.toLowerCase());
  if (typeof f.label !== 'string' || f.label.trim() === '' || /[:|\r\n]/.test(f.label) || f.label.includes(separator.trim())) {
    throw bad(`${at}.label`, 'label must be non-empty and contain no ":", "|", separator or line break.', f.label);
  }
  if (labels.has(f.label.trim().toLowerCase())) throw bad(`${at}.label`, 'labels must be unique (case-insensitive).', f.label);
  labels.add(f.label.trim().toLowerCase());
  if (f.kind !== 'enum' && f.kind !== 'text') throw bad(`${at}.kind`, "kind must be 'enum' or 'text'.", f.kind);
  if (f.required !== undefined && typeof f.required !== 'boolean') throw bad(`${at}.required`, 'required must be a boolean.', f.required);
  if (f.description !== undefined && typeof f.description !== 'string') {
    throw bad(`${at}.description`, 'description must be a string.', f.description);
  }
  const field: { -readonly [K in keyof SchemaField]: SchemaField[K] } = {
    key: f.key,
    label: f.label.trim(),
    kind: f.kind,
    required: f.required ?? true,
  };
  if (f.description !== undefined) field.description = f.description;
  if (f.kind === 'enum') {
    field.values = checkEnumValues(f, at);
    if (f.synonyms !== undefined) field.synonyms = checkSynonyms(f, at);
  } else if (f.values !== undefined || f.synonyms !== undefined) {
    throw bad(`${at}.values`, "a 'text' field takes no values or synonyms; use kind: 'enum'.", f.values ?? f.synonyms);
  }
  return Object.freeze(field);
}

/** An enum field's values: non-empty, unique after {@link normalizeValue}, without `|` or line breaks. */
function checkEnumValues(f: ReportFieldDefinition, at: string): ReadonlyArray<string> {
  if (!Array.isArray(f.values) || f.values.length === 0) {
    throw bad(`${at}.values`, "an 'enum' field needs a non-empty values array.", f.values);
  }
  const seen = new Set<string>();
  for (const v of f.values) {
    if (typeof v !== 'string' || v.trim() === '' || /[|\r\n]/.test(v)) {
      throw bad(`${at}.values`, 'values must be non-empty strings without "|" or line breaks.', v);
    }
    const n = normalizeValue(v);
    if (seen.has(n)) throw bad(`${at}.values`, 'values must be unique (case- and whitespace-insensitive).', v);
    seen.add(n);
  }
  return Object.freeze(f.values.slice());
}

/** An enum field's synonyms: an object whose every target is one of the field's values. */
function checkSynonyms(f: ReportFieldDefinition, at: string): Readonly<Record<string, string>> {
  if (f.synonyms === null || typeof f.synonyms !== 'object') throw bad(`${at}.synonyms`, 'synonyms must be an object.', f.synonyms);
  for (const [alias, target] of Object.entries(f.synonyms!)) {
    if (!f.values!.includes(target)) {
      throw bad(`${at}.synonyms`, `synonym "${alias}" maps to "${target}", which is not one of the field's values.`, target);
    }
  }
  return Object.freeze({ ...f.synonyms });
}

/**
 * True when `value` was created by {@link defineReportSchema} (from any copy of vdafm).
 *
 * @example
 * ```ts
 * isReportSchema(strokeReportSchema); // true
 * isReportSchema({ name: 'x', fields: [] }); // false
 * ```
 */
export function isReportSchema(value: unknown): value is ReportSchema {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SCHEMA_MARKER] === true;
}

/** Throws unless `value` is a {@link ReportSchema}. @internal */
export function assertReportSchema(value: unknown, argument: string): asserts value is ReportSchema {
  if (!isReportSchema(value)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a report schema created by defineReportSchema().`,
      received: typeof value,
      fix: 'Use strokeReportSchema or defineReportSchema({ name, fields }).',
    });
  }
}

/** Lower-case, trimmed, inner whitespace collapsed, trailing `.`/`;`/`,` removed. @internal */
export function normalizeValue(value: string): string {
  const s = value.trim().toLowerCase().replace(/\s+/g, ' ');
  let end = s.length; // strip trailing . ; , by hand: /[.;,]+$/ is quadratic on a long run of them
  while (end > 0 && '.;,'.includes(s[end - 1]!)) end--;
  return s.slice(0, end).trim();
}

/** Makes a free-text value safe for the one-line format: no separator pipes, no line breaks. */
function cleanText(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').replace(/\|/g, '/').replace(/\s+/g, ' ').trim();
}

/**
 * Renders filled fields as semi-structured text: `Label: value` in schema order, joined by the
 * schema's separator (`' | '` by default). Fields that are absent (or empty) are left out.
 * Line breaks and `|` inside values are replaced (space, `/`) so the text parses back.
 *
 * @param fields - field key → value (as produced by a generator or {@link parseReport}).
 * @param schema - the report schema.
 * @param context - measured extras for the schema's `formatValue` hook (e.g. `volumeMl`).
 * @throws {@link InvalidArgumentError} when `fields` is not an object or `schema` not a schema.
 * @example
 * ```ts
 * renderReport({ acuteLesion: 'present', side: 'left' }, strokeReportSchema);
 * // 'Acute lesion: present | Side: left'
 * ```
 */
export function renderReport(
  fields: Readonly<Record<string, string | undefined>>,
  schema: ReportSchema,
  context: ReportRenderContext = {},
): string {
  assertReportSchema(schema, 'schema');
  if (fields == null || typeof fields !== 'object') {
    throw new InvalidArgumentError({ argument: 'fields', message: 'fields must be an object of field key → value.', received: fields });
  }
  const parts: string[] = [];
  for (const f of schema.fields) {
    const raw = fields[f.key];
    if (typeof raw !== 'string' || raw.trim() === '') continue;
    const shown = schema.formatValue ? schema.formatValue(f.key, raw, context) : raw;
    parts.push(`${f.label}: ${cleanText(shown)}`);
  }
  return parts.join(schema.separator);
}

/**
 * The JSON schema (draft 2020-12 subset accepted by OpenAI-style `response_format`, vLLM and
 * llama.cpp) describing a report: an object with one string property per field, enums for
 * `'enum'` fields, every field required (so strict mode accepts it), no extra properties.
 *
 * @example
 * ```ts
 * reportJsonSchema(strokeReportSchema).properties.side; // { type: 'string', enum: ['left', ...] }
 * ```
 */
export function reportJsonSchema(schema: ReportSchema): {
  type: 'object';
  properties: Record<string, { type: 'string'; enum?: string[]; description?: string }>;
  required: string[];
  additionalProperties: false;
} {
  assertReportSchema(schema, 'schema');
  const properties: Record<string, { type: 'string'; enum?: string[]; description?: string }> = {};
  for (const f of schema.fields) {
    const p: { type: 'string'; enum?: string[]; description?: string } = { type: 'string' };
    if (f.kind === 'enum' && f.values) p.enum = f.values.slice();
    if (f.description) p.description = f.description;
    properties[f.key] = p;
  }
  return { type: 'object', properties, required: schema.fields.map((f) => f.key), additionalProperties: false };
}

/**
 * A stable string identifying the schema's data (name, version, fields, separator): part of
 * every cache key, so that changing the schema regenerates the reports. The `formatValue`
 * function is not part of it: bump `version` when you change it.
 *
 * @example
 * ```ts
 * schemaFingerprint(strokeReportSchema); // '{"name":"stroke","version":1,...}'
 * ```
 */
export function schemaFingerprint(schema: ReportSchema): string {
  assertReportSchema(schema, 'schema');
  return JSON.stringify({ name: schema.name, version: schema.version, separator: schema.separator, fields: schema.fields });
}

/**
 * The default instruction sent with the images: what to fill, the allowed values, and that the
 * answer must be one JSON object. Used when a request or case carries no prompt.
 *
 * @example
 * ```ts
 * const prompt = buildReportPrompt(strokeReportSchema);
 * ```
 */
export function buildReportPrompt(schema: ReportSchema): string {
  assertReportSchema(schema, 'schema');
  const lines = [
    `Read the brain MRI slices and fill in a structured ${schema.name} report.`,
    'Answer with one JSON object and nothing else. Keys and allowed values:',
  ];
  for (const f of schema.fields) {
    const what = f.kind === 'enum' ? `one of ${f.values!.map((v) => JSON.stringify(v)).join(', ')}` : 'free text';
    lines.push(`- "${f.key}" (${f.label}): ${what}${f.description ? `. ${f.description}` : ''}`);
  }
  return lines.join('\n');
}
