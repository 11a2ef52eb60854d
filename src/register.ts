/**
 * Registers every vdafm layer class with tfjs's serialisation registry, so that models using
 * them can be saved and loaded. Importing `vdafm` runs it once; calling it again is harmless.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ImageEncoderLayer } from './encoders/image/image-encoder-layer.js';
import { ClsAttentionImportance, ClsTokenSplit } from './encoders/tabular/cls.js';
import { FeatureTokenizer } from './encoders/tabular/feature-tokenizer.js';
import { TabularMLP } from './encoders/tabular/mlp.js';
import { FrozenEmbeddingAdapter } from './encoders/text/frozen-adapter.js';
import { TokenEmbedding } from './encoders/text/token-embedding.js';
import { BaselineFusion } from './fusion/baselines.js';
import { VDAFM } from './fusion/vdafm.js';
import { MultiHeadAttention } from './layers/attention.js';
import { Conv2D, Conv3D } from './layers/conv.js';
import { LayerNormalization } from './layers/layer-norm.js';
import { GlobalPooling3D, MaskedPooling } from './layers/pooling.js';
import { PositionalEmbedding } from './layers/positional-embedding.js';
import { TransformerBlock } from './layers/transformer-block.js';

/** Every layer class vdafm registers, by its serialised class name. */
export const LAYER_CLASSES = [
  MultiHeadAttention,
  TransformerBlock,
  MaskedPooling,
  GlobalPooling3D,
  PositionalEmbedding,
  VDAFM,
  BaselineFusion,
  LayerNormalization,
  TokenEmbedding,
  FrozenEmbeddingAdapter,
  FeatureTokenizer,
  TabularMLP,
  ClsTokenSplit,
  ClsAttentionImportance,
  Conv2D,
  Conv3D,
  ImageEncoderLayer,
] as const;

let registered = false;

/**
 * Registers vdafm's layer classes for (de)serialisation. Idempotent.
 *
 * @example
 * ```ts
 * registerLayers(); // already done by `import 'vdafm'`
 * ```
 */
export function registerLayers(): void {
  if (registered) return;
  for (const cls of LAYER_CLASSES) {
    tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  }
  registered = true;
}

registerLayers();
