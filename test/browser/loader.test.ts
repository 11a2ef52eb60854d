// The browser demo's Node-testable parts, without a browser: the HTTP bundle loader (run in Node
// with its fetch against the demo server), the static server (content types, COOP/COEP, no
// escape from its folders), the regenerated demo cohort (leak-free predictions, attention map),
// and the typed errors. The snippet of docs/guides/browser.md "Load a bundle in your own app" is
// the code of the first test.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserDemo } from '../../examples/browser/build.js';
import { DemoCohort, demoCohortSettings } from '../../examples/browser/demo-cohort.js';
import { loadPipelineFromUrl } from '../../examples/browser/loader.js';
import { startDemoServer, type DemoServer } from '../../examples/browser/server.js';
import {
  createTriModalModel,
  InvalidArgumentError,
  SerializationError,
  strokeReportSchema,
  TabularPreprocessor,
  WordPieceTokenizer,
  type Pipeline,
} from '../../src/index.js';
import { loadPipeline, savePipeline } from '../../src/node.js';
import { expectArgumentError, expectArgumentRejection } from '../helpers/errors.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-browser-loader-'));
const SETTINGS = { seed: 3, patients: 60 };
let server: DemoServer;
let isolated: DemoServer;
let cohort: DemoCohort;

/** The raw bytes of a GET, without fetch's URL normalisation. */
function rawGet(url: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  // a small untrained demo-like bundle: preprocessor, tokenizer and metadata of a 60-patient cohort
  cohort = DemoCohort.fromSettings(SETTINGS);
  const reports: string[] = [];
  for (let i = 0; i < 30; i++) {
    const r = (await cohort.patient(i)).report;
    if (r !== null) reports.push(r);
  }
  const pre = new TabularPreprocessor({ columns: cohort.cohort.schema }).fit(cohort.cohort.rows);
  const tok = WordPieceTokenizer.train(reports, { vocabSize: 200, minFrequency: 1 }, { maxLength: 64 });
  const model = createTriModalModel({
    image: { inputShape: [...cohort.cohort.sampleShape], spatialDims: 2, widths: [8, 8], depths: [1, 1], strides: [2, 2], outputDim: 8 },
    text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
    clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
    fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1 },
    returnAttention: true,
    seed: 4,
  });
  await savePipeline({ model, preprocessor: pre, tokenizer: tok, reportSchema: strokeReportSchema, metadata: { demo: SETTINGS } }, join(root, 'model'));
  model.dispose();
  // a fake site: a page and a .wasm file
  mkdirSync(join(root, 'site'));
  writeFileSync(join(root, 'site', 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(root, 'site', 'x.wasm'), new Uint8Array([0, 97, 115, 109]));
  server = await startDemoServer({ root: join(root, 'site'), bundleDir: join(root, 'model') });
  isolated = await startDemoServer({ root: join(root, 'site'), bundleDir: join(root, 'model'), crossOriginIsolated: true });
});

