import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, loadModelFromMemory, saveModelToMemory, ShapeError } from '../../../src/index.js';
import {
  batchNormTrain,
  Conv2D,
  Conv3D,
  createImageEncoder,
  groupNorm,
  ImageEncoderLayer,
  type CreateImageEncoderConfig,
} from '../../../src/index.js';
import { assertNoLeaks, assertTensorsClose, runLayerTest } from '../../../src/testing.js';
import { onBackend } from '../../helpers/backends.js';
import { expectBackendParity, parityInputs } from '../../helpers/parity.js';
import { expectArgumentError, type ArgumentErrorClass } from '../../helpers/errors.js';

interface NormCase {
  name: string;
  kind: 'batch' | 'group';
  groups: number;
  epsilon: number;
  x: number[][] | number[][][];
  gamma: number[];
  beta: number[];
  proj: number[][] | number[][][];
  y: number[][] | number[][][];
  dx: number[][] | number[][][];
  dgamma: number[];
  dbeta: number[];
  mean: number[] | null;
  variance: number[] | null;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/conv/conv_reference.json', import.meta.url), 'utf8')) as {
  norm: NormCase[];
};

beforeAll(() => {
  for (const cls of [Conv2D, Conv3D, ImageEncoderLayer]) {
    tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  }
});

const small2d: CreateImageEncoderConfig = { inputShape: [9, 8, 2], widths: [8, 16], depths: [1, 1], strides: [1, 2], groups: 4, seed: 1 };
const small3d: CreateImageEncoderConfig = {
  spatialDims: 3,
  inputShape: [4, 6, 5, 1],
  widths: [4, 8],
  depths: [1, 0],
  strides: [[1, 2, 2], 2],
  norm: 'batch',
  seed: 2,
};

describe('normalisation ops', () => {
  for (const c of fixture.norm) {
    it(`match PyTorch (${c.kind === 'batch' ? 'F.batch_norm, training' : 'F.group_norm'}): ${c.name}`, () => {
      tf.tidy(() => {
        const x = tf.tensor(c.x);
        const gamma = tf.tensor1d(c.gamma);
        const beta = tf.tensor1d(c.beta);
        const proj = tf.tensor(c.proj);
        const stats: number[][] = [];
        const run = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          c.kind === 'batch'
            ? batchNormTrain(xx as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, c.epsilon, (m, v) => {
                stats.push(Array.from(m.dataSync()), Array.from(v.dataSync()));
              })
            : groupNorm(xx as tf.Tensor3D, g as tf.Tensor1D, b as tf.Tensor1D, c.groups, c.epsilon);
        assertTensorsClose(run(x, gamma, beta), c.y, { atol: 1e-4, rtol: 1e-4 }, 'output');
        const [dx, dg, db] = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(run(a, g, b), proj)))([x, gamma, beta]);
        assertTensorsClose(dx!, c.dx, { atol: 1e-4, rtol: 1e-4 }, 'input gradient');
        assertTensorsClose(dg!, c.dgamma, { atol: 1e-4, rtol: 1e-4 }, 'gamma gradient');
        assertTensorsClose(db!, c.dbeta, { atol: 1e-4, rtol: 1e-4 }, 'beta gradient');
        if (c.mean) {
          assertTensorsClose(stats[0]!, c.mean, { atol: 1e-5 }, 'batch mean');
          assertTensorsClose(stats[1]!, c.variance!, { atol: 1e-4 }, 'batch variance');
        }
      });
    });
  }

  fcTest.prop([fc.integer({ min: 1, max: 4 }), fc.double({ min: 0.1, max: 100, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true })], {
    numRuns: 10,
  })('group norm is invariant to a per-sample affine change of the input', (groups, scale, shift) => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 5, 4 * groups], 0, 1, 'float32', groups) as tf.Tensor3D;
      const g = tf.ones([4 * groups]) as tf.Tensor1D;
      const b = tf.zeros([4 * groups]) as tf.Tensor1D;
      const a = groupNorm(x, g, b, groups, 1e-5);
      const moved = groupNorm(tf.add(tf.mul(x, scale), shift) as tf.Tensor3D, g, b, groups, 1e-5);
      assertTensorsClose(moved, a, { atol: 2e-3 }, 'normalised');
    });
  });
});

