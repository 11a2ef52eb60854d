import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { BaselineFusion, baselineFusion, type BaselineMethod, InvalidArgumentError, vdafm } from '../../src/index.js';
import { assertTensorsClose, runLayerTest } from '../../src/testing.js';
import { expectArgumentError } from '../helpers/errors.js';

const shapes = [[7, 12], [5, 10], [5], [4, 6], [4]];
const kinds: Array<'float' | 'mask'> = ['float', 'float', 'mask', 'float', 'mask'];

function inputs(seed: number, textValid: number[]): tf.Tensor[] {
  const b = textValid.length;
  return [
    tf.randomNormal([b, 7, 12], 0, 1, 'float32', seed),
    tf.randomNormal([b, 5, 10], 0, 1, 'float32', seed + 1),
    tf.tensor2d(textValid.map((n) => Array.from({ length: 5 }, (_, i) => (i < n ? 1 : 0)))),
    tf.randomNormal([b, 4, 6], 0, 1, 'float32', seed + 2),
    tf.tensor2d(textValid.map((_, i) => [1, i % 2, 1, 0])),
  ];
}

describe('BaselineFusion', () => {
  const cases: Array<[BaselineMethod, 'late' | 'token', number]> = [
    // weights: projections 12 + method + embeddings 6
    ['concat', 'late', 12 + 4 + 6],
    ['gatedSum', 'token', 12 + 4 + 6],
    ['film', 'late', 12 + 6 + 6],
  ];
  for (const [method, clinical, count] of cases) {
    it(`${method} (${clinical}) passes the layer-test harness with VDAFM's output contract`, async () => {
      const report = await runLayerTest({
        create: () => baselineFusion({ method, dim: 8, clinical, seed: 1 }),
        inputShapes: shapes,
        inputKinds: kinds,
        expectedOutputShape: [
          [null, clinical === 'late' ? 16 : 8],
          [null, 8],
          [null, 8],
          [null, 8],
          [null, 7, 8],
          [null, 5, 8],
          [null, 7, 8],
          [null, 5, 8],
          [null, 8],
          [null, 4, 8],
        ],
        expectedTrainableWeights: count,
        optimizerSteps: method === 'film' ? 2 : 1,
      });
      expect(report.checks).toContain('optimizer');
      const vd = vdafm({ dim: 8, numHeads: 2, clinical });
      expect(baselineFusion({ method, dim: 8, clinical }).outputNames).toEqual(vd.outputNames);
      tf.dispose(report.outputs);
    });
  }

  it('gatedSum weights are a distribution over the available modalities', () => {
    const layer = baselineFusion({ method: 'gatedSum', dim: 8, clinical: 'token', returnGate: true, seed: 2 });
    const x = inputs(3, [5, 0, 2]);
    x[4] = tf.tensor2d([[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]);
    const out = layer.apply(x) as tf.Tensor[];
    const gate = out[10]!.arraySync() as number[][];
    gate.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
    expect(gate[1]![1]).toBe(0); // no report
    expect(gate[2]![2]).toBe(0); // no clinical value
    // a sample with only the image: fused = pooled visual tokens exactly
    const onlyImage = baselineFusion({ method: 'gatedSum', dim: 8, clinical: 'token', seed: 2 });
    const y = onlyImage.apply([x[0]!, x[1]!, tf.zeros([3, 5]), x[3]!, tf.zeros([3, 4])]) as tf.Tensor[];
    assertTensorsClose(y[1]!, tf.mean(y[4]!, 1), { atol: 1e-6 });
    tf.dispose([...x, ...out, ...y]);
  });

  fcTest.prop([fc.constantFrom<BaselineMethod>('concat', 'gatedSum', 'film'), fc.double({ min: -1e3, max: 1e3, noNaN: true })], { numRuns: 9 })(
    'padded text values never change any output',
    (method, fill) => {
      const layer = baselineFusion({ method, dim: 8, clinical: 'late', seed: 3 });
      const x = inputs(10, [3, 0, 5]);
      const m3 = tf.expandDims(x[2]!, -1);
      const altered = tf.add(tf.mul(x[1]!, m3), tf.mul(tf.sub(1, m3), fill));
      const a = layer.apply(x) as tf.Tensor[];
      const b = layer.apply([x[0]!, altered, ...x.slice(2)]) as tf.Tensor[];
      a.forEach((t, i) => assertTensorsClose(b[i]!, t, { atol: 1e-4 }, `${method} ${layer.outputNames[i]}`));
      tf.dispose([...x, m3, altered, ...a, ...b]);
      layer.dispose();
    },
  );

  it('rejects bad options with the argument named', () => {
    expect(() => new BaselineFusion({ method: 'mean' as never })).toThrowError(/method/);
    expectArgumentError(() => new BaselineFusion({ method: 'concat', returnGate: true }), InvalidArgumentError, 'returnGate');
  });
});
