import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-wasm';
import {
  createTriModalModel,
  InvalidArgumentError,
  NonFiniteError,
  rocAuc,
  Trainer,
  type TrainerOptions,
  type TriModalData,
  type TriModalModel,
} from '../../src/index.js';
import { makeToy, toTensors, toyEncoders } from './toy.js';
import { expectArgumentError } from '../helpers/errors.js';

// The trainer tests run on the wasm backend (4× faster than pure-JS cpu); cpu/wasm agreement of a
// short run is checked separately below.
beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

function setup(opts: { n?: number; seed?: number; clinicalStrength?: number; imageStrength?: number; textStrength?: number; dropout?: number; fusion?: 'vdafm' | 'concat' } = {}) {
  const { pre, tok } = toyEncoders();
  const trainToy = makeToy({ n: opts.n ?? 128, seed: opts.seed ?? 1, ...opts });
  pre.fit(trainToy.rows);
  const train = toTensors(trainToy, pre, tok);
  const val = toTensors(makeToy({ n: 96, seed: (opts.seed ?? 1) + 100, ...opts }), pre, tok);
  const build = () =>
    createTriModalModel({
      image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8, 16], depths: [1, 1], strides: [1, 2] },
      text: { tokenizer: tok, dim: 16, numLayers: 1, numHeads: 2 },
      clinical: { features: pre, dim: 16, numLayers: 1, numHeads: 2 },
      fusion: opts.fusion === 'concat' ? { type: 'concat', dim: 16 } : { type: 'vdafm', dim: 16, numHeads: 2, numLayers: 1, dropout: opts.dropout ?? 0 },
      seed: 3,
    });
  return { train, val, build };
}

async function weightsOf(model: TriModalModel): Promise<Float32Array[]> {
  return Promise.all(model.trainableVariables().map(async (v) => Float32Array.from(await v.data())));
}

