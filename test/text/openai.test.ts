// The OpenAI-compatible generator against a real HTTP server on 127.0.0.1 (node:http, port 0).
import { decode as decodePng } from 'fast-png';
import { afterEach, describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  buildReportPrompt,
  CaseGenerationError,
  createOpenAICompatibleGenerator,
  generateReports,
  isLoopbackHost,
  RemoteEndpointError,
  ReportValidationError,
  strokeReportSchema,
  TextGenerationError,
  type TextGenerateRequest,
} from '../../src/index.js';
import { startServer, VALID_REPORT, type Behaviour, type TestServer } from './helpers/openai-server.js';
import { expectArgumentError, expectArgumentRejection } from '../helpers/errors.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const grey = { data: Uint8Array.from([0, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 255]), width: 4, height: 3 };
const rgbFloat = { data: Float32Array.from([0, 0.5, 1, 0.25, -1, 2, 0.125, 0.375, 0.625, 0.75, 0.875, 0.0625]), width: 2, height: 2, channels: 3 as const };
const request = (over: Partial<TextGenerateRequest> = {}): TextGenerateRequest => ({
  images: [grey],
  prompt: buildReportPrompt(strokeReportSchema),
  schema: strokeReportSchema,
  temperature: 0,
  seed: 7,
  ...over,
});
const answer = (content: unknown): Behaviour => ({ kind: 'answer', content: typeof content === 'string' ? content : JSON.stringify(content) });
const sleeps: number[] = [];
const fakeSleep = async (ms: number): Promise<void> => {
  sleeps.push(ms);
};
afterEach(() => {
  sleeps.length = 0;
});

function generatorFor(s: TestServer, extra: Record<string, unknown> = {}) {
  return createOpenAICompatibleGenerator({
    baseURL: s.baseURL,
    model: 'test-vlm',
    timeoutMs: 5_000,
    maxRetries: 3,
    retryBaseDelayMs: 100,
    sleep: fakeSleep,
    random: () => 0.5,
    ...extra,
  });
}

