// cpu/wasm parity: a layer gives the same outputs and gradients (inputs and weights) on both.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { assertTensorsClose } from '../../src/testing.js';
import { onBackend } from './backends.js';

export interface ParityResult {
  outputs: Float32Array[];
  inputGrads: Float32Array[];
  weightGrads: Float32Array[];
}

/** Input values as plain arrays plus which inputs are differentiable (floats, not masks). */
export interface ParityInputs {
  values: Array<{ data: Float32Array; shape: number[]; differentiable: boolean }>;
}

export function parityInputs(
  shapes: number[][],
  kinds: Array<'float' | 'mask'> = shapes.map(() => 'float'),
  seed = 1,
): ParityInputs {
  return {
    values: shapes.map((shape, i) => {
      const t = tf.tidy(() => {
        if (kinds[i] === 'mask') {
          const u = tf.randomUniform(shape, 0, 1, 'float32', seed + i);
          const m = tf.cast(tf.greater(u, 0.3), 'float32');
          // keep the first token of every row valid
          const first = tf.oneHot(tf.zeros([shape[0]!], 'int32'), shape[1]!);
          return tf.maximum(m, first);
        }
        return tf.randomNormal(shape, 0, 1, 'float32', seed + i);
      });
      const data = Float32Array.from(t.dataSync() as Float32Array);
      t.dispose();
      return { data, shape, differentiable: kinds[i] !== 'mask' };
    }),
  };
}

function run(
  create: () => tfl.layers.Layer,
  inputs: ParityInputs,
  weights: Float32Array[] | null,
  training: boolean,
): ParityResult & { weights: Float32Array[]; backend: string } {
  const backend = tf.getBackend();
  const layer = create();
  const xs = inputs.values.map((v) => tf.tensor(v.data, v.shape));
  const apply = (list: tf.Tensor[]) => {
    const out = layer.apply(list.length === 1 ? list[0]! : list, { training }) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out : [out];
  };
  const first = apply(xs);
  tf.dispose(first);
  if (weights) layer.setWeights(weights.map((w, i) => tf.tensor(w, layer.weights[i]!.shape as number[])));
  const savedWeights = layer.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
  const projections = tf.tidy(() => {
    const outs = apply(xs);
    return outs.map((o, i) => tf.randomNormal(o.shape, 0, 1, 'float32', 100 + i));
  });
  const lossOf = (list: tf.Tensor[]) =>
    tf.tidy(() => tf.addN(apply(list).map((o, i) => tf.sum(tf.mul(o, projections[i]!)))) as tf.Scalar);
  const outputs = apply(xs).map((o) => {
    const d = Float32Array.from(o.dataSync() as Float32Array);
    o.dispose();
    return d;
  });
  const diffIdx = inputs.values.map((v, i) => (v.differentiable ? i : -1)).filter((i) => i >= 0);
  const inputGrads = tf.grads((...ds: tf.Tensor[]) => lossOf(xs.map((x, i) => (diffIdx.includes(i) ? ds[diffIdx.indexOf(i)]! : x))))(
    diffIdx.map((i) => xs[i]!),
  ).map((g) => {
    const d = Float32Array.from(g.dataSync() as Float32Array);
    g.dispose();
    return d;
  });
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  let weightGrads: Float32Array[] = [];
  if (vars.length > 0) {
    const { grads, value } = tf.variableGrads(() => lossOf(xs), vars);
    weightGrads = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync() as Float32Array));
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([...xs, ...projections]);
  layer.dispose();
  return { outputs, inputGrads, weightGrads, weights: savedWeights, backend };
}

/**
 * Runs the layer on cpu (weights from its seeded initialisers), then on wasm with the same
 * weights, and asserts outputs and gradients agree to `atol`.
 */
export async function expectBackendParity(
  create: () => tfl.layers.Layer,
  inputs: ParityInputs,
  options: { atol?: number; training?: boolean } = {},
): Promise<ParityResult> {
  const atol = options.atol ?? 1e-4;
  const training = options.training ?? false;
  const cpu = await onBackend('cpu', () => run(create, inputs, null, training));
  const wasm = await onBackend('wasm', () => run(create, inputs, cpu.weights, training));
  if (cpu.backend !== 'cpu' || wasm.backend !== 'wasm') throw new Error(`ran on ${cpu.backend} and ${wasm.backend}`);
  cpu.outputs.forEach((o, i) => assertTensorsClose(wasm.outputs[i]!, o, { atol, rtol: atol }, `output ${i} (wasm vs cpu)`));
  cpu.inputGrads.forEach((g, i) => assertTensorsClose(wasm.inputGrads[i]!, g, { atol, rtol: atol }, `input gradient ${i} (wasm vs cpu)`));
  cpu.weightGrads.forEach((g, i) => assertTensorsClose(wasm.weightGrads[i]!, g, { atol, rtol: atol }, `weight gradient ${i} (wasm vs cpu)`));
  return cpu;
}
