/**
 * Targets from a report's parsed fields, for a head that learns to predict them (from the image:
 * "the report teaches the image"). Fitted on the training reports and serialisable, like the
 * tabular preprocessor. Generic over report schemas:
 *
 * - every **enum** field becomes a categorical group over the schema's values;
 * - every **text** field becomes a multi-label group over the words seen in it (lower case,
 *   letters only, ≥ 3 characters) that are neither too rare nor too common in the training
 *   reports (boilerplate carries nothing);
 * - each field named in `numericFields` also gives a regression target, ln(1 + first number)
 *   of the field's text (the stroke report's `Size: small (~12 mL)` gives ln 13), standardised
 *   with the training reports' mean and standard deviation.
 *
 * A group is masked out (weight 0) for a patient without a report or whose report leaves that
 * field out.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { parseReport } from './parse.js';
import { isReportSchema, type ReportSchema } from './schema.js';

/** One group of targets: its field, its kind, its labels and where it sits in the target vector. */
export interface FieldTargetGroup {
  readonly key: string;
  readonly kind: 'categorical' | 'multilabel' | 'regression';
  /** Category values, words, or `['ln(1 + value)']` for a regression. */
  readonly labels: readonly string[];
  /** First column of the group in the target vector. */
  readonly offset: number;
  /** Regression: the training mean and standard deviation the target is standardised with. */
  readonly mean?: number;
  readonly sd?: number;
}

/** Options of {@link ReportFieldTargets.fit}. */
export interface FieldTargetOptions {
  /**
   * Fields to use (an enum field gives a categorical group, a text field a multi-label group of
   * its informative words). The default leaves text fields out: on the synthetic cohort, adding
   * the word groups of `sequences`, `location` and `signal` kept the whole field loss at the base
   * rate for 20 epochs (the image encoder learnt none of the fields), while the enum fields and the
   * size alone were learnt (see docs/guides/training.md).
   * @defaultValue every enum field
   */
  fields?: readonly string[];
  /** Fields whose first number becomes a regression target. @defaultValue `['size']` when the schema has it, else none */
  numericFields?: readonly string[];
  /** A word must occur in at least this many training reports (and be absent from as many). @defaultValue 5 */
  minCount?: number;
  /** At most this many words per text field (most frequent first). @defaultValue 24 */
  maxWords?: number;
}

/** The JSON form of a fitted {@link ReportFieldTargets}. */
export interface ReportFieldTargetsJSON {
  format: 'vdafm-report-field-targets';
  version: 1;
  schemaName: string;
  groups: FieldTargetGroup[];
}

/** Targets of a batch of reports: `targets` `[n·width]` row-major, `mask` `[n·groups]` (1 = use). */
export interface FieldTargetBatch {
  targets: Float32Array;
  mask: Float32Array;
  /** Row width of `targets`. */
  width: number;
  /** Number of groups (row width of `mask`). */
  groups: number;
}

const words = (text: string): string[] => (text.toLowerCase().match(/[a-z]{3,}/g) ?? []).filter((w, i, all) => all.indexOf(w) === i);

/** The text after `Label:` up to the next separator (or line end) in a `Label: value` report, or null. */
function rawField(text: string, label: string, separator: string): string | null {
  const start = text.toLowerCase().indexOf(`${label.toLowerCase()}:`);
  if (start < 0) return null;
  const rest = text.slice(start + label.length + 1);
  const ends = [rest.indexOf(separator.trim()), rest.indexOf('\n')].filter((i) => i >= 0);
  return (ends.length > 0 ? rest.slice(0, Math.min(...ends)) : rest).trim();
}

/** The first number in a field's text, or null. */
function firstNumber(text: string, label: string, separator: string): number | null {
  const m = /[0-9]+(?:\.[0-9]+)?/.exec(rawField(text, label, separator) ?? '');
  return m ? Number(m[0]) : null;
}

/**
 * Fitted report-field targets (see the module comment).
 *
 * @example
 * ```ts
 * const targets = ReportFieldTargets.fit(trainReports, strokeReportSchema);
 * const { targets: y, mask } = targets.transform(testReports); // y: [n·width], mask: [n·groups]
 * ```
 */
export class ReportFieldTargets {
  /** Width of one row of targets. */
  readonly width: number;

  private constructor(
    readonly schema: ReportSchema,
    readonly groups: readonly FieldTargetGroup[],
  ) {
    const last = groups.at(-1);
    this.width = last ? last.offset + last.labels.length : 0;
  }

