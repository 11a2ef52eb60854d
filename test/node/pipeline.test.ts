import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTriModalModel, SerializationError, strokeReportSchema, Trainer } from '../../src/index.js';
import { loadPipeline, savePipeline } from '../../src/node.js';
import { assertTensorsClose } from '../../src/testing.js';
import { makeToy, toTensors, toyEncoders } from '../training/toy.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-pipeline-'));
beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await tf.setBackend('cpu');
});

describe('whole-pipeline bundles', () => {
  const build = () => {
    const { pre, tok } = toyEncoders();
    const toy = makeToy({ n: 64, seed: 9 });
    pre.fit(toy.rows);
    const model = createTriModalModel({
      image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8, 8], depths: [1, 1], strides: [1, 2] },
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1, dropout: 0.1 },
      seed: 2,
    });
    return { pre, tok, toy, model, data: toTensors(toy, pre, tok) };
  };

  it('saves model, preprocessor, tokenizer, schema and trainer state; training resumes from the bundle exactly', async () => {
    const options = { epochs: 3, batchSize: 32, seed: 3 };
    // uninterrupted
    const a = build();
    const full = await new Trainer(options).fit(a.model, a.data);
    // checkpointed after epoch 1 into a folder, then "killed"
    const b = build();
    const dir = join(root, 'bundle');
    const trainer = new Trainer({
      ...options,
      onCheckpoint: async (epoch, t) => {
        if (epoch !== 0) return;
        await savePipeline({ model: b.model, preprocessor: b.pre, tokenizer: b.tok, reportSchema: strokeReportSchema, trainerState: await t.getState(), metadata: { cohort: 'toy' } }, dir);
        throw new Error('killed');
      },
    });
    await expect(trainer.fit(b.model, b.data)).rejects.toThrow('killed');
    // a fresh start from the bundle alone
    const loaded = await loadPipeline(dir);
    expect(loaded.metadata).toEqual({ cohort: 'toy' });
    expect(loaded.reportSchema).toBe(strokeReportSchema);
    const data = toTensors(b.toy, loaded.preprocessor!, loaded.tokenizer!);
    assertTensorsClose(data.clinicalValues!, b.data.clinicalValues!, { atol: 0 });
    assertTensorsClose(data.textIds!, b.data.textIds!, { atol: 0 });
    const resumedTrainer = new Trainer(options);
    resumedTrainer.setState(loaded.trainerState!);
    const resumed = await resumedTrainer.fit(loaded.model, data);
    expect(resumed.epochs).toHaveLength(3);
    for (let e = 0; e < 3; e++) expect(Math.abs(resumed.epochs[e]!['loss']! - full.epochs[e]!['loss']!), `epoch ${e}`).toBeLessThan(1e-6);
    // predictions of the reloaded model equal the source model's
    const p1 = a.model.predict(a.data).probabilities;
    const p2 = loaded.model.predict(data).probabilities;
    assertTensorsClose(p2, p1, { atol: 1e-5 });
    expect(loaded.model.variableGroups()['text']!.length).toBe(b.model.variableGroups()['text']!.length);
  });

  it('refuses a bundle from a newer or unknown format with a clear error', async () => {
    const b = build();
    const dir = join(root, 'future');
    await savePipeline({ model: b.model }, dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'pipeline.json'), 'utf8'));
    writeFileSync(join(dir, 'pipeline.json'), JSON.stringify({ ...manifest, formatVersion: 99 }));
    await expect(loadPipeline(dir)).rejects.toSatisfy((e: unknown) => SerializationError.isInstance(e) && /version 99, newer/.test((e as Error).message));
    writeFileSync(join(dir, 'pipeline.json'), JSON.stringify({ ...manifest, format: 'other' }));
    await expect(loadPipeline(dir)).rejects.toSatisfy((e: unknown) => SerializationError.isInstance(e) && /not a vdafm pipeline/.test((e as Error).message));
    await expect(loadPipeline(join(root, 'missing'))).rejects.toSatisfy((e: unknown) => SerializationError.isInstance(e));
  });
});
