/**
 * A tour of vdafm's building blocks, runnable as it is:
 *   node --import tsx examples/building-blocks.ts
 * docs/guides/building-blocks.md shows this file's code; test/examples runs it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  maskedPooling,
  multiHeadAttention,
  positionalEmbedding,
  saveModelToMemory,
  loadModelFromMemory,
  ShapeError,
  transformerBlock,
} from '../src/index.js';

export async function tour(log: (line: string) => void = console.log): Promise<{ maxDiff: number }> {
  await tf.setBackend('cpu');

  // 1. Cross-attention: 49 visual tokens query 32 report tokens, padding masked out.
  const visual = tfl.input({ shape: [49, 64], name: 'visual' });
  const text = tfl.input({ shape: [32, 64], name: 'text' });
  const textMask = tfl.input({ shape: [32], name: 'text_mask' });
  const textStates = transformerBlock({ numHeads: 4, seed: 1 }).apply([
    positionalEmbedding({ maxLength: 32, seed: 2 }).apply(text) as tfl.SymbolicTensor,
    textMask,
  ]) as tfl.SymbolicTensor;
  const [attended, scores] = multiHeadAttention({ numHeads: 4, keyDim: 16, returnAttentionScores: true, seed: 3 }).apply([
    visual,
    textStates,
    textMask,
  ]) as tfl.SymbolicTensor[];
  const pooled = maskedPooling().apply(attended!) as tfl.SymbolicTensor;
  log(`attended ${JSON.stringify(attended!.shape)}, scores ${JSON.stringify(scores!.shape)}, pooled ${JSON.stringify(pooled.shape)}`);
  // attended [null,49,64], scores [null,4,49,32], pooled [null,64]

  // 2. A functional model, run eagerly on a batch where the second report is missing.
  const model = tfl.model({ inputs: [visual, text, textMask], outputs: [pooled, scores!] });
  const x = [tf.randomNormal([2, 49, 64]), tf.randomNormal([2, 32, 64]), tf.stack([tf.ones([32]), tf.zeros([32])])];
  const [z, a] = model.predict(x) as tf.Tensor[];
  const noReport = tf.sum(tf.slice(a!, [1, 0, 0, 0], [1, -1, -1, -1])).dataSync()[0];
  log(`attention mass of the sample without a report: ${noReport}`); // 0

  // 3. Save and load in memory (the browser path; vdafm/node's saveModel writes a folder).
  const copy = await loadModelFromMemory(await saveModelToMemory(model));
  const [z2] = copy.predict(x) as tf.Tensor[];
  const maxDiff = tf.max(tf.abs(tf.sub(z!, z2!))).dataSync()[0]!;
  log(`max |difference| after reload: ${maxDiff}`); // 0

  // 4. Typed errors name the argument and the shape received.
  try {
    multiHeadAttention({ numHeads: 2, keyDim: 8 }).apply([tf.zeros([2, 49]), tf.zeros([2, 32, 64])]);
  } catch (e) {
    if (ShapeError.isInstance(e)) log(e.message);
    // query must have shape [batch, queries, queryDim] (rank 3). Received: query.shape=[2,49].
  }
  tf.dispose([...x, z!, a!, z2!]);
  return { maxDiff };
}

if (import.meta.url === `file://${process.argv[1]}`) await tour();
