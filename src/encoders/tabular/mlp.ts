/**
 * The MLP tabular encoder: standardised numbers, categorical embeddings and missing indicators,
 * concatenated and passed through a small MLP → one vector.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense, gelu } from '../../ops/dense.js';
import { dropout as dropoutOp } from '../../ops/elementwise.js';
import {
  assertOneOf,
  assertPositiveInt,
  assertRate,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';
import {
  asList,
  type BaseLayerArgs,
  configFields,
  DropoutSeeds,
  dropoutStepOf,
  isTraining,
  layerBaseArgs,
  makeInitializer,
} from '../../layers/common.js';
import { embeddingLookup } from '../../ops/embedding.js';
import { categoricalIds, checkFeatureCounts, parseTableShapes } from './table-shapes.js';


/** Activations of {@link TabularMLP}. */
export type MlpActivation = 'relu' | 'gelu';

/** Constructor arguments of {@link TabularMLP}. */
export interface TabularMLPArgs extends BaseLayerArgs {
  /** Number of scalar (numeric and binary) features. Required. */
  numScalar: number;
  /** Vocabulary size of each categorical feature (unseen index included). Required (may be empty). */
  cardinalities: number[];
  /** Output width. Required. */
  dim: number;
  /**
   * Widths of the hidden layers.
   * @defaultValue [64, 64]
   */
  hiddenUnits?: number[];
  /**
   * Width of each categorical embedding.
   * @defaultValue 8
   */
  categoricalDim?: number;
  /** Hidden activation. @defaultValue 'relu' */
  activation?: MlpActivation;
  /** Dropout after each hidden layer (training only). @defaultValue 0 */
  dropout?: number;
  /** Initialiser of the kernels and embeddings. @defaultValue 'heUniform' */
  kernelInitializer?: KernelInitializerName;
  /** Seed of the initialisers and dropout masks. @defaultValue undefined (random) */
  seed?: number;
}

/**
 * MLP encoder of a preprocessed clinical table → one vector.
 *
 * Its input vector is `[x_scalar ⊙ mask_scalar ; E_j[index_j] ⊙ mask_j for each categorical j ;
 * 1 − mask]` (values, categorical embeddings and missing indicators), followed by
 * `hiddenUnits.length` dense + activation (+ dropout) layers and a linear layer to `dim`.
 *
 * **Inputs**: `values` `[batch, features]`, optionally `mask` `[batch, features]` (1 = present).
 * **Output**: `[batch, dim]`.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `numScalar` not a non-negative integer, or no feature at all; `cardinalities` not an
 *   array of positive integers; `dim`, `categoricalDim` or `hiddenUnits[i]` not a positive integer,
 *   `hiddenUnits` not an array; `activation` not 'relu' or 'gelu'; `dropout` outside [0, 1); an
 *   unknown `kernelInitializer`; a `seed` that is not an integer. When applied: `inputs` for more
 *   than two inputs.
 * @throws {@link ShapeError} when applied: `values` not `[batch, features]` (features =
 *   `numScalar + cardinalities.length`); `mask` not rank 2 or not of `values`' shape.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { tabularMLP } from 'vdafm';
 *
 * const mlp = tabularMLP({ numScalar: 2, cardinalities: [3], dim: 16, hiddenUnits: [32], seed: 1 });
 * const z = mlp.apply([tf.tensor2d([[0.5, 1, 2]]), tf.ones([1, 3])]) as tf.Tensor;
 * console.log(z.shape); // [1, 16]
 * ```
 */
