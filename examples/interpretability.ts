/**
 * Interpretability on a small synthetic cohort: per-modality contributions (auxiliary heads),
 * the fusion gate, clinical feature importance, and attention overlays on MRI slices.
 *   node --import tsx examples/interpretability.ts [outDir]
 * docs/guides/interpretability.md shows this code; test/examples runs it.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import {
  attentionMap,
  cohortImage,
  createTriModalModel,
  fieldTokenPositions,
  findingsExtractor,
  generateSyntheticCohort,
  imageToPng,
  overlayHeatmap,
  renderSlice,
  strokeReportSchema,
  TabularPreprocessor,
  TemplateReportGenerator,
  Trainer,
  WordPieceTokenizer,
} from '../src/index.js';
import type { PatientImage, TriModalData } from '../src/index.js';

export async function interpretability(out: string | null, log: (line: string) => void = console.log): Promise<{ gateMean: number; importance: number[] }> {
  await tf.setBackend('wasm');
  const cohort = generateSyntheticCohort({ patients: 160, seed: 5, layout: '2d' });
  const generator = new TemplateReportGenerator<PatientImage>({ extractor: findingsExtractor });
  const texts: string[] = [];
  for (const p of cohort.patients) {
    const r = await generator.generate({ images: [], source: cohortImage(cohort, p.index), prompt: 'Write the report.', schema: strokeReportSchema, temperature: 0, seed: 1 });
    texts.push(r.text);
  }
  const pre = new TabularPreprocessor({ columns: cohort.schema }).fit(cohort.rows);
  const trained = WordPieceTokenizer.train(texts, { vocabSize: 300, minFrequency: 2 }, { keepNumbers: true });
  const tok = trained.withMaxLength(trained.coverageLength(texts, 0.99));
  const { values, mask } = pre.transform(cohort.rows);
  const { ids, mask: textMask } = tok.encodeToTensors(texts);
  const data: TriModalData = {
    image: tf.tensor(cohort.images, [cohort.patients.length, ...cohort.sampleShape]),
    textIds: ids,
    textMask,
    clinicalValues: values,
    clinicalMask: mask,
    labels: tf.tensor1d(Array.from(cohort.poor)),
  };
  const model = createTriModalModel({
    image: { inputShape: [...cohort.sampleShape], spatialDims: 2, widths: [16, 32, 32], depths: [1, 1, 1], strides: [2, 2, 2] },
    text: { tokenizer: tok, dim: 32, numLayers: 1, numHeads: 4 },
    clinical: { features: pre, dim: 32, numLayers: 1, numHeads: 4 },
    fusion: { type: 'vdafm', dim: 32, numHeads: 4, numLayers: 1 },
    returnAttention: true,
  });
  await new Trainer({ epochs: 2, batchSize: 32, seed: 5 }).fit(model, data);

  // Everything the model can tell about its prediction, for the first four patients.
  const idx = tf.tensor1d([0, 1, 2, 3], 'int32');
  const batch = Object.fromEntries(Object.entries(data).map(([k, t]) => [k, tf.gather(t as tf.Tensor, idx)])) as unknown as TriModalData;
  const r = model.predict(batch, { auxiliary: true, gate: true, attention: true, importance: true });
  const p = await r.probabilities.data();
  const aux = { image: await r.auxiliary!.image!.data(), text: await r.auxiliary!.text!.data(), clinical: await r.auxiliary!.clinical!.data() };
  for (let i = 0; i < 4; i++) {
    log(`patient ${i}: P(poor) ${p[i]!.toFixed(2)} | image alone ${aux.image[i]!.toFixed(2)}, report alone ${aux.text[i]!.toFixed(2)}, table alone ${aux.clinical[i]!.toFixed(2)}`);
  }
  // the gate: per feature, how much of the fused vector comes from the image (1) vs the report (0)
  const gateMean = tf.mean(r.gate!).dataSync()[0]!;
  log(`mean gate (image share of the fused vector): ${gateMean.toFixed(2)}`);
  // clinical feature importance: mean CLS → feature attention
  const importance = Array.from(tf.mean(r.clinicalImportance!, 0).dataSync());
  const ranked = pre.featureNames.map((name, f) => [name, importance[f]!] as const).sort((a, b) => b[1] - a[1]);
  log(`most attended clinical features: ${ranked.slice(0, 3).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ')}`);
  // attention overlay: where the report's territory and side tokens look in the image
  const att = (await tf.mean(r.textToVisionAttention!.at(-1)!, 1).array()) as number[][][];
  const map = attentionMap(att[0]!, fieldTokenPositions(tok, texts[0]!, ['Territory', 'Side']));
  const overlay = overlayHeatmap(renderSlice(cohortImage(cohort, 0), { sequence: 'DWI' }), map, model.imageGridShape() as [number, number], { scale: 4 });
  if (out) writeFileSync(`${out}/overlay-patient-0.png`, imageToPng(overlay));
  log(`overlay ${overlay.width}×${overlay.height}: left the DWI slice, right the attention of "${texts[0]!.match(/Territory: ([^|]+)/)?.[1]?.trim()}"`);
  tf.dispose([idx, ...Object.values(batch), ...Object.values(data), r.probabilities, ...Object.values(r.auxiliary!), r.gate!, r.clinicalImportance!, ...r.visionToTextAttention!, ...r.textToVisionAttention!]);
  model.dispose();
  return { gateMean, importance };
}

if (import.meta.url === `file://${process.argv[1]}`) await interpretability(process.argv[2] ?? '.');
