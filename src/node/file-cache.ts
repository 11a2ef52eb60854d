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
import { ReportCacheWriteError } from '../text/errors.js';

/** Options of {@link FileReportCache.open}. */
export interface FileReportCacheOptions {
  /**
   * Call `fdatasync` after each append, so an entry survives a power loss once `set` resolved.
   * With `false` the entry is still written (survives a killed process) but may sit in the OS cache.
   * @defaultValue true
   */
  readonly fsync?: boolean;
  /**
   * Largest entry written, in bytes of its JSON line; `set` refuses a larger one with an
   * `InvalidArgumentError` (`argument: 'entry'`) and leaves the file as it was. The
   * OpenAI-compatible generator's answers are at most `maxResponseBytes` (1 MiB by default), so
   * its entries stay well below the default.
   * @defaultValue 4194304 (4 MiB)
   */
  readonly maxEntryBytes?: number;
}

const NEWLINE = 0x0a;
const DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 * 1024;

/**
 * An append-only JSONL report cache. Each line is `{"v":1,"key":...,"caseId":...,"result":...}`.
 * Crash safety: every entry is written as the whole line plus `\n` (continued after a short
 * write) and synced; on open, a last line without its `\n` (a write torn by a crash) is
 * detected, ignored and cut off, so later appends start on a clean line. A corrupt line
 * elsewhere is an error. A write that fails or stays short (full disk, file-size limit) rejects
 * with a {@link ReportCacheWriteError} and the file is cut back to its last complete entry.
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
  /** Set when a failed append could not be undone: later appends would follow a torn line. */
  private broken: ReportCacheWriteError | undefined;

  private constructor(
    /** Path of the JSONL file. */
    readonly file: string,
    private readonly handle: fs.FileHandle,
    entries: Map<string, CachedReport>,
    private readonly fsync: boolean,
    /** True when opening found and removed a torn last line. */
    readonly recoveredTornLine: boolean,
    private readonly maxEntryBytes: number,
  ) {
    this.map = entries;
  }

  /**
   * Opens (or creates) a cache file, creating its folder.
   * @throws `InvalidArgumentError` for an empty path or a bad option (`options.fsync`,
   * `options.maxEntryBytes`); `SerializationError` when a line other than the last is not a
   * valid entry.
   */
  static async open(file: string, options: FileReportCacheOptions = {}): Promise<FileReportCache> {
    if (typeof file !== 'string' || file === '') throw new InvalidArgumentError({ argument: 'file', message: 'file must be a non-empty path.', received: file });
    if (options.fsync !== undefined && typeof options.fsync !== 'boolean') {
      throw new InvalidArgumentError({ argument: 'options.fsync', message: 'fsync must be a boolean.', received: options.fsync });
    }
    const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    if (!Number.isInteger(maxEntryBytes) || maxEntryBytes < 1) {
      throw new InvalidArgumentError({ argument: 'options.maxEntryBytes', message: 'maxEntryBytes must be a positive integer.', received: maxEntryBytes });
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
    return new FileReportCache(file, handle, entries, options.fsync ?? true, torn, maxEntryBytes);
  }

  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }

  async get(key: string): Promise<CachedReport | undefined> {
    return this.map.get(key);
  }

  /**
   * Appends the entry (unless its key is present) and resolves once it is completely written and
   * synced.
   * @throws (rejects with) `InvalidArgumentError` when the cache is closed, `entry` is not an
   * entry, or its line is longer than `maxEntryBytes` (the file is not touched);
   * {@link ReportCacheWriteError} when the write fails or stays short, or the sync fails (the
   * file is cut back to its last complete entry).
   */
  set(entry: CachedReport): Promise<void> {
    if (this.closed) return Promise.reject(new InvalidArgumentError({ argument: 'cache', message: `The report cache ${this.file} is closed.` }));
    if (!isCachedReport(entry)) return Promise.reject(new InvalidArgumentError({ argument: 'entry', message: 'entry must be { key, caseId, result }.', received: typeof entry }));
    const run = async (): Promise<void> => {
      if (this.map.has(entry.key)) return;
      if (this.broken) throw this.broken;
      const line = new TextEncoder().encode(`${JSON.stringify({ v: 1, key: entry.key, caseId: entry.caseId, result: entry.result })}\n`);
      if (line.byteLength > this.maxEntryBytes) {
        throw new InvalidArgumentError({
          argument: 'entry',
          message: `The report of case "${entry.caseId}" is ${line.byteLength} bytes as a cache line, more than maxEntryBytes (${this.maxEntryBytes}); it is not cached.`,
          fix: 'Check the generator output (a report is a few kB), or raise maxEntryBytes.',
        });
      }
      await this.append(line, entry.caseId);
      this.map.set(entry.key, { key: entry.key, caseId: entry.caseId, result: entry.result });
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Writes the whole line (a short write is continued) and syncs; on failure, cuts the file back and throws the typed error. */
  private async append(line: Uint8Array, caseId: string): Promise<void> {
    const start = (await this.handle.stat()).size;
    let written = 0;
    try {
      while (written < line.byteLength) {
        const { bytesWritten } = await this.handle.write(line, written, line.byteLength - written);
        if (bytesWritten <= 0) throw new Error('write() wrote nothing');
        written += bytesWritten;
      }
      if (this.fsync) await this.handle.datasync();
    } catch (cause) {
      let restored = false;
      try {
        await this.handle.truncate(start);
        if (this.fsync) await this.handle.datasync();
        restored = true;
      } catch {
        // leave `restored` false: the cache stops writing, the next open cuts the torn line
      }
      const error = new ReportCacheWriteError({ file: this.file, caseId, bytesWritten: written, bytesExpected: line.byteLength, restored, cause });
      if (!restored) this.broken = error;
      throw error;
    }
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
