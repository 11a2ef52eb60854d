import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, ShapeError } from '../../../src/errors.js';
import { loadModelFromMemory, saveModelToMemory } from '../../../src/core/io.js';
import { assertNoLeaks, assertTensorsClose, runLayerTest } from '../../../src/testing.js';
import {
  ClsAttentionImportance,
  clsAttentionImportance,
  clsTokenSplit,
  createTabularEncoder,
  FeatureTokenizer,
  featureTokenizer,
  type TableInput,
  TabularMLP,
  tabularMLP,
  TabularPreprocessor,
} from '../../../src/index.js';
import { maxRelDiff, type PlainInputs, registerEncoderLayers, runModel, trainOneStep } from '../text/helpers.js';
import { expectArgumentError } from '../../helpers/errors.js';

registerEncoderLayers();

const columns = [
  { name: 'age', type: 'numeric' as const },
  { name: 'sex', type: 'categorical' as const },
  { name: 'nihss', type: 'numeric' as const },
  { name: 'afib', type: 'binary' as const },
  { name: 'toast', type: 'categorical' as const },
];
const rows = [
  { age: 71, sex: 'F', nihss: 12, afib: true, toast: 'LAA' },
  { age: 64, sex: 'M', nihss: null, afib: false, toast: 'CE' },
  { age: 80, sex: 'F', nihss: 4, afib: 1, toast: 'SVO' },
  { age: null, sex: null, nihss: 20, afib: null, toast: 'CE' },
  { age: 55, sex: 'M', nihss: 7, afib: 0, toast: 'UND' },
];
const pre = new TabularPreprocessor({ columns }).fit(rows.slice(0, 4));
const plain = (t: { values: tf.Tensor; mask: tf.Tensor }): PlainInputs => {
  const out = [t.values, t.mask].map((x) => ({ data: Float32Array.from(x.dataSync() as Float32Array), shape: x.shape }));
  tf.dispose([t.values, t.mask]);
  return out;
};
const tableInputs = plain(pre.transform(rows));

