/**
 * Convolution layers that train on every backend: `Conv2D` and `Conv3D` built on the fast-gradient
 * ops of src/ops/conv.ts (tfjs-layers' own conv layers cannot train on wasm: no
 * `Conv2DBackpropFilter` kernel, naive `Conv3D`, wrong `Conv3DBackpropInputV2` with 'same').
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  assertBoolean,
  assertPositiveInt,
  assertRank,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
  spatialList,
} from '../core/validate.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { asList, type BaseLayerArgs, configFields, layerBaseArgs, makeInitializer } from './common.js';
import { conv2d, conv3d } from '../ops/conv.js';
import { axisPadding, type ConvPadding } from '../ops/conv-geometry.js';


/** Constructor arguments of {@link Conv2D} and {@link Conv3D}. */
export interface ConvArgs extends BaseLayerArgs {
  /** Number of output channels. Required, positive integer. */
  filters: number;
  /** Kernel size, one number for every spatial axis or one per axis. Required. */
  kernelSize: number | number[];
  /**
   * Stride, one number or one per spatial axis.
   * @defaultValue 1
   */
  strides?: number | number[];
  /**
   * 'same' (TensorFlow rule: output `ceil(in / stride)`, the odd padding zero at the end) or 'valid'.
   * @defaultValue 'same'
   */
  padding?: ConvPadding;
  /**
   * Whether to add a bias.
   * @defaultValue true
   */
  useBias?: boolean;
  /**
   * Kernel initialiser (the bias starts at zero).
   * @defaultValue 'glorotUniform'
   */
  kernelInitializer?: KernelInitializerName;
  /**
   * Seed of the kernel initialiser.
   * @defaultValue undefined (random)
   */
  seed?: number;
}

/** Shared implementation of the 2D and 3D layers. */
abstract class ConvBase extends tfl.layers.Layer {
  readonly filters: number;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly padding: ConvPadding;
  readonly useBias: boolean;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  protected kernel: tfl.LayerVariable | null = null;
  protected bias: tfl.LayerVariable | null = null;
  protected abstract readonly spatialRank: 2 | 3;

  constructor(args: ConvArgs, spatialRank: 2 | 3) {
    super(layerBaseArgs(args, 'A convolution layer'));
    assertPositiveInt(args.filters, 'filters');
    this.filters = args.filters;
    this.kernelSize = spatialList(args.kernelSize, spatialRank, 'kernelSize');
    this.strides = spatialList(args.strides ?? 1, spatialRank, 'strides');
    const padding = args.padding ?? 'same';
    if (padding !== 'same' && padding !== 'valid') {
      throw new InvalidArgumentError({ argument: 'padding', message: "padding must be 'same' or 'valid'.", received: padding });
    }
    this.padding = padding;
    assertBoolean(args.useBias ?? true, 'useBias');
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
  }

  private inputShapeOf(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0]! : inputShape) as Shape;
    const r = this.spatialRank;
    assertRank(s, r + 2, 'x', r === 2 ? '[batch, height, width, channels]' : '[batch, depth, height, width, channels]');
    if (s[r + 1] == null) {
      throw new ShapeError({ argument: 'x', expected: 'a known channel dimension', received: s });
    }
    return s;
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.inputShapeOf(inputShape);
    const cin = s[this.spatialRank + 1]!;
    this.kernel = this.addWeight(
      'kernel',
      [...this.kernelSize, cin, this.filters],
      'float32',
      makeInitializer(this.kernelInitializer, this.seed, 0),
      undefined,
      true,
    );
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.filters], 'float32', makeInitializer('zeros', undefined, 0), undefined, true);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.inputShapeOf(inputShape);
    const spatial = s.slice(1, this.spatialRank + 1).map((d, i) =>
      d == null ? null : axisPadding(d, this.kernelSize[i]!, this.strides[i]!, this.padding).out,
    );
    return [s[0] ?? null, ...spatial, this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = asList(inputs)[0]!;
      this.inputShapeOf(x.shape);
      const options = { strides: this.strides, padding: this.padding, bias: this.bias ? (this.bias.read() as tf.Tensor1D) : null };
      return this.spatialRank === 2
        ? conv2d(x as tf.Tensor4D, this.kernel!.read() as tf.Tensor4D, options)
        : conv3d(x as tf.Tensor5D, this.kernel!.read() as tf.Tensor5D, options);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      filters: this.filters,
      kernelSize: [...this.kernelSize],
      strides: [...this.strides],
      padding: this.padding,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { seed: this.seed }) };
  }
}

