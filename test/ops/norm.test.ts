// batchNormTrain / groupNorm against an independent formulation (stock tfjs ops + tfjs autodiff),
// at shapes that exercise every column-sum path (row blocks of 4, 2 and 1; one and several
// samples; one group, some groups, one group per channel), on cpu and wasm.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { batchNormTrain, groupNorm } from '../../src/ops/norm.js';
import { assertNoLeaks, assertTensorsClose } from '../../src/testing.js';
import { onBackend, snapshot } from '../helpers/backends.js';

/** Group norm from stock ops (tf.moments over positions and the channels of a group). */
function groupNormRef(x: tf.Tensor3D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, epsilon: number): tf.Tensor {
  const [n, s, c] = x.shape;
  const x4 = tf.reshape(x, [n, s, groups, c / groups]);
  const { mean, variance } = tf.moments(x4, [1, 3], true);
  const xhat = tf.reshape(tf.div(tf.sub(x4, mean), tf.sqrt(tf.add(variance, epsilon))), [n, s, c]);
  return tf.add(tf.mul(xhat, gamma), beta);
}

interface Inputs {
  x: tf.Tensor3D;
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  proj: tf.Tensor3D;
}

function inputs(n: number, s: number, c: number, seed: number): Inputs {
  return {
    x: tf.add(tf.mul(tf.randomNormal([n, s, c], 0, 1, 'float32', seed), 3), 1.5) as tf.Tensor3D,
    gamma: tf.randomUniform([c], 0.5, 1.5, 'float32', seed + 1) as tf.Tensor1D,
    beta: tf.randomNormal([c], 0, 1, 'float32', seed + 2) as tf.Tensor1D,
    proj: tf.randomNormal([n, s, c], 0, 1, 'float32', seed + 3) as tf.Tensor3D,
  };
}

/** Output and gradients (x, gamma, beta) of `sum(f(x, gamma, beta) · proj)`. */
function outputsAndGrads(f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor, p: Inputs): tf.Tensor[] {
  const y = tf.tidy(() => tf.reshape(f(p.x, p.gamma, p.beta), p.x.shape));
  const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.reshape(f(a, g, b), p.proj.shape), p.proj)))([p.x, p.gamma, p.beta]);
  return [y, ...grads];
}

const LABELS = ['output', 'input gradient', 'gamma gradient', 'beta gradient'];

function compare(actual: tf.Tensor[], expected: tf.Tensor[], scale: number): void {
  actual.forEach((a, i) => assertTensorsClose(a, expected[i]!, { atol: 2e-4 * scale, rtol: 2e-4 }, LABELS[i]));
}

/** [n, s, c, groups]: s = 96 → row blocks of 4, 34 → 2, 45 → 1 (s < 32 too). */
const SHAPES: Array<[number, number, number, number]> = [
  [1, 96, 6, 3],
  [3, 96, 8, 2],
  [2, 34, 4, 1],
  [2, 45, 6, 6],
  [1, 7, 4, 4],
];

