/**
 * `createTextEncoder` (trainable transformer over report tokens) and
 * `createFrozenTextEncoder` (adapter for precomputed embeddings), with one output contract.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import {
  assertBoolean,
  assertNonNegativeInt,
  assertPositiveInt,
  assertRate,
  checkName,
  checkSeed,
  type KernelInitializerName,
} from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';
import { MaskedPooling } from '../../layers/pooling.js';
import { PositionalEmbedding } from '../../layers/positional-embedding.js';
import { TransformerBlock } from '../../layers/transformer-block.js';
import { FrozenEmbeddingAdapter } from './frozen-adapter.js';
import { LayerNormalization } from '../../layers/layer-norm.js';
import { TokenEmbedding } from './token-embedding.js';
import type { WordPieceTokenizer } from './tokenizer.js';

type SymbolicTensor = tfl.SymbolicTensor;

/**
 * What every text branch returns: token states, their mask and a pooled vector (the contract
 * VDAFM's text input expects), plus a model from the inputs to `[tokens, mask, pooled]`.
 */
export interface TextEncoderOutputs {
  /** `[batch, tokens, dim]` token states. */
  tokens: SymbolicTensor;
  /** `[batch, tokens]`, 1 = valid token, 0 = padding (a row of zeros = report missing). */
  mask: SymbolicTensor;
  /** `[batch, dim]` masked mean of the tokens (zeros for a missing report). */
  pooled: SymbolicTensor;
}

/** The `tf.model` of a text branch: its two inputs → `[tokens, mask, pooled]`, named `${name}_encoder`. */
function branchModel(inputs: [SymbolicTensor, SymbolicTensor], outputs: TextEncoderOutputs, name: string): tfl.LayersModel {
  return tfl.model({ inputs, outputs: [outputs.tokens, outputs.mask, outputs.pooled], name: `${name}_encoder` });
}

/** The trainable text branch. */
export interface TextEncoderBranch {
  /** `ids` `[batch, length]` (float32 or int32 token ids) and `mask` `[batch, length]`. */
  inputs: { ids: SymbolicTensor; mask: SymbolicTensor };
  outputs: TextEncoderOutputs;
  /** `tf.model` from `[ids, mask]` to `[tokens, mask, pooled]`. */
  model: tfl.LayersModel;
  /** Applies the same layers (shared weights) to other symbolic `ids`, `mask` `[batch, length]`. */
  apply: (ids: SymbolicTensor, mask: SymbolicTensor) => TextEncoderOutputs;
  /** Static shapes (`null` = batch, or a variable length). */
  shapes: Record<'ids' | 'mask' | 'tokens' | 'pooled', Array<number | null>>;
}

/** Configuration of {@link createTextEncoder}. */
export interface TextEncoderConfig {
  /**
   * The tokenizer whose ids the encoder reads: gives `vocabSize`, `maxLength` and the id used
   * for out-of-range ids (its `[UNK]`).
   */
  tokenizer?: WordPieceTokenizer;
  /** Vocabulary size. Required without `tokenizer`. */
  vocabSize?: number;
  /** Longest sequence (size of the position table). @defaultValue `tokenizer.maxLength`, required without it */
  maxLength?: number;
  /**
   * Accept any sequence length up to `maxLength` (input shape `[null]`) instead of exactly `maxLength`.
   * @defaultValue false
   */
  variableLength?: boolean;
  /** Model width. @defaultValue 64 */
  dim?: number;
  /** Transformer blocks. @defaultValue 2 */
  numLayers?: number;
  /** Attention heads (must divide `dim`). @defaultValue 4 */
  numHeads?: number;
  /** Feed-forward width. @defaultValue 4 × dim */
  ffnDim?: number;
  /** Dropout in the blocks (training only). @defaultValue 0 */
  dropout?: number;
  /** Initialiser of the attention and FFN kernels. @defaultValue 'glorotUniform' */
  kernelInitializer?: KernelInitializerName;
  /** Seed of every initialiser and dropout mask. @defaultValue undefined (random) */
  seed?: number;
  /** Prefix of the layer names and the model name. @defaultValue 'text' */
  name?: string;
  /** Existing symbolic inputs to build on. @defaultValue new inputs `${name}_ids`, `${name}_mask` */
  inputs?: { ids: SymbolicTensor; mask: SymbolicTensor };
}

