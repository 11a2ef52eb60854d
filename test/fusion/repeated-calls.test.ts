// tfjs-layers 4.22's functional executor (model.apply, model.predict, model.fit) calls a layer once
// per output it reads. With dropout in training, every repeat drew new masks: the outputs of one
// model.apply came from different forward passes (the head read one dropout draw, the embeddings
// another). VDAFM, MultiHeadAttention and TransformerBlock return their first call's outputs for
// the executor's repeats: one forward pass, the values runGraph gives.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it, vi } from 'vitest';
import { multiHeadAttention, runGraph, transformerBlock, vdafm } from '../../src/index.js';
import { assertTensorsClose } from '../../src/testing.js';

const B = 3;
const inputs = () => [
  tf.randomNormal([B, 6, 10], 0, 1, 'float32', 1),
  tf.randomNormal([B, 5, 8], 0, 1, 'float32', 2),
  tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]),
  tf.randomNormal([B, 4, 3], 0, 1, 'float32', 3),
  tf.tensor2d([[1, 1, 0, 1], [1, 1, 1, 1], [1, 0, 1, 1]]),
];

/** A functional model reading six of VDAFM's outputs (one through a dense head). */
function vdafmModel() {
  const ins = [tfl.input({ shape: [6, 10] }), tfl.input({ shape: [5, 8] }), tfl.input({ shape: [5] }), tfl.input({ shape: [4, 3] }), tfl.input({ shape: [4] })];
  const fusion = vdafm({ dim: 8, numHeads: 2, numLayers: 2, dropout: 0.3, clinical: 'late', returnGate: true, seed: 5 });
  const out = fusion.apply(ins) as tfl.SymbolicTensor[];
  const byName = Object.fromEntries(fusion.outputNames.map((n, i) => [n, out[i]!]));
  const head = tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 6 }) }).apply(byName['headInput']!) as tfl.SymbolicTensor;
  const outputs = [head, byName['headInput']!, byName['fused']!, byName['visualEmbedding']!, byName['textStates']!, byName['gate']!];
  return { model: tfl.model({ inputs: ins, outputs }), fusion };
}

describe('model.apply in training runs a multi-output layer once (one dropout draw)', () => {
  it('VDAFM: every output of model.apply comes from one forward pass, the one runGraph gives', () => {
    const x = inputs();
    const a = vdafmModel();
    const forward = vi.spyOn(a.fusion as unknown as { forward: () => unknown }, 'forward');
    const applied = a.model.apply(x, { training: true }) as tf.Tensor[];
    expect(forward).toHaveBeenCalledTimes(1);
    // headInput = [fused; pooled clinical]: consistent only if both come from the same pass
    assertTensorsClose(tf.slice(applied[1]!, [0, 0], [-1, 8]), applied[2]!, { atol: 0 }, 'headInput[:, :dim] vs fused');
    const b = vdafmModel(); // same seeds: the same weights and dropout masks
    const graph = runGraph(b.model, x, { training: true });
    applied.forEach((t, i) => assertTensorsClose(t, graph[i]!, { atol: 1e-6 }, `model.apply output ${i} vs runGraph`));
    // gradients through model.apply equal runGraph's too
    const c = vdafmModel();
    const d = vdafmModel();
    const grads = (model: tfl.LayersModel, run: (m: tfl.LayersModel) => tf.Tensor[]) =>
      tf.tidy(() => {
        const { grads: g } = tf.variableGrads(() => tf.addN(run(model).map((t) => tf.sum(t))) as tf.Scalar, model.trainableWeights.map((w) => w.read() as tf.Variable));
        // (weights that reach none of the outputs read, e.g. the text embedding's, get no gradient)
        return model.trainableWeights.map((w) => Array.from(g[(w.read() as tf.Variable).name]?.dataSync() ?? []));
      });
    const viaApply = grads(c.model, (m) => m.apply(x, { training: true }) as tf.Tensor[]);
    const viaGraph = grads(d.model, (m) => runGraph(m, x, { training: true }));
    viaApply.forEach((g, i) => assertTensorsClose(g, viaGraph[i]!, { atol: 1e-5 }, `weight gradient ${i}`));
    tf.dispose([...x, ...applied, ...graph]);
    for (const m of [a, b, c, d]) m.model.dispose();
  });

  it('VDAFM: separate calls (a new options object each) still draw new dropout masks; inference is unchanged', () => {
    const x = inputs();
    const fusion = vdafm({ dim: 8, numHeads: 2, numLayers: 1, dropout: 0.5, clinical: 'late', seed: 7 });
    const first = fusion.apply(x, { training: true }) as tf.Tensor[];
    const second = fusion.apply(x, { training: true }) as tf.Tensor[];
    expect(Array.from(first[1]!.dataSync())).not.toEqual(Array.from(second[1]!.dataSync()));
    const kw = { training: false };
    const p = fusion.apply(x, kw) as tf.Tensor[];
    const q = fusion.apply(x, kw) as tf.Tensor[];
    expect(p[0]).not.toBe(q[0]);
    assertTensorsClose(p[0]!, q[0]!, { atol: 0 });
    tf.dispose([...x, ...first, ...second, ...p, ...q]);
  });

  it('MultiHeadAttention and TransformerBlock with attention scores: output and scores from one pass', () => {
    for (const make of [
      () => multiHeadAttention({ numHeads: 2, keyDim: 4, dropout: 0.4, returnAttentionScores: true, seed: 8 }),
      () => transformerBlock({ numHeads: 2, dropout: 0.4, returnAttentionScores: true, seed: 9 }),
    ]) {
      const build = () => {
        const tokens = tfl.input({ shape: [5, 8] });
        const mask = tfl.input({ shape: [5] });
        const layer = make();
        const [out, scores] = layer.apply([tokens, mask]) as tfl.SymbolicTensor[];
        const pooled = tfl.layers.globalAveragePooling1d().apply(out!) as tfl.SymbolicTensor;
        return tfl.model({ inputs: [tokens, mask], outputs: [pooled, scores!, out!] });
      };
      const x = [tf.randomNormal([B, 5, 8], 0, 1, 'float32', 10), tf.tensor2d([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])];
      const applied = build().apply(x, { training: true }) as tf.Tensor[];
      const graph = runGraph(build(), x, { training: true });
      applied.forEach((t, i) => assertTensorsClose(t, graph[i]!, { atol: 1e-6 }, `output ${i}`));
      tf.dispose([...x, ...applied, ...graph]);
    }
  });
});
