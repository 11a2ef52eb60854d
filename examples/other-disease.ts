/**
 * Adapting vdafm to another disease: a glioma-like toy problem with its own report schema,
 * its own clinical columns, a 3D single-sequence image of another shape, and a binary 6-month
 * outcome. Nothing in the library is stroke-specific except the defaults.
 *   node --import tsx examples/other-disease.ts
 * docs/guides/other-disease.md shows this code; test/examples runs it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import {
  createTriModalModel,
  defineReportSchema,
  generateReports,
  MemoryReportCache,
  Random,
  rocAuc,
  TabularPreprocessor,
  TemplateReportGenerator,
  Trainer,
  WordPieceTokenizer,
} from '../src/index.js';
import type { TriModalData } from '../src/index.js';

/** One simulated patient: a 3D T1-contrast volume with an enhancing tumour, and a table row. */
interface Case {
  volume: Float32Array; // [8, 16, 16, 1]
  radius: number;
  enhancing: boolean;
  row: { age: number; kps: number | null; idh: string };
  poorAt6Months: number;
}

export function simulate(n: number, seed: number): Case[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => {
    const radius = rng.uniform(1, 4);
    const enhancing = rng.bernoulli(0.5);
    const [cz, cy, cx] = [rng.uniform(2, 6), rng.uniform(4, 12), rng.uniform(4, 12)];
    const volume = new Float32Array(8 * 16 * 16);
    for (let z = 0; z < 8; z++) {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const d = Math.hypot(2 * (z - cz), y - cy, x - cx);
          const rim = enhancing && Math.abs(d - radius) < 0.8 ? 1.5 : 0;
          volume[(z * 16 + y) * 16 + x] = (d < radius ? 0.6 : 0) + rim + rng.normal(0, 0.2);
        }
      }
    }
    const age = rng.uniform(25, 80);
    const idh = rng.bernoulli(0.3) ? 'mutant' : 'wildtype';
    const kps = rng.bernoulli(0.1) ? null : Math.round(rng.uniform(50, 100) / 10) * 10;
    const risk = 0.9 * (radius - 2.5) + (enhancing ? 0.8 : -0.4) + 0.04 * (age - 55) + (idh === 'mutant' ? -1.2 : 0.3) - 0.03 * ((kps ?? 75) - 75);
    return { volume, radius, enhancing, row: { age, kps, idh }, poorAt6Months: rng.bernoulli(1 / (1 + Math.exp(-risk))) ? 1 : 0 };
  });
}

export async function otherDisease(log: (line: string) => void = console.log): Promise<{ auc: number }> {
  await tf.setBackend('wasm');
  // 1. the disease's own report schema (data, not code)
  const gliomaSchema = defineReportSchema({
    name: 'glioma',
    version: 1,
    fields: [
      { key: 'enhancement', label: 'Enhancement', kind: 'enum', values: ['none', 'ring'], synonyms: { 'rim-enhancing': 'ring' } },
      { key: 'size', label: 'Size', kind: 'enum', values: ['small', 'medium', 'large'] },
      { key: 'impression', label: 'Impression', kind: 'text' },
    ],
  });
  // 2. a findings extractor that measures the image (here: bright rim voxels and tumour extent)
  const extractor = {
    extract: (c: Case) => {
      let tumour = 0;
      let rim = 0;
      for (const v of c.volume) {
        if (v > 1.2) rim++;
        else if (v > 0.4) tumour++;
      }
      const voxels = tumour + rim;
      return {
        enhancement: rim > 8 ? 'ring' : 'none',
        size: voxels < 40 ? 'small' : voxels < 150 ? 'medium' : 'large',
        impression: `${rim > 8 ? 'Ring-enhancing' : 'Non-enhancing'} mass, ${voxels} voxels.`,
      };
    },
  };
  const cases = simulate(240, 3);
  const generator = new TemplateReportGenerator<Case>({ extractor, noise: { omitRate: 0.05 } });
  const { reports } = await generateReports(
    cases.map((c, i) => ({ id: `case-${i}`, images: [], source: c })),
    generator,
    { schema: gliomaSchema, prompt: 'Describe the tumour.', cache: new MemoryReportCache(), seed: 1 },
  );
  const texts = cases.map((_, i) => reports[`case-${i}`]!.text);
  log(`report: ${texts[0]}`);
  // 3. the disease's own clinical columns
  const pre = new TabularPreprocessor({
    columns: [
      { name: 'age', type: 'numeric' },
      { name: 'kps', type: 'numeric' },
      { name: 'idh', type: 'categorical' },
    ],
  });
  const train = cases.slice(0, 180);
  const test = cases.slice(180);
  pre.fit(train.map((c) => c.row));
  const tok = WordPieceTokenizer.train(texts.slice(0, 180), { vocabSize: 120, minFrequency: 1 }, { maxLength: 24 });
  const tensors = (part: Case[], offset: number): TriModalData => {
    const { values, mask } = pre.transform(part.map((c) => c.row));
    const { ids, mask: textMask } = tok.encodeToTensors(texts.slice(offset, offset + part.length));
    const volumes = new Float32Array(part.length * 8 * 16 * 16);
    part.forEach((c, i) => volumes.set(c.volume, i * c.volume.length));
    return {
      image: tf.tensor5d(volumes, [part.length, 8, 16, 16, 1]),
      textIds: ids,
      textMask,
      clinicalValues: values,
      clinicalMask: mask,
      labels: tf.tensor1d(part.map((c) => c.poorAt6Months)),
    };
  };
  // 4. the same model builder, another image shape (3D, one sequence) and label
  const model = createTriModalModel({
    image: { inputShape: [8, 16, 16, 1], spatialDims: 3, widths: [8, 16], depths: [1, 1], strides: [[1, 2, 2], 2] },
    text: { tokenizer: tok, dim: 16, numLayers: 1, numHeads: 2 },
    clinical: { features: pre, dim: 16, numLayers: 1, numHeads: 2 },
    fusion: { type: 'vdafm', dim: 16, numHeads: 2, numLayers: 1 },
    head: { type: 'binary' }, // poor outcome at 6 months
  });
  const trainData = tensors(train, 0);
  const testData = tensors(test, 180);
  await new Trainer({ epochs: 6, batchSize: 30, learningRate: 3e-3, seed: 3 }).fit(model, trainData);
  const { probabilities } = model.predict(testData);
  const auc = rocAuc(test.map((c) => c.poorAt6Months), Array.from(await probabilities.data()));
  log(`6-month outcome, test AUC ${auc.toFixed(3)} on ${test.length} patients`);
  tf.dispose([probabilities, ...Object.values(trainData), ...Object.values(testData)]);
  model.dispose();
  return { auc };
}

if (import.meta.url === `file://${process.argv[1]}`) await otherDisease();