/**
 * Builds the trainable report-text encoder: {@link TokenEmbedding} (trains on wasm) +
 * {@link PositionalEmbedding} + `numLayers` pre-norm {@link TransformerBlock}s (padding masked
 * out of attention) + a final layer norm → token states, and {@link MaskedPooling} → pooled.
 *
 * Shapes (L = `maxLength`, d = `dim`): inputs `ids [batch, L]`, `mask [batch, L]` (what
 * {@link WordPieceTokenizer.encodeToTensors} returns); outputs `tokens [batch, L, d]`,
 * `mask [batch, L]`, `pooled [batch, d]`. Padded positions never change the valid tokens'
 * states or the pooled vector; a missing report (mask all 0) pools to zeros.
 *
 * @throws {@link InvalidArgumentError} for a bad option (named) or `numHeads` not dividing `dim`.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { WordPieceTokenizer, createTextEncoder } from 'vdafm';
 *
 * const tok = WordPieceTokenizer.train(reports, { vocabSize: 500, minFrequency: 2 }, { maxLength: 32 });
 * const enc = createTextEncoder({ tokenizer: tok, dim: 64, numLayers: 2, numHeads: 4, seed: 1 });
 * const { ids, mask } = tok.encodeToTensors(['Acute lesion: present | Side: left', null]);
 * const [tokens, m, pooled] = enc.model.predict([ids, mask]) as tf.Tensor[];
 * console.log(tokens.shape, pooled.shape); // [2, 32, 64] [2, 64]
 * ```
 */
export function createTextEncoder(config: TextEncoderConfig): TextEncoderBranch {
  const o = resolveTextEncoderConfig(config);
  const { name, dim } = o;
  const length = o.variableLength ? null : o.maxLength;
  const inputs = config.inputs ?? {
    ids: tfl.input({ shape: [length], name: `${name}_ids` }),
    mask: tfl.input({ shape: [length], name: `${name}_mask` }),
  };
  if (inputs.ids?.shape?.length !== 2 || inputs.mask?.shape?.length !== 2) {
    throw new InvalidArgumentError({
      argument: 'inputs',
      message: 'inputs must be {ids, mask}, symbolic tensors of shape [batch, length].',
      received: `ids ${JSON.stringify(inputs.ids?.shape)}, mask ${JSON.stringify(inputs.mask?.shape)}`,
    });
  }
  const { embedding, positions, blocks, finalNorm, pooling } = textEncoderLayers(config, o);
  const apply = (ids: SymbolicTensor, mask: SymbolicTensor): TextEncoderOutputs => {
    let x = positions.apply(embedding.apply(ids)) as SymbolicTensor;
    for (const block of blocks) x = block.apply([x, mask]) as SymbolicTensor;
    const tokens = finalNorm.apply(x) as SymbolicTensor;
    return { tokens, mask, pooled: pooling.apply([tokens, mask]) as SymbolicTensor };
  };
  const outputs = apply(inputs.ids, inputs.mask);
  return {
    inputs,
    outputs,
    apply,
    model: branchModel([inputs.ids, inputs.mask], outputs, name),
    shapes: { ids: [null, length], mask: [null, length], tokens: [null, length, dim], pooled: [null, dim] },
  };
}

/** {@link TextEncoderConfig} validated, with the defaults filled in (the tokenizer's sizes first). */
interface ResolvedTextEncoderConfig {
  vocabSize: number;
  maxLength: number;
  variableLength: boolean;
  dim: number;
  numLayers: number;
  numHeads: number;
  ffnDim: number;
  dropout: number;
  name: string;
  /** Seed option of the i-th seeded layer (none without a seed). */
  seedAt: (i: number) => { seed?: number };
}