describe('createImageEncoder', () => {
  it('the 2D encoder layer passes the layer-test harness (group norm)', async () => {
    const report = await runLayerTest({
      create: () => new ImageEncoderLayer({ widths: [8, 16], depths: [1, 1], strides: [1, 2], groups: 4, seed: 1 }),
      inputShapes: [[9, 8, 2]],
      expectedOutputShape: [
        [null, 20, 16],
        [null, 16],
      ],
      // stem 3 + block0 (2 convs × 3) + block1 (3 convs × 3)
      expectedTrainableWeights: 18,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('the 3D encoder layer passes the harness (batch norm: moving statistics are non-trainable)', async () => {
    const report = await runLayerTest({
      create: () => new ImageEncoderLayer({ ...small3d, inputShape: undefined } as never),
      inputShapes: [[4, 6, 5, 1]],
      expectedOutputShape: [
        [null, 8, 8],
        [null, 8],
      ],
      // stem + block (conv1, conv2, shortcut) + transition = 5 conv/norm units × (kernel, gamma, beta)
      expectedTrainableWeights: 15,
      expectedNonTrainableWeights: 10,
    });
    expect(report.checks).toContain('save/load');
    tf.dispose(report.outputs);
  });

  it("the encoder layer passes the harness with norm 'none' (conv biases), GELU and a projection", async () => {
    const report = await runLayerTest({
      create: () => new ImageEncoderLayer({ widths: [4, 6], depths: [2, 1], norm: 'none', activation: 'gelu', outputDim: 5, seed: 3 }),
      inputShapes: [[7, 7, 3]],
      expectedOutputShape: [
        [null, 16, 5],
        [null, 5],
      ],
      // stem 2 + stage0 2 blocks × 2 convs × 2 + stage1 block 3 convs × 2 + proj 2
      expectedTrainableWeights: 2 + 8 + 6 + 2,
    });
    expect(report.checks).toContain('optimizer');
    tf.dispose(report.outputs);
  });

  it('returns the documented shapes, and the pooled vector is the mean of the tokens', () => {
    const enc = createImageEncoder({ inputShape: [64, 64, 2], widths: [16, 32, 64], strides: [1, 2, 2] });
    expect(enc.tokensShape).toEqual([256, 64]);
    expect(enc.gridShape).toEqual([16, 16]);
    expect(enc.pooledDim).toBe(64);
    expect(enc.model.outputs.map((o) => o.shape)).toEqual([
      [null, 256, 64],
      [null, 64],
    ]);
    const [tokens, pooled] = enc.model.predict(tf.randomNormal([2, 64, 64, 2])) as tf.Tensor[];
    expect(tokens!.shape).toEqual([2, 256, 64]);
    assertTensorsClose(pooled!, tf.mean(tokens!, 1), { atol: 1e-5 }, 'pooled');
    const enc3 = createImageEncoder({ ...small3d });
    expect(enc3.tokensShape).toEqual([8, 8]);
    expect(enc3.gridShape).toEqual([2, 2, 2]);
    tf.dispose([tokens!, pooled!]);
    enc.model.dispose();
    enc3.model.dispose();
  });

  it('tokens are the last feature map flattened row-major: moving the input content moves the token', () => {
    // A 1×1 "encoder" without padding effects: kernel 1, no stride, no norm. A bright pixel at
    // (row r, col c) must light up token r·W + c only.
    const enc = createImageEncoder({ inputShape: [3, 4, 1], widths: [2], depths: [0], strides: [1], kernelSize: 1, norm: 'none', seed: 5 });
    enc.layer.setWeights(enc.layer.getWeights().map((w) => tf.onesLike(w)));
    const x = tf.buffer([1, 3, 4, 1]);
    x.set(1, 0, 2, 1, 0);
    const [tokens] = enc.model.predict(x.toTensor()) as tf.Tensor[];
    const values = (tokens!.arraySync() as number[][][])[0]!.map((t) => t[0]!);
    // stem: relu(1·x + 1) = 2 at the pixel, 1 elsewhere; transition: relu(2·h + 1).
    expect(values).toEqual(values.map((_, i) => (i === 2 * 4 + 1 ? 5 : 3)));
    tf.dispose(tokens!);
    enc.model.dispose();
  });

  it('BatchNorm uses batch statistics and updates the moving ones only when training', () => {
    const enc = createImageEncoder({ inputShape: [4, 4, 1], widths: [2], depths: [0], strides: [1], norm: 'batch', momentum: 0.9, seed: 1 });
    const x = tf.randomNormal([3, 4, 4, 1], 2, 1, 'float32', 9);
    const movingMean = () => enc.layer.nonTrainableWeights.find((w) => w.originalName.endsWith('stem_moving_mean'))!.read();
    tf.dispose(enc.model.predict(x) as tf.Tensor[]);
    assertTensorsClose(movingMean(), [0, 0], { atol: 0 }, 'unchanged by inference');
    // expected batch mean of the stem conv output
    const stemKernel = enc.layer.trainableWeights.find((w) => w.originalName.endsWith('stem_kernel'))!.read();
    const conv = tf.conv2d(x as tf.Tensor4D, stemKernel as tf.Tensor4D, 1, 'same');
    const batchMean = tf.mean(conv, [0, 1, 2]);
    tf.dispose(enc.layer.apply(x, { training: true }) as tf.Tensor[]);
    assertTensorsClose(movingMean(), tf.mul(batchMean, 0.1), { atol: 1e-5 }, 'moving mean after one training call');
    tf.dispose([x, conv, batchMean]);
    enc.model.dispose();
  });

  it('composes inside a functional model, trains one step on cpu and wasm, and round-trips save/load exactly', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await onBackend(backend, async () => {
        for (const cfg of [small2d, small3d]) {
          const enc = createImageEncoder(cfg);
          const image = tfl.input({ shape: cfg.inputShape });
          const clinical = tfl.input({ shape: [3] });
          const [, pooled] = enc.apply(image);
          const merged = tfl.layers.concatenate().apply([pooled, clinical]) as tfl.SymbolicTensor;
          const out = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(merged) as tfl.SymbolicTensor;
          const model = tfl.model({ inputs: [image, clinical], outputs: out });
          model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
          const xs = [tf.randomNormal([4, ...cfg.inputShape], 0, 1, 'float32', 3), tf.randomNormal([4, 3], 0, 1, 'float32', 4)];
          const ys = tf.tensor2d([[1], [0], [1], [0]]);
          const before = enc.layer.trainableWeights.map((w) => w.read().dataSync().slice());
          const history = await model.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
          expect(Number.isFinite(history.history['loss']![0] as number)).toBe(true);
          enc.layer.trainableWeights.forEach((w, i) => {
            const moved = w.read().dataSync().some((v, j) => v !== before[i]![j]);
            expect(moved, `${backend}: ${w.originalName} moved`).toBe(true);
          });
          const pred = model.predict(xs) as tf.Tensor;
          const loaded = await loadModelFromMemory(await saveModelToMemory(model));
          const again = loaded.predict(xs) as tf.Tensor;
          assertTensorsClose(again, pred, { atol: 0 }, `${backend} save/load`);
          tf.dispose([...xs, ys, pred, again]);
          loaded.dispose();
          model.dispose();
        }
      });
    }
  });

  it('composes two encoders (a 2D slice stack and a 3D volume) in one model, with distinct default names', () => {
    const a = createImageEncoder(small2d);
    const b = createImageEncoder(small3d);
    expect(a.layer.name).not.toBe(b.layer.name);
    const slices = tfl.input({ shape: small2d.inputShape });
    const volume = tfl.input({ shape: small3d.inputShape });
    const pooled = tfl.layers.concatenate().apply([a.apply(slices)[1], b.apply(volume)[1]]) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: [slices, volume], outputs: [pooled, a.apply(slices)[0]] });
    expect(model.outputs.map((o) => o.shape)).toEqual([
      [null, 16 + 8],
      [null, 20, 16],
    ]);
    const out = model.predict([tf.zeros([1, ...small2d.inputShape]), tf.zeros([1, ...small3d.inputShape])]) as tf.Tensor[];
    expect(out[0]!.shape).toEqual([1, 24]);
    tf.dispose(out);
    model.dispose();
  });

  it('gives the same outputs and gradients on cpu and wasm (2D group norm; 3D batch norm in training mode)', async () => {
    const { inputShape: s2, ...o2 } = small2d;
    const r2 = await expectBackendParity(() => new ImageEncoderLayer(o2), parityInputs([[2, ...s2]]));
    expect(r2.weightGrads).toHaveLength(18);
    const { inputShape: s3, ...o3 } = small3d;
    const r3 = await expectBackendParity(() => new ImageEncoderLayer(o3), parityInputs([[3, ...s3]]), { training: true });
    expect(r3.outputs).toHaveLength(2);
  });

  it('leaks no tensors in a training step', async () => {
    const enc = createImageEncoder(small3d);
    const x = tf.randomNormal([2, ...small3d.inputShape]);
    const opt = tf.train.sgd(0.01);
    const step = () =>
      opt.minimize(() => tf.tidy(() => tf.sum((enc.layer.apply(x, { training: true }) as tf.Tensor[])[1]!) as tf.Scalar), false);
    step();
    await assertNoLeaks(step, 'training step');
    x.dispose();
    enc.model.dispose();
  });

  it('rejects bad options with typed errors naming the option', () => {
    const bad = (cfg: unknown, cls: ArgumentErrorClass<InvalidArgumentError | ShapeError>, argument: string) =>
      expectArgumentError(() => createImageEncoder(cfg as CreateImageEncoderConfig), cls, argument);
    const base = { inputShape: [16, 16, 1] };
    bad(null, InvalidArgumentError, 'config');
    bad({ ...base, spatialDims: 4 }, InvalidArgumentError, 'spatialDims');
    bad({ ...base, widths: [] }, InvalidArgumentError, 'widths');
    bad({ ...base, widths: [8, 8], depths: [1] }, InvalidArgumentError, 'depths');
    bad({ ...base, widths: [8, 8], strides: [1] }, InvalidArgumentError, 'strides');
    bad({ ...base, widths: [8], strides: [[1, 2, 2]] }, InvalidArgumentError, 'strides[0]');
    bad({ ...base, widths: [12], groups: 8 }, InvalidArgumentError, 'groups');
    bad({ ...base, norm: 'instance' }, InvalidArgumentError, 'norm');
    bad({ ...base, activation: 'tanh' }, InvalidArgumentError, 'activation');
    bad({ ...base, momentum: 1 }, InvalidArgumentError, 'momentum');
    bad({ ...base, outputDim: 0 }, InvalidArgumentError, 'outputDim');
    bad({ ...base, kernelSize: 0 }, InvalidArgumentError, 'kernelSize');
    bad({ ...base, intensityNorm: 'minmax' }, InvalidArgumentError, 'intensityNorm');
    bad({ ...base, coordinates: 1 }, InvalidArgumentError, 'coordinates');
    bad({ ...base, tokenPositions: 'yes' }, InvalidArgumentError, 'tokenPositions');
    bad({ inputShape: [16, 16] }, ShapeError, 'inputShape');
    bad({ inputShape: [16, 16, 1], spatialDims: 3 }, ShapeError, 'inputShape');
    bad({ inputShape: [16, -1, 1] }, InvalidArgumentError, 'inputShape');
    const layer = new ImageEncoderLayer({ widths: [8] });
    expect(() => layer.apply(tfl.input({ shape: [null, 8, 1] as unknown as number[] }))).toThrow(ShapeError);
  });
});

