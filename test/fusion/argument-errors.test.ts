// Errors name the caller's argument and the shape received, never an internal name (`a`, `b`,
// `mask` of an inner call), and every one is typed: a re-call of a built layer with another width
// used to be an untyped tfjs matMul error.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  baselineFusion,
  binaryCrossEntropy,
  binaryFocalLoss,
  dualSemanticAlignmentLoss,
  fineGrainedAlignmentLoss,
  InvalidArgumentError,
  maskedMean,
  maskedPooling,
  maskTokens,
  multiHeadAttention,
  ordinalLoss,
  ordinalProbabilities,
  ShapeError,
  softmaxCrossEntropy,
  transformerBlock,
  vdafm,
  type DualAlignmentInputs,
} from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

const B = 4;
const dualInputs = (): DualAlignmentInputs => ({
  visualEmbedding: tf.randomNormal([B, 5]) as tf.Tensor2D,
  textEmbedding: tf.randomNormal([B, 5]) as tf.Tensor2D,
  visualTokens: tf.randomNormal([B, 3, 6]) as tf.Tensor3D,
  textTokens: tf.randomNormal([B, 2, 6]) as tf.Tensor3D,
  textMask: tf.ones([B, 2]) as tf.Tensor2D,
});

describe('dualSemanticAlignmentLoss names the caller’s inputs', () => {
  const cases: Array<[string, Partial<Record<keyof DualAlignmentInputs, () => tf.Tensor>>, string, string]> = [
    ['textEmbedding of another batch', { textEmbedding: () => tf.zeros([3, 5]) }, 'textEmbedding', '[3,5]'],
    ['textEmbedding of another width', { textEmbedding: () => tf.zeros([B, 6]) }, 'textEmbedding', '[4,6]'],
    ['visualEmbedding not rank 2', { visualEmbedding: () => tf.zeros([B]) }, 'visualEmbedding', '[4]'],
    ['clinicalEmbedding of another width', { clinicalEmbedding: () => tf.zeros([B, 7]) }, 'clinicalEmbedding', '[4,7]'],
    ['textMask of another batch than the embeddings', { textMask: () => tf.ones([3, 2]), textTokens: () => tf.zeros([3, 2, 6]) }, 'textMask', '[3,2]'],
    ['textMask not rank 2', { textMask: () => tf.ones([B]) }, 'textMask', '[4]'],
    ['clinicalMask of another batch', { clinicalEmbedding: () => tf.zeros([B, 5]), clinicalMask: () => tf.ones([3, 2]) }, 'clinicalMask', '[3,2]'],
    ['clinicalMask not rank 2', { clinicalEmbedding: () => tf.zeros([B, 5]), clinicalMask: () => tf.ones([B]) }, 'clinicalMask', '[4]'],
    ['visualTokens of another batch than the embeddings', { visualTokens: () => tf.zeros([3, 3, 6]) }, 'visualTokens', '[3,3,6]'],
  ];
  for (const [what, patch, argument, shape] of cases) {
    it(`${what}: a ShapeError naming ${argument} and its shape`, () => {
      tf.tidy(() => {
        const inputs = { ...dualInputs(), ...Object.fromEntries(Object.entries(patch).map(([k, f]) => [k, f()])) } as DualAlignmentInputs;
        const e = expectArgumentError(() => dualSemanticAlignmentLoss(inputs), ShapeError, argument);
        expect(e.message).toContain(`Received: ${argument}.shape=${shape}`);
      });
    });
  }

  it('labels of another batch, a missing input, or both temperature and logitScale: typed, named', () => {
    tf.tidy(() => {
      const e = expectArgumentError(() => dualSemanticAlignmentLoss({ ...dualInputs(), labels: tf.zeros([3]) as tf.Tensor1D }, { supervised: true }), ShapeError, 'labels');
      expect(e.message).toContain('Received: labels.shape=[3]');
      expectArgumentError(() => dualSemanticAlignmentLoss({} as never), InvalidArgumentError, 'visualEmbedding');
      expectArgumentError(() => dualSemanticAlignmentLoss({ ...dualInputs(), textMask: undefined as never }), InvalidArgumentError, 'textMask');
      expectArgumentError(() => dualSemanticAlignmentLoss(dualInputs(), { temperature: 0.1, logitScale: 3 }), InvalidArgumentError, 'temperature');
      expectArgumentError(() => dualSemanticAlignmentLoss(dualInputs(), { logitScale: -1 }), InvalidArgumentError, 'logitScale');
      const i = dualInputs();
      expectArgumentError(() => fineGrainedAlignmentLoss(i.visualTokens, i.textTokens, i.textMask, { temperature: 0 }), InvalidArgumentError, 'temperature');
      expectArgumentError(() => fineGrainedAlignmentLoss(i.visualTokens, i.textTokens, i.textMask, { logitScale: 0 }), InvalidArgumentError, 'logitScale');
    });
  });
});

