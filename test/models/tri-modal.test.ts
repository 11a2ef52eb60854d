import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { createTriModalModel, InvalidArgumentError, loadModelFromMemory, saveModelToMemory } from '../../src/index.js';
import { assertTensorsClose } from '../../src/testing.js';
import { makeToy, toTensors, toyEncoders } from '../training/toy.js';
import { expectArgumentError } from '../helpers/errors.js';

function data() {
  const { pre, tok } = toyEncoders();
  const toy = makeToy({ n: 6, seed: 3 });
  pre.fit(toy.rows);
  return { pre, tok, batch: toTensors(toy, pre, tok) };
}
const image = { inputShape: [8, 8, 2], spatialDims: 2 as const, widths: [8, 8], depths: [1, 1], strides: [1, 2] };

describe('createTriModalModel', () => {
  it('builds the full model with VDAFM: outputs, groups, predict with interpretability outputs', () => {
    const { pre, tok, batch } = data();
    const model = createTriModalModel({
      image,
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1 },
      returnAttention: true,
    });
    expect(model.inputNames).toEqual(['image', 'textIds', 'textMask', 'clinicalValues', 'clinicalMask']);
    expect(model.outputNames.slice(0, 4)).toEqual(['logits', 'aux_image', 'aux_text', 'aux_clinical']);
    const groups = model.variableGroups();
    const total = Object.values(groups).reduce((n, g) => n + g.length, 0);
    expect(total).toBe(model.trainableVariables().length);
    expect(groups['image']!.length).toBeGreaterThan(0);
    expect(groups['text']!.length).toBeGreaterThan(0);
    expect(groups['clinical']!.length).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    const r = model.predict(batch, { auxiliary: true, gate: true, attention: true, importance: true });
    expect(r.probabilities.shape).toEqual([6]);
    const p = Array.from(r.probabilities.dataSync());
    expect(p.every((x) => x > 0 && x < 1)).toBe(true);
    expect(Object.keys(r.auxiliary!)).toEqual(['image', 'text', 'clinical']);
    expect(r.gate!.shape).toEqual([6, 8]);
    expect(r.visionToTextAttention![0]!.shape[0]).toBe(6);
    expect(r.clinicalImportance!.shape).toEqual([6, 3]);
    // a missing report (toy sample 5) gets gate 1: the vision-only path
    expect(Array.from((r.gate!.arraySync() as number[][])[5]!).every((g) => g === 1)).toBe(true);
    tf.dispose([r.probabilities, ...Object.values(r.auxiliary!), r.gate!, ...r.visionToTextAttention!, ...r.textToVisionAttention!, r.clinicalImportance!]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('builds every ablation subset, multi-class and ordinal heads', () => {
    const { pre, tok, batch } = data();
    const text = { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 };
    const clinical = { features: pre, dim: 8, numLayers: 1, numHeads: 2 };
    const configs = [
      { image },
      { text },
      { clinical },
      { image, clinical },
      { image, text, fusion: { type: 'vdafm' as const, dim: 8, numHeads: 2, numLayers: 1, clinical: 'none' as const } },
      { image, text, clinical, fusion: { type: 'concat' as const, dim: 8 } },
      { image, text, clinical, fusion: { type: 'vdafm' as const, dim: 8, numHeads: 2, numLayers: 1 }, head: { type: 'multiclass' as const, numClasses: 7 } },
      { image, text, clinical, fusion: { type: 'film' as const, dim: 8 }, head: { type: 'ordinal' as const, numClasses: 7 } },
    ];
    for (const config of configs) {
      const model = createTriModalModel(config);
      const r = model.predict(batch);
      const want = (config as { head?: { type: string } }).head?.type ?? 'binary';
      expect(r.probabilities.shape).toEqual(want === 'binary' ? [6] : [6, 7]);
      if (want !== 'binary') assertTensorsClose(tf.sum(r.probabilities, 1), tf.ones([6]), { atol: 1e-5 });
      r.probabilities.dispose();
      model.dispose();
    }
  });

  it('dispose releases every weight, encoders included', () => {
    const { pre, tok, batch } = data();
    const before = tf.memory().numTensors;
    const model = createTriModalModel({
      image,
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1 },
    });
    const r = model.predict(batch);
    r.probabilities.dispose();
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accepts a user-supplied encoder model', () => {
    const { pre, batch } = data();
    const input = tfl.input({ shape: [8, 8, 2] });
    const flat = tfl.layers.reshape({ targetShape: [64, 2] }).apply(input) as tfl.SymbolicTensor;
    const tokens = tfl.layers.dense({ units: 8 }).apply(flat) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling1d().apply(tokens) as tfl.SymbolicTensor;
    const mine = tfl.model({ inputs: input, outputs: [tokens, pooled] });
    const model = createTriModalModel({ image: { model: mine }, clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 } });
    expect(model.variableGroups()['image']!.length).toBe(2);
    const r = model.predict(batch);
    expect(r.probabilities.shape).toEqual([6]);
    r.probabilities.dispose();
  });

  it('saves and loads (functional model) with identical predictions', async () => {
    const { pre, tok, batch } = data();
    const model = createTriModalModel({
      image,
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1 },
    });
    const a = model.model.predict(model.inputsOf(batch)) as tf.Tensor[];
    const loaded = await loadModelFromMemory(await saveModelToMemory(model.model));
    const b = loaded.predict(model.inputsOf(batch)) as tf.Tensor[];
    a.forEach((t, i) => assertTensorsClose(b[i]!, t, { atol: 1e-6 }));
  });

  it('rejects bad configurations with the argument named', () => {
    const { pre } = data();
    const bad = (config: object, argument: string) => expectArgumentError(() => createTriModalModel(config as never), InvalidArgumentError, argument);
    bad({}, 'config');
    bad({ clinical: { features: pre }, fusion: { type: 'vdafm' } }, 'fusion.type');
    bad({ image, head: { type: 'survival' } }, 'head.type');
    bad({ image, head: { type: 'multiclass', numClasses: 1 } }, 'head.numClasses');
  });
});
