/**
 * Pieces shared by VDAFM and the baseline fusions: the input contract, the projection stage
 * ("align before fuse") and the output naming.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense, layerNorm } from '../ops/dense.js';
import { assertBuiltWidth, assertIsShape, assertRank, assertSameDims, type KernelInitializerName, type Shape } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import type { AddWeight } from '../layers/attention.js';
import { makeInitializer } from '../layers/common.js';


/** How clinical (tabular) tokens enter a fusion module. */
export type ClinicalMode = 'late' | 'token' | 'none';

/** Names of the outputs every fusion module returns first, in this order. */
export const BASE_OUTPUTS = [
  'headInput',
  'fused',
  'visualEmbedding',
  'textEmbedding',
  'visualTokens',
  'textTokens',
  'visualStates',
  'textStates',
] as const;

/** Names of the extra outputs when clinical tokens are used (after {@link BASE_OUTPUTS}). */
export const CLINICAL_OUTPUTS = ['clinicalEmbedding', 'clinicalTokens'] as const;

/**
 * Which outputs a fusion module returns, after {@link BASE_OUTPUTS}: the clinical ones
 * ({@link CLINICAL_OUTPUTS}) unless `clinical` is 'none', then `gate` when `gate`, then per
 * layer `visionToTextAttention{l}`, `textToVisionAttention{l}` for `attentionLayers` layers.
 * This is the one place the output order is defined.
 * @internal
 */
export interface FusionLayout {
  clinical: ClinicalMode;
  gate: boolean;
  attentionLayers: number;
}

/** Named outputs of a fusion module, tensors or symbolic tensors (see {@link FusionLayout}). */
export interface FusionOutputMap<T> {
  headInput: T;
  fused: T;
  visualEmbedding: T;
  textEmbedding: T;
  visualTokens: T;
  textTokens: T;
  visualStates: T;
  textStates: T;
  clinicalEmbedding?: T;
  clinicalTokens?: T;
  gate?: T;
  visionToTextAttention?: T[];
  textToVisionAttention?: T[];
}

const ATTENTION_OUTPUT = /^(visionToText|textToVision)Attention(\d+)$/;

/**
 * The output names of a fusion module with this layout, in the order `apply` returns them.
 * @internal
 */
export function fusionOutputNames(layout: FusionLayout): string[] {
  const names: string[] = [...BASE_OUTPUTS];
  if (layout.clinical !== 'none') names.push(...CLINICAL_OUTPUTS);
  if (layout.gate) names.push('gate');
  for (let l = 0; l < layout.attentionLayers; l++) names.push(`visionToTextAttention${l}`, `textToVisionAttention${l}`);
  return names;
}

/**
 * The outputs as the list `apply` returns (order of {@link fusionOutputNames}).
 * @throws Error when the map lacks an output the layout names (a bug in the layer).
 * @internal
 */
export function fusionOutputList<T>(out: FusionOutputMap<T>, layout: FusionLayout): T[] {
  const byName = out as unknown as Record<string, T | T[] | undefined>;
  return fusionOutputNames(layout).map((name) => {
    const m = ATTENTION_OUTPUT.exec(name);
    const value = m ? (byName[`${m[1]}Attention`] as T[] | undefined)?.[Number(m[2])] : (byName[name] as T | undefined);
    if (value === undefined) throw new Error(`fusion output '${name}' is missing`);
    return value;
  });
}

/**
 * The list `apply` returned, by name (inverse of {@link fusionOutputList}).
 * @internal
 */
export function fusionOutputsByName<T>(list: readonly T[], layout: FusionLayout): FusionOutputMap<T> {
  const out: Record<string, T | T[]> = {};
  fusionOutputNames(layout).forEach((name, i) => {
    const m = ATTENTION_OUTPUT.exec(name);
    if (m) ((out[`${m[1]}Attention`] ??= []) as T[])[Number(m[2])] = list[i]!;
    else out[name] = list[i]!;
  });
  return out as unknown as FusionOutputMap<T>;
}

/** Widths and token counts that fix a fusion module's output shapes. @internal */
export interface FusionDims {
  headInput: number;
  fused: number;
  embed: number;
  dim: number;
  /** Width of the gate output. */
  gate: number;
  heads: number;
}

/**
 * Output shapes of a fusion module (order of {@link fusionOutputNames}).
 * @internal
 */
