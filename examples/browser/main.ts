/**
 * The browser demo page: loads a pipeline bundle written by `vdafm demo`, regenerates the demo's
 * synthetic patients, and predicts on the backend named in the query string
 * (`?backend=cpu|webgl|wasm`, `&bundle=URL` of the bundle folder, default `./model/`,
 * `&threads=N` threads of the wasm backend when the page is cross-origin isolated).
 * Shows the probability, the report, the ground truth and the text→vision attention of the last
 * VDAFM layer over the DWI slice. Exposes its state as `window.__vdafm` for tests.
 * Built by examples/browser/build.ts.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { fastKernelsMode, initFastKernels, type Pipeline } from '../../src/index.js';
import { DemoCohort, type DemoPrediction } from './demo-cohort.js';
import { loadPipelineFromUrl } from './loader.js';

/** Backends the page offers. */
export const PAGE_BACKENDS = ['cpu', 'webgl', 'wasm'] as const;
/** One of {@link PAGE_BACKENDS}. */
export type PageBackend = (typeof PAGE_BACKENDS)[number];

/** A prediction as the page keeps it (plain data, for `window.__vdafm`). */
export interface PagePrediction {
  index: number;
  probability: number;
  report: string | null;
  poor: 0 | 1;
  mrs: number;
  truePoorProbability: number;
  part: string;
  hasAttention: boolean;
  milliseconds: number;
}

/** What the page exposes as `window.__vdafm`. */
export interface PageState {
  state: 'loading' | 'ready' | 'error';
  requestedBackend: string;
  /** `tf.getBackend()` once ready. */
  backend: string | null;
  /** `tf.getBackend()` now. */
  currentBackend: () => string;
  /** Human-readable backend details (wasm SIMD and threads). */
  backendInfo: string;
  /** Threads of the wasm backend (`null` on other backends). */
  wasmThreads: number | null;
  /** Whether the wasm backend runs its multi-threaded build (needs cross-origin isolation). */
  wasmMultithread: boolean | null;
  /** vdafm's own wasm kernels (GEMM, fused GELU / layer norm): 'zero-copy', 'copy' or 'off'. */
  fastKernels: string | null;
  /** `crossOriginIsolated` of the page (COOP/COEP headers sent: wasm may use threads). */
  isolated: boolean;
  error: string | null;
  patients: number;
  /** Every prediction made on this page, in order. */
  results: PagePrediction[];
  /** Predicts some patients and shows the last one. */
  predict: (indices: number[]) => Promise<PagePrediction[]>;
}

