/**
 * The forward pass and gradients of a 2D convolution. On 'wasm' with vdafm's kernels, each is one
 * product on vdafm's GEMM around the im2col / col2im kernels ({@link conv2dForward},
 * {@link conv2dInputGrad}, {@link conv2dFilterGrad}). Elsewhere each is one forward convolution
 * or a `matMul` (see the notes of `conv.ts`): the input gradient (stride 1: a 'full' correlation with the flipped filter;
 * stride > 1: one stride-1 correlation per stride phase), the filter gradient (one convolution
 * with the batch as the reduction channels; 1×1 kernels as a `matMul`), the bias gradient, and
 * the custom-gradient node that yields the filter and bias gradients.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { convGemm, type Im2ColGeometry } from '../kernels/conv.js';
import { fastKernelsActive } from '../kernels/module.js';
import { columnSums, fastMatMul } from './matmul.js';
import { fastSlice } from './slice.js';
import { type Conv2DGeometry, forwardPad, type Pad4 } from './conv-geometry.js';

let gemmConvEnabled = true;

/**
 * Turns the GEMM formulation of the convolutions (im2col/col2im + vdafm's GEMM, on 'wasm' with
 * the fast kernels active) on or off; off, they run on the backend's convolution kernel as on
 * every other backend. For benchmarks and tests; read at call time.
 * @internal
 */
export function setGemmConvolutions(on: boolean): void {
  gemmConvEnabled = on;
}

/** Whether the convolutions run as im2col/col2im + GEMM now (see {@link setGemmConvolutions}). @internal */
export function gemmConvolutions(): boolean {
  return gemmConvEnabled && fastKernelsActive();
}

function im2colGeometry(kh: number, kw: number, g: Conv2DGeometry): Im2ColGeometry {
  return { kh, kw, sh: g.sh, sw: g.sw, pt: g.ph.before, pl: g.pw.before, ho: g.ph.out, wo: g.pw.out };
}

/** Whether each output pixel reads exactly its own input pixel (1×1, stride 1, no padding): im2col is then a reshape. */
function pointwise(kh: number, kw: number, g: Conv2DGeometry, h: number, w: number): boolean {
  return kh === 1 && kw === 1 && g.sh === 1 && g.sw === 1 && g.ph.out === h && g.pw.out === w;
}

/**
 * The forward 2D convolution of `x` `[n, h, w, cin]` with `w` `[kh, kw, cin, cout]` (no bias):
 * with the fast kernels on 'wasm', `im2col(x) · w` on vdafm's GEMM; elsewhere `tf.conv2d`.
 * @internal
 */
export function conv2dForward(x: tf.Tensor4D, w: tf.Tensor4D, g: Conv2DGeometry): tf.Tensor4D {
  const [kh, kw, cin, cout] = w.shape;
  if (!gemmConvolutions()) return tf.conv2d(x, w, [g.sh, g.sw], forwardPad(g));
  const [n, h, wd] = x.shape;
  const w2 = tf.reshape(w, [kh * kw * cin, cout]) as tf.Tensor2D;
  // one im2col(x)·w product (in the thread pool's memory when there is one); 1×1 stride 1: x·w
  const y = pointwise(kh, kw, g, h, wd) ? fastMatMul(tf.reshape(x, [n * h * wd, cin]) as tf.Tensor2D, w2) : convGemm('forward', x, w2, im2colGeometry(kh, kw, g), x.shape)!;
  return tf.reshape(y, [n, g.ph.out, g.pw.out, cout]);
}

/** `x[:, top : top + h, left : left + w, :]` of a rank-4 tensor. */
function crop4(x: tf.Tensor4D, top: number, left: number, h: number, w: number): tf.Tensor4D {
  return fastSlice(x, [0, top, left, 0], [x.shape[0], h, w, x.shape[3]]);
}

/**
 * `x[:, start : start + stride·count : stride, :]` along axis 1 of a rank-3 tensor, with zeros
 * past the end: a contiguous slice (zero-padded at the end when short), then for stride > 1 a
 * reshape to `[outer, count, stride, inner]` and a rank-4 slice (rank ≤ 4 slices only: rank 5 is
 * ~100× slower on wasm; `tf.gather` is slower still, ~30 ns per element).
 */
