/**
 * A file-backed {@link ReportCache} for Node (exported from `vdafm/node` only): an append-only
 * JSON Lines file, one report per line, flushed to disk (`fdatasync`) after every append.
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, SerializationError } from '../errors.js';
import { isCachedReport, type CachedReport, type ReportCache } from '../text/cache.js';

/** Options of {@link FileReportCache.open}. */
export interface FileReportCacheOptions {
  /**
   * Call `fdatasync` after each append, so an entry survives a power loss once `set` resolved.
   * With `false` the entry is still written (survives a killed process) but may sit in the OS cache.
   * @defaultValue true
   */
  readonly fsync?: boolean;
}

const NEWLINE = 0x0a;

/**
 * An append-only JSONL report cache. Each line is `{"v":1,"key":...,"caseId":...,"result":...}`.
 * Crash safety: every entry is written with a single `write` of the whole line plus `\n` and
 * synced; on open, a last line without its `\n` (a write torn by a crash) is detected, ignored
 * and cut off, so later appends start on a clean line. A corrupt line elsewhere is an error.
 * Keys already present are never written twice. One process at a time per file.
 *
 * @example
 * ```ts
 * import { FileReportCache } from 'vdafm/node';
 * const cache = await FileReportCache.open('./reports.jsonl');
 * await generateReports(cases, generator, { cache });
 * await cache.close();
 * ```
 */
export class FileReportCache implements ReportCache {
  private readonly map: Map<string, CachedReport>;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    /** Path of the JSONL file. */
    readonly file: string,
    private readonly handle: fs.FileHandle,
    entries: Map<string, CachedReport>,
    private readonly fsync: boolean,
    /** True when opening found and removed a torn last line. */
    readonly recoveredTornLine: boolean,
  ) {
    this.map = entries;
  }

  /**
   * Opens (or creates) a cache file, creating its folder.
   * @throws `InvalidArgumentError` for an empty path; `SerializationError` when a
   * line other than the last is not a valid entry.
   */
  static async open(file: string, options: FileReportCacheOptions = {}): Promise<FileReportCache> {
    if (typeof file !== 'string' || file === '') throw new InvalidArgumentError({ argument: 'file', message: 'file must be a non-empty path.', received: file });
    if (options.fsync !== undefined && typeof options.fsync !== 'boolean') {
      throw new InvalidArgumentError({ argument: 'options.fsync', message: 'fsync must be a boolean.', received: options.fsync });
    }
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw new SerializationError(`Cannot read report cache ${file}: ${(error as Error).message}`, { cause: error });
      bytes = new Uint8Array(0);
    }
    const end = bytes.lastIndexOf(NEWLINE) + 1; // bytes after `end` are a torn line
    const torn = end < bytes.length;
    if (torn) await fs.truncate(file, end);
    const entries = new Map<string, CachedReport>();
    const text = new TextDecoder().decode(bytes.subarray(0, end));
    const lines = text.split('\n');
    lines.pop(); // '' after the final newline
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new SerializationError(`Report cache ${file} line ${i + 1} is not valid JSON; the file is corrupt (only a torn last line is recovered automatically).`, { cause: error });
      }
      const v = value as { v?: unknown } & Partial<CachedReport>;
      if (v.v !== 1 || !isCachedReport(v)) throw new SerializationError(`Report cache ${file} line ${i + 1} is not a version-1 report entry.`);
      if (!entries.has(v.key)) entries.set(v.key, { key: v.key, caseId: v.caseId, result: v.result });
    });
    const handle = await fs.open(file, 'a');
    return new FileReportCache(file, handle, entries, options.fsync ?? true, torn);
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }

  async get(key: string): Promise<CachedReport | undefined> {
    return this.map.get(key);
  }

  /** Appends the entry (unless its key is present) and resolves once it is written and synced. */
  set(entry: CachedReport): Promise<void> {
    if (this.closed) return Promise.reject(new InvalidArgumentError({ argument: 'cache', message: `The report cache ${this.file} is closed.` }));
    if (!isCachedReport(entry)) return Promise.reject(new InvalidArgumentError({ argument: 'entry', message: 'entry must be { key, caseId, result }.', received: typeof entry }));
    const run = async (): Promise<void> => {
      if (this.map.has(entry.key)) return;
      const line = `${JSON.stringify({ v: 1, key: entry.key, caseId: entry.caseId, result: entry.result })}\n`;
      await this.handle.write(line);
      if (this.fsync) await this.handle.datasync();
      this.map.set(entry.key, { key: entry.key, caseId: entry.caseId, result: entry.result });
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** All entries, in file order. */
  entries(): CachedReport[] {
    return [...this.map.values()];
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    await this.handle.close();
  }
}
