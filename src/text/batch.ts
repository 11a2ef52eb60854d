/**
 * Batch report generation with a persistent cache: every case ends in a valid report or a
 * typed error naming it.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { assertPositiveInt } from '../core/validate.js';
import { isCachedReport, reportCacheKey, type ReportCache } from './cache.js';
import { CaseGenerationError, ReportValidationError, TextGenerationError, type InvalidReportField } from './errors.js';
import { assertReportImage, type ReportImage } from './images.js';
import { createLimiter } from './limiter.js';
import { abortedError, assertTextGenerator, isAbortSignal } from './request.js';
import { assertReportSchema, buildReportPrompt, type ReportSchema } from './schema.js';
import { strokeReportSchema } from './stroke-schema.js';
import type { TextGenerateResult, TextGenerator } from './types.js';

/** One case (patient / study) to write a report for. */
export interface ReportCase {
  /** Unique id (e.g. the study id); names the case in errors and the cache. */
  readonly id: string;
  /** Rendered slices sent to the generator. */
  readonly images: ReadonlyArray<ReportImage>;
  /** Per-case prompt (overrides the batch prompt). */
  readonly prompt?: string;
  /** Per-case seed (overrides the batch seed). */
  readonly seed?: number;
  /** Extra input for image-measuring generators (see `TextGenerateRequest.source`); not hashed. */
  readonly source?: unknown;
}

/** Progress after each finished case. */
export interface ReportProgress {
  /** Cases finished (from the cache, generated, or failed). */
  readonly done: number;
  readonly total: number;
  /** Cases served from the cache so far. */
  readonly cached: number;
  /** Cases failed so far. */
  readonly failed: number;
  /** The case that just finished. */
  readonly caseId: string;
  readonly ok: boolean;
}

/** Options of {@link generateReports}. */
export interface GenerateReportsOptions {
  /** Where reports are kept; cached cases are not sent again. */
  readonly cache?: ReportCache;
  /**
   * Cases processed at once (the generator may limit its HTTP requests further).
   * @defaultValue 4
   */
  readonly concurrency?: number;
  /** Called after every finished case. Exceptions it throws are ignored. */
  readonly onProgress?: (progress: ReportProgress) => void;
  /** Stops the batch: unstarted cases are not sent, and the call rejects once in-flight cases settle. */
  readonly signal?: AbortSignal;
  /**
   * Report schema.
   * @defaultValue strokeReportSchema
   */
  readonly schema?: ReportSchema;
  /**
   * Prompt for cases without their own.
   * @defaultValue buildReportPrompt(schema)
   */
  readonly prompt?: string;
  /**
   * Sampling temperature.
   * @defaultValue 0
   */
  readonly temperature?: number;
  /**
   * Seed for cases without their own.
   * @defaultValue 0
   */
  readonly seed?: number;
  /** Upper bound on generated tokens per report. */
  readonly maxTokens?: number;
}

/** How one case ended. */
export type ReportOutcome =
  | { readonly id: string; readonly ok: true; readonly key: string; readonly cached: boolean; readonly result: TextGenerateResult }
  | { readonly id: string; readonly ok: false; readonly key?: string; readonly error: CaseGenerationError };

/** What {@link generateReports} returns. */
export interface GenerateReportsResult {
  /** One outcome per case, in input order. */
  readonly outcomes: ReportOutcome[];
  /** Valid reports by case id. */
  readonly reports: Record<string, TextGenerateResult>;
  /** One typed error per failed case (`caseId` names it). */
  readonly failures: CaseGenerationError[];
  /** Cases served from the cache. */
  readonly cachedCount: number;
  /** Cases generated in this call. */
  readonly generatedCount: number;
}

