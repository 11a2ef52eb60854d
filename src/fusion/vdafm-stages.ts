/**
 * The stages of {@link VDAFM}'s forward pass after the projections: the vision prior on the text
 * (FiLM), the L layers of bidirectional cross-attention, and the fusion of the pooled streams.
 * Each stage takes the layer's weights and returns tensors inside the caller's `tf.tidy`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { gelu, layerNorm } from '../ops/dense.js';
import { maskedMean, maskTokens, meanOfValid, residualAdd } from '../ops/elementwise.js';
import { attentionForward } from '../layers/attention.js';
import { feedForwardResidual } from '../layers/transformer-block.js';
import { type ClinicalMode, type LinearWeights, linear, presence } from './common.js';
import type { InteractionWeights } from './vdafm-weights.js';

/** Vision prior on the text: FiLM, or none. */
export type ConditioningMode = 'film' | 'none';
/** How the pooled vision and text states are combined. */
export type FusionMode = 'gated' | 'concat' | 'sum';

/**
 * Stage 1, the vision prior: v̄ = mean(V0); [Δγ, β] = W2·GELU(W1·v̄); T̃ = (1 + Δγ) ⊙ T0 + β,
 * padded text tokens zeroed again.
 * @internal
 */
export function conditionText(film1: LinearWeights, film2: LinearWeights, v0: tf.Tensor, t0: tf.Tensor, textMask: tf.Tensor): tf.Tensor {
  const vbar = maskedMean(v0, null);
  const film = linear(film2, gelu(linear(film1, vbar))); // [B, 2d]
  const [dGamma, beta] = tf.split(film, 2, 1) as [tf.Tensor, tf.Tensor];
  const t = tf.add(tf.mul(t0, tf.add(1, tf.expandDims(dGamma, 1))), tf.expandDims(beta, 1));
  return maskTokens(t, textMask);
}

/** Dropout of one forward pass: `drop` applies it, `seed` draws the seed of the next mask (undefined when off). @internal */
export interface PassDropout {
  readonly rate: number;
  readonly training: boolean;
  drop(x: tf.Tensor): tf.Tensor;
  seed(): number | undefined;
}

/** The streams entering the interaction layers. @internal */
export interface InteractionInputs {
  /** V0 `[B, Nv, d]`. */
  v0: tf.Tensor;
  /** T̃ `[B, Nt, d]` (conditioned). */
  t: tf.Tensor;
  /** C0 `[B, Nc, d]`, or null. */
  c0: tf.Tensor | null;
  textMask: tf.Tensor;
  clinicalMask: tf.Tensor | null;
  /** `[B, 1]`: 1 where the report is present. */
  hasText: tf.Tensor;
}

/** What the interaction settings of the layer are. @internal */
export interface InteractionSettings {
  clinical: ClinicalMode;
  dim: number;
  numHeads: number;
  epsilon: number;
}

/**
 * Stage 2, L layers of bidirectional cross-attention, both directions reading the layer's
 * inputs: V ← V + MHA(LN(V), LN(T̃) [; C0 in 'token' mode], mask) and T̃ ← T̃ + MHA(LN(T̃), LN(V)),
 * then X ← X + FFN(LN(X)) per stream. A sample with no valid context gets no visual update at
 * all (exactly the vision-only path). Dropout masks are drawn in a fixed order per layer.
 * @internal
 */
export function crossAttend(
  layers: readonly InteractionWeights[],
  x: InteractionInputs,
  o: InteractionSettings,
  d: PassDropout,
): { v: tf.Tensor; t: tf.Tensor; v2tMaps: tf.Tensor4D[]; t2vMaps: tf.Tensor4D[] } {
  const eps = o.epsilon;
  const withClinical = o.clinical === 'token' && x.clinicalMask;
  const contextMask = withClinical ? tf.concat([x.textMask, x.clinicalMask!], 1) : x.textMask;
  const hasContext = withClinical ? presence(contextMask) : x.hasText;
  let v = x.v0;
  let t = x.t;
  const v2tMaps: tf.Tensor4D[] = [];
  const t2vMaps: tf.Tensor4D[] = [];
  const headDim = o.dim / o.numHeads;
  for (const layer of layers) {
    const vn = layerNorm(v, layer.visualNormGamma.read(), layer.visualNormBeta.read(), eps);
    const tn = layerNorm(t, layer.textNormGamma.read(), layer.textNormBeta.read(), eps);
    const context = o.clinical === 'token' && x.c0 ? tf.concat([tn, x.c0], 1) : tn;
    const opts = { numHeads: o.numHeads, keyDim: headDim, valueDim: headDim, dropout: d.rate, training: d.training };
    const v2t = attentionForward(layer.visionToText, vn, context, context, contextMask, { ...opts, dropoutSeed: d.seed() });
    const t2v = attentionForward(layer.textToVision, tn, vn, vn, null, { ...opts, dropoutSeed: d.seed() });
    const vUpdate = maskTokens(d.drop(v2t.output), hasContext);
    v = feedForwardResidual(layer.visualFfn, residualAdd(v, vUpdate), eps, d.rate, d.training, d.seed());
    const tNext = feedForwardResidual(layer.textFfn, residualAdd(t, d.drop(t2v.output)), eps, d.rate, d.training, d.seed());
    t = maskTokens(tNext, x.textMask);
    v2tMaps.push(v2t.weights);
    t2vMaps.push(t2v.weights);
  }
  return { v, t, v2tMaps, t2vMaps };
}

/**
 * Stage 3, the fusion of the pooled streams zv = mean(V), zt = masked mean(T̃): 'gated'
 * z = g ⊙ zv + (1 − g) ⊙ zt with g = σ(Wg·[zv; zt; zv ⊙ zt] + bg) (g = 1 where the report is
 * missing, so z = zv exactly), 'sum' zv + zt, 'concat' [zv; zt] (zt zeroed without a report).
 * @internal
 */
export function fuseStreams(
  fusion: FusionMode,
  gateWeights: LinearWeights | null,
  v: tf.Tensor,
  t: tf.Tensor,
  textMask: tf.Tensor,
  hasText: tf.Tensor,
): { fused: tf.Tensor2D; gate?: tf.Tensor2D } {
  const zv = maskedMean(v, null);
  const zt = meanOfValid(t, textMask);
  if (fusion === 'gated') {
    const g = tf.sigmoid(linear(gateWeights!, tf.concat([zv, zt, tf.mul(zv, zt)], 1)));
    const gate = tf.add(tf.mul(g, hasText), tf.sub(1, hasText)) as tf.Tensor2D;
    return { fused: tf.add(tf.mul(gate, zv), tf.mul(tf.sub(1, gate), zt)) as tf.Tensor2D, gate };
  }
  if (fusion === 'sum') return { fused: tf.add(zv, tf.mul(zt, hasText)) as tf.Tensor2D };
  return { fused: tf.concat([zv, tf.mul(zt, hasText)], 1) as tf.Tensor2D };
}
