// Issue #16 item 6: a failed or short append to the report cache file rejects with a typed error
// and leaves the file consistent. A child process lowers its own file-size limit (RLIMIT_FSIZE,
// via prlimit) so that the kernel really cuts a write short and then refuses the rest (EFBIG).
// Item 3 (cache part): an entry larger than maxEntryBytes is refused before any write.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { generateReports, strokeReportSchema, type TextGenerator } from '../../src/index.js';
import { FileReportCache } from '../../src/node/file-cache.js';
import { VALID_REPORT } from '../text/helpers/openai-server.js';
import { expectArgumentRejection } from '../helpers/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'vdafm-short-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasPrlimit = process.platform === 'linux' && spawnSync('prlimit', ['--version']).status === 0;

describe('FileReportCache under a file-size limit', () => {
  it.skipIf(!hasPrlimit)('a short write rejects with ReportCacheWriteError, the file keeps only complete entries, and writing goes on', async () => {
    const file = path.join(dir, 'limited.jsonl');
    const limit = 4096;
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'short-write-worker.ts'), file, String(limit), '600'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const out = JSON.parse(child.stdout) as { resolved: string[]; error: Record<string, any>; small: string };
    const lineBytes = readFileSync(file, 'utf8').split('\n')[0]!.length + 1;
    const fits = Math.floor(limit / lineBytes);
    expect(limit % lineBytes).not.toBe(0); // so the next line is cut short by the kernel
    // Every entry that fits resolved; the next one failed, with the typed error.
    expect(out.resolved).toHaveLength(fits);
    expect(out.error).toMatchObject({ name: 'ReportCacheWriteError', typed: true, serialization: true, caseId: `case-${fits}`, restored: true, causeCode: 'EFBIG' });
    expect(out.error['bytesWritten']).toBe(limit - fits * lineBytes);
    expect(out.error['bytesExpected']).toBe(lineBytes);
    expect(out.error['message']).not.toContain('rrrr');
    expect(out.error['sizeAfter']).toBe(fits * lineBytes); // cut back to the last complete entry
    expect(out.small).toBe('ok');
    // Reopened without the limit: no torn line, exactly the entries whose set() resolved.
    const cache = await FileReportCache.open(file);
    expect(cache.recoveredTornLine).toBe(false);
    expect(cache.entries().map((e) => e.key)).toEqual([...out.resolved, 'small']);
    await cache.close();
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
    expect(statSync(file).size).toBeLessThanOrEqual(limit);
  });
});

describe('FileReportCache entry bound (maxEntryBytes)', () => {
  it('refuses an entry larger than maxEntryBytes (typed), leaving the file as it was', async () => {
    const file = path.join(dir, 'big.jsonl');
    const cache = await FileReportCache.open(file, { maxEntryBytes: 10_000 });
    const result = (raw: string) => ({ fields: { side: 'left' }, text: 'Side: left', raw, usage: {} });
    await cache.set({ key: 'small', caseId: 'a', result: result('x') });
    const before = readFileSync(file, 'utf8');
    const err = await expectArgumentRejection(cache.set({ key: 'big', caseId: 'b', result: result('y'.repeat(20_000)) }), InvalidArgumentError, 'entry');
    expect(err.message).not.toContain('yyyy');
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(await cache.get('big')).toBeUndefined();
    await cache.close();
  });

  it('has a default entry bound (4 MiB): a 20 MB report is not cached, and its case fails with a typed error', async () => {
    const file = path.join(dir, 'huge.jsonl');
    const cache = await FileReportCache.open(file);
    const huge: TextGenerator = {
      specificationVersion: 'v1',
      generatorId: 'huge',
      modelId: 'm',
      generate: async () => ({ fields: { ...VALID_REPORT }, text: strokeReportSchema.render(VALID_REPORT), raw: 'z'.repeat(20_000_000), usage: {} }),
    };
    const r = await generateReports([{ id: 'h1', images: [{ data: new Uint8Array(4), width: 2, height: 2 }] }], huge, { cache });
    await cache.close();
    expect(r.failures.map((f) => f.caseId)).toEqual(['h1']);
    expect(InvalidArgumentError.isInstance(r.failures[0]!.cause)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('');
    await expectArgumentRejection(FileReportCache.open(file, { maxEntryBytes: 0 }), InvalidArgumentError, 'options.maxEntryBytes');
  });
});
