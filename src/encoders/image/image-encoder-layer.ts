/**
 * `ImageEncoderLayer`: the image encoder as one serialisable tfjs layer, a residual CNN (2D over
 * NHWC slices-as-channels, or 3D over NDHWC volumes) that returns the visual token grid (the
 * flattened last feature map) and a pooled vector.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense } from '../../ops/dense.js';
import { assertRank, type Shape } from '../../core/validate.js';
import { ShapeError } from '../../errors.js';
import { asList, configFields, isTraining, layerBaseArgs, makeInitializer } from '../../layers/common.js';
import { conv2d, conv3d } from '../../ops/conv.js';
import { axisPadding } from '../../ops/conv-geometry.js';
import { batchNormTrain, groupNorm } from '../../ops/norm.js';
import { reshapeView, residualAdd } from '../../ops/elementwise.js';
import { type ImageEncoderOptions, resolveImageEncoderOptions, type ResolvedImageEncoderOptions } from './image-options.js';

/** Constructor arguments of {@link ImageEncoderLayer}. */
export interface ImageEncoderLayerArgs extends ImageEncoderOptions {
  /** Layer name. @defaultValue auto-generated */
  name?: string;
  /** Whether the weights are trainable. @defaultValue true */
  trainable?: boolean;
}

/** `[...spatial, dims]`: channel `a` holds the coordinate along spatial axis `a`, from −1 to 1 (voxel centres). */
function coordinateChannels(spatial: number[]): tf.Tensor {
  const size = spatial.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size * spatial.length);
  for (let v = 0; v < size; v++) {
    let rest = v;
    for (let a = spatial.length - 1; a >= 0; a--) {
      const n = spatial[a]!;
      values[v * spatial.length + a] = ((rest % n) + 0.5) / n * 2 - 1;
      rest = Math.floor(rest / n);
    }
  }
  return tf.tensor(values, [...spatial, spatial.length]);
}

/** One convolution followed by a normalisation. */
interface ConvNorm {
  kernel: tfl.LayerVariable;
  bias: tfl.LayerVariable | null;
  gamma: tfl.LayerVariable | null;
  beta: tfl.LayerVariable | null;
  movingMean: tfl.LayerVariable | null;
  movingVariance: tfl.LayerVariable | null;
  strides: number[];
  kernelSize: number;
}

interface Block {
  conv1: ConvNorm;
  conv2: ConvNorm;
  shortcut: ConvNorm | null;
}

/**
 * The image encoder as one tfjs layer (serialisable, registered as `VdafmImageEncoder`).
 * Usually made through {@link createImageEncoder}.
 *
 * Architecture: stem (conv k, `stemStride`) → norm → act, then for each stage `i` a
 * transition/residual blocks with `widths[i]` channels, the first one strided by `strides[i]`.
 * A basic residual block is `act(norm(conv(act(norm(conv(x))))) + shortcut(x))`, the shortcut
 * being a strided 1×1 conv + norm when the shape changes. A stage with depth 0 is a single
 * conv + norm + act transition. Optionally a linear projection to `outputDim`.
 *
 * **Input**: `[batch, height, width, channels]` (2D) or `[batch, depth, height, width, channels]`
 * (3D), known spatial sizes. **Outputs**: `[tokens, pooled]`, `tokens` `[batch, numTokens, dim]`
 * (the last feature map flattened row-major over (depth,) height, width) and `pooled`
 * `[batch, dim]` (mean of the tokens).
 *
 * With `norm: 'batch'`, calls with `training: true` use batch statistics and update the moving
 * statistics (non-trainable weights `*_moving_mean`, `*_moving_variance`, unbiased variance as
 * PyTorch); other calls use the moving statistics.
 *
 * @throws {@link InvalidArgumentError} from the constructor naming `args` (not an object) or the
 *   option {@link resolveImageEncoderOptions} refuses (`spatialDims`, `widths`, `depths`,
 *   `strides`, `stemStride`, `kernelSize`, `norm`, `groups`, `activation`, `outputDim`, `momentum`,
 *   `epsilon`, `kernelInitializer`, `seed`).
 * @throws {@link ShapeError} (argument `image`) when applied to an input whose rank is not
 *   `spatialDims + 2` or whose spatial sizes or channels are unknown.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { ImageEncoderLayer } from 'vdafm';
 *
 * const input = tfl.input({ shape: [64, 64, 2] });
 * const [tokens, pooled] = new ImageEncoderLayer({ widths: [16, 32], strides: [2, 2] }).apply(input) as tfl.SymbolicTensor[];
 * console.log(tokens.shape, pooled.shape); // [null, 256, 32] [null, 32]
 * ```
 */
