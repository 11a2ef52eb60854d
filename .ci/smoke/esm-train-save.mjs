// Consumer-side smoke test, ESM: import vdafm, build a model with its layers, train one step,
// save it with vdafm/node, and record predictions for the CJS process to compare.
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { multiHeadAttention, transformerBlock, maskedPooling, InvalidArgumentError } from 'vdafm';
import { saveModel } from 'vdafm/node';
import { runLayerTest } from 'vdafm/testing';

await tf.setBackend('cpu');
const tokens = tfl.input({ shape: [6, 8] });
const context = tfl.input({ shape: [4, 8] });
const mask = tfl.input({ shape: [4] });
const h = transformerBlock({ numHeads: 2, seed: 1 }).apply(tokens);
const a = multiHeadAttention({ numHeads: 2, keyDim: 4, seed: 2 }).apply([h, context, mask]);
const pooled = maskedPooling().apply(a);
const out = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }).apply(pooled);
const model = tfl.model({ inputs: [tokens, context, mask], outputs: out });
model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });

const x = [tf.randomNormal([4, 6, 8], 0, 1, 'float32', 1), tf.randomNormal([4, 4, 8], 0, 1, 'float32', 2), tf.tensor2d([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]])];
const y = tf.tensor2d([[1], [0], [1], [0]]);
const before = model.predict(x).dataSync();
const loss = await model.trainOnBatch(x, y);
const after = Array.from(model.predict(x).dataSync());
if (before.every((v, i) => v === after[i])) throw new Error('one training step changed nothing');
const outDir = process.argv[2];
await saveModel(model, outDir);
writeFileSync(`${outDir}/expected.json`, JSON.stringify({ inputs: await Promise.all(x.map((t) => t.array())), predictions: after }));
let typed = false;
try { multiHeadAttention({ numHeads: 0, keyDim: 2 }); } catch (e) { typed = InvalidArgumentError.isInstance(e) && e.argument === 'numHeads'; }
if (!typed) throw new Error('typed error not raised through the package');
await runLayerTest({ create: () => maskedPooling(), inputShapes: [[3, 2]], expectedOutputShape: [null, 2], expectedTrainableWeights: 0 });
console.log(`ESM: built, trained one step (loss ${Number(loss).toFixed(4)}), saved to ${outDir}, vdafm/testing harness ran`);