  /**
   * Fits the groups on training reports (null = no report).
   *
   * @throws {@link InvalidArgumentError} when `reports` is not an array of strings or nulls,
   *   `schema` is not a report schema, a named field is not in the schema, or no group remains.
   */
  static fit(reports: ReadonlyArray<string | null>, schema: ReportSchema, options: FieldTargetOptions = {}): ReportFieldTargets {
    if (!Array.isArray(reports) || reports.some((r) => r !== null && typeof r !== 'string')) {
      throw new InvalidArgumentError({ argument: 'reports', message: 'reports must be an array of report texts (or null for a missing report).', received: reports });
    }
    if (!isReportSchema(schema)) throw new InvalidArgumentError({ argument: 'schema', message: 'schema must be a report schema (defineReportSchema).', received: schema });
    const keys = new Set(schema.fields.map((f) => f.key));
    const fields = options.fields ?? schema.fields.filter((f) => f.kind === 'enum').map((f) => f.key);
    const numeric = options.numericFields ?? (keys.has('size') ? ['size'] : []);
    for (const [arg, list] of [['fields', fields], ['numericFields', numeric]] as const) {
      const unknown = list.filter((k) => !keys.has(k));
      if (unknown.length > 0) throw new InvalidArgumentError({ argument: `options.${arg}`, message: `Unknown field(s) of schema '${schema.name}'.`, received: unknown });
    }
    const minCount = options.minCount ?? 5;
    const maxWords = options.maxWords ?? 24;
    const parsed = reports.map((r) => (r === null ? null : parseReport(r, schema).fields));
    const present = parsed.filter((p): p is Record<string, string> => p !== null);
    const groups: FieldTargetGroup[] = [];
    let offset = 0;
    const add = (key: string, kind: FieldTargetGroup['kind'], labels: string[], stats: { mean?: number; sd?: number } = {}) => {
      if (labels.length === 0) return;
      groups.push({ key, kind, labels, offset, ...stats });
      offset += labels.length;
    };
    for (const key of fields) {
      const def = schema.fields.find((f) => f.key === key)!;
      if (def.kind === 'enum') add(key, 'categorical', [...(def.values ?? [])]);
      else {
        const counts = new Map<string, number>();
        for (const p of present) for (const w of words(p[key] ?? '')) counts.set(w, (counts.get(w) ?? 0) + 1);
        const informative = [...counts.entries()].filter(([, c]) => c >= minCount && present.length - c >= minCount);
        informative.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
        add(key, 'multilabel', informative.slice(0, maxWords).map(([w]) => w).sort());
      }
    }
    for (const key of numeric) {
      const label = schema.fields.find((f) => f.key === key)!.label;
      const values = reports.map((r) => (r === null ? null : firstNumber(r, label, schema.separator))).filter((v): v is number => v !== null).map(Math.log1p);
      if (values.length < 2) continue;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) || 1;
      add(`${key}#number`, 'regression', ['ln(1 + value)'], { mean, sd });
    }
    if (groups.length === 0) throw new InvalidArgumentError({ argument: 'reports', message: 'No target group could be built from these reports and fields.', received: reports.length });
    return new ReportFieldTargets(schema, groups);
  }

  /**
   * Targets and masks of reports (null = no report: every group masked).
   *
   * @throws {@link InvalidArgumentError} when `reports` is not an array of strings or nulls.
   */
  transform(reports: ReadonlyArray<string | null>): FieldTargetBatch {
    if (!Array.isArray(reports) || reports.some((r) => r !== null && typeof r !== 'string')) {
      throw new InvalidArgumentError({ argument: 'reports', message: 'reports must be an array of report texts (or null for a missing report).', received: reports });
    }
    const n = reports.length;
    const g = this.groups.length;
    const targets = new Float32Array(n * this.width);
    const mask = new Float32Array(n * g);
    reports.forEach((text, i) => {
      if (text === null) return;
      const fields = parseReport(text, this.schema).fields;
      this.groups.forEach((group, j) => {
        const at = i * this.width + group.offset;
        if (group.kind === 'regression') {
          const key = group.key.replace(/#number$/, '');
          const label = this.schema.fields.find((f) => f.key === key)?.label ?? key;
          const v = firstNumber(text, label, this.schema.separator);
          if (v !== null) {
            targets[at] = (Math.log1p(v) - (group.mean ?? 0)) / (group.sd ?? 1);
            mask[i * g + j] = 1;
          }
          return;
        }
        const value = fields[group.key];
        if (value === undefined) return;
        mask[i * g + j] = 1;
        if (group.kind === 'categorical') {
          const k = group.labels.indexOf(value);
          if (k >= 0) targets[at + k] = 1;
          else mask[i * g + j] = 0;
        } else {
          const present = new Set(words(value));
          group.labels.forEach((w, k) => (targets[at + k] = present.has(w) ? 1 : 0));
        }
      });
    });
    return { targets, mask, width: this.width, groups: g };
  }

  /** The JSON form (the schema is stored by name: pass it again to {@link ReportFieldTargets.fromJSON}). */
  toJSON(): ReportFieldTargetsJSON {
    return { format: 'vdafm-report-field-targets', version: 1, schemaName: this.schema.name, groups: this.groups.map((gr) => ({ ...gr, labels: [...gr.labels] })) };
  }

  /**
   * Restores targets saved by {@link ReportFieldTargets.toJSON}.
   *
   * @throws {@link InvalidArgumentError} for another format, a schema of another name, or groups
   *   naming fields the schema does not have.
   */
  static fromJSON(json: ReportFieldTargetsJSON, schema: ReportSchema): ReportFieldTargets {
    if (json?.format !== 'vdafm-report-field-targets' || json.version !== 1 || !Array.isArray(json.groups)) {
      throw new InvalidArgumentError({ argument: 'json', message: 'json is not a saved ReportFieldTargets (format vdafm-report-field-targets, version 1).', received: json?.format });
    }
    if (!isReportSchema(schema) || schema.name !== json.schemaName) {
      throw new InvalidArgumentError({ argument: 'schema', message: `schema must be the report schema '${json.schemaName}' the targets were fitted with.`, received: (schema as { name?: unknown })?.name });
    }
    const keys = new Set(schema.fields.map((f) => f.key));
    const unknown = json.groups.filter((gr) => !keys.has(gr.key.replace(/#number$/, '')));
    if (unknown.length > 0) throw new InvalidArgumentError({ argument: 'json.groups', message: 'Groups name fields the schema does not have.', received: unknown.map((gr) => gr.key) });
    return new ReportFieldTargets(schema, json.groups.map((gr) => ({ ...gr, labels: [...gr.labels] })));
  }
}