export class ImageEncoderLayer extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmImageEncoder';
  readonly options: ResolvedImageEncoderOptions;
  private stem: ConvNorm | null = null;
  private stages: Block[][] = [];
  private transitions: Array<ConvNorm | null> = [];
  private projKernel: tfl.LayerVariable | null = null;
  private projBias: tfl.LayerVariable | null = null;
  private positions: tfl.LayerVariable | null = null;

  constructor(args: ImageEncoderLayerArgs = {}) {
    super(layerBaseArgs(args, 'ImageEncoderLayer'));
    const { name: _name, trainable: _trainable, ...options } = args;
    this.options = resolveImageEncoderOptions(options);
  }

  private get dims(): 2 | 3 {
    return this.options.spatialDims;
  }

  private stridesOf(s: number | number[]): number[] {
    return typeof s === 'number' ? Array.from({ length: this.dims }, () => s) : s;
  }

  private parseShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0]! : inputShape) as Shape;
    const expected = this.dims === 2 ? '[batch, height, width, channels]' : '[batch, depth, height, width, channels]';
    assertRank(s, this.dims + 2, 'image', expected);
    if (s.slice(1).some((d) => d == null || d < 1)) {
      throw new ShapeError({
        argument: 'image',
        expected: `${expected} with known spatial sizes and channels`,
        received: s,
        fix: 'Give the input layer a full shape, e.g. tfl.input({ shape: [128, 128, 2] }).',
      });
    }
    return s;
  }

  /** Spatial sizes of the last feature map for a given input spatial shape. */
  private outputSpatial(spatial: number[]): number[] {
    const o = this.options;
    const apply = (sizes: number[], k: number, strides: number[]) =>
      sizes.map((d, i) => axisPadding(d, k, strides[i]!, 'same').out);
    let sizes = apply(spatial, o.kernelSize, this.stridesOf(o.stemStride));
    o.strides.forEach((s) => {
      sizes = apply(sizes, o.kernelSize, this.stridesOf(s));
    });
    return sizes;
  }

  /**
   * Token count and width for an input shape.
   *
   * @throws {@link ShapeError} (argument `image`) as when the layer is applied to that shape.
   */
  tokenGrid(inputShape: Shape): { spatial: number[]; numTokens: number; dim: number } {
    const s = this.parseShape(inputShape);
    const spatial = this.outputSpatial(s.slice(1, this.dims + 1) as number[]);
    return {
      spatial,
      numTokens: spatial.reduce((a, b) => a * b, 1),
      dim: this.options.outputDim ?? this.options.widths[this.options.widths.length - 1]!,
    };
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.parseShape(inputShape);
    const o = this.options;
    let cin = s[this.dims + 1]! + (o.coordinates ? this.dims : 0);
    let index = 0;
    const addConvNorm = (prefix: string, ci: number, co: number, k: number, strides: number[]): ConvNorm => {
      const kernel = this.addWeight(
        `${prefix}_kernel`,
        [...Array.from({ length: this.dims }, () => k), ci, co],
        'float32',
        makeInitializer(o.kernelInitializer, o.seed, index++),
        undefined,
        true,
      );
      const zeros = makeInitializer('zeros', undefined, 0);
      const ones = tfl.initializers.ones();
      const hasNorm = o.norm !== 'none';
      return {
        kernel,
        bias: hasNorm ? null : this.addWeight(`${prefix}_bias`, [co], 'float32', zeros, undefined, true),
        gamma: hasNorm ? this.addWeight(`${prefix}_gamma`, [co], 'float32', ones, undefined, true) : null,
        beta: hasNorm ? this.addWeight(`${prefix}_beta`, [co], 'float32', zeros, undefined, true) : null,
        movingMean: o.norm === 'batch' ? this.addWeight(`${prefix}_moving_mean`, [co], 'float32', zeros, undefined, false) : null,
        movingVariance: o.norm === 'batch' ? this.addWeight(`${prefix}_moving_variance`, [co], 'float32', ones, undefined, false) : null,
        strides,
        kernelSize: k,
      };
    };
    const one = this.stridesOf(1);
    this.stem = addConvNorm('stem', cin, o.widths[0]!, o.kernelSize, this.stridesOf(o.stemStride));
    cin = o.widths[0]!;
    this.stages = [];
    this.transitions = [];
    o.widths.forEach((w, i) => {
      const strides = this.stridesOf(o.strides[i]!);
      const blocks: Block[] = [];
      if (o.depths[i] === 0) {
        this.transitions.push(addConvNorm(`stage${i}_transition`, cin, w, o.kernelSize, strides));
      } else {
        this.transitions.push(null);
        for (let b = 0; b < o.depths[i]!; b++) {
          const st = b === 0 ? strides : one;
          const needsShortcut = st.some((v) => v !== 1) || cin !== w;
          blocks.push({
            conv1: addConvNorm(`stage${i}_block${b}_conv1`, cin, w, o.kernelSize, st),
            conv2: addConvNorm(`stage${i}_block${b}_conv2`, w, w, o.kernelSize, one),
            shortcut: needsShortcut ? addConvNorm(`stage${i}_block${b}_shortcut`, cin, w, 1, st) : null,
          });
          cin = w;
        }
      }
      cin = w;
      this.stages.push(blocks);
    });
    if (o.outputDim !== undefined) {
      this.projKernel = this.addWeight('proj_kernel', [cin, o.outputDim], 'float32', makeInitializer('glorotUniform', o.seed, index++), undefined, true);
      this.projBias = this.addWeight('proj_bias', [o.outputDim], 'float32', makeInitializer('zeros', undefined, 0), undefined, true);
    }
    if (o.tokenPositions) {
      const { numTokens, dim } = this.tokenGrid(s);
      this.positions = this.addWeight('token_positions', [numTokens, dim], 'float32', makeInitializer('truncatedNormal', o.seed, index++), undefined, true);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const s = this.parseShape(inputShape);
    const { numTokens, dim } = this.tokenGrid(s);
    return [
      [s[0] ?? null, numTokens, dim],
      [s[0] ?? null, dim],
    ];
  }

  private activate(x: tf.Tensor): tf.Tensor {
    switch (this.options.activation) {
      case 'relu':
        return tf.relu(x);
      case 'gelu':
        return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
      case 'silu':
        return tf.mul(x, tf.sigmoid(x));
      case 'elu':
        return tf.elu(x);
    }
  }

  /**
   * The convolution output normalised; with `relu`, followed by ReLU (fused into the training-mode
   * batch norm and the group norms, which recompute its mask in their backward pass).
   */
  private normalise(y: tf.Tensor, cn: ConvNorm, training: boolean, relu = false): tf.Tensor {
    const o = this.options;
    const c = y.shape[y.rank - 1]!;
    const n = y.shape[0]!;
    if (o.norm === 'none') return relu ? tf.relu(y) : y;
    const gamma = cn.gamma!.read() as tf.Tensor1D;
    const beta = cn.beta!.read() as tf.Tensor1D;
    if (o.norm === 'batch') {
      if (training) {
        const mm = cn.movingMean!;
        const mv = cn.movingVariance!;
        const rows = y.size / c;
        const flat = batchNormTrain(reshapeView(y, [-1, c]), gamma, beta, o.epsilon, (mean, variance) => {
          tf.tidy(() => {
            const unbiased = tf.mul(variance, rows / Math.max(rows - 1, 1));
            mm.write(tf.add(tf.mul(mm.read(), o.momentum), tf.mul(mean, 1 - o.momentum)));
            mv.write(tf.add(tf.mul(mv.read(), o.momentum), tf.mul(unbiased, 1 - o.momentum)));
          });
        }, relu);
        return reshapeView(flat, y.shape);
      }
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(cn.movingVariance!.read(), o.epsilon)));
      const shift = tf.sub(beta, tf.mul(cn.movingMean!.read(), scale));
      const out = tf.add(tf.mul(y, scale), shift);
      return relu ? tf.relu(out) : out;
    }
    const groups = o.norm === 'layer' ? 1 : o.groups;
    return reshapeView(groupNorm(reshapeView(y, [n, -1, c]), gamma, beta, groups, o.epsilon, relu), y.shape);
  }

  /** act(norm(conv(x))), the norm and a ReLU fused where they can be. */
  private convNormAct(x: tf.Tensor, cn: ConvNorm, training: boolean): tf.Tensor {
    if (this.options.activation !== 'relu') return this.activate(this.convNorm(x, cn, training));
    return this.normalise(this.conv(x, cn), cn, training, true);
  }

  private conv(x: tf.Tensor, cn: ConvNorm): tf.Tensor {
    const options = { strides: cn.strides, padding: 'same' as const, bias: cn.bias ? (cn.bias.read() as tf.Tensor1D) : null };
    return this.dims === 2
      ? conv2d(x as tf.Tensor4D, cn.kernel.read() as tf.Tensor4D, options)
      : conv3d(x as tf.Tensor5D, cn.kernel.read() as tf.Tensor5D, options);
  }

  private convNorm(x: tf.Tensor, cn: ConvNorm, training: boolean): tf.Tensor {
    return this.normalise(this.conv(x, cn), cn, training);
  }

  /** The input after the per-patient intensity normalisation and with the coordinate channels. */
  private prepareInput(x: tf.Tensor): tf.Tensor {
    const o = this.options;
    const axes = Array.from({ length: this.dims }, (_, i) => i + 1);
    let h = x;
    if (o.intensityNorm === 'mean') {
      h = tf.div(x, tf.add(tf.mean(tf.abs(x), axes, true), 1e-6));
    } else if (o.intensityNorm === 'zscore') {
      const { mean, variance } = tf.moments(x, axes, true);
      h = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-6)));
    }
    if (!o.coordinates) return h;
    const spatial = x.shape.slice(1, this.dims + 1);
    const grid = tf.tile(tf.expandDims(coordinateChannels(spatial), 0), [x.shape[0]!, ...spatial.map(() => 1), 1]);
    return tf.concat([h, grid], this.dims + 1);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor[] {
    return tf.tidy(() => {
      const x = asList(inputs)[0]!;
      this.parseShape(x.shape);
      const training = isTraining(kwargs);
      let h = this.convNormAct(this.prepareInput(x), this.stem!, training);
      this.stages.forEach((blocks, i) => {
        const transition = this.transitions[i];
        if (transition) h = this.convNormAct(h, transition, training);
        for (const block of blocks) {
          const main = this.convNorm(this.convNormAct(h, block.conv1, training), block.conv2, training);
          const skip = block.shortcut ? this.convNorm(h, block.shortcut, training) : h;
          h = this.activate(residualAdd(main, skip));
        }
      });
      const n = h.shape[0]!;
      const c = h.shape[h.rank - 1]!;
      let tokens: tf.Tensor = tf.reshape(h, [n, -1, c]);
      if (this.projKernel) tokens = dense(tokens, this.projKernel.read(), this.projBias!.read());
      if (this.positions) tokens = tf.add(tokens, this.positions.read());
      const pooled = tf.mean(tokens, 1);
      return [tokens, pooled];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const o = this.options;
    const config: tf.serialization.ConfigDict = {
      spatialDims: o.spatialDims,
      widths: [...o.widths],
      depths: [...o.depths],
      strides: o.strides.map((s) => (typeof s === 'number' ? s : [...s])),
      stemStride: typeof o.stemStride === 'number' ? o.stemStride : [...o.stemStride],
      kernelSize: o.kernelSize,
      norm: o.norm,
      groups: o.groups,
      activation: o.activation,
      momentum: o.momentum,
      epsilon: o.epsilon,
      kernelInitializer: o.kernelInitializer,
      intensityNorm: o.intensityNorm,
      coordinates: o.coordinates,
      tokenPositions: o.tokenPositions,
    };
    return { ...super.getConfig(), ...configFields(config, { outputDim: o.outputDim, seed: o.seed }) };
  }
}
