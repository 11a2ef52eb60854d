/**
 * Pre-norm transformer encoder block.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense, gelu, layerNorm } from '../ops/dense.js';
import { dropout, readMask, residualAdd, zeroPadded } from '../ops/elementwise.js';
import {
  assertBuiltWidth,
  assertIsShape,
  assertPositiveInt,
  assertPositiveNumber,
  assertRank,
  assertRate,
  assertSameDims,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import {
  type AddWeight,
  addAttentionWeights,
  type AttentionWeights,
  attentionForward,
} from './attention.js';
import {
  asList,
  type BaseLayerArgs,
  configFields,
  DropoutSeeds,
  dropoutStepOf,
  isTraining,
  layerBaseArgs,
  makeInitializer,
  RepeatedCallCache,
} from './common.js';


/** Weights of a pre-norm feed-forward sub-block `x + W2·GELU(W1·LN(x))`. @internal */
export interface FeedForwardWeights {
  normGamma: tfl.LayerVariable;
  normBeta: tfl.LayerVariable;
  kernel1: tfl.LayerVariable;
  bias1: tfl.LayerVariable;
  kernel2: tfl.LayerVariable;
  bias2: tfl.LayerVariable;
}

/** Creates the weights of a feed-forward sub-block (`${prefix}ffn_norm_gamma`, ...). @internal */
export function addFeedForwardWeights(
  addWeight: AddWeight,
  prefix: string,
  dim: number,
  hidden: number,
  kernelInitializer: KernelInitializerName,
  seed: number | undefined,
  seedOffset: number,
): FeedForwardWeights {
  const zeros = makeInitializer('zeros', undefined, 0);
  const ones = tfl.initializers.ones();
  return {
    normGamma: addWeight(`${prefix}ffn_norm_gamma`, [dim], ones),
    normBeta: addWeight(`${prefix}ffn_norm_beta`, [dim], zeros),
    kernel1: addWeight(`${prefix}ffn_kernel1`, [dim, hidden], makeInitializer(kernelInitializer, seed, seedOffset)),
    bias1: addWeight(`${prefix}ffn_bias1`, [hidden], zeros),
    kernel2: addWeight(`${prefix}ffn_kernel2`, [hidden, dim], makeInitializer(kernelInitializer, seed, seedOffset + 1)),
    bias2: addWeight(`${prefix}ffn_bias2`, [dim], zeros),
  };
}

/** `x + dropout(W2·GELU(W1·LN(x) + b1) + b2)`; the caller owns the result. @internal */
export function feedForwardResidual(
  w: FeedForwardWeights,
  x: tf.Tensor,
  epsilon: number,
  rate: number,
  training: boolean,
  seed: number | undefined,
): tf.Tensor {
  return tf.tidy(() => {
    const h = layerNorm(x, w.normGamma.read(), w.normBeta.read(), epsilon);
    const y = dense(gelu(dense(h, w.kernel1.read(), w.bias1.read())), w.kernel2.read(), w.bias2.read());
    return residualAdd(x, training ? dropout(y, rate, seed) : y);
  });
}

/** Lists feed-forward weights in a stable order. @internal */
export function feedForwardWeightList(w: FeedForwardWeights): tfl.LayerVariable[] {
  return [w.normGamma, w.normBeta, w.kernel1, w.bias1, w.kernel2, w.bias2];
}

/** Constructor arguments of {@link TransformerBlock}. */
export interface TransformerBlockArgs extends BaseLayerArgs {
  /** Number of attention heads; must divide the model width unless `keyDim` is set. Required. */
  numHeads: number;
  /**
   * Per-head size of queries/keys/values.
   * @defaultValue model width / numHeads
   */
  keyDim?: number;
  /**
   * Hidden size of the feed-forward network.
   * @defaultValue 4 × model width
   */
  ffnDim?: number;
  /**
   * Dropout rate on attention weights, the attention output and the FFN output (training only).
   * @defaultValue 0
   */
  dropout?: number;
  /**
   * Layer-norm epsilon.
   * @defaultValue 1e-5
   */
  epsilon?: number;
  /**
   * Also return the attention weights `[batch, heads, tokens, tokens]` as a second output.
   * @defaultValue false
   */
  returnAttentionScores?: boolean;
  /** Initialiser of all kernels. @defaultValue 'glorotUniform' */
  kernelInitializer?: KernelInitializerName;
  /** Seed for initialisers and dropout masks. @defaultValue undefined (random) */
  seed?: number;
}