function resolveTextEncoderConfig(config: TextEncoderConfig): ResolvedTextEncoderConfig {
  if (config == null || typeof config !== 'object') {
    throw new InvalidArgumentError({ argument: 'config', message: 'createTextEncoder needs a config object.', received: config });
  }
  const tok = config.tokenizer;
  const vocabSize = config.vocabSize ?? tok?.vocabSize;
  if (vocabSize === undefined) {
    throw new InvalidArgumentError({ argument: 'vocabSize', message: 'Give a tokenizer or a vocabSize.', received: undefined });
  }
  assertPositiveInt(vocabSize, 'vocabSize');
  const maxLength = config.maxLength ?? tok?.maxLength;
  if (maxLength === undefined) {
    throw new InvalidArgumentError({ argument: 'maxLength', message: 'Give a tokenizer or a maxLength.', received: undefined });
  }
  assertPositiveInt(maxLength, 'maxLength');
  const variableLength = config.variableLength ?? false;
  assertBoolean(variableLength, 'variableLength');
  const dim = config.dim ?? 64;
  assertPositiveInt(dim, 'dim');
  const numLayers = config.numLayers ?? 2;
  assertNonNegativeInt(numLayers, 'numLayers');
  const numHeads = config.numHeads ?? 4;
  assertPositiveInt(numHeads, 'numHeads');
  if (dim % numHeads !== 0) {
    throw new InvalidArgumentError({ argument: 'numHeads', message: `numHeads must divide dim=${dim}.`, received: numHeads });
  }
  const ffnDim = config.ffnDim ?? 4 * dim;
  assertPositiveInt(ffnDim, 'ffnDim');
  const dropout = config.dropout ?? 0;
  assertRate(dropout, 'dropout');
  const seed = checkSeed(config.seed);
  const name = checkName(config.name ?? 'text');
  const seedAt = (i: number) => (seed === undefined ? {} : { seed: seed + 1009 * i });
  return { vocabSize, maxLength, variableLength, dim, numLayers, numHeads, ffnDim, dropout, name, seedAt };
}

/** The encoder's layers: token and position embeddings, the blocks, the final norm, the pooling. */
function textEncoderLayers(config: TextEncoderConfig, o: ResolvedTextEncoderConfig) {
  const { vocabSize, dim, name, seedAt } = o;
  const unk = config.tokenizer?.unkId;
  const kernelInitializer = config.kernelInitializer;
  const embedding = new TokenEmbedding({
    vocabSize,
    dim,
    ...(unk === undefined || unk >= vocabSize ? {} : { oovId: unk }),
    ...seedAt(0),
    name: `${name}_token_embedding`,
  });
  const positions = new PositionalEmbedding({ maxLength: o.maxLength, ...seedAt(1), name: `${name}_position_embedding` });
  const blocks = Array.from(
    { length: o.numLayers },
    (_, l) =>
      new TransformerBlock({
        numHeads: o.numHeads,
        ffnDim: o.ffnDim,
        dropout: o.dropout,
        ...(kernelInitializer === undefined ? {} : { kernelInitializer }),
        ...seedAt(l + 2),
        name: `${name}_block_${l}`,
      }),
  );
  const finalNorm = new LayerNormalization({ epsilon: 1e-5, name: `${name}_final_norm` });
  const pooling = new MaskedPooling({ name: `${name}_pooling` });
  return { embedding, positions, blocks, finalNorm, pooling };
}

/** Configuration of {@link createFrozenTextEncoder}. */
export interface FrozenTextEncoderConfig {
  /** Width of the precomputed embeddings (e.g. 384 for MiniLM sentence embeddings). Required. */
  inDim: number;
  /**
   * Tokens per report for per-token embeddings (`null` = variable), or `'report'` for one
   * embedding per report.
   * @defaultValue 'report'
   */
  tokens?: number | null | 'report';
  /** Output width. @defaultValue 64 */
  dim?: number;
  /** Layer norm after the projection. @defaultValue true */
  normalize?: boolean;
  /** Seed of the projection initialiser. @defaultValue undefined (random) */
  seed?: number;
  /** Prefix of the layer names and the model name. @defaultValue 'frozen_text' */
  name?: string;
  /** Existing symbolic inputs to build on. @defaultValue new inputs `${name}_embeddings`, `${name}_mask` */
  inputs?: { embeddings: SymbolicTensor; mask: SymbolicTensor };
}

