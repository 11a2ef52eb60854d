/**
 * The convolutions of the tfjs 'wasm' backend as products on vdafm's GEMM (src/kernels/gemm.ts:
 * relaxed SIMD where the engine has it, the Node thread pool when on) instead of XNNPACK's
 * convolution (one thread in Node, no FMA) and, for the filter gradient, a convolution with the
 * batch as the reduction channels that XNNPACK runs at half its forward rate. src/ops/conv.ts
 * wraps them in its custom-gradient nodes.
 *
 * The C is native/conv.c, linked into both SIMD builds of the module with the GEMM. Kernels
 * registered for the 'wasm' backend under names of our own when this module is imported:
 * - `VdafmConvGemm` ({@link convGemm}): one whole convolution product (forward `im2col(x)·w`,
 *   input gradient `col2im(dy·wᵀ)`, filter gradient `im2col(x)ᵀ·dy`), gathering or scattering
 *   one L2-sized block of patch rows at a time, so that the patch matrix (kh·kw times the
 *   images) never exists whole; with the Node pool, the same blocks on every thread. The forward
 *   product and the filter gradient read the patches in place instead (the GEMM's micro-kernel
 *   through a table of pointers, only the border columns' patch rows gathered) when the filter
 *   rows are at least 16 floats (`kw·c`) and there are at most 64 output channels: the same bits;
 * - `VdafmIm2Col`: input `x` `[n, h, w, c]` or `[n, d, h, w, c]`; attr `geometry`
 *   `[kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo]` (see {@link Im2ColGeometry}); output
 *   `[n·dout·ho·wo, kd·kh·kw·c]` (the patches, one row per output pixel);
 * - `VdafmCol2Im`: its adjoint; input `cols`; attrs `geometry`, `inputShape` (rank 4 or 5);
 *   output of `inputShape`.
 *
 * The ops return null when our kernels are not active (another backend, disabled, not loaded):
 * the caller then takes the convolution-kernel formulation.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmKernel, type WasmBackend } from './backend.js';
import { gemmKernelFunc } from './gemm.js';
import { fastKernelsActive, pickRunner, pointer } from './module.js';
import { runOnHeap } from './heap-call.js';
import { type ConvJob, poolFor } from './threads.js';

/** Name of our im2col kernel on the 'wasm' backend. @internal */
export const IM2COL_KERNEL_NAME = 'VdafmIm2Col';
/** Name of our col2im kernel on the 'wasm' backend. */
const COL2IM_KERNEL_NAME = 'VdafmCol2Im';
/** Name of our whole-convolution-product kernel on the 'wasm' backend. @internal */
export const CONV_GEMM_KERNEL_NAME = 'VdafmConvGemm';

/**
 * Where a convolution reads: kernel `kh × kw` (× `kd` in depth), strides `sh, sw` (`sd`), the
 * padding before the first row/column (`pt, pl`; front slice `pf`), output `ho × wo` (`dout`
 * slices). The depth entries default to a 2D image (`kd = sd = dout = 1`, `pf = 0`).
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
  kd?: number;
  sd?: number;
  pf?: number;
  dout?: number;
}

/** `(n, d, h, w, c, kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo, in, out)` (native/conv.c). */
type ConvCall = (...args: number[]) => void;
interface ConvExports {
  im2col: ConvCall;
  col2im: ConvCall;
  /**
   * `(…the 17 of im2col…, r0, count, x, w, y, cout, chunk, cols, work)`: rows [r0, r0 + count)
   * of `y = im2col(x)·w`, `chunk` patch rows at a time through `cols` (room for `chunk + 3` rows).
   */
  conv_rows: ConvCall;
  /** `(nb, d, h, w, c, …12 geometry…, b0, dy, w, dx, cout, chunk, cols, work)`: dx of volumes [b0, b0 + nb). */
  conv_input_rows: ConvCall;
  /** `(…the 17 of im2col…, x, dy, dw, cout, m0, mrows, chunk, cols, work)`: rows [m0, m0 + mrows) of dw, `chunk` (a multiple of 256) patch rows at a time. */
  conv_filter_rows: ConvCall;
}

let chunkOverride: number | null = null;

/**
 * Rows of patches a convolution product gathers (or scatters) and multiplies at a time: about
 * 512 KB of patches (`rows · K` floats), a multiple of `multiple` rows (64, the GEMM's row block;
 * the filter gradient: 256, its depth block, so that the blocks add into the result in the order
 * of one GEMM's depth blocks), at least `multiple`. The block stays in the core's L2 cache between
 * im2col writing it and the GEMM packing it; the values do not depend on it.
 */
function convChunkRows(kk: number, multiple = 64): number {
  if (chunkOverride !== null) return multiple === 64 ? chunkOverride : Math.ceil(chunkOverride / multiple) * multiple;
  return Math.max(multiple, Math.floor(131072 / kk / multiple) * multiple);
}

