/**
 * Differentiable 2D and 3D convolutions whose forward pass *and* gradients run on fast kernels
 * on every backend.
 *
 * Why: tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` kernel (a stock `conv2d` cannot train
 * there), its `Conv2DBackpropInput` is a naive loop (~10× slower than the forward conv), its
 * `Conv3D` forward is naive (~0.3 GFLOP/s) and its `Conv3DBackpropInputV2` is wrong with 'same'
 * padding.
 *
 * On 'wasm' with vdafm's kernels active (the default; `conv-gradients.ts`), every 2D and 3D
 * convolution is a product on vdafm's GEMM: forward `im2col(x) · w` (gathered one L2-sized block
 * of patch rows at a time, or read in place at thin channel counts), input gradient
 * `col2im(dy · wᵀ)`, filter gradient `im2col(x)ᵀ · dy` (src/kernels/conv.ts, one `VdafmConvGemm`
 * kernel per product: the GEMM has relaxed SIMD and, with the Node thread pool, runs the whole
 * product on every core without copying the patches;
 * XNNPACK's convolution has neither, and the filter gradient as a convolution ran at half
 * XNNPACK's forward rate).
 * Elsewhere (cpu, webgl, webgpu, or the fast kernels off), the ops use only the backend's 2D
 * forward convolution kernel:
 *
 * - forward: `tf.conv2d` with explicit (TensorFlow 'same'-style) padding;
 * - input gradient: stride 1, a 'full' forward convolution of the output gradient with the
 *   flipped, in/out-swapped filter; stride > 1, a sub-pixel (phase) decomposition: one stride-1
 *   convolution per stride phase with that phase's sub-filter, interleaved back by a
 *   reshape/transpose (exactly the forward work, instead of 4× for a zero-dilated gradient);
 * - filter gradient: ONE forward convolution of the transposed input `[cin, H, W, batch]` with
 *   the transposed output gradient `[outH, outW, batch, cout]` as the filter (dilated by the
 *   stride): the batch is the reduction channel axis and the output is `[cin, kh, kw, cout]`;
 * - bias gradient: a batched `matMul` of rows of ones with row blocks of the output gradient.
 *
 * The op is split into two custom-gradient nodes so that tfjs's tape skips the input gradient
 * when the input does not depend on a trained variable (the image fed to the first layer),
 * as PyTorch does for inputs without `requires_grad`.
 *
 * A 3D convolution is the sum over depth taps of 2D convolutions of depth slices (reshaped to
 * rank ≤ 4, because rank-5 slices are ~100× slower on wasm), with the gradients above per tap;
 * the taps, slices and sum live inside the same two custom-gradient nodes (nothing per tap is
 * taped or saved). The same formulation runs on every backend, so cpu and wasm agree to
 * float32 round-off.
 *
 * The gradients live in `conv-gradients.ts`, the padding rule in `conv-geometry.ts`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { convGemm, type Im2ColGeometry } from '../kernels/conv.js';
import { fastSlice } from './slice.js';
import { reshapeView } from './elementwise.js';
import { axisPadding, type ConvPadding, forwardPad, geometry2d } from './conv-geometry.js';
import { conv2dFilterGrad, conv2dForward, conv2dInputGrad, filterAndBiasNode, gemmConvolutions, type Grad, sumToChannels } from './conv-gradients.js';

/**
 * The differentiable 2D convolution, as two custom-gradient nodes so that tfjs's tape prunes
 * the gradient nobody needs: node A (`x → conv(x, w)`, `w` captured) yields only the input
 * gradient and is skipped when `x` does not depend on a trained variable (e.g. the image fed to
 * the first layer); node B (`(A, w, bias) → A + bias`, `x` captured) passes `dy` through and
 * yields the filter and bias gradients.
 */
function conv2dCore(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor1D | null, strides: [number, number], padding: ConvPadding): tf.Tensor4D {
  const g = geometry2d(x.shape, w.shape[0], w.shape[1], strides, padding);
  const [kh, kw] = w.shape;
  const xShape = x.shape;
  const nodeA = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([w]);
    return {
      value: conv2dForward(xx, w, g),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => conv2dInputGrad(dy as tf.Tensor4D, saved[0] as tf.Tensor4D, xShape, g),
    };
  }) as Grad) as (x: tf.Tensor) => tf.Tensor4D;
  return filterAndBiasNode(nodeA(x), x, w, bias, (sx, d) => conv2dFilterGrad(sx as tf.Tensor4D, d, kh, kw, g));
}

