/**
 * Matrix products whose forward pass *and* gradients run on fast kernels on every backend:
 * - {@link fastMatMul}: `op(a)·op(b) (+ bias)` on vdafm's WebAssembly GEMM (src/kernels/gemm.ts)
 *   when the 'wasm' backend is active, with transposes absorbed by its packing; stock ops elsewhere.
 * - {@link matMul} never uses the `transposeA`/`transposeB` flags, in the forward pass *or* in its
 *   gradient (stock tfjs's BatchMatMul gradient uses them, and on the wasm backend the flagged
 *   variants miss the XNNPACK fast path and are ~20× slower). Its gradient is a `tf.customGrad`
 *   scoped to our own ops: no global gradient is re-registered. Batched rank-3 products (batch >
 *   1) take a per-backend formulation chosen at call time: on 'wasm' without vdafm's kernels they
 *   run as depthwise convolutions (./batched-matmul.ts; wasm's BatchMatMul with batch > 1 is a
 *   naive loop), elsewhere as a plain batched matMul.
 * - {@link columnSums}: the bias gradients of dense layers, convolutions and normalisations.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertBoolean } from '../core/validate.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { runColumnSum, runGemm } from '../kernels/gemm.js';
import { fastKernelsActive } from '../kernels/module.js';
import { batchMatMulDepthwise, useDepthwiseBatchMatMul } from './batched-matmul.js';

/**
 * Swaps the last two axes of a rank-2 or rank-3 tensor.
 * @internal
 */
function swapLast(x: tf.Tensor): tf.Tensor {
  return x.rank === 2 ? tf.transpose(x) : tf.transpose(x, [0, 2, 1]);
}

/** op(a)·op(b) (+ bias): our kernel when active, else stock ops. No validation. */
function gemm(a: tf.Tensor, b: tf.Tensor, transA: boolean, transB: boolean, bias: tf.Tensor | null): tf.Tensor {
  if (fastKernelsActive()) return runGemm(a, b, transA, transB, bias);
  return tf.tidy(() => {
    const y = tf.matMul(transA ? swapLast(a) : a, transB ? swapLast(b) : b);
    return bias ? tf.add(y, bias) : y;
  });
}

/**
 * Sum over every axis but the last (`[.., n]` → `[n]`, rank 2 or 3), not differentiable: vdafm's
 * column-sum kernel when the fast kernels are active (a product `ones·x` makes XNNPACK pack `x`
 * on every call), `tf.sum` elsewhere.
 * @internal
 */
export function columnSum(x: tf.Tensor): tf.Tensor {
  if (fastKernelsActive()) return runColumnSum(x);
  return tf.sum(x, x.rank === 3 ? [0, 1] : 0);
}

/** Gradient of `op(a)·op(b)` for `a` (stored as `a` is), as one product with transpose flags. */
function gradA(dy: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): tf.Tensor {
  return tA ? gemm(b, dy, tB, true, null) : gemm(dy, b, false, !tB, null);
}

/** Gradient of `op(a)·op(b)` for `b` (stored as `b` is), as one product with transpose flags. */
function gradB(dy: tf.Tensor, a: tf.Tensor, tA: boolean, tB: boolean): tf.Tensor {
  return tB ? gemm(dy, a, true, tA, null) : gemm(a, dy, !tA, false, null);
}

/** Both product gradients `[da, db]`. */
function productGrads(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): [tf.Tensor, tf.Tensor] {
  return [gradA(dy, b, tA, tB), gradB(dy, a, tA, tB)];
}

type Gemm2 = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
type Gemm3 = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => tf.Tensor;

function makeVariants(tA: boolean, tB: boolean): { plain: Gemm2; biased: Gemm3 } {
  const plain = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: gemm(a, b, tA, tB, null),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => productGrads(dy, saved[0]!, saved[1]!, tA, tB),
    };
  }) as Parameters<typeof tf.customGrad>[0]) as Gemm2;
  const biased = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b, bias, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: gemm(a, b, tA, tB, bias),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [...productGrads(dy, saved[0]!, saved[1]!, tA, tB), columnSum(dy)],
    };
  }) as Parameters<typeof tf.customGrad>[0]) as Gemm3;
  return { plain, biased };
}

/** One customGrad pair per transpose combination, indexed by `2 * transposeA + transposeB`. */
const VARIANTS = [makeVariants(false, false), makeVariants(false, true), makeVariants(true, false), makeVariants(true, true)];