function stridedRows(x: tf.Tensor3D, start: number, count: number, stride: number): tf.Tensor3D {
  const [outer, dim, inner] = x.shape;
  const have = Math.min(dim - start, stride * count);
  let y: tf.Tensor3D = start === 0 && have === dim ? x : fastSlice(x, [0, start, 0], [outer, have, inner]);
  if (stride === 1) return have >= count ? y : tf.pad(y, [[0, 0], [0, count - have], [0, 0]]);
  if (have < stride * count) y = tf.pad(y, [[0, 0], [0, stride * count - have], [0, 0]]);
  return tf.reshape(fastSlice(tf.reshape(y, [outer, count, stride, inner]), [0, 0, 0, 0], [outer, count, 1, inner]), [outer, count, inner]) as tf.Tensor3D;
}

/**
 * Turns `[before, after]` paddings of axes 1 and 2 into explicit conv2d padding; a negative
 * `after` crops that many trailing rows/columns first (tf.conv2d takes only non-negative padding).
 */
function fitEnd(x: tf.Tensor4D, padH: [number, number], padW: [number, number]): { x: tf.Tensor4D; pad: Pad4 } {
  const [, h, w] = x.shape;
  const cropH = Math.max(0, -padH[1]);
  const cropW = Math.max(0, -padW[1]);
  const y = cropH > 0 || cropW > 0 ? crop4(x, 0, 0, h - cropH, w - cropW) : x;
  return {
    x: y,
    pad: [
      [0, 0],
      [padH[0], Math.max(0, padH[1])],
      [padW[0], Math.max(0, padW[1])],
      [0, 0],
    ],
  };
}

/**
 * The flipped, in/out-swapped sub-filter of stride phase `(rh, rw)`: taps
 * `w[rh + sh·j, rw + sw·k]` in reverse order → `[mh, mw, cout, cin]` with `mh = ⌈(kh − rh)/sh⌉`
 * (stride 1: the whole flipped, swapped filter), or null when the phase has no tap. Built from
 * contiguous rank-2 slices of `taps` (`w` as `[kh·kw, cout·cin]`, in/out swapped; wasm's
 * StridedSlice, Reverse and Gather kernels are slow).
 */
function phaseFilter(taps: tf.Tensor2D, kh: number, kw: number, cin: number, cout: number, sh: number, sw: number, rh: number, rw: number): tf.Tensor4D | null {
  const mh = Math.ceil((kh - rh) / sh);
  const mw = Math.ceil((kw - rw) / sw);
  if (mh <= 0 || mw <= 0) return null;
  const rows: number[] = [];
  for (let jh = mh - 1; jh >= 0; jh--) {
    for (let jw = mw - 1; jw >= 0; jw--) rows.push((rh + sh * jh) * kw + rw + sw * jw);
  }
  const picked = rows.length === 1 ? fastSlice(taps, [rows[0]!, 0], [1, cout * cin]) : tf.concat(rows.map((r) => fastSlice(taps, [r, 0], [1, cout * cin])), 0);
  return tf.reshape(picked, [mh, mw, cout, cin]) as tf.Tensor4D;
}

/** `w` `[kh, kw, cin, cout]` as `[kh·kw, cout·cin]` (in/out swapped), the source of {@link phaseFilter}. */
function swappedTaps(w: tf.Tensor4D): tf.Tensor2D {
  const [kh, kw, cin, cout] = w.shape;
  return tf.reshape(tf.transpose(w, [0, 1, 3, 2]), [kh * kw, cout * cin]) as tf.Tensor2D;
}

/**
 * Input gradient of a 2D convolution.
 *
 * Stride 1: a 'full' correlation of `dy` with the flipped, in/out-swapped filter.
 * Stride s > 1: sub-pixel (phase) decomposition. Input row `h` with `h + padTop = s·q + r` only
 * receives filter taps `k ≡ r (mod s)`, so every phase `(rh, rw)` is a stride-1 correlation of
 * `dy` with its own sub-filter `w[rh::sh, rw::sw]` (flipped; for k3 s2: 2×2, 2×1, 1×2 and 1×1
 * taps, exactly the forward work). The phase results are concatenated on the channel axis and
 * interleaved back with a rank-4 reshape/transpose. (One convolution with every sub-filter
 * zero-padded to ⌈k/s⌉² taps does 16/9 of the work and measured ~1.5× slower on wasm.)
 * @internal
 */
