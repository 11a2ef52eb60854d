// A fault-injecting OpenAI-compatible chat-completions server for the tests: a real HTTP server
// (node:http, port 0) that listens on 127.0.0.1 only and answers each request with a scripted
// behaviour: a normal answer, an error status with headers (429 + Retry-After, 5xx), a hang, a
// connection reset, a body cut short, malformed JSON, a redirect, an oversized streamed body, or
// an error body echoing the request (prompt and images included). `faultScript` draws faults at
// given rates from a seeded generator, so a fault run is reproducible.
//
// Bounded: request bodies over `maxRequestBytes` get 413, requests past `maxRequests` get 503,
// a hang ends (socket destroyed) after `hangMs`, an oversized body stops when the client goes
// away, and close() destroys every open connection.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly index: number;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: any;
  readonly rawBody: string;
}

export type Behaviour =
  | { kind: 'answer'; content: string | null; usage?: Record<string, number>; finishReason?: string }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Headers never sent; the socket is destroyed after `hangMs` (the client's timeout should fire first). */
  | { kind: 'hang' }
  /** Headers and a first chunk, then nothing. */
  | { kind: 'hang-body' }
  /** Half of a valid answer, then the connection is destroyed (content-length promised more). */
  | { kind: 'truncate'; content: string }
  | { kind: 'raw'; status: number; body: string; headers?: Record<string, string> }
  /** The connection is destroyed before any byte of an answer. */
  | { kind: 'reset' }
  /** A complete HTTP 200 whose body is JSON cut in the middle (content-length matches). */
  | { kind: 'malformed'; content?: string }
  /** A redirect (301/302/303/307/308) to `location`. */
  | { kind: 'redirect'; status: number; location: string }
  /**
   * A body (status 200 unless `status`) of `bytes` bytes streamed in chunks (a chat-completions answer whose content is
   * padded with spaces); stops early when the client goes away. `declareLength` sends a
   * content-length header.
   */
  | { kind: 'oversized'; bytes: number; chunkBytes?: number; declareLength?: boolean; status?: number }
  /**
   * An error status whose JSON body echoes the request (what some servers do): the whole body,
   * or (`'conversation'`) the text of its messages after the system message, newest first.
   */
  | { kind: 'echo'; status: number; what?: 'body' | 'conversation' }
  /** Waits `ms`, then behaves as `then`. */
  | { kind: 'delay'; ms: number; then: Behaviour };

export type Script = (request: SeenRequest) => Behaviour | Promise<Behaviour>;

export interface ServerOptions {
  /** Requests past this many get 503. @defaultValue 10000 */
  readonly maxRequests?: number;
  /** Request bodies larger than this get 413. @defaultValue 64 MiB */
  readonly maxRequestBytes?: number;
  /** A 'hang' destroys its socket after this long. @defaultValue 10000 */
  readonly hangMs?: number;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseURL: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: SeenRequest[];
  /** Body bytes written by 'oversized' answers so far. */
  readonly oversizedBytesSent: number;
  close(): Promise<void>;
}

export function chatCompletion(content: string | null, usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }, finishReason = 'stop'): string {
  return JSON.stringify({
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 0,
    model: 'test-model',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
    usage,
  });
}

/** mulberry32: a small seeded PRNG (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultRates {
  /** 429 with Retry-After: `retryAfter`. */
  readonly rateLimit?: number;
  /** 500, 502 or 503. */
  readonly serverError?: number;
  readonly hang?: number;
  readonly reset?: number;
  readonly truncate?: number;
  readonly malformed?: number;
}

/**
 * A script that answers with `answer(request)` or, at the given rates (summing to < 1), a fault
 * drawn from a PRNG seeded with `seed` (faults are drawn in arrival order).
 */
export function faultScript(options: { seed: number; rates: FaultRates; retryAfter?: string; answer: (r: SeenRequest) => Behaviour }): Script & { readonly faults: Record<string, number> } {
  const random = seededRandom(options.seed);
  const faults: Record<string, number> = {};
  const table = Object.entries(options.rates) as Array<[keyof FaultRates, number]>;
  const script = (r: SeenRequest): Behaviour => {
    let u = random();
    const codes = [500, 502, 503];
    for (const [kind, rate] of table) {
      if (u >= rate) {
        u -= rate;
        continue;
      }
      faults[kind] = (faults[kind] ?? 0) + 1;
      switch (kind) {
        case 'rateLimit':
          return { kind: 'status', status: 429, headers: { 'retry-after': options.retryAfter ?? '1' } };
        case 'serverError':
          return { kind: 'status', status: codes[Math.floor(random() * codes.length)]! };
        case 'hang':
          return { kind: 'hang' };
        case 'reset':
          return { kind: 'reset' };
        case 'truncate':
          return { kind: 'truncate', content: JSON.stringify(VALID_REPORT) };
        case 'malformed':
          return { kind: 'malformed' };
      }
    }
    return options.answer(r);
  };
  return Object.assign(script, { faults });
}

