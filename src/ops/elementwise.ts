/**
 * Token-level ops as single tape nodes with closed-form gradients: {@link readMask} (the mask
 * contract), {@link zeroPadded} and {@link maskedMean} (padding that never reaches an output or a
 * gradient), {@link dropout} with masks from a fast seeded generator, {@link residualAdd} and {@link maskTokens} (which keep nothing but the
 * mask for the backward pass), and the two ops the alignment losses use, {@link stopGradient} and
 * {@link l2Normalize}.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertMaskDtype, assertMaskValues, validateMasksEnabled } from '../core/validate.js';
import { ShapeError } from '../errors.js';
import { matMul } from './matmul.js';

type Grad = Parameters<typeof tf.customGrad>[0];

/**
 * Reads a mask the way every vdafm layer and loss reads one (the mask contract): a `bool`
 * tensor, or a `float32`/`int32` tensor of 0 (padding, or missing) and 1 (valid); a position is
 * valid where the mask is true or > 0.5. Returns the mask as float32 0/1, so that 2, 0.5 or −1
 * mean the same thing in every layer (valid, padding, padding). With {@link setValidateMasks}
 * on, values other than 0 and 1 are refused instead.
 *
 * @param mask - any shape.
 * @param argument - the mask's name in the caller's API (used in errors), e.g. `'textMask'`.
 * @returns float32 0/1 of `mask`'s shape; the caller owns it.
 * @throws {@link InvalidArgumentError} naming `argument` for a dtype other than bool, float32 and
 *   int32, or (with value checks on) a value other than 0 and 1.
 * @example
 * ```ts
 * readMask(tf.tensor2d([[1, 0.5, 2, -1]]), 'textMask'); // [[1, 0, 1, 0]]
 * ```
 */
export function readMask(mask: tf.Tensor, argument: string): tf.Tensor {
  assertMaskDtype(mask.dtype, mask.shape, argument);
  if (mask.dtype === 'bool') return tf.cast(mask, 'float32');
  if (validateMasksEnabled()) assertMaskValues(mask.dataSync() as ArrayLike<number>, mask.shape, argument);
  return tf.tidy(() => tf.cast(tf.greater(mask, 0.5), 'float32'));
}

function assertTokenMask(x: tf.Tensor, mask: tf.Tensor, xName: string, maskName: string): void {
  if (x.rank !== 3) {
    throw new ShapeError({ argument: xName, expected: '[batch, tokens, dim]', received: x.shape, message: `${xName} must have shape [batch, tokens, dim] (rank 3) when a ${maskName} is given.` });
  }
  if (mask.rank !== 2 || mask.shape[0] !== x.shape[0] || mask.shape[1] !== x.shape[1]) {
    throw new ShapeError({ argument: maskName, expected: `[${x.shape[0]}, ${x.shape[1]}]`, received: mask.shape, message: `${maskName} must have shape [batch, tokens] = [${x.shape[0]}, ${x.shape[1]}] (${xName}.shape=[${x.shape.join(',')}]).` });
  }
}

/**
 * Replaces the padded tokens of `x` by zeros by *selection*, so that NaN or ±Infinity in a padded
 * token reaches neither the output nor any gradient (a product `x · mask` would give 0 · NaN =
 * NaN, and a matrix product of `x` would spread it to every output and weight gradient). One tape
 * node: the gradient is `dy · mask`, exactly zero at padded tokens.
 *
 * @param x - `[batch, tokens, dim]` (or any `[..., dim]`).
 * @param mask - float32 0/1 of `x`'s shape without the last axis, as {@link readMask} returns it.
 * @returns a tensor of `x`'s shape; the caller owns it.
 * @internal
 */
export function zeroPadded(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.expandDims(mask.dtype === x.dtype ? mask : tf.cast(mask, x.dtype), -1);
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([m]);
      // The condition at x's full shape by a broadcast add (tf.where's own broadcasting tiles, about
      // ten times slower on wasm), and the Select kernel run directly (tf.where adds three copies).
      const zeros = tf.zerosLike(xx);
      const keep = tf.cast(tf.add(zeros, m), 'bool');
      const value = tf.engine().runKernel(tf.Select, { condition: keep, t: xx, e: zeros }) as tf.Tensor;
      return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
    }) as Grad) as (x: tf.Tensor) => tf.Tensor;
    return node(x);
  });
}