function checkCases(cases: unknown): asserts cases is ReadonlyArray<ReportCase> {
  if (!Array.isArray(cases)) throw new InvalidArgumentError({ argument: 'cases', message: 'cases must be an array.', received: typeof cases });
  const ids = new Set<string>();
  cases.forEach((c: Partial<ReportCase>, i) => {
    if (c == null || typeof c !== 'object') throw new InvalidArgumentError({ argument: `cases[${i}]`, message: 'each case must be an object { id, images }.', received: c });
    if (typeof c.id !== 'string' || c.id === '') throw new InvalidArgumentError({ argument: `cases[${i}].id`, message: 'id must be a non-empty string.', received: c.id });
    if (ids.has(c.id)) throw new InvalidArgumentError({ argument: `cases[${i}].id`, message: 'case ids must be unique.', received: c.id });
    ids.add(c.id);
    if (!Array.isArray(c.images)) throw new InvalidArgumentError({ argument: `cases[${i}].images`, message: 'images must be an array.', received: typeof c.images });
    c.images.forEach((img, j) => assertReportImage(img, `cases[${i}].images[${j}]`));
    if (c.prompt !== undefined && (typeof c.prompt !== 'string' || c.prompt.trim() === '')) {
      throw new InvalidArgumentError({ argument: `cases[${i}].prompt`, message: 'prompt must be a non-empty string.', received: c.prompt });
    }
    if (c.seed !== undefined && !Number.isInteger(c.seed)) throw new InvalidArgumentError({ argument: `cases[${i}].seed`, message: 'seed must be an integer.', received: c.seed });
  });
}

/**
 * Checks a generator's result before it is counted or cached: a report shape, at least one
 * field, non-empty text, and fields that fit the schema (known keys, non-empty string values,
 * enum values in the schema's spelling). Required fields may be absent (a generator may omit
 * some on purpose, e.g. TemplateReportGenerator's noise).
 */
function checkResult(result: unknown, schema: ReportSchema, generatorId: string): TextGenerateResult {
  const r = result as Partial<TextGenerateResult> | null;
  if (
    r == null ||
    typeof r !== 'object' ||
    typeof r.text !== 'string' ||
    r.fields == null ||
    typeof r.fields !== 'object' ||
    Array.isArray(r.fields) ||
    (r.usage !== undefined && (r.usage === null || typeof r.usage !== 'object')) ||
    (r.warnings !== undefined && !(Array.isArray(r.warnings) && r.warnings.every((w) => typeof w === 'string')))
  ) {
    throw new TextGenerationError({ code: 'invalid-response', message: 'The generator returned something that is not a report { fields, text, raw, usage }.' });
  }
  const byKey = new Map(schema.fields.map((f) => [f.key, f]));
  const invalid: InvalidReportField[] = [];
  for (const [key, value] of Object.entries(r.fields as Record<string, unknown>)) {
    const field = byKey.get(key);
    const reason =
      field === undefined
        ? 'not a field of the schema'
        : typeof value !== 'string' || value.trim() === ''
          ? 'not a non-empty string'
          : field.kind === 'enum' && !field.values!.includes(value)
            ? `not one of ${field.values!.join(', ')}`
            : undefined;
    if (reason !== undefined) invalid.push({ key, value: String(value).slice(0, 80), reason });
  }
  const empty = Object.keys(r.fields).length === 0;
  if (invalid.length > 0 || empty || r.text.trim() === '') {
    const what = invalid.length > 0 ? `invalid ${invalid.map((f) => f.key).join(', ')}` : empty ? 'no fields' : 'empty text';
    throw new ReportValidationError({
      message: `Generator "${generatorId}" returned a report that does not fit the "${schema.name}" schema (${what}); it is not cached.`,
      missing: empty ? schema.fields.filter((f) => f.required).map((f) => f.key) : [],
      invalid,
    });
  }
  return { fields: r.fields, text: r.text, raw: typeof r.raw === 'string' ? r.raw : r.text, usage: r.usage ?? {}, ...(r.warnings ? { warnings: r.warnings } : {}) };
}