export function conv2dInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, xShape: number[], g: Conv2DGeometry): tf.Tensor4D {
  const [kh, kw, cin, cout] = w.shape;
  const [n, ho, wo] = dy.shape;
  if (gemmConvolutions()) {
    // dcols = dy · wᵀ (one row per output pixel), then every patch row added back where it was read
    const dy2 = tf.reshape(dy, [n * ho * wo, cout]) as tf.Tensor2D;
    const w2 = tf.reshape(w, [kh * kw * cin, cout]) as tf.Tensor2D;
    if (pointwise(kh, kw, g, xShape[1]!, xShape[2]!)) return tf.reshape(fastMatMul(dy2, w2, { transposeB: true }), xShape as [number, number, number, number]);
    return convGemm('input', dy2, w2, im2colGeometry(kh, kw, g), xShape) as tf.Tensor4D;
  }
  const h = xShape[1]!;
  const wd = xShape[2]!;
  const { sh, sw } = g;
  const taps = swappedTaps(w);
  if (sh === 1 && sw === 1) {
    const wFlip = phaseFilter(taps, kh, kw, cin, cout, 1, 1, 0, 0)!;
    const { x, pad } = fitEnd(dy, [kh - 1 - g.ph.before, h + g.ph.before - ho], [kw - 1 - g.pw.before, wd + g.pw.before - wo]);
    return tf.conv2d(x, wFlip, 1, pad);
  }
  const qh = Math.floor((h + g.ph.before - 1) / sh) + 1;
  const qw = Math.floor((wd + g.pw.before - 1) / sw) + 1;
  const phases: tf.Tensor[] = [];
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const f = phaseFilter(taps, kh, kw, cin, cout, sh, sw, rh, rw);
      if (!f) {
        phases.push(tf.zeros([n, qh, qw, cin]));
        continue;
      }
      const { x, pad } = fitEnd(dy, [f.shape[0] - 1, qh - ho], [f.shape[1] - 1, qw - wo]);
      phases.push(tf.conv2d(x, f, 1, pad)); // [n, qh, qw, cin]
    }
  }
  const y = tf.concat(phases, 3); // [n, qh, qw, sh·sw·cin], channel (rh·sw + rw)·cin + c
  const z = tf.reshape(tf.transpose(tf.reshape(y, [n * qh, qw, sh, sw * cin]), [0, 2, 1, 3]), [n, qh * sh, qw * sw, cin]);
  if (g.ph.before === 0 && g.pw.before === 0 && qh * sh === h && qw * sw === wd) return z as tf.Tensor4D;
  return crop4(z as tf.Tensor4D, g.ph.before, g.pw.before, h, wd);
}