/** The frozen-embedding text branch (same outputs as {@link TextEncoderBranch}). */
export interface FrozenTextEncoderBranch {
  /**
   * `embeddings` `[batch, tokens, inDim]` (per token) or `[batch, inDim]` (per report);
   * `mask` `[batch, tokens]` or `[batch, 1]` (0 = report missing).
   */
  inputs: { embeddings: SymbolicTensor; mask: SymbolicTensor };
  outputs: TextEncoderOutputs;
  /** `tf.model` from `[embeddings, mask]` to `[tokens, mask, pooled]`. */
  model: tfl.LayersModel;
  /** Applies the same layers (shared weights) to other symbolic `embeddings`, `mask`. */
  apply: (embeddings: SymbolicTensor, mask: SymbolicTensor) => TextEncoderOutputs;
  /** Static shapes (`null` = batch, or a variable length). */
  shapes: Record<'embeddings' | 'mask' | 'tokens' | 'pooled', Array<number | null>>;
}

/**
 * Builds the adapter branch for precomputed, frozen text embeddings (e.g. from an external
 * sentence-embedding model run once over the reports): a trainable projection to `dim`
 * ({@link FrozenEmbeddingAdapter}) and masked mean pooling, with the same outputs as
 * {@link createTextEncoder}, so the rest of a model does not change.
 *
 * Shapes: per report — `embeddings [batch, inDim]`, `mask [batch, 1]` → `tokens [batch, 1, d]`,
 * `mask [batch, 1]`, `pooled [batch, d]`; per token — `embeddings [batch, T, inDim]`,
 * `mask [batch, T]` → `tokens [batch, T, d]`, `mask [batch, T]`, `pooled [batch, d]`.
 *
 * @throws {@link InvalidArgumentError} for a bad option (named).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { createFrozenTextEncoder } from 'vdafm';
 *
 * const enc = createFrozenTextEncoder({ inDim: 384, dim: 64, seed: 1 });
 * const emb = tf.randomNormal([2, 384]); // e.g. all-MiniLM-L6-v2 outputs, computed offline
 * const present = tf.tensor2d([[1], [0]]); // the second report is missing
 * const [tokens, mask, pooled] = enc.model.predict([emb, present]) as tf.Tensor[];
 * console.log(tokens.shape, pooled.shape); // [2, 1, 64] [2, 64]  (pooled row 2 is zeros)
 * ```
 */
export function createFrozenTextEncoder(config: FrozenTextEncoderConfig): FrozenTextEncoderBranch {
  if (config == null || typeof config !== 'object') {
    throw new InvalidArgumentError({ argument: 'config', message: 'createFrozenTextEncoder needs a config object.', received: config });
  }
  assertPositiveInt(config.inDim, 'inDim');
  const tokensOpt = config.tokens === undefined ? 'report' : config.tokens;
  if (tokensOpt !== 'report' && tokensOpt !== null) assertPositiveInt(tokensOpt, 'tokens');
  const dim = config.dim ?? 64;
  assertPositiveInt(dim, 'dim');
  const seed = checkSeed(config.seed);
  const name = checkName(config.name ?? 'frozen_text');
  const perReport = tokensOpt === 'report';
  const inputs = config.inputs ?? {
    embeddings: tfl.input({ shape: perReport ? [config.inDim] : [tokensOpt, config.inDim], name: `${name}_embeddings` }),
    mask: tfl.input({ shape: perReport ? [1] : [tokensOpt], name: `${name}_mask` }),
  };
  const adapter = new FrozenEmbeddingAdapter({
    dim,
    normalize: config.normalize ?? true,
    ...(seed === undefined ? {} : { seed }),
    name: `${name}_adapter`,
  });
  const pooling = new MaskedPooling({ name: `${name}_pooling` });
  const apply = (embeddings: SymbolicTensor, mask: SymbolicTensor): TextEncoderOutputs => {
    const [tokens, validMask] = adapter.apply([embeddings, mask]) as SymbolicTensor[];
    return { tokens: tokens!, mask: validMask!, pooled: pooling.apply([tokens!, validMask!]) as SymbolicTensor };
  };
  const outputs = apply(inputs.embeddings, inputs.mask);
  const t = perReport ? 1 : tokensOpt;
  return {
    inputs,
    outputs,
    apply,
    model: branchModel([inputs.embeddings, inputs.mask], outputs, name),
    shapes: {
      embeddings: perReport ? [null, config.inDim] : [null, t, config.inDim],
      mask: [null, t],
      tokens: [null, t, dim],
      pooled: [null, dim],
    },
  };
}
