/**
 * `VdafmSlice`: a slice kernel for the 'wasm' backend that copies only the slice.
 *
 * tfjs-backend-wasm 4.22's Slice kernel reads its input with `readSync`, which copies the WHOLE
 * input out of the wasm heap before copying the slice: cutting a 280k-element vector into 112
 * parts takes ~80 ms, and the slices of a convolution's im2col/filter gradient pay the same.
 * This kernel (registered for 'wasm' only when imported; the stock Slice kernel is never
 * replaced) copies the slice's contiguous runs straight from a view of the heap. The
 * differentiable op on top is `fastSlice` (src/ops/slice.ts).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { onWasmHeap, registerWasmKernel, type WasmBackend } from './backend.js';

/** Name of vdafm's slice kernel (registered for the 'wasm' backend). */
export const VDAFM_SLICE = 'VdafmSlice';

/** Copies `x[begin : begin + size]` (any rank) run by run; `xs`/`out` are flat views. */
function copySlice(
  xs: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  begin: number[],
  size: number[],
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let acc = 1;
  for (let a = rank - 1; a >= 0; a--) {
    strides[a] = acc;
    acc *= shape[a]!;
  }
  // the innermost axes the slice covers fully form one contiguous run with the axis before them
  let k = rank - 1;
  while (k > 0 && size[k] === shape[k] && begin[k] === 0) k--;
  const run = size[k]! * strides[k]!;
  // runs are copied row by row along axis j = k − 1 in a tight loop; an odometer walks the rest
  const j = k - 1;
  const rows = j >= 0 ? size[j]! : 1;
  const rowStride = j >= 0 ? strides[j]! : 0;
  const outer = size.slice(0, Math.max(j, 0)).reduce((p, s) => p * s, 1);
  const idx = new Array<number>(Math.max(j, 0)).fill(0);
  let dst = 0;
  for (let o = 0; o < outer; o++) {
    let src = begin[k]! * strides[k]! + (j >= 0 ? begin[j]! * rowStride : 0);
    for (let a = 0; a < j; a++) src += (begin[a]! + idx[a]!) * strides[a]!;
    if (run >= 16) {
      for (let r = 0; r < rows; r++, src += rowStride, dst += run) out.set(xs.subarray(src, src + run), dst);
    } else if (run === 1) {
      for (let r = 0; r < rows; r++, src += rowStride) out[dst++] = xs[src]!;
    } else {
      for (let r = 0; r < rows; r++, src += rowStride) for (let i = 0; i < run; i++) out[dst++] = xs[src + i]!;
    }
    for (let a = j - 1; a >= 0; a--) {
      if (++idx[a]! < size[a]!) break;
      idx[a] = 0;
    }
  }
}

function sliceKernel(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }): tf.TensorInfo {
  const x = args.inputs['x']!;
  const begin = args.attrs!['begin'] as number[];
  const size = args.attrs!['size'] as number[];
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput(size, x.dtype);
  if (size.every((s) => s > 0)) copySlice(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

/**
 * `tf.slice` without gradient: the `VdafmSlice` kernel on wasm, `tf.slice` elsewhere.
 * @internal
 */
export function sliceRaw<T extends tf.Tensor>(x: T, begin: number[], size: number[]): T {
  if (!onWasmHeap() || x.dtype === 'string') return tf.slice(x, begin, size);
  return tf.engine().runKernel(VDAFM_SLICE, { x }, { begin, size } as unknown as tf.NamedAttrMap) as T;
}

registerWasmKernel(VDAFM_SLICE, sliceKernel);
