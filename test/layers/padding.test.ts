// "Padded values never change any output": NaN or ±Infinity planted at padded positions (masked
// text tokens, masked keys and values, missing clinical values, samples a contrastive mask
// excludes) must give exactly the outputs, and the gradients w.r.t. the valid inputs and the
// weights, that zeros there give — on cpu and on wasm. A product `x · mask` (0 · NaN = NaN) or a
// matrix product over padded rows would spread them to every output of every sample.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describe, it } from 'vitest';
import {
  baselineFusion,
  contrastiveLoss,
  dualSemanticAlignmentLoss,
  fineGrainedAlignmentLoss,
  maskedMean,
  maskedPooling,
  multiHeadAttention,
  symmetricInfoNce,
  transformerBlock,
  vdafm,
} from '../../src/index.js';
import { assertTensorsClose } from '../../src/testing.js';
import { onBackend } from '../helpers/backends.js';

const B = 3;
/** Valid text tokens per sample (the second report is missing). */
const TEXT = [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 0]];
const CLINICAL = [[1, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]];
const SAMPLES = [1, 0, 1];

/** Seeded normals `shape` with `fill` wherever `mask` (broadcast over trailing axes) is 0. */
function padded(shape: number[], seed: number, mask: number[] | number[][], fill: number): tf.Tensor {
  const values = Float32Array.from(tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync()));
  const flat = (mask as Array<number | number[]>).flat() as number[];
  const inner = values.length / flat.length;
  flat.forEach((m, i) => {
    if (m === 0) values.fill(fill, i * inner, (i + 1) * inner);
  });
  return tf.tensor(values, shape);
}

interface Case {
  name: string;
  /** Builds the layer(s) once; returns the weights to differentiate. */
  setup(): tfl.LayerVariable[];
  /** Float inputs with `fill` at padded positions (differentiated), then the masks. */
  inputs(fill: number): { floats: tf.Tensor[]; masks: tf.Tensor[] };
  run(floats: tf.Tensor[], masks: tf.Tensor[]): tf.Tensor[];
}

const textMask = () => tf.tensor2d(TEXT);
const clinicalMask = () => tf.tensor2d(CLINICAL);

function layerCase(name: string, make: () => tfl.layers.Layer, inputs: Case['inputs'], call: (layer: tfl.layers.Layer, f: tf.Tensor[], m: tf.Tensor[]) => tf.Tensor[]): Case {
  let layer: tfl.layers.Layer | null = null;
  return {
    name,
    setup: () => {
      layer = make();
      const { floats, masks } = inputs(0);
      tf.dispose(call(layer, floats, masks));
      tf.dispose([...floats, ...masks]);
      return layer.trainableWeights;
    },
    inputs,
    run: (f, m) => call(layer!, f, m),
  };
}

const visualIn = () => tf.randomNormal([B, 6, 10], 0, 1, 'float32', 1);
const fusionInputs = (fill: number) => ({
  floats: [visualIn(), padded([B, 5, 8], 2, TEXT, fill), padded([B, 4, 3], 3, CLINICAL, fill)],
  masks: [textMask(), clinicalMask()],
});
const list = (x: tf.Tensor | tf.Tensor[]) => (Array.isArray(x) ? x : [x]);

