// Loading a cohort (src/node/cohort/load.ts): every kind of bad row or file is reported with its
// row, id and file; skipInvalid excludes and writes them; options are checked first; streaming
// batches visit every patient once. (Round trips: write.test.ts; the manifest: manifest.test.ts.)
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTriModalModel, generateSyntheticCohort, InvalidArgumentError, prepareTriModalData, TabularPreprocessor, Trainer } from '../../../src/index.js';
import {
  BROKEN_ROW_PROBLEMS,
  cohortBatches,
  cohortInputs,
  CohortValidationError,
  formatProblem,
  loadCohort,
  parseCsv,
  writeSyntheticCohort,
  type BrokenRowKind,
  type CohortProblem,
} from '../../../src/node.js';
import { maxDiff, tempFolders } from '../../helpers/cohort.js';
import { expectArgumentError, expectArgumentRejection } from '../../helpers/errors.js';

const { next: folder } = tempFolders('cohort');



describe('bad rows and files: each problem names the row, the id, the column and the file', () => {
  const kinds = Object.keys(BROKEN_ROW_PROBLEMS) as BrokenRowKind[];
  const make = async () => {
    const cohort = generateSyntheticCohort({ patients: 4, imageShape: [4, 8, 8], seed: 5 });
    const reports = cohort.patients.map((p) => `report of ${p.id}`);
    return writeSyntheticCohort(cohort, folder(), { reports, reportMode: 'file', broken: kinds });
  };

  it('stops before anything is returned, with the full list of problems', async () => {
    const written = await make();
    let error: unknown;
    const exclusions = join(written.dir, 'excluded.csv');
    try {
      await loadCohort({ manifest: written.manifest, image: written.imageOptions, exclusionsFile: exclusions });
    } catch (e) {
      error = e;
    }
    // the exclusions file is written when the load stops too
    expect(parseCsv(readFileSync(exclusions, 'utf8')).records.length).toBe(1 + written.broken.length);
    expect(CohortValidationError.isInstance(error)).toBe(true);
    const problems = (error as CohortValidationError).problems;
    for (const b of written.broken) {
      const found = problems.filter((p) => p.row === b.row);
      expect(found.map((p) => p.kind), `${b.kind} on row ${b.row}`).toEqual([b.expected]);
      const p = found[0]!;
      expect(p.id).toBe(b.kind === 'missing-id' ? null : b.id);
      if (b.file) expect(p.file).toBe(b.file);
      expect(p.column).toBeTruthy();
      expect(formatProblem(p)).toContain(`row ${b.row} (id ${p.id ?? '?'})`);
    }
    // the message shows the first 20 problems, and says where the others are
    expect((error as Error).message).toContain(formatProblem(problems[19]!));
    expect((error as Error).message).toContain('and 2 more (see error.problems)');
    // the valid patients are not blamed
    expect(problems.every((p) => p.row > 5)).toBe(true);
    expect((error as Error).message).toMatch(/22 of 26 patients are invalid/);
  });

  it('skipInvalid: returns the valid patients, lists every excluded one and writes them to a file (CSV or JSON)', async () => {
    const written = await make();
    const csv = join(written.dir, 'out', 'excluded.csv');
    const cohort = await loadCohort({ manifest: written.manifest, image: written.imageOptions, skipInvalid: true, exclusionsFile: csv });
    expect(cohort.patients.map((p) => p.id)).toEqual(['P0000', 'P0001', 'P0002', 'P0003']);
    expect(cohort.excluded.map((e) => e.row)).toEqual(written.broken.map((b) => b.row));
    for (const e of cohort.excluded) {
      const b = written.broken.find((x) => x.row === e.row)!;
      expect(e.reason.startsWith(b.expected)).toBe(true);
      if (b.file) expect(e.file).toBe(b.file);
    }
    const records = parseCsv(readFileSync(csv, 'utf8')).records;
    expect(records[0]).toEqual(['row', 'id', 'kind', 'column', 'file', 'message']);
    expect(records.slice(1).map((r) => [Number(r[0]), r[2]])).toEqual(written.broken.map((b) => [b.row, b.expected]));
    expect(cohort.warnings.join('\n')).toContain(`written to ${csv}`);

    const json = join(written.dir, 'excluded.json');
    await loadCohort({ manifest: written.manifest, image: written.imageOptions, skipInvalid: true, exclusionsFile: json });
    const list = JSON.parse(readFileSync(json, 'utf8')) as Array<{ row: number; problems: CohortProblem[] }>;
    expect(list.map((e) => e.row)).toEqual(written.broken.map((b) => b.row));
  });

  it("a 4D file is read as its first volume with a warning under multiVolume: 'first'", async () => {
    const cohort = generateSyntheticCohort({ patients: 2, imageShape: [4, 8, 8], seed: 6 });
    const written = await writeSyntheticCohort(cohort, folder(), { broken: ['4d-image'] });
    const loaded = await loadCohort({ manifest: written.manifest, image: { ...written.imageOptions, multiVolume: 'first' } });
    const p = loaded.patients.find((x) => x.id === 'BROKEN-4d-image')!;
    expect(p.warnings).toEqual(['dwi: the file holds 2 volumes; volume 0 is used']);
    expect(maxDiff(p.image!, loaded.patients[0]!.image!)).toBe(0); // patient 0 twice over
    expect(loaded.warnings.some((w) => w.includes('BROKEN-4d-image') && w.includes('volume 0 is used'))).toBe(true);
  });
});

