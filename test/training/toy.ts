// A small learnable tri-modal toy task for trainer tests: each modality carries part of the
// signal. Deterministic under its seed.
import * as tf from '@tensorflow/tfjs-core';
import { Random, TabularPreprocessor, type TriModalData, WordPieceTokenizer } from '../../src/index.js';

export interface ToyOptions {
  n: number;
  seed: number;
  /** Weight of the clinical signal relative to image and text (large = clinical dominates). */
  clinicalStrength?: number;
  imageStrength?: number;
  textStrength?: number;
}

const WORDS = ['lesion', 'present', 'absent', 'left', 'right', 'small', 'large', 'none', 'mild'];

export function makeToy(o: ToyOptions) {
  const rng = new Random(o.seed);
  const n = o.n;
  const image = new Float32Array(n * 8 * 8 * 2);
  const rows: Array<Record<string, number | null>> = [];
  const texts: Array<string | null> = [];
  const labels = new Float32Array(n);
  const latent = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.normal(0, 1); // image signal: a bright blob
    const b = rng.normal(0, 1); // text signal: 'large' vs 'small'
    const c = rng.normal(0, 1); // clinical signal
    for (let p = 0; p < 64; p++) {
      const y = Math.floor(p / 8);
      const x = p % 8;
      const blob = y >= 2 && y < 5 && x >= 2 && x < 5 ? a : 0;
      image[(i * 64 + p) * 2] = blob + rng.normal(0, 0.3);
      image[(i * 64 + p) * 2 + 1] = rng.normal(0, 0.3);
    }
    texts.push(i % 11 === 5 ? null : `lesion ${b > 0 ? 'large' : 'small'} ${rng.pick(WORDS)} ${rng.pick(WORDS)}`);
    rows.push({ c, noise: rng.normal(0, 1), age: 60 + 10 * rng.normal(0, 1) });
    const s = (o.imageStrength ?? 1.5) * a + (o.textStrength ?? 1.5) * Math.sign(b) + (o.clinicalStrength ?? 1.5) * c;
    latent[i] = s;
    labels[i] = s > 0 ? 1 : 0;
  }
  return { image, rows, texts, labels, latent };
}

export function toyEncoders() {
  const pre = new TabularPreprocessor({ columns: [{ name: 'c', type: 'numeric' }, { name: 'noise', type: 'numeric' }, { name: 'age', type: 'numeric' }] });
  const tok = WordPieceTokenizer.train(
    WORDS.map((w) => `lesion ${w}`),
    { vocabSize: 60, minFrequency: 1 },
    { maxLength: 8 },
  );
  return { pre, tok };
}

export function toTensors(toy: ReturnType<typeof makeToy>, pre: TabularPreprocessor, tok: WordPieceTokenizer): TriModalData {
  const n = toy.labels.length;
  const { values, mask } = pre.transform(toy.rows);
  const { ids, mask: textMask } = tok.encodeToTensors(toy.texts);
  return {
    image: tf.tensor4d(toy.image, [n, 8, 8, 2]),
    textIds: ids,
    textMask,
    clinicalValues: values,
    clinicalMask: mask,
    labels: tf.tensor1d(toy.labels),
  };
}