export async function startServer(script: Script, options: ServerOptions = {}): Promise<TestServer> {
  const maxRequests = options.maxRequests ?? 10_000;
  const maxRequestBytes = options.maxRequestBytes ?? 64 * 1024 * 1024;
  const hangMs = options.hangMs ?? 10_000;
  const requests: SeenRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let oversizedBytesSent = 0;
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const respond = async (b: Behaviour, seen: SeenRequest, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    switch (b.kind) {
      case 'answer': {
        const text = chatCompletion(b.content, (b.usage as any) ?? undefined, b.finishReason ?? 'stop');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(text);
        break;
      }
      case 'status':
        res.writeHead(b.status, { 'content-type': 'application/json', ...(b.headers ?? {}) });
        res.end(b.body ?? JSON.stringify({ error: { message: `status ${b.status}` } }));
        break;
      case 'raw':
        res.writeHead(b.status, { 'content-type': 'application/json', ...(b.headers ?? {}) });
        res.end(b.body);
        break;
      case 'truncate': {
        const text = chatCompletion(b.content);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        later(10, () => res.destroy());
        break;
      }
      case 'hang':
        later(hangMs, () => res.destroy()); // never answer; the client's timeout must fire
        break;
      case 'hang-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"choices": ['); // headers and a first chunk, then nothing
        later(hangMs, () => res.destroy());
        break;
      case 'reset':
        req.socket.destroy();
        break;
      case 'malformed': {
        const text = chatCompletion(b.content ?? JSON.stringify(VALID_REPORT));
        const body = text.slice(0, Math.floor(text.length * 0.6));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
        break;
      }
      case 'redirect':
        res.writeHead(b.status, { location: b.location, 'content-type': 'text/plain' });
        res.end(`moved to ${b.location}`);
        break;
      case 'oversized': {
        const chunk = b.chunkBytes ?? 64 * 1024;
        const head = '{"choices":[{"index":0,"message":{"role":"assistant","content":"';
        const tail = '"},"finish_reason":"stop"}]}';
        res.writeHead(b.status ?? 200, { 'content-type': 'application/json', ...(b.declareLength ? { 'content-length': String(b.bytes) } : {}) });
        let closed = false;
        res.on('close', () => (closed = true));
        let sent = 0;
        const drained = (): Promise<void> =>
          new Promise<void>((resolve) => {
            const done = (): void => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        const write = (s: string): Promise<void> => {
          sent += Buffer.byteLength(s);
          oversizedBytesSent += Buffer.byteLength(s);
          return res.write(s) ? Promise.resolve() : drained();
        };
        await write(head);
        const pad = ' '.repeat(chunk);
        while (!closed && sent + tail.length < b.bytes) {
          await write(pad.slice(0, Math.min(chunk, b.bytes - tail.length - sent)));
        }
        if (!closed) res.end(tail);
        break;
      }
      case 'echo':
        res.writeHead(b.status, { 'content-type': 'application/json' });
        if (b.what === 'conversation') {
          const texts = ((seen.body?.messages ?? []) as Array<{ content: unknown }>)
            .slice(1)
            .reverse()
            .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));
          res.end(JSON.stringify({ error: { message: `cannot process: ${texts.join(' / ')}` } }));
        } else {
          res.end(JSON.stringify({ error: { message: 'bad request', received: seen.rawBody } }));
        }
        break;
      case 'delay':
        await new Promise<void>((resolve) => later(b.ms, resolve));
        if (!res.destroyed) await respond(b.then, seen, req, res);
        break;
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxRequestBytes) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', async () => {
      if (tooLarge) {
        res.writeHead(413).end();
        return;
      }
      if (requests.length >= maxRequests) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"test server request limit"}');
        return;
      }
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const seen: SeenRequest = { index: requests.length, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, rawBody };
      requests.push(seen);
      await respond(await script(seen), seen, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    get oversizedBytesSent() {
      return oversizedBytesSent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A complete, valid stroke report as the JSON a model would write. */
export const VALID_REPORT = {
  sequences: 'DWI, ADC',
  acuteLesion: 'present',
  side: 'left',
  territory: 'MCA',
  location: 'basal ganglia, corona radiata',
  size: 'large',
  signal: 'DWI hyperintense, ADC hypointense',
  massEffect: 'mild',
  oldLesions: 'none',
  impression: 'acute left MCA territory infarct.',
};
