// The mask contract: a mask is bool, or float32/int32 of 0 (padding) and 1 (valid); every layer
// and loss that takes one reads it the same way (valid where > 0.5), and refuses other dtypes;
// with setValidateMasks(true) (or VDAFM_VALIDATE_MASKS=1) it refuses values other than 0 and 1.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  baselineFusion,
  contrastiveLoss,
  dualSemanticAlignmentLoss,
  fineGrainedAlignmentLoss,
  InvalidArgumentError,
  maskedMean,
  maskedPooling,
  multiHeadAttention,
  readMask,
  setValidateMasks,
  symmetricInfoNce,
  transformerBlock,
  validateMasksEnabled,
  vdafm,
} from '../../src/index.js';
import { assertTensorsClose } from '../../src/testing.js';
import { expectArgumentError } from '../helpers/errors.js';

const B = 3;
const NT = 5;
const NC = 4;
/** Masks with values outside {0, 1}: 2 and 1.5 read as valid, 0.5, −1 and 0 as padding. */
const TEXT_ODD = [
  [2, 1, 0.5, 0, 0],
  [1, 1.5, 1, -1, 1],
  [0.5, 0, -1, 0, 0],
];
const CLINICAL_ODD = [
  [1, 0.5, 2, 1],
  [0, -1, 0, 0],
  [1, 1, 1, 3],
];
const SAMPLE_ODD = [1, 0.5, 2];
const valid = (rows: number[][]) => rows.map((r) => r.map((v) => (v > 0.5 ? 1 : 0)));

const visual = tf.randomNormal([B, 6, 10], 0, 1, 'float32', 1);
const text = tf.randomNormal([B, NT, 8], 0, 1, 'float32', 2);
const clinical = tf.randomNormal([B, NC, 3], 0, 1, 'float32', 3);
const tokens = tf.randomNormal([B, NT, 8], 0, 1, 'float32', 4);
const embA = tf.randomNormal([B, 6], 0, 1, 'float32', 5) as tf.Tensor2D;
const embB = tf.randomNormal([B, 6], 0, 1, 'float32', 6) as tf.Tensor2D;

const mha = multiHeadAttention({ numHeads: 2, keyDim: 4, seed: 7 });
const block = transformerBlock({ numHeads: 2, seed: 8 });
const pooling = maskedPooling();
const fusion = vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'token', returnGate: true, returnAttention: true, dropout: 0, seed: 9 });
const baseline = baselineFusion({ method: 'gatedSum', dim: 8, clinical: 'token', returnGate: true, seed: 10 });

interface Case {
  name: string;
  /** The argument the mask is in the caller's API. */
  argument: string;
  run(mask: tf.Tensor): tf.Tensor[];
  shape: number[];
  odd: number[] | number[][];
}

const cases: Case[] = [
  { name: 'MultiHeadAttention', argument: 'keyMask', shape: [B, NT], odd: TEXT_ODD, run: (m) => [mha.apply([visual, text, m]) as tf.Tensor] },
  { name: 'TransformerBlock', argument: 'mask', shape: [B, NT], odd: TEXT_ODD, run: (m) => [block.apply([tokens, m]) as tf.Tensor] },
  { name: 'MaskedPooling', argument: 'mask', shape: [B, NT], odd: TEXT_ODD, run: (m) => [pooling.apply([tokens, m]) as tf.Tensor] },
  { name: 'maskedMean', argument: 'mask', shape: [B, NT], odd: TEXT_ODD, run: (m) => [maskedMean(tokens, m)] },
  { name: 'VDAFM (textMask)', argument: 'textMask', shape: [B, NT], odd: TEXT_ODD, run: (m) => fusion.apply([visual, text, m, clinical, tf.ones([B, NC])]) as tf.Tensor[] },
  { name: 'VDAFM (clinicalMask)', argument: 'clinicalMask', shape: [B, NC], odd: CLINICAL_ODD, run: (m) => fusion.apply([visual, text, tf.ones([B, NT]), clinical, m]) as tf.Tensor[] },
  { name: 'BaselineFusion (textMask)', argument: 'textMask', shape: [B, NT], odd: TEXT_ODD, run: (m) => baseline.apply([visual, text, m, clinical, tf.ones([B, NC])]) as tf.Tensor[] },
  { name: 'BaselineFusion (clinicalMask)', argument: 'clinicalMask', shape: [B, NC], odd: CLINICAL_ODD, run: (m) => baseline.apply([visual, text, tf.ones([B, NT]), clinical, m]) as tf.Tensor[] },
  {
    name: 'fineGrainedAlignmentLoss',
    argument: 'textMask',
    shape: [B, NT],
    odd: TEXT_ODD,
    run: (m) => Object.values(fineGrainedAlignmentLoss(tf.slice(visual, [0, 0, 0], [-1, -1, 8]) as tf.Tensor3D, tokens as tf.Tensor3D, m as tf.Tensor2D)),
  },
  {
    name: 'dualSemanticAlignmentLoss (textMask)',
    argument: 'textMask',
    shape: [B, NT],
    odd: TEXT_ODD,
    run: (m) => Object.values(dualSemanticAlignmentLoss({ visualEmbedding: embA, textEmbedding: embB, visualTokens: tf.slice(visual, [0, 0, 0], [-1, -1, 8]) as tf.Tensor3D, textTokens: tokens as tf.Tensor3D, textMask: m as tf.Tensor2D })),
  },
  {
    name: 'dualSemanticAlignmentLoss (clinicalMask)',
    argument: 'clinicalMask',
    shape: [B, NC],
    odd: CLINICAL_ODD,
    run: (m) =>
      Object.values(
        dualSemanticAlignmentLoss({
          visualEmbedding: embA,
          textEmbedding: embB,
          clinicalEmbedding: embB,
          clinicalMask: m as tf.Tensor2D,
          visualTokens: tf.slice(visual, [0, 0, 0], [-1, -1, 8]) as tf.Tensor3D,
          textTokens: tokens as tf.Tensor3D,
          textMask: tf.ones([B, NT]) as tf.Tensor2D,
        }),
      ),
  },
  { name: 'contrastiveLoss', argument: 'mask', shape: [B], odd: SAMPLE_ODD, run: (m) => [contrastiveLoss(embA, embB, { mask: m as tf.Tensor1D }).loss] },
  { name: 'symmetricInfoNce', argument: 'mask', shape: [B], odd: SAMPLE_ODD, run: (m) => [symmetricInfoNce(tf.matMul(embA, embB, false, true) as tf.Tensor2D, { mask: m as tf.Tensor1D })] },
];

