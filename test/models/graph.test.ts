// runGraph (src/models/graph.ts): the same outputs as tfjs-layers' model.apply, with every
// layer called once per node (tfjs-layers calls a K-output layer K times).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../src/models/graph.js';
import { assertNoLeaks } from '../../src/testing.js';

/** A weightless layer with three outputs (x·2, x + 1, sum over the last axis), counting its calls. */
class ThreeOutputs extends tfl.layers.Layer {
  static className = 'TestThreeOutputs';
  calls = 0;
  override computeOutputShape(s: tfl.Shape | tfl.Shape[]): tfl.Shape[] {
    const shape = s as tfl.Shape;
    return [shape, shape, shape.slice(0, -1)];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    this.calls++;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return [tf.mul(x, 2), tf.add(x, 1), tf.sum(x, -1)];
  }
}

function build() {
  const three = new ThreeOutputs({});
  const input = tfl.input({ shape: [3] });
  const [a, b, c] = three.apply(input) as tfl.SymbolicTensor[];
  const inner = tfl.model({ inputs: input, outputs: [a!, b!, c!] });
  const outerIn = tfl.input({ shape: [3] });
  const [ia, ib, ic] = inner.apply(outerIn) as tfl.SymbolicTensor[];
  const dense = tfl.layers.dense({ units: 2, kernelInitializer: 'ones', biasInitializer: 'zeros' });
  const d = dense.apply(tfl.layers.add().apply([ia!, ib!]) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const dropped = tfl.layers.dropout({ rate: 0.5, seed: 3 }).apply(d) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: outerIn, outputs: [dropped, ic!, d] });
  return { model, three };
}

describe('runGraph', () => {
  it('gives model.apply\'s outputs (hand-checked) and calls the 3-output layer once, not 3 times', () => {
    const { model, three } = build();
    const x = tf.tensor2d([[1, 2, 3], [0, -1, 1]]);
    three.calls = 0;
    const ref = model.apply(x) as tf.Tensor[];
    const stockCalls = three.calls;
    three.calls = 0;
    const got = runGraph(model, [x], { training: false });
    expect(three.calls).toBe(1);
    expect(stockCalls).toBeGreaterThan(1); // the tfjs-layers behaviour this module works around
    got.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(ref[i]!.dataSync())));
    // dense(ones) of (2x + x + 1) = Σ(3x + 1): row 1 → 21, row 2 → 3; sums 6 and 0
    expect(Array.from(got[2]!.dataSync())).toEqual([21, 21, 3, 3]);
    expect(Array.from(got[1]!.dataSync())).toEqual([6, 0]);
    tf.dispose([x, ...ref, ...got]);
    model.dispose();
  });

  it('passes training to every layer (dropout active) and its gradients equal model.apply\'s', () => {
    const { model } = build();
    const x = tf.tensor2d([[1, 2, 3], [0, -1, 1]]);
    const train = runGraph(model, [x], { training: true });
    const zeros = Array.from(train[0]!.dataSync()).filter((v) => v === 0).length;
    const kept = Array.from(train[0]!.dataSync()).filter((v) => v !== 0);
    expect(zeros + kept.length).toBe(4);
    expect(kept.every((v) => [42, 6].includes(v))).toBe(true); // kept values are scaled by 2
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = (f: () => tf.Tensor[]) => () => tf.sum(f()[2]!) as tf.Scalar;
    const g1 = tf.variableGrads(loss(() => runGraph(model, [x])), vars);
    const g2 = tf.variableGrads(loss(() => model.apply(x) as tf.Tensor[]), vars);
    for (const k of Object.keys(g2.grads)) expect(Array.from(g1.grads[k]!.dataSync())).toEqual(Array.from(g2.grads[k]!.dataSync()));
    tf.dispose([x, ...train, g1.value, g2.value, ...Object.values(g1.grads), ...Object.values(g2.grads)]);
    model.dispose();
  });

  it('disposes every intermediate tensor and rejects a non-functional model', async () => {
    const { model } = build();
    const x = tf.ones([2, 3]);
    await assertNoLeaks(() => runGraph(model, [x]), 'runGraph');
    const seq = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [3] })] });
    expect(() => runGraph({} as tfl.LayersModel, [x])).toThrow(/functional/);
    tf.dispose(x);
    model.dispose();
    seq.dispose();
  });
});