export function fusionOutputShapes(s: FusionInputShapes, layout: FusionLayout, dims: FusionDims): Shape[] {
  const b = s.visual[0] ?? null;
  const nv = s.visual[1] ?? null;
  const nt = s.text[1] ?? null;
  const nc = s.clinical?.[1] ?? null;
  const context = layout.clinical === 'token' ? (nt !== null && nc !== null ? nt + nc : null) : nt;
  const shapes: FusionOutputMap<Shape> = {
    headInput: [b, dims.headInput],
    fused: [b, dims.fused],
    visualEmbedding: [b, dims.embed],
    textEmbedding: [b, dims.embed],
    visualTokens: [b, nv, dims.dim],
    textTokens: [b, nt, dims.dim],
    visualStates: [b, nv, dims.dim],
    textStates: [b, nt, dims.dim],
    clinicalEmbedding: [b, dims.embed],
    clinicalTokens: [b, nc, dims.dim],
    gate: [b, dims.gate],
    visionToTextAttention: Array.from({ length: layout.attentionLayers }, () => [b, dims.heads, nv, context]),
    textToVisionAttention: Array.from({ length: layout.attentionLayers }, () => [b, dims.heads, nt, nv]),
  };
  return fusionOutputList(shapes, layout);
}

/** Parsed input shapes of a fusion module. */
export interface FusionInputShapes {
  visual: Shape;
  text: Shape;
  textMask: Shape;
  clinical: Shape | null;
  clinicalMask: Shape | null;
}

/**
 * Checks the input list `[visual, text, textMask]` or `[visual, text, textMask, clinical,
 * clinicalMask]` against the clinical mode.
 *
 * @throws {@link InvalidArgumentError} naming `inputs` for another number of inputs than the mode
 *   takes, or `visual`, `text` or `clinical` without a known last dimension.
 * @throws {@link ShapeError} for `visual`, `text` or `clinical` not rank 3, `textMask` or
 *   `clinicalMask` not rank 2; `text` or `clinical` not matching `visual` in batch; a mask not
 *   matching its tokens in batch and tokens.
 */
export function parseFusionShapes(inputShape: Shape | Shape[], clinical: ClinicalMode, layer: string): FusionInputShapes {
  const list: Shape[] = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
  const wanted = clinical === 'none' ? 3 : 5;
  if (list.length !== wanted) {
    throw new InvalidArgumentError({
      argument: 'inputs',
      message:
        clinical === 'none'
          ? `${layer} with clinical 'none' takes [visual, text, textMask].`
          : `${layer} with clinical '${clinical}' takes [visual, text, textMask, clinical, clinicalMask].`,
      received: `${list.length} inputs`,
      fix: clinical === 'none' ? '' : "Pass the clinical tokens and mask, or set clinical: 'none'.",
    });
  }
  const names = ['visual', 'text', 'textMask', 'clinical', 'clinicalMask'];
  const expected = ['[batch, visualTokens, visualDim]', '[batch, textTokens, textDim]', '[batch, textTokens]', '[batch, clinicalTokens, clinicalDim]', '[batch, clinicalTokens]'];
  list.forEach((s, i) => assertIsShape(s, names[i]!, expected[i]!));
  const [visual, text, textMask, clin, clinMask] = list as [Shape, Shape, Shape, Shape?, Shape?];
  assertRank(visual, 3, 'visual', '[batch, visualTokens, visualDim]');
  assertRank(text, 3, 'text', '[batch, textTokens, textDim]');
  assertRank(textMask, 2, 'textMask', '[batch, textTokens]');
  assertSameDims(text, visual, [0], 'text', 'visual', '[batch, textTokens, textDim]');
  assertSameDims(textMask, text, [0, 1], 'textMask', 'text', '[batch, textTokens]');
  for (const [name, s] of [['visual', visual], ['text', text]] as const) {
    if (s[2] == null) {
      throw new InvalidArgumentError({ argument: name, message: `${name} must have a known last dimension.`, received: `shape ${JSON.stringify(s)}` });
    }
  }
  if (clin && clinMask) {
    assertRank(clin, 3, 'clinical', '[batch, clinicalTokens, clinicalDim]');
    assertRank(clinMask, 2, 'clinicalMask', '[batch, clinicalTokens]');
    assertSameDims(clin, visual, [0], 'clinical', 'visual', '[batch, clinicalTokens, clinicalDim]');
    assertSameDims(clinMask, clin, [0, 1], 'clinicalMask', 'clinical', '[batch, clinicalTokens]');
    if (clin[2] == null) {
      throw new InvalidArgumentError({ argument: 'clinical', message: 'clinical must have a known last dimension.', received: `shape ${JSON.stringify(clin)}` });
    }
  }
  return { visual, text, textMask, clinical: clin ?? null, clinicalMask: clinMask ?? null };
}