/**
 * Pre-norm transformer encoder block:
 * `x ← x + Dropout(MHA(LN(x), mask))`, then `x ← x + Dropout(FFN(LN(x)))` with a GELU FFN.
 *
 * **Inputs**: `x` `[batch, tokens, dim]`, or `[x, mask]` with `mask` `[batch, tokens]`
 * (1 = valid token, 0 = padding; padded tokens are never attended to): bool, or float32/int32 of
 * 0 and 1, read as valid where > 0.5 like every vdafm mask (see {@link readMask}).
 * **Outputs**: `[batch, tokens, dim]`; with `returnAttentionScores` also `[batch, heads, tokens, tokens]`.
 *
 * With `returnAttentionScores` (two outputs) in a functional model, tfjs-layers' executor calls
 * the layer once per output; in training the repeat gets the first call's outputs (one dropout
 * draw; see `runGraph`, which calls every layer once).
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `numHeads` (or a given `keyDim`, `ffnDim`) not a positive integer; `dropout` outside
 *   [0, 1); `epsilon` not a finite number > 0; an unknown `kernelInitializer`; a `seed` that is not
 *   an integer. When applied: `inputs` for more than two inputs; `x` without a known last
 *   dimension; `numHeads` not dividing that width when `keyDim` is not given; `mask` of a dtype
 *   other than bool, float32 and int32 (or, with {@link setValidateMasks} on, holding a value
 *   other than 0 and 1).
 * @throws {@link ShapeError} when applied: `x` not rank 3, or `mask` not rank 2 or not matching `x`
 *   in batch and tokens.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { transformerBlock } from 'vdafm';
 *
 * const block = transformerBlock({ numHeads: 4, ffnDim: 128 });
 * const x = tf.randomNormal([2, 16, 32]);
 * const mask = tf.tensor2d([Array(16).fill(1), [...Array(8).fill(1), ...Array(8).fill(0)]]);
 * const y = block.apply([x, mask]) as tf.Tensor;
 * console.log(y.shape); // [2, 16, 32]
 * ```
 */
