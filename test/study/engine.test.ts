// The study engine with tiny cohorts and a fake trainer (instant, deterministic): cell files
// round-trip, a killed run resumes to the same study.json as an uninterrupted one, shards merged
// in any order equal a single run, merge refuses conflicting cells and other studies, late
// fusion reuses the unimodal cells, and study.md holds a verdict line per claim.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../../src/metrics/ranking.js';
import { cellPath, decodeFloat32, decodeUint8, encodeFloat32, encodeUint8, parseCell, readCell, readCells } from '../../src/study/cells.js';
import { CLAIMS } from '../../src/study/claims.js';
import { cellId, planCells, resolveStudySettings, shardCells } from '../../src/study/design.js';
import { mergeStudies, runStudy, type StudyOptions } from '../../src/study/study.js';
import { fakeTrainer } from './fake-trainer.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-study-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const quiet = { write: () => undefined, isTTY: false };
const base: StudyOptions = {
  trainSize: 40,
  testPatients: 80,
  seeds: 3,
  only: ['image', 'clinical', 'text', 'late', 'concat', 'full', 'oracle', 'table-report'],
  curve: 'imbalance',
  curveSizes: [40, 60],
  curveSeeds: 2,
  estimate: 'off',
  log: () => undefined,
  progress: quiet,
  clock: () => 0,
  command: 'test',
};
const dir = (name: string) => join(root, name);
/** study.json without its run information (date, command, wall time, machine). */
const studyJson = (out: string) => {
  const j = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
  delete j.meta;
  return j;
};
const cellFiles = (out: string) => readdirSync(join(out, 'cells')).sort();

