// Issue #16, items 1, 3, 4, 5 and 7: the OpenAI-compatible generator and generateReports
// against the fault-injecting server (helpers/openai-server.ts). Every test is fast: backoff
// waits go to an injected sleep, timeouts are a few hundred ms at most.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  buildReportPrompt,
  CaseGenerationError,
  createOpenAICompatibleGenerator,
  generateReports,
  ReportValidationError,
  strokeReportSchema,
  TextGenerationError,
  type OpenAICompatibleGeneratorOptions,
  type TextGenerateRequest,
  type TextGenerator,
} from '../../src/index.js';
import { FileReportCache } from '../../src/node/file-cache.js';
import { faultScript, startServer, VALID_REPORT, type Behaviour, type TestServer } from './helpers/openai-server.js';
import { expectArgumentError } from '../helpers/errors.js';

const servers: TestServer[] = [];
const serve = async (...args: Parameters<typeof startServer>): Promise<TestServer> => {
  const s = await startServer(...args);
  servers.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const dir = mkdtempSync(path.join(tmpdir(), 'vdafm-hardening-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const slice = { data: new Uint8Array(64).map((_, i) => (i * 53) % 256), width: 8, height: 8 };
const PATIENT = 'Patient Jane Roe, MRN 4711-0815';
const req = (over: Partial<TextGenerateRequest> = {}): TextGenerateRequest => ({
  images: [slice],
  prompt: `${buildReportPrompt(strokeReportSchema)}\nHistory: ${PATIENT}.`,
  schema: strokeReportSchema,
  temperature: 0,
  seed: 3,
  ...over,
});
const ok = (fields: Record<string, string> = VALID_REPORT): Behaviour => ({ kind: 'answer', content: JSON.stringify(fields) });
const sleeps: number[] = [];
const gen = (s: TestServer, over: Partial<OpenAICompatibleGeneratorOptions> = {}): TextGenerator =>
  createOpenAICompatibleGenerator({
    baseURL: s.baseURL,
    model: 'fault-test',
    timeoutMs: 2_000,
    maxRetries: 2,
    retryBaseDelayMs: 100,
    random: () => 0.5,
    sleep: async (ms) => void sleeps.push(ms),
    ...over,
  });
afterEach(() => {
  sleeps.length = 0;
});

describe('item 1: redirects are refused, never followed', () => {
  it.each([301, 302, 303, 307, 308])('HTTP %i to another loopback port: nothing reaches the target; typed, not retried', async (status) => {
    const target = await serve(() => ok());
    const s = await serve(() => ({ kind: 'redirect', status, location: `${target.baseURL}/chat/completions` }));
    const err = (await gen(s).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(TextGenerationError.isInstance(err)).toBe(true);
    expect(err.code).toBe('redirect');
    expect(err.status).toBe(status);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`127.0.0.1:${new URL(target.origin).port}`);
    expect(s.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });

  it('a redirect to a non-local host fails at once, without contacting it', async () => {
    const s = await serve(() => ({ kind: 'redirect', status: 307, location: 'http://llm.example.org/v1/chat/completions?token=abc' }));
    const err = (await gen(s).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err.code).toBe('redirect');
    expect(err.message).toContain('llm.example.org');
    expect(err.message).not.toContain('token=abc');
    expect(sleeps).toEqual([]);
  });

  it("asks fetch not to follow redirects, and refuses an injected fetch's followed answer", async () => {
    const inits: RequestInit[] = [];
    const followed = Object.defineProperty(new Response(JSON.stringify({ choices: [{ message: { content: JSON.stringify(VALID_REPORT) } }] }), { status: 200 }), 'redirected', { value: true });
    const g = createOpenAICompatibleGenerator({
      baseURL: 'http://127.0.0.1:9/v1',
      model: 'm',
      fetch: (async (_url: string, init: RequestInit) => {
        inits.push(init);
        return followed;
      }) as never,
    });
    const err = (await g.generate(req()).catch((e) => e)) as TextGenerationError;
    expect(inits[0]!.redirect).toBe('manual');
    expect(err.code).toBe('redirect');
  });
});

describe('item 3: the response body is bounded (maxResponseBytes)', () => {
  it('a 100 MB streamed answer is cut off past maxResponseBytes: typed error, not retried, the download stops', async () => {
    const s = await serve(() => ({ kind: 'oversized', bytes: 100 * 1024 * 1024 }));
    const err = (await gen(s, { maxResponseBytes: 256 * 1024 }).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(TextGenerationError.isInstance(err)).toBe(true);
    expect(err.code).toBe('response-too-large');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('262144');
    expect(s.requests).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.oversizedBytesSent).toBeLessThan(32 * 1024 * 1024);
  });

  it('a declared content-length above the bound is refused before the body is read', async () => {
    const s = await serve(() => ({ kind: 'oversized', bytes: 50 * 1024 * 1024, declareLength: true }));
    const err = (await gen(s, { maxResponseBytes: 1024 }).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err.code).toBe('response-too-large');
  });

  it('has a default bound (1 MiB): a 4 MiB answer is refused', async () => {
    const s = await serve(() => ({ kind: 'oversized', bytes: 4 * 1024 * 1024 }));
    const err = (await gen(s).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err.code).toBe('response-too-large');
    expect(err.message).toContain('1048576');
  });

  it('error bodies are read only in part: a 50 MB 500 body gives a short message and stops the download', async () => {
    const s = await serve(() => ({ kind: 'oversized', status: 500, bytes: 50 * 1024 * 1024 }));
    const err = (await gen(s, { maxRetries: 0, debugIncludeContent: true }).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err.code).toBe('http');
    expect(err.status).toBe(500);
    expect(err.message.length).toBeLessThan(1_200); // 1,000 quoted characters at most
    await new Promise((r) => setTimeout(r, 50));
    expect(s.oversizedBytesSent).toBeLessThan(32 * 1024 * 1024);
  });

  it('an answer within the bound is read normally', async () => {
    const s = await serve(() => ok());
    expect((await gen(s, { maxResponseBytes: 4096 }).generate(req())).fields).toEqual(VALID_REPORT);
  });

  it('validates maxResponseBytes', () => {
    for (const bad of [0, -1, 1.5, '1e6', Number.POSITIVE_INFINITY]) {
      expectArgumentError(() => createOpenAICompatibleGenerator({ baseURL: 'http://127.0.0.1:1/v1', model: 'm', maxResponseBytes: bad as never }), InvalidArgumentError, 'maxResponseBytes', { label: String(bad) });
    }
  });

});

describe('item 4: timer values are validated against the setTimeout limit (2^31 - 1 ms)', () => {
  const base = { baseURL: 'http://127.0.0.1:1/v1', model: 'm' };
  it.each(['timeoutMs', 'maxRetryDelayMs', 'retryBaseDelayMs'])('%s ≥ 2^31 is rejected, naming it and the limit', (name) => {
    const err = expectArgumentError(() => createOpenAICompatibleGenerator({ ...base, [name]: 2 ** 31 }), InvalidArgumentError, name);
    expect(err.message).toContain('2147483647');
    expect(() => createOpenAICompatibleGenerator({ ...base, [name]: 2 ** 31 - 1 })).not.toThrow();
  });

  it('timeoutMs = 2^31 - 1 does not fire early (an answer after 50 ms arrives)', async () => {
    const s = await serve(() => ({ kind: 'delay', ms: 50, then: ok() }));
    const r = await gen(s, { timeoutMs: 2 ** 31 - 1 }).generate(req());
    expect(r.fields).toEqual(VALID_REPORT);
    expect(s.requests).toHaveLength(1);
  });

  it('a 30-day Retry-After with the largest maxRetryDelayMs really waits (real sleep; aborted after 100 ms)', async () => {
    const s = await serve(() => ({ kind: 'status', status: 429, headers: { 'retry-after': String(30 * 24 * 3600) } }));
    const controller = new AbortController();
    const g = createOpenAICompatibleGenerator({ baseURL: s.baseURL, model: 'm', maxRetryDelayMs: 2 ** 31 - 1 });
    const p = g.generate(req({ signal: controller.signal }));
    await new Promise((r) => setTimeout(r, 100));
    expect(s.requests).toHaveLength(1);
    controller.abort();
    expect(((await p.catch((e) => e)) as TextGenerationError).code).toBe('aborted');
  });
});

describe('item 5: no patient text in errors or logs unless debugIncludeContent', () => {
  const leaks = (texts: string[]): string[] => texts.filter((t) => t.includes('Jane Roe') || t.includes('4711-0815') || t.includes('PATIENTVALUE'));

  it('a server echoing the prompt in its error body: the body is not quoted (errors, logs, batch failures)', async () => {
    const s = await serve(() => ({ kind: 'echo', status: 500 }));
    const logs: string[] = [];
    const g = gen(s, { logger: { warn: (m) => logs.push(m), debug: (m) => logs.push(m) } });
    const err = (await g.generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err.code).toBe('http');
    expect(s.requests[0]!.rawBody).toContain('Jane Roe'); // the server did echo it
    const batch = await generateReports([{ id: 'c1', images: [slice], prompt: req().prompt }], g);
    const texts = [err.message, String(err.stack), JSON.stringify(err), ...logs, batch.failures[0]!.message, String(batch.failures[0]!.stack)];
    expect(logs.length).toBeGreaterThan(0);
    expect(leaks(texts)).toEqual([]);
    expect(err.message).toMatch(/body .*not shown/);
  });

  it('the previous report text (echoed back on the repair call) stays out of errors and logs', async () => {
    const s = await serve((r) => (r.index === 0 ? ok({ ...VALID_REPORT, side: 'PATIENTVALUE upward' }) : { kind: 'echo', status: 400, what: 'conversation' }));
    const logs: string[] = [];
    const err = (await gen(s, { logger: { warn: (m) => logs.push(m), debug: (m) => logs.push(m) } }).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err.code).toBe('http');
    expect(s.requests[1]!.rawBody).toContain('PATIENTVALUE');
    expect(leaks([err.message, JSON.stringify(err), ...logs])).toEqual([]);
  });

  it('ReportValidationError.invalid[].value is redacted by default', async () => {
    const s = await serve(() => ok({ ...VALID_REPORT, side: 'PATIENTVALUE upward' }));
    const err = (await gen(s).generate(req()).catch((e) => e)) as ReportValidationError;
    expect(ReportValidationError.isInstance(err)).toBe(true);
    expect(err.invalid.map((f) => f.key)).toEqual(['side']);
    expect(leaks([JSON.stringify(err.invalid), JSON.stringify(err), err.message])).toEqual([]);
  });

  it('debugIncludeContent: true quotes bodies and keeps invalid values (still without secrets or pixels)', async () => {
    const apiKey = 'sk-debug-SECRET-123456';
    const s = await serve((r) => (r.index === 0 ? { kind: 'echo', status: 500 } : ok({ ...VALID_REPORT, side: 'PATIENTVALUE upward' })));
    const logs: string[] = [];
    const g = gen(s, { apiKey, debugIncludeContent: true, systemPrompt: 'JSON only.', logger: { warn: (m) => logs.push(m) } });
    const err = (await g.generate(req({ prompt: `History: ${PATIENT}. Fill in the report.` })).catch((e) => e)) as ReportValidationError;
    expect(err.invalid[0]!.value).toBe('PATIENTVALUE upward');
    expect(logs.join('\n')).toContain('Jane Roe');
    const everything = [JSON.stringify(err), err.message, ...logs].join('\n');
    expect(everything).not.toContain('SECRET');
    const url = s.requests[0]!.body.messages[1].content[1].image_url.url as string;
    expect(everything).not.toContain(url.slice(30, 60));
    expectArgumentError(() => createOpenAICompatibleGenerator({ baseURL: s.baseURL, model: 'm', debugIncludeContent: 'yes' as never }), InvalidArgumentError, 'debugIncludeContent');
  });
});

describe('item 7: smaller holes', () => {
  it('a throwing logger does not fail the request (logger errors are ignored)', async () => {
    const s = await serve((r) => (r.index === 0 ? { kind: 'status', status: 503 } : ok()));
    const g = gen(s, {
      logger: {
        warn: () => {
          throw new Error('logger broke');
        },
      },
    });
    expect((await g.generate(req())).fields).toEqual(VALID_REPORT);
    expect(s.requests).toHaveLength(2);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ repair: 'yes' }, 'repair'],
    [{ systemPrompt: 42 }, 'systemPrompt'],
    [{ systemPrompt: '  ' }, 'systemPrompt'],
    [{ logger: 42 }, 'logger'],
    [{ logger: { warn: 'console' } }, 'logger.warn'],
    [{ baseURL: 'http://127.0.0.1:8000/v1#frag' }, 'baseURL'],
  ])('rejects %j naming %s', (bad, argument) => {
    expectArgumentError(() => createOpenAICompatibleGenerator({ baseURL: 'http://127.0.0.1:1/v1', model: 'm', ...bad } as never), InvalidArgumentError, argument);
  });

  it('a base URL with a query string keeps it after /chat/completions (and never shows it)', async () => {
    const s = await serve((r) => (r.index === 0 ? { kind: 'status', status: 401 } : ok()));
    const g = gen(s, { baseURL: `${s.baseURL}/?api-version=2024-06-01&key=QUERYSECRET` });
    const err = (await g.generate(req()).catch((e) => e)) as TextGenerationError;
    expect(s.requests[0]!.url).toBe('/v1/chat/completions?api-version=2024-06-01&key=QUERYSECRET');
    expect(err.message).not.toContain('QUERYSECRET');
    expect((await g.generate(req())).fields).toEqual(VALID_REPORT);
  });

  it('an unparsable base URL with credentials is not echoed', () => {
    const err = expectArgumentError(() => createOpenAICompatibleGenerator({ baseURL: 'http://admin:hunter2secret@[::1/v1', model: 'm' }), InvalidArgumentError, 'baseURL');
    expect(`${err.message} ${JSON.stringify(err.received)}`).not.toContain('hunter2secret');
  });

  it.each(['-5', '1,5', 'soon', '2026-01-01'])('Retry-After: %j is not a date in the past: default backoff', async (value) => {
    const s = await serve((r) => (r.index === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': value } } : ok()));
    await gen(s, { now: () => Date.UTC(2026, 5, 1) }).generate(req());
    expect(sleeps).toEqual([75]); // backoff 100 → 50 + 0.5 * 50
  });

  it('error.attempts counts the first call when the repair call fails', async () => {
    const s = await serve((r) => (r.index === 0 ? ok({ ...VALID_REPORT, side: 'upward' }) : { kind: 'status', status: 401 }));
    const err = (await gen(s).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err.code).toBe('http');
    expect(err.attempts).toBe(2);
    const s2 = await serve((r) => (r.index === 0 ? ok({ ...VALID_REPORT, side: 'upward' }) : { kind: 'status', status: 503 }));
    const err2 = (await gen(s2, { maxRetries: 1 }).generate(req()).catch((e) => e)) as TextGenerationError;
    expect(err2.attempts).toBe(3);
  });

  it('a shared abort signal at high concurrency raises no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const s = await serve((r) => ({ kind: 'delay', ms: 20, then: r.index < 40 ? { kind: 'status', status: 503 } : ok() }));
      const controller = new AbortController();
      const g = createOpenAICompatibleGenerator({ baseURL: s.baseURL, model: 'm', concurrency: 40, retryBaseDelayMs: 30, maxRetries: 5 });
      const cases = Array.from({ length: 40 }, (_, i) => ({ id: `c${i}`, images: [{ data: new Uint8Array(4).fill(i), width: 2, height: 2 }] }));
      const res = await generateReports(cases, g, { concurrency: 40, signal: controller.signal });
      expect(res.failures).toEqual([]);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => `${w.message}\n${w.stack}`)).toEqual([]);
  });
});

describe('the fault server over a whole batch', () => {
  it('40% faults over 60 patients (seeded): every case ends in a report or a typed failure; a second run finishes the rest; nothing is duplicated', async () => {
    const script = faultScript({
      seed: 16,
      rates: { rateLimit: 0.1, serverError: 0.1, hang: 0.03, reset: 0.07, truncate: 0.05, malformed: 0.05 },
      retryAfter: '2',
      answer: (r) => ok({ ...VALID_REPORT, impression: `case ${r.body.messages[1].content[0].text.split(' ').pop()}` }),
    });
    const s = await serve(script, { hangMs: 1_000 });
    const file = path.join(dir, 'fault-run.jsonl');
    const cases = Array.from({ length: 60 }, (_, i) => ({ id: `p${i}`, images: [{ data: new Uint8Array(4).fill(i), width: 2, height: 2 }], prompt: `Report case ${i}` }));
    const g = gen(s, { timeoutMs: 150, maxRetries: 3, concurrency: 8 });
    let cache = await FileReportCache.open(file);
    const first = await generateReports(cases, g, { cache, concurrency: 8 });
    await cache.close();
    expect(Object.keys(first.reports).length + first.failures.length).toBe(60);
    for (const f of first.failures) {
      expect(CaseGenerationError.isInstance(f)).toBe(true);
      expect(TextGenerationError.isInstance(f.cause)).toBe(true);
    }
    for (const [id, r] of Object.entries(first.reports)) expect(r.fields['impression']).toBe(`case ${id.slice(1)}`);
    expect(Object.values(script.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
    expect(sleeps).toContain(2000); // Retry-After honoured
    cache = await FileReportCache.open(file);
    const requestsBefore = s.requests.length;
    const second = await generateReports(cases, gen(s, { timeoutMs: 150, maxRetries: 8, concurrency: 8 }), { cache, concurrency: 8 });
    await cache.close();
    expect(second.failures).toEqual([]);
    expect(second.cachedCount).toBe(Object.keys(first.reports).length);
    expect(s.requests.length - requestsBefore).toBeGreaterThanOrEqual(first.failures.length);
    const ids = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).caseId as string);
    expect(ids.sort()).toEqual(cases.map((c) => c.id).sort());
  });
});
