/**
 * VDAFM: the Vision-Conditioned Dual Alignment Fusion Module.
 *
 * The published paper ("Vision-Core Guided Contrastive Learning for Balanced Multi-modal
 * Prognosis Prediction of Stroke", arXiv 2605.14710) is public only as an abstract; the
 * equations implemented here are **this package's reading of that abstract**, not the paper's
 * exact formulas. See docs/guides/vdafm.md.
 *
 * Slightly over the ~450-line guide: the layer's forward pass reads as the equations in one
 * sequence (FiLM prior, the cross-attention layers, the gate), which splitting would scatter.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dropout, maskedMean, maskTokens, meanOfValid, readMask, zeroPadded } from '../ops/elementwise.js';
import {
  assertBoolean,
  assertOneOf,
  assertPositiveInt,
  assertPositiveNumber,
  assertRate,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import type { AddWeight } from '../layers/attention.js';
import {
  asList,
  type BaseLayerArgs,
  configFields,
  DropoutSeeds,
  dropoutStepOf,
  isTraining,
  layerBaseArgs,
  RepeatedCallCache,
} from '../layers/common.js';
import {
  checkFusionWidths,
  type FusionLayout,
  fusionOutputList,
  fusionOutputNames,
  fusionOutputShapes,
  fusionOutputsByName,
  type FusionWidths,
  fusionWidths,
  type ClinicalMode,
  linear,
  parseFusionShapes,
  presence,
  project,
} from './common.js';
import { type ConditioningMode, conditionText, crossAttend, fuseStreams, type FusionMode, type PassDropout } from './vdafm-stages.js';
import { addVdafmWeights, type VdafmWeights, vdafmWeightGroups } from './vdafm-weights.js';

/** Constructor arguments of {@link VDAFM}. */
export interface VdafmArgs extends BaseLayerArgs {
  /**
   * Common model width d (every modality is projected to it).
   * @defaultValue 128
   */
  dim?: number;
  /**
   * Attention heads; must divide `dim`.
   * @defaultValue 4
   */
  numHeads?: number;
  /**
   * Number L of bidirectional cross-attention layers (0 = no interaction).
   * @defaultValue 2
   */
  numLayers?: number;
  /**
   * Hidden width of each stream's feed-forward network.
   * @defaultValue 2 × dim
   */
  ffnDim?: number;
  /**
   * Width of the global embeddings used by the alignment losses.
   * @defaultValue dim
   */
  embedDim?: number;
  /**
   * Dropout on attention weights, attention outputs and FFN outputs (training only).
   * @defaultValue 0.1
   */
  dropout?: number;
  /**
   * Vision prior on the text: 'film' (zero-initialised, identity at start) or 'none'.
   * @defaultValue 'film'
   */
  conditioning?: ConditioningMode;
  /**
   * Fusion of the pooled streams: 'gated' (dynamic gate, exposed), 'concat' or 'sum'.
   * @defaultValue 'gated'
   */
  fusion?: FusionMode;
  /**
   * Clinical tokens: 'late' (pooled and appended to the head input), 'token' (joined to the
   * text as context for the vision queries) or 'none' (no clinical inputs).
   * @defaultValue 'late'
   */
  clinical?: ClinicalMode;
  /**
   * Also output the gate values `[batch, dim]` (gated fusion only).
   * @defaultValue false
   */
  returnGate?: boolean;
  /**
   * Also output the attention maps: per layer, vision→text `[batch, heads, visualTokens,
   * contextTokens]` then text→vision `[batch, heads, textTokens, visualTokens]`.
   * @defaultValue false
   */
  returnAttention?: boolean;
  /** Layer-norm epsilon. @defaultValue 1e-5 */
  epsilon?: number;
  /** Kernel initialiser. @defaultValue 'glorotUniform' */
  kernelInitializer?: KernelInitializerName;
  /** Seed for initialisers and dropout masks. @defaultValue undefined (random) */
  seed?: number;
}

