// Loads two copies of vdafm in one process — an ESM build (import) and a CJS build (require),
// in the order given — and checks that models save and load with either copy, that the copy
// registered first keeps tfjs's class registry, and that the cross-copy checks hold.
// Usage: node dual-package-check.mjs <esm entry> <cjs entry> <esm-first|cjs-first>
// Prints one JSON line with the findings (test/register.test.ts asserts on them).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

const [esmPath, cjsPath, order] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const load = { esm: () => import(pathToFileURL(esmPath).href), cjs: async () => require(cjsPath) };
const first = order === 'cjs-first' ? 'cjs' : 'esm';
const second = first === 'esm' ? 'cjs' : 'esm';
const copies = {};
copies[first] = await load[first]();
copies[second] = await load[second]();
await tf.setBackend('cpu');

/** A small functional model: MultiHeadAttention, MaskedPooling and VDAFM of one copy. */
function build(v) {
  const visual = tfl.input({ shape: [4, 6] });
  const text = tfl.input({ shape: [3, 5] });
  const mask = tfl.input({ shape: [3] });
  const attended = v.multiHeadAttention({ numHeads: 2, keyDim: 3, seed: 1 }).apply([visual, text, mask]);
  const pooled = v.maskedPooling().apply([text, mask]);
  const [headInput] = v.vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'none', dropout: 0, seed: 2 }).apply([attended, text, mask]);
  return tfl.model({ inputs: [visual, text, mask], outputs: [headInput, pooled] });
}

const x = [tf.randomNormal([2, 4, 6], 0, 1, 'float32', 3), tf.randomNormal([2, 3, 5], 0, 1, 'float32', 4), tf.tensor2d([[1, 1, 0], [1, 0, 0]])];
const registry = tf.serialization.SerializationMap.getMap().classNameMap;
const result = {
  first,
  registryHoldsFirstCopy: registry.VdafmFusion[0] === copies[first].VDAFM && registry.VdafmMultiHeadAttention[0] === copies[first].MultiHeadAttention,
  roundTrips: [],
};
for (const saver of ['esm', 'cjs']) {
  const model = build(copies[saver]);
  const expected = model.predict(x).map((t) => Array.from(t.dataSync()));
  const artifacts = await copies[saver].saveModelToMemory(model);
  for (const loader of ['esm', 'cjs']) {
    const loaded = await copies[loader].loadModelFromMemory(artifacts);
    const got = loaded.predict(x).map((t) => Array.from(t.dataSync()));
    const maxDiff = Math.max(...got.flatMap((g, i) => g.map((v, j) => Math.abs(v - expected[i][j]))));
    const fusion = loaded.layers.find((l) => l.getClassName() === 'VdafmFusion');
    result.roundTrips.push({
      saver,
      loader,
      maxDiff,
      instanceOfFirst: fusion instanceof copies[first].VDAFM,
      recognisedByEsm: copies.esm.isVdafmLayer?.(fusion, 'VdafmFusion') === true,
      recognisedByCjs: copies.cjs.isVdafmLayer?.(fusion, 'VdafmFusion') === true,
      notAnotherClass: copies.esm.isVdafmLayer?.(fusion, 'VdafmMaskedPooling') === false,
    });
  }
}
// typed errors: thrown by one copy, recognised by the other
let error;
try {
  copies.cjs.vdafm({ numHeads: 0 });
} catch (e) {
  error = e;
}
result.errorsAcrossCopies = copies.esm.InvalidArgumentError.isInstance(error) && !(error instanceof copies.esm.InvalidArgumentError);
console.log(JSON.stringify(result));