function checkStrides(strides: number | number[], n: number): number[] {
  const list = typeof strides === 'number' ? Array.from({ length: n }, () => strides) : strides;
  if (list.length !== n || list.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new InvalidArgumentError({
      argument: 'strides',
      message: `strides must be a positive integer or a list of ${n} positive integers.`,
      received: strides,
    });
  }
  return list;
}

function checkPadding(padding: unknown): ConvPadding {
  if (padding !== 'same' && padding !== 'valid') {
    throw new InvalidArgumentError({ argument: 'padding', message: "padding must be 'same' or 'valid'.", received: padding });
  }
  return padding;
}

/** Options of {@link conv2d} and {@link conv3d}. */
export interface ConvOptions {
  /** Stride per spatial axis (one number for all). @defaultValue 1 */
  strides?: number | number[];
  /** 'same' (TensorFlow rule) or 'valid'. @defaultValue 'same' */
  padding?: ConvPadding;
  /** Bias `[outChannels]` added to the output, or null. @defaultValue null */
  bias?: tf.Tensor1D | null;
}

/**
 * 2D convolution (cross-correlation, as `tf.conv2d` and PyTorch `F.conv2d`) that trains fast on
 * every backend: the input, filter and bias gradients are all expressed as forward convolutions
 * or a `matMul` (see the module notes). Differentiable with `tf.grad`/`optimizer.minimize`.
 *
 * @param x - `[batch, height, width, inChannels]` (NHWC).
 * @param filter - `[kernelH, kernelW, inChannels, outChannels]`.
 * @returns `[batch, outH, outW, outChannels]` with `out = ceil(in / stride)` ('same') or
 *   `floor((in − kernel) / stride) + 1` ('valid'); the caller owns it.
 * @throws {@link ShapeError} when ranks or channel counts disagree.
 * @throws {@link InvalidArgumentError} for bad strides or padding.
 * @example
 * ```ts
 * const y = conv2d(tf.ones([1, 5, 5, 1]), tf.ones([3, 3, 1, 2]), { strides: 2 }); // [1, 3, 3, 2]
 * ```
 */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, options: ConvOptions = {}): tf.Tensor4D {
  const strides = checkStrides(options.strides ?? 1, 2) as [number, number];
  const padding = checkPadding(options.padding ?? 'same');
  if (x.rank !== 4) throw new ShapeError({ argument: 'x', expected: '[batch, height, width, inChannels]', received: x.shape });
  if (filter.rank !== 4 || filter.shape[2] !== x.shape[3]) {
    throw new ShapeError({ argument: 'filter', expected: `[kernelH, kernelW, ${x.shape[3]}, outChannels]`, received: filter.shape });
  }
  const bias = options.bias ?? null;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== filter.shape[3])) {
    throw new ShapeError({ argument: 'bias', expected: `[${filter.shape[3]}]`, received: bias.shape });
  }
  // Validate sizes eagerly (throws for a 'valid' kernel larger than the input).
  axisPadding(x.shape[1], filter.shape[0], strides[0], padding);
  axisPadding(x.shape[2], filter.shape[1], strides[1], padding);
  return tf.tidy(() => conv2dCore(x, filter, bias, strides, padding));
}

/**
 * 3D convolution (cross-correlation, as `tf.conv3d` and PyTorch `F.conv3d`) computed as the
 * sum over depth taps of {@link conv2d}s of depth slices, so that it runs — forward and
 * backward — on the fast 2D kernel on every backend. All slicing is done at rank ≤ 4.
 *
 * @param x - `[batch, depth, height, width, inChannels]` (NDHWC).
 * @param filter - `[kernelD, kernelH, kernelW, inChannels, outChannels]`.
 * @returns `[batch, outD, outH, outW, outChannels]`; the caller owns it.
 * @throws {@link ShapeError} when ranks or channel counts disagree.
 * @throws {@link InvalidArgumentError} for bad strides or padding.
 * @example
 * ```ts
 * const y = conv3d(tf.ones([1, 4, 5, 5, 1]), tf.ones([3, 3, 3, 1, 2]), { strides: [1, 2, 2] }); // [1, 4, 3, 3, 2]
 * ```
 */
