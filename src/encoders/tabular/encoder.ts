/**
 * `createTabularEncoder`: the clinical-table branch as symbolic pieces and a LayersModel.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import {
  assertNonNegativeInt,
  assertOneOf,
  assertPositiveInt,
  assertRate,
  checkName,
  checkSeed,
  type KernelInitializerName,
} from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';
import { TransformerBlock } from '../../layers/transformer-block.js';
import { LayerNormalization } from '../../layers/layer-norm.js';
import { ClsAttentionImportance, ClsTokenSplit } from './cls.js';
import { FeatureTokenizer } from './feature-tokenizer.js';
import { type MlpActivation, TabularMLP } from './mlp.js';
import { type TabularFeatureSpec, TabularPreprocessor } from './preprocessor.js';

type SymbolicTensor = tfl.SymbolicTensor;

/** Architectures of {@link createTabularEncoder}. */
export type TabularEncoderType = 'ftTransformer' | 'mlp';

/** Configuration of {@link createTabularEncoder}. */
export interface TabularEncoderConfig {
  /** The fitted preprocessor (or its {@link TabularFeatureSpec}) whose output the encoder reads. Required. */
  features: TabularPreprocessor | TabularFeatureSpec;
  /**
   * `'ftTransformer'`: feature tokens + CLS + transformer blocks → tokens, pooled CLS vector
   * and attention importance; `'mlp'`: one vector.
   * @defaultValue 'ftTransformer'
   */
  type?: TabularEncoderType;
  /**
   * Output width (token width and pooled width).
   * @defaultValue 64
   */
  dim?: number;
  /** ftTransformer: number of transformer blocks. @defaultValue 2 */
  numLayers?: number;
  /** ftTransformer: attention heads (must divide `dim`). @defaultValue 4 */
  numHeads?: number;
  /** ftTransformer: feed-forward width. @defaultValue 2 × dim */
  ffnDim?: number;
  /** mlp: hidden widths. @defaultValue [128, 128] */
  hiddenUnits?: number[];
  /** mlp: width of each categorical embedding. @defaultValue 8 */
  categoricalDim?: number;
  /** mlp: hidden activation. @defaultValue 'relu' */
  activation?: MlpActivation;
  /** Dropout (attention, FFN and residual for ftTransformer; hidden layers for mlp), training only. @defaultValue 0 */
  dropout?: number;
  /** Initialiser of the kernels. @defaultValue 'glorotUniform' (ftTransformer), 'heUniform' (mlp) */
  kernelInitializer?: KernelInitializerName;
  /** Seed of every initialiser and dropout mask. @defaultValue undefined (random) */
  seed?: number;
  /**
   * Prefix of the layer names (and the model name); set it to put two tabular encoders in one model.
   * @defaultValue 'tabular'
   */
  name?: string;
  /**
   * Existing symbolic inputs to build on (e.g. inputs shared with other branches).
   * @defaultValue new `tfl.input`s named `${name}_values`, `${name}_mask`
   */
  inputs?: { values: SymbolicTensor; mask: SymbolicTensor };
}

