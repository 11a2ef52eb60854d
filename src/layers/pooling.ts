/**
 * Pooling layers: masked mean over tokens, and global pooling of 3D feature maps.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { maskedMean } from '../ops/elementwise.js';
import { assertIsShape, assertOneOf, assertRank, assertSameDims, type Shape } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import { asList } from './common.js';


/** Constructor arguments of {@link MaskedPooling}. */
export interface MaskedPoolingArgs {
  /** Layer name. @defaultValue auto-generated */
  name?: string;
}

/**
 * Mean over the token axis counting only valid tokens.
 *
 * **Inputs**: `x` `[batch, tokens, dim]`, or `[x, mask]` with `mask` `[batch, tokens]` (1 = valid):
 * bool, or float32/int32 of 0 and 1, read as valid where > 0.5 like every vdafm mask (see
 * {@link readMask}).
 * **Output**: `[batch, dim]`. A row with no valid token gives zeros, never NaN; padded
 * values never change the output.
 *
 * @throws {@link InvalidArgumentError} when applied: naming `inputs` for more than two inputs;
 *   `mask` of a dtype other than bool, float32 and int32 (or, with {@link setValidateMasks} on,
 *   holding a value other than 0 and 1).
 * @throws {@link ShapeError} when applied: `x` not rank 3, or `mask` not rank 2 or not matching `x`
 *   in batch and tokens.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { maskedPooling } from 'vdafm';
 *
 * const x = tf.tensor3d([[[1, 2], [3, 4], [100, 100]]]);
 * const mask = tf.tensor2d([[1, 1, 0]]);
 * (maskedPooling().apply([x, mask]) as tf.Tensor).print(); // [[2, 3]]
 * ```
 */
export class MaskedPooling extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmMaskedPooling';

  constructor(args: MaskedPoolingArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name });
  }

  private parseShapes(inputShape: Shape | Shape[]): { x: Shape; mask: Shape | null } {
    const list: Shape[] = Array.isArray(inputShape[0]) ? (inputShape as Shape[]) : [inputShape as Shape];
    if (list.length > 2) {
      throw new InvalidArgumentError({ argument: 'inputs', message: 'MaskedPooling takes x or [x, mask].', received: `${list.length} inputs` });
    }
    list.forEach((s, i) => assertIsShape(s, i === 0 ? 'x' : 'mask', i === 0 ? '[batch, tokens, dim]' : '[batch, tokens]'));
    const x = list[0]!;
    assertRank(x, 3, 'x', '[batch, tokens, dim]');
    const mask = list[1] ?? null;
    if (mask) {
      assertRank(mask, 2, 'mask', '[batch, tokens]');
      assertSameDims(mask, x, [0, 1], 'mask', 'x', '[batch, tokens]');
    }
    return { x, mask };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const { x } = this.parseShapes(inputShape);
    return [x[0]!, x[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = asList(inputs);
      this.parseShapes(list.map((t) => (t as { shape?: Shape } | null)?.shape as Shape));
      return maskedMean(list[0]!, list[1] ?? null);
    });
  }
}

/**
 * Creates a {@link MaskedPooling} layer.
 *
 * @example
 * ```ts
 * const pooled = maskedPooling().apply([tokens, mask]); // [batch, dim]
 * ```
 */
export function maskedPooling(args: MaskedPoolingArgs = {}): MaskedPooling {
  return new MaskedPooling(args);
}

/** Pooling modes of {@link GlobalPooling3D}. */
export type GlobalPoolingMode = 'avg' | 'max';

/** Constructor arguments of {@link GlobalPooling3D}. */
export interface GlobalPooling3DArgs {
  /**
   * Mean or max over depth, height and width.
   * @defaultValue 'avg'
   */
  mode?: GlobalPoolingMode;
  /** Layer name. @defaultValue auto-generated */
  name?: string;
}

/**
 * Global average (or max) pooling of a 3D feature map (tfjs-layers 4.22 has only 1D/2D).
 * Computed at rank 3 (`[batch, depth·height·width, channels]`), which every backend reduces fast.
 *
 * **Input**: `[batch, depth, height, width, channels]` (NDHWC). **Output**: `[batch, channels]`.
 *
 * @throws {@link InvalidArgumentError} (argument `mode`) from the constructor for a mode other than
 *   'avg' and 'max'.
 * @throws {@link ShapeError} (argument `x`) when applied to an input that is not rank 5.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { globalPooling3D } from 'vdafm';
 *
 * const y = globalPooling3D().apply(tf.ones([2, 4, 8, 8, 16])) as tf.Tensor;
 * console.log(y.shape); // [2, 16]
 * ```
 */
export class GlobalPooling3D extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmGlobalPooling3D';
  readonly mode: GlobalPoolingMode;

  constructor(args: GlobalPooling3DArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name });
    const mode = args.mode ?? 'avg';
    assertOneOf(mode, ['avg', 'max'] as const, 'mode');
    this.mode = mode;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    assertRank(s, 5, 'x', '[batch, depth, height, width, channels]');
    return [s[0]!, s[4]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = asList(inputs)[0]!;
      assertRank(x, 5, 'x', '[batch, depth, height, width, channels]');
      const [b, d, h, w, c] = x.shape as [number, number, number, number, number];
      const flat = tf.reshape(x, [b, d * h * w, c]);
      return this.mode === 'avg' ? tf.mean(flat, 1) : tf.max(flat, 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}

/**
 * Creates a {@link GlobalPooling3D} layer.
 *
 * @throws {@link InvalidArgumentError} (argument `mode`) as the {@link GlobalPooling3D}
 *   constructor.
 * @example
 * ```ts
 * const pooled = globalPooling3D({ mode: 'max' }).apply(features); // [batch, channels]
 * ```
 */
export function globalPooling3D(args: GlobalPooling3DArgs = {}): GlobalPooling3D {
  return new GlobalPooling3D(args);
}