afterAll(async () => {
  await server?.close();
  await isolated?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('loadPipelineFromUrl (examples/browser/loader.ts)', () => {
  it('loads a bundle over HTTP that predicts exactly what the bundle loaded from disk predicts', async () => {
    const bundleUrl = `${server.url}model/`;
    const cases = [await cohort.patient(0), await cohort.patient(1)];
    const rows = cases.map((c) => cohort.cohort.rows[c.index]!);
    const reports = cases.map((c) => c.report);
    const image = tf.tensor(cohort.cohort.images.slice(0, 2 * cohort.cohort.images.length / cohort.size), [2, ...cohort.cohort.sampleShape]);
    const pipeline = await loadPipelineFromUrl(bundleUrl);
    const { values, mask } = pipeline.preprocessor!.transform(rows);        // clinical table
    const { ids, mask: textMask } = pipeline.tokenizer!.encodeToTensors(reports); // report text or null
    const { probabilities, textToVisionAttention } = pipeline.model.predict(
      { image, textIds: ids, textMask, clinicalValues: values, clinicalMask: mask },
      { attention: true },
    );
    const fromDisk = await loadPipeline(join(root, 'model'));
    try {
      const got = Array.from(await probabilities.data());
      const want = (await cohort.predict(fromDisk, [0, 1])).map((p) => p.probability);
      expect(got).toEqual(want);
      expect(textToVisionAttention).toHaveLength(1);
      expect(textToVisionAttention![0]!.shape.slice(0, 3)).toEqual([2, 2, 64]);
      expect(pipeline.metadata).toEqual({ demo: SETTINGS });
      expect(pipeline.reportSchema).toBe(strokeReportSchema);
    } finally {
      tf.dispose([image, values, mask, ids, textMask, probabilities, ...(textToVisionAttention ?? [])]);
      pipeline.model.dispose();
      fromDisk.model.dispose();
    }
  });

  it('resolves the bundle URL with or without a trailing slash, with an injected fetch', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    const p = await loadPipelineFromUrl(`${server.url}model`, spy);
    p.model.dispose();
    expect(seen.sort()).toEqual([`${server.url}model/model.json`, `${server.url}model/pipeline.json`, `${server.url}model/weights.bin`]);
  });

  it('throws SerializationError for a missing bundle, a foreign file and truncated weights', async () => {
    const files: Record<string, string | Uint8Array> = {
      'pipeline.json': readFileSync(join(root, 'model', 'pipeline.json'), 'utf8'),
      'model.json': readFileSync(join(root, 'model', 'model.json'), 'utf8'),
      'weights.bin': new Uint8Array(readFileSync(join(root, 'model', 'weights.bin'))),
    };
    const stub =
      (over: Record<string, string | Uint8Array | null>): typeof fetch =>
      async (input) => {
        const name = String(input).split('/').pop()!;
        const body = name in over ? over[name] : files[name];
        return body == null ? new Response('no', { status: 404 }) : new Response(body);
      };
    const reject = async (over: Record<string, string | Uint8Array | null>, message: RegExp) => {
      const error = await loadPipelineFromUrl('http://host/b/', stub(over)).catch((e: unknown) => e);
      expect(SerializationError.isInstance(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    };
    await reject({ 'pipeline.json': null }, /Cannot fetch http:\/\/host\/b\/pipeline\.json: HTTP 404/);
    await reject({ 'model.json': '{"format":"graph-model"}' }, /not a tfjs LayersModel file/);
    await reject({ 'pipeline.json': '{"format":"other"}' }, /not a vdafm pipeline bundle/);
    await reject({ 'weights.bin': (files['weights.bin'] as Uint8Array).subarray(0, 100) }, /hold 100 bytes but model\.json declares \d+: they are truncated/);
    const offline: typeof fetch = async () => {
      throw new TypeError('network down');
    };
    await expect(loadPipelineFromUrl('http://host/b/', offline)).rejects.toThrow(/Cannot fetch http:\/\/host\/b\/.*: network down/);
  });
});

describe('startDemoServer (examples/browser/server.ts)', () => {
  it('serves .wasm as application/wasm, the bundle at /model/, and 404 for anything else', async () => {
    const wasm = await fetch(`${server.url}x.wasm`);
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(new Uint8Array([0, 97, 115, 109]));
    expect((await fetch(server.url)).headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await fetch(`${server.url}model/pipeline.json`)).headers.get('content-type')).toBe('application/json');
    expect((await fetch(`${server.url}nope.js`)).status).toBe(404);
    expect((await fetch(`${server.url}x.wasm`, { method: 'POST' })).status).toBe(405);
    // no escape from the page folder or the bundle folder
    for (const path of ['/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/model/%2e%2e/%2e%2e/etc/passwd', '/model/..%2fsite%2findex.html']) {
      expect((await rawGet(server.url, path)).status, path).toBe(404);
    }
  });

  it('sends COOP/COEP only when asked (cross-origin isolation for wasm threads)', async () => {
    const plain = await rawGet(server.url, '/x.wasm');
    expect(plain.headers['cross-origin-opener-policy']).toBeUndefined();
    const iso = await rawGet(isolated.url, '/x.wasm');
    expect(iso.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(iso.headers['cross-origin-embedder-policy']).toBe('require-corp');
  });

  it('rejects a missing page folder with the argument named', async () => {
    await expectArgumentRejection(startDemoServer({ root: join(root, 'missing') }), InvalidArgumentError, 'root');
  });
});

describe('DemoCohort (examples/browser/demo-cohort.ts)', () => {
  it('regenerates the same cohort and reports from the seed; patients without a report are the demo 5% draw', async () => {
    const again = DemoCohort.fromSettings(SETTINGS);
    expect(Buffer.from(again.cohort.images.buffer).equals(Buffer.from(cohort.cohort.images.buffer))).toBe(true);
    expect(again.missingReport).toEqual(cohort.missingReport);
    const a = await cohort.patient(5);
    const b = await again.patient(5);
    expect(b.report).toBe(a.report);
    expect(b.slice.data).toEqual(a.slice.data);
    // missing reports: Random(seed + 1).next() < 0.05, one draw per patient (as in src/demo/demo.ts)
    const missing = cohort.missingReport.map((m, i) => (m ? i : -1)).filter((i) => i >= 0);
    for (const i of missing) expect((await cohort.patient(i)).report).toBeNull();
    expect(missing.length).toBeLessThan(SETTINGS.patients * 0.2);
  });

  it('predicts without leaking tensors; the attention map is rescaled to [0, 1] on the token grid', async () => {
    const pipeline: Pipeline = await loadPipeline(join(root, 'model'));
    try {
      const withReport = cohort.missingReport.indexOf(false);
      const withoutReport = cohort.missingReport.indexOf(true);
      expect(withoutReport).toBeGreaterThanOrEqual(0);
      await cohort.predict(pipeline, [withReport, withoutReport]);
      const before = tf.memory().numTensors;
      const [p, q] = await cohort.predict(pipeline, [withReport, withoutReport]);
      expect(tf.memory().numTensors).toBe(before);
      expect(p!.gridSize).toBe(8); // 32×32 image, strides 2, 2 → 8×8 visual tokens
      expect(p!.attention!.length).toBe(64);
      expect(Math.min(...p!.attention!)).toBe(0);
      expect(Math.max(...p!.attention!)).toBe(1);
      expect(q!.attention).toBeNull();
      for (const r of [p!, q!]) {
        expect(r.probability).toBeGreaterThan(0);
        expect(r.probability).toBeLessThan(1);
      }
    } finally {
      pipeline.model.dispose();
    }
  });

  it('rejects bundles without demo metadata, bad indices and a bad build folder, with the argument named', async () => {
    expectArgumentError(() => demoCohortSettings({}), InvalidArgumentError, 'pipeline.metadata');
    expectArgumentError(() => demoCohortSettings({ metadata: { demo: { seed: 1.5, patients: 10 } } }), InvalidArgumentError, 'pipeline.metadata');
    expectArgumentError(() => DemoCohort.fromSettings({ seed: 1, patients: 0 }), InvalidArgumentError, 'pipeline.metadata');
    for (const index of [-1, 60, 1.5]) await expectArgumentRejection(cohort.patient(index), InvalidArgumentError, 'index', { label: String(index) });
    await expectArgumentRejection(buildBrowserDemo({ outDir: '' }), InvalidArgumentError, 'outDir');
  });
});
