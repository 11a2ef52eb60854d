// The alignment options of the trainer (src/training/loss.ts, ema.ts): which side the anchor holds
// fixed (by the gradients it lets through), duplicate-aware positives, the logged terms and
// retrieval rates, and the EMA teacher (training, resuming exactly).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTriModalModel, InvalidArgumentError, prepareTriModalData, Trainer, type TriModalData, WordPieceTokenizer } from '../../src/index.js';
import { batchLoss } from '../../src/training/loss.js';
import { expectArgumentError } from '../helpers/errors.js';
import { makeToy, toTensors, toyEncoders } from './toy.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function toy() {
  const { pre, tok } = toyEncoders();
  const t = makeToy({ n: 64, seed: 5 });
  pre.fit(t.rows);
  const data = toTensors(t, pre, tok);
  const build = () =>
    createTriModalModel({
      image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8], depths: [1], strides: [2] },
      text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
      fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1 },
      seed: 3,
    });
  return { data, build };
}

/** Squared norm of the alignment term's gradient on each variable group. */
function alignmentGradNorms(anchor: 'vision' | 'text' | 'none', data: TriModalData, model: ReturnType<ReturnType<typeof toy>['build']>): Record<string, number> {
  const groups = model.variableGroups();
  const vars = model.trainableVariables();
  const settings = { alignment: { global: 1, fine: 1, clinical: 1, fields: 0, temperature: 0.1, learnableTemperature: false, supervised: false, anchor, duplicates: 'negatives' as const, emaDecay: 0.99 }, logitScale: null, auxiliaryWeight: 0, loss: 'bce' as const, focalGamma: 2, classWeights: null };
  const { value, grads } = tf.variableGrads(() => {
    const r = batchLoss(model, data, false, settings);
    return r.parts['alignment']!;
  }, vars);
  const out: Record<string, number> = {};
  for (const [g, list] of Object.entries(groups)) out[g] = list.reduce((s, v) => s + (grads[v.name] ? tf.sum(tf.square(grads[v.name]!)).dataSync()[0]! : 0), 0);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe('alignment anchors', () => {
  it("'vision' sends no alignment gradient to the image encoder, 'text' none to the text encoder, 'none' to both", () => {
    const { data, build } = toy();
    const model = build();
    const vision = alignmentGradNorms('vision', data, model);
    const text = alignmentGradNorms('text', data, model);
    const none = alignmentGradNorms('none', data, model);
    expect(vision['image']).toBe(0);
    expect(vision['text']).toBeGreaterThan(0);
    expect(text['text']).toBe(0);
    expect(text['image']).toBeGreaterThan(0);
    expect(none['image']).toBeGreaterThan(0);
    expect(none['text']).toBeGreaterThan(0);
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it('rejects a bad anchor, duplicates mode or EMA decay naming the option', () => {
    expectArgumentError(() => new Trainer({ alignment: { visionAnchor: 'image' as 'ema' } }), InvalidArgumentError, 'alignment.visionAnchor');
    expectArgumentError(() => new Trainer({ alignment: { duplicates: 'x' as 'positives' } }), InvalidArgumentError, 'alignment.duplicates');
    expectArgumentError(() => new Trainer({ alignment: { emaDecay: 1 } }), InvalidArgumentError, 'alignment.emaDecay');
    expectArgumentError(() => new Trainer({ alignment: { fields: -1 } }), InvalidArgumentError, 'alignment.fields');
  });
});

describe('duplicate-aware positives', () => {
  it('prepareTriModalData gives patients with identical reports one group and a missing report its own', () => {
    const tok = WordPieceTokenizer.train(['left lesion', 'right lesion'], { vocabSize: 30, minFrequency: 1 }, { maxLength: 4 });
    const d = prepareTriModalData({ reports: ['left lesion', 'right lesion', 'left lesion', null, null], labels: [0, 1, 0, 1, 0] }, { tokenizer: tok });
    const g = Array.from(d.reportGroups!.dataSync());
    expect(g[0]).toBe(g[2]);
    expect(g[0]).not.toBe(g[1]);
    expect(new Set([g[3], g[4], g[0], g[1]]).size).toBe(4);
    tf.dispose(Object.values(d));
  });
});

describe('alignment logs and the EMA teacher', () => {
  it('logs each term, ln B, retrieval rates above chance once the report describes the image, and the temperature', async () => {
    // the report names where the blob is (4 places), so image and text share information
    const places = ['upper left', 'upper right', 'lower left', 'lower right'];
    const n = 96;
    const images = new Float32Array(n * 8 * 8 * 2);
    const reports: string[] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = i % 4;
      const [r0, c0] = [p < 2 ? 1 : 5, p % 2 === 0 ? 1 : 5];
      for (let r = r0; r < r0 + 2; r++) for (let c = c0; c < c0 + 2; c++) images[((i * 8 + r) * 8 + c) * 2] = 1;
      reports.push(`lesion ${places[p]}`);
      labels.push(p % 2);
    }
    const tok = WordPieceTokenizer.train(reports, { vocabSize: 40, minFrequency: 1 }, { maxLength: 6 });
    const data = prepareTriModalData({ images, imageShape: [8, 8, 2], reports, labels }, { tokenizer: tok });
    const model = createTriModalModel({ image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8], depths: [1], strides: [2] }, text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 }, fusion: { type: 'vdafm', dim: 8, numHeads: 2, numLayers: 1, clinical: 'none' }, seed: 3 });
    const logs: Array<Record<string, number>> = [];
    const trainer = new Trainer({ epochs: 15, batchSize: 32, learningRate: 1e-2, seed: 2, alignment: { global: 1, fine: 0.5, visionAnchor: 'none', duplicates: 'positives' }, onBatchEnd: (_, l) => void logs.push(l) });
    await trainer.fit(model, data);
    const last = logs.slice(-6);
    const mean = (k: string) => last.reduce((s, l) => s + l[k]!, 0) / last.length;
    for (const k of ['align_global', 'align_fine', 'align_clinical', 'ln_batch', 'retrieval_top1', 'retrieval_top5', 'retrieval_chance', 'temperature']) expect(Number.isFinite(logs[0]![k])).toBe(true);
    expect(mean('align_global')).toBeLessThan(mean('ln_batch'));
    // identical reports tie with the true pair (ties are not ranked above it), so top-1 can reach 1
    expect(mean('retrieval_top1')).toBeGreaterThan(3 * mean('retrieval_chance'));
    trainer.dispose();
    model.dispose();
    tf.dispose(Object.values(data));
  });

  it("'ema' trains, and a run resumed from a saved state matches an uninterrupted one", async () => {
    const { data, build } = toy();
    const opts = { epochs: 2, batchSize: 32, learningRate: 3e-3, seed: 4, alignment: { visionAnchor: 'ema' as const, emaDecay: 0.9 } };
    const straight = build();
    const t1 = new Trainer(opts);
    await t1.fit(straight, data);
    const first = build();
    let state: unknown = null;
    const t2 = new Trainer({ ...opts, onEpochEnd: async (e) => {
      if (e === 0) {
        state = JSON.parse(JSON.stringify(await t2.getState()));
        throw new Error('killed');
      }
    } });
    await expect(t2.fit(first, data)).rejects.toThrow('killed');
    const t3 = new Trainer(opts);
    t3.setState(state as Parameters<Trainer['setState']>[0]);
    await t3.fit(first, data);
    const a = straight.trainableVariables().map((v) => Array.from(v.dataSync()));
    const b = first.trainableVariables().map((v) => Array.from(v.dataSync()));
    a.forEach((w, i) => w.forEach((x, j) => expect(b[i]![j]!).toBeCloseTo(x, 4)));
    [t1, t2, t3].forEach((t) => t.dispose());
    [straight, first].forEach((m) => m.dispose());
    tf.dispose(Object.values(data));
  });
});
