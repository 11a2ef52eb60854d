/**
 * `runLayerTest`: one harness that every layer passes (after Keras's `run_layer_test`).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadModelFromMemory, saveModelToMemory } from '../core/io.js';
import { assertNoLeaks, assertTensorsClose, collectTensors } from './assertions.js';
import type { Shape } from '../core/validate.js';


/** What {@link runLayerTest} checks and how. */
export interface LayerTestSpec {
  /** Makes a fresh, unbuilt layer (called several times). */
  create: () => tfl.layers.Layer;
  /** Shape of each input *without* the batch axis, e.g. `[[49, 64], [32, 64], [32]]`. */
  inputShapes: Array<Array<number>>;
  /**
   * Kind of each input: random normal floats, or a 0/1 mask (every row keeps its first entry).
   * @defaultValue all 'float'
   */
  inputKinds?: Array<'float' | 'mask'>;
  /** Expected output shape(s) with `null` for the batch axis, e.g. `[null, 49, 64]`. */
  expectedOutputShape: Shape | Shape[];
  /** Expected number of trainable weights. */
  expectedTrainableWeights: number;
  /** Expected number of non-trainable weights. @defaultValue 0 */
  expectedNonTrainableWeights?: number;
  /**
   * Names (substrings) of trainable weights allowed to stay unchanged after the optimizer
   * steps (e.g. weights behind a zero-initialised gate get no gradient at step one).
   * @defaultValue []
   */
  allowUnchangedWeights?: string[];
  /** Optimizer steps before checking every weight moved. @defaultValue 1 */
  optimizerSteps?: number;
  /** Batch size of the eager inputs. @defaultValue 2 */
  batchSize?: number;
  /** Seed of the random inputs. @defaultValue 1 */
  seed?: number;
}

/** What {@link runLayerTest} verified, for the calling test to inspect. */
export interface LayerTestReport {
  /** Names of the checks that passed, in order. */
  checks: string[];
  /** Eager outputs of the first call (owned by the report; dispose when done). */
  outputs: tf.Tensor[];
}

function fail(check: string, message: string): never {
  throw new Error(`runLayerTest [${check}]: ${message}`);
}

function sameShape(a: ReadonlyArray<number | null>, b: ReadonlyArray<number | null>): boolean {
  return a.length === b.length && a.every((d, i) => (d ?? null) === (b[i] ?? null));
}

function asShapes(s: Shape | Shape[]): Shape[] {
  return Array.isArray(s[0]) || s.length === 0 ? (s as Shape[]) : [s as Shape];
}

/** Random eager inputs for the spec (the caller disposes them). */
export function makeLayerInputs(spec: Pick<LayerTestSpec, 'inputShapes' | 'inputKinds' | 'batchSize' | 'seed'>): tf.Tensor[] {
  const b = spec.batchSize ?? 2;
  const seed = spec.seed ?? 1;
  return spec.inputShapes.map((shape, i) =>
    tf.tidy(() => {
      const full = [b, ...shape];
      if ((spec.inputKinds?.[i] ?? 'float') === 'mask') {
        const u = tf.randomUniform(full, 0, 1, 'float32', seed + 101 * i);
        const keepFirst = tf.oneHot(tf.zeros([b], 'int32'), shape[shape.length - 1]!);
        const keep = full.length === 2 ? keepFirst : tf.reshape(keepFirst, full);
        return tf.cast(tf.logicalOr(tf.greater(u, 0.3), tf.cast(keep, 'bool')), 'float32');
      }
      return tf.randomNormal(full, 0, 1, 'float32', seed + 101 * i);
    }),
  );
}

/**
 * Runs the standard checks on a layer and throws a descriptive error on the first failure:
 * 1. symbolic apply gives the expected output shape(s);
 * 2. eager apply gives the same shapes with the batch filled in, and finite values;
 * 3. the trainable / non-trainable weight counts;
 * 4. `getConfig` → JSON → `fromConfig` → identical config;
 * 5. a functional `tf.model` around the layer saves and loads (in memory) with identical outputs;
 * 6. no leaked tensors on a warmed-up eager call and on an optimizer step;
 * 7. `optimizerSteps` Adam steps on a random projection of the outputs change every trainable weight
 *    (for a layer without weights: gradients reach every float input, finite and non-zero).
 * It also checks that the outputs are distinct tensor objects and that weight names are unique.
 *
 * @example
 * ```ts
 * import { runLayerTest } from 'vdafm/testing';
 *
 * await runLayerTest({
 *   create: () => multiHeadAttention({ numHeads: 2, keyDim: 4 }),
 *   inputShapes: [[5, 8], [7, 8], [7]],
 *   inputKinds: ['float', 'float', 'mask'],
 *   expectedOutputShape: [null, 5, 8],
 *   expectedTrainableWeights: 8,
 * });
 * ```
 */