export function conv3d(x: tf.Tensor5D, filter: tf.Tensor5D, options: ConvOptions = {}): tf.Tensor5D {
  const [sd, sh, sw] = checkStrides(options.strides ?? 1, 3) as [number, number, number];
  const padding = checkPadding(options.padding ?? 'same');
  if (x.rank !== 5) throw new ShapeError({ argument: 'x', expected: '[batch, depth, height, width, inChannels]', received: x.shape });
  if (filter.rank !== 5 || filter.shape[3] !== x.shape[4]) {
    throw new ShapeError({
      argument: 'filter',
      expected: `[kernelD, kernelH, kernelW, ${x.shape[4]}, outChannels]`,
      received: filter.shape,
    });
  }
  const bias = options.bias ?? null;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== filter.shape[4])) {
    throw new ShapeError({ argument: 'bias', expected: `[${filter.shape[4]}]`, received: bias.shape });
  }
  // validates the geometry (throws for a kernel larger than a 'valid' input)
  const [, d, h, w] = x.shape;
  const [kd, kh, kw] = filter.shape;
  axisPadding(d, kd, sd, padding);
  axisPadding(h, kh, sh, padding);
  axisPadding(w, kw, sw, padding);
  return tf.tidy(() => conv3dCore(x, filter, bias, [sd, sh, sw], padding));
}

/** Splits `[kd, kh, kw, c, co]` into its `kd` depth taps `[kh, kw, c, co]` (rank-2 slices). */
function depthTaps(w: tf.Tensor5D): tf.Tensor4D[] {
  const [kd, kh, kw, c, co] = w.shape;
  const flat = tf.reshape(w, [kd, kh * kw * c * co]);
  return Array.from({ length: kd }, (_, t) => tf.reshape(fastSlice(flat, [t, 0], [1, flat.shape[1]!]), [kh, kw, c, co]) as tf.Tensor4D);
}

/**
 * The differentiable 3D convolution as two custom-gradient nodes (as {@link conv2dCore}): node A
 * (`x → Σ_t conv2d(slab_t(x), w_t)`) yields the input gradient, node B (`(A, w, bias) → A + bias`)
 * the filter and bias gradients. The depth taps, their slices and their sum are inside the
 * nodes (not taped: no per-tap saved copies, no slice/addN gradients). With vdafm's kernels on
 * wasm the forward pass and both gradients are one product each over the volume's patches
 * (`im2col(x) · w`, `col2im(dy · wᵀ)`, `im2col(x)ᵀ · dy`) instead of per-tap 2D convolutions.
 *
 * Depth taps: the depth axis is padded/cropped to `sd·(outD + ⌊(kd−1)/sd⌋)` rows and viewed as
 * `[n, groups, sd, h·w·c]`; tap `t` is the rank-4 slice `[:, t div sd : + outD, t mod sd, :]`,
 * a batch of `n·outD` 2D images `[h, w, c]`.
 */
