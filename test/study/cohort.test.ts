// The study engine on a cohort of your own (src/study/cohort/), with a small in-memory cohort and
// a fake trainer (instant, deterministic): the protocols and their partitions, the settings'
// checks, the corrected resampled t-test and the comparisons against hand computations, and the
// run files: a killed run resumes to the same study.json as an uninterrupted one, shards merged
// (through the CLI's merge, which recognises a cohort study) equal a single run.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { type CohortData, demoSplit, syntheticCohortData } from '../../src/demo/cohort-data.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { generateSyntheticCohort } from '../../src/index.js';
import { delongTest } from '../../src/metrics/delong.js';
import { Random } from '../../src/core/random.js';
import { encodeFloat32, encodeUint8, readCellFiles } from '../../src/study/cells.js';
import { CohortCellIndex, compareAblations, comparisonPairs, correctedTTest, differences } from '../../src/study/cohort/analysis.js';
import { type CohortCellRecord, parseCohortCell } from '../../src/study/cohort/cells.js';
import { cohortCellId, cohortCellKey, foldPartition, planCohortCells, resolveCohortStudySettings, shardCohortCells } from '../../src/study/cohort/design.js';
import { runCohortStudy, type CohortStudyOptions } from '../../src/study/cohort/study.js';
import type { TrainingData } from '../../src/study/data.js';
import type { CellTrainer, NeuralOutcome } from '../../src/study/neural.js';
import { cohortReportTexts } from '../../src/study/reports.js';
import { tInterval } from '../../src/study/stats.js';
import { expectArgumentError } from '../helpers/errors.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-cohort-study-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = (name: string) => join(root, name);
const quiet = { write: () => undefined, isTTY: false };

/** Predicts the label blurred by seeded noise whose size depends on the ablation; `failAfter` kills the run. */
function fakeCohortTrainer(options: { failAfter?: number } = {}): CellTrainer & { calls: number } {
  const noise: Record<string, number> = { image: 3, clinical: 1.5, text: 2, concat: 1.2, full: 1 };
  const t = {
    calls: 0,
    settings: (spec: { id: string }, o: { quick: boolean; seeds: { model: number; trainer: number } }) => ({ fake: true, ablation: spec.id, quick: o.quick, seeds: o.seeds }),
    async train(job: Parameters<CellTrainer['train']>[0]): Promise<NeuralOutcome> {
      if (options.failAfter !== undefined && t.calls >= options.failAfter) throw new Error('killed');
      t.calls++;
      const data = job.data as TrainingData;
      const rng = new Random(data.seeds.model * 31 + job.spec.id.length);
      const blur = (labels: Uint8Array) => Float32Array.from(labels, (y) => 1 / (1 + Math.exp(-((2 * y - 1) + rng.normal(0, noise[job.spec.id] ?? 2)))));
      return { val: blur(data.val.labels), test: blur(job.test.labels), history: [{ epoch: 0, loss: 0.6, val_auc: 0.7 }], bestEpoch: 0, stoppedEarly: false };
    },
  };
  return t;
}

let data: CohortData;
beforeAll(async () => {
  const cohort = generateSyntheticCohort({ patients: 60, seed: 2, layout: '2d', imageShape: [8, 8], slices: 2 });
  data = syntheticCohortData(cohort, await cohortReportTexts(cohort, 2));
});

const base = (): CohortStudyOptions => ({
  data,
  only: ['image', 'clinical', 'text', 'late', 'concat', 'full', 'table-report'],
  folds: 3,
  repeats: 2,
  log: () => undefined,
  progress: quiet,
  clock: () => 0,
  command: 'test',
});
const studyJson = (out: string) => {
  const j = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
  delete j.meta;
  return j;
};

