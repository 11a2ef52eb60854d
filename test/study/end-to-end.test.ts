// One real, tiny study end to end (the tfjs trainer, the settings of src/study/ablations.ts):
// cells, reports and plots are written, no tensor leaks, the probe gives an estimate; and the
// CLI's argument errors. On the wasm backend, as the study runs and as the demo's test does: on
// cpu the tri-modal model's 3 tiny epochs take 50 s instead of 4. `.ci/run` runs the full
// `--quick` smoke run.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { CLINICAL_SCHEMA } from '../../src/data/clinical.js';
import { IMAGE_FEATURE_NAMES, TABLE_FEATURE_NAMES } from '../../src/data/oracle.js';
import { createTriModalModel } from '../../src/models/builder.js';
import { modelConfig } from '../../src/study/ablations.js';
import { readCell } from '../../src/study/cells.js';
import { buildSeedData, buildTestCohort, disposeSeedData, fitFieldTargets } from '../../src/study/data.js';
import { strokeReportSchema } from '../../src/text/stroke-schema.js';
import { ablationSpec } from '../../src/study/design.js';
import { predictCohort } from '../../src/study/neural.js';
import { REPORT_FEATURE_NAMES } from '../../src/study/reports.js';
import { runStudy } from '../../src/study/study.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-study-e2e-'));
beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await tf.setBackend('cpu');
});
const quiet = { write: () => undefined, isTTY: false };
const tiny = { quick: true, scenario: 'imbalance' as const, trainSize: 40, testPatients: 60, seeds: 2, only: ['clinical', 'full', 'oracle', 'table-report'], curve: 'none' as const, log: () => undefined, progress: quiet };

describe('a real tiny study (wasm)', () => {
  it('trains, evaluates and reports without leaking tensors', async () => {
    const out = join(root, 'run');
    const before = tf.memory().numTensors;
    const r = await runStudy({ ...tiny, out, estimate: 'off' });
    // Trainer.fit + dispose itself leaves 2 tensors per fit (AdamW's flat moments are tf.variable
    // copies of tensors that are never disposed, src/training/optimizer.ts) and 1 more with a
    // learned temperature; the study's own data, tensors and predictions leak nothing (below)
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(3 * 4);
    expect(r.ran).toBe(8);
    expect(readdirSync(join(out, 'cells'))).toHaveLength(8);
    for (const f of ['study.json', 'study.md', 'forest.svg', 'learning-curve.svg', 'regret.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    const full = readCell(out, 'imbalance.n40.s01.full')!;
    expect(full.training!.epochs).toBe(3);
    expect(Object.keys(full.training!.history[0]!)).toEqual(expect.arrayContaining(['loss', 'val_auc', 'alignment']));
    // the aligned model's pretraining logs (quick: 1 epoch) with the field loss; the others have none
    expect(full.training!.pretraining).toHaveLength(1);
    expect(Object.keys(full.training!.pretraining![0]!)).toEqual(expect.arrayContaining(['pretrain_epoch', 'fields']));
    expect(readCell(out, 'imbalance.n40.s01.clinical')!.training!.pretraining).toBeUndefined();
    expect(full.settings['model']).toMatchObject({ model: { fusion: { type: 'vdafm' } }, trainer: { epochs: 3, batchSize: 32 } });
    for (const id of ['imbalance.n40.s02.clinical', 'imbalance.n40.s02.oracle', 'imbalance.n40.s02.table-report']) {
      const m = readCell(out, id)!.metrics;
      expect(m.auc).toBeGreaterThan(0);
      expect(m.auc).toBeLessThanOrEqual(1);
      expect(Number.isFinite(m.excessLogLoss)).toBe(true);
    }
    // the references: the oracle on the complete record's table + image features; table + report on
    // the published row (imputed, with one missing-cell indicator per column) + the report's fields
    expect(readCell(out, 'imbalance.n40.s01.oracle')!.reference!.features).toBe(TABLE_FEATURE_NAMES.length + IMAGE_FEATURE_NAMES.length);
    expect(readCell(out, 'imbalance.n40.s01.table-report')!.reference!.features).toBe(TABLE_FEATURE_NAMES.length + CLINICAL_SCHEMA.length + REPORT_FEATURE_NAMES.length);
    const md = readFileSync(join(out, 'study.md'), 'utf8');
    expect(md).toContain('QUICK RUN');
    expect(md).toContain('- **C1** (imbalance, n = 40 instead of 600, 0 seeds): not run');
    expect(md).toContain('- **C5** ');
  });

  it('predicts a cohort in batches and releases seed data without leaking tensors', async () => {
    const test = await buildTestCohort('imbalance', 30, 90210);
    const data = await buildSeedData('imbalance', 1, 40, 13, 90210);
    const before = tf.memory().numTensors;
    const model = createTriModalModel(modelConfig(ablationSpec('full'), { imageShape: data.train.cohort.sampleShape, pre: data.pre, tok: data.tok }, 3));
    const p = await predictCohort(model, test, data.pre, data.tok);
    model.dispose();
    expect(p).toHaveLength(30);
    expect(tf.memory().numTensors).toBe(before);
    disposeSeedData(data);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fits the report-field targets on the training reports and gives them to the alignment models only', async () => {
    const data = await buildSeedData('imbalance', 2, 40, 13, 90210);
    const enums = strokeReportSchema.fields.filter((f) => f.kind === 'enum').map((f) => f.key);
    expect(data.fields!.groups.map((g) => g.key)).toEqual([...enums, 'size#number']);
    const components = { imageShape: data.train.cohort.sampleShape!, pre: data.pre, tok: data.tok, fields: data.fields! };
    for (const id of ['full', 'concat-balancing-alignment'] as const) expect(modelConfig(ablationSpec(id), components, 3).reportFields, id).toBe(data.fields);
    for (const id of ['vdafm', 'vdafm-balancing', 'concat', 'image-text-vdafm', 'image', 'clinical', 'text'] as const) expect(modelConfig(ablationSpec(id), components, 3).reportFields, id).toBeUndefined();
    // reports that state none of the fields: no field head
    expect(fitFieldTargets(['Free text without the schema.', null, 'Another one.'])).toBeNull();
    expect(fitFieldTargets(null)).toBeNull();
    disposeSeedData(data);
  });

  it('estimates the wall time from a probe of each model and runs nothing', async () => {
    const out = join(root, 'estimate');
    const r = await runStudy({ ...tiny, out, estimate: 'only' });
    expect(r.ran).toBe(0);
    expect(Object.keys(r.estimate!.perAblation).sort()).toEqual(['clinical', 'full']);
    expect(r.estimate!.likelySeconds).toBeGreaterThan(0);
    expect(r.estimate!.upperSeconds).toBeGreaterThanOrEqual(r.estimate!.likelySeconds);
    expect(existsSync(join(out, 'cells'))).toBe(false);
  });

  it('the CLI refuses bad study arguments with a usage message', async () => {
    expect(await main(['study', '--frobnicate'])).toBe(2);
    expect(await main(['study', '--shard', '4/3'])).toBe(2);
    expect(await main(['study', '--scenario', 'nope'])).toBe(2);
    expect(await main(['study', 'merge', join(root, 'run')])).toBe(2); // no --out
    expect(await main(['study', '--help'])).toBe(0);
  });
});