describe('Trainer', () => {
  it('reaches validation AUC ≥ 0.95 on a learnable tri-modal toy task', async () => {
    const { train, val, build } = setup({ n: 512, dropout: 0.1 });
    const model = build();
    const trainer = new Trainer({ epochs: 5, batchSize: 32, learningRate: 3e-3, seed: 1, earlyStopping: { patience: 10 } });
    const history = await trainer.fit(model, train, { validation: val });
    console.log('val_auc by epoch', history.epochs.map((e) => e['val_auc']!.toFixed(3)).join(' '));
    const best = Math.max(...history.epochs.map((e) => e['val_auc']!));
    expect(best).toBeGreaterThanOrEqual(0.95);
    // restore-best: the model now holds the best epoch's weights
    const logs = await trainer.evaluate(model, val);
    expect(logs['val_auc']).toBeCloseTo(best, 6);
    for (const k of ['classification', 'alignment', 'aux_image', 'aux_text', 'aux_clinical', 'coef_image', 'lr', 'grad_norm']) {
      expect(history.epochs[0]![k], k).toBeTypeOf('number');
    }
    trainer.dispose();
    model.dispose();
  });

  it('is deterministic: same seeds give identical weights', async () => {
    const run = async () => {
      const { train, build } = setup({ dropout: 0.1 });
      const model = build();
      const trainer = new Trainer({ epochs: 2, batchSize: 32, seed: 5 });
      await trainer.fit(model, train);
      const w = await weightsOf(model);
      trainer.dispose();
      model.dispose();
      return w;
    };
    const a = await run();
    const b = await run();
    a.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(b[i]!.buffer)), `weight ${i}`).toBe(true));
  });

  it('resumes from a saved state exactly as an uninterrupted run (dropout and modality dropout on)', async () => {
    const options: TrainerOptions = { epochs: 4, batchSize: 32, seed: 7 };
    const { train, build } = setup({ dropout: 0.1 });
    const straight = build();
    const t1 = new Trainer(options);
    const full = await t1.fit(straight, train);
    // interrupted: the same run, checkpointed after epoch 2 and then killed; a *new* model and
    // trainer are restored from the checkpoint
    const first = build();
    let state: unknown = null;
    let weights: Float32Array[] = [];
    const t2 = new Trainer({
      ...options,
      onCheckpoint: async (epoch, trainer) => {
        if (epoch !== 1) return;
        state = JSON.parse(JSON.stringify(await trainer.getState()));
        weights = await weightsOf(first);
        throw new Error('killed');
      },
    });
    await expect(t2.fit(first, train)).rejects.toThrow('killed');
    const second = build();
    second.trainableVariables().forEach((v, i) => v.assign(tf.tensor(weights[i]!, v.shape)));
    const t3 = new Trainer(options);
    t3.setState(state as Parameters<Trainer['setState']>[0]);
    const resumed = await t3.fit(second, train);
    expect(resumed.epochs).toHaveLength(4);
    for (let e = 0; e < 4; e++) {
      expect(Math.abs(resumed.epochs[e]!['loss']! - full.epochs[e]!['loss']!), `epoch ${e}`).toBeLessThan(1e-6);
    }
    [t1, t2, t3].forEach((t) => t.dispose());
    [straight, first, second].forEach((m) => m.dispose());
  });

  it('keeps the tensor count flat across epochs', async () => {
    const { train, build } = setup({ n: 64 });
    const model = build();
    const counts: number[] = [];
    const trainer = new Trainer({ epochs: 20, batchSize: 32, seed: 1, onEpochEnd: () => void counts.push(tf.memory().numTensors) });
    await trainer.fit(model, train);
    expect(counts).toHaveLength(20);
    expect(counts[19]).toBe(counts[0]);
    trainer.dispose();
    model.dispose();
  });

  it('leaves no tensor behind after fit and dispose (moments, temperature and EMA teacher included)', async () => {
    const { train, build } = setup({ n: 64 });
    const model = build();
    const before = tf.memory().numTensors;
    const trainer = new Trainer({ epochs: 2, batchSize: 32, seed: 1, alignment: { visionAnchor: 'ema' } });
    await trainer.fit(model, train);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('stops with a NonFiniteError naming the step and the loss part, keeping the last good weights', async () => {
    const { train, build } = setup({ n: 64 });
    const model = build();
    const bad: TriModalData = { ...train, image: tf.mul(train.image!, tf.scalar(Number.NaN)) };
    const before = await weightsOf(model);
    const trainer = new Trainer({ epochs: 1, batchSize: 32, seed: 1 });
    let error: unknown;
    try {
      await trainer.fit(model, bad);
    } catch (e) {
      error = e;
    }
    expect(NonFiniteError.isInstance(error)).toBe(true);
    expect((error as NonFiniteError).step).toBe(0);
    expect((error as NonFiniteError).part).toBe('classification');
    const after = await weightsOf(model);
    after.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(before[i]!.buffer))).toBe(true));
    trainer.dispose();
    model.dispose();
  });

  it('trains from an async iterable of batches', async () => {
    const { train, build } = setup({ n: 64 });
    const model = build();
    async function* batches() {
      for (let i = 0; i < 2; i++) {
        const idx = tf.tensor1d(Array.from({ length: 32 }, (_, j) => i * 32 + j), 'int32');
        const batch = Object.fromEntries(Object.entries(train).map(([k, t]) => [k, tf.gather(t as tf.Tensor, idx)])) as unknown as TriModalData;
        idx.dispose();
        yield batch;
      }
    }
    const steps: number[] = [];
    const trainer = new Trainer({ epochs: 2, seed: 1, onBatchEnd: (s) => void steps.push(s) });
    const history = await trainer.fit(model, batches);
    expect(steps).toEqual([0, 1, 2, 3]);
    expect(history.epochs).toHaveLength(2);
    trainer.dispose();
    model.dispose();
  });

  it('rejects bad options with the argument named', () => {
    const bad = (o: TrainerOptions, argument: string) => expectArgumentError(() => new Trainer(o), InvalidArgumentError, argument);
    bad({ epochs: 0 }, 'epochs');
    bad({ batchSize: 1.5 }, 'batchSize');
    bad({ clipNorm: -1 }, 'clipNorm');
    bad({ warmupFraction: 1 }, 'warmupFraction');
  });
});

