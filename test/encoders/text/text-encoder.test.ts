import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, ShapeError } from '../../../src/errors.js';
import { loadModelFromMemory, saveModelToMemory } from '../../../src/core/io.js';
import { assertNoLeaks, assertTensorsClose, runLayerTest } from '../../../src/testing.js';
import {
  createFrozenTextEncoder,
  createTextEncoder,
  embeddingLookup,
  FrozenEmbeddingAdapter,
  frozenEmbeddingAdapter,
  layerNormalization,
  sanitizeIds,
  TokenEmbedding,
  tokenEmbedding,
  type TokenizerJSON,
  WordPieceTokenizer,
} from '../../../src/index.js';
import { createTabularEncoder, TabularPreprocessor } from '../../../src/index.js';
import { onBackend } from '../../helpers/backends.js';
import { maxRelDiff, type PlainInputs, registerEncoderLayers, runModel, trainOneStep } from './helpers.js';
import { expectArgumentError } from '../../helpers/errors.js';

registerEncoderLayers();

const corpus = [
  'Sequences: DWI, ADC | Acute lesion: present | Side: left | Territory: MCA',
  'Location: basal ganglia, corona radiata | Size: large (~40 mL) | Mass effect: mild',
  'Signal: DWI hyperintense, ADC hypointense | Old lesions: none',
  'Impression: acute left MCA territory infarct.',
  'Acute lesion: absent | Impression: no acute infarct.',
];
const tok = WordPieceTokenizer.train(corpus, { vocabSize: 120, minFrequency: 2 }, { maxLength: 12 });
const reports = ['Acute lesion: present | Side: left', 'Impression: no acute infarct.', null, 'Territory: MCA'];
const plainOf = (ts: tf.Tensor[]): PlainInputs => {
  const out = ts.map((x) => ({ data: Float32Array.from(x.dataSync() as Float32Array), shape: x.shape }));
  tf.dispose(ts);
  return out;
};
const encoded = tok.encodeToTensors(reports);
const textInputs = plainOf([encoded.ids, encoded.mask]);
const config = { tokenizer: tok, dim: 8, numLayers: 2, numHeads: 2, ffnDim: 16, seed: 5 } as const;

describe('embeddingLookup', () => {
  it('gathers rows and sums the gradient of repeated ids (cpu and wasm agree with stock tf.gather on cpu)', async () => {
    const table = [[1, 2], [3, 4], [5, 6], [7, 8]];
    const ids = [[2, 0, 2], [3, 2, 1]];
    const dy = [[[1, 0], [0, 1], [2, 2]], [[1, 1], [3, 0], [0, 5]]];
    // d table[2] = [1,0] + [2,2] + [3,0] = [6, 2]; table[0] = [0,1]; table[3] = [1,1]; table[1] = [0,5]
    const expectedGrad = [[0, 1], [0, 5], [6, 2], [1, 1]];
    for (const backend of ['cpu', 'wasm'] as const) {
      await onBackend(backend, () => {
        const t = tf.tensor2d(table);
        const i = tf.tensor2d(ids, [2, 3], 'int32');
        const out = embeddingLookup(t, i);
        assertTensorsClose(out, [[[5, 6], [1, 2], [5, 6]], [[7, 8], [5, 6], [3, 4]]], { atol: 0 });
        const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(x, i), tf.tensor3d(dy))))(t);
        assertTensorsClose(g, expectedGrad, { atol: 1e-6 }, `${backend} gradient`);
        tf.dispose([t, i, out, g]);
      });
    }
    // the stock gather gradient (cpu has UnsortedSegmentSum) is the independent reference
    const t = tf.tensor2d(table);
    const i = tf.tensor2d(ids, [2, 3], 'int32');
    const ref = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, i), tf.tensor3d(dy))))(t);
    assertTensorsClose(ref, expectedGrad, { atol: 1e-6 }, 'stock');
    tf.dispose([t, i, ref]);
  });

  it('sanitizeIds rounds and replaces out-of-range and NaN ids', () => {
    const s = sanitizeIds(tf.tensor1d([0.9, 7, -1, NaN, 4.2]), 5, 1);
    expect(Array.from(s.dataSync())).toEqual([1, 1, 1, 1, 4]);
    expect(s.dtype).toBe('int32');
    s.dispose();
  });
});