describe('groupNorm and batchNormTrain match stock-op references', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const [n, s, c, groups] of SHAPES) {
      it(`group norm [${n}, ${s}, ${c}], ${groups} group(s) on ${backend}`, async () => {
        await onBackend(backend, () =>
          tf.tidy(() => {
            const p = inputs(n, s, c, n * 100 + s);
            const scale = Math.sqrt(s);
            const ours = outputsAndGrads((a, g, b) => groupNorm(a as tf.Tensor3D, g as tf.Tensor1D, b as tf.Tensor1D, groups, 1e-5), p);
            const ref = outputsAndGrads((a, g, b) => groupNormRef(a as tf.Tensor3D, g, b, groups, 1e-5), p);
            compare(ours, ref, scale);
          }),
        );
      });
    }
    it(`batch norm of [${6 * 64}, 5] (rows = batch × positions) and its statistics on ${backend}`, async () => {
      await onBackend(backend, () =>
        tf.tidy(() => {
          const p = inputs(1, 6 * 64, 5, 7);
          const stats: Float32Array[] = [];
          const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            batchNormTrain(tf.reshape(a, [-1, 5]) as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3, (m, v) => {
              stats.push(...snapshot([m, v]));
            });
          const ours = outputsAndGrads(bn, p);
          // Batch norm over rows = group norm of one sample with one group per channel.
          const ref = outputsAndGrads((a, g, b) => groupNormRef(tf.reshape(a, [1, -1, 5]) as tf.Tensor3D, g, b, 5, 1e-3), p);
          compare(ours, ref, Math.sqrt(6 * 64));
          const { mean, variance } = tf.moments(tf.reshape(p.x, [-1, 5]), 0);
          assertTensorsClose(stats[0]!, mean, { atol: 1e-4 }, 'batch mean');
          assertTensorsClose(stats[1]!, variance, { atol: 1e-3, rtol: 1e-4 }, 'batch variance');
        }),
      );
    });
  }

  fcTest.prop(
    [
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 1000 }),
    ],
    { numRuns: 12 },
  )('group norm equals the reference for any shape (cpu)', (n, s, groups, cg, seed) => {
    tf.tidy(() => {
      const c = groups * cg;
      const p = inputs(n, s, c, seed);
      const ours = outputsAndGrads((a, g, b) => groupNorm(a as tf.Tensor3D, g as tf.Tensor1D, b as tf.Tensor1D, groups, 1e-5), p);
      const ref = outputsAndGrads((a, g, b) => groupNormRef(a as tf.Tensor3D, g, b, groups, 1e-5), p);
      compare(ours, ref, Math.sqrt(s));
    });
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`with relu, equals ReLU of the reference (batch norm and group norm, values and gradients) on ${backend}`, async () => {
      await onBackend(backend, () =>
        tf.tidy(() => {
          for (const [n, s, c, groups] of [[1, 96, 8, 8], [3, 40, 8, 2], [2, 30, 6, 3]] as const) {
            const p = inputs(n, s, c, 40 + s);
            const ours = outputsAndGrads((a, g, b) => groupNorm(a as tf.Tensor3D, g as tf.Tensor1D, b as tf.Tensor1D, groups, 1e-5, true), p);
            const ref = outputsAndGrads((a, g, b) => tf.relu(groupNormRef(a as tf.Tensor3D, g, b, groups, 1e-5)), p);
            compare(ours, ref, Math.sqrt(s));
            expect(Math.min(...Array.from(ours[0]!.dataSync()))).toBe(0);
          }
          const p = inputs(1, 64, 8, 3);
          const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTrain(tf.reshape(a, [-1, 8]) as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3, undefined, true);
          const ref = outputsAndGrads((a, g, b) => tf.relu(groupNormRef(tf.reshape(a, [1, -1, 8]) as tf.Tensor3D, g, b, 8, 1e-3)), p);
          compare(outputsAndGrads(bn, p), ref, 8);
        }),
      );
    });
  }

  it('runs one vdafm kernel each way on wasm when c is a multiple of 4 (batch norm with its statistics), the stock ops otherwise', async () => {
    const kernelsOf = async (c: number) =>
      onBackend('wasm', async () => {
        const p = inputs(1, 6 * 64, c, 9);
        const stats: Float32Array[] = [];
        const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          batchNormTrain(tf.reshape(a, [-1, c]) as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-3, (m, v) => {
            stats.push(...snapshot([m, v]));
          });
        let ours: Float32Array[] = [];
        const prof = await tf.profile(() => {
          ours = snapshot(outputsAndGrads(bn, p));
        });
        const ref = tf.tidy(() => snapshot(outputsAndGrads((a, g, b) => groupNormRef(tf.reshape(a, [1, -1, c]) as tf.Tensor3D, g, b, c, 1e-3), p)));
        ours.forEach((o, i) => assertTensorsClose(o, ref[i]!, { atol: 2e-4 * Math.sqrt(6 * 64), rtol: 2e-4 }, LABELS[i]));
        const { mean, variance } = tf.moments(tf.reshape(p.x, [-1, c]), 0);
        assertTensorsClose(stats[0]!, mean, { atol: 1e-4 }, 'batch mean');
        assertTensorsClose(stats[1]!, variance, { atol: 1e-3, rtol: 1e-4 }, 'batch variance');
        tf.dispose([mean, variance, ...Object.values(p)]);
        return new Set(prof.kernelNames);
      });
    const fused = await kernelsOf(8);
    expect(fused.has('VdafmChannelNorm') && fused.has('VdafmChannelNormGrad')).toBe(true);
    expect(fused.has('Square') || fused.has('Sub')).toBe(false);
    const stock = await kernelsOf(6);
    expect(stock.has('VdafmChannelNorm')).toBe(false);
  });

  it('leaks no tensors (forward, gradients, statistics callback)', async () => {
    const p = inputs(2, 64, 4, 3);
    await assertNoLeaks(() => groupNorm(p.x, p.gamma, p.beta, 2, 1e-5), 'groupNorm');
    await assertNoLeaks(() => outputsAndGrads((a, g, b) => groupNorm(a as tf.Tensor3D, g as tf.Tensor1D, b as tf.Tensor1D, 2, 1e-5), p), 'groupNorm grads');
    let calls = 0;
    const bn = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      batchNormTrain(tf.reshape(a, [-1, 4]) as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5, () => {
        calls++;
      });
    await assertNoLeaks(() => outputsAndGrads(bn, p), 'batchNormTrain grads');
    expect(calls).toBe(2);
    // the fused kernels on wasm (c = 4)
    await onBackend('wasm', async () => {
      await assertNoLeaks(() => outputsAndGrads((a, g, b) => groupNorm(a as tf.Tensor3D, g as tf.Tensor1D, b as tf.Tensor1D, 2, 1e-5), p), 'groupNorm grads on wasm');
      await assertNoLeaks(() => outputsAndGrads(bn, p), 'batchNormTrain grads on wasm');
    });
    expect(calls).toBe(4);
    tf.dispose(Object.values(p));
  });
});