/** The tabular branch: symbolic inputs/outputs for your own `tf.model`, and a ready model. */
export interface TabularEncoder {
  type: TabularEncoderType;
  /** `values` `[batch, features]` and `mask` `[batch, features]` (1 = present). */
  inputs: { values: SymbolicTensor; mask: SymbolicTensor };
  /**
   * - `pooled` `[batch, dim]`: the CLS token (ftTransformer) or the MLP output;
   * - `tokens` `[batch, features, dim]` (ftTransformer; null for mlp): one token per feature;
   * - `mask` `[batch, features]` (ftTransformer; null for mlp): the input mask, 0 = missing value;
   * - `importance` `[batch, features]` (ftTransformer; null for mlp): mean CLS → feature attention.
   */
  outputs: {
    pooled: SymbolicTensor;
    tokens: SymbolicTensor | null;
    mask: SymbolicTensor | null;
    importance: SymbolicTensor | null;
  };
  /** `tf.model` from `[values, mask]` to the outputs listed in {@link outputNames}, in that order. */
  model: tfl.LayersModel;
  /**
   * Applies the same layers (shared weights) to other symbolic inputs `values`, `mask`
   * `[batch, features]` and returns the same kind of outputs.
   */
  apply: (values: SymbolicTensor, mask: SymbolicTensor) => TabularEncoder['outputs'];
  /** Names of `model`'s outputs: `['tokens', 'mask', 'pooled', 'importance']` or `['pooled']`. */
  outputNames: Array<'tokens' | 'mask' | 'pooled' | 'importance'>;
  /** Feature names in column order (when known). */
  featureNames: string[];
  /** Static shapes (`null` = batch). */
  shapes: Record<'values' | 'mask' | 'pooled', Array<number | null>> & Partial<Record<'tokens' | 'importance', Array<number | null>>>;
}

/**
 * Builds the clinical-table encoder: an FT-Transformer (feature tokenizer with per-feature
 * numeric projections, categorical embeddings and learnable missing embeddings, a CLS token,
 * `numLayers` pre-norm {@link TransformerBlock}s and a final layer norm) or an MLP.
 *
 * Shapes (F features, d = `dim`):
 * - inputs: `values [batch, F]`, `mask [batch, F]` — exactly what {@link TabularPreprocessor.transform} returns;
 * - ftTransformer outputs: `tokens [batch, F, d]`, `mask [batch, F]`, `pooled [batch, d]`
 *   (the CLS token), `importance [batch, F]` (mean CLS → feature attention over heads and layers);
 * - mlp output: `pooled [batch, d]`.
 *
 * Missing values are not masked out of attention: their token *is* the learned missing
 * embedding, so missingness is information. The output `mask` still marks them, for
 * downstream pooling or fusion that should ignore them.
 *
 * Every layer is a registered vdafm or tfjs layer, so `model` (or any model you build from
 * `inputs`/`outputs`) saves and loads with `saveModelToMemory` / `saveModel`.
 *
 * @throws {@link InvalidArgumentError} for a bad option (named), an unfitted preprocessor, or
 *   `numHeads` not dividing `dim`.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { TabularPreprocessor, createTabularEncoder } from 'vdafm';
 *
 * const pre = new TabularPreprocessor({ columns: [
 *   { name: 'age', type: 'numeric' }, { name: 'nihss', type: 'numeric' },
 *   { name: 'sex', type: 'categorical' }, { name: 'afib', type: 'binary' },
 * ] }).fit(trainRows);
 * const enc = createTabularEncoder({ features: pre, dim: 32, numLayers: 2, numHeads: 4, seed: 1 });
 * // your own head on the pooled vector:
 * const logit = tfl.layers.dense({ units: 1 }).apply(enc.outputs.pooled) as tfl.SymbolicTensor;
 * const model = tfl.model({ inputs: [enc.inputs.values, enc.inputs.mask], outputs: logit });
 * const { values, mask } = pre.transform(testRows);
 * const [tokens, m, pooled, importance] = enc.model.predict([values, mask]) as tf.Tensor[];
 * console.log(tokens.shape, pooled.shape, importance.shape); // [n, 4, 32] [n, 32] [n, 4]
 * ```
 */
export function createTabularEncoder(config: TabularEncoderConfig): TabularEncoder {
  const setup = setUpTabularEncoder(config);
  return setup.type === 'mlp' ? buildMlpEncoder(config, setup) : buildFtTransformerEncoder(config, setup);
}

/** What both architectures share: the validated common options and the symbolic inputs. */
interface TabularSetup {
  spec: TabularFeatureSpec;
  type: TabularEncoderType;
  dim: number;
  dropout: number;
  name: string;
  /** Seed option of the i-th seeded layer (none without a seed). */
  seedAt: (i: number) => { seed?: number };
  /** Number of features F. */
  f: number;
  inputs: TabularEncoder['inputs'];
  featureNames: string[];
  /** The kernel initialiser option, to pass on (absent: each layer's default). */
  init: { kernelInitializer?: KernelInitializerName };
}