function conv3dCore(x: tf.Tensor5D, w: tf.Tensor5D, bias: tf.Tensor1D | null, strides: [number, number, number], padding: ConvPadding): tf.Tensor5D {
  const [n, d, h, wd, c] = x.shape;
  const [kd, kh, kw, , co] = w.shape;
  const [sd, sh, sw] = strides;
  const pd = axisPadding(d, kd, sd, padding);
  const g = geometry2d([n * pd.out, h, wd, c], kh, kw, [sh, sw], padding);
  const pad2 = forwardPad(g);
  // with vdafm's kernels the forward pass and the gradients are one GEMM each over the volume's patches (3D im2col)
  const gemm = gemmConvolutions();
  const g3: Im2ColGeometry = { kd, kh, kw, sd, sh, sw, pf: pd.before, pt: g.ph.before, pl: g.pw.before, dout: pd.out, ho: g.ph.out, wo: g.pw.out };
  const rows = n * pd.out * g.ph.out * g.pw.out;
  const w2 = (ww: tf.Tensor) => tf.reshape(ww, [kd * kh * kw * c, co]) as tf.Tensor2D;
  const dy2 = (dy: tf.Tensor) => tf.reshape(dy, [rows, co]) as tf.Tensor2D;
  const xShape = x.shape;
  const hwc = h * wd * c;
  const groups = pd.out + Math.floor((kd - 1) / sd);
  const span = sd * groups;
  const after = span - d - pd.before;
  const slabShape: [number, number, number, number] = [n * pd.out, h, wd, c];
  /** The `kd` depth slabs of `xx`, each `[n·outD, h, w, c]`. */
  const slabs = (xx: tf.Tensor): tf.Tensor4D[] => {
    let x3 = tf.reshape(xx, [n, d, hwc]) as tf.Tensor3D;
    if (after < 0) x3 = fastSlice(x3, [0, 0, 0], [n, d + after, hwc]);
    if (pd.before > 0 || after > 0) x3 = tf.pad(x3, [[0, 0], [pd.before, Math.max(0, after)], [0, 0]]);
    const grouped = tf.reshape(x3, [n, groups, sd, hwc]);
    return Array.from({ length: kd }, (_, t) => {
      const slab = sd === 1 && kd === 1 && groups === pd.out ? grouped : fastSlice(grouped, [0, Math.floor(t / sd), t % sd, 0], [n, pd.out, 1, hwc]);
      return tf.reshape(slab, slabShape) as tf.Tensor4D;
    });
  };
  /** Adjoint of {@link slabs}: per-tap gradients `[n·outD, h, w, c]` → the gradient of `x`. */
  const unslab = (parts: tf.Tensor[]): tf.Tensor5D => {
    const placed = parts.map((p, t) => {
      const q = Math.floor(t / sd);
      const r = t % sd;
      const p4 = tf.reshape(p, [n, pd.out, 1, hwc]);
      if (q === 0 && r === 0 && groups === pd.out && sd === 1) return p4;
      return tf.pad(p4, [[0, 0], [q, groups - pd.out - q], [r, sd - 1 - r], [0, 0]]);
    });
    let g3 = tf.reshape(placed.length === 1 ? placed[0]! : tf.addN(placed), [n, span, hwc]) as tf.Tensor3D;
    const kept = d + Math.min(0, after);
    if (pd.before > 0 || after > 0) g3 = fastSlice(g3, [0, pd.before, 0], [n, kept, hwc]);
    if (after < 0) g3 = tf.pad(g3, [[0, 0], [0, -after], [0, 0]]);
    return tf.reshape(g3, [n, d, h, wd, c]) as tf.Tensor5D;
  };
  const nodeA = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xx, save] = args as [tf.Tensor5D, tf.GradSaveFunc];
    save([w]);
    // with vdafm's kernels one GEMM over the volume's patches, gathered one L2-sized block at a
    // time (a whole-volume im2col was ~1.3× slower than XNNPACK's 2D convolutions of the depth
    // slices at thin channel counts; blocked it is ~3 % faster, and it threads); else the slices
    const wt = gemm ? [] : depthTaps(w);
    const ys = gemm
      ? [tf.reshape(convGemm('forward', xx, w2(w), g3, xShape)!, [n * pd.out, g.ph.out, g.pw.out, co])]
      : slabs(xx).map((slab, t) => tf.conv2d(slab, wt[t]!, [sh, sw], pad2));
    return {
      value: ys.length === 1 ? ys[0]! : tf.addN(ys), // [n·outD, outH, outW, co]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        if (gemm) return convGemm('input', dy2(dy), w2(saved[0]!), g3, xShape) as tf.Tensor5D;
        const taps = depthTaps(saved[0] as tf.Tensor5D);
        return unslab(taps.map((wt2) => conv2dInputGrad(dy as tf.Tensor4D, wt2, slabShape, g)));
      },
    };
  }) as Grad) as (x: tf.Tensor) => tf.Tensor4D;
  const y = filterAndBiasNode(nodeA(x), x, w, bias, (sx, d4) => {
    if (gemm) return tf.reshape(convGemm('filter', sx, dy2(d4), g3, xShape)!, [kd, kh, kw, c, co]);
    const dyT = kh === 1 && kw === 1 ? undefined : (tf.transpose(d4, [1, 2, 0, 3]) as tf.Tensor4D);
    const dw = slabs(sx).map((slab) => conv2dFilterGrad(slab, d4, kh, kw, g, dyT));
    return tf.reshape(dw.length === 1 ? dw[0]! : tf.stack(dw), [kd, kh, kw, c, co]);
  });
  const [, ho, wo] = y.shape;
  return reshapeView(y, [n, pd.out, ho, wo, co]);
}

const biasAddFast = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, b] = args as [tf.Tensor2D, tf.Tensor1D];
  return {
    value: tf.add(x, b),
    gradFunc: (dy: tf.Tensor) => [dy, sumToChannels(dy)],
  };
}) as Grad) as (x: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Adds a per-channel bias to `x` `[..., c]`; its gradient sums over the leading axes with a
 * `matMul` (fast on every backend) instead of a reduction over non-last axes.
 *
 * @returns same shape as `x`; the caller owns it.
 * @example
 * ```ts
 * biasAdd(tf.zeros([2, 3]), tf.tensor1d([1, 2, 3])); // [[1, 2, 3], [1, 2, 3]]
 * ```
 */
export function biasAdd<T extends tf.Tensor>(x: T, bias: tf.Tensor1D): T {
  return biasAddFast(x, bias) as T;
}