/**
 * Generates the report of every case, once. Cached cases (same generator, model, prompt,
 * schema, sampling settings and image bytes, see {@link reportCacheKey}) are not sent again;
 * each new report is written to the cache as soon as it is ready, so a run that is killed
 * halfway and started again sends only the unfinished cases. Cases with identical inputs share
 * one request and one cache entry. Cases without images are keyed by their id as well.
 *
 * Never loses a case: each ends in a valid report (`reports[id]`) or in a
 * {@link CaseGenerationError} naming it (`failures`), including when writing the cache fails.
 * A result that does not fit the schema (no fields, empty text, an unknown key, a value that is
 * not a non-empty string or not an allowed enum value) fails its case with a
 * {@link ReportValidationError} and is not cached; required fields may be absent.
 *
 * @param cases - the cases (unique ids).
 * @param generator - any {@link TextGenerator}.
 * @throws {@link InvalidArgumentError} for bad cases or options (before any request);
 * {@link TextGenerationError} (`'aborted'`) when `signal` fires (reports finished until then stay cached).
 * @example
 * ```ts
 * const cache = new MemoryReportCache();
 * const { reports, failures } = await generateReports(cases, generator, { cache, concurrency: 2 });
 * for (const f of failures) console.error(f.caseId, f.message);
 * console.log(reports['case-001']?.text);
 * ```
 */
export async function generateReports(
  cases: ReadonlyArray<ReportCase>,
  generator: TextGenerator,
  options: GenerateReportsOptions = {},
): Promise<GenerateReportsResult> {
  checkCases(cases);
  assertTextGenerator(generator, 'generator');
  const settings = resolveBatchOptions(options);
  const limit = createLimiter(settings.concurrency);
  const batch = new ReportBatch(generator, settings, cases.length);
  const outcomes = await Promise.all(cases.map((c) => limit(() => batch.run(c))));
  if (settings.signal?.aborted) throw abortedError();
  const reports = Object.create(null) as Record<string, TextGenerateResult>;
  const failures: CaseGenerationError[] = [];
  for (const o of outcomes) {
    if (o.ok) reports[o.id] = o.result;
    else failures.push(o.error);
  }
  return { outcomes, reports, failures, cachedCount: batch.cachedCount, generatedCount: batch.generatedCount };
}

/** {@link GenerateReportsOptions} checked, with the defaults filled in. */
interface BatchSettings {
  readonly schema: ReportSchema;
  readonly cache: ReportCache | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: GenerateReportsOptions['onProgress'];
  readonly temperature: number;
  readonly seed: number;
  readonly maxTokens: number | undefined;
  readonly prompt: string;
  readonly concurrency: number;
}

function resolveBatchOptions(options: GenerateReportsOptions): BatchSettings {
  if (options == null || typeof options !== 'object') throw new InvalidArgumentError({ argument: 'options', message: 'options must be an object.', received: options });
  const schema = options.schema ?? strokeReportSchema;
  assertReportSchema(schema, 'options.schema');
  const cache = options.cache;
  if (cache !== undefined && (cache == null || typeof cache.get !== 'function' || typeof cache.set !== 'function')) {
    throw new InvalidArgumentError({ argument: 'options.cache', message: 'cache must implement get(key) and set(entry).', received: typeof cache });
  }
  if (options.signal !== undefined && !isAbortSignal(options.signal)) {
    throw new InvalidArgumentError({ argument: 'options.signal', message: 'signal must be an AbortSignal.', received: typeof options.signal });
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidArgumentError({ argument: 'options.onProgress', message: 'onProgress must be a function.', received: typeof options.onProgress });
  }
  const temperature = options.temperature ?? 0;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0 || temperature > 2) {
    throw new InvalidArgumentError({ argument: 'options.temperature', message: 'temperature must be a number in [0, 2].', received: temperature });
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InvalidArgumentError({ argument: 'options.seed', message: 'seed must be an integer.', received: seed });
  if (options.maxTokens !== undefined && (!Number.isInteger(options.maxTokens) || options.maxTokens < 1)) {
    throw new InvalidArgumentError({ argument: 'options.maxTokens', message: 'maxTokens must be a positive integer.', received: options.maxTokens });
  }
  const prompt = options.prompt ?? buildReportPrompt(schema);
  if (typeof prompt !== 'string' || prompt.trim() === '') throw new InvalidArgumentError({ argument: 'options.prompt', message: 'prompt must be a non-empty string.', received: prompt });
  const concurrency = options.concurrency ?? 4;
  assertPositiveInt(concurrency, 'options.concurrency');
  return { schema, cache, signal: options.signal, onProgress: options.onProgress, temperature, seed, maxTokens: options.maxTokens, prompt, concurrency };
}

