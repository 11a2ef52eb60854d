// Modality balancing (src/training/balancing.ts, held-out.ts, the step factors of the optimizers):
// the coefficients and Pareto weights by hand and as properties; the property that matters under
// Adam — a per-modality factor on the *step* changes how far its weights move, a factor on the
// *gradient* (the old OGM-GE scheme) does not — and that the trainer logs what it balances on.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { createTriModalModel, InvalidArgumentError, Trainer, type TriModalData } from '../../src/index.js';
import { balancingCoefficients, paretoWeights, resolveBalancing } from '../../src/training/balancing.js';
import { AdamW, Sgd } from '../../src/training/optimizer.js';
import { expectArgumentError } from '../helpers/errors.js';
import { makeToy, toTensors, toyEncoders } from './toy.js';

describe('balancingCoefficients', () => {
  it('computes 1 − tanh(α·(r − 1)) for the dominant modality and 1 for the others, by hand', () => {
    const k = balancingCoefficients({ image: 0.5, clinical: 0.9, text: 0.7 }, 1);
    // clinical: r = 0.9 / 0.6 = 1.5; text: r = 0.7 / 0.7 = 1; image: r < 1
    expect(k['clinical']).toBeCloseTo(1 - Math.tanh(0.5), 12);
    expect(k['text']).toBeCloseTo(1, 12);
    expect(k['image']).toBe(1);
    expect(balancingCoefficients({ image: 0.9 }, 1)).toEqual({ image: 1 });
  });
});

describe('paretoWeights', () => {
  it('adds agreeing gradients and takes the min-norm point of conflicting ones, by hand', () => {
    expect(paretoWeights(1, 4, 0.5)).toEqual({ wa: 1, wb: 1, conflict: false });
    // a = (1, 0), b = (−1, 1): a·b = −1; t* = (2 + 1)/(1 + 2 + 2) = 0.6 → d = (0.2, 0.4), ‖d‖² = 0.2
    // rescaled to max(‖a‖, ‖b‖) = √2: s = √2/√0.2 = √10
    const w = paretoWeights(1, 2, -1);
    expect(w.conflict).toBe(true);
    expect(w.wa).toBeCloseTo(Math.sqrt(10) * 0.6, 10);
    expect(w.wb).toBeCloseTo(Math.sqrt(10) * 0.4, 10);
  });

  fcTest.prop([fc.array(fc.integer({ min: -300, max: 300 }).map((v) => v / 100), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: -300, max: 300 }).map((v) => v / 100), { minLength: 3, maxLength: 3 })])(
    'on a conflict the combined direction decreases both objectives and has norm max(‖a‖, ‖b‖)',
    (a, b0) => {
      const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
      // make the pair conflict: flip b when it agrees with a
      const b = dot(a, b0) > 0 ? b0.map((v) => -v) : b0;
      const aa = dot(a, a);
      const bb = dot(b, b);
      const ab = dot(a, b);
      fc.pre(aa > 1e-3 && bb > 1e-3 && ab < -1e-3 && ab * ab < 0.999 * aa * bb);
      const w = paretoWeights(aa, bb, ab);
      const d = a.map((v, i) => w.wa * v + w.wb * b[i]!);
      expect(dot(d, a)).toBeGreaterThanOrEqual(-1e-9 * Math.max(1, aa));
      expect(dot(d, b)).toBeGreaterThanOrEqual(-1e-9 * Math.max(1, bb));
      expect(Math.sqrt(dot(d, d))).toBeCloseTo(Math.sqrt(Math.max(aa, bb)), 6);
    },
  );
});