/**
 * 2D convolution layer (NHWC) that trains on every backend, cpu and wasm giving the same
 * outputs and gradients. Forward and gradients use only the fast forward-convolution kernel
 * and `matMul` (see {@link conv2d}).
 *
 * **Input** `[batch, height, width, inChannels]`. **Output** `[batch, outH, outW, filters]`.
 * Weights: `kernel` `[kh, kw, inChannels, filters]` (PyTorch's `weight.permute(2, 3, 1, 0)`),
 * `bias` `[filters]`.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `filters` not a positive integer; `kernelSize` or `strides` not a positive integer or a
 *   list of 2 positive integers; `padding` not 'same' or 'valid'; `useBias` not a boolean; an
 *   unknown `kernelInitializer`; a `seed` that is not an integer. When applied: `padding` for a
 *   'valid' convolution whose kernel is larger than the input.
 * @throws {@link ShapeError} (argument `x`) when applied to an input that is not rank 4 or has no
 *   known channel dimension.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { conv2dLayer } from 'vdafm';
 *
 * const x = tfl.input({ shape: [64, 64, 2] });
 * const y = conv2dLayer({ filters: 16, kernelSize: 3, strides: 2 }).apply(x) as tfl.SymbolicTensor;
 * console.log(y.shape); // [null, 32, 32, 16]
 * ```
 */
export class Conv2D extends ConvBase {
  /** @internal */
  static className = 'VdafmConv2D';
  protected readonly spatialRank = 2 as const;
  constructor(args: ConvArgs) {
    super(args, 2);
  }
}

/**
 * 3D convolution layer (NDHWC) that trains on every backend, cpu and wasm giving the same
 * outputs and gradients. It is computed as a sum of 2D convolutions over depth taps (see
 * {@link conv3d}); it never calls the naive wasm `Conv3D` kernels.
 *
 * **Input** `[batch, depth, height, width, inChannels]`. **Output** `[batch, outD, outH, outW, filters]`.
 * Weights: `kernel` `[kd, kh, kw, inChannels, filters]` (PyTorch's `weight.permute(2, 3, 4, 1, 0)`),
 * `bias` `[filters]`.
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `filters` not a positive integer; `kernelSize` or `strides` not a positive integer or a
 *   list of 3 positive integers; `padding` not 'same' or 'valid'; `useBias` not a boolean; an
 *   unknown `kernelInitializer`; a `seed` that is not an integer. When applied: `padding` for a
 *   'valid' convolution whose kernel is larger than the input.
 * @throws {@link ShapeError} (argument `x`) when applied to an input that is not rank 5 or has no
 *   known channel dimension.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { conv3dLayer } from 'vdafm';
 *
 * const x = tfl.input({ shape: [16, 64, 64, 1] });
 * const y = conv3dLayer({ filters: 8, kernelSize: 3, strides: [1, 2, 2] }).apply(x) as tfl.SymbolicTensor;
 * console.log(y.shape); // [null, 16, 32, 32, 8]
 * ```
 */
export class Conv3D extends ConvBase {
  /** @internal */
  static className = 'VdafmConv3D';
  protected readonly spatialRank = 3 as const;
  constructor(args: ConvArgs) {
    super(args, 3);
  }
}

/**
 * Creates a {@link Conv2D} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link Conv2D} constructor, naming the argument
 *   (`args`, `filters`, `kernelSize`, `strides`, `padding`, `useBias`, `kernelInitializer`,
 *   `seed`).
 * @example
 * ```ts
 * const conv = conv2dLayer({ filters: 8, kernelSize: 3 });
 * ```
 */
export function conv2dLayer(args: ConvArgs): Conv2D {
  return new Conv2D(args);
}

/**
 * Creates a {@link Conv3D} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link Conv3D} constructor, naming the argument
 *   (`args`, `filters`, `kernelSize`, `strides`, `padding`, `useBias`, `kernelInitializer`,
 *   `seed`).
 * @example
 * ```ts
 * const conv = conv3dLayer({ filters: 8, kernelSize: 3 });
 * ```
 */
export function conv3dLayer(args: ConvArgs): Conv3D {
  return new Conv3D(args);
}
