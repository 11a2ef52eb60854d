/**
 * Adapter from precomputed, frozen text embeddings to vdafm's text-token contract.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense, layerNorm } from '../../ops/dense.js';
import {
  assertBoolean,
  assertDim,
  assertPositiveInt,
  assertPositiveNumber,
  assertRank,
  assertSameDims,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';
import { asList, type BaseLayerArgs, configFields, layerBaseArgs, makeInitializer } from '../../layers/common.js';


/** Constructor arguments of {@link FrozenEmbeddingAdapter}. */
export interface FrozenEmbeddingAdapterArgs extends BaseLayerArgs {
  /** Output width (the model width the tokens are projected to). Required. */
  dim: number;
  /**
   * Apply a layer norm after the projection (recommended: external embeddings have arbitrary scale).
   * @defaultValue true
   */
  normalize?: boolean;
  /** Layer-norm epsilon. @defaultValue 1e-5 */
  epsilon?: number;
  /** Initialiser of the projection kernel. @defaultValue 'glorotUniform' */
  kernelInitializer?: KernelInitializerName;
  /** Seed of the initialiser. @defaultValue undefined (random) */
  seed?: number;
}

/**
 * Projects precomputed (frozen) embeddings from an external model to width `dim` and returns
 * them as text tokens with a mask, the same contract as the trainable text encoder.
 *
 * **Inputs** (one of):
 * - per-token `[batch, tokens, inDim]`, optionally followed by a mask `[batch, tokens]`
 *   (1 = valid; absent = all valid);
 * - per-report `[batch, inDim]`, optionally followed by a presence mask `[batch, 1]`
 *   (0 = the report is missing); the report becomes one token.
 *
 * **Outputs**: `[tokens [batch, tokens, dim], mask [batch, tokens]]` (`tokens = 1` for
 * per-report input). `tokens = LN(x·W + b)` (or `x·W + b` without `normalize`).
 * Weights: `kernel [inDim, dim]`, `bias [dim]`, and with `normalize` `gamma`, `beta [dim]`.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `dim` not a positive integer; `normalize` not a boolean; `epsilon` not a finite
 *   number > 0; an unknown `kernelInitializer`; a `seed` that is not an integer. When applied:
 *   `inputs` for more than two inputs; `embeddings` without a known last dimension.
 * @throws {@link ShapeError} when applied: `embeddings` not rank 2 or 3; `mask` not rank 2, not
 *   matching per-token embeddings in batch and tokens, or not `[batch, 1]` for per-report ones.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { frozenEmbeddingAdapter } from 'vdafm';
 *
 * const adapter = frozenEmbeddingAdapter({ dim: 32, seed: 1 });
 * const [tokens, mask] = adapter.apply(tf.randomNormal([2, 384])) as tf.Tensor[];
 * console.log(tokens.shape, mask.shape); // [2, 1, 32] [2, 1]
 * ```
 */
export class FrozenEmbeddingAdapter extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmFrozenEmbeddingAdapter';
  readonly dim: number;
  readonly normalize: boolean;
  readonly epsilon: number;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;
  private gamma: tfl.LayerVariable | null = null;
  private beta: tfl.LayerVariable | null = null;

  constructor(args: FrozenEmbeddingAdapterArgs) {
    super(layerBaseArgs(args, 'FrozenEmbeddingAdapter'));
    assertPositiveInt(args.dim, 'dim');
    assertBoolean(args.normalize ?? true, 'normalize');
    assertPositiveNumber(args.epsilon ?? 1e-5, 'epsilon');
    this.dim = args.dim;
    this.normalize = args.normalize ?? true;
    this.epsilon = args.epsilon ?? 1e-5;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
  }

  private parseShapes(inputShape: Shape | Shape[]): { x: Shape; mask: Shape | null } {
    const list: Shape[] = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
    if (list.length > 2) {
      throw new InvalidArgumentError({
        argument: 'inputs',
        message: 'FrozenEmbeddingAdapter takes embeddings or [embeddings, mask].',
        received: `${list.length} inputs`,
      });
    }
    const x = list[0]!;
    if (x.length !== 2 && x.length !== 3) {
      assertRank(x, 3, 'embeddings', '[batch, tokens, inDim] or [batch, inDim]');
    }
    const mask = list[1] ?? null;
    if (mask) {
      assertRank(mask, 2, 'mask', x.length === 3 ? '[batch, tokens]' : '[batch, 1]');
      if (x.length === 3) assertSameDims(mask, x, [0, 1], 'mask', 'embeddings', '[batch, tokens]');
      else {
        assertSameDims(mask, x, [0], 'mask', 'embeddings', '[batch, 1]');
        assertDim(mask, 1, 1, 'mask', '[batch, 1]', 'Per-report embeddings take one presence flag per report.');
      }
    }
    if (x[x.length - 1] == null) {
      throw new InvalidArgumentError({ argument: 'embeddings', message: 'embeddings must have a known last dimension.', received: `shape ${JSON.stringify(x)}` });
    }
    return { x, mask };
  }

  override build(inputShape: Shape | Shape[]): void {
    const { x } = this.parseShapes(inputShape);
    const inDim = x[x.length - 1]!;
    const zeros = makeInitializer('zeros', undefined, 0);
    this.kernel = this.addWeight('kernel', [inDim, this.dim], 'float32', makeInitializer(this.kernelInitializer, this.seed, 0));
    this.bias = this.addWeight('bias', [this.dim], 'float32', zeros);
    if (this.normalize) {
      this.gamma = this.addWeight('gamma', [this.dim], 'float32', tfl.initializers.ones());
      this.beta = this.addWeight('beta', [this.dim], 'float32', zeros);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const { x } = this.parseShapes(inputShape);
    const tokens = x.length === 3 ? x[1]! : 1;
    return [
      [x[0]!, tokens, this.dim],
      [x[0]!, tokens],
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    return tf.tidy(() => {
      const list = asList(inputs);
      this.parseShapes(list.map((t) => t.shape));
      let x = list[0]!;
      if (x.rank === 2) x = tf.expandDims(x, 1);
      let y = dense(x, this.kernel!.read(), this.bias!.read());
      if (this.normalize) y = layerNorm(y, this.gamma!.read(), this.beta!.read(), this.epsilon);
      const mask = list[1] ? tf.cast(list[1], 'float32') : tf.ones([x.shape[0]!, x.shape[1]!]);
      return [y, mask];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      dim: this.dim,
      normalize: this.normalize,
      epsilon: this.epsilon,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * Creates a {@link FrozenEmbeddingAdapter} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link FrozenEmbeddingAdapter} constructor, naming
 *   the argument.
 * @example
 * ```ts
 * const [tokens, mask] = frozenEmbeddingAdapter({ dim: 64 }).apply([embeddings, mask]) as tfl.SymbolicTensor[];
 * ```
 */
export function frozenEmbeddingAdapter(args: FrozenEmbeddingAdapterArgs): FrozenEmbeddingAdapter {
  return new FrozenEmbeddingAdapter(args);
}