describe('per-modality factors under Adam and SGD', () => {
  /** Steps two variables (two "modalities") with the same noisy gradients; returns how far each moved. */
  function moved(opt: AdamW, mode: 'gradient' | 'step' | 'none', k: number): [number, number] {
    const a = tf.variable(tf.zeros([64]), true, `bal_a_${Math.random()}`);
    const b = tf.variable(tf.zeros([64]), true, `bal_b_${Math.random()}`);
    let seed = 7;
    const noise = () => Float32Array.from({ length: 64 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2 + 1);
    for (let t = 0; t < 50; t++) {
      const g = noise();
      const grads = { [a.name]: tf.tensor1d(mode === 'gradient' ? g.map((x) => x * k) : g), [b.name]: tf.tensor1d(g) };
      opt.applyGradients(grads, [a, b], mode === 'step' ? { updateScale: [k, 1] } : {});
      tf.dispose(Object.values(grads));
    }
    const out: [number, number] = [tf.norm(a).dataSync()[0]!, tf.norm(b).dataSync()[0]!];
    tf.dispose([a, b]);
    opt.dispose();
    return out;
  }

  it('under AdamW a factor on the step moves the weights k times as far; the same factor on the gradient (OGM-GE) does not', () => {
    const k = 0.3;
    const [stepA, stepB] = moved(new AdamW({ learningRate: 0.01 }), 'step', k);
    expect(stepA / stepB).toBeCloseTo(k, 5);
    const [gradA, gradB] = moved(new AdamW({ learningRate: 0.01 }), 'gradient', k);
    // m̂/√v̂ is invariant to a constant gradient scale: the old scheme leaves the update unchanged
    expect(Math.abs(gradA / gradB - 1)).toBeLessThan(1e-3);
  });

  it('under SGD the gradient factor scales the step (what OGM-GE was designed for)', () => {
    const k = 0.3;
    const [a, b] = moved(new Sgd({ learningRate: 0.01, momentum: 0.9 }), 'gradient', k);
    expect(a / b).toBeCloseTo(k, 5);
  });

  it('rejects an updateScale of the wrong length or with a negative factor', () => {
    const v = tf.variable(tf.zeros([2]), true, `bal_v_${Math.random()}`);
    const opt = new AdamW();
    const g = { [v.name]: tf.ones([2]) };
    expectArgumentError(() => opt.applyGradients(g, [v], { updateScale: [1, 1] }), InvalidArgumentError, 'options.updateScale');
    expectArgumentError(() => opt.applyGradients(g, [v], { updateScale: [-1] }), InvalidArgumentError, 'options.updateScale');
    expectArgumentError(() => new Sgd({ momentum: 1 }), InvalidArgumentError, 'momentum');
    tf.dispose([v, ...Object.values(g)]);
    opt.dispose();
  });
});

describe('balancing options', () => {
  it('fills defaults and rejects bad fields naming them', () => {
    expect(resolveBalancing(undefined)).toEqual({ method: 'adaptive', alpha: 1, interval: 10, heldOutBatch: 64, momentum: 0.5 });
    expect(resolveBalancing(false)).toBe(false);
    expectArgumentError(() => resolveBalancing({ method: 'nope' as 'adaptive' }), InvalidArgumentError, 'balancing.method');
    expectArgumentError(() => resolveBalancing({ alpha: 0 }), InvalidArgumentError, 'balancing.alpha');
    expectArgumentError(() => resolveBalancing({ interval: 0 }), InvalidArgumentError, 'balancing.interval');
    expectArgumentError(() => resolveBalancing({ momentum: 1 }), InvalidArgumentError, 'balancing.momentum');
    expectArgumentError(() => new Trainer({ balancing: { heldOutBatch: 1 } }), InvalidArgumentError, 'balancing.heldOutBatch');
    expectArgumentError(() => new Trainer({ optimizer: 'rmsprop' as 'sgd' }), InvalidArgumentError, 'optimizer');
  });
});

describe('balancing in the trainer', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  function dominated(): { train: TriModalData; val: TriModalData; build: () => ReturnType<typeof createTriModalModel> } {
    const { pre, tok } = toyEncoders();
    const trainToy = makeToy({ n: 128, seed: 21, clinicalStrength: 4, imageStrength: 1, textStrength: 0.5 });
    pre.fit(trainToy.rows);
    const train = toTensors(trainToy, pre, tok);
    const val = toTensors(makeToy({ n: 64, seed: 22, clinicalStrength: 4, imageStrength: 1, textStrength: 0.5 }), pre, tok);
    const build = () =>
      createTriModalModel({
        image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8], depths: [1], strides: [2] },
        text: { tokenizer: tok, dim: 8, numLayers: 1, numHeads: 2 },
        clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
        fusion: { type: 'concat', dim: 8 },
        seed: 4,
      });
    return { train, val, build };
  }

  it("'adaptive' measures held-out confidence and slows the dominant (clinical) encoder's steps", async () => {
    const { train, val, build } = dominated();
    const model = build();
    const logs: Array<Record<string, number>> = [];
    const trainer = new Trainer({ epochs: 3, batchSize: 32, learningRate: 3e-3, seed: 1, earlyStopping: false, balancing: { alpha: 2, interval: 2 }, onBatchEnd: (_, l) => void logs.push(l) });
    const history = await trainer.fit(model, train, { validation: val });
    const last = logs.at(-1)!;
    expect(last['conf_heldout_clinical']).toBeGreaterThan(last['conf_heldout_image']!);
    expect(last['coef_clinical']).toBeLessThan(1);
    expect(last['coef_image']).toBe(1);
    // diagnostics: gradient shares sum to 1, auxiliary AUCs per modality on validation
    const shares = Object.keys(last).filter((k) => k.startsWith('grad_share_')).map((k) => last[k]!);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(history.epochs.at(-1)!['val_auc_clinical']).toBeGreaterThan(0.5);
    trainer.dispose();
    model.dispose();
    tf.dispose([...Object.values(train), ...Object.values(val)]);
  });

  it("'pareto' trains with two backward passes and logs each encoder's conflicts; 'ogm-ge' scales gradients from the batch", async () => {
    for (const method of ['pareto', 'ogm-ge'] as const) {
      const { train, build } = dominated();
      const model = build();
      const logs: Array<Record<string, number>> = [];
      const trainer = new Trainer({ epochs: 1, batchSize: 32, seed: 1, balancing: { method }, optimizer: method === 'ogm-ge' ? 'sgd' : 'adamw', onBatchEnd: (_, l) => void logs.push(l) });
      const before = tf.memory().numTensors;
      await trainer.fit(model, train);
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2 * model.trainableVariables().length + 4);
      if (method === 'pareto') expect(Object.keys(logs[0]!).some((k) => k.startsWith('pareto_conflict_'))).toBe(true);
      else expect(logs[0]!['coef_clinical']).toBeLessThanOrEqual(1);
      expect(Number.isFinite(logs.at(-1)!['loss']!)).toBe(true);
      trainer.dispose();
      model.dispose();
      tf.dispose(Object.values(train));
    }
  });
});