describe('image encoder options for small cohorts (#15)', () => {
  it('draws small kernels by default (truncated normal, sd 0.02), not He-normal', () => {
    const enc = createImageEncoder({ inputShape: [16, 16, 4], widths: [32, 32], strides: [1, 2], seed: 3 });
    expect(enc.config.kernelInitializer).toBe('truncatedNormal');
    const kernels = enc.layer.getWeights().filter((w, i) => enc.layer.weights[i]!.name.endsWith('kernel'));
    const values = kernels.flatMap((k) => Array.from(k.dataSync()));
    const sd = Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
    // truncated at 2 sd: the sample sd is 0.02 · 0.88 ≈ 0.0176; He-normal on 3·3·4 inputs would be ≈ 0.24
    expect(sd).toBeGreaterThan(0.016);
    expect(sd).toBeLessThan(0.019);
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-6);
    enc.model.dispose();
  });

  fcTest.prop([fc.array(fc.double({ min: 0.2, max: 5, noNaN: true }), { minLength: 6, maxLength: 6 })], { numRuns: 8 })(
    "intensityNorm 'mean' makes the outputs independent of each patient's channel gains; 'zscore' of gains and offsets",
    (g) => {
      for (const intensityNorm of ['mean', 'zscore'] as const) {
        const enc = createImageEncoder({ inputShape: [8, 8, 3], widths: [8], depths: [1], strides: [2], groups: 4, intensityNorm, seed: 2 });
        const x = tf.add(tf.abs(tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 4)), 0.1);
        const gains = tf.tensor(g, [2, 1, 1, 3]);
        const scaled = intensityNorm === 'mean' ? tf.mul(x, gains) : tf.add(tf.mul(x, gains), tf.mul(gains, 3));
        const [a] = enc.model.predict(x) as tf.Tensor[];
        const [b] = enc.model.predict(scaled) as tf.Tensor[];
        assertTensorsClose(b!, a!, { atol: 2e-4, rtol: 2e-3 }, intensityNorm);
        // and without it they differ
        const plain = createImageEncoder({ inputShape: [8, 8, 3], widths: [8], depths: [1], strides: [2], groups: 4, seed: 2 });
        const [c] = plain.model.predict(x) as tf.Tensor[];
        const [d] = plain.model.predict(tf.mul(x, tf.tensor([[[[1, 1, 3]]], [[[1, 1, 3]]]]))) as tf.Tensor[];
        expect(tf.max(tf.abs(tf.sub(c!, d!))).dataSync()[0]).toBeGreaterThan(1e-3);
        tf.dispose([x, gains, scaled, a!, b!, c!, d!]);
        enc.model.dispose();
        plain.model.dispose();
      }
    },
  );

  it('coordinates tell positions apart: an all-zero image gives equal tokens without them, distinct ones with them', () => {
    const opts = { inputShape: [4, 4, 1], widths: [4], depths: [0], strides: [1], kernelSize: 1, norm: 'none' as const, activation: 'elu' as const, seed: 9 };
    const tokensOf = (enc: ReturnType<typeof createImageEncoder>) => {
      const [t, p] = enc.model.predict(tf.zeros([1, 4, 4, 1])) as tf.Tensor[];
      const rows = (t!.arraySync() as number[][][])[0]!;
      tf.dispose([t!, p!]);
      return rows;
    };
    const without = createImageEncoder(opts);
    const withCoords = createImageEncoder({ ...opts, coordinates: true });
    // the stem reads 1 + 2 channels
    expect(withCoords.layer.weights.find((w) => w.name.endsWith('stem_kernel'))!.shape).toEqual([1, 1, 3, 4]);
    const a = tokensOf(without);
    expect(new Set(a.map((r) => r.map((v) => v.toFixed(6)).join())).size).toBe(1);
    const b = tokensOf(withCoords);
    expect(new Set(b.map((r) => r.map((v) => v.toFixed(6)).join())).size).toBe(16);
    // 1×1 stem then a 1×1 transition, no norm (zero biases), elu (one-to-one):
    // token (row i, col j) = elu(K2ᵀ · elu(K1ᵀ · [0, y_i, x_j])), coordinate (k + 0.5)/4·2 − 1
    const weight = (suffix: string) => withCoords.layer.weights.find((w) => w.name.endsWith(suffix))!.read().dataSync();
    const k1 = weight('stem_kernel');
    const k2 = weight('stage0_transition_kernel');
    const elu = (z: number) => (z > 0 ? z : Math.expm1(z));
    const coord = (k: number) => ((k + 0.5) / 4) * 2 - 1;
    for (const [i, j] of [[0, 0], [1, 3], [3, 2]] as const) {
      const h = [0, 1, 2, 3].map((c) => elu(k1[1 * 4 + c]! * coord(i) + k1[2 * 4 + c]! * coord(j)));
      for (let c = 0; c < 4; c++) {
        const expected = elu(h.reduce((acc, v, ci) => acc + v * k2[ci * 4 + c]!, 0));
        expect(b[i * 4 + j]![c]).toBeCloseTo(expected, 6);
      }
    }
    without.model.dispose();
    withCoords.model.dispose();
  });

  it('tokenPositions adds a learned [numTokens, dim] embedding to the tokens', () => {
    const enc = createImageEncoder({ inputShape: [4, 4, 1], widths: [4], depths: [0], strides: [2], kernelSize: 1, norm: 'none', tokenPositions: true, seed: 4 });
    const pos = enc.layer.weights.find((w) => w.name.endsWith('token_positions'))!;
    expect(pos.shape).toEqual([4, 4]);
    const [t, p] = enc.model.predict(tf.zeros([2, 4, 4, 1])) as tf.Tensor[];
    // zero image, zero conv bias: the tokens are exactly the position table
    assertTensorsClose(t!, tf.stack([pos.read(), pos.read()]), { atol: 1e-7 }, 'tokens');
    assertTensorsClose(p!, tf.mean(t!, 1), { atol: 1e-6 }, 'pooled');
    tf.dispose([t!, p!]);
    enc.model.dispose();
  });

  it('passes the layer-test harness and matches on cpu and wasm with every new option on', async () => {
    const create = () => new ImageEncoderLayer({ widths: [8, 8], depths: [1, 0], strides: [1, 2], groups: 4, intensityNorm: 'zscore', coordinates: true, tokenPositions: true, outputDim: 6, seed: 1 });
    const report = await runLayerTest({
      create,
      inputShapes: [[6, 6, 2]],
      expectedOutputShape: [
        [null, 9, 6],
        [null, 6],
      ],
      // stem 3 + block (2 convs × 3) + transition 3 + proj 2 + positions 1
      expectedTrainableWeights: 3 + 6 + 3 + 2 + 1,
    });
    expect(report.checks).toContain('save/load');
    tf.dispose(report.outputs);
    const r = await expectBackendParity(create, parityInputs([[2, 6, 6, 2]]));
    expect(r.weightGrads).toHaveLength(15);
  });
});
