/**
 * The weights of {@link VDAFM}: what `build` creates, in creation order (names and initialiser
 * seeds depend on it), and their grouping by role.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { KernelInitializerName } from '../core/validate.js';
import { type AddWeight, addAttentionWeights, type AttentionWeights } from '../layers/attention.js';
import { makeInitializer } from '../layers/common.js';
import { addFeedForwardWeights, type FeedForwardWeights } from '../layers/transformer-block.js';
import {
  addLinear,
  addProjection,
  type FusionInputShapes,
  type LinearWeights,
  type ProjectionWeights,
  weightsOf,
} from './common.js';

/** One bidirectional cross-attention layer's weights. @internal */
export interface InteractionWeights {
  visualNormGamma: tfl.LayerVariable;
  visualNormBeta: tfl.LayerVariable;
  textNormGamma: tfl.LayerVariable;
  textNormBeta: tfl.LayerVariable;
  visionToText: AttentionWeights;
  textToVision: AttentionWeights;
  visualFfn: FeedForwardWeights;
  textFfn: FeedForwardWeights;
}

/** Every weight of a built VDAFM layer. @internal */
export interface VdafmWeights {
  visualProj: ProjectionWeights;
  textProj: ProjectionWeights;
  clinicalProj: ProjectionWeights | null;
  film1: LinearWeights | null;
  film2: LinearWeights | null;
  layers: InteractionWeights[];
  gate: LinearWeights | null;
  visualEmbed: LinearWeights;
  textEmbed: LinearWeights;
  clinicalEmbed: LinearWeights | null;
}

/** The sizes and switches the weights depend on. @internal */
export interface VdafmWeightSpec {
  dim: number;
  numHeads: number;
  numLayers: number;
  ffnDim: number;
  embedDim: number;
  /** FiLM conditioning (`conditioning: 'film'`). */
  film: boolean;
  /** A gate (`fusion: 'gated'`). */
  gated: boolean;
  init: KernelInitializerName;
  seed: number | undefined;
}

/**
 * Creates VDAFM's weights through the layer's `addWeight`: projections, FiLM, the L interaction
 * layers, the gate, the embedding heads.
 * @internal
 */
export function addVdafmWeights(addWeight: AddWeight, s: FusionInputShapes, spec: VdafmWeightSpec): VdafmWeights {
  const d = spec.dim;
  const { init, seed } = spec;
  let k = 0;
  const next = () => k++;
  const zeros = makeInitializer('zeros', undefined, 0);
  const visualProj = addProjection(addWeight, 'visual', s.visual[2]!, d, init, seed, next());
  const textProj = addProjection(addWeight, 'text', s.text[2]!, d, init, seed, next());
  const clinicalProj = s.clinical ? addProjection(addWeight, 'clinical', s.clinical[2]!, d, init, seed, next()) : null;
  let film1: LinearWeights | null = null;
  let film2: LinearWeights | null = null;
  if (spec.film) {
    film1 = addLinear(addWeight, 'film_hidden', d, d, init, seed, next());
    film2 = {
      kernel: addWeight('film_out_kernel', [d, 2 * d], zeros),
      bias: addWeight('film_out_bias', [2 * d], zeros),
    };
  }
  const layers = Array.from({ length: spec.numLayers }, (_, l) => addInteractionWeights(addWeight, l, spec));
  const gate = spec.gated ? addLinear(addWeight, 'gate', 3 * d, d, init, seed, next()) : null;
  const visualEmbed = addLinear(addWeight, 'visual_embed', d, spec.embedDim, init, seed, next());
  const textEmbed = addLinear(addWeight, 'text_embed', d, spec.embedDim, init, seed, next());
  const clinicalEmbed = s.clinical ? addLinear(addWeight, 'clinical_embed', d, spec.embedDim, init, seed, next()) : null;
  return { visualProj, textProj, clinicalProj, film1, film2, layers, gate, visualEmbed, textEmbed, clinicalEmbed };
}

/** Interaction layer `l`: a norm per stream, attention both ways, a feed-forward network per stream. */
function addInteractionWeights(addWeight: AddWeight, l: number, spec: VdafmWeightSpec): InteractionWeights {
  const d = spec.dim;
  const { init, seed } = spec;
  const ones = tfl.initializers.ones();
  const zeros = makeInitializer('zeros', undefined, 0);
  const p = `layer${l}_`;
  const dims = {
    queryDim: d,
    keyInputDim: d,
    valueInputDim: d,
    numHeads: spec.numHeads,
    keyDim: d / spec.numHeads,
    valueDim: d / spec.numHeads,
    outputDim: d,
    useBias: true,
  };
  return {
    visualNormGamma: addWeight(`${p}visual_norm_gamma`, [d], ones),
    visualNormBeta: addWeight(`${p}visual_norm_beta`, [d], zeros),
    textNormGamma: addWeight(`${p}text_norm_gamma`, [d], ones),
    textNormBeta: addWeight(`${p}text_norm_beta`, [d], zeros),
    visionToText: addAttentionWeights(addWeight, `${p}v2t_`, dims, init, seed, 100 + 20 * l),
    textToVision: addAttentionWeights(addWeight, `${p}t2v_`, dims, init, seed, 110 + 20 * l),
    visualFfn: addFeedForwardWeights(addWeight, `${p}visual_`, d, spec.ffnDim, init, seed, 104 + 20 * l),
    textFfn: addFeedForwardWeights(addWeight, `${p}text_`, d, spec.ffnDim, init, seed, 114 + 20 * l),
  };
}

/** The trainable weights grouped by role (see `VDAFM.weightGroups`). @internal */
export function vdafmWeightGroups(w: VdafmWeights): Record<'projection' | 'conditioning' | 'interaction' | 'fusion' | 'embedding', tfl.LayerVariable[]> {
  return {
    projection: weightsOf(w.visualProj, w.textProj, w.clinicalProj),
    conditioning: weightsOf(w.film1, w.film2),
    interaction: w.layers.flatMap((l) => [
      l.visualNormGamma,
      l.visualNormBeta,
      l.textNormGamma,
      l.textNormBeta,
      ...weightsOf(l.visionToText, l.textToVision, l.visualFfn, l.textFfn),
    ]),
    fusion: weightsOf(w.gate),
    embedding: weightsOf(w.visualEmbed, w.textEmbed, w.clinicalEmbed),
  };
}
