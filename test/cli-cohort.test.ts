// `vdafm demo --cohort` and `vdafm study --cohort` end to end on a small on-disk cohort: the
// synthetic cohort written out as NIfTI + manifest (with deliberately broken rows), run through
// the CLI in process. Checks that the run stops before training with the full problem list,
// that --skip-invalid writes the exclusions and the outputs, that reports are generated through
// a loopback OpenAI-compatible server (cached, a failure listed), and that the results match
// the in-memory path on the same patients (the exact-round-trip image options give the same
// tensors, so the same seeds give the same predictions to float tolerance). On the wasm backend,
// as the demo's and the study's own tests.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { runCohortDemo } from '../src/demo/cohort-demo.js';
import { loadedCohortData, syntheticCohortData } from '../src/demo/cohort-data.js';
import { generateSyntheticCohort, type SyntheticCohort } from '../src/index.js';
import { loadCohort, parseCsv, writeSyntheticCohort, type WrittenCohort } from '../src/node.js';
import { decodeFloat32 } from '../src/study/cells.js';
import { parseCohortCell } from '../src/study/cohort/cells.js';
import { runCohortStudy } from '../src/study/cohort/study.js';
import { readCellFiles } from '../src/study/cells.js';
import { cohortReportTexts } from '../src/study/reports.js';
import { maxDiff, tempFolders } from './helpers/cohort.js';
import { startServer, VALID_REPORT } from './text/helpers/openai-server.js';

const { next: folder } = tempFolders('cli-cohort');
const quiet = { write: () => undefined, isTTY: false };
const SEED = 5;
const BROKEN = ['truncated-gzip', 'missing-file', 'unknown-category', 'label-outside-schema', 'duplicate-id'] as const;

let cohort: SyntheticCohort;
let texts: Array<string | null>;
let written: WrittenCohort;
let imageOptionsFile: string;
const timings: Record<string, number> = {};

/** Runs the CLI in process; returns the exit code and what it wrote to stderr. */
async function cli(args: string[]): Promise<{ code: number; stderr: string; seconds: number }> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const t0 = performance.now();
  try {
    const code = await main(args);
    return { code, stderr: chunks.join(''), seconds: (performance.now() - t0) / 1000 };
  } finally {
    spy.mockRestore();
    log.mockRestore();
  }
}

const csv = (file: string) => {
  const [header, ...rows] = parseCsv(readFileSync(file, 'utf8')).records;
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
};

beforeAll(async () => {
  await tf.setBackend('wasm');
  cohort = generateSyntheticCohort({ patients: 72, seed: SEED, layout: '2d' });
  texts = await cohortReportTexts(cohort, SEED);
  written = await writeSyntheticCohort(cohort, folder(), { reports: texts, broken: [...BROKEN] });
  imageOptionsFile = join(written.dir, 'image-options.json');
  writeFileSync(imageOptionsFile, JSON.stringify(written.imageOptions));
});
afterAll(async () => {
  await tf.setBackend('cpu');
  console.log(`cli-cohort timings (s): ${JSON.stringify(timings)}`);
});

describe('the on-disk cohort gives the in-memory tensors', () => {
  it('images to float rounding, identical rows, labels, reports and ids', async () => {
    const loaded = await loadCohort({ manifest: written.manifest, image: written.imageOptions, skipInvalid: true });
    const disk = await loadedCohortData(loaded, loaded.patients.map((p) => p.report));
    const memory = syntheticCohortData(cohort, texts);
    expect(disk.ids).toEqual(memory.ids);
    expect(disk.imageShape).toEqual(memory.imageShape);
    expect(maxDiff(disk.images, memory.images)).toBeLessThan(1e-4);
    expect(disk.rows).toEqual(memory.rows);
    expect(Array.from(disk.labels)).toEqual(Array.from(memory.labels));
    expect(disk.texts).toEqual(memory.texts);
    expect(disk.columns).toEqual(memory.columns.map((c) => ({ name: c.name, type: c.type, ...(c.categories ? { categories: [...c.categories] } : {}) })));
  });
});