export class TabularMLP extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmTabularMLP';
  readonly numScalar: number;
  readonly cardinalities: number[];
  readonly dim: number;
  readonly hiddenUnits: number[];
  readonly categoricalDim: number;
  readonly activation: MlpActivation;
  readonly dropoutRate: number;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private categoryEmbeddings: tfl.LayerVariable | null = null;
  private kernels: tfl.LayerVariable[] = [];
  private biases: tfl.LayerVariable[] = [];
  private readonly dropoutSeeds: DropoutSeeds;

  constructor(args: TabularMLPArgs) {
    super(layerBaseArgs(args, 'TabularMLP'));
    const { numScalar, cardinalities } = checkFeatureCounts(args.numScalar, args.cardinalities);
    assertPositiveInt(args.dim, 'dim');
    const hidden = args.hiddenUnits ?? [64, 64];
    if (!Array.isArray(hidden)) {
      throw new InvalidArgumentError({ argument: 'hiddenUnits', message: 'hiddenUnits must be an array of positive integers.', received: hidden });
    }
    hidden.forEach((h, i) => assertPositiveInt(h, `hiddenUnits[${i}]`));
    assertPositiveInt(args.categoricalDim ?? 8, 'categoricalDim');
    assertOneOf(args.activation ?? 'relu', ['relu', 'gelu'] as const, 'activation');
    assertRate(args.dropout ?? 0, 'dropout');
    this.numScalar = numScalar;
    this.cardinalities = cardinalities;
    this.dim = args.dim;
    this.hiddenUnits = [...hidden];
    this.categoricalDim = args.categoricalDim ?? 8;
    this.activation = args.activation ?? 'relu';
    this.dropoutRate = args.dropout ?? 0;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'heUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
    this.dropoutSeeds = new DropoutSeeds(this.seed);
  }

  /** Number of features (`numScalar + cardinalities.length`). */
  get numFeatures(): number {
    return this.numScalar + this.cardinalities.length;
  }

  override build(inputShape: Shape | Shape[]): void {
    parseTableShapes(inputShape, this.numFeatures, 'TabularMLP');
    const zeros = makeInitializer('zeros', undefined, 0);
    if (this.cardinalities.length > 0) {
      const rows = this.cardinalities.reduce((a, b) => a + b, 0);
      this.categoryEmbeddings = this.addWeight(
        'category_embeddings',
        [rows, this.categoricalDim],
        'float32',
        makeInitializer('glorotUniform', this.seed, 0),
      );
    }
    let width = this.numScalar + this.cardinalities.length * this.categoricalDim + this.numFeatures;
    const widths = [...this.hiddenUnits, this.dim];
    widths.forEach((w, i) => {
      const init = i === widths.length - 1 && this.kernelInitializer === 'heUniform' ? 'glorotUniform' : this.kernelInitializer;
      this.kernels.push(this.addWeight(`kernel_${i}`, [width, w], 'float32', makeInitializer(init, this.seed, i + 1)));
      this.biases.push(this.addWeight(`bias_${i}`, [w], 'float32', zeros));
      width = w;
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const { values } = parseTableShapes(inputShape, this.numFeatures, 'TabularMLP');
    return [values[0]!, this.dim];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const list = asList(inputs);
      parseTableShapes(
        list.map((t) => t.shape),
        this.numFeatures,
        'TabularMLP',
      );
      const values = tf.cast(list[0]!, 'float32');
      const b = values.shape[0]!;
      const mask = list[1] ? tf.cast(list[1], 'float32') : tf.ones([b, this.numFeatures]);
      const parts: tf.Tensor[] = [];
      if (this.numScalar > 0) {
        parts.push(tf.mul(tf.slice(values, [0, 0], [b, this.numScalar]), tf.slice(mask, [0, 0], [b, this.numScalar])));
      }
      const nCat = this.cardinalities.length;
      if (nCat > 0) {
        const cat = tf.slice(values, [0, this.numScalar], [b, nCat]);
        const emb = embeddingLookup(this.categoryEmbeddings!.read(), categoricalIds(cat, this.cardinalities));
        const m = tf.expandDims(tf.slice(mask, [0, this.numScalar], [b, nCat]), 2);
        parts.push(tf.reshape(tf.mul(emb, m), [b, nCat * this.categoricalDim]));
      }
      parts.push(tf.sub(1, mask));
      let h = tf.concat(parts, 1);
      const training = isTraining(kwargs);
      const last = this.kernels.length - 1;
      this.kernels.forEach((k, i) => {
        h = dense(h, k.read(), this.biases[i]!.read());
        if (i < last) {
          h = this.activation === 'relu' ? tf.relu(h) : gelu(h);
          if (training && this.dropoutRate > 0) h = dropoutOp(h, this.dropoutRate, this.dropoutSeeds.next(dropoutStepOf(kwargs)));
        }
      });
      return h;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      numScalar: this.numScalar,
      cardinalities: [...this.cardinalities],
      dim: this.dim,
      hiddenUnits: [...this.hiddenUnits],
      categoricalDim: this.categoricalDim,
      activation: this.activation,
      dropout: this.dropoutRate,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * Creates a {@link TabularMLP} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link TabularMLP} constructor, naming the argument.
 * @example
 * ```ts
 * const z = tabularMLP({ ...pre.featureSpec(), dim: 32 }).apply([values, mask]); // [null, 32]
 * ```
 */
export function tabularMLP(args: TabularMLPArgs): TabularMLP {
  return new TabularMLP(args);
}
