// VDAFM and dualSemanticAlignmentLoss against an independent PyTorch implementation
// (bench/peer/vdafm.py), values from test/fixtures/vdafm/make_vdafm_fixture.py (float64).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dualSemanticAlignmentLoss, lateInteractionSimilarity, type VDAFM, vdafm, type VdafmArgs } from '../../src/index.js';
import { assertTensorsClose } from '../../src/testing.js';
import { onBackend } from '../helpers/backends.js';

type Nested = number | Nested[];

interface GradientSet {
  loss: number;
  alignLoss: number;
  inputs: Record<string, Nested>;
  weights: Record<string, Nested>;
}

interface Case {
  name: string;
  options: Required<Pick<VdafmArgs, 'dim' | 'numHeads' | 'numLayers' | 'ffnDim' | 'embedDim' | 'conditioning' | 'fusion' | 'clinical'>>;
  weights: Record<string, Nested>;
  inputs: { visual: Nested; text: Nested; textMask: number[][]; clinical?: Nested; clinicalMask?: number[][] };
  outputs: Record<string, Nested> & { visionToTextAttention: Nested[]; textToVisionAttention: Nested[] };
  alignment: { temperature: number; loss: number; global: number; fine: number; clinical: number; similarity: Nested };
  headWeights: Nested;
  gradients: { anchor: GradientSet; noAnchor: GradientSet };
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/vdafm/vdafm_reference.json', import.meta.url), 'utf8')) as { cases: Case[] };
const OUTPUT_TOL = { atol: 1e-5, rtol: 1e-5 };
const GRAD_TOL = { atol: 1e-4, rtol: 1e-4 };
let variableCount = 0;

function hasClinical(c: Case): boolean {
  return c.options.clinical !== 'none';
}

function inputTensors(c: Case): tf.Tensor[] {
  const list = [tf.tensor(c.inputs.visual as number[]), tf.tensor(c.inputs.text as number[]), tf.tensor2d(c.inputs.textMask)];
  if (hasClinical(c)) list.push(tf.tensor(c.inputs.clinical as number[]), tf.tensor2d(c.inputs.clinicalMask!));
  return list;
}

/** Builds the layer with the fixture's options and writes every weight by its vdafm name. */
function buildLayer(c: Case): VDAFM {
  const layer = vdafm({ ...c.options, dropout: 0.1, returnGate: c.options.fusion === 'gated', returnAttention: true, seed: 7 });
  const probe = inputTensors(c);
  tf.dispose(layer.apply(probe) as tf.Tensor[]);
  tf.dispose(probe);
  const names = layer.weights.map((w) => w.originalName.split('/').pop()!);
  expect(names.sort()).toEqual(Object.keys(c.weights).sort());
  for (const w of layer.weights) {
    const value = c.weights[w.originalName.split('/').pop()!]!;
    const t = tf.tensor(value as number[], w.shape as number[]);
    w.write(t);
    t.dispose();
  }
  return layer;
}

/** loss = sum(headInput · R) + dualSemanticAlignmentLoss, as in the fixture script. */
function fixtureLoss(layer: VDAFM, c: Case, inputs: tf.Tensor[], visionAnchor: boolean): tf.Scalar {
  const out = layer.fuse(inputs);
  const textMask = inputs[2] as tf.Tensor2D;
  const align = dualSemanticAlignmentLoss(
    {
      visualEmbedding: out.visualEmbedding,
      textEmbedding: out.textEmbedding,
      visualTokens: out.visualTokens,
      textTokens: out.textTokens,
      textMask,
      ...(out.clinicalEmbedding ? { clinicalEmbedding: out.clinicalEmbedding, clinicalMask: inputs[4] as tf.Tensor2D } : {}),
    },
    { temperature: c.alignment.temperature, visionAnchor },
  );
  return tf.add(tf.sum(tf.mul(out.headInput, tf.tensor(c.headWeights as number[]))), align.loss) as tf.Scalar;
}

/** Compares every output of `fuse` with the fixture. */
function checkOutputs(layer: VDAFM, c: Case): void {
  const inputs = inputTensors(c);
  const out = layer.fuse(inputs);
  const named = out as unknown as Record<string, tf.Tensor | tf.Tensor[] | undefined>;
  for (const [name, expected] of Object.entries(c.outputs)) {
    const actual = named[name];
    expect(actual, name).toBeDefined();
    if (Array.isArray(actual)) {
      const list = expected as Nested[];
      expect(actual).toHaveLength(list.length);
      actual.forEach((a, l) => assertTensorsClose(a, list[l] as number[][][][], OUTPUT_TOL, `${c.name} ${name}[${l}]`));
    } else {
      assertTensorsClose(actual!, expected as number[], OUTPUT_TOL, `${c.name} ${name}`);
    }
  }
  const expectedNames = Object.keys(c.outputs).length;
  expect(Object.values(named).filter((v) => v !== undefined)).toHaveLength(expectedNames);
  tf.dispose([...inputs, ...Object.values(named).flat().filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
}

/** Compares the gradients of the fixture loss w.r.t. the inputs and every weight. */
function checkGradients(layer: VDAFM, c: Case, visionAnchor: boolean): void {
  const expected = visionAnchor ? c.gradients.anchor : c.gradients.noAnchor;
  const inputs = inputTensors(c);
  const diffIndex: Record<string, number> = { visual: 0, text: 1, ...(hasClinical(c) ? { clinical: 3 } : {}) };
  const inputVars: Record<string, tf.Variable> = {};
  const callInputs = [...inputs];
  for (const [name, i] of Object.entries(diffIndex)) {
    const variable = tf.variable(inputs[i]!, true, `vdafm_reference_${name}_${++variableCount}`);
    inputVars[name] = variable;
    callInputs[i] = variable;
  }
  const weightVars = layer.weights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => fixtureLoss(layer, c, callInputs, visionAnchor), [...weightVars, ...Object.values(inputVars)]);
  expect(value.dataSync()[0]).toBeCloseTo(expected.loss, 4);
  for (const [name, v] of Object.entries(inputVars)) {
    assertTensorsClose(grads[v.name]!, expected.inputs[name] as number[], GRAD_TOL, `${c.name} d/d${name}`);
  }
  layer.weights.forEach((w, i) => {
    const name = w.originalName.split('/').pop()!;
    assertTensorsClose(grads[weightVars[i]!.name]!, expected.weights[name] as number[], GRAD_TOL, `${c.name} d/d${name}`);
  });
  tf.dispose([value, ...Object.values(grads), ...inputs, ...Object.values(inputVars)]);
}

describe('VDAFM against the PyTorch reference (bench/peer/vdafm.py)', () => {
  for (const c of fixture.cases) {
    describe(c.name, () => {
      it('matches every output (1e-5)', () => {
        const layer = buildLayer(c);
        checkOutputs(layer, c);
        layer.dispose();
      });

      it('matches the dual alignment loss terms and the late-interaction similarity', () => {
        const layer = buildLayer(c);
        const inputs = inputTensors(c);
        const out = layer.fuse(inputs);
        const textMask = inputs[2] as tf.Tensor2D;
        const r = dualSemanticAlignmentLoss(
          {
            visualEmbedding: out.visualEmbedding,
            textEmbedding: out.textEmbedding,
            visualTokens: out.visualTokens,
            textTokens: out.textTokens,
            textMask,
            ...(out.clinicalEmbedding ? { clinicalEmbedding: out.clinicalEmbedding, clinicalMask: inputs[4] as tf.Tensor2D } : {}),
          },
          { temperature: c.alignment.temperature },
        );
        assertTensorsClose(r.loss, c.alignment.loss, OUTPUT_TOL, 'loss');
        assertTensorsClose(r.global, c.alignment.global, OUTPUT_TOL, 'global');
        assertTensorsClose(r.fine, c.alignment.fine, OUTPUT_TOL, 'fine');
        assertTensorsClose(r.clinical, c.alignment.clinical, OUTPUT_TOL, 'clinical');
        const sim = lateInteractionSimilarity(out.visualTokens, out.textTokens, textMask);
        assertTensorsClose(sim, c.alignment.similarity as number[][], OUTPUT_TOL, 'similarity');
        expect(c.alignment.fine).toBeGreaterThan(0);
        tf.dispose([sim, r.loss, r.global, r.fine, r.clinical, ...inputs, ...Object.values(out).flat()]);
        layer.dispose();
      });

      for (const anchor of [true, false]) {
        it(`matches the gradients w.r.t. inputs and every weight (1e-4), visionAnchor ${anchor}`, () => {
          const layer = buildLayer(c);
          const before = tf.memory().numTensors;
          checkGradients(layer, c, anchor);
          expect(tf.memory().numTensors).toBe(before); // nothing leaked by the gradient call
          layer.dispose();
        });
      }
    });
  }

  it('matches outputs and gradients on the wasm backend too (film-gated-token)', async () => {
    const c = fixture.cases[0]!;
    await onBackend('wasm', () => {
      const layer = buildLayer(c);
      checkOutputs(layer, c);
      checkGradients(layer, c, true);
      layer.dispose();
    });
  });

  it('the fixture itself is non-trivial: FiLM active, anchor changes the gradients, padded text ignored', () => {
    const c = fixture.cases[0]!;
    const film = (c.weights['film_out_kernel'] as number[][]).flat();
    expect(Math.max(...film.map(Math.abs))).toBeGreaterThan(0.05);
    const a = (c.gradients.anchor.inputs['visual'] as number[][][]).flat(2);
    const b = (c.gradients.noAnchor.inputs['visual'] as number[][][]).flat(2);
    expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeGreaterThan(1e-3);
    // padded text tokens get exactly zero gradient (sample 1 has no report)
    const textGrad = c.gradients.noAnchor.inputs['text'] as number[][][];
    expect(textGrad[1]!.flat().every((x) => x === 0)).toBe(true);
    // gate forced to 1 for the missing report
    expect((c.outputs['gate'] as number[][])[1]!.every((x) => x === 1)).toBe(true);
  });
});