declare global {
  interface Window {
    __vdafm: PageState;
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The page has no #${id}.`);
  return el as T;
};

const params = new URLSearchParams(location.search);
const requested = params.get('backend') ?? 'wasm';
const bundleUrl = params.get('bundle') ?? './model/';
const threads = params.get('threads');

const page: PageState = {
  state: 'loading',
  requestedBackend: requested,
  backend: null,
  currentBackend: () => tf.getBackend(),
  backendInfo: '',
  wasmThreads: null,
  wasmMultithread: null,
  fastKernels: null,
  isolated: globalThis.crossOriginIsolated === true,
  error: null,
  patients: 0,
  results: [],
  predict: async () => {
    throw new Error('The page is not ready.');
  },
};
window.__vdafm = page;

function status(text: string, kind: 'info' | 'error' = 'info'): void {
  const el = $('status');
  el.textContent = text;
  el.className = kind;
}

async function activateBackend(name: string): Promise<string> {
  if (!(PAGE_BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`Unknown backend "${name}": use ?backend=cpu, webgl or wasm.`);
  }
  if (name === 'webgl') {
    try {
      await import('./webgl.js');
    } catch (error) {
      throw new Error(`The webgl backend is not in this build (${(error as Error).message}). Install @tensorflow/tfjs-backend-webgl and rebuild the page.`);
    }
  }
  if (name === 'wasm') {
    setWasmPaths(new URL('./', location.href).href);
    // without ?threads tfjs picks the count from the cores; threads need cross-origin isolation
    if (threads !== null) {
      const n = Number(threads);
      if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer (received "${threads}").`);
      setThreadsCount(n);
    }
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  // tfjs falls back to another backend silently when one fails to start: check what runs
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`The ${name} backend could not start in this browser (tfjs is on "${tf.getBackend()}").`);
  }
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    page.wasmThreads = getThreadsCount();
    page.wasmMultithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') as boolean;
    // a browser main thread compiles vdafm's kernel module only asynchronously: load it once here
    await initFastKernels();
    page.fastKernels = fastKernelsMode();
    return `wasm (SIMD ${simd ? 'on' : 'off'}, ${getThreadsCount()} thread${getThreadsCount() === 1 ? '' : 's'}${crossOriginIsolated ? '' : '; not cross-origin isolated, so no threads'}; vdafm kernels ${page.fastKernels})`;
  }
  if (name === 'webgl') return `webgl (WebGL ${tf.env().getNumber('WEBGL_VERSION')})`;
  return 'cpu (plain JavaScript)';
}

function drawOverlay(p: DemoPrediction): void {
  const canvas = $<HTMLCanvasElement>('overlay');
  const { width, height, data } = p.slice;
  const scale = 8;
  canvas.width = width * 2 * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(width * 2, height);
  const grid = p.gridSize;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = data[y * width + x]!;
      const cell = Math.min(grid - 1, Math.floor((y * grid) / height)) * grid + Math.min(grid - 1, Math.floor((x * grid) / width));
      const a = p.attention ? 0.6 * p.attention[cell]! : 0;
      const left = (y * width * 2 + x) * 4;
      img.data.set([g, g, g, 255], left);
      const right = (y * width * 2 + width + x) * 4;
      img.data.set([Math.round(g * (1 - a) + 255 * a), Math.round(g * (1 - a)), Math.round(g * (1 - a)), 255], right);
    }
  }
  // draw at 1×, then scale up without smoothing
  const small = document.createElement('canvas');
  small.width = width * 2;
  small.height = height;
  small.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  $('overlay-caption').textContent = p.attention
    ? 'Left: DWI slice. Right: where the report tokens naming the territory and side attend (text→vision attention, last VDAFM layer, mean over heads).'
    : 'Left: DWI slice. No attention overlay: this patient has no report (or the model does not return attention).';
}

function show(p: DemoPrediction, ms: number): void {
  const prob = $('probability');
  prob.textContent = p.probability.toFixed(4);
  prob.dataset['value'] = String(p.probability);
  prob.dataset['index'] = String(p.index);
  $('truth').textContent = `patient ${p.index} (${p.part} split): true risk ${p.truePoorProbability.toFixed(3)}, drawn outcome mRS ${p.mrs} (${p.poor ? 'poor' : 'good'})`;
  $('report').textContent = p.report ?? '(no report for this patient: the model sees an empty text mask)';
  $('timing').textContent = `${ms.toFixed(0)} ms on ${tf.getBackend()}`;
  drawOverlay(p);
  const row = document.createElement('tr');
  for (const cell of [String(p.index), p.part, p.probability.toFixed(4), p.truePoorProbability.toFixed(3), p.poor ? 'poor' : 'good']) {
    const td = document.createElement('td');
    td.textContent = cell;
    row.appendChild(td);
  }
  $('history').appendChild(row);
}

async function start(): Promise<void> {
  const backendSelect = $<HTMLSelectElement>('backend');
  backendSelect.value = requested;
  backendSelect.addEventListener('change', () => {
    params.set('backend', backendSelect.value);
    location.search = params.toString();
  });
  status(`starting the ${requested} backend…`);
  page.backendInfo = await activateBackend(requested);
  page.backend = tf.getBackend();
  $('backend-info').textContent = `backend in use: ${page.backendInfo}`;
  status(`loading the bundle from ${bundleUrl}…`);
  const pipeline: Pipeline = await loadPipelineFromUrl(bundleUrl);
  status('regenerating the synthetic cohort…');
  const cohort = DemoCohort.fromPipeline(pipeline);
  page.patients = cohort.size;
  const select = $<HTMLSelectElement>('patient');
  for (let i = 0; i < cohort.size; i++) {
    const option = document.createElement('option');
    option.value = String(i);
    option.textContent = `patient ${i} · ${cohort.split.test.includes(i) ? 'test' : cohort.split.val.includes(i) ? 'val' : 'train'}${cohort.missingReport[i] ? ' · no report' : ''}`;
    select.appendChild(option);
  }
  const firstTest = cohort.split.test[0] ?? 0;
  select.value = String(firstTest);

  let queue: Promise<unknown> = Promise.resolve();
  page.predict = (indices: number[]) => {
    // one prediction at a time: the backend is shared
    const run = queue.then(async () => {
      const t0 = performance.now();
      const predictions = await cohort.predict(pipeline, indices);
      const ms = performance.now() - t0;
      const plain = predictions.map((p) => ({
        index: p.index,
        probability: p.probability,
        report: p.report,
        poor: p.poor,
        mrs: p.mrs,
        truePoorProbability: p.truePoorProbability,
        part: p.part,
        hasAttention: p.attention !== null,
        milliseconds: ms / predictions.length,
      }));
      predictions.forEach((p) => show(p, ms / predictions.length));
      page.results.push(...plain);
      return plain;
    });
    queue = run.catch(() => undefined);
    return run;
  };
  const onPredict = () => {
    status('predicting…');
    page.predict([Number(select.value)]).then(
      () => status(`ready: ${cohort.size} synthetic patients (seed ${cohort.settings.seed}), ${pipeline.model.modalities.join(' + ')} model`),
      (error: unknown) => fail(error),
    );
  };
  $<HTMLButtonElement>('predict').addEventListener('click', onPredict);
  select.addEventListener('change', onPredict);
  $<HTMLButtonElement>('predict').disabled = false;
  page.state = 'ready';
  status(`ready: ${cohort.size} synthetic patients (seed ${cohort.settings.seed}), ${pipeline.model.modalities.join(' + ')} model`);
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  page.state = 'error';
  page.error = message;
  status(message, 'error');
  console.error(error);
}

start().catch(fail);
