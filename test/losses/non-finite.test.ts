// NaN in ⇒ NaN out, on every backend: a loss must never hide a non-finite input (the trainer's
// NaN guard reads the loss). tfjs-backend-wasm's Relu maps a negative NaN to 0, so a `relu`
// guard turned a diverging run into a loss of 0 there.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  binaryCrossEntropy,
  binaryFocalLoss,
  contrastiveLoss,
  dualSemanticAlignmentLoss,
  fineGrainedAlignmentLoss,
  ordinalLoss,
  softmaxCrossEntropy,
  symmetricInfoNce,
} from '../../src/index.js';
import { onBackend } from '../helpers/backends.js';

const BACKENDS = ['cpu', 'wasm'] as const;
const value = (t: tf.Tensor) => t.dataSync()[0]!;

/** A `[rows, cols]` tensor of seeded normals with `bad` written at `at`. */
function planted(shape: number[], seed: number, at: number[], bad: number): tf.Tensor {
  const buffer = tf.buffer(shape, 'float32', (tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync() as Float32Array).slice());
  buffer.set(bad, ...at);
  return buffer.toTensor();
}

describe('the losses give NaN for a NaN input on every backend', () => {
  for (const backend of BACKENDS) {
    describe(backend, () => {
      for (const bad of [NaN, Infinity]) {
        it(`contrastiveLoss and symmetricInfoNce with ${bad} in an embedding or a logit`, async () => {
          await onBackend(backend, () =>
            tf.tidy(() => {
              const a = planted([4, 6], 1, [2, 3], bad) as tf.Tensor2D;
              const b = tf.randomNormal([4, 6], 0, 1, 'float32', 2) as tf.Tensor2D;
              expect(value(contrastiveLoss(a, b).loss)).toBeNaN();
              expect(value(contrastiveLoss(b, a, { temperature: 0.1 }).loss)).toBeNaN();
              expect(value(symmetricInfoNce(planted([3, 3], 3, [1, 1], bad) as tf.Tensor2D))).toBeNaN();
            }),
          );
        });
      }

      it('dualSemanticAlignmentLoss and fineGrainedAlignmentLoss with NaN in a text embedding, a valid text token, or a visual token', async () => {
        await onBackend(backend, () =>
          tf.tidy(() => {
            const visualEmbedding = tf.randomNormal([3, 5], 0, 1, 'float32', 4) as tf.Tensor2D;
            const visualTokens = tf.randomNormal([3, 4, 6], 0, 1, 'float32', 5) as tf.Tensor3D;
            const textTokens = tf.randomNormal([3, 2, 6], 0, 1, 'float32', 6) as tf.Tensor3D;
            const textMask = tf.ones([3, 2]) as tf.Tensor2D;
            const clean = { visualEmbedding, textEmbedding: tf.randomNormal([3, 5], 0, 1, 'float32', 7) as tf.Tensor2D, visualTokens, textTokens, textMask };
            expect(Number.isFinite(value(dualSemanticAlignmentLoss(clean).loss))).toBe(true);
            const nanEmbedding = dualSemanticAlignmentLoss({ ...clean, textEmbedding: planted([3, 5], 7, [0, 0], -NaN) as tf.Tensor2D });
            expect(value(nanEmbedding.global)).toBeNaN();
            expect(value(nanEmbedding.loss)).toBeNaN();
            const nanToken = planted([3, 2, 6], 6, [1, 0, 2], -NaN) as tf.Tensor3D;
            expect(value(fineGrainedAlignmentLoss(visualTokens, nanToken, textMask).loss)).toBeNaN();
            expect(value(dualSemanticAlignmentLoss({ ...clean, textTokens: nanToken }).fine)).toBeNaN();
            const nanVisual = planted([3, 4, 6], 5, [2, 3, 1], NaN) as tf.Tensor3D;
            expect(value(fineGrainedAlignmentLoss(nanVisual, textTokens, textMask).loss)).toBeNaN();
          }),
        );
      });

      it('the classification losses with a NaN logit', async () => {
        await onBackend(backend, () =>
          tf.tidy(() => {
            for (const sign of [1, -1]) {
              // a NaN with the sign bit clear, then set (multiplying by −1 flips it)
              const bad = NaN;
              const logits = tf.mul(tf.tensor1d([0.3, bad, -1]), sign);
              const labels = tf.tensor1d([1, 0, 0]);
              expect(value(binaryCrossEntropy(logits, labels))).toBeNaN();
              expect(value(binaryCrossEntropy(logits, labels, { classWeights: [1, 3] }))).toBeNaN();
              expect(value(binaryFocalLoss(logits, labels))).toBeNaN();
              expect(value(softmaxCrossEntropy(tf.mul(tf.tensor2d([[0.3, bad], [1, 2]]), sign) as tf.Tensor2D, tf.tensor1d([0, 1], 'int32')))).toBeNaN();
              expect(value(ordinalLoss(tf.mul(tf.tensor2d([[0.3, bad], [1, 2]]), sign) as tf.Tensor2D, tf.tensor1d([0, 2], 'int32')))).toBeNaN();
            }
          }),
        );
      });

      it('still gives exactly +0 for a batch of one and when every sample is masked', async () => {
        await onBackend(backend, () =>
          tf.tidy(() => {
            const one = tf.randomNormal([1, 3], 0, 1, 'float32', 8) as tf.Tensor2D;
            expect(Object.is(value(contrastiveLoss(one, tf.randomNormal([1, 3], 0, 1, 'float32', 9) as tf.Tensor2D).loss), 0)).toBe(true);
            const a = tf.randomNormal([3, 4], 0, 1, 'float32', 10) as tf.Tensor2D;
            expect(Object.is(value(contrastiveLoss(a, a, { mask: tf.zeros([3]) as tf.Tensor1D }).loss), 0)).toBe(true);
          }),
        );
      });
    });
  }
});