describe('the study engine (fake trainer, tiny cohorts)', () => {
  let reference: string;

  it('runs the grid into cell files and reports; cells round-trip', async () => {
    reference = dir('reference');
    const trainer = fakeTrainer();
    const r = await runStudy({ ...base, out: reference, trainer });
    const plan = planCells(resolveStudySettings(base));
    expect(r.planned).toBe(plan.length);
    expect(r.ran).toBe(plan.length);
    expect(cellFiles(reference)).toEqual(plan.map((k) => `${cellId(k)}.json`).sort());
    for (const f of ['study.json', 'study.md', 'plan.json', 'forest.vl.json', 'learning-curve.vl.json', 'regret.vl.json', 'forest.svg', 'learning-curve.svg', 'regret.svg']) {
      expect(existsSync(join(reference, f)), f).toBe(true);
    }
    // late fusion reused the three unimodal cells of its seed: 3 seeds × 2 scenarios × 5 neural models, plus the curve's 60-patient full and concat
    expect(trainer.calls).toBe(3 * 2 * 5 + 2 * 2);
    const late = readCell(reference, 'imbalance.n40.s02.late')!;
    expect(Object.values(late.late!.components).map((c) => c.source)).toEqual(['cell', 'cell', 'cell']);
    expect(late.training).toBeNull();

    // a cell file is self-contained: decoding its predictions gives back its metrics
    const cell = readCell(reference, 'additive.n40.s01.full')!;
    const scores = decodeFloat32(cell.scores.test);
    expect(scores).toHaveLength(80);
    expect(rocAuc(decodeUint8(cell.test.labels), scores)).toBe(cell.metrics.auc);
    expect(cell.metrics.regret).toBeCloseTo(cell.test.bayesAuc - cell.metrics.auc, 12);
    expect(cell.training!.history).toHaveLength(2);
    expect(parseCell(JSON.stringify(cell), 'x')).toEqual(cell);
    expect(decodeFloat32(encodeFloat32(scores))).toEqual(scores);
    expect(decodeUint8(encodeUint8(Uint8Array.of(0, 1, 255)))).toEqual(Uint8Array.of(0, 1, 255));
    // a hand-edited setting breaks the fingerprint
    expect(() => parseCell(JSON.stringify({ ...cell, settings: { ...cell.settings, quick: true } }), 'edited.json')).toThrow(/fingerprint/);

    // the study: every claim of the two scenarios, a verdict line each
    const study = studyJson(reference);
    expect(study.complete).toBe(true);
    expect(study.claims.map((c: { id: string }) => c.id)).toEqual(CLAIMS.map((c) => c.id));
    const md = readFileSync(join(reference, 'study.md'), 'utf8');
    for (const c of study.claims as Array<{ id: string; verdict: string }>) {
      const line = md.split('\n').find((l) => l.startsWith(`- **${c.id}** `));
      expect(line, c.id).toBeDefined();
      if (c.verdict !== 'not run') expect(line).toContain(`→ **${c.verdict}**`);
    }
    expect(md).toContain('| claim | scenario | n train |');
    expect(md).toContain('### Learning curve (`imbalance`)');
    // C1 at the run's training size: full (less noise) beats concat on every seed here
    const c1 = study.claims.find((c: { id: string }) => c.id === 'C1');
    expect(c1.trainSize).toBe(40);
    expect(c1.perSeed).toHaveLength(3);
  });

  it('a run killed after some cells, resumed, writes the same study.json as an uninterrupted run', async () => {
    const out = dir('killed');
    await expect(runStudy({ ...base, out, trainer: fakeTrainer({ failAfter: 7 }) })).rejects.toThrow(/killed/);
    const finished = cellFiles(out).length;
    expect(finished).toBeGreaterThan(0);
    expect(existsSync(join(out, 'study.json'))).toBe(false);
    // without --resume the finished cells are not silently reused
    await expect(runStudy({ ...base, out, trainer: fakeTrainer() })).rejects.toThrow(/--resume/);
    const r = await runStudy({ ...base, out, trainer: fakeTrainer(), resume: true });
    expect(r.skipped).toBe(finished);
    expect(r.ran).toBe(r.planned - finished);
    expect(studyJson(out)).toEqual(studyJson(reference));
    for (const f of cellFiles(reference)) expect(readFileSync(join(out, 'cells', f), 'utf8')).toBe(readFileSync(join(reference, 'cells', f), 'utf8'));
    // a finished run resumed again runs nothing
    expect((await runStudy({ ...base, out, trainer: fakeTrainer(), resume: true })).ran).toBe(0);
  });

  it('refuses to resume cells computed with other settings', async () => {
    const out = dir('other-settings');
    cpSync(dir('reference'), out, { recursive: true });
    const changed = fakeTrainer();
    const settings = changed.settings.bind(changed);
    changed.settings = (spec, o) => ({ ...(settings(spec, o) as object), lr: 1 });
    await expect(runStudy({ ...base, out, trainer: changed, resume: true })).rejects.toThrow(/other settings/);
  });

  it('shards 1/3 + 2/3 + 3/3 merged (in any order) equal a single run', async () => {
    const shards = [1, 2, 3].map((i) => dir(`shard-${i}`));
    let total = 0;
    for (const [i, out] of shards.entries()) {
      const r = await runStudy({ ...base, out, trainer: fakeTrainer(), shard: { index: i + 1, count: 3 } });
      expect(r.study).toBeNull();
      expect(existsSync(join(out, 'study.json'))).toBe(false);
      total += r.ran;
    }
    const all = shards.flatMap(cellFiles);
    expect(new Set(all).size).toBe(all.length); // disjoint
    expect(total).toBe(cellFiles(reference).length); // and complete
    await mergeStudies(shards, { out: dir('merged-a'), log: () => undefined, clock: () => 0 });
    await mergeStudies([...shards].reverse(), { out: dir('merged-b'), log: () => undefined, clock: () => 0 });
    expect(studyJson(dir('merged-a'))).toEqual(studyJson(reference));
    expect(studyJson(dir('merged-b'))).toEqual(studyJson(reference));
    expect(cellFiles(dir('merged-a'))).toEqual(cellFiles(reference));
    // the wall time counts from `started` when given (vdafm study --jobs: the start of the jobs)
    expect((await mergeStudies(shards, { out: dir('merged-c'), log: () => undefined, clock: () => 90_000, started: 30_000 })).meta.wallSeconds).toBe(60);
    expect((await mergeStudies(shards, { out: dir('merged-d'), log: () => undefined, clock: () => 90_000 })).meta.wallSeconds).toBe(0);

    // the shared-folder recipe: every shard writes into one folder, then merge it onto itself
    const shared = dir('shared');
    for (const i of [3, 1, 2]) await runStudy({ ...base, out: shared, trainer: fakeTrainer(), shard: { index: i, count: 3 } });
    await mergeStudies([shared], { out: shared, log: () => undefined, clock: () => 0 });
    expect(studyJson(shared)).toEqual(studyJson(reference));
  });

  it('merge takes identical duplicates once and refuses conflicting ones and other studies', async () => {
    const a = dir('dup-a');
    const b = dir('dup-b');
    cpSync(dir('shard-1'), a, { recursive: true });
    cpSync(dir('shard-1'), b, { recursive: true });
    await mergeStudies([a, b, dir('shard-2'), dir('shard-3')], { out: dir('dup-merged'), log: () => undefined, clock: () => 0 });
    expect(studyJson(dir('dup-merged'))).toEqual(studyJson(reference));

    // one copy's predictions differ: a conflict (its run information alone would not be)
    const id = readCells(b)[0]!.id;
    const cell = readCell(b, id)!;
    const scores = decodeFloat32(cell.scores.test);
    scores[0] = 0.123;
    writeFileSync(cellPath(b, id), JSON.stringify({ ...cell, scores: { ...cell.scores, test: encodeFloat32(scores) } }));
    await expect(mergeStudies([a, b], { out: dir('dup-bad'), log: () => undefined })).rejects.toThrow(/differ between folders/);
    writeFileSync(cellPath(b, id), JSON.stringify({ ...cell, run: { ...cell.run, seconds: 99 } }));
    await expect(mergeStudies([a, b], { out: dir('dup-run'), log: () => undefined })).resolves.toBeDefined();

    // a folder of another study (other seeds)
    const other = dir('other-study');
    await runStudy({ ...base, seeds: 2, out: other, trainer: fakeTrainer(), shard: { index: 1, count: 3 } });
    await expect(mergeStudies([a, other], { out: dir('mixed'), log: () => undefined })).rejects.toThrow(/other settings/);
    await expect(mergeStudies([join(root, 'nowhere')], { out: dir('x'), log: () => undefined })).rejects.toThrow(/plan\.json/);
  });

  it('late fusion alone trains the unimodal models it stacks (without writing them as cells)', async () => {
    const out = dir('late-only');
    const trainer = fakeTrainer();
    await runStudy({ ...base, only: ['late'], seeds: 1, scenario: 'imbalance', curve: 'none', out, trainer });
    expect(trainer.calls).toBe(3);
    expect(cellFiles(out)).toEqual(['imbalance.n40.s01.late.json']);
    const late = readCell(out, 'imbalance.n40.s01.late')!;
    expect(Object.values(late.late!.components).map((c) => c.source)).toEqual(['trained', 'trained', 'trained']);
    // the same stacked predictions as with the reused cells
    expect(late.scores.test).toBe(readCell(reference, 'imbalance.n40.s01.late')!.scores.test);
  });
});

describe('shards of the default study', () => {
  it('partition the plan deterministically and keep a seed\'s late fusion with its unimodal models', () => {
    const plan = planCells(resolveStudySettings());
    expect(plan).toHaveLength(10 * 15 + 5 * 15 + 3 * 3 * 3); // main comparison + the curve's 1200, 2400, 4800
    for (const n of [1, 2, 5, 16]) {
      const shards = Array.from({ length: n }, (_, i) => shardCells(plan, i + 1, n));
      const ids = shards.flat().map(cellId);
      expect(new Set(ids).size).toBe(plan.length);
      expect(shardCells(plan, 1, n)).toEqual(shards[0]);
      for (const s of shards) {
        for (const late of s.filter((k) => k.ablation === 'late')) {
          for (const m of ['image', 'text', 'clinical']) expect(s.some((k) => cellId(k) === cellId({ ...late, ablation: m }))).toBe(true);
        }
      }
    }
    expect(() => shardCells(plan, 4, 3)).toThrow(/shard/);
  });
});
