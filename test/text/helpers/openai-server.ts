// A real HTTP server on 127.0.0.1 (node:http, port 0) speaking the OpenAI chat-completions
// protocol, with scripted behaviours per request: answer, error status with headers, hang,
// cut the body short. Used by the generator, batch, kill-and-resume and guide tests.
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
  | { kind: 'hang' }
  | { kind: 'hang-body' }
  | { kind: 'truncate'; content: string }
  | { kind: 'raw'; status: number; body: string };

export type Script = (request: SeenRequest) => Behaviour | Promise<Behaviour>;

export interface TestServer {
  readonly baseURL: string;
  readonly requests: SeenRequest[];
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

export async function startServer(script: Script): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const seen: SeenRequest = { index: requests.length, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, rawBody };
      requests.push(seen);
      const b = await script(seen);
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
          res.writeHead(b.status, { 'content-type': 'application/json' });
          res.end(b.body);
          break;
        case 'truncate': {
          const text = chatCompletion(b.content);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
          res.write(text.slice(0, Math.floor(text.length / 2)));
          setTimeout(() => res.destroy(), 10);
          break;
        }
        case 'hang':
          break; // never answer; the client's timeout must fire
        case 'hang-body':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"choices": ['); // headers and a first chunk, then nothing
          break;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
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