describe('options', () => {
  it('invalid image options are the caller’s error, raised before any patient is read', async () => {
    const cohort = generateSyntheticCohort({ patients: 2, imageShape: [4, 8, 8], seed: 14 });
    const written = await writeSyntheticCohort(cohort, folder());
    await expectArgumentRejection(loadCohort({ manifest: written.manifest, image: { shape: [1, 8, 8] } }), InvalidArgumentError, 'shape');
    await expectArgumentRejection(loadCohort({ manifest: written.manifest, image: { lowerPercentile: 50, upperPercentile: 40 } }), InvalidArgumentError, 'options');
    await expectArgumentRejection(loadCohort({ manifest: written.manifest, image: { multiVolume: 'all' as never } }), InvalidArgumentError, 'image.multiVolume');
    await expectArgumentRejection(loadCohort({ manifest: written.manifest, concurrency: 0 }), InvalidArgumentError, 'concurrency');
  });
});

describe('streaming: batches for the trainer', () => {
  it('every patient once per epoch, in a new order each epoch, images as readImage gives them, no leaked tensors', async () => {
    const cohort = generateSyntheticCohort({ patients: 7, imageShape: [4, 8, 8], seed: 12 });
    const written = await writeSyntheticCohort(cohort, folder(), { reports: cohort.patients.map((p) => `lesion ${p.truth.acuteLesion}`) });
    const loaded = await loadCohort({ manifest: written.manifest, image: written.imageOptions, keepImages: false, cache: join(written.dir, 'cache') });
    expect(loaded.patients.every((p) => p.image === null)).toBe(true);
    const pre = new TabularPreprocessor({ columns: loaded.columns }).fit(loaded.patients.map((p) => p.clinical));
    const epochs = cohortBatches(loaded, { batchSize: 3, seed: 1, preprocessor: pre });
    const before = tf.memory().numTensors;
    const orders: string[][] = [];
    for (let e = 0; e < 2; e++) {
      const seen: number[] = [];
      for await (const batch of epochs()) {
        expect(batch.image!.shape.slice(1)).toEqual([4, 8, 8, 2]);
        expect(batch.clinicalValues!.shape).toEqual([batch.labels.shape[0], 12]);
        expect(batch.textIds).toBeUndefined(); // no tokenizer given
        // identify each image by its first voxels
        const data = await batch.image!.data();
        const per = 4 * 8 * 8 * 2;
        for (let i = 0; i < batch.labels.shape[0]!; i++) {
          const idx = loaded.patients.findIndex((p, k) => maxDiff(data.subarray(i * per, (i + 1) * per), cohort.images.subarray(k * per, (k + 1) * per)) === 0);
          seen.push(idx);
          expect((await batch.labels.data())[i]).toBe(loaded.patients[idx]!.label);
        }
      }
      expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      orders.push(seen.map(String));
    }
    expect(orders[0]).not.toEqual(orders[1]);
    expect(tf.memory().numTensors).toBe(before);
    // a split, in order, with index labels
    const ordered = cohortBatches(loaded, { batchSize: 10, shuffle: false, labels: 'index', modalities: [] });
    for await (const b of ordered()) {
      expect(Array.from(await b.labels.data())).toEqual(Array.from(cohort.mrs));
      expect(Object.keys(b)).toEqual(['labels']);
    }
    expect(() => cohortBatches(loaded, { modalities: ['clinical'] })).toThrow(/preprocessor/);
    expectArgumentError(() => cohortBatches(loaded, { modalities: ['image', 'audio' as never] }), InvalidArgumentError, 'modalities');
  });

  it('a file that disappears after validation fails the epoch with the patient named (no unhandled rejection)', async () => {
    const cohort = generateSyntheticCohort({ patients: 4, imageShape: [4, 8, 8], seed: 15 });
    const written = await writeSyntheticCohort(cohort, folder());
    const loaded = await loadCohort({ manifest: written.manifest, image: written.imageOptions, keepImages: false });
    rmSync(loaded.patients[3]!.files['adc']!);
    const seen: number[] = [];
    const run = async () => {
      for await (const b of cohortBatches(loaded, { batchSize: 1, shuffle: false })()) seen.push(b.labels.shape[0]!);
    };
    await expect(run()).rejects.toSatisfy((e: unknown) => CohortValidationError.isInstance(e) && e.problems[0]!.id === 'P0003' && e.problems[0]!.kind === 'missing-file');
    expect(seen).toEqual([1, 1, 1]);
  });

  it('cohortInputs gives prepareTriModalData its raw inputs; a tiny model trains one epoch on the streamed batches', async () => {
    const cohort = generateSyntheticCohort({ patients: 8, imageShape: [4, 8, 8], seed: 13 });
    const written = await writeSyntheticCohort(cohort, folder(), { split: cohort.patients.map((_, i) => (i < 6 ? 'train' : 'test')) });
    const loaded = await loadCohort({ manifest: written.manifest, image: written.imageOptions });
    const raw = await cohortInputs(loaded, { patients: 'test' });
    expect(raw.imageShape).toEqual([4, 8, 8, 2]);
    expect(raw.images!.length).toBe(2 * 4 * 8 * 8 * 2);
    expect(Array.from(raw.labels)).toEqual(Array.from(cohort.poor.subarray(6)));
    const pre = new TabularPreprocessor({ columns: loaded.columns }).fit((await cohortInputs(loaded, { patients: 'train' })).rows!);
    const test = prepareTriModalData(raw, { preprocessor: pre });
    expect(test.image!.shape).toEqual([2, 4, 8, 8, 2]);
    const model = createTriModalModel({
      image: { inputShape: [4, 8, 8, 2], spatialDims: 3, widths: [8], depths: [1], strides: [2] },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'pooled' },
      seed: 1,
    });
    const history = await new Trainer({ epochs: 1, batchSize: 4, seed: 1 }).fit(model, cohortBatches(loaded, { patients: 'train', batchSize: 3, preprocessor: pre }));
    expect(history.epochs).toHaveLength(1);
    expect(Number.isFinite(history.epochs[0]!['loss']!)).toBe(true);
    tf.dispose(Object.values(test));
    model.dispose();
  });
});