describe('the classification losses name sampleWeights and logits', () => {
  it('sampleWeights of another batch, ordinal logits not rank 2', () => {
    tf.tidy(() => {
      const w = tf.ones([3]) as tf.Tensor1D;
      for (const call of [
        () => binaryCrossEntropy(tf.zeros([B]), tf.zeros([B]), { sampleWeights: w }),
        () => binaryFocalLoss(tf.zeros([B]), tf.zeros([B]), { sampleWeights: w }),
        () => softmaxCrossEntropy(tf.zeros([B, 3]) as tf.Tensor2D, tf.zeros([B]), { sampleWeights: w }),
        () => ordinalLoss(tf.zeros([B, 3]) as tf.Tensor2D, tf.zeros([B]), { sampleWeights: w }),
      ]) {
        const e = expectArgumentError(call, ShapeError, 'sampleWeights');
        expect(e.message).toContain('Received: sampleWeights.shape=[3]');
      }
      expectArgumentError(() => ordinalProbabilities(tf.zeros([B]) as unknown as tf.Tensor2D), ShapeError, 'logits');
    });
  });
});

describe('a built layer re-called with another width: a ShapeError naming the input and the width it was built for', () => {
  const visual = () => tf.randomNormal([2, 3, 5]);
  const text = (width = 6) => tf.randomNormal([2, 4, width]);
  const mask = () => tf.ones([2, 4]);
  const clinical = (width = 3) => tf.randomNormal([2, 2, width]);
  const cmask = () => tf.ones([2, 2]);

  const layers: Array<{ name: string; make: () => tfl.layers.Layer; good: () => tf.Tensor[]; bad: Array<[string, () => tf.Tensor[], string]> }> = [
    {
      name: 'VDAFM',
      make: () => vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'late' }),
      good: () => [visual(), text(), mask(), clinical(), cmask()],
      bad: [
        ['text', () => [visual(), text(7), mask(), clinical(), cmask()], '[batch, textTokens, 6]'],
        ['visual', () => [tf.randomNormal([2, 3, 9]), text(), mask(), clinical(), cmask()], '[batch, visualTokens, 5]'],
        ['clinical', () => [visual(), text(), mask(), clinical(4), cmask()], '[batch, clinicalTokens, 3]'],
      ],
    },
    {
      name: 'BaselineFusion',
      make: () => baselineFusion({ method: 'concat', dim: 8, clinical: 'late' }),
      good: () => [visual(), text(), mask(), clinical(), cmask()],
      bad: [['text', () => [visual(), text(7), mask(), clinical(), cmask()], '[batch, textTokens, 6]']],
    },
    {
      name: 'MultiHeadAttention',
      make: () => multiHeadAttention({ numHeads: 2, keyDim: 4 }),
      good: () => [visual(), text(), mask()],
      bad: [
        ['value', () => [visual(), text(7), mask()], '[batch, keys, 6]'],
        ['query', () => [tf.randomNormal([2, 3, 9]), text(), mask()], '[batch, queries, 5]'],
      ],
    },
    {
      name: 'TransformerBlock',
      make: () => transformerBlock({ numHeads: 2 }),
      good: () => [text(), mask()],
      bad: [['x', () => [text(8), mask()], '[batch, tokens, 6]']],
    },
  ];

  for (const l of layers) {
    it(l.name, () => {
      const layer = l.make();
      tf.tidy(() => {
        layer.apply(l.good());
      });
      for (const [argument, inputs, expected] of l.bad) {
        tf.tidy(() => {
          const x = inputs();
          const e = expectArgumentError(() => layer.apply(x), ShapeError, argument);
          expect(e.expected).toBe(expected);
          expect(e.message).toContain(`Received: ${argument}.shape=[${x.find((t) => t.shape.join() === e.received.join())!.shape.join(',')}]`);
          // symbolic re-application too
          const symbolic = x.map((t) => tfl.input({ shape: t.shape.slice(1) }));
          expectArgumentError(() => layer.apply(symbolic), ShapeError, argument);
        });
      }
    });
  }
});

describe('a non-tensor input is a typed error naming it', () => {
  it('layers and ops', () => {
    tf.tidy(() => {
      const fusion = vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'none' });
      expectArgumentError(() => fusion.apply([tf.zeros([2, 3, 5]), 3 as never, tf.ones([2, 4])]), InvalidArgumentError, 'text');
      expectArgumentError(() => multiHeadAttention({ numHeads: 2, keyDim: 4 }).apply([tf.zeros([2, 3, 5]), 3 as never]), InvalidArgumentError, 'value');
      expectArgumentError(() => maskedPooling().apply([tf.zeros([2, 3, 5]), 'mask' as never]), InvalidArgumentError, 'mask');
      const e = expectArgumentError(() => maskedMean(tf.zeros([2, 4, 3]), tf.ones([2, 3])), ShapeError, 'mask');
      expect(e.message).toContain('Received: mask.shape=[2,3]');
      expectArgumentError(() => maskTokens(tf.zeros([2, 4, 3]), tf.ones([2, 3])), ShapeError, 'mask');
    });
  });
});
