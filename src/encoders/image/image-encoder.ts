/**
 * `createImageEncoder`: the image branch as a layer, a standalone model and an `apply` for your
 * own functional model, with the token grid's shapes.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, ShapeError } from '../../errors.js';
import { ImageEncoderLayer } from './image-encoder-layer.js';
import type { ImageEncoderOptions, ResolvedImageEncoderOptions } from './image-options.js';

/** What {@link createImageEncoder} returns. */
export interface ImageEncoder {
  /** The encoder layer (apply it to your own symbolic input to compose it into a bigger tf.model). */
  layer: ImageEncoderLayer;
  /** A standalone model `image → [tokens, pooled]` sharing the layer's weights. */
  model: tfl.LayersModel;
  /** Applies the (shared) encoder layer to a symbolic input: returns `[tokens, pooled]`. */
  apply: (input: tfl.SymbolicTensor) => [tokens: tfl.SymbolicTensor, pooled: tfl.SymbolicTensor];
  /** Input shape without the batch axis. */
  inputShape: number[];
  /** `[numTokens, dim]`: the token output without the batch axis. */
  tokensShape: [number, number];
  /** Spatial sizes of the last feature map (the token grid), row-major order of the tokens. */
  gridShape: number[];
  /** Width of the tokens and of the pooled vector. */
  pooledDim: number;
  /** The resolved, JSON-safe options (with `inputShape`). */
  config: ResolvedImageEncoderOptions & { inputShape: number[] };
}

/** Options of {@link createImageEncoder}. */
export interface CreateImageEncoderConfig extends ImageEncoderOptions {
  /**
   * Input shape without the batch axis: `[height, width, channels]` (2D) or
   * `[depth, height, width, channels]` (3D); channels are MRI sequences (e.g. DWI + ADC = 2)
   * and/or stacked slices. Required.
   */
  inputShape: number[];
  /** Name of the encoder layer (unique in a model). @defaultValue auto-generated, e.g. 'vdafm_image_encoder_VdafmImageEncoder1' */
  name?: string;
}

/**
 * Creates an image encoder: a residual 2D or 3D CNN returning the visual token grid
 * `[batch, numTokens, dim]` and a pooled vector `[batch, dim]`, usable alone (`model`) or inside
 * your own functional `tf.model` (`apply`), serialisable (one registered layer class,
 * `VdafmImageEncoder`, JSON-safe config). Its convolutions and normalisations train on every
 * backend (cpu, wasm, ...) with the same results.
 *
 * @throws {@link InvalidArgumentError} for invalid options (named in `error.argument`).
 * @throws {@link ShapeError} when `inputShape` does not fit `spatialDims`.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { createImageEncoder } from 'vdafm';
 *
 * const enc = createImageEncoder({ inputShape: [64, 64, 2], widths: [16, 32, 64], strides: [1, 2, 2] });
 * console.log(enc.tokensShape, enc.pooledDim); // [256, 64] 64
 * const [tokens, pooled] = enc.model.predict(tf.zeros([3, 64, 64, 2])) as tf.Tensor[];
 * console.log(tokens.shape, pooled.shape); // [3, 256, 64] [3, 64]
 * ```
 */
export function createImageEncoder(config: CreateImageEncoderConfig): ImageEncoder {
  if (config == null || typeof config !== 'object') {
    throw new InvalidArgumentError({ argument: 'config', message: 'createImageEncoder needs a config object.', received: config });
  }
  const { inputShape, name, ...options } = config;
  const layer = new ImageEncoderLayer({ ...options, ...(name === undefined ? {} : { name }) });
  const dims = layer.options.spatialDims;
  if (!Array.isArray(inputShape) || inputShape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
    throw new InvalidArgumentError({
      argument: 'inputShape',
      message: 'inputShape must be a list of positive integers (without the batch axis).',
      received: inputShape,
    });
  }
  if (inputShape.length !== dims + 1) {
    throw new ShapeError({
      argument: 'inputShape',
      expected: dims === 2 ? '[height, width, channels]' : '[depth, height, width, channels]',
      received: inputShape,
      fix: `spatialDims is ${dims}.`,
    });
  }
  const grid = layer.tokenGrid([null, ...inputShape]);
  const input = tfl.input({ shape: inputShape, name: `${layer.name}_input` });
  const [tokens, pooled] = layer.apply(input) as tfl.SymbolicTensor[];
  const model = tfl.model({ inputs: input, outputs: [tokens!, pooled!], name: `${layer.name}_model` });
  return {
    layer,
    model,
    apply: (x) => {
      const [t, p] = layer.apply(x) as tfl.SymbolicTensor[];
      return [t!, p!];
    },
    inputShape: [...inputShape],
    tokensShape: [grid.numTokens, grid.dim],
    gridShape: grid.spatial,
    pooledDim: grid.dim,
    config: { ...layer.options, inputShape: [...inputShape] },
  };
}
