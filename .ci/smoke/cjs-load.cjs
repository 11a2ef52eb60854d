// Consumer-side smoke test, CJS, in a new process: require vdafm, load the saved model with
// vdafm/node and compare its predictions with those recorded by the ESM process.
const { readFileSync } = require('node:fs');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const vdafm = require('vdafm');
const { loadModel } = require('vdafm/node');

(async () => {
  await tf.setBackend('cpu');
  const dir = process.argv[2];
  const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8'));
  const model = await loadModel(dir);
  const inputs = expected.inputs.map((a) => tf.tensor(a));
  const got = Array.from(model.predict(inputs).dataSync());
  const diff = Math.max(...got.map((v, i) => Math.abs(v - expected.predictions[i])));
  if (!(diff <= 1e-6)) throw new Error(`predictions differ after reload: max |diff| ${diff}`);
  if (typeof vdafm.MultiHeadAttention !== 'function') throw new Error('CJS export missing');
  const classes = model.layers.map((l) => l.getClassName());
  if (!classes.includes('VdafmMultiHeadAttention')) throw new Error(`layers: ${classes}`);
  console.log(`CJS: loaded in a new process, predictions equal (max |diff| ${diff}), layers ${classes.filter((c) => c.startsWith('Vdafm')).join(', ')}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
