/**
 * VDAFM in your own model: your encoders, vdafm's fusion layer and alignment losses, a custom
 * training loop on tf.variableGrads. Runnable as it is:
 *   node --import tsx examples/vdafm-custom-model.ts
 * docs/guides/vdafm.md shows this code; test/examples runs it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { dualSemanticAlignmentLoss, LogitScale, runGraph, vdafm } from '../src/index.js';

export async function customModel(log: (line: string) => void = console.log, steps = 30): Promise<{ first: number; last: number }> {
  await tf.setBackend('cpu');
  const B = 8;
  // Your own encoders: here one dense layer each, standing in for a CNN and a text transformer.
  const imageFeatures = tfl.input({ shape: [16, 20], name: 'image_features' }); // 4×4 feature map, 20 channels
  const reportTokens = tfl.input({ shape: [10, 24], name: 'report_tokens' });
  const reportMask = tfl.input({ shape: [10], name: 'report_mask' });
  const visual = tfl.layers.dense({ units: 32, activation: 'relu', name: 'my_image_encoder' }).apply(imageFeatures) as tfl.SymbolicTensor;
  const text = tfl.layers.dense({ units: 32, activation: 'relu', name: 'my_text_encoder' }).apply(reportTokens) as tfl.SymbolicTensor;

  // The fusion layer: outputs are listed by fusion.outputNames.
  const fusion = vdafm({ dim: 32, numHeads: 4, numLayers: 2, clinical: 'none', returnGate: true, seed: 1 });
  const outs = fusion.apply([visual, text, reportMask]) as tfl.SymbolicTensor[];
  const byName = Object.fromEntries(fusion.outputNames.map((n, i) => [n, outs[i]!]));
  const logit = tfl.layers.dense({ units: 1, name: 'head' }).apply(byName['headInput']!) as tfl.SymbolicTensor;
  const model = tfl.model({
    inputs: [imageFeatures, reportTokens, reportMask],
    outputs: [logit, byName['visualEmbedding']!, byName['textEmbedding']!, byName['visualTokens']!, byName['textTokens']!, byName['gate']!],
  });
  log(`outputs: ${fusion.outputNames.join(', ')}`);

  // Toy data: the label is carried by the image; the report is a noisy view of it.
  const label = tf.tensor1d([1, 0, 1, 0, 1, 0, 1, 0]);
  const x = [
    tf.add(tf.randomNormal([B, 16, 20], 0, 1, 'float32', 1), tf.reshape(tf.mul(label, 2), [B, 1, 1])),
    tf.add(tf.randomNormal([B, 10, 24], 0, 1, 'float32', 2), tf.reshape(label, [B, 1, 1])),
    tf.tensor2d(Array.from({ length: B }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === 3 ? 0 : j < 6 + (i % 4) ? 1 : 0)))),
  ];

  const scale = new LogitScale(); // learnable temperature, clamped to [1, 100]
  const optimizer = tf.train.adam(3e-3);
  const vars = [...model.trainableWeights.map((w) => w.read() as tf.Variable), scale.variable];
  let first = 0;
  let last = 0;
  for (let step = 0; step < steps; step++) {
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => {
        // runGraph calls each layer once; tfjs-layers' model.apply would run the 6-output VDAFM layer
        // once per output it reads
        const [logits, ev, et, vt, tt] = runGraph(model, x, { training: true });
        const cls = tf.losses.sigmoidCrossEntropy(tf.reshape(label, [B, 1]), logits!);
        const align = dualSemanticAlignmentLoss(
          {
            visualEmbedding: ev as tf.Tensor2D,
            textEmbedding: et as tf.Tensor2D,
            visualTokens: vt as tf.Tensor3D,
            textTokens: tt as tf.Tensor3D,
            textMask: x[2] as tf.Tensor2D,
          },
          { logitScale: scale.value(), globalWeight: 0.5, fineWeight: 0.5 },
        );
        return tf.add(cls, align.loss) as tf.Scalar;
      }),
    vars);
    optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
    const v = value.dataSync()[0]!; // logging only
    if (step === 0) first = v;
    last = v;
    tf.dispose([value, ...Object.values(grads)]);
  }
  log(`loss ${first.toFixed(3)} → ${last.toFixed(3)} after ${steps} steps; temperature ${scale.temperature().toFixed(4)}`);

  // Interpretability: the gate (1 = vision only) for the sample without a report.
  const outputs = runGraph(model, x);
  const gate = outputs[5]!;
  log(`gate of the sample without a report: ${Array.from((gate.arraySync() as number[][])[3]!).every((g) => g === 1)}`); // true
  tf.dispose([label, ...x, ...outputs]);
  scale.dispose();
  return { first, last };
}

if (import.meta.url === `file://${process.argv[1]}`) await customModel();
