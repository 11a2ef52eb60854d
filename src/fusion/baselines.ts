/**
 * Baseline fusions with VDAFM's input/output contract, for ablations: concatenation + MLP, an
 * attention-weighted (gated) sum of modality vectors, and FiLM/DAFT-style conditioning of the
 * image features.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { gelu } from '../ops/dense.js';
import { maskedMean, meanOfValid, readMask, zeroPadded } from '../ops/elementwise.js';
import {
  assertBoolean,
  assertOneOf,
  assertPositiveInt,
  assertPositiveNumber,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import type { AddWeight } from '../layers/attention.js';
import { asList, type BaseLayerArgs, configFields, layerBaseArgs, makeInitializer } from '../layers/common.js';
import {
  addLinear,
  addProjection,
  checkFusionWidths,
  type FusionWidths,
  fusionWidths,
  type FusionLayout,
  type FusionOutputMap,
  fusionOutputList,
  fusionOutputNames,
  fusionOutputShapes,
  type ClinicalMode,
  type LinearWeights,
  linear,
  parseFusionShapes,
  presence,
  project,
  type ProjectionWeights,
} from './common.js';


/** Baseline fusion methods. */
export type BaselineMethod = 'concat' | 'gatedSum' | 'film';

/** Constructor arguments of {@link BaselineFusion}. */
export interface BaselineFusionArgs extends BaseLayerArgs {
  /**
   * 'concat': MLP on the concatenated modality vectors; 'gatedSum': softmax-attention-weighted
   * sum of the modality vectors (missing modalities get weight 0); 'film': DAFT-style FiLM of
   * the visual tokens by the clinical vector (by the text vector when there is no clinical input).
   */
  method: BaselineMethod;
  /** Common width d. @defaultValue 128 */
  dim?: number;
  /** Width of the global embeddings for the alignment losses. @defaultValue dim */
  embedDim?: number;
  /**
   * Clinical tokens: 'late' (pooled, appended to the head input), 'token' (the clinical vector
   * takes part in the fusion itself) or 'none'.
   * @defaultValue 'late'
   */
  clinical?: ClinicalMode;
  /** Also output the modality weights `[batch, modalities]` ('gatedSum' only). @defaultValue false */
  returnGate?: boolean;
  /** Layer-norm epsilon. @defaultValue 1e-5 */
  epsilon?: number;
  /** Kernel initialiser. @defaultValue 'glorotUniform' */
  kernelInitializer?: KernelInitializerName;
  /** Seed. @defaultValue undefined (random) */
  seed?: number;
}

/**
 * A baseline fusion layer with exactly VDAFM's inputs (`[visual, text, textMask]` plus
 * `[clinical, clinicalMask]` unless `clinical: 'none'`) and outputs (headInput, fused,
 * visualEmbedding, textEmbedding, visualTokens, textTokens, visualStates, textStates, then
 * clinicalEmbedding, clinicalTokens, then the gate with `returnGate`); masks follow the same
 * contract (bool or 0/1, valid where > 0.5, see {@link readMask}). It can replace VDAFM in
 * any model, and the alignment losses apply unchanged. A sample with a missing report never
 * reads its padded text.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `method` not 'concat', 'gatedSum' or 'film'; `dim` (or a given `embedDim`) not a
 *   positive integer; a `clinical` mode not listed; `returnGate` not a boolean, or set with a
 *   method other than 'gatedSum'; `epsilon` not a finite number > 0; an unknown
 *   `kernelInitializer`; a `seed` that is not an integer. When applied: `inputs` for other than 3
 *   inputs (`clinical: 'none'`) or 5; `visual`, `text` or `clinical` without a known last
 *   dimension; `textMask` or `clinicalMask` of a dtype other than bool, float32 and int32 (or,
 *   with {@link setValidateMasks} on, holding a value other than 0 and 1).
 * @throws {@link ShapeError} when applied: `visual`, `text` or `clinical` not rank 3; `textMask` or
 *   `clinicalMask` not rank 2; `text` or `clinical` not matching `visual` in batch; a mask not
 *   matching its tokens in batch and tokens.
 * @example
 * ```ts
 * import { baselineFusion } from 'vdafm';
 * const concat = baselineFusion({ method: 'concat', dim: 32, clinical: 'none' });
 * const [headInput] = concat.apply([visual, text, textMask]) as tf.Tensor[];
 * ```
 */
