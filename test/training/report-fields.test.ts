// The report teaches the image: a report-field head on the image embedding, trained by the
// report-field loss through the trainer's alignment option.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTriModalModel, generateSyntheticCohort, InvalidArgumentError, prepareTriModalData, ReportFieldTargets, strokeReportSchema, TabularPreprocessor, Trainer, WordPieceTokenizer } from '../../src/index.js';
import { reportFieldLoss } from '../../src/losses/fields.js';
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
    // a single-modality model has nothing to pretrain without field targets: a named error, not tfjs's
    const { fieldTargets: _t, fieldMask: _m, ...noFields } = data;
    const bare = new Trainer({ epochs: 1, batchSize: 16, alignment: { fields: 1 }, pretrain: { epochs: 1 } });
    await expect(bare.fit(model, noFields)).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'data.fieldTargets' });
    bare.dispose();
    trainer.dispose();
    model.dispose();
    tf.dispose(Object.values(data));
  });
});

describe('pretraining weights', () => {
  it('global, fine and clinical set to 0 pretrain the field head alone: the text encoder does not move (it does with the contrastive terms)', async () => {
    const cohort = generateSyntheticCohort({ patients: 32, seed: 12, layout: '2d', imageShape: [16, 16], slices: 2 });
    const texts = await cohortReportTexts(cohort, 12);
    const fields = ReportFieldTargets.fit(texts, strokeReportSchema, { minCount: 2 });
    const tok = WordPieceTokenizer.train(texts.filter((t): t is string => t !== null), { vocabSize: 120 }, { maxLength: 32 });
    const data = prepareTriModalData({ images: cohort.images, imageShape: cohort.sampleShape, reports: texts, labels: Array.from(cohort.poor) }, { tokenizer: tok, fieldTargets: fields });
    /** L1 distance the text and image encoders moved; the outcome phase does not move the text encoder (its rate × 0). */
    const moved = async (pretrain: { epochs: number; global?: number; fine?: number; clinical?: number }) => {
      const model = createTriModalModel({ image: { inputShape: [...cohort.sampleShape], spatialDims: 2, widths: [8], depths: [1], strides: [2] }, text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 }, fusion: { type: 'concat', dim: 8 }, reportFields: fields, seed: 4 });
      const groups = model.variableGroups();
      const before = (g: string) => groups[g]!.map((v) => Float32Array.from(v.dataSync() as Float32Array));
      const text0 = before('text');
      const image0 = before('image');
      const trainer = new Trainer({ epochs: 1, batchSize: 16, learningRate: 1e-2, weightDecay: 0, seed: 1, alignment: { fields: 1 }, pretrain, groupLearningRates: { text: 0 } });
      await trainer.fit(model, data);
      const dist = (g: string, ref: Float32Array[]) => groups[g]!.reduce((s, v, i) => s + Array.from(v.dataSync() as Float32Array).reduce((t: number, x: number, j: number) => t + Math.abs(x - ref[i]![j]!), 0), 0);
      const out = { text: dist('text', text0), image: dist('image', image0) };
      trainer.dispose();
      model.dispose();
      return out;
    };
    const fieldsOnly = await moved({ epochs: 2, global: 0, fine: 0, clinical: 0 });
    const contrastive = await moved({ epochs: 2 });
    expect(fieldsOnly.text).toBe(0);
    expect(fieldsOnly.image).toBeGreaterThan(0);
    expect(contrastive.text).toBeGreaterThan(0);
    expectArgumentError(() => new Trainer({ pretrain: { epochs: 1, global: -1 } }), InvalidArgumentError, 'pretrain.global');
    tf.dispose(Object.values(data));
  });
});

describe('report-field diagnostics', () => {
  it('evaluate reports the held-out field loss and categorical accuracy, equal to a direct computation; pretraining logs them per epoch', async () => {
    const cohort = generateSyntheticCohort({ patients: 48, seed: 11, layout: '2d', imageShape: [16, 16], slices: 2 });
    const texts = await cohortReportTexts(cohort, 11);
    const fields = ReportFieldTargets.fit(texts, strokeReportSchema, { minCount: 2 });
    const tok = WordPieceTokenizer.train(texts.filter((t): t is string => t !== null), { vocabSize: 120 }, { maxLength: 32 });
    const data = prepareTriModalData({ images: cohort.images, imageShape: cohort.sampleShape, reports: texts, labels: Array.from(cohort.poor) }, { tokenizer: tok, fieldTargets: fields });
    const model = createTriModalModel({ image: { inputShape: [...cohort.sampleShape], spatialDims: 2, widths: [8], depths: [1], strides: [2] }, reportFields: fields, seed: 3 });
    const trainer = new Trainer({ epochs: 1, batchSize: 64, learningRate: 1e-2, seed: 1, alignment: { global: 0, fine: 0, clinical: 0, fields: 1 }, pretrain: { epochs: 2 } });
    const h = await trainer.fit(model, data, { validation: data });
    expect(h.pretraining!.map((e) => Number.isFinite(e['val_fields']))).toEqual([true, true]);
    expect(h.epochs[0]!['val_fields_accuracy']).toBeGreaterThanOrEqual(0);

    const logs = await trainer.evaluate(model, data);
    // direct: one forward pass over all 48 patients (evaluate's batch is 64: one batch)
    const out = model.forward({ image: data.image! });
    const direct = reportFieldLoss(out.reportFields!, data.fieldTargets!, data.fieldMask!, model.reportFieldGroups()!);
    expect(logs['val_fields']!).toBeCloseTo(direct.dataSync()[0]!, 5);
    const z = out.reportFields!.arraySync() as number[][];
    const y = data.fieldTargets!.arraySync() as number[][];
    const m = data.fieldMask!.arraySync() as number[][];
    let correct = 0;
    let known = 0;
    fields.groups.forEach((g, gi) => {
      if (g.kind !== 'categorical') return;
      const argmax = (row: number[]) => row.slice(g.offset, g.offset + g.labels.length).reduce((best, v, i, a) => (v > a[best]! ? i : best), 0);
      z.forEach((row, b) => {
        if (m[b]![gi] !== 1) return;
        known++;
        if (argmax(row) === argmax(y[b]!)) correct++;
      });
    });
    expect(known).toBeGreaterThan(48);
    expect(logs['val_fields_accuracy']).toBeCloseTo(correct / known, 10);
    // counts, not batch means: the same accuracy with evaluation batches of 32
    const small = new Trainer({ epochs: 1, batchSize: 8, alignment: { fields: 1 } });
    expect((await small.evaluate(model, data))['val_fields_accuracy']).toBeCloseTo(correct / known, 10);
    // no field targets in the data: no field logs
    const { fieldTargets: _t, fieldMask: _m, ...plain } = data;
    expect((await trainer.evaluate(model, plain))['val_fields']).toBeUndefined();
    const before = tf.memory().numTensors;
    await trainer.evaluate(model, data);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([direct]);
    Object.values(out).forEach((t) => t instanceof tf.Tensor && t.dispose());
    [trainer, small].forEach((t) => t.dispose());
    model.dispose();
    tf.dispose(Object.values(data));
  });
});