/** The input widths a fusion layer was built with (its projections are sized for them). */
export interface FusionWidths {
  visual: number;
  text: number;
  clinical: number | null;
}

/** The widths of parsed input shapes (after {@link parseFusionShapes}, so they are known). */
export function fusionWidths(s: FusionInputShapes): FusionWidths {
  return { visual: s.visual[2]!, text: s.text[2]!, clinical: s.clinical ? s.clinical[2]! : null };
}

/**
 * Checks a built fusion layer's inputs against the widths it was built with.
 *
 * @throws {@link ShapeError} naming `visual`, `text` or `clinical` for another last dimension.
 */
export function checkFusionWidths(s: FusionInputShapes, built: FusionWidths | null, layer: string): void {
  if (!built) return;
  assertBuiltWidth(s.visual, built.visual, 'visual', 'visualTokens', layer);
  assertBuiltWidth(s.text, built.text, 'text', 'textTokens', layer);
  if (s.clinical) assertBuiltWidth(s.clinical, built.clinical, 'clinical', 'clinicalTokens', layer);
}

/** Weights of one modality's projection to the common width: `LN(x·W + b)`. */
export interface ProjectionWeights {
  kernel: tfl.LayerVariable;
  bias: tfl.LayerVariable;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
}

/** Adds the projection weights `${name}_proj_kernel`, ... */
export function addProjection(
  addWeight: AddWeight,
  name: string,
  inDim: number,
  dim: number,
  init: KernelInitializerName,
  seed: number | undefined,
  seedIndex: number,
): ProjectionWeights {
  const zeros = makeInitializer('zeros', undefined, 0);
  return {
    kernel: addWeight(`${name}_proj_kernel`, [inDim, dim], makeInitializer(init, seed, seedIndex)),
    bias: addWeight(`${name}_proj_bias`, [dim], zeros),
    gamma: addWeight(`${name}_proj_gamma`, [dim], tfl.initializers.ones()),
    beta: addWeight(`${name}_proj_beta`, [dim], zeros),
  };
}

/** `LN(x·W + b)`; the caller owns the result. */
export function project(w: ProjectionWeights, x: tf.Tensor, epsilon: number): tf.Tensor {
  return tf.tidy(() => layerNorm(dense(x, w.kernel.read(), w.bias.read()), w.gamma.read(), w.beta.read(), epsilon));
}

/** Weights of a linear map (kernel + bias). */
export interface LinearWeights {
  kernel: tfl.LayerVariable;
  bias: tfl.LayerVariable;
}

/** Adds `${name}_kernel [inDim, outDim]` and `${name}_bias [outDim]`. */
export function addLinear(
  addWeight: AddWeight,
  name: string,
  inDim: number,
  outDim: number,
  init: KernelInitializerName,
  seed: number | undefined,
  seedIndex: number,
): LinearWeights {
  return {
    kernel: addWeight(`${name}_kernel`, [inDim, outDim], makeInitializer(init, seed, seedIndex)),
    bias: addWeight(`${name}_bias`, [outDim], makeInitializer('zeros', undefined, 0)),
  };
}

/** `x·W + b`; the caller owns the result. */
export function linear(w: LinearWeights, x: tf.Tensor): tf.Tensor {
  return dense(x, w.kernel.read(), w.bias.read());
}

/** Lists weight records' variables in insertion order. */
export function weightsOf(...records: Array<object | null | undefined>): tfl.LayerVariable[] {
  const out: tfl.LayerVariable[] = [];
  for (const r of records) {
    if (!r) continue;
    for (const v of Object.values(r)) if (v) out.push(v as tfl.LayerVariable);
  }
  return out;
}

/** 1 for samples with at least one valid token, else 0: `[batch, 1]`. */
export function presence(mask: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.reshape(tf.max(tf.cast(mask, 'float32'), 1), [-1, 1]) as tf.Tensor2D);
}