export async function runLayerTest(spec: LayerTestSpec): Promise<LayerTestReport> {
  const checks: string[] = [];
  const expected = asShapes(spec.expectedOutputShape);
  const { symInputs, layer, symList } = checkSymbolic(spec, expected);
  checks.push('symbolic');
  const inputs = makeLayerInputs(spec);
  const eagerLayer = spec.create();
  const callEager = () => asTensorList(eagerLayer.apply(inputs.length === 1 ? inputs[0]! : inputs) as tf.Tensor | tf.Tensor[]);
  const outputs = callEager();
  checkEager(outputs, expected, spec.batchSize ?? 2);
  checks.push('eager');
  checkWeights(eagerLayer, spec);
  checks.push('weights');
  checkConfig(layer);
  checks.push('config');
  const model = tfl.model({ inputs: symInputs, outputs: symList });
  await checkSaveLoad(model, inputs);
  checks.push('save/load');

  // 6 + 7. leaks and optimizer steps
  await assertNoLeaks(callEager, 'runLayerTest [leaks] eager call');
  const projections = outputs.map((t, i) => tf.randomNormal(t.shape, 0, 1, 'float32', 7 + i));
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (vars.length === 0) {
    checkInputGradients(model, inputs, projections, spec);
    checks.push('leaks', 'input-gradients');
  } else {
    await checkOptimizerSteps(model, vars, inputs, projections, spec);
    checks.push('leaks', 'optimizer');
  }
  tf.dispose([...projections, ...inputs]);
  model.dispose();
  eagerLayer.dispose();
  return { checks, outputs: collectTensors(outputs) };
}

function asTensorList<T>(out: T | T[]): T[] {
  return Array.isArray(out) ? out : [out];
}

/** 1. Symbolic apply: the output count and shapes. */
function checkSymbolic(spec: LayerTestSpec, expected: Shape[]) {
  const symInputs = spec.inputShapes.map((s) => tfl.input({ shape: s }));
  const layer = spec.create();
  const symList = asTensorList(layer.apply(symInputs.length === 1 ? symInputs[0]! : symInputs) as tfl.SymbolicTensor | tfl.SymbolicTensor[]);
  if (symList.length !== expected.length) fail('symbolic', `expected ${expected.length} output(s), got ${symList.length}.`);
  symList.forEach((t, i) => {
    if (!sameShape(t.shape, expected[i]!)) {
      fail('symbolic', `output ${i} has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(expected[i])}.`);
    }
  });
  return { symInputs, layer, symList };
}

/** 2. Eager apply: distinct output tensors, the shapes with the batch filled in, finite values. */
function checkEager(outputs: tf.Tensor[], expected: Shape[], b: number): void {
  if (new Set(outputs.map((t) => t.id)).size !== outputs.length) {
    fail('eager', 'two outputs are the same tensor object: return distinct tensors (tf.clone shares the data) so each can be disposed alone.');
  }
  outputs.forEach((t, i) => {
    const want = expected[i]!.map((d, j) => (j === 0 && d === null ? b : d));
    if (!sameShape(t.shape, want)) fail('eager', `output ${i} has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(want)}.`);
    const finite = tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0]);
    if (!finite) fail('eager', `output ${i} has non-finite values.`);
  });
}

/** 3. The trainable and non-trainable weight counts, and unique weight names. */
function checkWeights(layer: tfl.layers.Layer, spec: LayerTestSpec): void {
  if (layer.trainableWeights.length !== spec.expectedTrainableWeights) {
    fail(
      'weights',
      `expected ${spec.expectedTrainableWeights} trainable weights, got ${layer.trainableWeights.length}: ${layer.trainableWeights.map((w) => w.name).join(', ')}.`,
    );
  }
  const nonTrainable = spec.expectedNonTrainableWeights ?? 0;
  if (layer.nonTrainableWeights.length !== nonTrainable) {
    fail('weights', `expected ${nonTrainable} non-trainable weights, got ${layer.nonTrainableWeights.length}.`);
  }
  const names = layer.weights.map((w) => w.originalName);
  if (new Set(names).size !== names.length) fail('weights', `weight names are not unique: ${names.join(', ')}.`);
}