/**
 * Mean over the token axis of `x` counting only valid tokens (mask > 0.5, see {@link readMask}).
 * A row with no valid token gives zeros (never NaN), and padded values never change the output
 * or the gradient, even when they are NaN or infinite. The mask gets no gradient.
 *
 * @param x - `[batch, tokens, dim]` (with `mask` null, any rank ≥ 2: the mean over axis 1).
 * @param mask - `[batch, tokens]`, bool or 0/1, or null for all valid.
 * @returns `[batch, dim]`; the caller owns it.
 * @throws {@link ShapeError} naming `x` (not rank 3 with a mask) or `mask` (not `[batch, tokens]`).
 * @throws {@link InvalidArgumentError} naming `mask` for a dtype other than bool, float32 and int32
 *   (and, with {@link setValidateMasks} on, a value other than 0 and 1).
 * @example
 * ```ts
 * maskedMean(tf.tensor3d([[[1], [3], [NaN]]]), tf.tensor2d([[1, 1, 0]])); // [[2]]
 * ```
 */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor | null): tf.Tensor2D {
  if (!mask) return meanOfValid(x, null);
  assertTokenMask(x, mask, 'x', 'mask');
  return tf.tidy(() => {
    const m = readMask(mask, 'mask');
    return meanOfValid(zeroPadded(x, m), m);
  });
}

/**
 * {@link maskedMean} for tokens that are finite at padding (e.g. already zeroed) and a 0/1 float
 * mask (already read): one tape node, no selection, no mask reading.
 * @internal
 */
export function meanOfValid(x: tf.Tensor, mask: tf.Tensor | null): tf.Tensor2D {
  if (x.rank !== 3) return tf.tidy(() => tf.mean(x, 1) as tf.Tensor2D);
  return tf.tidy(() => {
    const [b, n, d] = x.shape as [number, number, number];
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      // weights[b, 1, n] = mask / max(count, 1): the mean is one batched product weights · x.
      // Built inside the node, so that none of these ops is recorded on the tape.
      let w: tf.Tensor;
      if (mask) {
        const m = mask.dtype === x.dtype ? mask : tf.cast(mask, x.dtype);
        w = tf.reshape(tf.div(m, tf.maximum(tf.sum(m, 1, true), 1)), [b, 1, n]);
      } else {
        w = tf.fill([b, 1, n], 1 / n);
      }
      save([w]);
      return {
        value: tf.reshape(b === 1 ? tf.matMul(tf.reshape(w, [1, n]), tf.reshape(xx, [n, d])) : matMul(w as tf.Tensor3D, xx as tf.Tensor3D), [b, d]),
        // dx[b, t, :] = w[b, t] · dy[b, :]
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.reshape(saved[0]!, [b, n, 1]), tf.reshape(dy, [b, 1, d])),
      };
    }) as Grad) as (x: tf.Tensor) => tf.Tensor;
    return node(x) as tf.Tensor2D;
  });
}

/**
 * A dropout mask `[...shape]` with values `1 / (1 − rate)` (kept) and 0 (dropped), drawn from
 * vdafm's seeded generator in JavaScript (tf.randomUniform draws through seedrandom, several
 * times slower). The same seed gives the same mask on every backend.
 * @internal
 */
export function dropoutMask(shape: number[], rate: number, seed: number | undefined): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  const keep = 1 - rate;
  const scale = 1 / keep;
  // xorshift32 seeded through a SplitMix32 scramble; each 32-bit draw gives two 16-bit uniforms
  // (keep probability resolved to 1/65536), branch-free: ~2.5 ns per element in V8.
  let z = (seed === undefined ? Math.floor(Math.random() * 4294967296) : Math.floor(seed) ^ 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  let s = (z ^ (z >>> 16)) | 0 || 0x6d2b79f5;
  const threshold = Math.round(keep * 65536);
  for (let i = 0; i < size; i += 2) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    values[i] = scale * (((s & 0xffff) - threshold) >>> 31);
    if (i + 1 < size) values[i + 1] = scale * (((s >>> 16) - threshold) >>> 31);
  }
  return tf.tensor(values, shape, 'float32');
}

/**
 * Dropout with inverted scaling, applied only when `rate > 0`: `x · mask` with the mask's kept
 * entries `1 / (1 − rate)`. `seed` makes the mask reproducible (the same on every backend); pass a
 * different seed per call. One tape node whose gradient is `dy · mask`.
 *
 * @param x - any shape.
 * @param rate - fraction dropped, in [0, 1).
 * @returns a tensor of `x`'s shape (`x` itself when `rate ≤ 0`).
 * @example
 * ```ts
 * const y = dropout(tf.ones([4, 4]), 0.5, 42); // zeros and 2s
 * ```
 */
export function dropout(x: tf.Tensor, rate: number, seed?: number): tf.Tensor {
  if (rate <= 0) return x;
  return tf.tidy(() => {
    const mask = dropoutMask(x.shape, rate, seed);
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([mask]);
      return { value: tf.mul(xx, mask), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
    }) as Grad) as (x: tf.Tensor) => tf.Tensor;
    return node(x);
  });
}

