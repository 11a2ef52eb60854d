/**
 * End-to-end example of vdafm's building blocks (the largest one until the tri-modal demo
 * lands): a toy "lesion detection" task on token sequences.
 *
 * Each sample is a variable-length sequence of 16-d "region" tokens (padding masked out) plus
 * 4 "report" tokens. A region may carry one of two lesion signatures; the report names one
 * type. The label is 1 when the named lesion is present: neither modality alone can tell
 * (chance is 67% by always answering 0). A TransformerBlock reads the regions,
 * a MultiHeadAttention lets the report query the regions, MaskedPooling pools valid regions.
 *
 *   npm run demo                       # wasm backend (fast), falls back to cpu
 *   node --import tsx examples/attention-toy.ts --backend cpu --epochs 3 --out /tmp/toy
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { maskedPooling, multiHeadAttention, Random, transformerBlock } from '../src/index.js';
import { saveModel } from '../src/node.js';

export interface ToyOptions {
  backend: 'wasm' | 'cpu';
  epochs: number;
  samples: number;
  seed: number;
  out: string | null;
  log: (line: string) => void;
}

const TOKENS = 12;
const DIM = 16;
const REPORT = 4;

/** Generates the toy data set (plain arrays; deterministic under `seed`). */
export function makeToyData(samples: number, seed: number) {
  // Two fixed lesion "signatures" (unit directions in feature space), the same for every sample.
  const signatureRng = new Random(12345);
  const signatures = [0, 1].map(() => {
    const v = Array.from({ length: DIM }, () => signatureRng.normal(0, 1));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
  const rng = new Random(seed);
  const regions = new Float32Array(samples * TOKENS * DIM);
  const mask = new Float32Array(samples * TOKENS);
  const report = new Float32Array(samples * REPORT * DIM);
  const labels = new Float32Array(samples);
  for (let s = 0; s < samples; s++) {
    const valid = 4 + rng.int(TOKENS - 3);
    for (let t = 0; t < TOKENS; t++) {
      mask[s * TOKENS + t] = t < valid ? 1 : 0;
      for (let d = 0; d < DIM; d++) regions[(s * TOKENS + t) * DIM + d] = t < valid ? rng.normal(0, 1) : 0;
    }
    // the report names one lesion type (token 0); the other report tokens are noise
    const named = rng.int(2);
    for (let r = 0; r < REPORT; r++) {
      for (let d = 0; d < DIM; d++) {
        report[(s * REPORT + r) * DIM + d] = r === 0 ? 3 * signatures[named]![d]! + rng.normal(0, 0.3) : rng.normal(0, 1);
      }
    }
    // the image holds a lesion of type 0, type 1, or none; label = the named lesion is present
    const present = rng.int(3);
    if (present < 2) {
      const where = rng.int(valid);
      for (let d = 0; d < DIM; d++) {
        const i = (s * TOKENS + where) * DIM + d;
        regions[i] = regions[i]! + 4 * signatures[present]![d]!;
      }
    }
    labels[s] = present === named ? 1 : 0;
  }
  return { regions, mask, report, labels };
}

/** Builds the toy model from vdafm layers. */
export function buildToyModel(seed: number): tfl.LayersModel {
  const regions = tfl.input({ shape: [TOKENS, DIM], name: 'regions' });
  const mask = tfl.input({ shape: [TOKENS], name: 'region_mask' });
  const report = tfl.input({ shape: [REPORT, DIM], name: 'report' });
  const h = transformerBlock({ numHeads: 2, ffnDim: 32, seed }).apply([regions, mask]) as tfl.SymbolicTensor;
  // the report queries the regions (padding masked out): "where is what I describe?"
  const found = multiHeadAttention({ numHeads: 2, keyDim: 8, seed: seed + 1 }).apply([report, h, mask]) as tfl.SymbolicTensor;
  const agreement = tfl.layers.multiply().apply([found, report]) as tfl.SymbolicTensor;
  const pooled = maskedPooling().apply(tfl.layers.concatenate().apply([found, agreement]) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const hidden = tfl.layers
    .dense({ units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }) })
    .apply(pooled) as tfl.SymbolicTensor;
  const out = tfl.layers
    .dense({ units: 1, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 3 }) })
    .apply(hidden) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [regions, mask, report], outputs: out });
}