/** 4. `getConfig` → JSON → `fromConfig` → the same config. */
function checkConfig(layer: tfl.layers.Layer): void {
  const config = layer.getConfig();
  const json = JSON.parse(JSON.stringify(config)) as tf.serialization.ConfigDict;
  const cls = layer.constructor as unknown as tf.serialization.SerializableConstructor<tfl.layers.Layer>;
  const clone = cls.fromConfig(cls, json);
  const a = JSON.stringify(config);
  const c = JSON.stringify(clone.getConfig());
  if (a !== c) fail('config', `getConfig after fromConfig differs:\n  before ${a}\n  after  ${c}`);
}

/** 5. The model around the layer saves and loads (in memory) with identical outputs. */
async function checkSaveLoad(model: tfl.LayersModel, inputs: tf.Tensor[]): Promise<void> {
  const predict = (m: tfl.LayersModel) => asTensorList(m.predict(inputs) as tf.Tensor | tf.Tensor[]);
  const before = predict(model);
  const loaded = await loadModelFromMemory(await saveModelToMemory(model));
  const after = predict(loaded);
  before.forEach((t, i) => assertTensorsClose(after[i]!, t, { atol: 1e-6 }, `runLayerTest [save/load] output ${i}`));
  tf.dispose([...before, ...after]);
  loaded.dispose();
}

/** Σ outputs · projections: a scalar every output reaches. */
function projected(model: tfl.LayersModel, inputs: tf.Tensor[], projections: tf.Tensor[]): tf.Scalar {
  const list = asTensorList(model.apply(inputs, { training: false }) as tf.Tensor | tf.Tensor[]);
  return tf.addN(list.map((t, i) => tf.sum(tf.mul(t, projections[i]!)))) as tf.Scalar;
}

/** 7 (weightless layer). Gradients reach every float input, finite and not all zero. */
function checkInputGradients(model: tfl.LayersModel, inputs: tf.Tensor[], projections: tf.Tensor[], spec: LayerTestSpec): void {
  const floatIdx = inputs.map((_, i) => i).filter((i) => (spec.inputKinds?.[i] ?? 'float') === 'float');
  const grads = tf.grads((...xs: tf.Tensor[]) =>
    tf.tidy(() => projected(model, inputs.map((t, i) => (floatIdx.includes(i) ? xs[floatIdx.indexOf(i)]! : t)), projections)),
  )(floatIdx.map((i) => inputs[i]!));
  grads.forEach((g, i) => {
    const ok = tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0] === 1 && tf.max(tf.abs(g)).dataSync()[0]! > 0);
    if (!ok) fail('gradients', `gradient to input ${floatIdx[i]} is zero or non-finite.`);
  });
  tf.dispose(grads);
}

/** 6 + 7. `optimizerSteps` Adam steps leak nothing and move every trainable weight (but the allowed ones). */
async function checkOptimizerSteps(model: tfl.LayersModel, vars: tf.Variable[], inputs: tf.Tensor[], projections: tf.Tensor[], spec: LayerTestSpec): Promise<void> {
  const initial = vars.map((v) => tf.clone(v));
  const optimizer = tf.train.adam(0.01);
  const step = () => optimizer.minimize(() => tf.tidy(() => projected(model, inputs, projections)), false, vars);
  step();
  const steps = spec.optimizerSteps ?? 1;
  for (let s = 1; s < steps; s++) step();
  await assertNoLeaks(step, 'runLayerTest [leaks] optimizer step');
  const allowed = spec.allowUnchangedWeights ?? [];
  vars.forEach((v, i) => {
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(v, initial[i]!))).dataSync()[0]!);
    const name = model.trainableWeights[i]!.originalName;
    if (!(moved > 0) && !allowed.some((n) => name.includes(n))) {
      fail('optimizer', `trainable weight ${name} did not change after ${steps} optimizer step(s): it gets no gradient.`);
    }
  });
  tf.dispose(initial);
  optimizer.dispose();
}