/** One batch in flight: runs each case once (identical inputs share one request), counts and reports progress. */
class ReportBatch {
  cachedCount = 0;
  generatedCount = 0;
  private done = 0;
  private failed = 0;
  private readonly inflight = new Map<string, Promise<{ result: TextGenerateResult; cached: boolean }>>();

  constructor(
    private readonly generator: TextGenerator,
    private readonly s: BatchSettings,
    private readonly total: number,
  ) {}

  /** One case to its outcome; never throws (a failure is the case's {@link CaseGenerationError}). */
  async run(c: ReportCase): Promise<ReportOutcome> {
    let key: string | undefined;
    try {
      if (this.s.signal?.aborted) throw abortedError();
      key = this.keyOf(c);
      const k = key;
      let pending = this.inflight.get(k);
      if (!pending) {
        pending = this.produce(c, k);
        this.inflight.set(k, pending);
      }
      const { result, cached } = await pending;
      if (cached) this.cachedCount++;
      else this.generatedCount++;
      this.report(c.id, true);
      return { id: c.id, ok: true, key: k, cached, result };
    } catch (error) {
      this.failed++;
      this.report(c.id, false);
      const err = new CaseGenerationError({ caseId: c.id, cause: error });
      return key === undefined ? { id: c.id, ok: false, error: err } : { id: c.id, ok: false, key, error: err };
    }
  }

  /** The case's cache key (its id salts it when it has no images). */
  private keyOf(c: ReportCase): string {
    const s = this.s;
    return reportCacheKey({
      generator: this.generator,
      prompt: c.prompt ?? s.prompt,
      schema: s.schema,
      images: c.images,
      temperature: s.temperature,
      seed: c.seed ?? s.seed,
      ...(s.maxTokens !== undefined ? { maxTokens: s.maxTokens } : {}),
      ...(c.images.length === 0 ? { salt: `case:${c.id}` } : {}),
    });
  }

  /** The cached report, or a new one (checked, then cached). */
  private async produce(c: ReportCase, key: string): Promise<{ result: TextGenerateResult; cached: boolean }> {
    const s = this.s;
    const hit = s.cache ? await s.cache.get(key) : undefined;
    if (hit !== undefined && isCachedReport(hit)) return { result: hit.result, cached: true };
    const result = checkResult(
      await this.generator.generate({
        images: c.images,
        prompt: c.prompt ?? s.prompt,
        schema: s.schema,
        temperature: s.temperature,
        seed: c.seed ?? s.seed,
        ...(s.maxTokens !== undefined ? { maxTokens: s.maxTokens } : {}),
        ...(s.signal ? { signal: s.signal } : {}),
        ...(c.source !== undefined ? { source: c.source } : {}),
      }),
      s.schema,
      this.generator.generatorId,
    );
    if (s.cache) await s.cache.set({ key, caseId: c.id, result });
    return { result, cached: false };
  }

  private report(caseId: string, ok: boolean): void {
    this.done++;
    try {
      this.s.onProgress?.({ done: this.done, total: this.total, cached: this.cachedCount, failed: this.failed, caseId, ok });
    } catch {
      // progress callbacks must not break the batch
    }
  }
}