describe('tabular layers', () => {
  it('FeatureTokenizer passes the layer-test harness', async () => {
    const report = await runLayerTest({
      create: () => featureTokenizer({ numScalar: 3, cardinalities: [3, 4], dim: 6, seed: 1 }),
      inputShapes: [[5], [5]],
      inputKinds: ['float', 'mask'],
      expectedOutputShape: [null, 6, 6],
      expectedTrainableWeights: 5,
      batchSize: 4,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('TabularMLP passes the layer-test harness', async () => {
    const report = await runLayerTest({
      create: () => tabularMLP({ numScalar: 2, cardinalities: [3], dim: 4, hiddenUnits: [8, 8], activation: 'gelu', seed: 2 }),
      inputShapes: [[3], [3]],
      inputKinds: ['float', 'mask'],
      expectedOutputShape: [null, 4],
      expectedTrainableWeights: 7,
      batchSize: 4,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('ClsTokenSplit and ClsAttentionImportance pass the layer-test harness', async () => {
    const a = await runLayerTest({
      create: () => clsTokenSplit(),
      inputShapes: [[4, 6]],
      expectedOutputShape: [
        [null, 6],
        [null, 3, 6],
      ],
      expectedTrainableWeights: 0,
    });
    const b = await runLayerTest({
      create: () => clsAttentionImportance(),
      inputShapes: [
        [2, 4, 4],
        [2, 4, 4],
      ],
      expectedOutputShape: [null, 3],
      expectedTrainableWeights: 0,
    });
    tf.dispose([...a.outputs, ...b.outputs]);
  });

  it('FeatureTokenizer computes x·w + b, categorical rows, missing embeddings and CLS by hand', () => {
    const layer = new FeatureTokenizer({ numScalar: 2, cardinalities: [3], dim: 2 });
    const values = tf.tensor2d([
      [2, -1, 2],
      [0.5, 3, 7], // 7 is out of range → unseen row 0
    ]);
    const mask = tf.tensor2d([
      [1, 0, 1],
      [1, 1, 1],
    ]);
    layer.apply([values, mask]);
    // weights in creation order: scalar_kernel, scalar_bias, category_embeddings, missing_embeddings, cls_token
    layer.setWeights([
      tf.tensor2d([[1, 2], [3, 4]]),
      tf.tensor2d([[0.1, 0.2], [0.3, 0.4]]),
      tf.tensor2d([[10, 11], [20, 21], [30, 31]]),
      tf.tensor2d([[-1, -2], [-3, -4], [-5, -6]]),
      tf.tensor2d([[100, 200]]),
    ]);
    const out = layer.apply([values, mask]) as tf.Tensor;
    assertTensorsClose(out, [
      [[100, 200], [2.1, 4.2], [-3, -4], [30, 31]],
      [[100, 200], [0.6, 1.2], [9.3, 12.4], [10, 11]],
    ], { atol: 1e-6 });
    // without a mask every feature is present
    const noMask = layer.apply(values) as tf.Tensor;
    assertTensorsClose(tf.slice(noMask, [0, 2, 0], [1, 1, 2]), [[[-2.7, -3.6]]], { atol: 1e-6 });
    tf.dispose([values, mask, out, noMask]);
  });

  it('ClsAttentionImportance averages CLS→feature attention over heads and layers (by hand)', () => {
    // 1 sample, 2 heads, 3 tokens (CLS + 2 features); CLS rows: layer 1 heads [.2 .5 .3], [.4 .4 .2];
    // layer 2 heads [.1 .1 .8], [.3 .3 .4] → features: mean(.5,.4,.1,.3) = .325, mean(.3,.2,.8,.4) = .425
    const rest = [0, 0, 1];
    const a1 = tf.tensor4d([[[[0.2, 0.5, 0.3], rest, rest], [[0.4, 0.4, 0.2], rest, rest]]]);
    const a2 = tf.tensor4d([[[[0.1, 0.1, 0.8], rest, rest], [[0.3, 0.3, 0.4], rest, rest]]]);
    const imp = new ClsAttentionImportance().apply([a1, a2]) as tf.Tensor;
    assertTensorsClose(imp, [[0.325, 0.425]], { atol: 1e-6 });
    const single = new ClsAttentionImportance().apply(a1) as tf.Tensor;
    assertTensorsClose(single, [[0.45, 0.25]], { atol: 1e-6 });
    tf.dispose([a1, a2, imp, single]);
  });

  it('rejects bad arguments and shapes with the argument named', () => {
    expectArgumentError(() => new FeatureTokenizer({ numScalar: 1, cardinalities: [0], dim: 2 }), InvalidArgumentError, 'cardinalities');
    expectArgumentError(() => new FeatureTokenizer({ numScalar: 0, cardinalities: [], dim: 2 }), InvalidArgumentError, 'numScalar');
    expectArgumentError(() => new FeatureTokenizer({ numScalar: 1, cardinalities: [], dim: 0 }), InvalidArgumentError, 'dim');
    expectArgumentError(() => new FeatureTokenizer(undefined as never), InvalidArgumentError, 'args');
    expectArgumentError(() => new TabularMLP({ numScalar: 1, cardinalities: [], dim: 2, hiddenUnits: [4, 0] }), InvalidArgumentError, 'hiddenUnits[1]');
    expectArgumentError(() => new TabularMLP({ numScalar: 1, cardinalities: [], dim: 2, activation: 'tanh' as never }), InvalidArgumentError, 'activation');
    expectArgumentError(() => new TabularMLP({ numScalar: 1, cardinalities: [], dim: 2, dropout: 1 }), InvalidArgumentError, 'dropout');
    const layer = new FeatureTokenizer({ numScalar: 2, cardinalities: [3], dim: 2 });
    expectArgumentError(() => layer.apply(tf.zeros([2, 4])), ShapeError, 'values');
    expect(() => layer.apply([tf.zeros([2, 3]), tf.zeros([2, 2])])).toThrowError(/mask/);
  });
});

describe('createTabularEncoder', () => {
  const ftConfig = { features: pre, dim: 8, numLayers: 2, numHeads: 2, seed: 3 } as const;

  it('returns tokens, mask, pooled CLS and importance with the documented shapes', () => {
    const enc = createTabularEncoder(ftConfig);
    expect(enc.outputNames).toEqual(['tokens', 'mask', 'pooled', 'importance']);
    expect(enc.shapes).toEqual({ values: [null, 5], mask: [null, 5], pooled: [null, 8], tokens: [null, 5, 8], importance: [null, 5] });
    expect(enc.featureNames).toEqual(['age', 'nihss', 'afib', 'sex', 'toast']);
    expect(enc.outputs.tokens!.shape).toEqual([null, 5, 8]);
    const { values, mask } = pre.transform(rows);
    const [tokens, m, pooled, importance] = enc.model.predict([values, mask]) as tf.Tensor[];
    expect(tokens!.shape).toEqual([5, 5, 8]);
    expect(pooled!.shape).toEqual([5, 8]);
    assertTensorsClose(m!, mask, { atol: 0 });
    const imp = importance!.arraySync() as number[][];
    for (const r of imp) {
      expect(r.every((v) => v >= 0)).toBe(true);
      expect(r.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    }
    tf.dispose([values, mask, tokens!, m!, pooled!, importance!]);
  });

  it('builds inside a user functional model with other inputs and trains one step on cpu and on wasm', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      for (const type of ['ftTransformer', 'mlp'] as const) {
        const res = await trainOneStep(
          backend,
          () => {
            const enc = createTabularEncoder({ ...ftConfig, type, hiddenUnits: [8] });
            return { model: enc.model, inputs: [enc.inputs.values, enc.inputs.mask], pooled: enc.outputs.pooled };
          },
          tableInputs,
          [1, 0, 1, 0, 1],
        );
        expect(Number.isFinite(res.loss)).toBe(true);
        res.moved.forEach((m, i) => expect(m, `${backend} ${type} ${res.names[i]}`).toBeGreaterThan(0));
      }
    }
  });

  it('gives the same outputs and gradients on cpu and wasm (1e-4)', async () => {
    for (const type of ['ftTransformer', 'mlp'] as const) {
      const build = () => createTabularEncoder({ ...ftConfig, type, hiddenUnits: [8, 8] }).model;
      const cpu = await runModel('cpu', build, tableInputs, null);
      const wasm = await runModel('wasm', build, tableInputs, cpu.weights);
      expect(maxRelDiff(wasm.outputs, cpu.outputs), `${type} outputs`).toBeLessThan(1e-4);
      expect(maxRelDiff(wasm.grads, cpu.grads), `${type} gradients`).toBeLessThan(1e-4);
      expect(cpu.grads.every((g) => g.some((v) => v !== 0))).toBe(true);
    }
  });

  it('save/load of the model plus the preprocessor state reproduces outputs from raw rows exactly', async () => {
    for (const type of ['ftTransformer', 'mlp'] as const) {
      const enc = createTabularEncoder({ ...ftConfig, type });
      const artifacts = await saveModelToMemory(enc.model);
      const state = JSON.stringify(pre.toJSON());
      const model = await loadModelFromMemory(artifacts);
      const pre2 = TabularPreprocessor.fromJSON(state);
      const a = pre.transform(rows as TableInput);
      const b = pre2.transform(rows as TableInput);
      const outA = enc.model.predict([a.values, a.mask]) as tf.Tensor | tf.Tensor[];
      const outB = model.predict([b.values, b.mask]) as tf.Tensor | tf.Tensor[];
      const la = Array.isArray(outA) ? outA : [outA];
      const lb = Array.isArray(outB) ? outB : [outB];
      expect(lb.length).toBe(la.length);
      la.forEach((t, i) => assertTensorsClose(lb[i]!, t, { atol: 0 }, `${type} output ${i}`));
      tf.dispose([a.values, a.mask, b.values, b.mask, ...la, ...lb]);
      model.dispose();
    }
  });

  it('composes with a second tabular encoder in one model when names differ', () => {
    const a = createTabularEncoder({ ...ftConfig, name: 'labs' });
    const b = createTabularEncoder({ ...ftConfig, type: 'mlp', name: 'history' });
    const joined = tfl.layers.concatenate().apply([a.outputs.pooled, b.outputs.pooled]) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: [a.inputs.values, a.inputs.mask, b.inputs.values, b.inputs.mask], outputs: joined });
    expect(model.outputs[0]!.shape).toEqual([null, 16]);
    // or share the inputs
    const shared = createTabularEncoder({ ...ftConfig, type: 'mlp', name: 'shared', inputs: a.inputs });
    expect(shared.inputs.values).toBe(a.inputs.values);
    // apply(): the same weights on other symbolic inputs
    const v2 = tfl.input({ shape: [5] });
    const m2 = tfl.input({ shape: [5] });
    const again = a.apply(v2, m2);
    const twin = tfl.model({ inputs: [v2, m2], outputs: again.pooled });
    const values = tf.tensor(tableInputs[0]!.data, tableInputs[0]!.shape);
    const mask = tf.tensor(tableInputs[1]!.data, tableInputs[1]!.shape);
    const p1 = twin.predict([values, mask]) as tf.Tensor;
    const p0 = (a.model.predict([values, mask]) as tf.Tensor[])[2]!;
    assertTensorsClose(p1, p0, { atol: 0 });
    expect(twin.trainableWeights.length).toBe(a.model.trainableWeights.length);
    tf.dispose([values, mask, p0, p1]);
  });

  fcTest.prop([fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 25, maxLength: 25 })], { numRuns: 8 })(
    'values at missing positions (mask 0) never change any output',
    (noise) => {
      const enc = createTabularEncoder({ ...ftConfig, seed: 4 });
      const mlp = createTabularEncoder({ ...ftConfig, type: 'mlp', seed: 4 });
      const values = tf.tensor(tableInputs[0]!.data, tableInputs[0]!.shape);
      const mask = tf.tensor(tableInputs[1]!.data, tableInputs[1]!.shape);
      const altered = tf.add(tf.mul(values, mask), tf.mul(tf.sub(1, mask), tf.tensor(noise, mask.shape)));
      for (const m of [enc.model, mlp.model]) {
        const a = m.predict([values, mask]) as tf.Tensor | tf.Tensor[];
        const b = m.predict([altered, mask]) as tf.Tensor | tf.Tensor[];
        const la = Array.isArray(a) ? a : [a];
        const lb = Array.isArray(b) ? b : [b];
        la.forEach((t, i) => assertTensorsClose(lb[i]!, t, { atol: 1e-5 }));
        tf.dispose([...la, ...lb]);
      }
      tf.dispose([values, mask, altered]);
      enc.model.dispose();
      mlp.model.dispose();
    },
  );

  it('does not leak tensors in predict', async () => {
    const enc = createTabularEncoder(ftConfig);
    const values = tf.tensor(tableInputs[0]!.data, tableInputs[0]!.shape);
    const mask = tf.tensor(tableInputs[1]!.data, tableInputs[1]!.shape);
    tf.dispose(enc.model.predict([values, mask]) as tf.Tensor[]);
    await assertNoLeaks(() => enc.model.predict([values, mask]) as tf.Tensor[]);
    tf.dispose([values, mask]);
  });

  it('rejects bad configs with the argument named', () => {
    expectArgumentError(() => createTabularEncoder({ features: {} as never }), InvalidArgumentError, 'features');
    expectArgumentError(() => createTabularEncoder({ features: new TabularPreprocessor({ columns }) }), InvalidArgumentError, 'this');
    expectArgumentError(() => createTabularEncoder({ ...ftConfig, type: 'tabnet' as never }), InvalidArgumentError, 'type');
    expectArgumentError(() => createTabularEncoder({ ...ftConfig, numHeads: 3 }), InvalidArgumentError, 'numHeads');
    expectArgumentError(() => createTabularEncoder({ ...ftConfig, dim: -1 }), InvalidArgumentError, 'dim');
    expectArgumentError(() => createTabularEncoder({ ...ftConfig, name: 'bad name' }), InvalidArgumentError, 'name');
    expectArgumentError(() => createTabularEncoder({ ...ftConfig, numLayers: 1.5 }), InvalidArgumentError, 'numLayers');
    expectArgumentError(() => createTabularEncoder(null as never), InvalidArgumentError, 'config');
    expectArgumentError(
      () => createTabularEncoder({ ...ftConfig, inputs: { values: tfl.input({ shape: [5, 1] }), mask: tfl.input({ shape: [5] }) } }),
      InvalidArgumentError,
      'inputs',
    );
  });
});