const residualAddNode = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b] = args as [tf.Tensor, tf.Tensor];
  // a reshape to the same shape shares dy's data (no copy), so each input gets its own tensor
  return { value: tf.add(a, b), gradFunc: (dy: tf.Tensor) => [dy, tf.reshape(dy, dy.shape)] };
}) as Grad) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * `a + b` for two tensors of the same shape (residual connections), as a tape node that keeps
 * nothing for the backward pass (stock Add keeps copies of both inputs to undo broadcasting).
 * Falls back to `tf.add` when the shapes differ.
 *
 * @returns a tensor of the common shape; the caller owns it.
 * @example
 * ```ts
 * residualAdd(tf.ones([2, 3]), tf.ones([2, 3])); // all 2
 * ```
 */
export function residualAdd(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.util.arraysEqual(a.shape, b.shape) ? residualAddNode(a, b) : tf.add(a, b);
}

/**
 * `tf.reshape` as a tape node that keeps nothing but the input's shape for the backward pass.
 * Stock `Reshape` saves its input to learn that shape, and tfjs saves by copying (an `Identity`
 * kernel: on wasm a full copy of the tensor per reshape in a train step); outside a gradient
 * computation the two are the same op.
 *
 * @param x - any tensor.
 * @param shape - the new shape (one entry may be −1).
 * @returns `x` viewed as `shape` (sharing its data); the caller owns it.
 * @example
 * ```ts
 * reshapeView(tf.ones([2, 3]), [3, 2]); // [[1, 1], [1, 1], [1, 1]]
 * ```
 */
export function reshapeView<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
  const from = x.shape;
  const node = tf.customGrad(((a: tf.Tensor) => ({ value: tf.reshape(a, shape), gradFunc: (dy: tf.Tensor) => tf.reshape(dy, from) })) as Grad);
  return node(x) as T;
}

/**
 * Multiplies token vectors by a per-token (or per-sample) 0/1 or weight mask: `x · mask[..., None]`,
 * with `x` `[batch, tokens, dim]` and `mask` `[batch, tokens]` or `[batch, 1]`. The mask is a
 * constant (no gradient); the tape node keeps only the mask (stock Multiply keeps `x` too).
 *
 * @returns `[batch, tokens, dim]`; the caller owns it.
 * @throws {@link ShapeError} naming `x` (not rank 3) or `mask` (not `[batch, tokens]` or
 *   `[batch, 1]`).
 * @example
 * ```ts
 * maskTokens(tf.ones([1, 2, 3]), tf.tensor2d([[1, 0]])); // [[[1, 1, 1], [0, 0, 0]]]
 * ```
 */
export function maskTokens(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  if (x.rank !== 3 || mask.rank !== 2 || mask.shape[0] !== x.shape[0] || (mask.shape[1] !== x.shape[1] && mask.shape[1] !== 1)) {
    if (x.rank !== 3) throw new ShapeError({ argument: 'x', expected: '[batch, tokens, dim]', received: x.shape });
    throw new ShapeError({ argument: 'mask', expected: `[${x.shape[0]}, ${x.shape[1]}] or [${x.shape[0]}, 1]`, received: mask.shape, message: `mask must have shape [batch, tokens] or [batch, 1] (x.shape=[${x.shape.join(',')}]).` });
  }
  return tf.tidy(() => {
    const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xx, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const m = tf.expandDims(mask.dtype === xx.dtype ? mask : tf.cast(mask, xx.dtype), -1);
      save([m]);
      return { value: tf.mul(xx, m), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
    }) as Grad) as (x: tf.Tensor) => tf.Tensor;
    return node(x);
  });
}

const stopGradientOp = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.add(x, 0), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/**
 * Identity in the forward pass, zero gradient in the backward pass (tfjs-core has no
 * `stopGradient`). Used to anchor alignment losses on the vision side.
 *
 * @returns a new tensor equal to `x`; the caller owns it.
 * @example
 * ```ts
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(stopGradient(x), x)))(tf.tensor1d([2, 3]));
 * g.print(); // [2, 3]: only the second factor is differentiated
 * ```
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

/**
 * L2-normalises along the last axis: `x / max(‖x‖, epsilon)`. A zero vector stays zero and
 * has a finite (zero) gradient.
 *
 * @example
 * ```ts
 * l2Normalize(tf.tensor2d([[3, 4]])); // [[0.6, 0.8]]
 * ```
 */
export function l2Normalize(x: tf.Tensor, epsilon = 1e-8): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), epsilon * epsilon))));
}