/** Named outputs of {@link VDAFM.fuse} (all owned by the caller). */
export interface VdafmOutputs {
  /** Input of the prognosis head: `fused`, with the pooled clinical tokens appended in 'late' mode. */
  headInput: tf.Tensor2D;
  /** Fused vector z: `[batch, dim]` ('gated', 'sum') or `[batch, 2·dim]` ('concat'). */
  fused: tf.Tensor2D;
  /** e_v = proj(pool(V0)), `[batch, embedDim]`, taken before interaction. */
  visualEmbedding: tf.Tensor2D;
  /** e_t = proj(masked pool(T0)), `[batch, embedDim]`. */
  textEmbedding: tf.Tensor2D;
  /** V0, the projected visual tokens before interaction, `[batch, visualTokens, dim]`. */
  visualTokens: tf.Tensor3D;
  /** T0, the projected text tokens before conditioning and interaction, `[batch, textTokens, dim]`. */
  textTokens: tf.Tensor3D;
  /** Visual token states after the L layers, `[batch, visualTokens, dim]`. */
  visualStates: tf.Tensor3D;
  /** Text token states after conditioning and the L layers, `[batch, textTokens, dim]`. */
  textStates: tf.Tensor3D;
  /** e_c, `[batch, embedDim]` (clinical modes 'late' and 'token'). */
  clinicalEmbedding?: tf.Tensor2D;
  /** C0, `[batch, clinicalTokens, dim]` (clinical modes 'late' and 'token'). */
  clinicalTokens?: tf.Tensor3D;
  /** Gate g ∈ (0,1)^dim (with `returnGate`); 1 where the report is missing. */
  gate?: tf.Tensor2D;
  /** Per layer, vision→text weights (with `returnAttention`). */
  visionToTextAttention?: tf.Tensor4D[];
  /** Per layer, text→vision weights (with `returnAttention`). */
  textToVisionAttention?: tf.Tensor4D[];
}

/**
 * The Vision-Conditioned Dual Alignment Fusion Module (VDAFM), as this package reads the
 * paper's abstract. With V, T, C the visual, text and clinical tokens and m_t, m_c their masks:
 *
 * 0. Projection to width d: V0 = LN(V·Wv), T0 = LN(T·Wt), C0 = LN(C·Wc).
 * 1. Vision prior ('film'): v̄ = mean(V0); [Δγ, β] = W2·GELU(W1·v̄); T̃ = (1 + Δγ) ⊙ T0 + β, with W2
 *    zero-initialised so the module starts as the identity on the text.
 * 2. L layers of bidirectional cross-attention, both directions reading the layer's inputs:
 *    V ← V + MHA(LN(V), LN(T̃) [; C0 in 'token' mode], mask) and T̃ ← T̃ + MHA(LN(T̃), LN(V)),
 *    then X ← X + FFN(LN(X)) per stream.
 * 3. Fusion ('gated'): zv = mean(V), zt = masked mean(T̃), g = σ(Wg·[zv; zt; zv ⊙ zt] + bg),
 *    z = g ⊙ zv + (1 − g) ⊙ zt.
 * 4. Clinical 'late': head input [z; masked mean(C0)].
 * Global embeddings for the alignment losses are taken before interaction:
 * e_v = proj(mean V0), e_t = proj(masked mean T0), e_c = proj(masked mean C0).
 *
 * **Missing report.** For a sample whose text mask is all zero, the cross-attention updates of
 * the visual stream are exactly zero and z = zv: the sample gets the vision-only result, with no
 * NaN and no dependence on the padded text values.
 *
 * **Inputs**: `[visual [B, Nv, Dv], text [B, Nt, Dt], textMask [B, Nt]]`, plus
 * `[clinical [B, Nc, Dc], clinicalMask [B, Nc]]` unless `clinical: 'none'`. Masks: 1 = token or
 * value present, 0 = padding or missing; bool, or float32/int32 of 0 and 1, read as valid where
 * > 0.5 like every vdafm mask (see {@link readMask}; {@link setValidateMasks} refuses other values).
 * **Outputs** (a list, names in {@link VDAFM.outputNames}): headInput, fused, visualEmbedding,
 * textEmbedding, visualTokens, textTokens, visualStates, textStates, then clinicalEmbedding and
 * clinicalTokens (clinical modes), gate (`returnGate`), and per layer the vision→text and
 * text→vision attention maps (`returnAttention`). {@link VDAFM.fuse} returns them by name.
 *
 * **In a functional model**, run it with `runGraph` (or `TriModalModel.forward`):
 * tfjs-layers' `model.apply`/`model.predict`/`model.fit` call a layer once per output they
 * read. In training the layer hands those repeats the first call's outputs (one forward pass,
 * one dropout draw; see docs/guides/vdafm.md); in inference they recompute the same values.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `dim` (or a given `ffnDim`, `embedDim`) not a positive integer; `numHeads` not a
 *   positive integer or not dividing `dim`; `numLayers` not a non-negative integer; `dropout`
 *   outside [0, 1); a `conditioning`, `fusion` or `clinical` mode not listed; `returnGate` or
 *   `returnAttention` not a boolean, or `returnGate` with a fusion other than 'gated'; `epsilon`
 *   not a finite number > 0; an unknown `kernelInitializer`; a `seed` that is not an integer. When
 *   applied: `inputs` for other than 3 inputs (`clinical: 'none'`) or 5; `visual`, `text` or
 *   `clinical` without a known last dimension; `textMask` or `clinicalMask` of a dtype other than
 *   bool, float32 and int32 (or, with {@link setValidateMasks} on, holding a value other than 0
 *   and 1).
 * @throws {@link ShapeError} when applied: `visual`, `text` or `clinical` not rank 3; `textMask` or
 *   `clinicalMask` not rank 2; `text` or `clinical` not matching `visual` in batch; a mask not
 *   matching its tokens in batch and tokens.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { vdafm } from 'vdafm';
 *
 * const fusion = vdafm({ dim: 32, numHeads: 4, numLayers: 1, clinical: 'none', returnGate: true, seed: 1 });
 * const visual = tf.randomNormal([2, 49, 64]);
 * const text = tf.randomNormal([2, 16, 48]);
 * const textMask = tf.tensor2d([Array(16).fill(1), Array(16).fill(0)]); // 2nd report missing
 * const out = fusion.fuse([visual, text, textMask]);
 * console.log(out.fused.shape, out.gate!.arraySync()[1][0]); // [2, 32] 1
 * ```
 */