describe('modality balancing', () => {
  it('raises the image branch auxiliary AUC when the clinical modality dominates', async () => {
    // The clinical value is nearly the whole signal; the image carries a weaker, real one.
    const auxImageAuc = async (balancing: boolean) => {
      const { train, val, build } = setup({ n: 256, clinicalStrength: 4, imageStrength: 1, textStrength: 0.5, seed: 11 });
      const model = build();
      const trainer = new Trainer({
        epochs: 6,
        batchSize: 32,
        learningRate: 3e-3,
        seed: 2,
        balancing: balancing ? { alpha: 2 } : false,
        modalityDropout: balancing ? { text: 0.1, clinical: 0.3 } : false,
        earlyStopping: false,
      });
      await trainer.fit(model, train);
      const { auxiliary } = model.predict(val, { auxiliary: true });
      const auc = rocAuc(Array.from(await val.labels.data()), Array.from(await auxiliary!.image!.data()));
      tf.dispose([...Object.values(auxiliary!)]);
      trainer.dispose();
      model.dispose();
      return auc;
    };
    const off = await auxImageAuc(false);
    const on = await auxImageAuc(true);
    console.log(`aux image AUC: balancing off ${off.toFixed(3)}, on ${on.toFixed(3)}`);
    expect(on).toBeGreaterThan(off + 0.01);
  });
});

describe('cpu/wasm agreement of training', () => {
  it('a short run gives the same loss curve on both backends (1e-3)', async () => {
    const curve = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const { train, build } = setup({ n: 64 });
      const model = build();
      const trainer = new Trainer({ epochs: 3, batchSize: 32, seed: 4, modalityDropout: false });
      const h = await trainer.fit(model, train);
      trainer.dispose();
      model.dispose();
      return h.epochs.map((e) => e['loss']!);
    };
    const cpu = await curve('cpu');
    const wasm = await curve('wasm');
    cpu.forEach((l, i) => expect(Math.abs(wasm[i]! - l), `epoch ${i}`).toBeLessThan(1e-3));
  });
});

describe('early stopping with BatchNorm', () => {
  it("restore-best puts back the best epoch's moving statistics with its weights: the model predicts as it did at that epoch", async () => {
    const { pre, tok } = toyEncoders();
    const trainToy = makeToy({ n: 64, seed: 31 });
    pre.fit(trainToy.rows);
    const train = toTensors(trainToy, pre, tok);
    const val = toTensors(makeToy({ n: 48, seed: 32 }), pre, tok);
    const model = createTriModalModel({ image: { inputShape: [8, 8, 2], spatialDims: 2, widths: [8], depths: [1], strides: [2], norm: 'batch' }, seed: 6 });
    expect(model.stateVariables().map((v) => v.name.replace(/.*\//, '').replace(/_\d+$/, ''))).toEqual(expect.arrayContaining([expect.stringContaining('moving_mean'), expect.stringContaining('moving_variance')]));
    const perEpoch: Float32Array[] = [];
    const trainer = new Trainer({
      epochs: 8,
      batchSize: 16,
      learningRate: 5e-2,
      seed: 2,
      modalityDropout: false,
      earlyStopping: { metric: 'loss', patience: 8, restoreBest: true },
      onEpochEnd: () => {
        const p = model.predict({ image: val.image! });
        perEpoch.push(p.probabilities.dataSync() as Float32Array);
        p.probabilities.dispose();
      },
    });
    const h = await trainer.fit(model, train, { validation: val });
    expect(h.bestEpoch).not.toBeNull();
    expect(h.bestEpoch!).toBeLessThan(h.epochs.length - 1); // otherwise nothing is restored
    const after = model.predict({ image: val.image! });
    const got = Array.from(after.probabilities.dataSync());
    const best = Array.from(perEpoch[h.bestEpoch!]!);
    const last = Array.from(perEpoch.at(-1)!);
    got.forEach((p, i) => expect(p).toBeCloseTo(best[i]!, 6));
    expect(got.some((p, i) => Math.abs(p - last[i]!) > 1e-3)).toBe(true);
    after.probabilities.dispose();
    trainer.dispose();
    model.dispose();
    tf.dispose([...Object.values(train), ...Object.values(val)]);
  });
});
