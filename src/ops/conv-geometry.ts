/**
 * Convolution geometry: TensorFlow's 'same'/'valid' padding rule per axis and the explicit
 * padding it gives a rank-4 convolution, shared by the convolution ops (`conv.ts`) and their
 * gradients (`conv-gradients.ts`).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/** Padding mode: TensorFlow's 'same' (output size `ceil(in / stride)`, extra pad at the end) or 'valid'. */
export type ConvPadding = 'same' | 'valid';

/** Padding of one spatial axis: output size and zeros added before/after the input. */
export interface AxisPadding {
  /** Output size along the axis. */
  out: number;
  /** Zeros added before the input. */
  before: number;
  /** Zeros added after the input (0 for 'valid'; trailing input rows may be unused). */
  after: number;
}

/**
 * Output size and padding of one axis, with TensorFlow's rule for 'same' (total padding
 * `max((out − 1)·stride + kernel − size, 0)`, the odd zero going after).
 *
 * @throws {@link InvalidArgumentError} when a 'valid' convolution's kernel is larger than the input.
 * @example
 * ```ts
 * axisPadding(5, 3, 2, 'same'); // { out: 3, before: 1, after: 1 }
 * ```
 */
export function axisPadding(size: number, kernel: number, stride: number, padding: ConvPadding): AxisPadding {
  if (padding === 'same') {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + kernel - size, 0);
    const before = Math.floor(total / 2);
    return { out, before, after: total - before };
  }
  if (size < kernel) {
    throw new InvalidArgumentError({
      argument: 'padding',
      message: `A 'valid' convolution needs every spatial size ≥ the kernel size (${kernel}).`,
      received: `size ${size}`,
      fix: "Use padding 'same' or a larger input.",
    });
  }
  return { out: Math.floor((size - kernel) / stride) + 1, before: 0, after: 0 };
}

/** Explicit `tf.conv2d` padding of a rank-4 (NHWC) input. @internal */
export type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Strides and per-axis padding of a 2D convolution. @internal */
export interface Conv2DGeometry {
  sh: number;
  sw: number;
  ph: AxisPadding;
  pw: AxisPadding;
}

/** The {@link Conv2DGeometry} of an input shape `[n, h, w, c]`, a kernel size and strides. @internal */
export function geometry2d(xShape: number[], kh: number, kw: number, strides: [number, number], padding: ConvPadding): Conv2DGeometry {
  return {
    sh: strides[0],
    sw: strides[1],
    ph: axisPadding(xShape[1]!, kh, strides[0], padding),
    pw: axisPadding(xShape[2]!, kw, strides[1], padding),
  };
}

/** The forward convolution's explicit padding: `before`/`after` of the height and width axes. @internal */
export function forwardPad(g: Conv2DGeometry): Pad4 {
  return [
    [0, 0],
    [g.ph.before, g.ph.after],
    [g.pw.before, g.pw.after],
    [0, 0],
  ];
}
