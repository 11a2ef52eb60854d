// Shared by the tabular and text encoder tests: layer registration, cpu/wasm parity of a whole
// model (outputs and weight gradients), and one training step.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerLayers } from '../../../src/register.js';
import { onBackend } from '../../helpers/backends.js';

/** Registers vdafm's layer classes (encoders included) for the save/load round trips. */
export function registerEncoderLayers(): void {
  registerLayers();
}

export interface ModelRun {
  outputs: Float32Array[];
  grads: Float32Array[];
  weights: Float32Array[];
}

/** Plain-array inputs (survive backend switches). */
export type PlainInputs = Array<{ data: Float32Array; shape: number[] }>;

/**
 * Builds the model with `build` on `backend`, optionally sets `weights`, and returns its
 * outputs and the gradients of `Σ_i sum(out_i · p_i)` (fixed projections) for every trainable weight.
 */
export async function runModel(
  backend: 'cpu' | 'wasm',
  build: () => tfl.LayersModel,
  inputs: PlainInputs,
  weights: Float32Array[] | null,
): Promise<ModelRun> {
  return onBackend(backend, () => {
    const model = build();
    if (weights) model.setWeights(weights.map((w, i) => tf.tensor(w, model.weights[i]!.shape as number[])));
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
    const outs = model.predict(xs) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(outs) ? outs : [outs];
    const projections = list.map((o, i) => {
      const n = o.size;
      return tf.tensor(Float32Array.from({ length: n }, (_, k) => Math.sin(1 + k * 0.37 + i)), o.shape);
    });
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const out = model.apply(xs, { training: false }) as tf.Tensor | tf.Tensor[];
          const ol = Array.isArray(out) ? out : [out];
          return tf.addN(ol.map((o, i) => tf.sum(tf.mul(o, projections[i]!)))) as tf.Scalar;
        }),
      vars,
    );
    const result: ModelRun = {
      outputs: list.map((o) => Float32Array.from(o.dataSync() as Float32Array)),
      grads: vars.map((v) => Float32Array.from(grads[v.name]!.dataSync() as Float32Array)),
      weights: model.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array)),
    };
    tf.dispose([...xs, ...list, ...projections, ...Object.values(grads)]);
    model.dispose();
    return result;
  });
}

/** One Adam step on a binary head over `pooled`; returns the loss and how far each weight moved. */
export async function trainOneStep(
  backend: 'cpu' | 'wasm',
  build: () => { model: tfl.LayersModel; inputs: tfl.SymbolicTensor[]; pooled: tfl.SymbolicTensor },
  inputs: PlainInputs,
  labels: number[],
): Promise<{ loss: number; moved: number[]; names: string[] }> {
  return onBackend(backend, async () => {
    const { inputs: symIn, pooled } = build();
    const logit = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: 'glorotUniform' }).apply(pooled) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: symIn, outputs: logit });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
    const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
    const y = tf.tensor2d(labels, [labels.length, 1]);
    const before = model.trainableWeights.map((w) => tf.clone(w.read()));
    const loss = (await model.trainOnBatch(xs, y)) as number;
    const moved = model.trainableWeights.map((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w.read(), before[i]!))).dataSync()[0]!));
    const names = model.trainableWeights.map((w) => w.originalName);
    tf.dispose([...xs, y, ...before]);
    model.dispose();
    return { loss, moved, names };
  });
}

/**
 * Max |a − b| over all arrays, each array's differences scaled by max(1, max |b| of that array)
 * (float32 sums of large terms cancel, so element-wise relative error is meaningless near 0).
 */
export function maxRelDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length) throw new Error(`length ${x.length} vs ${y.length} at ${i}`);
    let scale = 1;
    for (let k = 0; k < y.length; k++) scale = Math.max(scale, Math.abs(y[k]!));
    for (let k = 0; k < x.length; k++) m = Math.max(m, Math.abs(x[k]! - y[k]!) / scale);
  });
  return m;
}