describe('text layers', () => {
  it('TokenEmbedding passes the layer-test harness', async () => {
    const report = await runLayerTest({
      create: () => tokenEmbedding({ vocabSize: 10, dim: 4, seed: 1 }),
      inputShapes: [[6]],
      expectedOutputShape: [null, 6, 4],
      expectedTrainableWeights: 1,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('FrozenEmbeddingAdapter passes the harness per token (with mask) and per report', async () => {
    const a = await runLayerTest({
      create: () => frozenEmbeddingAdapter({ dim: 4, seed: 1 }),
      inputShapes: [[5, 6], [5]],
      inputKinds: ['float', 'mask'],
      expectedOutputShape: [
        [null, 5, 4],
        [null, 5],
      ],
      expectedTrainableWeights: 4,
    });
    const b = await runLayerTest({
      create: () => frozenEmbeddingAdapter({ dim: 3, normalize: false, seed: 2 }),
      inputShapes: [[7]],
      expectedOutputShape: [
        [null, 1, 3],
        [null, 1],
      ],
      expectedTrainableWeights: 2,
    });
    tf.dispose([...a.outputs, ...b.outputs]);
  });

  it('LayerNormalization passes the harness and matches tfjs-layers layerNormalization and a hand-computed case', async () => {
    const report = await runLayerTest({
      create: () => layerNormalization(),
      inputShapes: [[3, 5]],
      expectedOutputShape: [null, 3, 5],
      expectedTrainableWeights: 2,
    });
    tf.dispose(report.outputs);
    const x = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 3);
    const ours = layerNormalization({ epsilon: 1e-3 }).apply(x) as tf.Tensor;
    const stock = tfl.layers.layerNormalization({ epsilon: 1e-3 }).apply(x) as tf.Tensor;
    assertTensorsClose(ours, stock, { atol: 1e-5 });
    const y = layerNormalization({ epsilon: 1e-5 }).apply(tf.tensor2d([[1, 3]])) as tf.Tensor;
    assertTensorsClose(y, [[-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5)]], { atol: 1e-6 });
    tf.dispose([x, ours, stock, y]);
  });

  it('FrozenEmbeddingAdapter computes x·W + b (no norm) by hand and passes the mask through', () => {
    const layer = new FrozenEmbeddingAdapter({ dim: 2, normalize: false });
    const x = tf.tensor2d([[1, 2, 3]]);
    layer.apply(x);
    layer.setWeights([tf.tensor2d([[1, 0], [0, 1], [1, 1]]), tf.tensor1d([0.5, -0.5])]);
    const [tokens, mask] = layer.apply([x, tf.tensor2d([[0]])]) as tf.Tensor[];
    assertTensorsClose(tokens!, [[[4.5, 4.5]]], { atol: 1e-6 });
    assertTensorsClose(mask!, [[0]], { atol: 0 });
    tf.dispose([x, tokens!, mask!]);
  });

  it('rejects bad arguments and shapes', () => {
    expectArgumentError(() => new TokenEmbedding({ vocabSize: 0, dim: 2 }), InvalidArgumentError, 'vocabSize');
    expectArgumentError(() => new TokenEmbedding({ vocabSize: 5, dim: 2, oovId: 5 }), InvalidArgumentError, 'oovId');
    expectArgumentError(() => new TokenEmbedding({ vocabSize: 5, dim: 2, embeddingsInitializer: 'ones' as never }), InvalidArgumentError, 'embeddingsInitializer');
    expectArgumentError(() => new FrozenEmbeddingAdapter({ dim: 2, normalize: 'yes' as never }), InvalidArgumentError, 'normalize');
    expectArgumentError(() => new TokenEmbedding({ vocabSize: 5, dim: 2 }).apply(tf.zeros([2, 3, 1])), ShapeError, 'ids');
    expectArgumentError(() => new FrozenEmbeddingAdapter({ dim: 2 }).apply([tf.zeros([2, 4]), tf.zeros([2, 3])]), ShapeError, 'mask');
  });
});

describe('createTextEncoder', () => {
  it('returns token states, mask and pooled vector with the documented shapes; a missing report pools to zeros', () => {
    const enc = createTextEncoder(config);
    expect(enc.shapes).toEqual({ ids: [null, 12], mask: [null, 12], tokens: [null, 12, 8], pooled: [null, 8] });
    const { ids, mask } = tok.encodeToTensors(reports);
    const [tokens, m, pooled] = enc.model.predict([ids, mask]) as tf.Tensor[];
    expect(tokens!.shape).toEqual([4, 12, 8]);
    assertTensorsClose(m!, mask, { atol: 0 });
    const p = pooled!.arraySync() as number[][];
    expect(p[2]!.every((v) => v === 0)).toBe(true);
    expect(p.flat().every(Number.isFinite)).toBe(true);
    // pooled = masked mean of the token states
    const manual = tf.div(tf.sum(tf.mul(tokens!, tf.expandDims(mask, 2)), 1), tf.maximum(tf.sum(mask, 1, true), 1));
    assertTensorsClose(pooled!, manual, { atol: 1e-5 });
    tf.dispose([ids, mask, tokens!, m!, pooled!, manual]);
  });

  it('builds inside a user functional model and trains one step on cpu and on wasm (trainable and frozen)', async () => {
    const frozenInputs: PlainInputs = [
      { data: Float32Array.from({ length: 4 * 6 }, (_, i) => Math.cos(i)), shape: [4, 6] },
      { data: Float32Array.from([1, 1, 0, 1]), shape: [4, 1] },
    ];
    for (const backend of ['cpu', 'wasm'] as const) {
      const res = await trainOneStep(
        backend,
        () => {
          const enc = createTextEncoder(config);
          return { model: enc.model, inputs: [enc.inputs.ids, enc.inputs.mask], pooled: enc.outputs.pooled };
        },
        textInputs,
        [1, 0, 1, 0],
      );
      expect(Number.isFinite(res.loss)).toBe(true);
      res.moved.forEach((m, i) => expect(m, `${backend} ${res.names[i]}`).toBeGreaterThan(0));
      const fr = await trainOneStep(
        backend,
        () => {
          const enc = createFrozenTextEncoder({ inDim: 6, dim: 4, seed: 1 });
          return { model: enc.model, inputs: [enc.inputs.embeddings, enc.inputs.mask], pooled: enc.outputs.pooled };
        },
        frozenInputs,
        [1, 0, 1, 0],
      );
      fr.moved.forEach((m, i) => expect(m, `${backend} frozen ${fr.names[i]}`).toBeGreaterThan(0));
    }
  });

  it('gives the same outputs and gradients on cpu and wasm (1e-4)', async () => {
    const build = () => createTextEncoder(config).model;
    const cpu = await runModel('cpu', build, textInputs, null);
    const wasm = await runModel('wasm', build, textInputs, cpu.weights);
    expect(maxRelDiff(wasm.outputs, cpu.outputs)).toBeLessThan(1e-4);
    expect(maxRelDiff(wasm.grads, cpu.grads)).toBeLessThan(1e-4);
    expect(cpu.grads.every((g) => g.some((v) => v !== 0))).toBe(true);
    const frozenIn: PlainInputs = [
      { data: Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.sin(i)), shape: [2, 3, 5] },
      { data: Float32Array.from([1, 1, 0, 1, 0, 0]), shape: [2, 3] },
    ];
    const fbuild = () => createFrozenTextEncoder({ inDim: 5, tokens: 3, dim: 4, seed: 2 }).model;
    const fc1 = await runModel('cpu', fbuild, frozenIn, null);
    const fw = await runModel('wasm', fbuild, frozenIn, fc1.weights);
    expect(maxRelDiff(fw.outputs, fc1.outputs)).toBeLessThan(1e-4);
    expect(maxRelDiff(fw.grads, fc1.grads)).toBeLessThan(1e-4);
  });

  it('save/load of the model plus the tokenizer.json reproduces outputs from raw text exactly', async () => {
    const enc = createTextEncoder(config);
    const artifacts = await saveModelToMemory(enc.model);
    const tokenizerJson = JSON.stringify(tok.toJSON());
    const model = await loadModelFromMemory(artifacts);
    const tok2 = WordPieceTokenizer.fromJSON(JSON.parse(tokenizerJson) as TokenizerJSON);
    const a = tok.encodeToTensors(reports);
    const b = tok2.encodeToTensors(reports);
    const outA = enc.model.predict([a.ids, a.mask]) as tf.Tensor[];
    const outB = model.predict([b.ids, b.mask]) as tf.Tensor[];
    outA.forEach((t, i) => assertTensorsClose(outB[i]!, t, { atol: 0 }, `output ${i}`));
    const frozen = createFrozenTextEncoder({ inDim: 5, dim: 4, seed: 3 });
    const fm = await loadModelFromMemory(await saveModelToMemory(frozen.model));
    const e = tf.randomNormal([3, 5], 0, 1, 'float32', 1);
    const present = tf.tensor2d([[1], [0], [1]]);
    const fa = frozen.model.predict([e, present]) as tf.Tensor[];
    const fb = fm.predict([e, present]) as tf.Tensor[];
    fa.forEach((t, i) => assertTensorsClose(fb[i]!, t, { atol: 0 }));
    expect((fa[2]!.arraySync() as number[][])[1]!.every((v) => v === 0)).toBe(true);
    tf.dispose([a.ids, a.mask, b.ids, b.mask, ...outA, ...outB, e, present, ...fa, ...fb]);
    model.dispose();
    fm.dispose();
  });

  it('composes with the tabular encoder in one tf.model that trains and round-trips', async () => {
    const pre = new TabularPreprocessor({ columns: [{ name: 'age', type: 'numeric' }, { name: 'sex', type: 'categorical' }] }).fit([
      { age: 70, sex: 'F' },
      { age: 60, sex: 'M' },
    ]);
    const text = createTextEncoder(config);
    const table = createTabularEncoder({ features: pre, dim: 8, numLayers: 1, numHeads: 2, seed: 1 });
    const fused = tfl.layers.concatenate().apply([text.outputs.pooled, table.outputs.pooled]) as tfl.SymbolicTensor;
    const logit = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(fused) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: [text.inputs.ids, text.inputs.mask, table.inputs.values, table.inputs.mask], outputs: logit });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
    const t = tok.encodeToTensors(reports);
    const c = pre.transform([{ age: 71, sex: 'F' }, { age: null, sex: 'M' }, { age: 50, sex: 'X' }, { age: 65 }]);
    const xs = [t.ids, t.mask, c.values, c.mask];
    const y = tf.tensor2d([[1], [0], [1], [0]]);
    const loss = (await model.trainOnBatch(xs, y)) as number;
    expect(Number.isFinite(loss)).toBe(true);
    // apply(): the text encoder's weights on a second report input (e.g. a second report per patient)
    const ids2 = tfl.input({ shape: [12] });
    const mask2 = tfl.input({ shape: [12] });
    const twin = tfl.model({ inputs: [ids2, mask2], outputs: text.apply(ids2, mask2).pooled });
    const q0 = (text.model.predict([t.ids, t.mask]) as tf.Tensor[])[2]!;
    const q1 = twin.predict([t.ids, t.mask]) as tf.Tensor;
    assertTensorsClose(q1, q0, { atol: 0 });
    tf.dispose([q0, q1]);
    const loaded = await loadModelFromMemory(await saveModelToMemory(model));
    const p1 = model.predict(xs) as tf.Tensor;
    const p2 = loaded.predict(xs) as tf.Tensor;
    assertTensorsClose(p2, p1, { atol: 0 });
    tf.dispose([...xs, y, p1, p2]);
    loaded.dispose();
  });

  fcTest.prop(
    [fc.array(fc.integer({ min: 0, max: 119 }), { minLength: 12, maxLength: 12 }), fc.integer({ min: 0, max: 4 })],
    { numRuns: 6 },
  )('padding never changes the pooled output or the valid token states (pad ids, pad count)', (junk, extra) => {
    const enc = createTextEncoder({ ...config, variableLength: true, maxLength: 16 });
    const { ids, mask } = tok.encodeToTensors(reports, { maxLength: 12 });
    const m = mask;
    // 1. different ids at padded positions
    const altered = tf.add(tf.mul(ids, m), tf.mul(tf.sub(1, m), tf.tensor1d(junk)));
    // 2. more padding at the end
    const longer = tf.pad(ids, [[0, 0], [0, extra]], tok.padId);
    const longerMask = tf.pad(m, [[0, 0], [0, extra]], 0);
    const [t0, , p0] = enc.model.predict([ids, m]) as tf.Tensor[];
    const [t1, , p1] = enc.model.predict([altered, m]) as tf.Tensor[];
    const [t2, , p2] = enc.model.predict([longer, longerMask]) as tf.Tensor[];
    assertTensorsClose(p1!, p0!, { atol: 1e-5 });
    assertTensorsClose(p2!, p0!, { atol: 1e-5 });
    const valid = tf.expandDims(m, 2);
    assertTensorsClose(tf.mul(t1!, valid), tf.mul(t0!, valid), { atol: 1e-5 });
    assertTensorsClose(tf.mul(tf.slice(t2!, [0, 0, 0], [-1, 12, -1]), valid), tf.mul(t0!, valid), { atol: 1e-5 });
    tf.dispose([ids, m, altered, longer, longerMask, t0!, p0!, t1!, p1!, t2!, p2!, valid]);
    enc.model.dispose();
  });

  it('does not leak tensors in predict', async () => {
    const enc = createTextEncoder(config);
    const ids = tf.tensor(textInputs[0]!.data, textInputs[0]!.shape);
    const mask = tf.tensor(textInputs[1]!.data, textInputs[1]!.shape);
    tf.dispose(enc.model.predict([ids, mask]) as tf.Tensor[]);
    await assertNoLeaks(() => enc.model.predict([ids, mask]) as tf.Tensor[]);
    tf.dispose([ids, mask]);
  });

  it('rejects bad configs with the argument named', () => {
    expectArgumentError(() => createTextEncoder({}), InvalidArgumentError, 'vocabSize');
    expectArgumentError(() => createTextEncoder({ vocabSize: 10 }), InvalidArgumentError, 'maxLength');
    expectArgumentError(() => createTextEncoder({ ...config, numHeads: 3 }), InvalidArgumentError, 'numHeads');
    expectArgumentError(() => createTextEncoder({ ...config, dropout: 2 }), InvalidArgumentError, 'dropout');
    expectArgumentError(() => createTextEncoder({ ...config, name: '1x' }), InvalidArgumentError, 'name');
    expectArgumentError(() => createTextEncoder({ ...config, variableLength: 1 as never }), InvalidArgumentError, 'variableLength');
    expectArgumentError(() => createFrozenTextEncoder({ inDim: 0 }), InvalidArgumentError, 'inDim');
    expectArgumentError(() => createFrozenTextEncoder({ inDim: 4, tokens: 0 }), InvalidArgumentError, 'tokens');
    expectArgumentError(() => createFrozenTextEncoder(undefined as never), InvalidArgumentError, 'config');
    const tiny = JSON.parse(readFileSync(new URL('../../fixtures/text-encoder/bert-tiny-uncased.tokenizer.json', import.meta.url), 'utf8'));
    const enc = createTextEncoder({ tokenizer: WordPieceTokenizer.fromJSON(tiny, { maxLength: 6 }), dim: 4, numHeads: 1, numLayers: 1 });
    expect(enc.shapes.tokens).toEqual([null, 6, 4]);
  });
});