/** Validates the options both architectures read and makes (or checks) the symbolic inputs. */
function setUpTabularEncoder(config: TabularEncoderConfig): TabularSetup {
  if (config == null || typeof config !== 'object') {
    throw new InvalidArgumentError({ argument: 'config', message: 'createTabularEncoder needs a config object.', received: config });
  }
  const spec = readFeatureSpec(config.features);
  const type = config.type ?? 'ftTransformer';
  assertOneOf(type, ['ftTransformer', 'mlp'] as const, 'type');
  const dim = config.dim ?? 64;
  assertPositiveInt(dim, 'dim');
  const dropout = config.dropout ?? 0;
  assertRate(dropout, 'dropout');
  const seed = checkSeed(config.seed);
  const name = checkName(config.name ?? 'tabular');
  const seedAt = (i: number) => (seed === undefined ? {} : { seed: seed + 1009 * i });
  const f = spec.numScalar + spec.cardinalities.length;
  const inputs = config.inputs ?? {
    values: tfl.input({ shape: [f], name: `${name}_values` }),
    mask: tfl.input({ shape: [f], name: `${name}_mask` }),
  };
  if (inputs.values?.shape?.length !== 2 || inputs.mask?.shape?.length !== 2) {
    throw new InvalidArgumentError({
      argument: 'inputs',
      message: 'inputs must be {values, mask}, symbolic tensors of shape [batch, features].',
      received: `values ${JSON.stringify(inputs.values?.shape)}, mask ${JSON.stringify(inputs.mask?.shape)}`,
    });
  }
  const kernelInitializer = config.kernelInitializer;
  return { spec, type, dim, dropout, name, seedAt, f, inputs, featureNames: spec.names ?? [], init: kernelInitializer === undefined ? {} : { kernelInitializer } };
}

/** The MLP branch: one {@link TabularMLP} → `pooled`. */
function buildMlpEncoder(config: TabularEncoderConfig, s: TabularSetup): TabularEncoder {
  const { spec, dim, name, f, inputs } = s;
  const mlp = new TabularMLP({
    numScalar: spec.numScalar,
    cardinalities: spec.cardinalities,
    dim,
    hiddenUnits: config.hiddenUnits ?? [128, 128],
    categoricalDim: config.categoricalDim ?? 8,
    activation: config.activation ?? 'relu',
    dropout: s.dropout,
    ...s.init,
    ...s.seedAt(0),
    name: `${name}_mlp`,
  });
  const apply = (values: SymbolicTensor, mask: SymbolicTensor): TabularEncoder['outputs'] => ({
    pooled: mlp.apply([values, mask]) as SymbolicTensor,
    tokens: null,
    mask: null,
    importance: null,
  });
  const outputs = apply(inputs.values, inputs.mask);
  const pooled = outputs.pooled;
  return {
    type: s.type,
    inputs,
    outputs,
    apply,
    model: tfl.model({ inputs: [inputs.values, inputs.mask], outputs: [pooled], name: `${name}_encoder` }),
    outputNames: ['pooled'],
    featureNames: s.featureNames,
    shapes: { values: [null, f], mask: [null, f], pooled: [null, dim] },
  };
}