const canonical = (c: Case): number[] | number[][] => (Array.isArray(c.odd[0]) ? valid(c.odd as number[][]) : (c.odd as number[]).map((v) => (v > 0.5 ? 1 : 0)));

afterEach(() => setValidateMasks(false));

describe('the mask contract', () => {
  for (const c of cases) {
    it(`${c.name} reads a mask as valid where > 0.5, and bool and int32 masks as their float32 0/1`, () => {
      tf.tidy(() => {
        const reference = c.run(tf.tensor(canonical(c), c.shape, 'float32')).map((t) => t.arraySync());
        const variants: Array<[string, tf.Tensor]> = [
          ['odd values', tf.tensor(c.odd, c.shape, 'float32')],
          ['bool', tf.tensor(canonical(c), c.shape, 'bool')],
          ['int32', tf.tensor(canonical(c), c.shape, 'int32')],
        ];
        for (const [label, mask] of variants) {
          const out = c.run(mask);
          expect(out.length, label).toBe(reference.length);
          out.forEach((t, i) => assertTensorsClose(t, reference[i] as number[], { atol: 1e-6 }, `${c.name}, ${label}, output ${i}`));
        }
      });
    });

    it(`${c.name} refuses a mask of another dtype, and with setValidateMasks(true) values other than 0 and 1, naming ${c.argument}`, () => {
      const strings = () => tf.tensor(Array.from({ length: c.shape.reduce((a, b) => a * b, 1) }, () => 'x'), c.shape, 'string');
      const e = expectArgumentError(() => c.run(strings()), InvalidArgumentError, c.argument);
      expect(e.message).toContain(`${c.argument}.dtype=string`);
      tf.tidy(() => c.run(tf.tensor(c.odd, c.shape))); // accepted while the check is off
      setValidateMasks(true);
      const bad = expectArgumentError(() => c.run(tf.tensor(c.odd, c.shape)), InvalidArgumentError, c.argument);
      expect(bad.message).toMatch(new RegExp(`${c.argument}\\[[\\d,]+\\] of ${c.argument}\\.shape=\\[${c.shape.join(',')}\\] is`));
      tf.tidy(() => {
        c.run(tf.tensor(canonical(c), c.shape, 'float32'));
        c.run(tf.tensor(canonical(c), c.shape, 'int32'));
        c.run(tf.tensor(canonical(c), c.shape, 'bool'));
      });
    });
  }

  it('readMask gives float32 0/1 and names the argument', () => {
    expect(readMask(tf.tensor2d([[1, 0.5, 2, -1, NaN, 0]]), 'textMask').arraySync()).toEqual([[1, 0, 1, 0, 0, 0]]);
    expect(readMask(tf.tensor1d([true, false], 'bool'), 'mask').dtype).toBe('float32');
    setValidateMasks(true);
    const e = expectArgumentError(() => readMask(tf.tensor2d([[1, 0], [0, NaN]]), 'textMask'), InvalidArgumentError, 'textMask');
    expect(e.message).toContain('textMask[1,1] of textMask.shape=[2,2] is NaN');
    expectArgumentError(() => setValidateMasks('yes' as never), InvalidArgumentError, 'on');
  });

  it('VDAFM_VALIDATE_MASKS=1 turns the value check on at start-up', async () => {
    const previous = process.env['VDAFM_VALIDATE_MASKS'];
    try {
      for (const [value, on] of [['1', true], ['true', true], ['0', false], ['', false], [undefined, false]] as const) {
        if (value === undefined) delete process.env['VDAFM_VALIDATE_MASKS'];
        else process.env['VDAFM_VALIDATE_MASKS'] = value;
        vi.resetModules();
        const fresh = await import('../../src/core/validate.js');
        expect(fresh.validateMasksEnabled(), `VDAFM_VALIDATE_MASKS=${String(value)}`).toBe(on);
      }
    } finally {
      if (previous === undefined) delete process.env['VDAFM_VALIDATE_MASKS'];
      else process.env['VDAFM_VALIDATE_MASKS'] = previous;
      vi.resetModules();
    }
    expect(validateMasksEnabled()).toBe(false);
  });
});
