import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { feedForwardResidual, type FeedForwardWeights } from '../../src/layers/transformer-block.js';
import {
  InvalidArgumentError,
  layerNorm,
  ShapeError,
  VDAFM,
  vdafm,
} from '../../src/index.js';
import { assertTensorsClose, runLayerTest } from '../../src/testing.js';
import { expectArgumentError } from '../helpers/errors.js';

/** The layer's weights by short name (`layer0_v2t_query_kernel`, ...). */
function weightMap(layer: tfl.layers.Layer): Record<string, tfl.LayerVariable> {
  return Object.fromEntries(layer.weights.map((w) => [w.originalName.split('/').pop()!, w]));
}

function inputs(batch: number, seed: number, textValid: number[], clinical = true): tf.Tensor[] {
  const list = [
    tf.randomNormal([batch, 6, 10], 0, 1, 'float32', seed),
    tf.randomNormal([batch, 5, 8], 0, 1, 'float32', seed + 1),
    tf.tensor2d(textValid.map((n) => Array.from({ length: 5 }, (_, i) => (i < n ? 1 : 0)))),
  ];
  if (clinical) {
    list.push(tf.randomNormal([batch, 4, 3], 0, 1, 'float32', seed + 2), tf.tensor2d(Array.from({ length: batch }, (_, b) => [1, 1, b % 2, 1])));
  }
  return list;
}