export class TransformerBlock extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmTransformerBlock';
  readonly numHeads: number;
  readonly keyDim: number | undefined;
  readonly ffnDim: number | undefined;
  readonly dropoutRate: number;
  readonly epsilon: number;
  readonly returnAttentionScores: boolean;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private attn: AttentionWeights | null = null;
  private attnNorm: { gamma: tfl.LayerVariable; beta: tfl.LayerVariable } | null = null;
  private ffn: FeedForwardWeights | null = null;
  private headDim = 0;
  /** The width the block was built with. */
  private width: number | null = null;
  private readonly dropoutSeeds: DropoutSeeds;
  private readonly repeats = new RepeatedCallCache();

  constructor(args: TransformerBlockArgs) {
    super(layerBaseArgs(args, 'TransformerBlock'));
    assertPositiveInt(args.numHeads, 'numHeads');
    if (args.keyDim !== undefined) assertPositiveInt(args.keyDim, 'keyDim');
    if (args.ffnDim !== undefined) assertPositiveInt(args.ffnDim, 'ffnDim');
    assertRate(args.dropout ?? 0, 'dropout');
    assertPositiveNumber(args.epsilon ?? 1e-5, 'epsilon');
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim;
    this.ffnDim = args.ffnDim;
    this.dropoutRate = args.dropout ?? 0;
    this.epsilon = args.epsilon ?? 1e-5;
    this.returnAttentionScores = args.returnAttentionScores ?? false;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
    this.dropoutSeeds = new DropoutSeeds(this.seed);
  }

  private parseShapes(inputShape: Shape | Shape[]): { x: Shape; mask: Shape | null } {
    const list: Shape[] = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
    if (list.length > 2) {
      throw new InvalidArgumentError({
        argument: 'inputs',
        message: 'TransformerBlock takes x [batch, tokens, dim] or [x, mask].',
        received: `${list.length} inputs`,
      });
    }
    list.forEach((s, i) => assertIsShape(s, i === 0 ? 'x' : 'mask', i === 0 ? '[batch, tokens, dim]' : '[batch, tokens]'));
    const x = list[0]!;
    assertRank(x, 3, 'x', '[batch, tokens, dim]');
    const mask = list[1] ?? null;
    if (mask) {
      assertRank(mask, 2, 'mask', '[batch, tokens]');
      assertSameDims(mask, x, [0, 1], 'mask', 'x', '[batch, tokens]');
    }
    if (x[2] == null) {
      throw new InvalidArgumentError({ argument: 'x', message: 'x must have a known last dimension.', received: `shape ${JSON.stringify(x)}` });
    }
    assertBuiltWidth(x, this.width, 'x', 'tokens', 'TransformerBlock');
    return { x, mask };
  }

  override build(inputShape: Shape | Shape[]): void {
    const { x } = this.parseShapes(inputShape);
    const dim = x[2]!;
    if (this.keyDim === undefined && dim % this.numHeads !== 0) {
      throw new InvalidArgumentError({
        argument: 'numHeads',
        message: `numHeads must divide the model width ${dim} when keyDim is not given.`,
        received: this.numHeads,
        fix: 'Set keyDim explicitly or choose numHeads dividing the width.',
      });
    }
    this.headDim = this.keyDim ?? dim / this.numHeads;
    this.width = dim;
    const addWeight: AddWeight = (name, shape, init) => this.addWeight(name, shape, 'float32', init, undefined, true);
    this.attnNorm = {
      gamma: addWeight('attn_norm_gamma', [dim], tfl.initializers.ones()),
      beta: addWeight('attn_norm_beta', [dim], makeInitializer('zeros', undefined, 0)),
    };
    this.attn = addAttentionWeights(
      addWeight,
      'attn_',
      {
        queryDim: dim,
        keyInputDim: dim,
        valueInputDim: dim,
        numHeads: this.numHeads,
        keyDim: this.headDim,
        valueDim: this.headDim,
        outputDim: dim,
        useBias: true,
      },
      this.kernelInitializer,
      this.seed,
      0,
    );
    this.ffn = addFeedForwardWeights(addWeight, '', dim, this.ffnDim ?? 4 * dim, this.kernelInitializer, this.seed, 4);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const { x } = this.parseShapes(inputShape);
    if (!this.returnAttentionScores) return [...x];
    return [[...x], [x[0]!, this.numHeads, x[1]!, x[1]!]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const repeated = this.repeats.repeated(asList(inputs), kwargs); // the executor's repeat for the other output
    if (repeated) return repeated;
    const outputs = tf.tidy(() => {
      const list = asList(inputs);
      this.parseShapes(list.map((t) => (t as { shape?: Shape } | null)?.shape as Shape));
      const mask = list[1] ? readMask(list[1], 'mask') : null;
      // padded tokens are selected to zero (never multiplied: 0 · NaN = NaN), so no value there reaches an output
      const x = mask ? zeroPadded(list[0]!, mask) : list[0]!;
      const training = isTraining(kwargs);
      const seed = () => (training && this.dropoutRate > 0 ? this.dropoutSeeds.next(dropoutStepOf(kwargs)) : undefined);
      const h = layerNorm(x, this.attnNorm!.gamma.read(), this.attnNorm!.beta.read(), this.epsilon);
      const { output, weights } = attentionForward(this.attn!, h, h, h, mask, {
        numHeads: this.numHeads,
        keyDim: this.headDim,
        valueDim: this.headDim,
        dropout: this.dropoutRate,
        training,
        dropoutSeed: seed(),
      });
      const x1 = residualAdd(x, training ? dropout(output, this.dropoutRate, seed()) : output);
      const y = feedForwardResidual(this.ffn!, x1, this.epsilon, this.dropoutRate, training, seed());
      return this.returnAttentionScores ? [y, weights] : y;
    });
    if (Array.isArray(outputs)) this.repeats.remember(asList(inputs), kwargs, outputs);
    return outputs;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      numHeads: this.numHeads,
      dropout: this.dropoutRate,
      epsilon: this.epsilon,
      returnAttentionScores: this.returnAttentionScores,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { keyDim: this.keyDim, ffnDim: this.ffnDim, seed: this.seed }) };
  }
}

/**
 * Creates a {@link TransformerBlock}.
 *
 * @throws {@link InvalidArgumentError} as the {@link TransformerBlock} constructor, naming the
 *   argument.
 * @example
 * ```ts
 * const block = transformerBlock({ numHeads: 2 });
 * const y = block.apply(tf.randomNormal([1, 4, 8])) as tf.Tensor; // [1, 4, 8]
 * ```
 */
export function transformerBlock(args: TransformerBlockArgs): TransformerBlock {
  return new TransformerBlock(args);
}