export class BaselineFusion extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmBaselineFusion';
  readonly method: BaselineMethod;
  readonly dim: number;
  readonly embedDim: number;
  readonly clinical: ClinicalMode;
  readonly returnGate: boolean;
  readonly epsilon: number;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private w: {
    visualProj: ProjectionWeights;
    textProj: ProjectionWeights;
    clinicalProj: ProjectionWeights | null;
    hidden: LinearWeights | null;
    out: LinearWeights | null;
    score: LinearWeights | null;
    scoreVector: LinearWeights | null;
    film1: LinearWeights | null;
    film2: LinearWeights | null;
    visualEmbed: LinearWeights;
    textEmbed: LinearWeights;
    clinicalEmbed: LinearWeights | null;
  } | null = null;
  private widths: FusionWidths | null = null;

  constructor(args: BaselineFusionArgs) {
    super(layerBaseArgs(args, 'BaselineFusion'));
    assertOneOf(args.method, ['concat', 'gatedSum', 'film'] as const, 'method');
    const dim = args.dim ?? 128;
    assertPositiveInt(dim, 'dim');
    if (args.embedDim !== undefined) assertPositiveInt(args.embedDim, 'embedDim');
    assertOneOf(args.clinical ?? 'late', ['late', 'token', 'none'] as const, 'clinical');
    assertBoolean(args.returnGate ?? false, 'returnGate');
    assertPositiveNumber(args.epsilon ?? 1e-5, 'epsilon');
    if ((args.returnGate ?? false) && args.method !== 'gatedSum') {
      throw new InvalidArgumentError({ argument: 'returnGate', message: "returnGate needs method 'gatedSum'.", received: true });
    }
    this.method = args.method;
    this.dim = dim;
    this.embedDim = args.embedDim ?? dim;
    this.clinical = args.clinical ?? 'late';
    this.returnGate = args.returnGate ?? false;
    this.epsilon = args.epsilon ?? 1e-5;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
  }

  /** Number of modality vectors entering the fusion itself (2, or 3 in 'token' mode). */
  private get fusedModalities(): number {
    return this.clinical === 'token' ? 3 : 2;
  }

  /** Width of the head input. */
  get headInputDim(): number {
    return this.dim + (this.clinical === 'late' ? this.dim : 0);
  }

  /** Which outputs `apply` returns (see `fusionOutputNames`). */
  private get layout(): FusionLayout {
    return { clinical: this.clinical, gate: this.returnGate, attentionLayers: 0 };
  }

  /** Names of the outputs, in the order `apply` returns them. */
  get outputNames(): string[] {
    return fusionOutputNames(this.layout);
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = parseFusionShapes(inputShape, this.clinical, 'BaselineFusion');
    this.widths = fusionWidths(s);
    const d = this.dim;
    const init = this.kernelInitializer;
    const seed = this.seed;
    let k = 0;
    const next = () => k++;
    const addWeight: AddWeight = (name, shape, initializer) => this.addWeight(name, shape, 'float32', initializer, undefined, true);
    const visualProj = addProjection(addWeight, 'visual', s.visual[2]!, d, init, seed, next());
    const textProj = addProjection(addWeight, 'text', s.text[2]!, d, init, seed, next());
    const clinicalProj = s.clinical ? addProjection(addWeight, 'clinical', s.clinical[2]!, d, init, seed, next()) : null;
    const zeros = makeInitializer('zeros', undefined, 0);
    let hidden: LinearWeights | null = null;
    let out: LinearWeights | null = null;
    let score: LinearWeights | null = null;
    let scoreVector: LinearWeights | null = null;
    let film1: LinearWeights | null = null;
    let film2: LinearWeights | null = null;
    if (this.method === 'concat') {
      hidden = addLinear(addWeight, 'mlp_hidden', this.fusedModalities * d, d, init, seed, next());
      out = addLinear(addWeight, 'mlp_out', d, d, init, seed, next());
    } else if (this.method === 'gatedSum') {
      score = addLinear(addWeight, 'score_hidden', d, d, init, seed, next());
      scoreVector = addLinear(addWeight, 'score_out', d, 1, init, seed, next());
    } else {
      film1 = addLinear(addWeight, 'film_hidden', d, d, init, seed, next());
      film2 = { kernel: addWeight('film_out_kernel', [d, 2 * d], zeros), bias: addWeight('film_out_bias', [2 * d], zeros) };
      out = addLinear(addWeight, 'mlp_out', 2 * d, d, init, seed, next());
    }
    const visualEmbed = addLinear(addWeight, 'visual_embed', d, this.embedDim, init, seed, next());
    const textEmbed = addLinear(addWeight, 'text_embed', d, this.embedDim, init, seed, next());
    const clinicalEmbed = s.clinical ? addLinear(addWeight, 'clinical_embed', d, this.embedDim, init, seed, next()) : null;
    this.w = { visualProj, textProj, clinicalProj, hidden, out, score, scoreVector, film1, film2, visualEmbed, textEmbed, clinicalEmbed };
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const dims = { headInput: this.headInputDim, fused: this.dim, embed: this.embedDim, dim: this.dim, gate: this.fusedModalities, heads: 0 };
    const s = parseFusionShapes(inputShape, this.clinical, 'BaselineFusion');
    checkFusionWidths(s, this.widths, 'BaselineFusion');
    return fusionOutputShapes(s, this.layout, dims);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    return tf.tidy(() => {
      const list = asList(inputs);
      checkFusionWidths(parseFusionShapes(list.map((t) => (t as { shape?: Shape } | null)?.shape as Shape), this.clinical, 'BaselineFusion'), this.widths, 'BaselineFusion');
      const w = this.w!;
      const eps = this.epsilon;
      const [visual, textRaw, textMaskRaw, clinicalRaw, clinicalMaskRaw] = list as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor?, tf.Tensor?];
      const textMask = readMask(textMaskRaw, 'textMask');
      const clinicalMask = clinicalMaskRaw ? readMask(clinicalMaskRaw, 'clinicalMask') : null;
      // padding selected to zero before any product (0 · NaN = NaN)
      const text = zeroPadded(textRaw, textMask);
      const clinical = clinicalRaw && clinicalMask ? zeroPadded(clinicalRaw, clinicalMask) : null;
      const hasText = presence(textMask);
      const v0 = project(w.visualProj, visual, eps);
      const t0 = tf.mul(project(w.textProj, text, eps), tf.expandDims(textMask, -1));
      const c0 = w.clinicalProj && clinical ? tf.mul(project(w.clinicalProj, clinical, eps), tf.expandDims(clinicalMask!, -1)) : null;
      const zt = meanOfValid(t0, textMask);
      const zc = c0 ? meanOfValid(c0, clinicalMask) : null;
      const hasClinical = clinicalMask ? presence(clinicalMask) : null;
      let visualStates = v0;
      let fused: tf.Tensor;
      let gate: tf.Tensor | null = null;
      if (this.method === 'concat') {
        const parts = [maskedMean(v0, null), zt];
        if (this.clinical === 'token' && zc) parts.push(zc);
        fused = linear(w.out!, gelu(linear(w.hidden!, tf.concat(parts, 1))));
      } else if (this.method === 'gatedSum') {
        const vectors = [maskedMean(v0, null), zt];
        const present = [tf.onesLike(hasText), hasText];
        if (this.clinical === 'token' && zc && hasClinical) {
          vectors.push(zc);
          present.push(hasClinical);
        }
        const stacked = tf.stack(vectors, 1); // [B, K, d]
        const scores = tf.squeeze(linear(w.scoreVector!, tf.tanh(linear(w.score!, stacked))), [2]); // [B, K]
        const avail = tf.concat(present, 1); // [B, K]
        const weights = tf.mul(tf.softmax(tf.add(scores, tf.mul(tf.sub(1, avail), -1e9))), avail);
        gate = weights;
        fused = tf.sum(tf.mul(stacked, tf.expandDims(weights, -1)), 1);
      } else {
        const condition = zc && hasClinical ? tf.add(tf.mul(zc, hasClinical), tf.mul(zt, tf.sub(1, hasClinical))) : zt;
        const film = linear(w.film2!, gelu(linear(w.film1!, condition)));
        const [dGamma, beta] = tf.split(film, 2, 1) as [tf.Tensor, tf.Tensor];
        visualStates = tf.add(tf.mul(v0, tf.add(1, tf.expandDims(dGamma, 1))), tf.expandDims(beta, 1));
        fused = linear(w.out!, tf.concat([maskedMean(visualStates, null), zt], 1));
      }
      const headInput = this.clinical === 'late' && zc ? tf.concat([fused, zc], 1) : tf.clone(fused);
      const result: FusionOutputMap<tf.Tensor> = {
        headInput,
        fused,
        visualEmbedding: linear(w.visualEmbed, maskedMean(v0, null)),
        textEmbedding: linear(w.textEmbed, zt),
        visualTokens: v0,
        textTokens: t0,
        visualStates: visualStates === v0 ? tf.clone(v0) : visualStates,
        textStates: tf.clone(t0),
      };
      if (c0 && zc) Object.assign(result, { clinicalEmbedding: linear(w.clinicalEmbed!, zc), clinicalTokens: c0 });
      if (this.returnGate && gate) result.gate = gate;
      return fusionOutputList(result, this.layout);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      method: this.method,
      dim: this.dim,
      embedDim: this.embedDim,
      clinical: this.clinical,
      returnGate: this.returnGate,
      epsilon: this.epsilon,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * Creates a {@link BaselineFusion} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link BaselineFusion} constructor, naming the
 *   argument.
 * @example
 * ```ts
 * const film = baselineFusion({ method: 'film', dim: 64 }); // DAFT-style, conditioned on clinical data
 * ```
 */
export function baselineFusion(args: BaselineFusionArgs): BaselineFusion {
  return new BaselineFusion(args);
}
