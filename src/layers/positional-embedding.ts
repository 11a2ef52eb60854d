/**
 * Learned positional embedding.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { assertDim, assertPositiveInt, assertRank, checkSeed, type Shape } from '../core/validate.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { asList, type BaseLayerArgs, configFields, layerBaseArgs, makeInitializer } from './common.js';


/** Constructor arguments of {@link PositionalEmbedding}. */
export interface PositionalEmbeddingArgs extends BaseLayerArgs {
  /** Largest number of tokens the layer accepts. Required. */
  maxLength: number;
  /** Seed of the `truncatedNormal(0.02)` initialiser. @defaultValue undefined (random) */
  seed?: number;
}

/**
 * Adds a learned position vector to every token: `y[b, i] = x[b, i] + P[i]`.
 *
 * **Input**: `[batch, tokens, dim]` with `tokens ≤ maxLength`. **Output**: same shape.
 * Weight: `embeddings [maxLength, dim]`, initialised `truncatedNormal(stddev 0.02)`.
 *
 * @throws {@link InvalidArgumentError} from the constructor naming `args` (not an object),
 *   `maxLength` (not a positive integer) or `seed` (not an integer); naming `x` when built on an
 *   input without a known last dimension.
 * @throws {@link ShapeError} (argument `x`) when applied to an input that is not rank 3, has more
 *   than `maxLength` tokens, or has another width than the one the layer was built for.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { positionalEmbedding } from 'vdafm';
 *
 * const pos = positionalEmbedding({ maxLength: 64, seed: 1 });
 * const y = pos.apply(tf.zeros([2, 10, 32])) as tf.Tensor;
 * console.log(y.shape); // [2, 10, 32]
 * ```
 */
export class PositionalEmbedding extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmPositionalEmbedding';
  readonly maxLength: number;
  readonly seed: number | undefined;
  private embeddings: tfl.LayerVariable | null = null;

  constructor(args: PositionalEmbeddingArgs) {
    super(layerBaseArgs(args, 'PositionalEmbedding'));
    assertPositiveInt(args.maxLength, 'maxLength');
    this.maxLength = args.maxLength;
    this.seed = checkSeed(args.seed);
  }

  private check(s: Shape): void {
    assertRank(s, 3, 'x', '[batch, tokens, dim]');
    const n = s[1];
    if (n != null && n > this.maxLength) {
      throw new ShapeError({
        argument: 'x',
        expected: `[batch, tokens ≤ ${this.maxLength}, dim]`,
        received: s,
        fix: 'Increase maxLength or truncate the sequence.',
      });
    }
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    this.check(s);
    if (s[2] == null) {
      throw new InvalidArgumentError({ argument: 'x', message: 'x must have a known last dimension.', received: `shape ${JSON.stringify(s)}` });
    }
    this.embeddings = this.addWeight('embeddings', [this.maxLength, s[2]], 'float32', makeInitializer('truncatedNormal', this.seed, 0));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    this.check(s);
    return [...s];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = asList(inputs)[0]!;
      this.check(x.shape);
      const table = this.embeddings!.read();
      assertDim(x, 2, table.shape[1]!, 'x', `[batch, tokens, ${table.shape[1]}]`);
      const n = x.shape[1]!;
      const pos = n === this.maxLength ? table : tf.slice(table, [0, 0], [n, -1]);
      return tf.add(x, pos);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { maxLength: this.maxLength };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * Creates a {@link PositionalEmbedding} layer.
 *
 * @throws {@link InvalidArgumentError} naming `args`, `maxLength` or `seed`, as the
 *   {@link PositionalEmbedding} constructor.
 * @example
 * ```ts
 * const y = positionalEmbedding({ maxLength: 128 }).apply(tokens); // same shape as tokens
 * ```
 */
export function positionalEmbedding(args: PositionalEmbeddingArgs): PositionalEmbedding {
  return new PositionalEmbedding(args);
}