export class VDAFM extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmFusion';
  readonly dim: number;
  readonly numHeads: number;
  readonly numLayers: number;
  readonly ffnDim: number;
  readonly embedDim: number;
  readonly dropoutRate: number;
  readonly conditioning: ConditioningMode;
  readonly fusion: FusionMode;
  readonly clinical: ClinicalMode;
  readonly returnGate: boolean;
  readonly returnAttention: boolean;
  readonly epsilon: number;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private readonly dropoutSeeds: DropoutSeeds;
  private w: VdafmWeights | null = null;
  private widths: FusionWidths | null = null;
  private readonly repeats = new RepeatedCallCache();

  constructor(args: VdafmArgs = {}) {
    super(layerBaseArgs(args, 'VDAFM'));
    const dim = args.dim ?? 128;
    assertPositiveInt(dim, 'dim');
    const numHeads = args.numHeads ?? 4;
    assertPositiveInt(numHeads, 'numHeads');
    if (dim % numHeads !== 0) {
      throw new InvalidArgumentError({
        argument: 'numHeads',
        message: `numHeads must divide dim (${dim}).`,
        received: numHeads,
        fix: 'Choose numHeads among the divisors of dim.',
      });
    }
    const numLayers = args.numLayers ?? 2;
    if (typeof numLayers !== 'number' || !Number.isInteger(numLayers) || numLayers < 0) {
      throw new InvalidArgumentError({ argument: 'numLayers', message: 'numLayers must be a non-negative integer.', received: numLayers });
    }
    if (args.ffnDim !== undefined) assertPositiveInt(args.ffnDim, 'ffnDim');
    if (args.embedDim !== undefined) assertPositiveInt(args.embedDim, 'embedDim');
    assertRate(args.dropout ?? 0.1, 'dropout');
    assertOneOf(args.conditioning ?? 'film', ['film', 'none'] as const, 'conditioning');
    assertOneOf(args.fusion ?? 'gated', ['gated', 'concat', 'sum'] as const, 'fusion');
    assertOneOf(args.clinical ?? 'late', ['late', 'token', 'none'] as const, 'clinical');
    assertBoolean(args.returnGate ?? false, 'returnGate');
    assertBoolean(args.returnAttention ?? false, 'returnAttention');
    assertPositiveNumber(args.epsilon ?? 1e-5, 'epsilon');
    if ((args.returnGate ?? false) && (args.fusion ?? 'gated') !== 'gated') {
      throw new InvalidArgumentError({
        argument: 'returnGate',
        message: "returnGate needs fusion 'gated' (the other fusions have no gate).",
        received: true,
      });
    }
    this.dim = dim;
    this.numHeads = numHeads;
    this.numLayers = numLayers;
    this.ffnDim = args.ffnDim ?? 2 * dim;
    this.embedDim = args.embedDim ?? dim;
    this.dropoutRate = args.dropout ?? 0.1;
    this.conditioning = args.conditioning ?? 'film';
    this.fusion = args.fusion ?? 'gated';
    this.clinical = args.clinical ?? 'late';
    this.returnGate = args.returnGate ?? false;
    this.returnAttention = args.returnAttention ?? false;
    this.epsilon = args.epsilon ?? 1e-5;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
    this.dropoutSeeds = new DropoutSeeds(this.seed);
  }

  /** Width of the fused vector z. */
  get fusedDim(): number {
    return this.fusion === 'concat' ? 2 * this.dim : this.dim;
  }

  /** Width of the head input (z, plus the pooled clinical tokens in 'late' mode). */
  get headInputDim(): number {
    return this.fusedDim + (this.clinical === 'late' ? this.dim : 0);
  }

  /** Which outputs `apply` returns (see `fusionOutputNames`). */
  private get layout(): FusionLayout {
    return { clinical: this.clinical, gate: this.returnGate, attentionLayers: this.returnAttention ? this.numLayers : 0 };
  }

  /** Names of the outputs, in the order `apply` returns them. */
  get outputNames(): string[] {
    return fusionOutputNames(this.layout);
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = parseFusionShapes(inputShape, this.clinical, 'VDAFM');
    const addWeight: AddWeight = (name, shape, initializer) => this.addWeight(name, shape, 'float32', initializer, undefined, true);
    this.widths = fusionWidths(s);
    this.w = addVdafmWeights(addWeight, s, {
      dim: this.dim,
      numHeads: this.numHeads,
      numLayers: this.numLayers,
      ffnDim: this.ffnDim,
      embedDim: this.embedDim,
      film: this.conditioning === 'film',
      gated: this.fusion === 'gated',
      init: this.kernelInitializer,
      seed: this.seed,
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const dims = { headInput: this.headInputDim, fused: this.fusedDim, embed: this.embedDim, dim: this.dim, gate: this.dim, heads: this.numHeads };
    const s = parseFusionShapes(inputShape, this.clinical, 'VDAFM');
    checkFusionWidths(s, this.widths, 'VDAFM');
    return fusionOutputShapes(s, this.layout, dims);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor[] {
    const list = asList(inputs);
    // tfjs-layers' executor repeats the call once per output it reads: hand back the first one's
    const repeated = this.repeats.repeated(list, kwargs);
    if (repeated) return repeated;
    const outputs = tf.tidy(() => fusionOutputList<tf.Tensor>(this.forward(list, isTraining(kwargs), dropoutStepOf(kwargs)), this.layout));
    this.repeats.remember(list, kwargs, outputs);
    return outputs;
  }

  /**
   * Eager call returning the outputs by name (builds the layer on first use).
   *
   * @param inputs - `[visual, text, textMask]` or `[visual, text, textMask, clinical, clinicalMask]`.
   * @param options - `training` enables dropout.
   * @returns named tensors, owned by the caller.
   * @throws {@link InvalidArgumentError} (argument `inputs`, `visual`, `text` or `clinical`) and
   *   {@link ShapeError} for inputs that do not fit, as listed on {@link VDAFM}.
   * @example
   * ```ts
   * const { fused, visualEmbedding, textEmbedding } = fusion.fuse([visual, text, textMask]);
   * ```
   */
  fuse(inputs: tf.Tensor[], options: { training?: boolean } = {}): VdafmOutputs {
    const list = this.apply(inputs, { training: options.training ?? false }) as tf.Tensor[];
    return fusionOutputsByName(list, this.layout) as VdafmOutputs;
  }

  /** The forward pass (inside `call`'s tidy): projections, then the stages of `vdafm-stages.ts`, then the embeddings. */
  private forward(inputs: tf.Tensor[], training: boolean, step: number): VdafmOutputs {
    checkFusionWidths(parseFusionShapes(inputs.map((t) => (t as { shape?: Shape } | null)?.shape as Shape), this.clinical, 'VDAFM'), this.widths, 'VDAFM');
    const w = this.w!;
    const eps = this.epsilon;
    const [visual, textRaw, textMaskRaw, clinicalRaw, clinicalMaskRaw] = inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor?, tf.Tensor?];
    // every mask read once, as float32 0/1 (valid where > 0.5): the stages below take it as is
    const textMask = readMask(textMaskRaw, 'textMask');
    const clinicalMask = clinicalMaskRaw ? readMask(clinicalMaskRaw, 'clinicalMask') : null;
    const hasText = presence(textMask); // [B, 1]
    // padded text and missing clinical values selected to zero before any product (0 · NaN = NaN,
    // and a projection's weight gradient sums over every token): nothing below can read them
    const text = zeroPadded(textRaw, textMask);
    const clinical = clinicalRaw && clinicalMask ? zeroPadded(clinicalRaw, clinicalMask) : null;

    // 0. projections ("align before fuse"); projected padded tokens zeroed too (LN of a zero row is not zero)
    const v0 = project(w.visualProj, visual, eps) as tf.Tensor3D;
    const t0 = maskTokens(project(w.textProj, text, eps), textMask) as tf.Tensor3D;
    const c0 = w.clinicalProj && clinical ? (maskTokens(project(w.clinicalProj, clinical, eps), clinicalMask!) as tf.Tensor3D) : null;
    // 1. vision prior on the text (FiLM), 2. bidirectional cross-attention, 3. fusion
    const conditioned = w.film1 && w.film2 ? conditionText(w.film1, w.film2, v0, t0, textMask) : t0;
    const settings = { clinical: this.clinical, dim: this.dim, numHeads: this.numHeads, epsilon: eps };
    const { v, t, v2tMaps, t2vMaps } = crossAttend(w.layers, { v0, t: conditioned, c0, textMask, clinicalMask, hasText }, settings, this.passDropout(training, step));
    const { fused, gate } = fuseStreams(this.fusion, w.gate, v, t, textMask, hasText);
    const clinicalPooled = c0 ? meanOfValid(c0, clinicalMask) : null;
    // outputs are distinct tensors (tf.clone shares the data), so each can be disposed on its own
    const headInput =
      this.clinical === 'late' && clinicalPooled ? (tf.concat([fused, clinicalPooled], 1) as tf.Tensor2D) : (tf.clone(fused) as tf.Tensor2D);

    // global embeddings, before interaction
    const result: VdafmOutputs = {
      headInput,
      fused,
      visualEmbedding: linear(w.visualEmbed, maskedMean(v0, null)) as tf.Tensor2D,
      textEmbedding: linear(w.textEmbed, meanOfValid(t0, textMask)) as tf.Tensor2D,
      visualTokens: v0,
      textTokens: t0,
      visualStates: v as tf.Tensor3D,
      textStates: t as tf.Tensor3D,
    };
    if (c0 && clinicalPooled) {
      result.clinicalEmbedding = linear(w.clinicalEmbed!, clinicalPooled) as tf.Tensor2D;
      result.clinicalTokens = c0;
    }
    if (gate) result.gate = gate;
    result.visionToTextAttention = v2tMaps;
    result.textToVisionAttention = t2vMaps;
    return result;
  }

  /** The dropout of one pass: masks seeded from the layer's seed and the trainer's step (off outside training). */
  private passDropout(training: boolean, step: number): PassDropout {
    const on = training && this.dropoutRate > 0;
    return {
      rate: this.dropoutRate,
      training,
      drop: (x) => (on ? dropout(x, this.dropoutRate, this.dropoutSeeds.next(step)) : x),
      seed: () => (on ? this.dropoutSeeds.next(step) : undefined),
    };
  }

  /**
   * Trainable weights grouped by role (projections, conditioning, interaction, fusion, embeddings).
   *
   * @throws {@link InvalidArgumentError} (argument `this`) before the layer is built.
   */
  weightGroups(): Record<'projection' | 'conditioning' | 'interaction' | 'fusion' | 'embedding', tfl.LayerVariable[]> {
    const w = this.w;
    if (!w) throw new InvalidArgumentError({ argument: 'this', message: 'The VDAFM layer is not built yet: apply it first.', received: 'unbuilt' });
    return vdafmWeightGroups(w);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      dim: this.dim,
      numHeads: this.numHeads,
      numLayers: this.numLayers,
      ffnDim: this.ffnDim,
      embedDim: this.embedDim,
      dropout: this.dropoutRate,
      conditioning: this.conditioning,
      fusion: this.fusion,
      clinical: this.clinical,
      returnGate: this.returnGate,
      returnAttention: this.returnAttention,
      epsilon: this.epsilon,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * Creates a {@link VDAFM} fusion layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link VDAFM} constructor, naming the argument.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * const visual = tfl.input({ shape: [49, 256] });
 * const text = tfl.input({ shape: [64, 256] });
 * const textMask = tfl.input({ shape: [64] });
 * const outputs = vdafm({ dim: 256, numHeads: 8, clinical: 'none' }).apply([visual, text, textMask]) as tfl.SymbolicTensor[];
 * outputs[0].shape; // [null, 256]: the head input
 * ```
 */
export function vdafm(args: VdafmArgs = {}): VDAFM {
  return new VDAFM(args);
}