describe('groupLearningRates', () => {
  it("multiplies each group's update after Adam: the image encoder moves exactly k times as far, the other groups as without it", async () => {
    const { pre, tok } = toyEncoders();
    const toy = makeToy({ n: 32, seed: 23 });
    pre.fit(toy.rows);
    const data = toTensors(toy, pre, tok);
    const build = () =>
      createTriModalModel({
        image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8], depths: [1], strides: [2] },
        clinical: { features: pre, dim: 8, numLayers: 1, numHeads: 2 },
        fusion: { type: 'pooled' },
        seed: 5,
      });
    /** One optimiser step (one batch of 32, no warm-up, no decay): how far each group's variables moved (L1). */
    const step = async (groupLearningRates?: Record<string, number>) => {
      const model = build();
      const groups = model.variableGroups();
      const before = Object.fromEntries(Object.entries(groups).map(([g, vs]) => [g, vs.map((v) => v.dataSync().slice())]));
      const trainer = new Trainer({ epochs: 1, batchSize: 32, learningRate: 1e-2, warmupFraction: 0, weightDecay: 0, seed: 1, earlyStopping: false, balancing: false, modalityDropout: false, ...(groupLearningRates ? { groupLearningRates } : {}) });
      await trainer.fit(model, data);
      const moved = Object.fromEntries(Object.entries(groups).map(([g, vs]) => [g, vs.reduce((s, v, i) => s + Array.from(v.dataSync() as Float32Array).reduce((t: number, x: number, j: number) => t + Math.abs(x - before[g]![i]![j]!), 0), 0)]));
      trainer.dispose();
      model.dispose();
      return moved;
    };
    const plain = await step();
    const slow = await step({ image: 0.25 });
    const frozen = await step({ image: 0, shared: 2 });
    expect(plain['image']!).toBeGreaterThan(0);
    expect(slow['image']! / plain['image']!).toBeCloseTo(0.25, 4);
    expect(slow['clinical']!).toBeCloseTo(plain['clinical']!, 6);
    expect(slow['shared']!).toBeCloseTo(plain['shared']!, 6);
    expect(frozen['image']).toBe(0);
    expect(frozen['shared']! / plain['shared']!).toBeCloseTo(2, 4);
    // bad input: named
    expectArgumentError(() => new Trainer({ groupLearningRates: { image: -1 } }), InvalidArgumentError, 'groupLearningRates.image');
    expectArgumentError(() => new Trainer({ groupLearningRates: [] as unknown as Record<string, number> }), InvalidArgumentError, 'groupLearningRates');
    const model = build();
    const typo = new Trainer({ epochs: 1, groupLearningRates: { imgae: 0.1 } });
    await expect(typo.fit(model, data)).rejects.toMatchObject({ argument: 'groupLearningRates.imgae' });
    typo.dispose();
    model.dispose();
    tf.dispose(Object.values(data));
  });
});
