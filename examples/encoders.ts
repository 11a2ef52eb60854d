/**
 * The three encoders, each alone and composed: runnable as it is,
 *   node --import tsx examples/encoders.ts
 * docs/guides/encoders.md shows this code; test/examples runs it and checks the printed values.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  createFrozenTextEncoder,
  createImageEncoder,
  createTabularEncoder,
  createTextEncoder,
  loadModelFromMemory,
  saveModelToMemory,
  TabularPreprocessor,
  WordPieceTokenizer,
} from '../src/index.js';

export async function encodersTour(log: (line: string) => void = console.log): Promise<void> {
  await tf.setBackend('cpu');

  // --- image: 2D (slices and/or sequences as channels) and 3D ---
  // 2D: one 64×64 axial slice, DWI + ADC as two channels.
  const enc2d = createImageEncoder({ inputShape: [64, 64, 2], widths: [16, 32, 64], depths: [1, 1, 1], strides: [1, 2, 2], seed: 1 });
  log(`${JSON.stringify(enc2d.tokensShape)} ${JSON.stringify(enc2d.gridShape)} ${enc2d.pooledDim}`); // [256,64] [16,16] 64
  // 3D: a 16×64×64 DWI volume; the first stride keeps the slice axis.
  const enc3d = createImageEncoder({
    spatialDims: 3,
    inputShape: [16, 64, 64, 1],
    widths: [8, 16, 32],
    strides: [[1, 2, 2], 2, 2],
    norm: 'batch',
    seed: 2,
  });
  log(`${JSON.stringify(enc3d.tokensShape)} ${JSON.stringify(enc3d.gridShape)}`); // [256,32] [4,8,8]

  // --- clinical table ---
  const pre = new TabularPreprocessor({
    columns: [
      { name: 'age', type: 'numeric' },
      { name: 'nihss', type: 'numeric' },
      { name: 'sex', type: 'categorical' },
      { name: 'afib', type: 'binary' },
    ],
  });
  pre.fit([
    { age: 71, nihss: 12, sex: 'F', afib: true },
    { age: 64, nihss: null, sex: 'M', afib: false },
    { age: 80, nihss: 4, sex: 'F', afib: 1 },
  ]);
  const { values, mask } = pre.transform([{ age: 75, nihss: 9, sex: 'X', afib: null }]);
  log(`values ${JSON.stringify(Array.from(values.dataSync(), (v) => +v.toFixed(3)))} mask ${JSON.stringify(Array.from(mask.dataSync()))}`);
  // values [0.509,0.25,0,0] ('X' unseen → 0; afib missing → 0) mask [1,1,0,1]
  const tab = createTabularEncoder({ features: pre, dim: 32, numLayers: 2, numHeads: 4, seed: 1 });
  const [tokens, , pooled, importance] = tab.model.predict([values, mask]) as tf.Tensor[];
  log(`${JSON.stringify(tokens!.shape)} ${JSON.stringify(pooled!.shape)} ${JSON.stringify(importance!.shape)}`); // [1,4,32] [1,32] [1,4]

  // --- report text ---
  const reports = [
    'Sequences: DWI, ADC | Acute lesion: present | Side: left | Territory: MCA | Impression: acute left MCA territory infarct.',
    'Sequences: DWI, ADC | Acute lesion: absent | Old lesions: none | Impression: no acute infarct.',
  ];
  const tok = WordPieceTokenizer.train(reports, { vocabSize: 300, minFrequency: 1 }, { maxLength: 32 });
  const enc = tok.encode('Acute lesion: present | Side: left');
  log(tok.decode(enc.ids)); // acute lesion : present | side : left
  const text = createTextEncoder({ tokenizer: tok, dim: 32, numLayers: 2, numHeads: 4, seed: 1 });
  const { ids, mask: textMask } = tok.encodeToTensors([reports[0]!, null]); // null = report missing
  const [tTokens, , tPooled] = text.model.predict([ids, textMask]) as tf.Tensor[];
  log(`${JSON.stringify(tTokens!.shape)} ${JSON.stringify(tPooled!.shape)}`); // [2,32,32] [2,32]

  // --- frozen, precomputed embeddings (e.g. an external sentence-embedding model) ---
  const frozen = createFrozenTextEncoder({ inDim: 384, dim: 32, seed: 1 });
  const [fTokens, , fPooled] = frozen.model.predict([tf.randomNormal([2, 384]), tf.tensor2d([[1], [0]])]) as tf.Tensor[];
  log(`${JSON.stringify(fTokens!.shape)} ${JSON.stringify(fPooled!.shape)}`); // [2,1,32] [2,32]

  // --- composing branches in your own tf.model (weights shared with the branch models) ---
  const image = tfl.input({ shape: [64, 64, 2] });
  const [, imagePooled] = enc2d.apply(image);
  const fused = tfl.layers.concatenate().apply([imagePooled, text.outputs.pooled, tab.outputs.pooled]) as tfl.SymbolicTensor;
  const prob = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(fused) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: [image, text.inputs.ids, text.inputs.mask, tab.inputs.values, tab.inputs.mask], outputs: prob });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
  const x = [tf.randomNormal([2, 64, 64, 2]), ids, textMask, tf.concat([values, values]), tf.concat([mask, mask])];
  await model.fit(x, tf.tensor2d([[1], [0]]), { epochs: 1, verbose: 0 });
  const copy = await loadModelFromMemory(await saveModelToMemory(model));
  log(`${tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, copy.predict(x) as tf.Tensor))).dataSync()[0]}`); // 0
  // keep pre.toJSON() and tok.toJSON() beside the model: they are part of the pipeline
}

if (import.meta.url === `file://${process.argv[1]}`) await encodersTour();
