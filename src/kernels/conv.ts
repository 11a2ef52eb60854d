/**
 * The data movement of a GEMM convolution on the tfjs 'wasm' backend: `im2col` (the input
 * patches each output pixel reads, one row per pixel) and its adjoint `col2im`, as
 * non-differentiable ops that src/ops/conv.ts wraps in its custom-gradient nodes. With them a 2D
 * convolution, its input gradient and its filter gradient are each one product on vdafm's GEMM
 * (src/kernels/gemm.ts: relaxed SIMD where the engine has it, the Node thread pool when on),
 * instead of XNNPACK's convolution (one thread in Node, no FMA) and, for the filter gradient, a
 * convolution with the batch as the reduction channels that XNNPACK runs at half its forward rate.
 *
 * The C is native/conv.c, linked into the simd128 module with the GEMM and the fused kernels.
 * Two kernels are registered for the 'wasm' backend under names of our own when this module is
 * imported:
 * - `VdafmIm2Col`: input `x` `[n, h, w, c]`; attr `geometry` `[kh, kw, sh, sw, pt, pl, ho, wo]`
 *   (see {@link Im2ColGeometry});
 *   output `[n·ho·wo, kh·kw·c]`;
 * - `VdafmCol2Im`: input `cols` `[n·ho·wo, kh·kw·c]`; attrs `geometry`, `inputShape`
 *   `[n, h, w, c]`; output `[n, h, w, c]`.
 *
 * Both ops return null when our kernels are not active (another backend, disabled, not loaded):
 * the caller then takes the convolution-kernel formulation.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmKernel, type WasmBackend } from './backend.js';
import { fastKernelsActive, pickRunner, runOnHeap } from './module.js';

/** Name of our im2col kernel on the 'wasm' backend. @internal */
export const IM2COL_KERNEL_NAME = 'VdafmIm2Col';
/** Name of our col2im kernel on the 'wasm' backend. @internal */
export const COL2IM_KERNEL_NAME = 'VdafmCol2Im';

/**
 * Where a convolution reads: kernel `kh × kw`, strides `sh, sw`, the padding before the first
 * row/column `pt, pl` (after is implied by the output size), output `ho × wo`.
 * @internal
 */
export interface Im2ColGeometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  ho: number;
  wo: number;
}

interface ConvExports {
  im2col(n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, ho: number, wo: number, x: number, cols: number): void;
  col2im(n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, ho: number, wo: number, cols: number, dx: number): void;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const GEOMETRY_KEYS = ['kh', 'kw', 'sh', 'sw', 'pt', 'pl', 'ho', 'wo'] as const;
/** The geometry as a kernel attribute (a number list, the order of `GEOMETRY_KEYS`). */
const geometryAttr = (g: Im2ColGeometry): number[] => GEOMETRY_KEYS.map((k) => g[k]);
const geometryOf = (attrs: tf.NamedAttrMap | undefined): Im2ColGeometry => {
  const v = attrs!['geometry'] as number[];
  return Object.fromEntries(GEOMETRY_KEYS.map((k, i) => [k, v[i]!])) as unknown as Im2ColGeometry;
};

function im2colKernelFunc(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const g = geometryOf(args.attrs);
  const cols = backend.makeOutput([n * g.ho * g.wo, g.kh * g.kw * c], 'float32');
  runOnHeap<ConvExports>(backend, pickRunner(backend), [x], [cols], (e, [xp], [cp]) =>
    e.im2col(n, h, w, c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.ho, g.wo, xp!, cp!),
  );
  return cols;
}

function col2imKernelFunc(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { cols } = args.inputs as { cols: tf.TensorInfo };
  const [n, h, w, c] = args.attrs!['inputShape'] as number[] as [number, number, number, number];
  const g = geometryOf(args.attrs);
  const dx = backend.makeOutput([n, h, w, c], 'float32');
  runOnHeap<ConvExports>(backend, pickRunner(backend), [cols], [dx], (e, [cp], [dp]) =>
    e.col2im(n, h, w, c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.ho, g.wo, cp!, dp!),
  );
  return dx;
}

// Registered at import (cheap; the module itself is compiled on first use by module.ts).
registerWasmKernel(IM2COL_KERNEL_NAME, im2colKernelFunc);
registerWasmKernel(COL2IM_KERNEL_NAME, col2imKernelFunc);

/**
 * The patches of `x` `[n, h, w, c]` (float32) that a convolution of geometry `g` reads, one row
 * per output pixel: `[n·ho·wo, kh·kw·c]`, row `(b·ho + i)·wo + j`, column `(a·kw + q)·c + ci` =
 * `x[b, i·sh + a − pt, j·sw + q − pl, ci]`, 0 outside the image. Null when our kernels are not
 * active. Not differentiable (see {@link col2im}, its adjoint).
 * @internal
 */
export function im2col(x: tf.Tensor4D, g: Im2ColGeometry): tf.Tensor2D | null {
  if (!fastKernelsActive()) return null;
  return tf.engine().runKernel(IM2COL_KERNEL_NAME, { x }, { geometry: geometryAttr(g) }) as tf.Tensor2D;
}

/**
 * The adjoint of {@link im2col}: every row of `cols` `[n·ho·wo, kh·kw·c]` added back to the
 * pixels its patch read, `[n, h, w, c]` = `inputShape` (padding taps are dropped). Null when our
 * kernels are not active.
 * @internal
 */
export function col2im(cols: tf.Tensor2D, g: Im2ColGeometry, inputShape: readonly number[]): tf.Tensor4D | null {
  if (!fastKernelsActive()) return null;
  return tf.engine().runKernel(COL2IM_KERNEL_NAME, { cols }, {
    geometry: geometryAttr(g),
    inputShape: [...inputShape],
  }) as tf.Tensor4D;
}