/** Options of {@link fastMatMul}. */
export interface FastMatMulOptions {
  /**
   * Use `aᵀ` (of the last two axes): `a` is then stored `[k, m]` (or `[batch, k, m]`).
   * @defaultValue false
   */
  transposeA?: boolean;
  /**
   * Use `bᵀ` (of the last two axes): `b` is then stored `[n, k]` (or `[batch, n, k]`).
   * @defaultValue false
   */
  transposeB?: boolean;
  /**
   * `[n]` row added to every output row (fused into the product), or null for none.
   * @defaultValue null
   */
  bias?: tf.Tensor1D | null;
}

/**
 * Differentiable matrix product `op(a) · op(b) (+ bias)` on our WebAssembly-SIMD GEMM when the
 * 'wasm' backend is active (about 1.2–1.6× faster than `tf.matMul` there on the attention
 * shapes, 2–3× faster than the depthwise formulation on batched ones),
 * with stock ops elsewhere. The transposes are done by the kernel's packing (no transpose pass),
 * and the gradients are the same kernel with transpose flags: `da = dy·op(b)ᵀ`,
 * `db = op(a)ᵀ·dy` (each stored as its input is), `dbias` = column sums of `dy`.
 *
 * On any backend other than 'wasm', when disabled ({@link setFastKernelsEnabled}) or before the
 * module can be loaded ({@link initFastKernels}), it computes the same thing with `tf.matMul` +
 * explicit `tf.transpose` + `tf.add`: values agree up to float32 rounding (summation order).
 *
 * @param a - float32 `[m, k]` (`[k, m]` with `transposeA`) or `[batch, m, k]` (`[batch, k, m]`).
 * @param b - float32 `[k, n]` (`[n, k]` with `transposeB`), or `[batch, k, n]` (`[batch, n, k]`);
 *   same rank (and batch) as `a`.
 * @param options - transposes and bias, see {@link FastMatMulOptions}.
 * @returns `[m, n]` or `[batch, m, n]`; the caller owns it.
 * @throws {@link ShapeError} when `a` is not rank 2 or 3, `b` has another rank or batch or an
 *   inner size different from `a`'s, or `bias` is not `[n]`.
 * @throws {@link InvalidArgumentError} when a tensor is not float32 or a transpose flag is not
 *   a boolean.
 * @example
 * ```ts
 * const x = tf.ones([2, 3]);
 * const w = tf.ones([4, 3]); // stored [n, k]
 * const y = fastMatMul(x, w, { transposeB: true, bias: tf.tensor1d([0, 1, 2, 3]) });
 * // [[3, 4, 5, 6], [3, 4, 5, 6]]
 * ```
 */
export function fastMatMul<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T, options: FastMatMulOptions = {}): T {
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  const bias = options.bias ?? null;
  assertBoolean(transposeA, 'transposeA');
  assertBoolean(transposeB, 'transposeB');
  if (a.rank !== 2 && a.rank !== 3) {
    throw new ShapeError({ argument: 'a', expected: transposeA ? '[k, m] or [batch, k, m]' : '[m, k] or [batch, m, k]', received: a.shape });
  }
  const r = a.rank;
  const k = transposeA ? a.shape[r - 2]! : a.shape[r - 1]!;
  const bInner = b.rank === r ? (transposeB ? b.shape[r - 1] : b.shape[r - 2]) : undefined;
  if (b.rank !== r || bInner !== k || (r === 3 && b.shape[0] !== a.shape[0])) {
    const lead = r === 3 ? `${a.shape[0]}, ` : '';
    throw new ShapeError({ argument: 'b', expected: transposeB ? `[${lead}n, ${k}]` : `[${lead}${k}, n]`, received: b.shape });
  }
  const n = transposeB ? b.shape[r - 2]! : b.shape[r - 1]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new ShapeError({ argument: 'bias', expected: `[${n}]`, received: bias.shape });
  }
  for (const [name, t] of [['a', a], ['b', b], ['bias', bias]] as const) {
    if (t && t.dtype !== 'float32') {
      throw new InvalidArgumentError({
        argument: `${name}.dtype`,
        message: `${name} must be a float32 tensor.`,
        received: t.dtype,
        fix: `Cast it first: tf.cast(${name}, 'float32').`,
      });
    }
  }
  // One kernel call; differentiable through the gradient registered for the kernel's name.
  if (fastKernelsActive()) return runGemm(a, b, transposeA, transposeB, bias) as T;
  const variant = VARIANTS[(transposeA ? 2 : 0) + (transposeB ? 1 : 0)]!;
  return tf.tidy(() => (bias ? variant.biased(a, b, bias) : variant.plain(a, b))) as T;
}