describe('the protocols', () => {
  it('k-fold: each repeat tests every patient once, stratified; training, validation and test are disjoint', () => {
    const settings = resolveCohortStudySettings({ folds: 4, repeats: 2 }, data, 'x');
    expect(settings.protocol).toEqual({ kind: 'k-fold', folds: 4, repeats: 2 });
    const positives = data.labels.reduce((a, b) => a + b, 0);
    for (const repeat of [1, 2]) {
      const tested: number[] = [];
      for (let fold = 1; fold <= 4; fold++) {
        const p = foldPartition(settings, data, { repeat, fold });
        tested.push(...p.test);
        expect([...p.train, ...p.val, ...p.test].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
        expect(Math.abs(p.test.filter((i) => data.labels[i] === 1).length - positives / 4)).toBeLessThanOrEqual(1);
        expect(p.val.length).toBe(Math.round(0.25 * (p.train.length + p.val.length)));
        expect(foldPartition(settings, data, { repeat, fold })).toEqual(p);
      }
      expect(tested.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    }
    expect(foldPartition(settings, data, { repeat: 1, fold: 1 }).test).not.toEqual(foldPartition(settings, data, { repeat: 2, fold: 1 }).test);
  });

  it("fixed test: the manifest's test patients, its val patients when given, else a stratified share per repeat", () => {
    const split = Array.from(data.labels, (_, i) => (i < 15 ? 'test' : i < 25 ? 'val' : 'train') as 'test' | 'val' | 'train');
    const withVal = { ...data, split };
    const settings = resolveCohortStudySettings({}, withVal, 'x');
    expect(settings.protocol).toEqual({ kind: 'fixed-test', repeats: 3 });
    const p = foldPartition(settings, withVal, { repeat: 1, fold: 0 });
    expect(p.test).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(p.val).toEqual(Array.from({ length: 10 }, (_, i) => 15 + i));
    const noVal = { ...data, split: split.map((s) => (s === 'val' ? 'train' : s)) as typeof split };
    const a = foldPartition(settings, noVal, { repeat: 1, fold: 0 });
    const b = foldPartition(settings, noVal, { repeat: 2, fold: 0 });
    expect(a.test).toEqual(p.test);
    expect(a.val.length).toBe(Math.round(45 / 4));
    expect(a.val).not.toEqual(b.val);
    // --protocol k-fold ignores the split
    expect(resolveCohortStudySettings({ protocol: 'k-fold' }, withVal, 'x').protocol.kind).toBe('k-fold');
    // the demo reads the split column the same way (patients without a split train)
    const partial = { ...data, split: split.map((s) => (s === 'test' ? s : null)) };
    const demo = demoSplit(partial, 3);
    expect(demo.source).toBe('manifest');
    expect(demo.test).toEqual(p.test);
    expect(demo.val.length + demo.train.length).toBe(45);
    expect(demoSplit(data, 3).source).toBe('stratified');
  });

  it('the suite leaves out the oracle, and what reads reports when there are none; bad options are named', () => {
    const s = resolveCohortStudySettings({}, data, 'x');
    expect(s.ablations).not.toContain('oracle');
    expect(s.leftOut).toEqual([{ ablation: 'oracle', reason: expect.stringContaining('true latent features') }]);
    const noText = { ...data, texts: data.texts.map(() => null) };
    const t = resolveCohortStudySettings({}, noText, 'x');
    expect(t.cohort.withText).toBe(false);
    expect(t.leftOut.map((l) => l.ablation)).toEqual(['image-report', 'text', 'image-text-concat', 'image-text-vdafm', 'concat', 'concat-balancing-alignment', 'vdafm', 'vdafm-balancing', 'full', 'late', 'oracle']);
    expect(t.ablations).toEqual(['image', 'clinical', 'image-clinical', 'table-report']);
    expectArgumentError(() => resolveCohortStudySettings({ protocol: 'fixed-test' }, data, 'x'), InvalidArgumentError, 'protocol');
    expectArgumentError(() => resolveCohortStudySettings({ folds: 20 }, data, 'x'), InvalidArgumentError, 'folds');
    expectArgumentError(() => resolveCohortStudySettings({ folds: 1 }, data, 'x'), InvalidArgumentError, 'folds');
    expectArgumentError(() => resolveCohortStudySettings({ only: ['nope'] }, data, 'x'), InvalidArgumentError, 'only');
    expectArgumentError(() => resolveCohortStudySettings({ only: ['oracle'] }, data, 'x'), InvalidArgumentError, 'only');
  });

  it('cell ids round-trip; shards partition the plan and keep a fold\'s late fusion with its unimodal models', () => {
    const settings = resolveCohortStudySettings({ folds: 3, repeats: 2 }, data, 'x');
    const plan = planCohortCells(settings);
    expect(plan).toHaveLength(3 * 2 * settings.ablations.length);
    for (const k of plan) expect(cohortCellKey(cohortCellId(k))).toEqual(k);
    expect(cohortCellId({ repeat: 1, fold: 0, ablation: 'full' })).toBe('r01.test.full');
    const shards = [1, 2, 3].map((i) => shardCohortCells(plan, i, 3).map(cohortCellId));
    expect(shards.flat().sort()).toEqual(plan.map(cohortCellId).sort());
    for (const s of shards) {
      for (const id of s.filter((x) => x.endsWith('.late'))) for (const m of ['image', 'text', 'clinical']) expect(s).toContain(id.replace(/late$/, m));
    }
  });
});

describe('statistics without a true risk', () => {
  it('the corrected resampled t-test equals the hand computation', () => {
    const values = [0.02, 0.01, 0.03, 0.0, 0.02, 0.01, 0.02, 0.03, 0.01, 0.02];
    const t = correctedTTest(values, 0.25)!;
    // mean 0.017, sd² = 810e-6 / 9 = 90e-6, se = √((1/10 + 0.25) · 90e-6) = 0.0056125, t = 3.02896, df 9
    expect(t.se).toBeCloseTo(Math.sqrt(0.35 * 90e-6), 10);
    expect(t.t).toBeCloseTo(0.017 / Math.sqrt(0.35 * 90e-6), 8);
    expect(t.df).toBe(9);
    expect(t.lower).toBeCloseTo(0.017 - 2.2621571628 * t.se, 7);
    expect(t.pValue).toBeGreaterThan(0.01);
    expect(t.pValue).toBeLessThan(0.02);
    // wider than the plain interval
    expect(t.upper - t.lower).toBeGreaterThan(tInterval(values).upper - tInterval(values).lower);
    expect(correctedTTest([0.1], 0.25)).toBeNull();
  });

  it('compares two ablations fold by fold: ΔAUC, DeLong, the plain and corrected intervals, a reading', () => {
    const rng = new Random(4);
    const labels = Uint8Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const cell = (repeat: number, fold: number, ablation: string, sd: number): CohortCellRecord => {
      const scores = Float32Array.from(labels, (y) => 1 / (1 + Math.exp(-(2 * y - 1 + rng.normal(0, sd)))));
      return {
        key: { repeat, fold, ablation },
        id: cohortCellId({ repeat, fold, ablation }),
        test: { patients: 40, indices: [], labels: encodeUint8(labels) },
        sizes: { train: 90, val: 30 },
        metrics: { auc: delongTest(labels, scores, scores).aucA },
        scores: { test: encodeFloat32(scores) },
      } as unknown as CohortCellRecord;
    };
    const cells = [1, 2].flatMap((r) => [1, 2, 3, 4].flatMap((f) => [cell(r, f, 'full', 0.5), cell(r, f, 'concat', 2)]));
    const settings = resolveCohortStudySettings({ folds: 4, repeats: 2 }, data, 'x');
    const c = compareAblations({ a: 'full', b: 'concat', claim: 'C1' }, new CohortCellIndex(cells), settings);
    expect(c.perCell).toHaveLength(8);
    const a0 = cells[0]!;
    const b0 = cells[1]!;
    expect(c.perCell[0]!.value).toBeCloseTo(a0.metrics.auc - b0.metrics.auc, 12);
    expect(c.interval).toEqual(tInterval(c.perCell.map((p) => p.value)));
    expect(c.corrected).toEqual(correctedTTest(c.perCell.map((p) => p.value), 40 / 120));
    expect(c.delong!.significant).toBeLessThanOrEqual(8);
    expect(c.reading).toBe('a higher');
    expect(c.differs).toBe('fusion (vdafm vs concat), balancing (on vs off), alignment (on vs off)');
    expect(differences('image-clinical', 'clinical')).toBe('modalities (image + clinical vs clinical), modality dropout (on vs off)');
    expect(comparisonPairs(['full', 'concat', 'vdafm', 'vdafm-balancing']).map((p) => p.claim)).toEqual(['C1', 'C2', 'C3']);
  });
});

describe('the run files (fake trainer)', () => {
  let reference: string;

  it('runs every cell, reuses the unimodal cells for late fusion, and writes the outputs', async () => {
    reference = dir('reference');
    const trainer = fakeCohortTrainer();
    const r = await runCohortStudy({ ...base(), out: reference, trainer });
    expect(r.ran).toBe(3 * 2 * 7);
    // late fusion stacks the fold's unimodal cells: 5 neural models per fold, none trained twice
    expect(trainer.calls).toBe(3 * 2 * 5);
    for (const f of ['study.json', 'study.md', 'predictions.csv', 'plan.json', 'comparisons.vl.json', 'fold-auc.vl.json']) expect(existsSync(join(reference, f)), f).toBe(true);
    const study = studyJson(reference);
    expect(study.complete).toBe(true);
    expect(study.comparisons.map((c: { claim: string }) => c.claim)).toEqual(['C1']);
    expect(study.models.find((m: { ablation: string }) => m.ablation === 'full').pooledAuc.repeats).toBe(2);
    const late = readCellFiles(reference, parseCohortCell).find((c) => c.id === 'r02.f03.late')!;
    expect(Object.values(late.late!.components).map((c) => c.source)).toEqual(['cell', 'cell', 'cell']);
    expect(readFileSync(join(reference, 'predictions.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 2 * 60);
  });

  it('a run killed after some cells, resumed, writes the same study.json; a finished folder is not reused without --resume', async () => {
    const out = dir('killed');
    await expect(runCohortStudy({ ...base(), out, trainer: fakeCohortTrainer({ failAfter: 7 }) })).rejects.toThrow('killed');
    const partial = readdirSync(join(out, 'cells')).length;
    expect(partial).toBeGreaterThan(0);
    await expect(runCohortStudy({ ...base(), out, trainer: fakeCohortTrainer() })).rejects.toThrow(/already holds/);
    const r = await runCohortStudy({ ...base(), out, resume: true, trainer: fakeCohortTrainer() });
    expect(r.skipped).toBe(partial);
    expect(studyJson(out)).toEqual(studyJson(reference));
  });

  it('shards 1/2 + 2/2 merged by `vdafm study merge` equal a single run; another cohort\'s folder is refused', async () => {
    const shards = [1, 2].map((i) => dir(`shard${i}`));
    for (const [i, out] of shards.entries()) {
      const r = await runCohortStudy({ ...base(), out, shard: { index: i + 1, count: 2 }, trainer: fakeCohortTrainer() });
      expect(r.study).toBeNull();
    }
    const merged = dir('merged');
    expect(await main(['study', 'merge', shards[1]!, shards[0]!, '--out', merged])).toBe(0);
    expect(studyJson(merged)).toEqual(studyJson(reference));
    const other = dir('other');
    cpSync(reference, other, { recursive: true });
    await runCohortStudy({ ...base(), seed: 8, out: dir('seed8'), trainer: fakeCohortTrainer() });
    await expect(runCohortStudy({ ...base(), seed: 8, out: other, trainer: fakeCohortTrainer() })).rejects.toThrow(/other settings/);
    expect(await main(['study', 'merge', reference, dir('seed8'), '--out', dir('bad')])).toBe(1);
  });
});
