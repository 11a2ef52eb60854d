// The on-disk cache of preprocessed volumes (src/node/cohort/cache.ts) alone and through
// loadCohort: cold and warm loads agree bit for bit, keys follow content and settings, the byte
// bound holds (least recently used out first), a corrupt entry is detected and recomputed.
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSyntheticCohort } from '../../../src/index.js';
import { loadCohort, VolumeCache, volumeCacheKey, writeSyntheticCohort, type CohortLoadProgress } from '../../../src/node.js';
import { tempFolders } from '../../helpers/cohort.js';

const { next: folder } = tempFolders('cache');

const hex = (i: number) => i.toString(16).padStart(64, '0');
const volume = (n: number, fill: number) => ({ data: new Float32Array(n).map((_, i) => fill + i / 8), shape: [n] });

describe('VolumeCache', () => {
  it('stores and returns volumes bit for bit, with their metadata; the write leaves no temporary file', async () => {
    const cache = await VolumeCache.open(folder());
    const v = { data: Float32Array.of(1.5, -0, NaN, 3e-39, Infinity, 7), shape: [2, 3], meta: { warnings: ['w'] } };
    expect(await cache.set(hex(1), v)).toBe(true);
    const got = (await cache.get(hex(1)))!;
    expect(Buffer.from(got.data.buffer).equals(Buffer.from(v.data.buffer))).toBe(true);
    expect(got.shape).toEqual([2, 3]);
    expect(got.meta).toEqual({ warnings: ['w'] });
    expect(await cache.get(hex(2))).toBeUndefined();
    expect(cache.stats).toMatchObject({ hits: 1, misses: 1, writes: 1, corrupt: 0 });
    expect(readdirSync(cache.dir)).toEqual([`${hex(1)}.vol`]);
    await expect(cache.set('not a key', v)).rejects.toThrow(/key/);
    await expect(cache.set(hex(3), { data: new Float32Array(3), shape: [2, 2] })).rejects.toThrow(/prod\(shape\)/);
  });

  it('detects a corrupt entry (flipped voxel byte, truncation, foreign header), deletes it and reports a miss', async () => {
    const cache = await VolumeCache.open(folder());
    for (const [i, damage] of [
      [1, (b: Buffer) => ((b[b.length - 3] = b[b.length - 3]! ^ 1), b)],
      [2, (b: Buffer) => b.subarray(0, b.length - 4)],
      [3, (b: Buffer) => Buffer.concat([Buffer.from('XXXXXXXX'), b.subarray(8)])],
      [4, (b: Buffer) => Buffer.from(b.toString('latin1').replace(hex(4), hex(5)), 'latin1')],
    ] as const) {
      await cache.set(hex(i), volume(16, i));
      const file = join(cache.dir, `${hex(i)}.vol`);
      writeFileSync(file, damage(readFileSync(file)));
      expect(await cache.get(hex(i))).toBeUndefined();
      expect(() => statSync(file)).toThrow();
    }
    expect(cache.stats.corrupt).toBe(4);
    expect(cache.entries).toBe(0);
  });

  it('keeps the total under maxBytes by evicting the least recently used entries; a use refreshes an entry', async () => {
    const dir = folder();
    const probe = await VolumeCache.open(join(dir, 'probe'));
    await probe.set(hex(0), volume(256, 0));
    const size = probe.bytes; // one entry of 256 floats, header included
    expect(size).toBeGreaterThan(256 * 4); // voxels + magic + JSON header
    const cache = await VolumeCache.open(join(dir, 'c'), { maxBytes: 3 * size + 10 });
    for (let i = 1; i <= 3; i++) await cache.set(hex(i), volume(256, i));
    expect(cache.entries).toBe(3);
    await cache.get(hex(1)); // 1 is now the most recently used: 2 goes first
    await cache.set(hex(4), volume(256, 4));
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    expect([1, 2, 3, 4].map((i) => cache.has(hex(i)))).toEqual([true, false, true, true]);
    expect(cache.stats.evictions).toBe(1);
    for (let i = 5; i <= 12; i++) {
      await cache.set(hex(i), volume(256, i));
      expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    }
    // the files on disk agree with the index
    const onDisk = readdirSync(cache.dir).reduce((n, f) => n + statSync(join(cache.dir, f)).size, 0);
    expect(onDisk).toBe(cache.bytes);
    // an entry larger than the bound is not stored
    expect(await cache.set(hex(99), volume(4096, 0))).toBe(false);
    expect(cache.has(hex(99))).toBe(false);
  });

  it('on open: rescans the folder (file times are the last use), evicts down to a smaller bound, removes stale temporary files', async () => {
    const dir = folder();
    const a = await VolumeCache.open(dir);
    for (let i = 1; i <= 4; i++) await a.set(hex(i), volume(64, i));
    const size = a.bytes / 4;
    const t = Date.now() / 1000;
    [1, 2, 3, 4].forEach((i) => utimesSync(join(dir, `${hex(i)}.vol`), t - 100 + (i === 1 ? 50 : i), t - 100 + (i === 1 ? 50 : i)));
    const stale = join(dir, `${hex(7)}.vol.123.abcd.tmp`);
    writeFileSync(stale, 'half-written');
    utimesSync(stale, t - 3600, t - 3600);
    const fresh = join(dir, `${hex(8)}.vol.124.abcd.tmp`);
    writeFileSync(fresh, 'being written by another process');
    const b = await VolumeCache.open(dir, { maxBytes: 2 * size });
    expect([1, 2, 3, 4].map((i) => b.has(hex(i)))).toEqual([true, false, false, true]); // by last use: 2, 3, 4, then 1
    expect(b.stats.evictions).toBe(2);
    expect(readdirSync(dir).sort()).toEqual([`${hex(1)}.vol`, `${hex(4)}.vol`, `${hex(8)}.vol.124.abcd.tmp`].sort());
    await b.clear();
    expect(b.entries).toBe(0);
  });

  it('volumeCacheKey: content hashes and settings decide, key order does not', () => {
    const k = volumeCacheKey(['a', 'b'], { layout: '3d', shape: [4, 8, 8] });
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(volumeCacheKey(['a', 'b'], { shape: [4, 8, 8], layout: '3d' })).toBe(k);
    expect(volumeCacheKey(['b', 'a'], { layout: '3d', shape: [4, 8, 8] })).not.toBe(k);
    expect(volumeCacheKey(['a', 'b'], { layout: '3d', shape: [4, 8, 16] })).not.toBe(k);
  });
});

