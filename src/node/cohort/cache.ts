/**
 * A bounded on-disk cache of preprocessed volumes: one file per entry in a folder, keyed by the
 * content hash of the source files, the preprocessing settings and the cache format version;
 * written atomically (temporary file + rename), checked on every read (length and SHA-256 of the
 * voxels: a corrupt entry is deleted and reported as a miss, so the caller recomputes it), and
 * kept under a byte bound by evicting the least recently used entries.
 *
 * @packageDocumentation
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../errors.js';

/**
 * Version of the cache's entry format and of the preprocessing that fills it: part of every key,
 * so entries written by another version are never read (bump it when the preprocessing changes).
 *
 * @example
 * ```ts
 * VOLUME_CACHE_VERSION; // 1
 * ```
 */
export const VOLUME_CACHE_VERSION = 1;

const MAGIC = 'VDAFMVC1';
const EXT = '.vol';
const TMP_EXT = '.tmp';
/** Temporary files older than this are left-overs of a crashed writer and removed on open. */
const STALE_TMP_MS = 10 * 60 * 1000;

/** One cached volume: the voxels, their shape, and JSON-safe metadata (e.g. warnings). */
export interface CachedVolume {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** Options of {@link VolumeCache.open}. */
export interface VolumeCacheOptions {
  /**
   * Upper bound of the entries' total size in bytes; the least recently used entries are evicted
   * beyond it, and an entry larger than the bound is not stored.
   * @defaultValue 2 GiB
   */
  readonly maxBytes?: number;
}

/** Counters of a {@link VolumeCache} since it was opened. */
export interface VolumeCacheStats {
  hits: number;
  misses: number;
  /** Entries found corrupt (wrong length or checksum, unreadable header) and deleted. */
  corrupt: number;
  writes: number;
  evictions: number;
}

/**
 * The cache key of a preprocessed volume: SHA-256 over {@link VOLUME_CACHE_VERSION}, the
 * preprocessing settings (canonical JSON: keys sorted) and the source files' content hashes (in
 * order). Two runs agree on a key exactly when they read the same bytes with the same settings
 * and the same vdafm cache format.
 *
 * @param sourceHashes - content hashes of the source files (e.g. SHA-256 hex of each sequence).
 * @param settings - the preprocessing settings, JSON-safe.
 * @returns 64 hex characters.
 * @example
 * ```ts
 * volumeCacheKey([sha256(dwiBytes), sha256(adcBytes)], { layout: '3d', shape: [16, 32, 32] });
 * ```
 */
export function volumeCacheKey(sourceHashes: readonly string[], settings: unknown): string {
  return createHash('sha256').update(JSON.stringify({ v: VOLUME_CACHE_VERSION, settings: canonical(settings), sources: sourceHashes })).digest('hex');
}

/** JSON value with object keys sorted (so that key order does not change a cache key). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const KEY = /^[0-9a-f]{16,128}$/;

/**
 * The on-disk volume cache. Entry file `<key>.vol`: the 8-byte magic `VDAFMVC1`, a uint32
 * (little-endian) header length, a JSON header `{ key, shape, length, sha256, meta }` padded to a
 * multiple of 4 bytes, then `length` float32 values (little-endian). Several processes may share
 * a folder (writes are atomic; an entry evicted under a reader is a miss); the byte bound is
 * enforced on what this process has seen (the folder is scanned on open).
 *
 * @example
 * ```ts
 * const cache = await VolumeCache.open('./.vdafm-cache', { maxBytes: 512 * 2 ** 20 });
 * const key = volumeCacheKey([hash], settings);
 * const hit = await cache.get(key);
 * if (!hit) await cache.set(key, { data, shape: [16, 32, 32, 2] });
 * ```
 */
export class VolumeCache {
  /** Counters since open. */
  readonly stats: VolumeCacheStats = { hits: 0, misses: 0, corrupt: 0, writes: 0, evictions: 0 };
  /** key → size in bytes, least recently used first (Map order: a use re-inserts the key). */
  private readonly index = new Map<string, number>();
  private total = 0;

  private constructor(
    /** The cache folder. */
    readonly dir: string,
    /** The byte bound. */
    readonly maxBytes: number,
  ) {}

  /**
   * Opens (creating it if needed) a cache folder: scans its entries (their modification time is
   * their last use), removes left-over temporary files, and evicts down to `maxBytes`.
   *
   * @throws `InvalidArgumentError` (argument `dir` or `options.maxBytes`).
   */
  static async open(dir: string, options: VolumeCacheOptions = {}): Promise<VolumeCache> {
    if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError({ argument: 'dir', message: 'dir must be a non-empty folder path.', received: dir });
    const maxBytes = options.maxBytes ?? 2 * 2 ** 30;
    if (!(typeof maxBytes === 'number' && maxBytes >= 0 && Number.isFinite(maxBytes))) {
      throw new InvalidArgumentError({ argument: 'options.maxBytes', message: 'maxBytes must be a non-negative number of bytes.', received: maxBytes });
    }
    const abs = path.resolve(dir);
    await fs.mkdir(abs, { recursive: true });
    const cache = new VolumeCache(abs, maxBytes);
    const now = Date.now();
    const found: Array<{ key: string; bytes: number; used: number }> = [];
    for (const name of await fs.readdir(abs)) {
      const file = path.join(abs, name);
      const stat = await fs.stat(file).catch(() => null);
      if (!stat?.isFile()) continue;
      if (name.endsWith(TMP_EXT)) {
        if (now - stat.mtimeMs > STALE_TMP_MS) await fs.rm(file, { force: true });
        continue;
      }
      const key = name.slice(0, -EXT.length);
      if (name.endsWith(EXT) && KEY.test(key)) found.push({ key, bytes: stat.size, used: stat.mtimeMs });
    }
    found.sort((a, b) => a.used - b.used);
    for (const f of found) cache.touch(f.key, f.bytes);
    await cache.evict(null);
    return cache;
  }

