/**
 * `VdafmMaxLast` (max over the last axis and the index of the first max, in one pass) and
 * `VdafmScatterLast` (its gradient: `dy` written at those indices): JavaScript kernels on views of
 * tfjs-backend-wasm's heap, registered for 'wasm' only when imported (no stock kernel replaced).
 * The differentiable op on top is `maxLastAxis` (src/ops/max.ts).
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core';
import { registerWasmKernel, type WasmBackend } from './backend.js';

/** Name of the max-and-index kernel. @internal */
export const MAX_LAST_KERNEL_NAME = 'VdafmMaxLast';
/** Name of the scatter (gradient) kernel. @internal */
export const SCATTER_LAST_KERNEL_NAME = 'VdafmScatterLast';

/** `x [..., n]` → `[max [...], index [...] (int32)]`; the first maximum wins a tie; NaN propagates. */
function maxLastKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo[] {
  const x = args.inputs['x']!;
  const backend = args.backend as WasmBackend;
  const n = x.shape[x.shape.length - 1]!;
  const outShape = x.shape.slice(0, -1);
  const values = backend.makeOutput(outShape, 'float32');
  const index = backend.makeOutput(outShape, 'int32');
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const vs = backend.typedArrayFromHeap(values) as Float32Array;
  const is = backend.typedArrayFromHeap(index) as Int32Array;
  const rows = vs.length;
  for (let r = 0, o = 0; r < rows; r++, o += n) {
    let best = xs[o]!;
    let at = 0;
    if (best === best) {
      for (let j = 1; j < n; j++) {
        const v = xs[o + j]!;
        if (v > best || v !== v) {
          best = v;
          at = j;
          if (v !== v) break;
        }
      }
    }
    vs[r] = best;
    is[r] = at;
  }
  return [values, index];
}

/** `dy [...]`, `index [...]`, attr `n` → `[..., n]` zeros with `dy` at `index` along the last axis. */
function scatterLastKernel(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }): tf.TensorInfo {
  const dy = args.inputs['dy']!;
  const index = args.inputs['index']!;
  const n = args.attrs!['n'] as number;
  const backend = args.backend as WasmBackend;
  const out = backend.makeOutput([...dy.shape, n], 'float32');
  const os = backend.typedArrayFromHeap(out) as Float32Array;
  os.fill(0);
  const ds = backend.typedArrayFromHeap(dy) as Float32Array;
  const is = backend.typedArrayFromHeap(index) as Int32Array;
  for (let r = 0; r < ds.length; r++) os[r * n + is[r]!] = ds[r]!;
  return out;
}

registerWasmKernel(MAX_LAST_KERNEL_NAME, maxLastKernel);
registerWasmKernel(SCATTER_LAST_KERNEL_NAME, scatterLastKernel);
