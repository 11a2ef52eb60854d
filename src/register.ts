/**
 * Registers every vdafm layer class with tfjs's serialisation registry, so that models using
 * them can be saved and loaded. Importing `vdafm` runs it once; calling it again is harmless, and
 * so is a second copy of vdafm in the process (the ESM and the CJS build loaded side by side: the
 * dual-package hazard): the copy that registers first keeps the registry, and
 * {@link isVdafmLayer} recognises the layers of either copy.
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

/** Marks a vdafm layer class's prototype with its className (`Symbol.for`: shared by every copy). */
const LAYER_MARKER = Symbol.for('vdafm.layerClass');

let registered = false;

/**
 * Whether `value` is a layer of one of vdafm's classes, from whichever copy of vdafm made it
 * (where `instanceof` fails across copies: an ESM and a CJS copy in one process, two bundles in
 * a page). With `className`, whether it is a layer of that class (or a subclass), e.g.
 * `'VdafmFusion'` for {@link VDAFM}; the names are the classes' `className`.
 *
 * @example
 * ```ts
 * const model = await tfl.loadLayersModel(handler);
 * const fusion = model.layers.find((l) => isVdafmLayer(l, VDAFM.className));
 * ```
 */
export function isVdafmLayer(value: unknown, className?: string): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const mark = (value as Record<symbol, unknown>)[LAYER_MARKER];
  return typeof mark === 'string' && (className === undefined || mark === className);
}

/**
 * Registers vdafm's layer classes for (de)serialisation. Idempotent, also across copies of vdafm:
 * a className that another copy's class already holds in tfjs's registry is left to it, so the
 * first copy loaded keeps deserialising models for every copy (a second copy no longer swaps the
 * classes under the first one). Models load, save and run with either copy; `instanceof` holds
 * only for the first copy's classes: test with {@link isVdafmLayer}.
 *
 * @example
 * ```ts
 * registerLayers(); // already done by `import 'vdafm'`
 * ```
 */
export function registerLayers(): void {
  if (registered) return;
  const registry = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const cls of LAYER_CLASSES) {
    Object.defineProperty(cls.prototype, LAYER_MARKER, { value: cls.className, enumerable: false, configurable: true, writable: false });
    const holder = registry[cls.className]?.[0] as unknown as { prototype?: unknown } | undefined;
    if (holder && holder !== (cls as unknown) && isVdafmLayer(holder.prototype, cls.className)) continue; // another copy's
    tf.serialization.registerClass(cls as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  }
  registered = true;
}

registerLayers();
