import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import {
  contrastiveLoss,
  dualSemanticAlignmentLoss,
  fineGrainedAlignmentLoss,
  InvalidArgumentError,
  lateInteractionSimilarity,
  LogitScale,
  ShapeError,
  symmetricInfoNce,
  vdafm,
} from '../../src/index.js';
import { assertNoLeaks, assertTensorsClose } from '../../src/testing.js';
import { expectArgumentError } from '../helpers/errors.js';

interface ContrastiveCase {
  name: string;
  scale: number;
  a: number[][];
  b: number[][];
  logits: number[][];
  loss: number;
  mask: number[];
  maskedLoss: number;
  labels: number[];
  supervisedLoss: number;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/losses/loss_reference.json', import.meta.url), 'utf8')) as {
  contrastive: ContrastiveCase[];
  fineGrained: { visual: number[][][]; text: number[][][]; textMask: number[][]; scale: number; similarity: number[][]; loss: number };
};

const value = (t: tf.Tensor) => t.dataSync()[0]!;

describe('contrastiveLoss', () => {
  for (const c of fixture.contrastive) {
    it(`matches PyTorch F.cross_entropy: ${c.name}`, () => {
      const a = tf.tensor2d(c.a);
      const b = tf.tensor2d(c.b);
      const r = contrastiveLoss(a, b, { logitScale: c.scale });
      assertTensorsClose(r.logitsAB, c.logits, { atol: 1e-4, rtol: 1e-5 });
      expect(Math.abs(value(r.loss) - c.loss)).toBeLessThan(1e-5 * Math.max(1, c.loss));
      const masked = contrastiveLoss(a, b, { logitScale: c.scale, mask: tf.tensor1d(c.mask) });
      expect(Math.abs(value(masked.loss) - c.maskedLoss)).toBeLessThan(1e-5 * Math.max(1, c.maskedLoss));
      const sup = contrastiveLoss(a, b, { logitScale: c.scale, labels: tf.tensor1d(c.labels, 'int32') });
      expect(Math.abs(value(sup.loss) - c.supervisedLoss)).toBeLessThan(1e-5 * Math.max(1, c.supervisedLoss));
    });
  }

  it('is log(B) for identical embeddings at scale 0+ and 0 for a batch of one', () => {
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    expect(value(contrastiveLoss(x, x, { logitScale: 1e-6 }).loss)).toBeCloseTo(Math.log(5), 4);
    const one = tf.randomNormal([1, 3]) as tf.Tensor2D;
    expect(value(contrastiveLoss(one, tf.randomNormal([1, 3]) as tf.Tensor2D, { temperature: 0.01 }).loss)).toBe(0);
  });

  it('is finite and zero when every sample is masked, finite at huge scales', () => {
    const a = tf.randomNormal([4, 8], 0, 1, 'float32', 2) as tf.Tensor2D;
    const b = tf.randomNormal([4, 8], 0, 1, 'float32', 3) as tf.Tensor2D;
    expect(value(contrastiveLoss(a, b, { mask: tf.zeros([4]) as tf.Tensor1D }).loss)).toBe(0);
    const huge = contrastiveLoss(a, b, { logitScale: 1e6 });
    expect(Number.isFinite(value(huge.loss))).toBe(true);
    const g = tf.grad((x: tf.Tensor) => contrastiveLoss(x as tf.Tensor2D, b, { logitScale: 1e4, mask: tf.tensor1d([1, 0, 1, 0]) }).loss)(a);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
  });

  fcTest.prop(
    [
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.double({ min: 0.5, max: 100, noNaN: true }),
      fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    ],
    { numRuns: 40 },
  )('is ≥ 0, symmetric in its arguments, and invariant to a joint permutation', (batch, seed, scale, keep) => {
    tf.tidy(() => {
      const a = tf.randomNormal([batch, 4], 0, 1, 'float32', seed) as tf.Tensor2D;
      const b = tf.randomNormal([batch, 4], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
      const mask = tf.tensor1d(keep.slice(0, batch).map((k) => (k ? 1 : 0)));
      const l = value(contrastiveLoss(a, b, { logitScale: scale, mask }).loss);
      expect(l).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(l)).toBe(true);
      const swapped = value(contrastiveLoss(b, a, { logitScale: scale, mask }).loss);
      expect(Math.abs(swapped - l)).toBeLessThan(1e-4 * Math.max(1, l));
      const perm = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i + 1) % batch), 'int32');
      const permuted = value(contrastiveLoss(tf.gather(a, perm), tf.gather(b, perm), { logitScale: scale, mask: tf.gather(mask, perm) }).loss);
      expect(Math.abs(permuted - l)).toBeLessThan(1e-4 * Math.max(1, l));
    });
  });

  it('rejects bad inputs with the argument named', () => {
    const a = tf.zeros([3, 4]) as tf.Tensor2D;
    expect(() => contrastiveLoss(a, tf.zeros([2, 4]) as tf.Tensor2D)).toThrowError(/Received: b\.shape=\[2,4\]/);
    expect(() => contrastiveLoss(a, a, { temperature: 0 })).toThrowError(InvalidArgumentError);
    expect(() => contrastiveLoss(a, a, { temperature: 0.1, logitScale: 3 })).toThrowError(/either temperature or logitScale/);
    expectArgumentError(() => contrastiveLoss(a, a, { mask: tf.ones([4]) as tf.Tensor1D }), ShapeError, 'mask');
    expect(() => symmetricInfoNce(tf.zeros([2, 3]) as tf.Tensor2D)).toThrowError(ShapeError);
  });
});

