// dropModalityAuc (src/training/diagnostics.ts): a model that reads only the clinical table loses
// its AUC without the table and nothing without the other modalities; errors.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTriModalModel, InvalidArgumentError, Trainer } from '../../src/index.js';
import { dropModalityAuc } from '../../src/training/diagnostics.js';
import { makeToy, toTensors, toyEncoders } from './toy.js';

describe('dropModalityAuc', () => {
  it('measures how far the AUC falls without each modality', async () => {
    const { pre, tok } = toyEncoders();
    const toy = makeToy({ n: 96, seed: 3, clinicalStrength: 5, imageStrength: 0, textStrength: 0 });
    pre.fit(toy.rows);
    const data = toTensors(toy, pre, tok);
    const held = toTensors(makeToy({ n: 128, seed: 4, clinicalStrength: 5, imageStrength: 0, textStrength: 0 }), pre, tok);
    const model = createTriModalModel({
      image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8], depths: [1], strides: [2] },
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'concat', dim: 8 },
      seed: 1,
    });
    const trainer = new Trainer({ epochs: 10, batchSize: 32, learningRate: 5e-3, seed: 1, modalityDropout: false, alignment: false, balancing: false });
    await trainer.fit(model, data);
    const before = tf.memory().numTensors;
    const r = await dropModalityAuc(model, held);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.full).toBeGreaterThan(0.85);
    expect(r.delta.clinical!).toBeLessThan(-0.2);
    expect(Math.abs(r.delta.image!)).toBeLessThan(Math.abs(r.delta.clinical!) / 2);
    expect(r.without.clinical).toBeCloseTo(r.full + r.delta.clinical!, 12);
    const oneClass = { ...held, labels: tf.zerosLike(held.labels) };
    await expect(dropModalityAuc(model, oneClass)).rejects.toSatisfy((e: unknown) => InvalidArgumentError.isInstance(e));
    trainer.dispose();
    model.dispose();
    tf.dispose([...Object.values(data), ...Object.values(held), oneClass.labels]);
  });
});