describe('vdafm demo --cohort', () => {
  const only = 'clinical only,tri-modal VDAFM (full)';

  it('stops before training with every problem of every broken row', async () => {
    const out = folder();
    const r = await cli(['demo', '--cohort', written.manifest, '--image-options', imageOptionsFile, '--epochs', '1', '--only', only, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CohortValidationError');
    expect(r.stderr).toContain('nothing was trained');
    for (const b of written.broken) expect(r.stderr, b.kind).toMatch(new RegExp(`row ${b.row} \\(id ${b.id}\\).*${b.expected}`));
    expect(r.stderr).toContain('--skip-invalid');
    expect(existsSync(join(out, 'metrics.json'))).toBe(false);
  });

  it('with --skip-invalid: writes the exclusions and the outputs, says there is no Bayes line, and matches the in-memory path', async () => {
    const out = folder();
    const r = await cli(['demo', '--cohort', written.manifest, '--skip-invalid', '--image-options', imageOptionsFile, '--cache', join(written.dir, '.cache'), '--seed', String(SEED), '--epochs', '1', '--only', only, '--out', out]);
    timings['demo --cohort'] = r.seconds;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    for (const f of ['metrics.json', 'report.md', 'predictions.csv', 'excluded.csv', 'roc.svg', 'calibration.svg', 'training-curves.svg', 'attention-overlays.png', 'model']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const excluded = csv(join(out, 'excluded.csv'));
    for (const b of written.broken) expect(excluded.some((e) => e['row'] === String(b.row) && e['kind'] === b.expected), `${b.kind}`).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.bayes).toBeNull();
    expect(metrics.protocol).toMatchObject({ kind: 'single split', split: 'stratified' });
    expect(metrics.cohort).toMatchObject({ patients: 72, excluded: BROKEN.length + 1, reports: { manifest: texts.filter((t) => t !== null).length, generated: 0 } });
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('No Bayes-optimal line');
    expect(report).toContain('seeded, outcome-stratified 60 / 20 / 20 split');
    expect(report).not.toContain('| Bayes-optimal');

    // the in-memory path on the same patients, reports, seeds and settings
    const memoryOut = folder();
    const t0 = performance.now();
    const memory = await runCohortDemo({ data: syntheticCohortData(cohort, texts), seed: SEED, epochs: 1, only: only.split(','), out: memoryOut, log: () => undefined, progress: quiet });
    timings['demo in memory'] = (performance.now() - t0) / 1000;
    const disk = csv(join(out, 'predictions.csv'));
    const mem = csv(join(memoryOut, 'predictions.csv'));
    expect(disk.map((d) => d['id'])).toEqual(mem.map((m) => m['id']));
    for (const name of only.split(',')) {
      expect(maxDiff(disk.map((d) => Number(d[name])), mem.map((m) => Number(m[name]))), name).toBeLessThan(1e-5);
    }
    metrics.rows.forEach((row: { name: string; auc: number }, i: number) => expect(Math.abs(row.auc - memory.rows[i]!.auc), row.name).toBeLessThan(1e-9));
  });

  it('generates the missing reports through an OpenAI-compatible server: cached, a failure listed, resumed from the cache', async () => {
    const missing = texts.filter((t) => t === null).length;
    expect(missing).toBeGreaterThan(1);
    // the first request (and its repair round) answer garbage: that patient's report fails
    const server = await startServer((req) => ({ kind: 'answer', content: req.index === 0 || req.body.messages.length > 2 ? 'no idea' : JSON.stringify(VALID_REPORT) }));
    const out = folder();
    const reportCache = join(folder(), 'shared-reports.jsonl');
    try {
      const args = (o: string) => ['demo', '--cohort', written.manifest, '--skip-invalid', '--image-options', imageOptionsFile, '--generator', 'openai', '--base-url', server.baseURL, '--model', 'test-vlm', '--report-cache', reportCache, '--epochs', '1', '--only', 'text only', '--out', o];
      const first = await cli(args(out));
      timings['demo --cohort --generator'] = first.seconds;
      expect(first.code, first.stderr.slice(-2000)).toBe(0);
      const m1 = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
      expect(m1.cohort.reports).toMatchObject({ generated: missing - 1, failed: 1, missing: 1 });
      expect(m1.cohort.reportFailures).toHaveLength(1);
      expect(m1.cohort.reportFailures[0].id).toMatch(/^P\d{4}$/);
      expect(existsSync(reportCache)).toBe(true);
      const image = server.requests[0]!.body.messages[1].content.find((c: { type: string }) => c.type === 'image_url');
      expect(image.image_url.url).toMatch(/^data:image\/png;base64,/);
      // a rerun (another output folder, the same cache) takes the generated reports from the cache and asks only for the failed one
      const before = server.requests.length;
      const secondOut = folder();
      const second = await cli(args(secondOut));
      expect(second.code).toBe(0);
      const m2 = JSON.parse(readFileSync(join(secondOut, 'metrics.json'), 'utf8'));
      expect(m2.cohort.reports).toMatchObject({ cache: missing - 1, generated: 1, failed: 0, missing: 0 });
      expect(server.requests.length - before).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses cohort options without --cohort, and --patients with it', async () => {
    expect((await cli(['demo', '--skip-invalid'])).code).toBe(2);
    expect((await cli(['demo', '--cohort', written.manifest, '--patients', '100'])).code).toBe(2);
    expect((await cli(['demo', '--cohort', written.manifest, '--generator', 'openai'])).code).toBe(2);
    // the model's image encoder is 2D: a 3D grid is refused before anything is loaded
    const threeD = join(written.dir, 'image-3d.json');
    writeFileSync(threeD, JSON.stringify({ layout: '3d' }));
    const r = await cli(['demo', '--cohort', written.manifest, '--image-options', threeD, '--out', folder()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("layout '2d'");
  });
});

describe('vdafm study --cohort', () => {
  const only = 'clinical,concat,full,table-report';

  it('runs repeated stratified k-fold end to end, says so in every output, and matches the in-memory path', async () => {
    const out = folder();
    const args = ['study', '--cohort', written.manifest, '--skip-invalid', '--image-options', imageOptionsFile, '--quick', '--only', only, '--folds', '2', '--repeats', '1', '--seed', String(SEED), '--out', out];
    const r = await cli(args);
    timings['study --cohort (2 folds × 1 repeat, 4 ablations)'] = r.seconds;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    for (const f of ['study.json', 'study.md', 'predictions.csv', 'plan.json', 'excluded.csv', 'comparisons.svg', 'fold-auc.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readdirSync(join(out, 'cells')).sort()).toEqual(['r01.f01', 'r01.f02'].flatMap((f) => only.split(',').map((a) => `${f}.${a}.json`)).sort());
    const study = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
    expect(study.protocol).toMatchObject({ kind: 'k-fold', folds: 2, repeats: 1, description: 'repeated stratified 2-fold cross-validation (2 folds × 1 repeat)' });
    expect(study.settings.leftOut).toEqual([]);
    expect(study.notes.join(' ')).toContain('no known true risk');
    expect(study.comparisons.map((c: { a: string; b: string }) => `${c.a}-${c.b}`)).toEqual(['full-concat']);
    const c = study.comparisons[0];
    expect(c.perCell).toHaveLength(2);
    expect(c.corrected.df).toBe(1);
    expect(c.perCell[0].delongP).toBeGreaterThan(0);
    const md = readFileSync(join(out, 'study.md'), 'utf8');
    expect(md).toContain('**Protocol: repeated stratified 2-fold cross-validation (2 folds × 1 repeat).**');
    expect(md).toContain('Nadeau');
    // every valid patient is tested once per repeat
    const predictions = csv(join(out, 'predictions.csv'));
    expect(predictions).toHaveLength(72);
    expect(new Set(predictions.map((p) => p['id'])).size).toBe(72);
    expect(predictions.every((p) => p['protocol'] === 'k-fold')).toBe(true);

    // the in-memory path: the same cells, the same test patients, the same predictions
    const memoryOut = folder();
    const t0 = performance.now();
    await runCohortStudy({ data: syntheticCohortData(cohort, texts), quick: true, only: only.split(','), folds: 2, repeats: 1, seed: SEED, out: memoryOut, log: () => undefined, progress: quiet });
    timings['study in memory'] = (performance.now() - t0) / 1000;
    const disk = readCellFiles(out, parseCohortCell);
    const memory = readCellFiles(memoryOut, parseCohortCell);
    expect(memory.map((m) => m.id)).toEqual(disk.map((d) => d.id));
    disk.forEach((d, i) => {
      expect(memory[i]!.test.indices, d.id).toEqual(d.test.indices);
      expect(maxDiff(decodeFloat32(memory[i]!.scores.test), decodeFloat32(d.scores.test)), d.id).toBeLessThan(1e-5);
    });

    // resumed: nothing to run, the same results
    const again = await cli([...args, '--resume']);
    expect(again.code).toBe(0);
    const resumed = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
    expect(resumed.comparisons).toEqual(study.comparisons);
    expect(resumed.models).toEqual(study.models);
  });

  it('uses the fixed test split when the manifest names one', async () => {
    const split = cohort.patients.map((_, i) => (i % 4 === 0 ? 'test' : 'train') as 'test' | 'train');
    const fixed = await writeSyntheticCohort(cohort, folder(), { reports: texts, split });
    const out = folder();
    const args = ['study', '--cohort', fixed.manifest, '--image-options', imageOptionsFile, '--quick', '--only', 'clinical,table-report', '--repeats', '2', '--out', out];
    const r = await cli(args);
    timings['study --cohort fixed test (2 repeats, 2 ablations)'] = r.seconds;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const study = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
    expect(study.protocol).toMatchObject({ kind: 'fixed-test', repeats: 2 });
    expect(readdirSync(join(out, 'cells')).sort()).toEqual(['r01.test.clinical.json', 'r01.test.table-report.json', 'r02.test.clinical.json', 'r02.test.table-report.json']);
    const cell = readCellFiles(out, parseCohortCell)[0]!;
    expect(cell.test.indices).toEqual(split.flatMap((s, i) => (s === 'test' ? [i] : [])));
    expect(readFileSync(join(out, 'study.md'), 'utf8')).toContain("the manifest's fixed test split (2 repeats");
    // --folds is for k-fold; a fixed split under --protocol k-fold is ignored
    expect((await cli([...args, '--folds', '3', '--out', folder()])).code).toBe(1);
  });

  it('refuses the synthetic study\'s options with --cohort and the cohort\'s without it', async () => {
    expect((await cli(['study', '--cohort', written.manifest, '--scenario', 'imbalance'])).code).toBe(2);
    expect((await cli(['study', '--folds', '3'])).code).toBe(2);
  });
});
