/**
 * The FT-Transformer feature tokenizer: one token per clinical feature (per-feature numeric
 * projection, categorical embeddings, a learnable "missing" embedding per feature).
 * Categorical embeddings use `embeddingLookup` (gather forward, scatter gradient), so they train
 * on the wasm backend.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  assertBoolean,
  assertPositiveInt,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../../core/validate.js';
import { asList, type BaseLayerArgs, configFields, layerBaseArgs, makeInitializer } from '../../layers/common.js';
import { embeddingLookup } from '../../ops/embedding.js';
import { categoricalIds, checkFeatureCounts, parseTableShapes } from './table-shapes.js';


/** Constructor arguments of {@link FeatureTokenizer}. */
export interface FeatureTokenizerArgs extends BaseLayerArgs {
  /** Number of scalar (numeric and binary) features: the first columns of `values`. Required. */
  numScalar: number;
  /** Vocabulary size of each categorical feature (unseen index 0 included): the last columns. Required (may be empty). */
  cardinalities: number[];
  /** Token width. Required. */
  dim: number;
  /**
   * Prepend a learnable CLS token (output index 0).
   * @defaultValue true
   */
  useCls?: boolean;
  /** Initialiser of every table. @defaultValue 'glorotUniform' */
  kernelInitializer?: KernelInitializerName;
  /** Seed of the initialisers. @defaultValue undefined (random) */
  seed?: number;
}

/**
 * FT-Transformer feature tokenizer (Gorishniy et al. 2021): one token per clinical feature.
 *
 * - scalar (numeric, binary) feature j: `t_j = x_j · w_j + b_j`;
 * - categorical feature j: `t_j = E_j[index]` (index 0 = unseen; out-of-range indices map to 0);
 * - where `mask` is 0 (value missing): `t_j = m_j`, a learnable "missing" embedding per feature;
 * - with `useCls`, a learnable CLS token is prepended.
 *
 * **Inputs**: `values` `[batch, features]` (the {@link TabularPreprocessor} layout: scalar
 * features first, then categorical indices), optionally followed by `mask` `[batch, features]`
 * (1 = present; absent = all present).
 * **Output**: `[batch, (1 +) features, dim]`.
 * Weights: `scalar_kernel`, `scalar_bias [numScalar, dim]`, `category_embeddings
 * [Σ cardinalities, dim]`, `missing_embeddings [features, dim]`, `cls_token [1, dim]`.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `numScalar` not a non-negative integer, or no feature at all; `cardinalities` not an
 *   array of positive integers; `dim` not a positive integer; `useCls` not a boolean; an unknown
 *   `kernelInitializer`; a `seed` that is not an integer. When applied: `inputs` for more than two
 *   inputs.
 * @throws {@link ShapeError} when applied: `values` not `[batch, features]` (features =
 *   `numScalar + cardinalities.length`); `mask` not rank 2 or not of `values`' shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { featureTokenizer } from 'vdafm';
 *
 * const tok = featureTokenizer({ numScalar: 2, cardinalities: [3], dim: 8, seed: 1 });
 * const values = tf.tensor2d([[0.5, 1, 2]]);
 * const mask = tf.tensor2d([[1, 0, 1]]);
 * const tokens = tok.apply([values, mask]) as tf.Tensor;
 * console.log(tokens.shape); // [1, 4, 8]  (CLS + 3 features)
 * ```
 */
export class FeatureTokenizer extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmFeatureTokenizer';
  readonly numScalar: number;
  readonly cardinalities: number[];
  readonly dim: number;
  readonly useCls: boolean;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private scalarKernel: tfl.LayerVariable | null = null;
  private scalarBias: tfl.LayerVariable | null = null;
  private categoryEmbeddings: tfl.LayerVariable | null = null;
  private missingEmbeddings: tfl.LayerVariable | null = null;
  private clsToken: tfl.LayerVariable | null = null;

  constructor(args: FeatureTokenizerArgs) {
    super(layerBaseArgs(args, 'FeatureTokenizer'));
    const { numScalar, cardinalities } = checkFeatureCounts(args.numScalar, args.cardinalities);
    assertPositiveInt(args.dim, 'dim');
    assertBoolean(args.useCls ?? true, 'useCls');
    this.numScalar = numScalar;
    this.cardinalities = cardinalities;
    this.dim = args.dim;
    this.useCls = args.useCls ?? true;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
  }

  /** Number of features (`numScalar + cardinalities.length`). */
  get numFeatures(): number {
    return this.numScalar + this.cardinalities.length;
  }

  override build(inputShape: Shape | Shape[]): void {
    parseTableShapes(inputShape, this.numFeatures, 'FeatureTokenizer');
    const init = (i: number) => makeInitializer(this.kernelInitializer, this.seed, i);
    if (this.numScalar > 0) {
      this.scalarKernel = this.addWeight('scalar_kernel', [this.numScalar, this.dim], 'float32', init(0));
      this.scalarBias = this.addWeight('scalar_bias', [this.numScalar, this.dim], 'float32', init(1));
    }
    if (this.cardinalities.length > 0) {
      const rows = this.cardinalities.reduce((a, b) => a + b, 0);
      this.categoryEmbeddings = this.addWeight('category_embeddings', [rows, this.dim], 'float32', init(2));
    }
    this.missingEmbeddings = this.addWeight('missing_embeddings', [this.numFeatures, this.dim], 'float32', init(3));
    if (this.useCls) this.clsToken = this.addWeight('cls_token', [1, this.dim], 'float32', init(4));
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const { values } = parseTableShapes(inputShape, this.numFeatures, 'FeatureTokenizer');
    return [values[0]!, this.numFeatures + (this.useCls ? 1 : 0), this.dim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = asList(inputs);
      parseTableShapes(
        list.map((t) => t.shape),
        this.numFeatures,
        'FeatureTokenizer',
      );
      const values = tf.cast(list[0]!, 'float32');
      const b = values.shape[0]!;
      const parts: tf.Tensor[] = [];
      if (this.numScalar > 0) {
        const x = tf.expandDims(tf.slice(values, [0, 0], [b, this.numScalar]), 2);
        parts.push(tf.add(tf.mul(x, this.scalarKernel!.read()), this.scalarBias!.read()));
      }
      if (this.cardinalities.length > 0) {
        const cat = tf.slice(values, [0, this.numScalar], [b, this.cardinalities.length]);
        parts.push(embeddingLookup(this.categoryEmbeddings!.read(), categoricalIds(cat, this.cardinalities)));
      }
      let tokens = parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
      if (list[1]) {
        const m = tf.expandDims(tf.cast(list[1], 'float32'), 2);
        tokens = tf.add(tf.mul(tokens, m), tf.mul(tf.sub(1, m), this.missingEmbeddings!.read()));
      }
      if (this.useCls) {
        const cls = tf.tile(tf.expandDims(this.clsToken!.read(), 0), [b, 1, 1]);
        tokens = tf.concat([cls, tokens], 1);
      }
      return tokens;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      numScalar: this.numScalar,
      cardinalities: [...this.cardinalities],
      dim: this.dim,
      useCls: this.useCls,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * Creates a {@link FeatureTokenizer} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link FeatureTokenizer} constructor, naming the
 *   argument.
 * @example
 * ```ts
 * const tokens = featureTokenizer({ ...pre.featureSpec(), dim: 32 }).apply([values, mask]); // [null, 1 + F, 32]
 * ```
 */
export function featureTokenizer(args: FeatureTokenizerArgs): FeatureTokenizer {
  return new FeatureTokenizer(args);
}