/** The FT-Transformer's layers: feature tokenizer, blocks, final norm, CLS split, importance. */
function ftTransformerLayers(config: TabularEncoderConfig, s: TabularSetup) {
  const { spec, dim, name } = s;
  const numLayers = config.numLayers ?? 2;
  assertNonNegativeInt(numLayers, 'numLayers');
  const numHeads = config.numHeads ?? 4;
  assertPositiveInt(numHeads, 'numHeads');
  if (dim % numHeads !== 0) {
    throw new InvalidArgumentError({ argument: 'numHeads', message: `numHeads must divide dim=${dim}.`, received: numHeads });
  }
  const ffnDim = config.ffnDim ?? 2 * dim;
  assertPositiveInt(ffnDim, 'ffnDim');
  const tokenizer = new FeatureTokenizer({
    numScalar: spec.numScalar,
    cardinalities: spec.cardinalities,
    dim,
    useCls: true,
    ...s.init,
    ...s.seedAt(0),
    name: `${name}_feature_tokenizer`,
  });
  const blocks = Array.from(
    { length: numLayers },
    (_, l) =>
      new TransformerBlock({
        numHeads,
        ffnDim,
        dropout: s.dropout,
        returnAttentionScores: true,
        ...s.init,
        ...s.seedAt(l + 1),
        name: `${name}_block_${l}`,
      }),
  );
  const finalNorm = new LayerNormalization({ epsilon: 1e-5, name: `${name}_final_norm` });
  const split = new ClsTokenSplit({ name: `${name}_cls_split` });
  const importanceLayer = numLayers > 0 ? new ClsAttentionImportance({ name: `${name}_importance` }) : null;
  return { tokenizer, blocks, finalNorm, split, importanceLayer };
}

/** The FT-Transformer branch: feature tokens + CLS through the blocks → tokens, mask, pooled, importance. */
function buildFtTransformerEncoder(config: TabularEncoderConfig, s: TabularSetup): TabularEncoder {
  const { dim, name, f, inputs } = s;
  const { tokenizer, blocks, finalNorm, split, importanceLayer } = ftTransformerLayers(config, s);
  const apply = (values: SymbolicTensor, mask: SymbolicTensor): TabularEncoder['outputs'] => {
    let x = tokenizer.apply([values, mask]) as SymbolicTensor;
    const maps: SymbolicTensor[] = [];
    for (const block of blocks) {
      const [y, a] = block.apply(x) as SymbolicTensor[];
      x = y!;
      maps.push(a!);
    }
    const [pooled, tokens] = split.apply(finalNorm.apply(x)) as SymbolicTensor[];
    const importance = importanceLayer ? (importanceLayer.apply(maps) as SymbolicTensor) : null;
    return { pooled: pooled!, tokens: tokens!, mask, importance };
  };
  const outputs = apply(inputs.values, inputs.mask);
  const importance = outputs.importance;
  const outputNames: TabularEncoder['outputNames'] = importance ? ['tokens', 'mask', 'pooled', 'importance'] : ['tokens', 'mask', 'pooled'];
  const list = outputNames.map((n) => outputs[n]!);
  return {
    type: s.type,
    inputs,
    outputs,
    apply,
    model: tfl.model({ inputs: [inputs.values, inputs.mask], outputs: list, name: `${name}_encoder` }),
    outputNames,
    featureNames: s.featureNames,
    shapes: {
      values: [null, f],
      mask: [null, f],
      pooled: [null, dim],
      tokens: [null, f, dim],
      ...(importance ? { importance: [null, f] } : {}),
    },
  };
}

function readFeatureSpec(features: unknown): TabularFeatureSpec {
  if (features instanceof TabularPreprocessor || (features as TabularPreprocessor | null)?.featureSpec instanceof Function) {
    return (features as TabularPreprocessor).featureSpec();
  }
  const spec = features as Partial<TabularFeatureSpec> | null;
  if (spec == null || typeof spec !== 'object' || typeof spec.numScalar !== 'number' || !Array.isArray(spec.cardinalities)) {
    throw new InvalidArgumentError({
      argument: 'features',
      message: 'features must be a fitted TabularPreprocessor or {numScalar, cardinalities}.',
      received: features,
    });
  }
  return { numScalar: spec.numScalar, cardinalities: spec.cardinalities, ...(spec.names ? { names: spec.names } : {}) };
}