  /** Number of entries. */
  get entries(): number {
    return this.index.size;
  }

  /** Total size of the entries in bytes. */
  get bytes(): number {
    return this.total;
  }

  /** Whether the index holds the key (without reading or checking the entry). */
  has(key: string): boolean {
    return this.index.has(key);
  }

  private file(key: string): string {
    if (typeof key !== 'string' || !KEY.test(key)) throw new InvalidArgumentError({ argument: 'key', message: 'key must be 16–128 lower-case hex characters (see volumeCacheKey).', received: key });
    return path.join(this.dir, `${key}${EXT}`);
  }

  private touch(key: string, bytes: number): void {
    this.forget(key);
    this.index.set(key, bytes);
    this.total += bytes;
  }

  private forget(key: string): void {
    const bytes = this.index.get(key);
    if (bytes === undefined) return;
    this.total -= bytes;
    this.index.delete(key);
  }

  /**
   * Reads an entry. A missing entry is a miss; a corrupt one (bad magic or header, wrong
   * length, checksum mismatch, another key) is deleted, counted in `stats.corrupt` and returned
   * as a miss, so the caller recomputes and stores it again.
   *
   * @returns the volume, or `undefined`.
   */
  async get(key: string): Promise<CachedVolume | undefined> {
    const file = this.file(key);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch {
      this.forget(key);
      this.stats.misses++;
      return undefined;
    }
    const entry = decodeEntry(bytes, key);
    if (!entry) {
      this.stats.corrupt++;
      this.stats.misses++;
      this.forget(key);
      await fs.rm(file, { force: true });
      return undefined;
    }
    this.stats.hits++;
    this.touch(key, bytes.byteLength);
    const now = new Date();
    await fs.utimes(file, now, now).catch(() => undefined); // last use survives a restart
    return entry;
  }

  /**
   * Stores an entry atomically (a temporary file renamed into place), then evicts the least
   * recently used entries until the total is within `maxBytes`. An entry larger than
   * `maxBytes` is not stored (`false`).
   *
   * @returns whether the entry was stored.
   * @throws `InvalidArgumentError` (argument `key` or `value`).
   */
  async set(key: string, value: CachedVolume): Promise<boolean> {
    const file = this.file(key);
    if (!value || !(value.data instanceof Float32Array) || !Array.isArray(value.shape) || value.shape.reduce((a, b) => a * b, 1) !== value.data.length) {
      throw new InvalidArgumentError({ argument: 'value', message: 'value must be { data: Float32Array, shape } with prod(shape) = data.length.', received: value?.shape });
    }
    const bytes = encodeEntry(key, value);
    if (bytes.byteLength > this.maxBytes) return false;
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}${TMP_EXT}`;
    try {
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
    this.stats.writes++;
    this.touch(key, bytes.byteLength);
    await this.evict(key);
    return true;
  }

  /** Deletes an entry (no error when it is absent). */
  async delete(key: string): Promise<void> {
    const file = this.file(key);
    this.forget(key);
    await fs.rm(file, { force: true });
  }

  /** Deletes every entry. */
  async clear(): Promise<void> {
    for (const key of [...this.index.keys()]) await this.delete(key);
  }

  /** Evicts least recently used entries (never `keep`) until the total fits the bound. */
  private async evict(keep: string | null): Promise<void> {
    for (const [key] of this.index) {
      if (this.total <= this.maxBytes) return;
      if (key === keep) continue;
      this.forget(key);
      this.stats.evictions++;
      await fs.rm(path.join(this.dir, `${key}${EXT}`), { force: true });
    }
  }
}

function encodeEntry(key: string, value: CachedVolume): Uint8Array {
  const data = new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength);
  const header = {
    key,
    shape: [...value.shape],
    length: value.data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    ...(value.meta ? { meta: value.meta } : {}),
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((12 + json.byteLength) % 4)) % 4;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(12 + json.byteLength + data.byteLength);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.byteLength, 8);
  json.copy(out, 12);
  out.set(data, 12 + json.byteLength);
  return out;
}

function decodeEntry(bytes: Buffer, key: string): CachedVolume | null {
  if (bytes.byteLength < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) return null;
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.byteLength) return null;
  let header: { key?: unknown; shape?: unknown; length?: unknown; sha256?: unknown; meta?: unknown };
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength));
  } catch {
    return null;
  }
  const { shape, length } = header;
  if (header.key !== key || !Array.isArray(shape) || typeof length !== 'number' || shape.reduce((a: number, b: number) => a * b, 1) !== length) return null;
  const start = 12 + headerLength;
  if (bytes.byteLength !== start + 4 * length) return null;
  const payload = bytes.subarray(start);
  if (createHash('sha256').update(payload).digest('hex') !== header.sha256) return null;
  const data = new Float32Array(length);
  new Uint8Array(data.buffer).set(payload);
  return { data, shape: shape as number[], ...(header.meta && typeof header.meta === 'object' ? { meta: header.meta as Record<string, unknown> } : {}) };
}
