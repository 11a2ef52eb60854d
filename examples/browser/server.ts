/**
 * A small static server for the browser demo (Node only): serves the built page and mounts a
 * pipeline bundle folder at `/model/`. `.wasm` goes out as `application/wasm` (needed for
 * streaming compilation); with `crossOriginIsolated`, COOP/COEP headers let the wasm backend use
 * threads.
 *
 * ```sh
 * node --import tsx src/cli.ts demo --quick --out vdafm-demo        # trains, writes vdafm-demo/model
 * node --import tsx examples/browser/server.ts --bundle vdafm-demo/model [--port 8080] [--isolated]
 * ```
 *
 * @packageDocumentation
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../../src/errors.js';
import { buildBrowserDemo } from './build.js';

/** Content types by extension. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Options of {@link startDemoServer}. */
export interface DemoServerOptions {
  /** Folder with the built page (see `buildBrowserDemo`). */
  root: string;
  /** Bundle folder served at `/model/`. @defaultValue `<root>/model` */
  bundleDir?: string;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @defaultValue 0 */
  port?: number;
  /** Send COOP/COEP headers (cross-origin isolation: wasm threads). @defaultValue false */
  crossOriginIsolated?: boolean;
}

/** A running server. */
export interface DemoServer {
  /** Base URL, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  close(): Promise<void>;
}

function inside(root: string, rel: string): string | null {
  const file = path.resolve(root, `.${path.posix.normalize(`/${rel}`)}`);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/**
 * Starts the server. Only GET/HEAD of files under `root` (and the bundle at `/model/`).
 *
 * @throws {@link InvalidArgumentError} (argument `root`) for a missing folder.
 * @example
 * ```ts
 * const server = await startDemoServer({ root: './vdafm-browser', bundleDir: './vdafm-demo/model' });
 * console.log(`${server.url}?backend=wasm`);
 * await server.close();
 * ```
 */
export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const root = path.resolve(options.root ?? '');
  if (!(await fs.stat(root).catch(() => null))?.isDirectory()) {
    throw new InvalidArgumentError({ argument: 'root', message: 'root must be the folder of the built page.', received: options.root, fix: 'Build it first with buildBrowserDemo({ outDir }).' });
  }
  const bundleDir = path.resolve(options.bundleDir ?? path.join(root, 'model'));
  const isolate = options.crossOriginIsolated ?? false;
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    let pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (pathname.endsWith('/')) pathname += 'index.html';
    const file = pathname.startsWith('/model/') ? inside(bundleDir, pathname.slice('/model/'.length)) : inside(root, pathname.slice(1));
    const stat = file ? await fs.stat(file).catch(() => null) : null;
    if (!file || !stat?.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${pathname}`);
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': String(stat.size),
      'Cache-Control': 'no-store',
    };
    if (isolate) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  };
  const server = createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const bundleDir = arg('--bundle') ?? 'vdafm-demo/model';
  const outDir = arg('--out') ?? path.join(tmpdir(), 'vdafm-browser');
  const port = Number(arg('--port') ?? 8080);
  const run = async () => {
    await fs.access(path.join(bundleDir, 'pipeline.json')).catch(() => {
      throw new Error(`No bundle in ${bundleDir}: run \`npm run demo:quick\` first (it writes vdafm-demo/model), or pass --bundle DIR.`);
    });
    await buildBrowserDemo({ outDir });
    const server = await startDemoServer({ root: outDir, bundleDir, port, crossOriginIsolated: process.argv.includes('--isolated') });
    console.log(`serving ${bundleDir} at ${server.url}  (open ${server.url}?backend=wasm, webgl or cpu; Ctrl-C stops)`);
  };
  run().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