const cases: Case[] = [
  layerCase(
    'MultiHeadAttention (cross: masked keys and values)',
    () => multiHeadAttention({ numHeads: 2, keyDim: 4, returnAttentionScores: true, seed: 4 }),
    (fill) => ({ floats: [visualIn(), padded([B, 5, 8], 5, TEXT, fill), padded([B, 5, 7], 6, TEXT, fill)], masks: [textMask()] }),
    (l, f, m) => list(l.apply([f[0]!, f[2]!, f[1]!, m[0]!]) as tf.Tensor[]),
  ),
  layerCase(
    'MultiHeadAttention (self: [x, mask])',
    () => multiHeadAttention({ numHeads: 2, keyDim: 4, seed: 7 }),
    (fill) => ({ floats: [padded([B, 5, 8], 8, TEXT, fill)], masks: [textMask()] }),
    (l, f, m) => list(l.apply([f[0]!, m[0]!]) as tf.Tensor),
  ),
  layerCase(
    'TransformerBlock',
    () => transformerBlock({ numHeads: 2, ffnDim: 16, returnAttentionScores: true, seed: 9 }),
    (fill) => ({ floats: [padded([B, 5, 8], 10, TEXT, fill)], masks: [textMask()] }),
    (l, f, m) => list(l.apply([f[0]!, m[0]!]) as tf.Tensor[]),
  ),
  layerCase(
    'MaskedPooling',
    () => maskedPooling(),
    (fill) => ({ floats: [padded([B, 5, 8], 11, TEXT, fill)], masks: [textMask()] }),
    (l, f, m) => list(l.apply([f[0]!, m[0]!]) as tf.Tensor),
  ),
  {
    name: 'maskedMean',
    setup: () => [],
    inputs: (fill) => ({ floats: [padded([B, 5, 8], 12, TEXT, fill)], masks: [textMask()] }),
    run: (f, m) => [maskedMean(f[0]!, m[0]!)],
  },
  ...(['token', 'late'] as const).map((clinical) =>
    layerCase(
      `VDAFM (clinical '${clinical}', film, gated, 2 layers)`,
      () => vdafm({ dim: 8, numHeads: 2, numLayers: 2, clinical, returnGate: true, returnAttention: true, dropout: 0, seed: 13 }),
      fusionInputs,
      (l, f, m) => l.apply([f[0]!, f[1]!, m[0]!, f[2]!, m[1]!]) as tf.Tensor[],
    ),
  ),
  ...(['concat', 'gatedSum', 'film'] as const).map((method) =>
    layerCase(
      `BaselineFusion ('${method}', clinical 'token')`,
      () => baselineFusion({ method, dim: 8, clinical: 'token', seed: 14 }),
      fusionInputs,
      (l, f, m) => l.apply([f[0]!, f[1]!, m[0]!, f[2]!, m[1]!]) as tf.Tensor[],
    ),
  ),
  {
    name: 'fineGrainedAlignmentLoss (visionAnchor off)',
    setup: () => [],
    inputs: (fill) => ({ floats: [tf.randomNormal([B, 4, 6], 0, 1, 'float32', 15), padded([B, 5, 6], 16, TEXT, fill)], masks: [textMask()] }),
    run: (f, m) => Object.values(fineGrainedAlignmentLoss(f[0] as tf.Tensor3D, f[1] as tf.Tensor3D, m[0] as tf.Tensor2D, { visionAnchor: false })),
  },
  {
    name: 'contrastiveLoss and symmetricInfoNce (excluded samples)',
    setup: () => [],
    inputs: (fill) => ({ floats: [padded([B, 6], 17, SAMPLES, fill), padded([B, 6], 18, SAMPLES, fill), padded([B, B], 19, SAMPLES, fill)], masks: [tf.tensor1d(SAMPLES)] }),
    run: (f, m) => [
      ...Object.values(contrastiveLoss(f[0] as tf.Tensor2D, f[1] as tf.Tensor2D, { mask: m[0] as tf.Tensor1D })),
      symmetricInfoNce(tf.add(f[2]!, tf.transpose(f[2]!)) as tf.Tensor2D, { mask: m[0] as tf.Tensor1D }),
    ],
  },
  {
    name: 'dualSemanticAlignmentLoss (missing report and clinical values, padded tokens)',
    setup: () => [],
    inputs: (fill) => ({
      floats: [
        tf.randomNormal([B, 5], 0, 1, 'float32', 20),
        padded([B, 5], 21, [1, 0, 1], fill), // e_t of the missing report
        padded([B, 5], 22, [1, 1, 0], fill), // e_c of the sample without clinical values
        tf.randomNormal([B, 4, 6], 0, 1, 'float32', 23),
        padded([B, 5, 6], 24, TEXT, fill),
      ],
      masks: [textMask(), clinicalMask()],
    }),
    run: (f, m) =>
      Object.values(
        dualSemanticAlignmentLoss(
          {
            visualEmbedding: f[0] as tf.Tensor2D,
            textEmbedding: f[1] as tf.Tensor2D,
            clinicalEmbedding: f[2] as tf.Tensor2D,
            visualTokens: f[3] as tf.Tensor3D,
            textTokens: f[4] as tf.Tensor3D,
            textMask: m[0] as tf.Tensor2D,
            clinicalMask: m[1] as tf.Tensor2D,
          },
          { visionAnchor: false },
        ),
      ),
  },
];

/** Outputs, and gradients of Σ_k Σ (out_k ⊙ r_k) w.r.t. the float inputs and the weights. */
function evaluate(c: Case, weights: tfl.LayerVariable[], fill: number): Float32Array[] {
  return tf.tidy(() => {
    const { floats, masks } = c.inputs(fill);
    const outputs = c.run(floats, masks);
    const probes = outputs.map((o, k) => tf.randomNormal(o.shape, 0, 1, 'float32', 100 + k));
    const objective = () => tf.addN(c.run(floats, masks).map((o, k) => tf.sum(tf.mul(o, probes[k]!)))) as tf.Scalar;
    const inputGrads = tf.grads((...xs: tf.Tensor[]) => tf.addN(c.run(xs, masks).map((o, k) => tf.sum(tf.mul(o, probes[k]!)))))(floats);
    const vars = weights.map((w) => w.read() as tf.Variable);
    const weightGrads = vars.length ? Object.values(tf.variableGrads(objective, vars).grads) : [];
    return [...outputs, ...inputGrads, ...weightGrads].map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

describe('non-finite padding changes no output and no gradient', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    describe(backend, () => {
      for (const c of cases) {
        it(c.name, async () => {
          await onBackend(backend, () => {
            const weights = c.setup();
            const reference = evaluate(c, weights, 0);
            for (const fill of [NaN, Infinity, -Infinity]) {
              const got = evaluate(c, weights, fill);
              got.forEach((g, i) => {
                if (Array.from(reference[i]!).some((v) => !Number.isFinite(v))) throw new Error(`${c.name}: the reference ${i} is not finite`);
                assertTensorsClose(g, reference[i]!, { atol: 1e-6 }, `${c.name}, ${fill} at padding, tensor ${i} of ${got.length}`);
              });
            }
          });
        });
      }
    });
  }
});
