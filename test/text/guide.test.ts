// Every TypeScript block of docs/guides/bring-your-own-llm.md is one of the `#region guide:*`
// blocks below, character for character (after removing the common indentation), and each
// region runs here against a local chat-completions server (requests to the servers named in
// the guide are redirected to it).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createOpenAICompatibleGenerator,
  defineReportSchema,
  generateReports,
  MemoryReportCache,
  parseReport,
  RemoteEndpointError,
  strokeReportSchema,
  TemplateReportGenerator,
  type Findings,
  type ReportCase,
  type TextGenerator,
} from '../../src/index.js';
import { FileReportCache } from '../../src/node/file-cache.js';
import { startServer, VALID_REPORT, type TestServer } from './helpers/openai-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const guidePath = path.resolve(here, '../../docs/guides/bring-your-own-llm.md');

function regions(): Map<string, string> {
  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const out = new Map<string, string>();
  for (let i = 0; i < src.length; i++) {
    const m = /^\s*\/\/ #region guide:(\S+)/.exec(src[i]!);
    if (!m) continue;
    const body: string[] = [];
    for (i++; !/^\s*\/\/ #endregion/.test(src[i]!); i++) body.push(src[i]!);
    const indent = Math.min(...body.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
    out.set(m[1]!, body.map((l) => l.slice(indent)).join('\n').trim());
  }
  return out;
}

let server: TestServer;
let dir: string;
const realFetch = globalThis.fetch;
beforeEach(async () => {
  server = await startServer(() => ({ kind: 'answer', content: JSON.stringify(VALID_REPORT) }));
  dir = mkdtempSync(path.join(tmpdir(), 'vdafm-guide-'));
  const target = new URL(server.baseURL);
  // Requests to any server named in the guide go to the local test server instead.
  vi.stubGlobal('fetch', (input: string, init?: RequestInit) => {
    const u = new URL(input);
    u.protocol = target.protocol;
    u.host = target.host;
    return realFetch(u.href, init);
  });
});
afterEach(async () => {
  vi.unstubAllGlobals();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const studies = [1, 2, 3].map((i) => ({ id: `study-${i}`, slices: [{ pixels: new Uint8Array(16).fill(i), width: 4, height: 4 }] }));
const oneReport = (generator: TextGenerator) =>
  generateReports([{ id: 'x', images: [{ data: new Uint8Array(4), width: 2, height: 2 }] }], generator);

describe('docs/guides/bring-your-own-llm.md', () => {
  it('has only code blocks that are regions of this test', () => {
    const md = readFileSync(guidePath, 'utf8');
    const blocks = [...md.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const known = [...regions().values()];
    for (const [, lang, code] of blocks) {
      expect(lang).toBe('ts');
      expect(known, `guide block not found in guide.test.ts:\n${code}`).toContain(code!.trim());
    }
  });

  it('Ollama settings', async () => {
    // #region guide:ollama
    const generator = createOpenAICompatibleGenerator({
      baseURL: 'http://localhost:11434/v1',
      model: 'qwen2.5vl:7b',
      timeoutMs: 300_000,
      maxRetries: 3,
      concurrency: 1,
    });
    // #endregion
    const r = await oneReport(generator);
    expect(r.failures).toEqual([]);
    const body = server.requests[0]!.body;
    expect(body.model).toBe('qwen2.5vl:7b');
    expect(body.temperature).toBe(0);
    expect(body.seed).toBe(0);
    expect(body.messages[1].content[1].image_url.url).toMatch(/^data:image\/png;base64,/);
  });

  it('vLLM settings', async () => {
    // #region guide:vllm
    const generator = createOpenAICompatibleGenerator({
      baseURL: 'http://127.0.0.1:8000/v1',
      model: 'Qwen/Qwen2.5-VL-7B-Instruct',
      apiKey: 'token-abc123', // the value given to `vllm serve --api-key`
      concurrency: 4,
    });
    // #endregion
    await oneReport(generator);
    expect(server.requests[0]!.headers['authorization']).toBe('Bearer token-abc123');
    expect(server.requests[0]!.body.response_format.type).toBe('json_schema');
  });

  it('llama.cpp server settings', async () => {
    // #region guide:llamacpp
    const generator = createOpenAICompatibleGenerator({
      baseURL: 'http://127.0.0.1:8080/v1',
      model: 'local', // llama-server answers with the model it was started with
      concurrency: 1, // one slot unless llama-server runs with --parallel N
    });
    // #endregion
    await oneReport(generator);
    expect(server.requests[0]!.body.model).toBe('local');
  });

  it('cases, batch generation and the file cache', async () => {
    const generator = createOpenAICompatibleGenerator({ baseURL: 'http://localhost:11434/v1', model: 'qwen2.5vl:7b' });
    const cwd = process.cwd();
    process.chdir(dir);
    const logs: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
    try {
      // #region guide:cases
      const cases: ReportCase[] = studies.map((study) => ({
        id: study.id,
        images: study.slices.map((s) => ({ data: s.pixels, width: s.width, height: s.height })),
      }));
      // #endregion
      for (let run = 0; run < 2; run++) {
        // #region guide:batch
        const cache = await FileReportCache.open('./reports/stroke-qwen2.5vl.jsonl');
        const { reports, failures } = await generateReports(cases, generator, {
          cache,
          concurrency: 2,
          temperature: 0,
          seed: 42,
          onProgress: (p) => console.log(`${p.done}/${p.total} (${p.cached} cached, ${p.failed} failed)`),
        });
        await cache.close();
        for (const failure of failures) console.error(failure.caseId, failure.message);
        console.log(reports['study-1']?.text);
        // #endregion
        expect(failures).toEqual([]);
      }
    } finally {
      process.chdir(cwd);
      log.mockRestore();
    }
    expect(server.requests).toHaveLength(3); // the second run came from the cache
    expect(server.requests.every((r) => r.body.seed === 42)).toBe(true);
    expect(logs).toContain('3/3 (3 cached, 0 failed)');
    expect(logs).toContain(strokeReportSchema.render(VALID_REPORT));
  });

  it('browser cache', async () => {
    const store = new Map<string, string>();
    vi.stubGlobal('localStorage', { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) });
    const generator = createOpenAICompatibleGenerator({ baseURL: 'http://localhost:11434/v1', model: 'qwen2.5vl:7b' });
    const cases: ReportCase[] = studies.map((s) => ({ id: s.id, images: [{ data: s.slices[0]!.pixels, width: 4, height: 4 }] }));
    for (let run = 0; run < 2; run++) {
      // #region guide:browser-cache
      const cache = MemoryReportCache.fromJSON(JSON.parse(localStorage.getItem('vdafm-reports') ?? '[]'));
      await generateReports(cases, generator, { cache });
      localStorage.setItem('vdafm-reports', JSON.stringify(cache.toJSON()));
      // #endregion
    }
    expect(server.requests).toHaveLength(3);
    expect(JSON.parse(store.get('vdafm-reports')!)).toHaveLength(3);
  });

  it('privacy', () => {
    const logs: unknown[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((m: unknown) => void logs.push(m));
    try {
      // #region guide:privacy
      try {
        createOpenAICompatibleGenerator({ baseURL: 'https://llm.example.org/v1', model: 'vlm' });
      } catch (error) {
        console.log(RemoteEndpointError.isInstance(error)); // true: images would leave the machine
      }
      const approved = createOpenAICompatibleGenerator({
        baseURL: 'https://llm.example.org/v1',
        model: 'vlm',
        apiKey: 'sk-...', // sent as a Bearer token; never logged, never in error messages
        allowRemote: true, // only where sending these images there is permitted
      });
      // #endregion
      expect(approved.modelId).toBe('vlm');
    } finally {
      log.mockRestore();
    }
    expect(logs).toEqual([true]);
  });

  it('bounds', async () => {
    const warnings: string[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((m: string) => void warnings.push(m));
    try {
      // #region guide:bounds
      const bounded = createOpenAICompatibleGenerator({
        baseURL: 'http://127.0.0.1:8000/v1',
        model: 'Qwen/Qwen2.5-VL-7B-Instruct',
        timeoutMs: 60_000, // per attempt, to the last byte of the answer
        maxRetries: 2,
        maxRetryDelayMs: 30_000, // also caps the server's Retry-After
        maxResponseBytes: 256 * 1024, // a report answer is a few kB
        logger: { warn: (message) => console.warn(message) }, // no patient text in these messages
      });
      // #endregion
      const r = await oneReport(bounded);
      expect(r.failures).toEqual([]);
    } finally {
      warn.mockRestore();
    }
    expect(warnings).toEqual([]);
    expect(() => createOpenAICompatibleGenerator({ baseURL: 'http://127.0.0.1:8000/v1', model: 'm', timeoutMs: 2 ** 31 })).toThrow(/2147483647/);
  });

  it('template generator', async () => {
    const measureLesion = (study: unknown): Findings => ({ acuteLesion: 'present', side: 'left', territory: 'MCA', size: 'large', volumeMl: Number(study) });
    // #region guide:template
    const template = new TemplateReportGenerator({
      extractor: { extract: (study) => measureLesion(study) },
      noise: { omitRate: 0.1, lateralityFlipRate: 0.05, vagueSizeRate: 0.1 },
    });
    // #endregion
    const r = await generateReports([{ id: 'a', images: [], source: 40 }], template);
    expect(r.reports['a']!.fields['acuteLesion'] ?? 'omitted').toMatch(/present|omitted/);
  });

  it('own schema and parser', () => {
    // #region guide:schema
    const tumourSchema = defineReportSchema({
      name: 'glioma',
      version: 1,
      fields: [
        { key: 'enhancement', label: 'Enhancement', kind: 'enum', values: ['none', 'patchy', 'ring'], synonyms: { 'rim-enhancing': 'ring' } },
        { key: 'oedema', label: 'Oedema', kind: 'enum', values: ['none', 'mild', 'marked'] },
        { key: 'impression', label: 'Impression', kind: 'text' },
      ],
    });
    const parsed = parseReport('Sure. {"enhancement": "Rim-enhancing", "oedema": "marked"} Hope this helps.', tumourSchema);
    console.log(parsed.fields); // { enhancement: 'ring', oedema: 'marked' }
    console.log(parsed.missing); // ['impression']
    // #endregion
    expect(parsed.fields).toEqual({ enhancement: 'ring', oedema: 'marked' });
    expect(parsed.missing).toEqual(['impression']);
  });
});