describe('LogitScale', () => {
  it('starts at 1/0.07, clamps to [1, 100], learns, and round-trips through JSON', () => {
    const s = new LogitScale();
    expect(value(s.value())).toBeCloseTo(1 / 0.07, 3);
    s.variable.assign(tf.scalar(10));
    expect(value(s.value())).toBeCloseTo(100, 3);
    s.variable.assign(tf.scalar(-3));
    expect(value(s.value())).toBeCloseTo(1, 5);
    s.variable.assign(tf.scalar(Math.log(20)));
    const a = tf.randomNormal([6, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
    const { grads } = tf.variableGrads(() => contrastiveLoss(a, a, { logitScale: s.value() }).loss, [s.variable]);
    // aligned pairs: a larger scale lowers the loss, so the gradient on log-scale is negative
    expect(grads[s.variable.name]!.dataSync()[0]).toBeLessThan(0);
    const copy = LogitScale.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(copy.temperature()).toBeCloseTo(1 / 20, 5);
    expect(() => new LogitScale({ min: 10, max: 5 })).toThrowError(/max/);
    s.dispose();
    copy.dispose();
  });
});

describe('fineGrainedAlignmentLoss', () => {
  it('matches the PyTorch late-interaction reference', () => {
    const f = fixture.fineGrained;
    const v = tf.tensor3d(f.visual);
    const t = tf.tensor3d(f.text);
    const m = tf.tensor2d(f.textMask);
    assertTensorsClose(lateInteractionSimilarity(v, t, m), f.similarity, { atol: 1e-5 });
    const { loss } = fineGrainedAlignmentLoss(v, t, m, { logitScale: f.scale });
    expect(Math.abs(value(loss) - f.loss)).toBeLessThan(1e-5);
  });

  fcTest.prop([fc.integer({ min: 1, max: 1000 }), fc.double({ min: -1e3, max: 1e3, noNaN: true })], { numRuns: 15 })(
    'is ≥ 0 and ignores padded text tokens and missing reports',
    (seed, fill) => {
      tf.tidy(() => {
        const v = tf.randomNormal([3, 4, 6], 0, 1, 'float32', seed) as tf.Tensor3D;
        const t = tf.randomNormal([3, 5, 6], 0, 1, 'float32', seed + 1) as tf.Tensor3D;
        const m = tf.tensor2d([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]);
        const m3 = tf.expandDims(m, -1);
        const altered = tf.add(tf.mul(t, m3), tf.mul(tf.sub(1, m3), fill)) as tf.Tensor3D;
        const a = value(fineGrainedAlignmentLoss(v, t, m).loss);
        const b = value(fineGrainedAlignmentLoss(v, altered, m).loss);
        expect(a).toBeGreaterThanOrEqual(0);
        expect(Math.abs(a - b)).toBeLessThan(1e-4 * Math.max(1, a));
      });
    },
  );
});

describe('dualSemanticAlignmentLoss and the vision anchor', () => {
  function setup() {
    const x = [
      tf.randomNormal([4, 6, 10], 0, 1, 'float32', 1),
      tf.randomNormal([4, 5, 8], 0, 1, 'float32', 2),
      tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
      tf.randomNormal([4, 3, 2], 0, 1, 'float32', 3),
      tf.tensor2d([[1, 1, 1], [1, 0, 1], [0, 0, 0], [1, 1, 1]]),
    ];
    // a tiny image "encoder" (one dense layer) in front of the fusion, to test gradients into it
    const imageEncoder = tfl.layers.dense({ units: 10, kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) });
    const textEncoder = tfl.layers.dense({ units: 8, kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) });
    const fusion = vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'late', dropout: 0, seed: 6 });
    const lossFn = (visionAnchor: boolean) =>
      tf.tidy(() => {
      const out = fusion.fuse([imageEncoder.apply(x[0]!) as tf.Tensor, textEncoder.apply(x[1]!) as tf.Tensor, x[2]!, x[3]!, x[4]!]);
      return dualSemanticAlignmentLoss(
        { ...out, clinicalEmbedding: out.clinicalEmbedding!, textMask: x[2] as tf.Tensor2D, clinicalMask: x[4] as tf.Tensor2D },
        { visionAnchor, temperature: 0.1 },
      );
      });
    tf.dispose(lossFn(true));
    return { x, imageEncoder, textEncoder, lossFn };
  }

  it('with visionAnchor gives zero gradient to the image encoder and non-zero to the text encoder; without, both move', () => {
    const { imageEncoder, textEncoder, lossFn } = setup();
    const vars = [...imageEncoder.trainableWeights, ...textEncoder.trainableWeights].map((w) => w.read() as tf.Variable);
    const gradNorm = (anchor: boolean) => {
      const { grads, value: v } = tf.variableGrads(() => lossFn(anchor).loss, vars);
      const norm = (w: tfl.LayerVariable) => tf.norm(grads[(w.read() as tf.Variable).name]!).dataSync()[0]!;
      const r = { image: norm(imageEncoder.trainableWeights[0]!), text: norm(textEncoder.trainableWeights[0]!), loss: v.dataSync()[0]! };
      tf.dispose([v, ...Object.values(grads)]);
      return r;
    };
    const anchored = gradNorm(true);
    expect(anchored.image).toBe(0);
    expect(anchored.text).toBeGreaterThan(1e-6);
    const free = gradNorm(false);
    expect(free.image).toBeGreaterThan(1e-6);
    expect(free.text).toBeGreaterThan(1e-6);
    expect(free.loss).toBeCloseTo(anchored.loss, 5); // the anchor changes gradients, not the value
  });

  it('sums weighted terms, excludes missing modalities, and does not leak', async () => {
    const { lossFn } = setup();
    const r = lossFn(true);
    const [total, g, f, c] = [r.loss, r.global, r.fine, r.clinical].map(value) as [number, number, number, number];
    expect(total).toBeCloseTo(g + f + c, 5);
    [g, f, c].forEach((v) => expect(v).toBeGreaterThan(0));
    tf.dispose(Object.values(r));
    await assertNoLeaks(() => lossFn(true));
    expect(() => dualSemanticAlignmentLoss({} as never, { globalWeight: -1 })).toThrowError(/globalWeight/);
  });
});