/** Trains and evaluates the toy model; returns the held-out accuracy. */
export async function runToy(options: Partial<ToyOptions> = {}): Promise<{ accuracy: number; backend: string; seconds: number }> {
  const o: ToyOptions = { backend: 'wasm', epochs: 8, samples: 5000, seed: 7, out: null, log: console.log, ...options };
  if (o.backend === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    const ok = await tf.setBackend('wasm').catch(() => false);
    if (!ok) {
      o.log('wasm backend unavailable: falling back to cpu');
      await tf.setBackend('cpu');
    }
  } else {
    await tf.setBackend('cpu');
  }
  await tf.ready();
  const started = performance.now();
  const data = makeToyData(o.samples, o.seed);
  const n = o.samples;
  const split = Math.floor(n * 0.8);
  const t = {
    regions: tf.tensor3d(data.regions, [n, TOKENS, DIM]),
    mask: tf.tensor2d(data.mask, [n, TOKENS]),
    report: tf.tensor3d(data.report, [n, REPORT, DIM]),
    labels: tf.tensor2d(data.labels, [n, 1]),
  };
  const part = (x: tf.Tensor, from: number, to: number) => tf.slice(x, [from], [to - from]);
  const train = [part(t.regions, 0, split), part(t.mask, 0, split), part(t.report, 0, split)];
  const test = [part(t.regions, split, n), part(t.mask, split, n), part(t.report, split, n)];
  const model = buildToyModel(o.seed);
  model.compile({ optimizer: tf.train.adam(3e-3), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  o.log(`backend ${tf.getBackend()}: ${split} training samples, ${n - split} held out, ${model.countParams()} parameters`);
  await model.fit(train, part(t.labels, 0, split), {
    epochs: o.epochs,
    batchSize: 32,
    shuffle: false,
    verbose: 0,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        o.log(`epoch ${String(epoch + 1).padStart(2)}/${o.epochs}  loss ${logs?.['loss']?.toFixed(4)}  accuracy ${logs?.['acc']?.toFixed(3)}`);
      },
    },
  });
  const predictions = model.predict(test) as tf.Tensor;
  const testLabels = part(t.labels, split, n);
  const accuracy = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.greater(predictions, 0.5), tf.greater(testLabels, 0.5)), 'float32')).dataSync()[0]!);
  o.log(`held-out accuracy ${(accuracy * 100).toFixed(1)}% (majority class 67%)`);
  if (o.out) {
    await saveModel(model, o.out);
    o.log(`model saved to ${o.out}`);
  }
  tf.dispose([...Object.values(t), ...train, ...test, predictions, testLabels]);
  model.dispose();
  return { accuracy, backend: tf.getBackend(), seconds: (performance.now() - started) / 1000 };
}

function parseArgs(argv: string[]): Partial<ToyOptions> {
  const out: Partial<ToyOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--backend' && (v === 'wasm' || v === 'cpu')) (out.backend = v), i++;
    else if (a === '--epochs' && v) (out.epochs = Number(v)), i++;
    else if (a === '--samples' && v) (out.samples = Number(v)), i++;
    else if (a === '--seed' && v) (out.seed = Number(v)), i++;
    else if (a === '--out' && v) (out.out = v), i++;
    else if (a === '--quick') (out.epochs = 3), (out.samples = 400);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  tf.enableProdMode();
  const result = await runToy(parseArgs(process.argv.slice(2)));
  console.log(`done in ${result.seconds.toFixed(1)} s on ${result.backend}`);
}
