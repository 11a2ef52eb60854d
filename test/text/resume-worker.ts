// Child process of kill-resume.test.ts: generates reports for `n` cases against the test's
// local server, with a file cache. Run as: node --import tsx resume-worker.ts <baseURL> <cacheFile> <n> <runTag>
import { createOpenAICompatibleGenerator, generateReports, type ReportCase } from '../../src/index.js';
import { FileReportCache } from '../../src/node/file-cache.js';

const [baseURL, cacheFile, n, runTag] = process.argv.slice(2);
const cases: ReportCase[] = Array.from({ length: Number(n) }, (_, i) => ({
  id: `case-${i}`,
  images: [{ data: new Uint8Array(8 * 8).fill(i * 10), width: 8, height: 8 }],
}));
const generator = createOpenAICompatibleGenerator({ baseURL: baseURL!, model: 'test-vlm', timeoutMs: 60_000, maxRetries: 0, concurrency: 2, headers: { 'x-run': runTag! } });
const cache = await FileReportCache.open(cacheFile!);
const result = await generateReports(cases, generator, { cache, concurrency: 2 });
await cache.close();
process.stdout.write(
  JSON.stringify({
    ok: Object.keys(result.reports).length,
    failures: result.failures.map((f) => f.message),
    cachedCount: result.cachedCount,
    generatedCount: result.generatedCount,
  }),
);