describe('the cache under loadCohort', () => {
  const setup = async () => {
    const cohort = generateSyntheticCohort({ patients: 5, imageShape: [4, 16, 16], seed: 21 });
    const written = await writeSyntheticCohort(cohort, folder());
    return { written, cacheDir: join(written.dir, 'cache') };
  };
  const load = async (manifest: string, cache: string, image = {}) => {
    const progress: CohortLoadProgress[] = [];
    const cohort = await loadCohort({ manifest, cache, image, onProgress: (p) => progress.push(p) });
    return { cohort, cached: progress.at(-1)!.cached };
  };

  it('cold and warm loads give identical arrays; the warm one reads every image from the cache', async () => {
    const { written, cacheDir } = await setup();
    const cold = await load(written.manifest, cacheDir);
    expect(cold.cached).toBe(0);
    const warm = await load(written.manifest, cacheDir);
    expect(warm.cached).toBe(5);
    warm.cohort.patients.forEach((p, i) => {
      expect(Buffer.from(p.image!.buffer).equals(Buffer.from(cold.cohort.patients[i]!.image!.buffer))).toBe(true);
      expect(p.imageKey).toBe(cold.cohort.patients[i]!.imageKey);
    });
  });

  it('keys change with the settings and with the file content, not with the file name', async () => {
    const { written, cacheDir } = await setup();
    const a = (await load(written.manifest, cacheDir)).cohort.patients[0]!;
    const b = (await load(written.manifest, cacheDir, { intensity: 'none' })).cohort.patients[0]!;
    const c = (await load(written.manifest, cacheDir, { shape: [4, 8, 8] })).cohort.patients[0]!;
    expect(new Set([a.imageKey, b.imageKey, c.imageKey]).size).toBe(3);
    expect(c.image!.length).toBe(4 * 8 * 8 * 2);
    // same bytes under another name: same key; one changed voxel: another key
    const text = readFileSync(written.manifest, 'utf8');
    const dwi = readFileSync(a.files['dwi']!);
    writeFileSync(join(written.dir, 'images', 'copy.nii.gz'), dwi);
    writeFileSync(join(written.dir, 'copy.csv'), text.replace('images/P0000_dwi.nii.gz', 'images/copy.nii.gz'));
    const copy = await loadCohort({ manifest: join(written.dir, 'copy.csv'), cache: cacheDir });
    expect(copy.patients[0]!.imageKey).toBe(a.imageKey);
  });

  it('a corrupt cache entry is recomputed, giving the same image, and rewritten', async () => {
    const { written, cacheDir } = await setup();
    const cold = (await load(written.manifest, cacheDir)).cohort;
    const key = cold.patients[2]!.imageKey!;
    const file = join(cacheDir, `${key}.vol`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x40;
    writeFileSync(file, bytes);
    const again = await load(written.manifest, cacheDir);
    expect(again.cached).toBe(4);
    expect(again.cohort.cache!.stats.corrupt).toBe(1);
    expect(Buffer.from(again.cohort.patients[2]!.image!.buffer).equals(Buffer.from(cold.patients[2]!.image!.buffer))).toBe(true);
    const third = await load(written.manifest, cacheDir);
    expect(third.cached).toBe(5);
  });

  it('streaming reads evicted images back from the files', async () => {
    const { written } = await setup();
    const tiny = await VolumeCache.open(join(written.dir, 'tiny'), { maxBytes: 1 }); // holds nothing
    const streamed = await loadCohort({ manifest: written.manifest, cache: tiny, keepImages: false });
    const inMemory = await loadCohort({ manifest: written.manifest });
    for (let i = 0; i < 5; i++) {
      const img = await streamed.readImage(streamed.patients[i]!);
      expect(Buffer.from(img.buffer).equals(Buffer.from(inMemory.patients[i]!.image!.buffer))).toBe(true);
    }
    expect(tiny.entries).toBe(0);
  });
});
