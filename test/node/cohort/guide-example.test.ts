// The worked example of docs/guides/own-cohort.md: the synthetic cohort written out as NIfTI
// files + manifest + schema, loaded back with two broken rows skipped, and fed to the trainer.
// The guide's TypeScript blocks are lines of this file (test/docs/guides.test.ts checks that);
// the last test checks the guide's JSON and CSV blocks against the files written here and
// validates the ISLES'24 schema it shows.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect, it } from 'vitest';
import { cohortImage, createTriModalModel, findingsExtractor, generateSyntheticCohort, prepareTriModalData, TabularPreprocessor, Trainer } from '../../../src/index.js';
import { cohortBatches, cohortInputs, loadCohort, parseCohortSchema, writeSyntheticCohort } from '../../../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'vdafm-own-cohort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('writes, loads and trains on the written-out synthetic cohort as the guide shows', async () => {
  // --- write: NIfTI files (one per patient and sequence), manifest.csv, schema.json
  const synthetic = generateSyntheticCohort({ patients: 24, imageShape: [8, 16, 16], seed: 7 });
  const reports = synthetic.patients.map((_, i) => findingsExtractor.extract(cohortImage(synthetic, i)).impression);
  const split = synthetic.patients.map((_, i): 'train' | 'test' => (i < 18 ? 'train' : 'test'));
  const written = await writeSyntheticCohort(synthetic, dir, { reports, split, broken: ['truncated-gzip', 'unknown-category'] });

  // --- load: every row and file is checked before anything is returned
  const cohort = await loadCohort({
    manifest: join(dir, 'manifest.csv'), // the schema is read from dir/schema.json
    image: { layout: '3d', shape: [8, 16, 16] }, // the model's grid; robust z-score, 200 mm field of view
    cache: join(dir, '.vdafm-cache'), // preprocessed volumes, reused by the next run
    skipInvalid: true,
    exclusionsFile: join(dir, 'excluded.csv'),
  });
  cohort.patients.length; // 24
  cohort.excluded.map((e) => `row ${e.row} ${e.id}: ${e.problems[0]!.kind}`);
  // ['row 26 BROKEN-truncated-gzip: truncated-nifti', 'row 27 BROKEN-unknown-category: unknown-category']
  const p = cohort.patients[0]!;
  p.image!.length; // 8 · 16 · 16 · 2: [D, H, W, Q] with Q = dwi, adc
  [p.id, p.label, p.labelValue, p.split]; // ['P0000', 0, 0, 'train']: mRS 0, not poor (mRS ≥ 3)

  expect(cohort.patients.length).toBe(24);
  expect(cohort.excluded.map((e) => `row ${e.row} ${e.id}: ${e.problems[0]!.kind}`)).toEqual(['row 26 BROKEN-truncated-gzip: truncated-nifti', 'row 27 BROKEN-unknown-category: unknown-category']);
  expect(p.image!.length).toBe(8 * 16 * 16 * 2);
  expect([p.id, p.label, p.labelValue, p.split]).toEqual(['P0000', 0, 0, 'train']);
  expect(p.report).toBe(reports[0]);
  expect(cohort.imageShape).toEqual([8, 16, 16, 2]);
  expect(written.broken.map((b) => b.row)).toEqual([26, 27]);

  // --- train on streamed batches, test in memory
  const train = cohort.patients.filter((x) => x.split === 'train');
  const preprocessor = new TabularPreprocessor({ columns: cohort.columns }).fit(train.map((x) => x.clinical));
  const model = createTriModalModel({
    image: { inputShape: cohort.imageShape!, spatialDims: 3, widths: [8], depths: [1], strides: [2] },
    clinical: { features: preprocessor, dim: 16, numLayers: 1, numHeads: 2 },
    seed: 1,
  }); // image + clinical: the reports are left out here
  const batches = cohortBatches(cohort, { patients: 'train', batchSize: 6, preprocessor }); // one call = one epoch
  await new Trainer({ epochs: 1, seed: 1 }).fit(model, batches);
  const raw = await cohortInputs(cohort, { patients: 'test', modalities: ['image', 'clinical'] });
  const test = prepareTriModalData(raw, { preprocessor });
  const { probabilities } = model.predict(test);

  expect(probabilities.shape).toEqual([6]); // P(poor outcome) of the 6 test patients
  tf.dispose([probabilities, ...Object.values(test)]);
  model.dispose();
});

it("the guide's schema, manifest and ISLES'24 blocks are what the code writes and accepts", () => {
  const guide = readFileSync('docs/guides/own-cohort.md', 'utf8');
  const block = (marker: string, lang: string) => {
    const at = guide.indexOf(marker);
    expect(at, marker).toBeGreaterThan(0);
    const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(guide.slice(at));
    return m![1]!;
  };
  expect(JSON.parse(block('<!-- schema.json -->', 'json'))).toEqual(JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8')));
  const csv = block('<!-- manifest.csv -->', '').trimEnd().split('\n');
  expect(readFileSync(join(dir, 'manifest.csv'), 'utf8').split('\n').slice(0, csv.length)).toEqual(csv);
  expect(block('<!-- excluded.csv -->', '').trimEnd()).toBe(
    readFileSync(join(dir, 'excluded.csv'), 'utf8')
      .trimEnd()
      .replaceAll(`${dir}/`, ''),
  );
  const isles = parseCohortSchema(JSON.parse(block("<!-- ISLES'24 schema -->", 'json')));
  expect(isles.sequences.map((s) => s.name)).toEqual(['dwi', 'adc']);
  expect(isles.label).toMatchObject({ type: 'ordinal', positiveAtLeast: 3 });
});