/** For tests: forces the blocks' height (null: the default; the filter gradient rounds it up to 256). @internal */
export function setConvChunkRows(rows: number | null): void {
  chunkOverride = rows;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** The geometry as a kernel attribute: `[kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo]`. */
const geometryAttr = (g: Im2ColGeometry): number[] => [g.kd ?? 1, g.kh, g.kw, g.sd ?? 1, g.sh, g.sw, g.pf ?? 0, g.pt, g.pl, g.dout ?? 1, g.ho, g.wo];

/** `[n, d, h, w, c]` of a rank-4 (`d = 1`) or rank-5 shape. */
const volume = (shape: readonly number[]): number[] => (shape.length === 4 ? [shape[0]!, 1, ...shape.slice(1)] : [...shape]);

function im2colKernelFunc(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const v = volume(x.shape);
  const g = args.attrs!['geometry'] as number[]; // [kd, kh, kw, sd, sh, sw, pf, pt, pl, dout, ho, wo]
  const cols = backend.makeOutput([v[0]! * g[9]! * g[10]! * g[11]!, g[0]! * g[1]! * g[2]! * v[4]!], 'float32');
  runOnHeap<ConvExports>(backend, pickRunner(backend), [x], [cols], (e, [xp], [cp]) => e.im2col(...v, ...g, xp!, cp!));
  return cols;
}

function col2imKernelFunc(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { cols } = args.inputs as { cols: tf.TensorInfo };
  const shape = args.attrs!['inputShape'] as number[];
  const g = args.attrs!['geometry'] as number[];
  const dx = backend.makeOutput([...shape], 'float32');
  runOnHeap<ConvExports>(backend, pickRunner(backend), [cols], [dx], (e, [cp], [dp]) => e.col2im(...volume(shape), ...g, cp!, dp!));
  return dx;
}

/**
 * `VdafmConvGemm`: one convolution product with its data movement (see {@link convGemm}). A
 * thread pool with `conv` (vdafm/node) runs it in its own memory; else, on tfjs's heap, the
 * blocked loops of native/conv.c; else (copy mode) im2col / col2im and the GEMM kernel, with the
 * patch matrix as a temporary. The same bits every way.
 */
function convGemmKernelFunc(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const mode = args.attrs!['mode'] as ConvJob['mode'];
  const g = args.attrs!['geometry'] as number[];
  const shape = args.attrs!['inputShape'] as number[];
  const v = volume(shape);
  const rows = v[0]! * g[9]! * g[10]! * g[11]!;
  const kk = g[0]! * g[1]! * g[2]! * v[4]!;
  const cout = mode === 'input' ? a.shape[1]! : b.shape[1]!;
  const outShape = mode === 'forward' ? [rows, cout] : mode === 'filter' ? [kk, cout] : [...shape];
  const chunkRows = convChunkRows(kk, mode === 'filter' ? 256 : 64);
  const runner = pickRunner(backend);
  const pool = poolFor(rows * kk * cout, 1);
  // kk < 4: the filter gradient's GEMM would take its few-rows path, which sums all rows at once
  const blocked = runner.zeroCopy && (mode !== 'filter' || kk >= 4);
  if (pool?.conv || blocked) {
    const ex = runner.exports as unknown as ConvExports;
    const out = backend.makeOutput(outShape, 'float32');
    const chunk = mode === 'filter' ? chunkRows : Math.min(rows, chunkRows);
    // the blocked loops' patch block on tfjs's heap, allocated before the pool takes views of the
    // heap (an allocation may grow it and detach them); the pool's calling thread uses it for its
    // share of a forward product or input gradient
    let cols = blocked && (mode !== 'filter' || !pool?.conv) ? backend.makeOutput([chunk + 3, kk], 'float32') : null;
    const pointers = () => [a, b, out, cols!].map((t) => pointer(backend, t)) as [number, number, number, number];
    // output rows [first, first + count) (forward) or images (input), one L2-sized block of patch
    // rows at a time (the same bits as the whole patch matrix)
    const part = (first: number, count: number) => {
      const [pa, pb, po, pc] = pointers();
      if (mode === 'forward') ex.conv_rows(...v, ...g, first, count, pa, pb, po, cout, chunk, pc, runner.work);
      else ex.conv_input_rows(count, v[1]!, v[2]!, v[3]!, v[4]!, ...g, first, pa, pb, po, cout, chunk, pc, runner.work);
    };
    let done = false;
    if (pool?.conv) {
      const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
      done = pool.conv({ mode, volume: v, geometry: g, cout, a: view(a), b: view(b), out: view(out), build: runner.build, chunkRows, ...(cols && mode !== 'filter' ? { local: part } : {}) });
    }
    if (!done && blocked) {
      cols ??= backend.makeOutput([chunk + 3, kk], 'float32');
      if (mode === 'filter') {
        const [pa, pb, po, pc] = pointers();
        ex.conv_filter_rows(...v, ...g, pa, pb, po, cout, 0, kk, chunk, pc, runner.work);
      } else part(0, mode === 'forward' ? rows : v[0]!);
      done = true;
    }
    if (cols) backend.disposeData(cols.dataId);
    if (done) return out;
    backend.disposeData(out.dataId);
  }
  if (mode === 'input') {
    const cols = gemmKernelFunc({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: true } });
    const dx = col2imKernelFunc({ inputs: { cols }, backend, attrs: { geometry: g, inputShape: shape } });
    backend.disposeData(cols.dataId);
    return dx;
  }
  const cols = im2colKernelFunc({ inputs: { x: a }, backend, attrs: { geometry: g } });
  const out = gemmKernelFunc({ inputs: { a: cols, b }, backend, attrs: { transposeA: mode === 'filter', transposeB: false } });
  backend.disposeData(cols.dataId);
  return out;
}

