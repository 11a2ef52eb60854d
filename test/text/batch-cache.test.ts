// generateReports with the memory and file caches: once-only generation, per-case errors,
// abort, cache keys, crash-safe JSONL.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, SerializationError } from '../../src/errors.js';
import {
  buildReportPrompt,
  CaseGenerationError,
  defineReportSchema,
  generateReports,
  MemoryReportCache,
  reportCacheKey,
  ReportValidationError,
  strokeReportSchema,
  TextGenerationError,
  type ReportCache,
  type ReportCase,
  type TextGenerator,
} from '../../src/index.js';
import { FileReportCache } from '../../src/node/file-cache.js';
import { MockTextGenerator } from '../../src/testing/mock-generator.js';
import { expectArgumentError, expectArgumentRejection } from '../helpers/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vdafm-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const img = (v: number) => ({ data: new Uint8Array(16).fill(v), width: 4, height: 4 });
const cases = (n: number): ReportCase[] => Array.from({ length: n }, (_, i) => ({ id: `case-${i}`, images: [img(i)] }));

describe('generateReports', () => {
  it('generates each case once; a second run is served entirely from the cache', async () => {
    const mock = new MockTextGenerator();
    const cache = new MemoryReportCache();
    const progress: number[] = [];
    const first = await generateReports(cases(6), mock, { cache, concurrency: 2, onProgress: (p) => progress.push(p.done) });
    expect(mock.calls).toHaveLength(6);
    expect(first.generatedCount).toBe(6);
    expect(first.cachedCount).toBe(0);
    expect(first.outcomes.map((o) => o.id)).toEqual(cases(6).map((c) => c.id));
    expect(Object.keys(first.reports).sort()).toEqual(cases(6).map((c) => c.id).sort());
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    expect(cache.size).toBe(6);
    const second = await generateReports(cases(6), mock, { cache });
    expect(mock.calls).toHaveLength(6);
    expect(second.cachedCount).toBe(6);
    expect(second.outcomes.every((o) => o.ok && o.cached)).toBe(true);
    expect(second.reports).toEqual(first.reports);
    // Every request carried the batch settings.
    expect(mock.calls.every((c) => c.temperature === 0 && c.seed === 0 && c.prompt === buildReportPrompt(strokeReportSchema))).toBe(true);
  });

  it('shares one request between cases with identical inputs; keys cases without images by id', async () => {
    const mock = new MockTextGenerator();
    const r = await generateReports(
      [
        { id: 'a', images: [img(1)] },
        { id: 'b', images: [img(1)] },
        { id: 'c', images: [] },
        { id: 'd', images: [] },
      ],
      mock,
      { cache: new MemoryReportCache() },
    );
    expect(mock.calls).toHaveLength(3);
    expect(Object.keys(r.reports).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  fcTest.prop([fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 4 })], { numRuns: 25 })(
    'every case ends in a report or a CaseGenerationError naming it, never both, never neither',
    async (failMask, concurrency) => {
      const list = failMask.map((_, i) => ({ id: `p${i}`, images: [img(i)], prompt: `case ${i}` }));
      const mock = new MockTextGenerator({
        responses: list.map(() => (r: { prompt: string }) => {
          const i = Number(r.prompt.split(' ')[1]);
          if (failMask[i]) throw new TextGenerationError({ code: 'http', status: 500, message: 'server error' });
          return JSON.stringify({ sequences: 'DWI', acuteLesion: 'absent', side: 'none', territory: 'none', location: 'none', size: 'none', signal: 'normal', massEffect: 'none', oldLesions: 'none', impression: `ok ${i}` });
        }),
      });
      const res = await generateReports(list, mock, { concurrency });
      for (const [i, c] of list.entries()) {
        const failed = res.failures.filter((f) => f.caseId === c.id);
        expect(failed.length + (c.id in res.reports ? 1 : 0)).toBe(1);
        expect(failed.length).toBe(failMask[i] ? 1 : 0);
        if (!failMask[i]) expect(res.reports[c.id]!.fields['impression']).toBe(`ok ${i}`);
      }
      for (const f of res.failures) {
        expect(CaseGenerationError.isInstance(f)).toBe(true);
        expect(f.message).toContain(f.caseId);
        expect(TextGenerationError.isInstance(f.cause)).toBe(true);
      }
    },
  );

  it('turns a malformed generator result and a failing cache write into per-case errors', async () => {
    const broken: TextGenerator = { specificationVersion: 'v1', generatorId: 'broken', modelId: 'x', generate: async () => ({ nope: 1 }) as never };
    const r1 = await generateReports([{ id: 'x1', images: [img(1)] }], broken);
    expect(r1.failures[0]!.caseId).toBe('x1');
    expect((r1.failures[0]!.cause as TextGenerationError).code).toBe('invalid-response');
    const failingCache: ReportCache = { get: async () => undefined, set: async () => { throw new Error('disk full'); } };
    const r2 = await generateReports([{ id: 'x2', images: [img(2)] }], new MockTextGenerator(), { cache: failingCache });
    expect(r2.reports).toEqual({});
    expect(r2.failures[0]!.message).toContain('x2');
    expect(r2.failures[0]!.message).toContain('disk full');
  });

  it('generateReports rejects results that violate the schema, and does not cache them', async () => {
    const bad = [
      { fields: {}, text: '' },
      { fields: { side: 42 }, text: 'Side: 42' },
      { fields: { side: 'upward' }, text: 'Side: upward' },
      { fields: { side: 'left', colour: 'blue' }, text: 'Side: left' },
      { fields: { side: 'left' }, text: '' },
    ];
    const cache = new MemoryReportCache();
    const cases = bad.map((_, i) => ({ id: `b${i}`, images: [img(i)], prompt: `p${i}` }));
    const g: TextGenerator = { specificationVersion: 'v1', generatorId: 'bad', modelId: 'm', generate: async (r) => ({ raw: '', usage: {}, ...bad[Number(r.prompt.slice(1))]! }) as never };
    const res = await generateReports(cases, g, { cache });
    expect(res.failures.map((f) => f.caseId)).toEqual(cases.map((c) => c.id));
    for (const f of res.failures) {
      expect(ReportValidationError.isInstance(f.cause), f.caseId).toBe(true);
      expect((f.cause as ReportValidationError).code).toBe('invalid-output');
    }
    expect(cache.size).toBe(0);
  });

  it('abort: unstarted cases are not sent, finished ones stay cached, the call rejects with a typed error', async () => {
    const controller = new AbortController();
    const cache = new MemoryReportCache();
    const mock = new MockTextGenerator();
    const p = generateReports(cases(8), mock, {
      cache,
      concurrency: 1,
      signal: controller.signal,
      onProgress: (pr) => {
        if (pr.done === 3) controller.abort();
      },
    });
    const err = await p.catch((e) => e);
    expect(TextGenerationError.isInstance(err)).toBe(true);
    expect(err.code).toBe('aborted');
    expect(mock.calls).toHaveLength(3);
    expect(cache.size).toBe(3);
  });

  it('rejects bad arguments, naming them, before any request', async () => {
    const mock = new MockTextGenerator();
    const bads: Array<[() => Promise<unknown>, string]> = [
      [() => generateReports('x' as never, mock), 'cases'],
      [() => generateReports([{ id: 'a', images: [] }, { id: 'a', images: [] }], mock), 'cases[1].id'],
      [() => generateReports([{ id: '', images: [] }], mock), 'cases[0].id'],
      [() => generateReports([{ id: 'a', images: [new Uint8Array(3)] }], mock), 'cases[0].images[0]'],
      [() => generateReports([], {} as never), 'generator'],
      [() => generateReports([], mock, { concurrency: 0 }), 'options.concurrency'],
      [() => generateReports([], mock, { schema: {} as never }), 'options.schema'],
      [() => generateReports([], mock, { cache: {} as never }), 'options.cache'],
      [() => generateReports([], mock, { temperature: 3 }), 'options.temperature'],
      [() => generateReports([], mock, { seed: 0.5 }), 'options.seed'],
    ];
    for (const [run, argument] of bads) {
      await expectArgumentRejection(run, InvalidArgumentError, argument);
    }
    expect(mock.calls).toHaveLength(0);
  });
});

describe('reportCacheKey', () => {
  const gen = { generatorId: 'g', modelId: 'm' };
  const base = { generator: gen, prompt: 'p', schema: strokeReportSchema, images: [img(3)], temperature: 0, seed: 0 };
  it('changes with every input that determines the output', () => {
    const k = reportCacheKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(reportCacheKey({ ...base })).toBe(k);
    const variants = [
      { ...base, generator: { ...gen, generatorId: 'h' } },
      { ...base, generator: { ...gen, modelId: 'n' } },
      { ...base, generator: { ...gen, configId: 'c' } },
      { ...base, prompt: 'q' },
      { ...base, schema: defineReportSchema({ name: 'stroke', version: 2, fields: strokeReportSchema.fields }) },
      { ...base, temperature: 0.1 },
      { ...base, seed: 1 },
      { ...base, maxTokens: 100 },
      { ...base, salt: 'case:x' },
      { ...base, images: [] },
      { ...base, images: [img(3), img(3)] },
      { ...base, images: [{ ...img(3), width: 2, height: 8 }] },
      { ...base, images: [{ data: new Float32Array(4), width: 4, height: 4 }] },
    ];
    const keys = new Set(variants.map((v) => reportCacheKey(v as never)));
    expect(keys.size).toBe(variants.length);
    expect(keys.has(k)).toBe(false);
  });
  fcTest.prop([fc.nat(15), fc.integer({ min: 1, max: 255 })])('one changed pixel changes the key', (i, delta) => {
    const data = new Uint8Array(16).fill(3);
    data[i] = (3 + delta) % 256;
    expect(reportCacheKey({ ...base, images: [{ data, width: 4, height: 4 }] })).not.toBe(reportCacheKey(base));
  });
});

describe('MemoryReportCache', () => {
  it('round-trips through JSON and ignores a second set of a key', async () => {
    const c = new MemoryReportCache();
    const result = { fields: { side: 'left' }, text: 'Side: left', raw: '{}', usage: {} };
    await c.set({ key: 'k1', caseId: 'a', result });
    await c.set({ key: 'k1', caseId: 'b', result: { ...result, text: 'other' } });
    const again = MemoryReportCache.fromJSON(JSON.parse(JSON.stringify(c)));
    expect(again.size).toBe(1);
    expect(await again.get('k1')).toEqual({ key: 'k1', caseId: 'a', result });
    expectArgumentError(() => new MemoryReportCache([{ key: 1 }] as never), InvalidArgumentError, 'entries[0]');
  });
});

describe('FileReportCache', () => {
  const result = (t: string) => ({ fields: { impression: t }, text: `Impression: ${t}`, raw: t, usage: { totalTokens: 3 } });

  it('appends one JSON line per new key and reloads them', async () => {
    const file = path.join(dir, 'a', 'reports.jsonl');
    const c = await FileReportCache.open(file);
    await Promise.all([c.set({ key: 'k1', caseId: 'a', result: result('one') }), c.set({ key: 'k2', caseId: 'b', result: result('two') }), c.set({ key: 'k1', caseId: 'a', result: result('dup') })]);
    await c.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!)).toEqual({ v: 1, key: 'k1', caseId: 'a', result: result('one') });
    const d = await FileReportCache.open(file);
    expect(d.size).toBe(2);
    expect(d.recoveredTornLine).toBe(false);
    expect((await d.get('k2'))?.result).toEqual(result('two'));
    await d.close();
  });

  it('detects and cuts a torn last line, then appends cleanly', async () => {
    const file = path.join(dir, 'torn.jsonl');
    const c = await FileReportCache.open(file);
    await c.set({ key: 'k1', caseId: 'a', result: result('one') });
    await c.close();
    const full = JSON.stringify({ v: 1, key: 'k2', caseId: 'b', result: result('two') });
    appendFileSync(file, full.slice(0, 25)); // a crash in the middle of a write
    const d = await FileReportCache.open(file);
    expect(d.recoveredTornLine).toBe(true);
    expect(d.size).toBe(1);
    expect(await d.get('k2')).toBeUndefined();
    await d.set({ key: 'k2', caseId: 'b', result: result('two') });
    await d.close();
    const e = await FileReportCache.open(file);
    expect(e.recoveredTornLine).toBe(false);
    expect(e.entries().map((x) => x.key)).toEqual(['k1', 'k2']);
    await e.close();
  });

  it('refuses a corrupt line in the middle with a SerializationError naming the line', async () => {
    const file = path.join(dir, 'corrupt.jsonl');
    writeFileSync(file, `${JSON.stringify({ v: 1, key: 'k1', caseId: 'a', result: result('x') })}\n{oops\n${JSON.stringify({ v: 1, key: 'k2', caseId: 'b', result: result('y') })}\n`);
    const err = await FileReportCache.open(file).catch((e) => e);
    expect(SerializationError.isInstance(err)).toBe(true);
    expect(err.message).toContain('line 2');
    await expectArgumentRejection(FileReportCache.open(''), InvalidArgumentError, 'file');
  });

  it('serves generateReports: a second run sends nothing', async () => {
    const file = path.join(dir, 'batch.jsonl');
    const mock = new MockTextGenerator();
    let cache = await FileReportCache.open(file);
    await generateReports(cases(5), mock, { cache, concurrency: 3 });
    await cache.close();
    cache = await FileReportCache.open(file);
    const r = await generateReports(cases(5), mock, { cache });
    await cache.close();
    expect(mock.calls).toHaveLength(5);
    expect(r.cachedCount).toBe(5);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(5);
  });
});