const matMulFast = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy, swapLast(sb)), tf.matMul(swapLast(sa), dy)];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * Matrix product `a · b` of two rank-2 (`[m, k]·[k, n]`) or two rank-3 (`[b, m, k]·[b, k, n]`)
 * tensors, whose gradient uses only plain (un-flagged) matrix products and explicit transposes.
 *
 * The formulation is chosen per backend when called: on 'wasm', a rank-3 product with batch > 1
 * runs (forward and backward) as depthwise convolutions, which reach XNNPACK where a batched
 * `BatchMatMul` does not; everywhere else (and for rank 2 or batch 1) it is a plain `tf.matMul`.
 * Both give the same values up to float32 rounding.
 *
 * @returns `[m, n]` or `[b, m, n]`; the caller owns it.
 * @throws {@link ShapeError} when the ranks are not both 2 or both 3, or the batch or inner
 *   sizes differ.
 * @example
 * ```ts
 * const c = matMul(tf.ones([2, 3]), tf.ones([3, 4])); // [2, 4], all 3
 * ```
 */
export function matMul<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T): T {
  if (a.rank !== 2 && a.rank !== 3) throw new ShapeError({ argument: 'a', expected: '[m, k] or [batch, m, k]', received: a.shape });
  const r = a.rank;
  if (b.rank !== r || b.shape[r - 2] !== a.shape[r - 1] || (r === 3 && b.shape[0] !== a.shape[0])) {
    const expected = r === 2 ? `[${a.shape[1]}, n]` : `[${a.shape[0]}, ${a.shape[2]}, n]`;
    throw new ShapeError({ argument: 'b', expected, received: b.shape });
  }
  if (fastKernelsActive()) return fastMatMul(a, b);
  if (r === 3 && useDepthwiseBatchMatMul(a.shape[0]!)) return batchMatMulDepthwise(a as tf.Tensor3D, b as tf.Tensor3D) as T;
  return matMulFast(a, b) as T;
}

/**
 * `op(a) · op(b)` for rank-2 or rank-3 operands, `op` a transpose of the last two axes when its
 * flag is set: vdafm's own GEMM (transposes absorbed by its packing) when the fast kernels are
 * active, else {@link matMul} on explicitly transposed operands. Differentiable.
 * @internal
 */
export function product<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T, transposeA = false, transposeB = false): T {
  if (fastKernelsActive()) return fastMatMul(a, b, { transposeA, transposeB });
  return matMul((transposeA ? swapLast(a) : a) as T, (transposeB ? swapLast(b) : b) as T);
}

/**
 * Per-group column sums, not differentiable: `x` viewed as `[groups, rows, c]` (`rows` = the
 * rest) → `[groups, c]`. On wasm with the fast kernels: vdafm's column-sum kernel (one group) or
 * its GEMM (`ones[groups, 1, rows] · x`). Elsewhere the rows are split into up to 4 blocks summed
 * by one batched product with rows of ones, then the partial sums are added (a rank-2
 * `ones[1, rows] · x` makes XNNPACK pack all of `x` first, and `tf.sum` over a non-last axis
 * transposes first).
 * @internal shared with the convolution and normalisation ops
 */
export function columnSums(x: tf.Tensor, groups = 1): tf.Tensor2D {
  const c = x.shape[x.rank - 1]!;
  const rows = x.size / c / groups;
  if (fastKernelsActive()) {
    if (groups === 1) return tf.reshape(columnSum(tf.reshape(x, [rows, c])), [1, c]);
    return tf.reshape(fastMatMul(tf.ones([groups, 1, rows]) as tf.Tensor3D, tf.reshape(x, [groups, rows, c]) as tf.Tensor3D), [groups, c]);
  }
  const b = rows % 4 === 0 && rows >= 64 ? 4 : rows % 2 === 0 && rows >= 32 ? 2 : 1;
  const parts = tf.matMul(tf.ones([groups * b, 1, rows / b]), tf.reshape(x, [groups * b, rows / b, c])); // [groups·b, 1, c]
  return (b === 1 ? tf.reshape(parts, [groups, c]) : tf.sum(tf.reshape(parts, [groups, b, c]), 1)) as tf.Tensor2D;
}