describe('VDAFM layer', () => {
  it('passes the layer-test harness (all options that add outputs)', async () => {
    const make = () =>
      vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'token', returnGate: true, returnAttention: true, dropout: 0.1, seed: 1 });
    const report = await runLayerTest({
      create: make,
      inputShapes: [[7, 12], [5, 10], [5], [4, 6], [4]],
      inputKinds: ['float', 'float', 'mask', 'float', 'mask'],
      expectedOutputShape: [
        [null, 8], // headInput ('token': no late clinical part)
        [null, 8], // fused
        [null, 8], // visualEmbedding
        [null, 8], // textEmbedding
        [null, 7, 8], // visualTokens
        [null, 5, 8], // textTokens
        [null, 7, 8], // visualStates
        [null, 5, 8], // textStates
        [null, 8], // clinicalEmbedding
        [null, 4, 8], // clinicalTokens
        [null, 8], // gate
        [null, 2, 7, 9], // vision → [text; clinical]
        [null, 2, 5, 7], // text → vision
      ],
      // projections 3×4, FiLM 4, one layer 32, gate 2, embeddings 3×2
      expectedTrainableWeights: 56,
      // FiLM's output layer starts at zero, so its hidden layer gets a gradient from step 2 on
      optimizerSteps: 2,
    });
    expect(report.checks).toContain('optimizer');
    expect(make().outputNames).toHaveLength(13);
    tf.dispose(report.outputs);
  });

  it('passes the harness in late mode with concat fusion and no conditioning', async () => {
    const report = await runLayerTest({
      create: () => vdafm({ dim: 6, numHeads: 3, numLayers: 2, conditioning: 'none', fusion: 'concat', ffnDim: 10, embedDim: 4, seed: 2 }),
      inputShapes: [[3, 5], [4, 7], [4], [2, 3], [2]],
      inputKinds: ['float', 'float', 'mask', 'float', 'mask'],
      expectedOutputShape: [[null, 18], [null, 12], [null, 4], [null, 4], [null, 3, 6], [null, 4, 6], [null, 3, 6], [null, 4, 6], [null, 4], [null, 2, 6]],
      expectedTrainableWeights: 12 + 64 + 6,
    });
    expect(report.checks).toContain('save/load');
    tf.dispose(report.outputs);
  });

  it('computes a hand-checkable case: identity projections, no interaction, sum fusion', () => {
    const layer = vdafm({ dim: 2, numHeads: 1, numLayers: 0, conditioning: 'none', fusion: 'sum', clinical: 'none' });
    const visual = tf.tensor3d([[[1, 3], [2, 0]]]);
    const text = tf.tensor3d([[[5, 1], [7, 7]]]);
    const mask = tf.tensor2d([[1, 0]]);
    layer.fuse([visual, text, mask]);
    const w = weightMap(layer);
    const eye = tf.eye(2);
    for (const m of ['visual', 'text']) w[`${m}_proj_kernel`]!.write(eye);
    const out = layer.fuse([visual, text, mask]);
    // LN of a 2-vector [a, b] is ±(a−b)/2 / sqrt(((a−b)/2)² + eps) for each entry.
    const ln = (a: number, b: number) => {
      const h = (a - b) / 2;
      const s = Math.sqrt(h * h + 1e-5);
      return [h / s, -h / s];
    };
    const v0 = [ln(1, 3), ln(2, 0)];
    const t0 = ln(5, 1);
    assertTensorsClose(out.visualTokens, [v0], { atol: 1e-6 });
    assertTensorsClose(out.textTokens, [[t0, [0, 0]]], { atol: 1e-6 });
    const zv = [(v0[0]![0]! + v0[1]![0]!) / 2, (v0[0]![1]! + v0[1]![1]!) / 2];
    assertTensorsClose(out.fused, [[zv[0]! + t0[0]!, zv[1]! + t0[1]!]], { atol: 1e-6 });
    tf.dispose([visual, text, mask, eye, ...Object.values(out).flat()]);
  });

  it('matches an independent re-implementation of the equations (film, 2 layers, token clinical, gated)', () => {
    const layer = vdafm({ dim: 4, numHeads: 2, numLayers: 2, clinical: 'token', ffnDim: 6, dropout: 0, seed: 3 });
    const x = inputs(2, 10, [5, 2]);
    layer.fuse(x);
    const w = weightMap(layer);
    // make FiLM non-trivial (it starts at zero)
    w['film_out_kernel']!.write(tf.randomNormal([4, 8], 0, 0.3, 'float32', 4));
    const out = layer.fuse(x);
    const r = (n: string) => w[n]!.read();
    const expected = tf.tidy(() => {
      const [visual, text, tmask, clin, cmask] = x as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const proj = (m: string, t: tf.Tensor) => {
        const y = tf.add(tf.matMul(tf.reshape(t, [-1, t.shape[2]!]), r(`${m}_proj_kernel`)), r(`${m}_proj_bias`));
        const { mean, variance } = tf.moments(y, -1, true);
        const n = tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-5))), r(`${m}_proj_gamma`)), r(`${m}_proj_beta`));
        return tf.reshape(n, [t.shape[0]!, t.shape[1]!, 4]);
      };
      const m3 = (m: tf.Tensor) => tf.expandDims(m, -1);
      const v0 = proj('visual', visual);
      const t0 = tf.mul(proj('text', text), m3(tmask));
      const c0 = tf.mul(proj('clinical', clin), m3(cmask));
      const vbar = tf.mean(v0, 1);
      const h = tf.add(tf.matMul(vbar, r('film_hidden_kernel')), r('film_hidden_bias'));
      const geluH = tf.mul(h, tf.mul(0.5, tf.add(1, tf.erf(tf.div(h, Math.SQRT2)))));
      const film = tf.add(tf.matMul(geluH, r('film_out_kernel')), r('film_out_bias'));
      const dg = tf.slice(film, [0, 0], [-1, 4]);
      const be = tf.slice(film, [0, 4], [-1, 4]);
      let t = tf.mul(tf.add(tf.mul(t0, tf.add(1, tf.expandDims(dg, 1))), tf.expandDims(be, 1)), m3(tmask));
      let v = v0;
      const ctxMask = tf.concat([tmask, cmask], 1);
      // reference attention with the stock transposed-matMul flag and explicit per-head loops
      const mha = (p: string, q: tf.Tensor, kv: tf.Tensor, mask: tf.Tensor | null) => {
        const lin = (t: tf.Tensor, n: string) => tf.add(tf.matMul(tf.reshape(t, [-1, 4]), r(`${p}${n}_kernel`)), r(`${p}${n}_bias`));
        const B = q.shape[0]!;
        const nq = q.shape[1]!;
        const nk = kv.shape[1]!;
        const Q = tf.reshape(lin(q, 'query'), [B, nq, 4]);
        const K = tf.reshape(lin(kv, 'key'), [B, nk, 4]);
        const V = tf.reshape(lin(kv, 'value'), [B, nk, 4]);
        const heads: tf.Tensor[] = [];
        for (let hIdx = 0; hIdx < 2; hIdx++) {
          const qh = tf.slice(Q, [0, 0, 2 * hIdx], [-1, -1, 2]);
          const kh = tf.slice(K, [0, 0, 2 * hIdx], [-1, -1, 2]);
          const vh = tf.slice(V, [0, 0, 2 * hIdx], [-1, -1, 2]);
          let s = tf.div(tf.matMul(qh, kh, false, true), Math.sqrt(2));
          if (mask) s = tf.where(tf.greater(tf.expandDims(mask, 1), 0.5), s, tf.fill(s.shape, -Infinity));
          heads.push(tf.matMul(tf.softmax(s), vh));
        }
        const ctx = tf.reshape(tf.concat(heads, -1), [-1, 4]);
        return tf.reshape(tf.add(tf.matMul(ctx, r(`${p}output_kernel`)), r(`${p}output_bias`)), [B, nq, 4]);
      };
      for (let l = 0; l < 2; l++) {
        const p = `layer${l}_`;
        const vn = layerNorm(v, r(`${p}visual_norm_gamma`), r(`${p}visual_norm_beta`), 1e-5);
        const tn = layerNorm(t, r(`${p}text_norm_gamma`), r(`${p}text_norm_beta`), 1e-5);
        const ctx = tf.concat([tn, c0], 1);
        const vNew = tf.add(v, mha(`${p}v2t_`, vn, ctx, ctxMask));
        const tNew = tf.add(t, mha(`${p}t2v_`, tn, vn, null));
        const ffn = (x: tf.Tensor, s: string) => {
          const g = (n: string) => r(`${p}${s}_ffn_${n}`);
          const hn = layerNorm(x, g('norm_gamma'), g('norm_beta'), 1e-5);
          const z = tf.add(tf.matMul(tf.reshape(hn, [-1, 4]), g('kernel1')), g('bias1'));
          const a = tf.mul(z, tf.mul(0.5, tf.add(1, tf.erf(tf.div(z, Math.SQRT2)))));
          return tf.add(x, tf.reshape(tf.add(tf.matMul(a, g('kernel2')), g('bias2')), x.shape));
        };
        v = ffn(vNew, 'visual');
        t = tf.mul(ffn(tNew, 'text'), m3(tmask));
      }
      const zv = tf.mean(v, 1);
      const zt = tf.div(tf.sum(t, 1), tf.sum(m3(tmask), 1));
      const g = tf.sigmoid(tf.add(tf.matMul(tf.concat([zv, zt, tf.mul(zv, zt)], 1), r('gate_kernel')), r('gate_bias')));
      return tf.add(tf.mul(g, zv), tf.mul(tf.sub(1, g), zt));
    });
    assertTensorsClose(out.fused, expected, { atol: 1e-5 });
    tf.dispose([...x, expected, ...Object.values(out).flat()]);
  });

  it('starts as the identity on the text path (zero-initialised FiLM)', () => {
    const layer = vdafm({ dim: 8, numHeads: 2, numLayers: 0, clinical: 'none', seed: 5 });
    const x = inputs(3, 20, [5, 3, 1], false);
    const out = layer.fuse(x);
    assertTensorsClose(out.textStates, out.textTokens, { atol: 0 });
    tf.dispose([...x, ...Object.values(out).flat()]);
  });

  it('gives a sample with a missing report exactly the vision-only result', () => {
    const layer = vdafm({ dim: 8, numHeads: 2, numLayers: 2, clinical: 'late', returnGate: true, seed: 6 });
    const x = inputs(2, 30, [4, 0]);
    const out = layer.fuse(x);
    const w = weightMap(layer);
    // vision-only path: V0 through the visual FFNs alone, no cross-attention update
    const visionOnly = tf.tidy(() => {
      let v = tf.slice(out.visualTokens, [1, 0, 0], [1, -1, -1]) as tf.Tensor;
      for (let l = 0; l < 2; l++) {
        const g = (n: string) => w[`layer${l}_visual_ffn_${n}`]!;
        const ffn: FeedForwardWeights = {
          normGamma: g('norm_gamma'),
          normBeta: g('norm_beta'),
          kernel1: g('kernel1'),
          bias1: g('bias1'),
          kernel2: g('kernel2'),
          bias2: g('bias2'),
        };
        v = feedForwardResidual(ffn, v, 1e-5, 0, false, undefined);
      }
      return tf.mean(v, 1);
    });
    assertTensorsClose(tf.slice(out.fused, [1, 0], [1, -1]), visionOnly, { atol: 1e-6 });
    assertTensorsClose(tf.slice(out.gate!, [1, 0], [1, -1]), tf.ones([1, 8]), { atol: 0 });
    const g0 = tf.slice(out.gate!, [0, 0], [1, -1]).dataSync();
    expect(Array.from(g0).every((g) => g > 0 && g < 1)).toBe(true);
    expect(tf.all(tf.isFinite(out.headInput)).dataSync()[0]).toBe(1);
    tf.dispose([...x, visionOnly, ...Object.values(out).flat()]);
  });

  fcTest.prop([fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 3, maxLength: 3 }), fc.double({ min: -1e3, max: 1e3, noNaN: true })], {
    numRuns: 12,
  })('padded text values never change any output', (valid, fill) => {
    const layer = vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'token', returnGate: true, returnAttention: true, seed: 7 });
    const x = inputs(3, 40, valid);
    const m3 = tf.expandDims(x[2]!, -1);
    const altered = tf.add(tf.mul(x[1]!, m3), tf.mul(tf.sub(1, m3), fill));
    const a = layer.apply(x) as tf.Tensor[];
    const b = layer.apply([x[0]!, altered, ...x.slice(2)]) as tf.Tensor[];
    a.forEach((t, i) => assertTensorsClose(b[i]!, t, { atol: 1e-4 }, layer.outputNames[i]));
    tf.dispose([...x, m3, altered, ...a, ...b]);
    layer.dispose();
  });

  fcTest.prop([fc.constantFrom([1, 2, 0], [2, 0, 1], [0, 2, 1])], { numRuns: 3 })('is equivariant to a permutation of the batch', (perm) => {
    const layer = vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'late', seed: 8 });
    const x = inputs(3, 50, [5, 0, 2]);
    const idx = tf.tensor1d([...perm], 'int32');
    const a = (layer.apply(x) as tf.Tensor[]).map((t) => tf.gather(t, idx));
    const b = layer.apply(x.map((t) => tf.gather(t, idx))) as tf.Tensor[];
    a.forEach((t, i) => assertTensorsClose(b[i]!, t, { atol: 1e-5 }, layer.outputNames[i]));
    tf.dispose([...x, idx, ...a, ...b]);
    layer.dispose();
  });

  it('returns attention maps whose rows sum to 1, or 0 for a missing report', () => {
    const layer = vdafm({ dim: 8, numHeads: 4, numLayers: 2, clinical: 'none', returnAttention: true, seed: 9 });
    const x = inputs(2, 60, [3, 0], false);
    const out = layer.fuse(x);
    expect(out.visionToTextAttention).toHaveLength(2);
    const sums = tf.sum(out.visionToTextAttention![1]!, -1).arraySync() as number[][][];
    sums[0]!.flat().forEach((s) => expect(s).toBeCloseTo(1, 5));
    sums[1]!.flat().forEach((s) => expect(s).toBe(0));
    expect(out.textToVisionAttention![0]!.shape).toEqual([2, 4, 5, 6]);
    tf.dispose([...x, ...Object.values(out).flat()]);
  });

  it('groups its weights by role and serialises every option', () => {
    const layer = vdafm({ dim: 8, numHeads: 2, numLayers: 1, clinical: 'late', fusion: 'gated', seed: 10 });
    const x = inputs(1, 70, [5]);
    tf.dispose(layer.apply(x) as tf.Tensor[]);
    const groups = layer.weightGroups();
    const total = Object.values(groups).reduce((n, g) => n + g.length, 0);
    expect(total).toBe(layer.trainableWeights.length);
    expect(groups.conditioning).toHaveLength(4);
    const config = JSON.parse(JSON.stringify(layer.getConfig()));
    const clone = VDAFM.fromConfig(VDAFM, config) as VDAFM;
    expect(clone.fusion).toBe('gated');
    expect(clone.clinical).toBe('late');
    tf.dispose(x);
  });

  it('rejects bad options and inputs with the argument named', () => {
    const bad = (args: object, argument: string) => expectArgumentError(() => new VDAFM(args), InvalidArgumentError, argument);
    bad({ dim: 10, numHeads: 4 }, 'numHeads');
    bad({ fusion: 'mean' }, 'fusion');
    bad({ clinical: 'early' }, 'clinical');
    bad({ conditioning: 'cross' }, 'conditioning');
    bad({ fusion: 'sum', returnGate: true }, 'returnGate');
    bad({ numLayers: -1 }, 'numLayers');
    bad({ dropout: 2 }, 'dropout');
    const layer = vdafm({ dim: 8, numHeads: 2, clinical: 'late' });
    const x = inputs(2, 80, [5, 5], false);
    expect(() => layer.apply(x)).toThrowError(/clinical, clinicalMask/);
    const noClin = vdafm({ dim: 8, numHeads: 2, clinical: 'none' });
    const error = expectArgumentError(() => noClin.apply([x[0]!, x[1]!, tf.ones([2, 4])]), ShapeError, 'textMask');
    expect(error.message).toContain('Received: textMask.shape=[2,4]');
    tf.dispose(x);
  });
});