describe('createOpenAICompatibleGenerator against a local server', () => {
  it('happy path: sends temperature, seed, json_schema and PNG data URLs; returns parsed fields and rendered text', async () => {
    server = await startServer(() => answer({ ...VALID_REPORT, side: 'Left' }));
    const gen = generatorFor(server, { apiKey: 'sk-local-123456' });
    const result = await gen.generate(request({ images: [grey, rgbFloat], maxTokens: 300, temperature: 0.2, seed: 1234 }));
    expect(result.fields).toEqual(VALID_REPORT);
    expect(result.text).toBe(
      'Sequences: DWI, ADC | Acute lesion: present | Side: left | Territory: MCA | Location: basal ganglia, corona radiata | Size: large | Signal: DWI hyperintense, ADC hypointense | Mass effect: mild | Old lesions: none | Impression: acute left MCA territory infarct.',
    );
    expect(result.usage).toEqual({ inputTokens: 10, outputTokens: 5, totalTokens: 15 });
    expect(server.requests).toHaveLength(1);
    const seen = server.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.headers['authorization']).toBe('Bearer sk-local-123456');
    expect(seen.body.model).toBe('test-vlm');
    expect(seen.body.temperature).toBe(0.2);
    expect(seen.body.seed).toBe(1234);
    expect(seen.body.max_tokens).toBe(300);
    expect(seen.body.response_format.type).toBe('json_schema');
    expect(seen.body.response_format.json_schema.schema.properties.side.enum).toEqual(['left', 'right', 'bilateral', 'none']);
    expect(seen.body.response_format.json_schema.schema.required).toHaveLength(10);
    const parts = seen.body.messages[1].content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
    expect(parts[0]).toEqual({ type: 'text', text: buildReportPrompt(strokeReportSchema) });
    const urls = parts.filter((p) => p.type === 'image_url').map((p) => p.image_url!.url);
    expect(urls).toHaveLength(2);
    for (const u of urls) expect(u.startsWith('data:image/png;base64,')).toBe(true);
    const png0 = decodePng(Buffer.from(urls[0]!.slice('data:image/png;base64,'.length), 'base64'));
    expect([png0.width, png0.height, png0.channels, png0.depth]).toEqual([4, 3, 1, 8]);
    expect(Array.from(png0.data)).toEqual(Array.from(grey.data));
    const png1 = decodePng(Buffer.from(urls[1]!.slice('data:image/png;base64,'.length), 'base64'));
    expect([png1.width, png1.height, png1.channels]).toEqual([2, 2, 3]);
    // Float32 in [0,1] → round(clamp(v) * 255), computed by hand (values exact in float32;
    // -1 and 2 are clamped): 127.5→128, 63.75→64, 31.875→32, 95.625→96, 159.375→159, ...
    expect(Array.from(png1.data)).toEqual([0, 128, 255, 64, 0, 255, 32, 96, 159, 191, 223, 16]);
  });

  it('always sends temperature and seed, even when they are 0', async () => {
    server = await startServer(() => answer(VALID_REPORT));
    await generatorFor(server).generate(request({ temperature: 0, seed: 0 }));
    expect(server.requests[0]!.body).toHaveProperty('temperature', 0);
    expect(server.requests[0]!.body).toHaveProperty('seed', 0);
    expect(server.requests[0]!.body).not.toHaveProperty('max_tokens');
  });

  it('429 with Retry-After in seconds waits that long, then succeeds', async () => {
    server = await startServer((r) => (r.index === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': '2' } } : answer(VALID_REPORT)));
    const result = await generatorFor(server).generate(request());
    expect(result.fields).toEqual(VALID_REPORT);
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toEqual([2000]);
  });

  it('429 with Retry-After as an HTTP date waits until then (injected clock)', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const date = new Date(now + 5_000).toUTCString();
    server = await startServer((r) => (r.index === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': date } } : answer(VALID_REPORT)));
    await generatorFor(server, { now: () => now }).generate(request());
    expect(sleeps).toEqual([5000]);
  });

  it('500 then success: exponential backoff with jitter (base 100 ms, random 0.5 → 75, 150 ms)', async () => {
    server = await startServer((r) => (r.index < 2 ? { kind: 'status', status: 500 } : answer(VALID_REPORT)));
    const result = await generatorFor(server).generate(request());
    expect(result.fields).toEqual(VALID_REPORT);
    expect(server.requests).toHaveLength(3);
    // delay = backoff/2 + random*backoff/2, backoff = 100 * 2^retry
    expect(sleeps).toEqual([75, 150]);
  });

  it('retries run out: a typed http error with status and attempt count', async () => {
    server = await startServer(() => ({ kind: 'status', status: 503 }));
    const err = await generatorFor(server, { maxRetries: 2 }).generate(request()).catch((e) => e);
    expect(TextGenerationError.isInstance(err)).toBe(true);
    expect(err.code).toBe('http');
    expect(err.status).toBe(503);
    expect(err.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
  });

  it('a 401 is not retried', async () => {
    server = await startServer(() => ({ kind: 'status', status: 401 }));
    const err = await generatorFor(server).generate(request()).catch((e) => e);
    expect(err.code).toBe('http');
    expect(err.status).toBe(401);
    expect(server.requests).toHaveLength(1);
  });

  it('a hung response times out per attempt and ends in a typed timeout error naming the case', async () => {
    server = await startServer(() => ({ kind: 'hang' }));
    const gen = generatorFor(server, { timeoutMs: 200, maxRetries: 1 });
    const err = await gen.generate(request()).catch((e) => e);
    expect(TextGenerationError.isInstance(err)).toBe(true);
    expect(err.code).toBe('timeout');
    expect(err.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
    const batch = await generateReports([{ id: 'hung-case', images: [grey] }], gen);
    expect(batch.reports).toEqual({});
    expect(batch.failures).toHaveLength(1);
    expect(CaseGenerationError.isInstance(batch.failures[0])).toBe(true);
    expect(batch.failures[0]!.caseId).toBe('hung-case');
    expect(batch.failures[0]!.message).toContain('hung-case');
    expect((batch.failures[0]!.cause as TextGenerationError).code).toBe('timeout');
  });

  it('a body that stalls after the headers also times out (the timeout covers the whole answer)', async () => {
    server = await startServer((r) => (r.index === 0 ? { kind: 'hang-body' } : answer(VALID_REPORT)));
    const result = await generatorFor(server, { timeoutMs: 200 }).generate(request());
    expect(result.fields).toEqual(VALID_REPORT);
    expect(server.requests).toHaveLength(2);
  });

  it('caps a long Retry-After at maxRetryDelayMs', async () => {
    server = await startServer((r) => (r.index === 0 ? { kind: 'status', status: 503, headers: { 'retry-after': '1000' } } : answer(VALID_REPORT)));
    await generatorFor(server, { maxRetryDelayMs: 5_000 }).generate(request());
    expect(sleeps).toEqual([5000]);
  });

  it('an abort during the backoff wait (real sleep) ends the request at once', async () => {
    server = await startServer(() => ({ kind: 'status', status: 429, headers: { 'retry-after': '3600' } }));
    const controller = new AbortController();
    const gen = createOpenAICompatibleGenerator({ baseURL: server.baseURL, model: 'm', maxRetryDelayMs: 3_600_000 });
    const p = gen.generate(request({ signal: controller.signal }));
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const err = await p.catch((e) => e);
    expect(TextGenerationError.isInstance(err)).toBe(true);
    expect(err.code).toBe('aborted');
    expect(server.requests).toHaveLength(1);
  });

  it("the caller's signal aborts a hung request without retrying", async () => {
    server = await startServer(() => ({ kind: 'hang' }));
    const controller = new AbortController();
    const p = generatorFor(server, { timeoutMs: 60_000 }).generate(request({ signal: controller.signal }));
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const err = await p.catch((e) => e);
    expect(err.code).toBe('aborted');
    expect(server.requests).toHaveLength(1);
  });

  it('a body cut short (connection dropped) is a network error and is retried', async () => {
    server = await startServer((r) => (r.index === 0 ? { kind: 'truncate', content: JSON.stringify(VALID_REPORT) } : answer(VALID_REPORT)));
    const result = await generatorFor(server).generate(request());
    expect(result.fields).toEqual(VALID_REPORT);
    expect(server.requests).toHaveLength(2);
  });

  it('truncated JSON output triggers one repair round-trip that completes the report', async () => {
    const full = JSON.stringify(VALID_REPORT);
    server = await startServer((r) => (r.index === 0 ? { kind: 'answer', content: full.slice(0, 120), finishReason: 'length' } : answer(VALID_REPORT)));
    const result = await generatorFor(server).generate(request());
    expect(result.fields).toEqual(VALID_REPORT);
    expect(server.requests).toHaveLength(2);
    const msgs = server.requests[1]!.body.messages;
    expect(msgs).toHaveLength(4);
    expect(msgs[2]).toEqual({ role: 'assistant', content: full.slice(0, 120) });
    expect(msgs[3].role).toBe('user');
    expect(msgs[3].content).toMatch(/Missing fields: .*impression/);
    expect(result.usage.totalTokens).toBe(30);
  });

  it('schema-violating JSON is repaired in one round-trip (the invalid value is named)', async () => {
    server = await startServer((r) => (r.index === 0 ? answer({ ...VALID_REPORT, side: 'upward', massEffect: 'huge' }) : answer({ ...VALID_REPORT, side: 'right' })));
    const result = await generatorFor(server).generate(request());
    expect(result.fields).toEqual({ ...VALID_REPORT, side: 'right' });
    expect(server.requests[1]!.body.messages[3].content).toContain('Field "side" has value "upward"');
    expect(server.requests[1]!.body.messages[3].content).toContain('Field "massEffect" has value "huge"');
  });

  it('a failed repair ends in a ReportValidationError (and a CaseGenerationError naming the case in a batch)', async () => {
    server = await startServer(() => answer({ ...VALID_REPORT, side: 'upward' }));
    const gen = generatorFor(server);
    const err = await gen.generate(request()).catch((e) => e);
    expect(ReportValidationError.isInstance(err)).toBe(true);
    expect(err.invalid.map((f: { key: string }) => f.key)).toEqual(['side']);
    expect(err.missing).toEqual([]);
    expect(server.requests).toHaveLength(2);
    const batch = await generateReports(
      [
        { id: 'p1', images: [grey] },
        { id: 'p2', images: [rgbFloat] },
      ],
      gen,
    );
    expect(batch.failures.map((f) => f.caseId).sort()).toEqual(['p1', 'p2']);
    expect(batch.outcomes.map((o) => o.ok)).toEqual([false, false]);
    expect(ReportValidationError.isInstance(batch.failures[0]!.cause)).toBe(true);
  });

  it('repair disabled: invalid output fails at once', async () => {
    server = await startServer(() => answer({ side: 'left' }));
    const err = await generatorFor(server, { repair: false }).generate(request()).catch((e) => e);
    expect(ReportValidationError.isInstance(err)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('falls back to the prompt alone when the server rejects response_format with 400, and remembers it', async () => {
    server = await startServer((r) =>
      r.body.response_format ? { kind: 'status', status: 400, body: '{"error":"response_format not supported"}' } : answer('Here you go:\n```json\n' + JSON.stringify(VALID_REPORT) + '\n```'),
    );
    const logs: string[] = [];
    const gen = generatorFor(server, { logger: { warn: (m: string) => logs.push(m) } });
    expect((await gen.generate(request())).fields).toEqual(VALID_REPORT);
    expect((await gen.generate(request())).fields).toEqual(VALID_REPORT);
    expect(server.requests.map((r) => 'response_format' in r.body)).toEqual([true, false, false]);
    expect(sleeps).toEqual([]);
    expect(logs.some((l) => l.includes('response_format'))).toBe(true);
  });

  it("structuredOutput: 'none' never sends response_format", async () => {
    server = await startServer(() => answer(VALID_REPORT));
    await generatorFor(server, { structuredOutput: 'none' }).generate(request());
    expect(server.requests[0]!.body).not.toHaveProperty('response_format');
  });

  it('a 200 whose body is not JSON is an invalid-response error after retries', async () => {
    server = await startServer(() => ({ kind: 'raw', status: 200, body: '<html>proxy</html>' }));
    const err = await generatorFor(server, { maxRetries: 1 }).generate(request()).catch((e) => e);
    expect(err.code).toBe('invalid-response');
    expect(server.requests).toHaveLength(2);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    let active = 0;
    let maxActive = 0;
    server = await startServer(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 30));
      active--;
      return answer(VALID_REPORT);
    });
    const gen = generatorFor(server, { concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, () => gen.generate(request())));
    expect(server.requests).toHaveLength(6);
    expect(maxActive).toBe(2);
  });
});

describe('privacy', () => {
  it('refuses non-loopback hosts unless allowRemote is true', () => {
    for (const baseURL of ['https://api.openai.com/v1', 'http://10.0.0.5:8000/v1', 'http://localhost.evil.com/v1', 'http://128.0.0.1/v1', 'http://[::2]:8080/v1', 'http://0.0.0.0:8000/v1']) {
      const err = expectArgumentError(() => createOpenAICompatibleGenerator({ baseURL, model: 'm' }), RemoteEndpointError, 'baseURL', { label: baseURL });
      expect(InvalidArgumentError.isInstance(err)).toBe(true);
    }
    expect(() => createOpenAICompatibleGenerator({ baseURL: 'https://api.openai.com/v1', model: 'm', allowRemote: true })).not.toThrow();
    for (const baseURL of ['http://localhost:11434/v1', 'http://127.0.0.1:8000/v1', 'http://127.10.20.30/v1', 'http://[::1]:8080/v1', 'http://127.1:8080/v1']) {
      expect(() => createOpenAICompatibleGenerator({ baseURL, model: 'm' }), baseURL).not.toThrow();
    }
  });

  fcTest.prop([fc.ipV4()])('isLoopbackHost(ipv4) ⇔ the first octet is 127 (after URL normalisation)', (ip) => {
    const host = new URL(`http://${ip}/`).hostname;
    expect(isLoopbackHost(host)).toBe(host.startsWith('127.'));
  });

  it('never shows the API key, header secrets or image bytes in errors or logs', async () => {
    const apiKey = 'sk-live-SECRETSECRET-0123456789';
    const headerSecret = 'x-tenant-TOPSECRET-42';
    // The server echoes everything it received (headers and body, images included) in its error bodies.
    server = await startServer((r) => ({ kind: 'status', status: r.index === 0 ? 500 : 401, body: JSON.stringify({ error: { echo: r.headers, body: r.rawBody } }) }));
    const logs: string[] = [];
    const gen = generatorFor(server, { apiKey, headers: { 'x-tenant': headerSecret }, logger: { warn: (m: string) => logs.push(m), debug: (m: string) => logs.push(m) } });
    const image = { data: new Uint8Array(64 * 64).map((_, i) => (i * 37) % 251), width: 64, height: 64 };
    const err = await gen.generate(request({ images: [image] })).catch((e) => e);
    expect(err.code).toBe('http');
    const dataUrl = server.requests[0]!.body.messages[1].content[1].image_url.url as string;
    const base64 = dataUrl.slice('data:image/png;base64,'.length);
    expect(server.requests[0]!.rawBody).toContain(base64.slice(0, 40)); // the server did see the image
    const batch = await generateReports([{ id: 'secret-case', images: [image] }], gen);
    const texts = [
      err.message,
      String(err.stack),
      JSON.stringify(err),
      ...logs,
      batch.failures[0]!.message,
      String(batch.failures[0]!.stack),
      String((batch.failures[0]!.cause as Error).message),
    ];
    expect(logs.length).toBeGreaterThan(0);
    for (const t of texts) {
      expect(t).not.toContain(apiKey);
      expect(t).not.toContain('SECRETSECRET');
      expect(t).not.toContain(headerSecret);
      expect(t).not.toContain(base64.slice(0, 32));
      expect(t).not.toContain(base64.slice(100, 132));
    }
    // Network errors too (nothing listens on the port any more).
    const url = server.baseURL;
    await server.close();
    server = undefined;
    const dead = createOpenAICompatibleGenerator({ baseURL: url, model: 'm', apiKey, maxRetries: 0 });
    const netErr = await dead.generate(request({ images: [image] })).catch((e) => e);
    expect(netErr.code).toBe('network');
    expect(`${netErr.message}${netErr.stack}`).not.toContain(apiKey);
  });
});

describe('option validation', () => {
  const ok = { baseURL: 'http://127.0.0.1:1/v1', model: 'm' };
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ model: '' }, 'model'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ maxRetries: -1 }, 'maxRetries'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ baseURL: 'not a url' }, 'baseURL'],
    [{ baseURL: 'ftp://127.0.0.1/v1' }, 'baseURL'],
    [{ baseURL: 'http://user:pw@127.0.0.1/v1' }, 'baseURL'],
    [{ extraBody: { seed: 3 } }, 'extraBody.seed'],
    [{ structuredOutput: 'json' }, 'structuredOutput'],
    [{ fetch: 42 }, 'fetch'],
    [{ headers: { a: 1 } }, 'headers.a'],
  ];
  it.each(cases)('rejects %j naming %s', (bad, argument) => {
    expectArgumentError(() => createOpenAICompatibleGenerator({ ...ok, ...bad } as never), InvalidArgumentError, argument);
  });

  it('rejects bad requests with the argument named, before any HTTP call', async () => {
    let calls = 0;
    const gen = createOpenAICompatibleGenerator({ ...ok, fetch: (async () => { calls++; throw new Error('no'); }) as never });
    const bads: Array<[Partial<TextGenerateRequest>, string]> = [
      [{ temperature: -1 }, 'request.temperature'],
      [{ seed: 0.5 }, 'request.seed'],
      [{ prompt: '' }, 'request.prompt'],
      [{ schema: {} as never }, 'request.schema'],
      [{ images: [new Uint8Array([1, 2, 3])] }, 'request.images[0]'],
      [{ images: [{ data: new Uint8Array(5), width: 2, height: 2 }] }, 'request.images[0].data'],
      [{ images: [{ data: new Uint8Array(8), width: 2, height: 2, channels: 2 as never }] }, 'request.images[0].channels'],
      [{ maxTokens: 0 }, 'request.maxTokens'],
    ];
    for (const [over, argument] of bads) {
      await expectArgumentRejection(gen.generate(request(over)), InvalidArgumentError, argument);
    }
    expect(calls).toBe(0);
  });
});