// Registered at import (cheap; the module itself is compiled on first use by module.ts).
registerWasmKernel(IM2COL_KERNEL_NAME, im2colKernelFunc);
registerWasmKernel(COL2IM_KERNEL_NAME, col2imKernelFunc);
registerWasmKernel(CONV_GEMM_KERNEL_NAME, convGemmKernelFunc);

/**
 * The patches of `x` `[n, h, w, c]` (or a volume `[n, d, h, w, c]`, float32) that a convolution of
 * geometry `g` reads, one row per output pixel: `[n·ho·wo, kh·kw·c]`, row `(b·ho + i)·wo + j`,
 * column `(a·kw + q)·c + ci` = `x[b, i·sh + a − pt, j·sw + q − pl, ci]`, 0 outside the image
 * (volumes: `[n·dout·ho·wo, kd·kh·kw·c]`, the depth tap outermost). Null when our kernels are not
 * active. Not differentiable (see {@link col2im}, its adjoint).
 * @internal
 */
export function im2col(x: tf.Tensor4D | tf.Tensor5D, g: Im2ColGeometry): tf.Tensor2D | null {
  if (!fastKernelsActive()) return null;
  return tf.engine().runKernel(IM2COL_KERNEL_NAME, { x }, { geometry: geometryAttr(g) }) as tf.Tensor2D;
}

/**
 * The adjoint of {@link im2col}: every row of `cols` `[n·ho·wo, kh·kw·c]` added back to the
 * pixels its patch read, `[n, h, w, c]` (or `[n, d, h, w, c]`) = `inputShape` (padding taps are
 * dropped). Null when our
 * kernels are not active.
 * @internal
 */
export function col2im<R extends tf.Rank.R4 | tf.Rank.R5 = tf.Rank.R4>(cols: tf.Tensor2D, g: Im2ColGeometry, inputShape: readonly number[]): tf.Tensor<R> | null {
  if (!fastKernelsActive()) return null;
  return tf.engine().runKernel(COL2IM_KERNEL_NAME, { cols }, {
    geometry: geometryAttr(g),
    inputShape: [...inputShape],
  }) as tf.Tensor<R>;
}

/**
 * One product of a GEMM convolution with its data movement, on the `VdafmConvGemm` kernel:
 * - `'forward'`: `im2col(a) · b` `[rows, cout]`, `a` the images (`inputShape`), `b` the filter `[K, cout]`;
 * - `'input'`: `col2im(a · bᵀ)` (of `inputShape`), `a` = dy `[rows, cout]`, `b` the filter `[K, cout]`;
 * - `'filter'`: `im2col(a)ᵀ · b` `[K, cout]`, `a` the images, `b` = dy `[rows, cout]`;
 *
 * with `rows = n·dout·ho·wo`, `K = kd·kh·kw·c`. Bitwise equal to {@link im2col} / {@link col2im}
 * and `fastMatMul`, at any block height and thread count; one L2-sized block of patch rows at a
 * time, and with the Node thread pool (vdafm/node) in the pool's memory, split over threads, so
 * the patch matrix (kh·kw times the images) is never built whole nor copied. Null
 * when our kernels are not active. Not differentiable (the convolutions' custom gradients call it).
 * @internal
 */
export function convGemm(mode: ConvJob['mode'], a: tf.Tensor, b: tf.Tensor2D, g: Im2ColGeometry, inputShape: readonly number[]): tf.Tensor | null {
  if (!fastKernelsActive()) return null;
  return tf.engine().runKernel(CONV_GEMM_KERNEL_NAME, { a, b }, { mode, geometry: geometryAttr(g), inputShape: [...inputShape] }) as tf.Tensor;
}
