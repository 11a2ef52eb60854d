// End-to-end test of the browser demo (examples/browser) in Debian's headless Chromium, driven by
// playwright-core: trains a small bundle with the demo, builds the page with esbuild, serves it,
// and checks on cpu, wasm and webgl that the page runs on the backend asked for, shows the
// demo's reports, and predicts what Node predicts for the same bundle and patients (1e-4).
// Screenshots: .ci-artifacts/browser/<backend>.png. Skipped (not failed) without /usr/bin/chromium.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBrowserDemo } from '../../examples/browser/build.js';
import { DemoCohort, type DemoPrediction } from '../../examples/browser/demo-cohort.js';
import type { PagePrediction } from '../../examples/browser/main.js';
import { startDemoServer, type DemoServer } from '../../examples/browser/server.js';
import { runDemo } from '../../src/demo/demo.js';
import type { Pipeline } from '../../src/index.js';
import { loadPipeline } from '../../src/node.js';

// CI installs Debian's chromium; VDAFM_CHROMIUM points elsewhere (e.g. another distribution's binary)
const CHROMIUM = process.env['VDAFM_CHROMIUM'] ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../.ci-artifacts/browser');
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

if (!HAVE_CHROMIUM) {
  console.warn(`browser demo test SKIPPED: ${CHROMIUM} is missing (install it with \`apt-get install -y chromium\`).`);
}

