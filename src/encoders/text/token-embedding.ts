/**
 * Trainable token embedding that trains on every backend (wasm included).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  assertPositiveInt,
  assertRank,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';
import { asList, type BaseLayerArgs, configFields, layerBaseArgs, makeInitializer } from '../../layers/common.js';
import { embeddingLookup, sanitizeIds } from '../../ops/embedding.js';


/** Constructor arguments of {@link TokenEmbedding}. */
export interface TokenEmbeddingArgs extends BaseLayerArgs {
  /** Number of rows of the table (the tokenizer's vocabulary size). Required. */
  vocabSize: number;
  /** Embedding width. Required. */
  dim: number;
  /**
   * Id used in place of ids outside `[0, vocabSize)` (e.g. the tokenizer's `[UNK]` id).
   * @defaultValue 0
   */
  oovId?: number;
  /**
   * Initialiser of the table.
   * @defaultValue 'truncatedNormal' (stddev 0.02, as BERT)
   */
  embeddingsInitializer?: KernelInitializerName;
  /** Seed of the initialiser. @defaultValue undefined (random) */
  seed?: number;
}

/**
 * Token embedding `y[b, i] = E[ids[b, i]]` whose gradient is a `scatterND` (see
 * {@link embeddingLookup}), so it trains on the wasm backend, where the stock
 * `tf.layers.embedding` (built on `tf.gather`) has no gradient.
 *
 * **Input**: `ids` `[batch, tokens]` (float32 or int32; rounded, and ids outside
 * `[0, vocabSize)` replaced by `oovId`). **Output**: `[batch, tokens, dim]`.
 * Weight: `embeddings [vocabSize, dim]`.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `vocabSize` or `dim` not a positive integer; `oovId` not an integer in [0, vocabSize);
 *   an unknown `embeddingsInitializer`; a `seed` that is not an integer.
 * @throws {@link ShapeError} (argument `ids`) when applied to ids that are not rank 2.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { tokenEmbedding } from 'vdafm';
 *
 * const emb = tokenEmbedding({ vocabSize: 100, dim: 16, seed: 1 });
 * const y = emb.apply(tf.tensor2d([[2, 5, 0]])) as tf.Tensor;
 * console.log(y.shape); // [1, 3, 16]
 * ```
 */
export class TokenEmbedding extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmTokenEmbedding';
  readonly vocabSize: number;
  readonly dim: number;
  readonly oovId: number;
  readonly embeddingsInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private embeddings: tfl.LayerVariable | null = null;

  constructor(args: TokenEmbeddingArgs) {
    super(layerBaseArgs(args, 'TokenEmbedding'));
    assertPositiveInt(args.vocabSize, 'vocabSize');
    assertPositiveInt(args.dim, 'dim');
    const oov = args.oovId ?? 0;
    if (typeof oov !== 'number' || !Number.isInteger(oov) || oov < 0 || oov >= args.vocabSize) {
      throw new InvalidArgumentError({ argument: 'oovId', message: `oovId must be an integer in [0, vocabSize=${args.vocabSize}).`, received: oov });
    }
    this.vocabSize = args.vocabSize;
    this.dim = args.dim;
    this.oovId = oov;
    this.embeddingsInitializer = checkInitializer(args.embeddingsInitializer ?? 'truncatedNormal', 'embeddingsInitializer');
    this.seed = checkSeed(args.seed);
  }

  private inputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    assertRank(s, 2, 'ids', '[batch, tokens]');
    return s;
  }

  override build(inputShape: Shape | Shape[]): void {
    this.inputShape(inputShape);
    this.embeddings = this.addWeight(
      'embeddings',
      [this.vocabSize, this.dim],
      'float32',
      makeInitializer(this.embeddingsInitializer, this.seed, 0),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.inputShape(inputShape);
    return [s[0]!, s[1]!, this.dim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const ids = asList(inputs)[0]!;
      assertRank(ids, 2, 'ids', '[batch, tokens]');
      return embeddingLookup(this.embeddings!.read(), sanitizeIds(ids, this.vocabSize, this.oovId));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      vocabSize: this.vocabSize,
      dim: this.dim,
      oovId: this.oovId,
      embeddingsInitializer: this.embeddingsInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * Creates a {@link TokenEmbedding} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link TokenEmbedding} constructor, naming the
 *   argument.
 * @example
 * ```ts
 * const emb = tokenEmbedding({ vocabSize: 512, dim: 64 });
 * const tokens = emb.apply(tfl.input({ shape: [32] })); // [null, 32, 64]
 * ```
 */
export function tokenEmbedding(args: TokenEmbeddingArgs): TokenEmbedding {
  return new TokenEmbedding(args);
}
