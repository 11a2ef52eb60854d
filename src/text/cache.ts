/**
 * Report caches: generated reports are produced once and reused (never regenerated per epoch),
 * keyed by a SHA-256 of everything that determines the output.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { Sha256 } from './hash.js';
import { hashImage, type ReportImage } from './images.js';
import { schemaFingerprint, type ReportSchema } from './schema.js';
import type { TextGenerateResult, TextGenerator } from './types.js';

/** One cached report. JSON-safe. */
export interface CachedReport {
  /** Cache key (64 hex characters, see {@link reportCacheKey}). */
  readonly key: string;
  /** Id of the case the report was generated for (informative: the key identifies the inputs). */
  readonly caseId: string;
  /** The report. */
  readonly result: TextGenerateResult;
}

/**
 * Where {@link generateReports} keeps reports. Implementations: {@link MemoryReportCache}
 * (browser and Node) and `FileReportCache` (Node, `vdafm/node`: append-only JSONL).
 */
export interface ReportCache {
  /** The entry stored under `key`, or undefined. */
  get(key: string): Promise<CachedReport | undefined>;
  /** Stores an entry (a second `set` of the same key is ignored). Resolves once the entry is durable. */
  set(entry: CachedReport): Promise<void>;
}

/** What goes into a cache key. */
export interface ReportCacheKeyInput {
  readonly generator: Pick<TextGenerator, 'generatorId' | 'modelId' | 'configId'>;
  readonly prompt: string;
  readonly schema: ReportSchema;
  readonly images: ReadonlyArray<ReportImage>;
  readonly temperature: number;
  readonly seed: number;
  readonly maxTokens?: number;
  /** Mixed into the key; {@link generateReports} passes the case id for cases without images. */
  readonly salt?: string;
}

const part = (h: Sha256, s: string): void => {
  h.update(`${s.length}:`).update(s).update(';');
};

/**
 * The cache key of a report request: SHA-256 (pure JS, synchronous, identical in Node and
 * browsers) over the generator id, model id, generator config, prompt, schema fingerprint,
 * temperature, seed, maxTokens and every image's raw bytes with its size, channels and dtype.
 * Changing any of them gives a new key, so stale reports are never reused.
 *
 * @example
 * ```ts
 * const key = reportCacheKey({ generator, prompt, schema: strokeReportSchema, images, temperature: 0, seed: 0 });
 * key.length; // 64
 * ```
 */
export function reportCacheKey(input: ReportCacheKeyInput): string {
  const h = new Sha256();
  part(h, 'vdafm-report-cache-v1');
  part(h, input.generator.generatorId);
  part(h, input.generator.modelId);
  part(h, input.generator.configId ?? '');
  part(h, input.prompt);
  part(h, schemaFingerprint(input.schema));
  part(h, JSON.stringify([input.temperature, input.seed, input.maxTokens ?? null]));
  part(h, input.salt ?? '');
  part(h, String(input.images.length));
  for (const img of input.images) {
    hashImage(h, img);
    h.update(';');
  }
  return h.digestHex();
}

/** Checks an entry's shape (used by caches when loading). @internal */
export function isCachedReport(value: unknown): value is CachedReport {
  const v = value as Partial<CachedReport> | null;
  return (
    v != null &&
    typeof v === 'object' &&
    typeof v.key === 'string' &&
    typeof v.caseId === 'string' &&
    v.result != null &&
    typeof v.result === 'object' &&
    typeof v.result.text === 'string' &&
    v.result.fields != null &&
    typeof v.result.fields === 'object'
  );
}

/**
 * An in-memory {@link ReportCache} (works in browsers). `toJSON()`/`fromJSON()` let you keep it
 * in IndexedDB, localStorage or a downloaded file.
 *
 * @example
 * ```ts
 * const cache = new MemoryReportCache();
 * await generateReports(cases, generator, { cache });
 * await generateReports(cases, generator, { cache }); // no request is sent again
 * localStorage.setItem('reports', JSON.stringify(cache.toJSON()));
 * ```
 */
export class MemoryReportCache implements ReportCache {
  private readonly map = new Map<string, CachedReport>();

  /** @param entries - entries to start with (e.g. from {@link MemoryReportCache.toJSON}). */
  constructor(entries: ReadonlyArray<CachedReport> = []) {
    if (!Array.isArray(entries)) {
      throw new InvalidArgumentError({ argument: 'entries', message: 'entries must be an array of cached reports.', received: typeof entries });
    }
    entries.forEach((e, i) => {
      if (!isCachedReport(e)) throw new InvalidArgumentError({ argument: `entries[${i}]`, message: 'not a cached report { key, caseId, result }.', received: typeof e });
      this.map.set(e.key, e);
    });
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }

  async get(key: string): Promise<CachedReport | undefined> {
    return this.map.get(key);
  }

  async set(entry: CachedReport): Promise<void> {
    if (!isCachedReport(entry)) throw new InvalidArgumentError({ argument: 'entry', message: 'entry must be { key, caseId, result }.', received: typeof entry });
    if (!this.map.has(entry.key)) this.map.set(entry.key, entry);
  }

  /** All entries, in insertion order. */
  entries(): CachedReport[] {
    return [...this.map.values()];
  }

  /** The entries as a JSON-safe array. */
  toJSON(): CachedReport[] {
    return this.entries();
  }

  /** Rebuilds a cache from {@link MemoryReportCache.toJSON} output. */
  static fromJSON(entries: ReadonlyArray<CachedReport>): MemoryReportCache {
    return new MemoryReportCache(entries);
  }
}