describe.skipIf(!HAVE_CHROMIUM)('browser demo (examples/browser) in headless Chromium', () => {
  let root = '';
  const timings: Record<string, number> = {};
  let server: DemoServer;
  let browser: Browser;
  let pipeline: Pipeline;
  let cohort: DemoCohort;
  let chosen: number[];
  let expected: DemoPrediction[];
  let demoReports: Map<string, string>;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vdafm-browser-'));
    let t0 = Date.now();
    // a small bundle from the demo itself (full tri-modal model, with attention)
    await tf.setBackend('wasm');
    try {
      await runDemo({
        patients: 100,
        epochs: 1,
        seed: 5,
        only: ['tri-modal VDAFM (full)'],
        out: join(root, 'demo'),
        log: () => undefined,
        progress: { write: () => undefined, isTTY: false },
      });
    } finally {
      await tf.setBackend('cpu');
    }
    timings['demo bundle (s)'] = (Date.now() - t0) / 1000;
    t0 = Date.now();
    const built = await buildBrowserDemo({ outDir: join(root, 'site') });
    expect(built.webgl).toBe(true);
    timings['esbuild page (s)'] = (Date.now() - t0) / 1000;
    timings['main.js (MB)'] = built.bundleBytes / 1e6;
    server = await startDemoServer({ root: join(root, 'site'), bundleDir: join(root, 'demo', 'model') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    // the Node reference: same bundle and patients, cpu backend
    pipeline = await loadPipeline(join(root, 'demo', 'model'));
    cohort = DemoCohort.fromPipeline(pipeline);
    const withReport = cohort.split.test.find((i) => !cohort.missingReport[i])!;
    const withoutReport = cohort.missingReport.findIndex((m) => m);
    expect(withoutReport).toBeGreaterThanOrEqual(0);
    chosen = [withReport, withoutReport];
    expected = await cohort.predict(pipeline, chosen);
    demoReports = new Map(
      readFileSync(join(root, 'demo', 'reports-cache.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { caseId: string; result: { text: string } })
        .map((e) => [e.caseId, e.result.text]),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    pipeline?.model.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
    if (HAVE_CHROMIUM) writeFileSync(join(ARTIFACTS, 'timings.json'), JSON.stringify(timings, null, 1));
  });

  it('regenerates exactly the reports the demo wrote (its report cache), and knows who has none', async () => {
    expect(demoReports.size).toBeGreaterThan(50);
    let checked = 0;
    for (let i = 0; i < cohort.size; i += 7) {
      const p = await cohort.patient(i);
      if (p.report === null) continue;
      expect(p.report, `patient ${i}`).toBe(demoReports.get(`patient-${i}`));
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
    expect(expected[0]!.report).toBe(demoReports.get(`patient-${chosen[0]}`));
    expect(expected[1]!.report).toBeNull();
    expect(expected[0]!.attention).not.toBeNull();
    expect(expected[0]!.attention!.length).toBe(expected[0]!.gridSize ** 2);
    expect(Math.max(...expected[0]!.attention!)).toBeCloseTo(1, 6);
    expect(Math.min(...expected[0]!.attention!)).toBeCloseTo(0, 6);
  });

  async function openPage(backend: string, url = server.url): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?backend=${backend}`);
    await page.waitForFunction(() => window.__vdafm !== undefined && window.__vdafm.state !== 'loading', undefined, { timeout: 60_000 });
    return { page, errors };
  }

  it.each(['cpu', 'wasm', 'webgl'])('%s: runs on that backend and predicts what Node predicts (1e-4)', async (backend) => {
    await checkBackend(backend, server.url, backend);
  });

  it('wasm with COOP/COEP headers: cross-origin isolated, threads, same predictions', async () => {
    const isolated = await startDemoServer({ root: join(root, 'site'), bundleDir: join(root, 'demo', 'model'), crossOriginIsolated: true });
    try {
      const { page } = await openPage('wasm&threads=2', isolated.url);
      try {
        const state = await page.evaluate(() => ({
          isolated: window.__vdafm.isolated,
          threads: window.__vdafm.wasmThreads,
          multi: window.__vdafm.wasmMultithread,
          info: window.__vdafm.backendInfo,
          backend: window.__vdafm.currentBackend(),
          cores: navigator.hardwareConcurrency,
          fast: window.__vdafm.fastKernels,
        }));
        // the threaded build's heap is a shared memory: vdafm's kernels copy operands instead
        expect(state.fast).toBe('copy');
        expect(state.backend).toBe('wasm');
        expect(state.isolated).toBe(true);
        // the threaded SIMD build is the one running (tfjs caps the thread count by the cores)
        expect(state.multi).toBe(true);
        expect(state.info).not.toContain('not cross-origin isolated');
        expect(state.threads).toBeGreaterThanOrEqual(1);
        timings['wasm isolated: threads (asked 2)'] = state.threads!;
        timings['wasm isolated: navigator.hardwareConcurrency'] = state.cores;
      } finally {
        await page.close();
      }
      await checkBackend('wasm&threads=2', isolated.url, 'wasm-isolated', 'wasm');
    } finally {
      await isolated.close();
    }
  });

  async function checkBackend(query: string, url: string, label: string, backend = query): Promise<void> {
    const t0 = Date.now();
    const { page, errors } = await openPage(query, url);
    try {
      const state = await page.evaluate(() => ({
        state: window.__vdafm.state,
        error: window.__vdafm.error,
        backend: window.__vdafm.currentBackend(),
        info: window.__vdafm.backendInfo,
        patients: window.__vdafm.patients,
        isolated: window.__vdafm.isolated,
        multi: window.__vdafm.wasmMultithread,
        fast: window.__vdafm.fastKernels,
      }));
      expect(state.error).toBeNull();
      // on wasm, vdafm's own kernels load asynchronously on the page (initFastKernels) and run
      if (backend === 'wasm') expect(['zero-copy', 'copy']).toContain(state.fast);
      expect(state.state).toBe('ready');
      expect(state.backend).toBe(backend);
      expect(state.info.startsWith(backend)).toBe(true);
      expect(state.patients).toBe(cohort.size);
      // without COOP/COEP the page is not isolated and wasm runs single-threaded
      if (label === 'wasm') expect([state.isolated, state.multi]).toEqual([false, false]);
      timings[`${label}: page ready (s)`] = (Date.now() - t0) / 1000;
      const got: PagePrediction[] = [];
      for (const index of chosen) {
        const before = await page.evaluate(() => window.__vdafm.results.length);
        await page.selectOption('#patient', String(index));
        await page.waitForFunction((n) => window.__vdafm.results.length > n || window.__vdafm.state === 'error', before, { timeout: 60_000 });
        const r = await page.evaluate(() => ({ last: window.__vdafm.results.at(-1)!, error: window.__vdafm.error }));
        expect(r.error).toBeNull();
        expect(r.last.index).toBe(index);
        // what the page shows
        const shown = await page.$eval('#probability', (el) => ({ value: Number((el as HTMLElement).dataset['value']), text: el.textContent, index: (el as HTMLElement).dataset['index'] }));
        expect(shown.index).toBe(String(index));
        expect(shown.value).toBe(r.last.probability);
        expect(shown.text).toBe(r.last.probability.toFixed(4));
        const report = await page.textContent('#report');
        expect(report).toBe(r.last.report ?? '(no report for this patient: the model sees an empty text mask)');
        got.push(r.last);
      }
      expect(await page.evaluate(() => window.__vdafm.currentBackend())).toBe(backend);
      got.forEach((g, k) => {
        const want = expected[k]!;
        timings[`${label}: |page − Node| patient ${g.index}`] = Math.abs(g.probability - want.probability);
        expect(g.report).toBe(want.report);
        expect(g.hasAttention).toBe(want.attention !== null);
        expect(Math.abs(g.probability - want.probability), `${backend}, patient ${g.index}: page ${g.probability} vs Node ${want.probability}`).toBeLessThan(1e-4);
      });
      // the overlay canvas was drawn (not blank): DWI on the left, red overlay on the right
      const reds = await page.$eval('#overlay', (c) => {
        const canvas = c as HTMLCanvasElement;
        const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let grey = 0;
        let red = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i]! > 20 && d[i] === d[i + 1] && d[i] === d[i + 2]) grey++;
          if (d[i]! > d[i + 1]! + 20) red++;
        }
        return { grey, red };
      });
      expect(reds.grey).toBeGreaterThan(1000);
      // show the patient with a report last, for the screenshot with its overlay
      const before = await page.evaluate(() => window.__vdafm.results.length);
      await page.selectOption('#patient', String(chosen[0]));
      await page.waitForFunction((n) => window.__vdafm.results.length > n, before, { timeout: 60_000 });
      const red = await page.$eval('#overlay', (c) => {
        const canvas = c as HTMLCanvasElement;
        const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i]! > d[i + 1]! + 20) n++;
        return n;
      });
      expect(red).toBeGreaterThan(100);
      await page.screenshot({ path: join(ARTIFACTS, `${label}.png`), fullPage: true });
      expect(errors).toEqual([]);
      timings[`${label}: total (s)`] = (Date.now() - t0) / 1000;
    } finally {
      await page.close();
    }
  }

  it('an unknown backend is an error on the page, not a silent fallback', async () => {
    const { page } = await openPage('webgpu-nope');
    try {
      const state = await page.evaluate(() => ({ state: window.__vdafm.state, error: window.__vdafm.error }));
      expect(state.state).toBe('error');
      expect(state.error).toContain('Unknown backend "webgpu-nope"');
      expect(await page.textContent('#status')).toContain('Unknown backend');
    } finally {
      await page.close();
    }
  });
});