/**
 * Filter gradient of a 2D convolution as ONE forward convolution with the batch as the
 * reduction channels.
 *
 * `dW[a, b, ci, co] = Σ_{n,i,j} xpad[n, sh·i + a, sw·j + b, ci] · dy[n, i, j, co]` is a
 * correlation of `xᵀ` `[ci, H, W, n]` (input channels as the batch, the batch as channels) with
 * `dyᵀ` `[Ho, Wo, n, co]` as the filter, dilated by the stride: output `[ci, kh, kw, co]`.
 * Two rank-4 transposes and one convolution, with no per-tap slices (measured on wasm 1.2–1.6×
 * faster than one height convolution per kernel column). 1×1 kernels use
 * {@link conv2dFilterGrad1x1}. `dyT`, when given, is `dy` already transposed to `[ho, wo, n, co]`.
 * @internal
 */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, g: Conv2DGeometry, dyT?: tf.Tensor4D): tf.Tensor4D {
  if (gemmConvolutions()) {
    // dW = im2col(x)ᵀ · dy: the reduction runs over every output pixel of the batch. The patches
    // are gathered again rather than saved by the forward pass: they are kh·kw times the input
    // (75 MB at the 2D bench encoder's first stage) and would be held for every layer until backward.
    const [n, ho, wo, cout] = dy.shape;
    const [, h, wd, cin] = x.shape;
    const dy2 = tf.reshape(dy, [n * ho * wo, cout]) as tf.Tensor2D;
    const dw = pointwise(kh, kw, g, h, wd)
      ? fastMatMul(tf.reshape(x, [n * h * wd, cin]) as tf.Tensor2D, dy2, { transposeA: true })
      : convGemm('filter', x, dy2, im2colGeometry(kh, kw, g), x.shape)!;
    return tf.reshape(dw, [kh, kw, cin, cout]);
  }
  if (kh === 1 && kw === 1) return conv2dFilterGrad1x1(x, dy, g);
  const [, h, wd] = x.shape;
  const [, ho, wo] = dy.shape;
  const { sh, sw } = g;
  // Rows/columns past the last one read (negative: crop the input; positive: pad zeros).
  const bottom = kh + sh * (ho - 1) - h - g.ph.before;
  const right = kw + sw * (wo - 1) - wd - g.pw.before;
  let xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [c, h, w, n]
  if (bottom < 0 || right < 0) xt = crop4(xt, 0, 0, h + Math.min(0, bottom), wd + Math.min(0, right));
  const filter = dyT ?? (tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D); // [ho, wo, n, co]
  const pad: Pad4 = [
    [0, 0],
    [g.ph.before, Math.max(0, bottom)],
    [g.pw.before, Math.max(0, right)],
    [0, 0],
  ];
  const out = tf.conv2d(xt, filter, 1, pad, 'NHWC', [sh, sw]); // [c, kh, kw, co]
  return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * Filter gradient of a 1×1 convolution: `dW = xsᵀ · dy` over the rows `(n, i, j)`, where `xs`
 * keeps the input pixels the convolution reads (`x[:, sh·i, sw·j, :]`, via reshapes and
 * contiguous slices; a 1×1 'same' or 'valid' convolution never pads before), as one rank-2
 * `matMul` after an explicit transpose.
 */
function conv2dFilterGrad1x1(x: tf.Tensor4D, dy: tf.Tensor4D, g: Conv2DGeometry): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const [, h, wd] = x.shape;
  const rows = stridedRows(tf.reshape(x, [n, h, wd * c]) as tf.Tensor3D, g.ph.before, ho, g.sh); // [n, ho, w·c]
  const xs = stridedRows(tf.reshape(rows, [n * ho, wd, c]) as tf.Tensor3D, g.pw.before, wo, g.sw); // [n·ho, wo, c]
  const dw = tf.matMul(tf.transpose(tf.reshape(xs, [n * ho * wo, c])), tf.reshape(dy, [n * ho * wo, co]));
  return tf.reshape(dw, [1, 1, c, co]) as tf.Tensor4D;
}

/** Sum over all leading axes of `dy` `[..., c]` → `[c]` (the bias gradient). @internal */
export function sumToChannels(dy: tf.Tensor): tf.Tensor1D {
  return tf.reshape(columnSums(dy), [dy.shape[dy.rank - 1]!]);
}

/** The function `tf.customGrad` takes. @internal */
export type Grad = Parameters<typeof tf.customGrad>[0];

/**
 * Node B of a convolution (see `conv2dCore` in `conv.ts`): `(ya, w, bias) → ya + bias` with `x`
 * captured; passes `dy` through to `ya` and yields the filter gradient `filterGrad(x, dy)` and the
 * bias gradient. Without a bias the output is a reshape of `ya` (shares the data, no copy).
 * @internal
 */
export function filterAndBiasNode(
  ya: tf.Tensor4D,
  x: tf.Tensor,
  w: tf.Tensor,
  bias: tf.Tensor1D | null,
  filterGrad: (x: tf.Tensor, dy: tf.Tensor4D) => tf.Tensor,
): tf.Tensor4D {
  const node = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const yy = args[0] as tf.Tensor4D;
    const b = bias ? (args[2] as tf.Tensor1D) : null;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save([x]);
    return {
      value: b ? tf.add(yy, b) : tf.reshape(yy, yy.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor4D;
        const grads: tf.Tensor[] = [d, filterGrad(saved[0]!, d)];
        if (b) grads.push(sumToChannels(d));
        return grads;
      },
    };
  }) as Grad) as (...t: tf.Tensor[]) => tf.Tensor4D;
  return bias ? node(ya, w, bias) : node(ya, w);
}
