// The report teaches the image: a report-field head on the image embedding, trained by the
// report-field loss through the trainer's alignment option.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTriModalModel, generateSyntheticCohort, InvalidArgumentError, prepareTriModalData, ReportFieldTargets, strokeReportSchema, TabularPreprocessor, Trainer, WordPieceTokenizer } from '../../src/index.js';
import { cohortReportTexts } from '../../src/study/reports.js';
import { expectArgumentError } from '../helpers/errors.js';

describe('report-field head', () => {
  it('is trained by the field loss under alignment (the loss falls) and ignored without it', async () => {
    const cohort = generateSyntheticCohort({ patients: 48, seed: 9, layout: '2d', imageShape: [16, 16], slices: 2 });
    const texts = await cohortReportTexts(cohort, 9);
    const fields = ReportFieldTargets.fit(texts, strokeReportSchema, { minCount: 2 });
    const tok = WordPieceTokenizer.train(texts.filter((t): t is string => t !== null), { vocabSize: 120 }, { maxLength: 32 });
    const data = prepareTriModalData({ images: cohort.images, imageShape: cohort.sampleShape, reports: texts, labels: Array.from(cohort.poor) }, { tokenizer: tok, fieldTargets: fields });
    expect(data.fieldTargets!.shape).toEqual([48, fields.width]);
    expect(data.fieldMask!.shape).toEqual([48, fields.groups.length]);
    const build = () => createTriModalModel({ image: { inputShape: [...cohort.sampleShape], spatialDims: 2, widths: [8], depths: [1], strides: [2], kernelInitializer: 'truncatedNormal' }, reportFields: fields, seed: 2 });
    const withFields = new Trainer({ epochs: 12, batchSize: 16, learningRate: 1e-2, warmupFraction: 0, seed: 1, alignment: { global: 0, fine: 0, clinical: 0, fields: 1 } });
    const model = build();
    const h = await withFields.fit(model, data);
    expect(h.epochs.at(-1)!['fields']!).toBeLessThan(h.epochs[0]!['fields']! * 0.85);
    expect(model.reportFieldGroups()).toEqual(fields.groups.map((g) => ({ kind: g.kind, offset: g.offset, labels: [...g.labels] })));
    const off = new Trainer({ epochs: 1, batchSize: 16, seed: 1, alignment: false });
    const model2 = build();
    const h2 = await off.fit(model2, data);
    expect(h2.epochs[0]!['fields']).toBeUndefined();
    expectArgumentError(() => createTriModalModel({ clinical: { features: new TabularPreprocessor({ columns: cohort.schema }).fit(cohort.rows), dim: 8, numLayers: 1, numHeads: 2 }, reportFields: fields }), InvalidArgumentError, 'config.reportFields');
    [withFields, off].forEach((t) => t.dispose());
    [model, model2].forEach((m) => m.dispose());
    tf.dispose(Object.values(data));
  });
});

describe('alignment pretraining', () => {
  it('trains the alignment terms alone first (no outcome loss), once, and reports its history', async () => {
    const cohort = generateSyntheticCohort({ patients: 48, seed: 10, layout: '2d', imageShape: [16, 16], slices: 2 });
    const texts = await cohortReportTexts(cohort, 10);
    const fields = ReportFieldTargets.fit(texts, strokeReportSchema, { minCount: 2 });
    const tok = WordPieceTokenizer.train(texts.filter((t): t is string => t !== null), { vocabSize: 120 }, { maxLength: 32 });
    const data = prepareTriModalData({ images: cohort.images, imageShape: cohort.sampleShape, reports: texts, labels: Array.from(cohort.poor) }, { tokenizer: tok, fieldTargets: fields });
    const model = createTriModalModel({ image: { inputShape: [...cohort.sampleShape], spatialDims: 2, widths: [8], depths: [1], strides: [2], kernelInitializer: 'truncatedNormal' }, reportFields: fields, seed: 2 });
    const trainer = new Trainer({ epochs: 1, batchSize: 16, learningRate: 1e-2, warmupFraction: 0, seed: 1, alignment: { global: 0, fine: 0, clinical: 0, fields: 1 }, pretrain: { epochs: 8, fields: 2 } });
    const h = await trainer.fit(model, data);
    expect(h.pretraining).toHaveLength(8);
    expect(h.pretraining![0]!['classification']).toBeUndefined();
    expect(h.pretraining!.at(-1)!['fields']!).toBeLessThan(h.pretraining![0]!['fields']! * 0.9);
    expect((await trainer.getState()).pretrained).toBe(true);
    // a second fit (continuing) does not pretrain again
    const again = await trainer.fit(model, data);
    expect(again.pretraining).toHaveLength(8);
    expectArgumentError(() => new Trainer({ pretrain: { epochs: 0 } }), InvalidArgumentError, 'pretrain.epochs');
    trainer.dispose();
    model.dispose();
    tf.dispose(Object.values(data));
  });
});
