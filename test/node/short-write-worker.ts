// Child process of file-cache-writes.test.ts: opens a report cache, lowers its own file-size limit
// (RLIMIT_FSIZE, with prlimit) to `limit` bytes, and appends entries until one fails; then tries
// one small entry. Prints what happened as JSON.
// Run as: node --import tsx short-write-worker.ts <cacheFile> <limitBytes> <rawBytes>
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { SerializationError } from '../../src/errors.js';
import { ReportCacheWriteError } from '../../src/index.js';
import { FileReportCache } from '../../src/node/file-cache.js';

const [file, limit, rawBytes] = process.argv.slice(2);
const result = (i: number, raw: string) => ({ fields: { impression: `case ${i}` }, text: `Impression: case ${i}`, raw, usage: {} });
const cache = await FileReportCache.open(file!);
execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${limit}:${limit}`]);
const resolved: string[] = [];
let error: Record<string, unknown> | undefined;
for (let i = 0; i < 100 && error === undefined; i++) {
  try {
    await cache.set({ key: `k${i}`, caseId: `case-${i}`, result: result(i, 'r'.repeat(Number(rawBytes))) });
    resolved.push(`k${i}`);
  } catch (e) {
    const err = e as ReportCacheWriteError;
    error = {
      name: err.name,
      typed: ReportCacheWriteError.isInstance(err),
      serialization: SerializationError.isInstance(err),
      message: err.message,
      caseId: err.caseId,
      bytesWritten: err.bytesWritten,
      bytesExpected: err.bytesExpected,
      restored: err.restored,
      causeCode: (err.cause as { code?: string } | undefined)?.code,
      sizeAfter: statSync(file!).size,
    };
  }
}
let small = 'ok';
try {
  await cache.set({ key: 'small', caseId: 'small', result: result(-1, 'x') });
} catch (e) {
  small = (e as Error).message;
}
await cache.close();
process.stdout.write(JSON.stringify({ resolved, error, small }));
