/**
 * Fused WebAssembly-SIMD kernels for exact GELU and layer normalisation on the tfjs 'wasm'
 * backend, as non-differentiable ops that src/ops/dense.ts wraps in its own `tf.customGrad` nodes.
 *
 * Why: after the GEMM, a wasm train step spends its time in small elementwise kernels:
 * tfjs-backend-wasm's `Erf` and `Exp` are scalar libm loops (measured 26 and 7 ns per element
 * against 0.35 ns for a same-shape multiply), broadcasting binary ops take a generic path (~3×
 * a same-shape op) and every kernel costs ~3–7 µs of dispatch. GELU (5 stock kernels forward,
 * 9 backward) and layerNorm (9 forward, ~11 backward) each become one kernel call here: 7–8×
 * faster for GELU and ~4× for layerNorm, forward and forward + backward, at the model's shapes
 * (bench/experiments/fused.ts; the GELU kernel itself runs at ~2.4 ns per element).
 *
 * The C is native/fused.c, linked into the same module as the GEMM (native/gemm.c, built by
 * scripts/build-wasm.mjs) and run by the same instance (src/kernels/module.ts: zero-copy on
 * tfjs-backend-wasm's heap when reachable, else copying into a memory of its own). erf is a
 * vectorised approximation (our own near-minimax fits, native/fit_erf.py): max absolute error
 * 8.9e-8 over [−12, 12] in float32 (stock `tf.erf`: 4.4e-8 on wasm, 1.7e-7 on cpu).
 *
 * Six kernels are registered for the 'wasm' backend, under names of our own (no stock kernel is
 * touched), when this module is imported:
 * - `VdafmGelu`: input `x` (any shape); attr `save` (0: outputs `[y]`; 1: `[y, Φ(x)]`;
 *   2: `[y, Φ(x) + x·φ(x)]`, the derivative);
 * - `VdafmGeluGrad`: inputs `dy`, `x`, optional `cdf`; output `dx`;
 * - `VdafmLayerNorm`: inputs `x` `[..., d]`, optional `gamma`, `beta` `[d]`; attr `epsilon`;
 *   outputs `[y, mean, rstd]` (`mean` and `rstd` of shape `x.shape[:-1]`);
 * - `VdafmLayerNormGrad`: inputs `dy`, `x`, `mean`, `rstd`, optional `gamma`; attr `betaGrad`;
 *   outputs `[dx, dgamma (when gamma is given), dbeta (when betaGrad)]`;
 * - `VdafmChannelNorm`: inputs `x` `[n, s, c]` (c a multiple of 4), `gamma`, `beta` `[c]`; attrs
 *   `groups`, `epsilon`, `relu`; outputs `[y, mean, variance]` (statistics `[n, groups]`): batch
 *   norm (`n = 1`, `groups = c`) and group norm of src/ops/norm.ts, optionally followed by ReLU;
 * - `VdafmChannelNormGrad`: inputs `dy`, `x`, `mean`, `variance`, `gamma`, and `beta` when the
 *   forward applied ReLU; attr `epsilon`; outputs `[dx, dgamma, dbeta]`.
 *
 * Every op here returns null when our kernels are not active ({@link fastKernelsActive}: another
 * backend, disabled by `setFastKernelsEnabled(false)`, or the module not loaded): the caller then
 * takes the stock formulation. The same switch and the same loading (`initFastKernels`) as the
 * GEMM apply.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertBoolean, assertOneOf } from '../core/validate.js';
import { fastKernelsActive, pickRunner, type Runner } from './module.js';
import { runOnHeap } from './heap-call.js';
import { registerWasmKernel, type WasmBackend } from './backend.js';

/** Name of our GELU forward kernel on the 'wasm' backend. */
export const GELU_KERNEL_NAME = 'VdafmGelu';
/** Name of our GELU gradient kernel on the 'wasm' backend. */
export const GELU_GRAD_KERNEL_NAME = 'VdafmGeluGrad';
/** Name of our layer-normalisation forward kernel on the 'wasm' backend. */
export const LAYER_NORM_KERNEL_NAME = 'VdafmLayerNorm';
/** Name of our layer-normalisation gradient kernel on the 'wasm' backend. */
export const LAYER_NORM_GRAD_KERNEL_NAME = 'VdafmLayerNormGrad';
/** Name of our channel-normalisation (batch / group norm) forward kernel on the 'wasm' backend. */
export const CHANNEL_NORM_KERNEL_NAME = 'VdafmChannelNorm';
/** Name of our channel-normalisation gradient kernel on the 'wasm' backend. */
export const CHANNEL_NORM_GRAD_KERNEL_NAME = 'VdafmChannelNormGrad';

/** The exports of native/fused.c (pointers are byte offsets; 0 is "none"). */
interface FusedExports {
  gelu_fwd(n: number, x: number, y: number, aux: number, mode: number): void;
  gelu_bwd(n: number, dy: number, x: number, cdf: number, dx: number): void;
  layernorm_fwd(rows: number, d: number, x: number, gamma: number, beta: number, eps: number, y: number, mean: number, rstd: number): void;
  layernorm_bwd(rows: number, d: number, dy: number, x: number, mean: number, rstd: number, gamma: number, dx: number, dgamma: number, dbeta: number): void;
  chnorm_fwd(n: number, s: number, c: number, groups: number, x: number, gamma: number, beta: number, eps: number, relu: number, y: number, mean: number, variance: number, scratch: number): void;
  chnorm_bwd(n: number, s: number, c: number, groups: number, dy: number, x: number, mean: number, variance: number, gamma: number, beta: number, eps: number, dx: number, dgamma: number, dbeta: number, scratch: number): void;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const run = runOnHeap<FusedExports>;

function geluKernelFunc(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { x } = args.inputs as { x: tf.TensorInfo };
  const mode = Number(args.attrs?.['save'] ?? 0);
  const n = x.shape.reduce((p, d) => p * d, 1);
  const y = backend.makeOutput([...x.shape], 'float32');
  const aux = mode ? backend.makeOutput([...x.shape], 'float32') : null;
  run(backend, runner, [x], [y, aux], (e, [xp], [yp, ap]) => e.gelu_fwd(n, xp!, yp!, ap!, mode));
  return aux ? [y, aux] : [y];
}

function geluGradKernelFunc(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { dy, x, cdf } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; cdf?: tf.TensorInfo };
  const n = x.shape.reduce((p, d) => p * d, 1);
  const dx = backend.makeOutput([...x.shape], 'float32');
  run(backend, runner, [dy, x, cdf ?? null], [dx], (e, [dyp, xp, cp], [dxp]) => e.gelu_bwd(n, dyp!, xp!, cp!, dxp!));
  return dx;
}

function layerNormKernelFunc(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma?: tf.TensorInfo; beta?: tf.TensorInfo };
  const eps = Number(args.attrs?.['epsilon']);
  const d = x.shape[x.shape.length - 1]!;
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((p, s) => p * s, 1);
  const y = backend.makeOutput([...x.shape], 'float32');
  const mean = backend.makeOutput(lead, 'float32');
  const rstd = backend.makeOutput(lead, 'float32');
  run(backend, runner, [x, gamma ?? null, beta ?? null], [y, mean, rstd], (e, [xp, gp, bp], [yp, mp, rp]) =>
    e.layernorm_fwd(rows, d, xp!, gp!, bp!, eps, yp!, mp!, rp!),
  );
  return [y, mean, rstd];
}

function layerNormGradKernelFunc(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { dy, x, mean, rstd, gamma } = args.inputs as {
    dy: tf.TensorInfo; x: tf.TensorInfo; mean: tf.TensorInfo; rstd: tf.TensorInfo; gamma?: tf.TensorInfo;
  };
  const betaGrad = args.attrs?.['betaGrad'] === true;
  const d = x.shape[x.shape.length - 1]!;
  const rows = x.shape.slice(0, -1).reduce((p, s) => p * s, 1);
  const dx = backend.makeOutput([...x.shape], 'float32');
  const dgamma = gamma ? backend.makeOutput([d], 'float32') : null;
  const dbeta = betaGrad ? backend.makeOutput([d], 'float32') : null;
  run(backend, runner, [dy, x, mean, rstd, gamma ?? null], [dx, dgamma, dbeta], (e, [dyp, xp, mp, rp, gp], [dxp, dgp, dbp]) =>
    e.layernorm_bwd(rows, d, dyp!, xp!, mp!, rp!, gp!, dxp!, dgp!, dbp!),
  );
  return [dx, ...(dgamma ? [dgamma] : []), ...(dbeta ? [dbeta] : [])];
}

function channelNormKernelFunc(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const groups = Number(args.attrs?.['groups']);
  const eps = Number(args.attrs?.['epsilon']);
  const relu = args.attrs?.['relu'] === true ? 1 : 0;
  const [n, s, c] = x.shape as [number, number, number];
  const y = backend.makeOutput([n, s, c], 'float32');
  const mean = backend.makeOutput([n, groups], 'float32');
  const variance = backend.makeOutput([n, groups], 'float32');
  const scratch = backend.makeOutput([2 * c], 'float32');
  run(backend, runner, [x, gamma, beta], [y, mean, variance, scratch], (e, [xp, gp, bp], [yp, mp, vp, sp]) =>
    e.chnorm_fwd(n, s, c, groups, xp!, gp!, bp!, eps, relu, yp!, mp!, vp!, sp!),
  );
  backend.disposeData(scratch.dataId);
  return [y, mean, variance];
}

function channelNormGradKernelFunc(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as WasmBackend;
  const runner = pickRunner(backend);
  const { dy, x, mean, variance, gamma, beta } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; mean: tf.TensorInfo; variance: tf.TensorInfo; gamma: tf.TensorInfo; beta?: tf.TensorInfo };
  const eps = Number(args.attrs?.['epsilon']);
  const [n, s, c] = x.shape as [number, number, number];
  const groups = mean.shape[1]!;
  const dx = backend.makeOutput([n, s, c], 'float32');
  const dgamma = backend.makeOutput([c], 'float32');
  const dbeta = backend.makeOutput([c], 'float32');
  const scratch = backend.makeOutput([5 * c], 'float32');
  run(backend, runner, [dy, x, mean, variance, gamma, beta ?? null], [dx, dgamma, dbeta, scratch], (e, [dyp, xp, mp, vp, gp, bp], [dxp, dgp, dbp, sp]) =>
    e.chnorm_bwd(n, s, c, groups, dyp!, xp!, mp!, vp!, gp!, bp!, eps, dxp!, dgp!, dbp!, sp!),
  );
  backend.disposeData(scratch.dataId);
  return [dx, dgamma, dbeta];
}

// Registered at import (cheap; the module itself is compiled on first use by module.ts).
registerWasmKernel(GELU_KERNEL_NAME, geluKernelFunc);
registerWasmKernel(GELU_GRAD_KERNEL_NAME, geluGradKernelFunc);
registerWasmKernel(LAYER_NORM_KERNEL_NAME, layerNormKernelFunc);
registerWasmKernel(LAYER_NORM_GRAD_KERNEL_NAME, layerNormGradKernelFunc);
registerWasmKernel(CHANNEL_NORM_KERNEL_NAME, channelNormKernelFunc);
registerWasmKernel(CHANNEL_NORM_GRAD_KERNEL_NAME, channelNormGradKernelFunc);

function assertFloat32(t: tf.Tensor, argument: string): void {
  if (t.dtype !== 'float32') {
    throw new InvalidArgumentError({
      argument: `${argument}.dtype`,
      message: `${argument} must be a float32 tensor.`,
      received: t.dtype,
      fix: `Cast it first: tf.cast(${argument}, 'float32').`,
    });
  }
}

function assertTensor(t: unknown, argument: string): asserts t is tf.Tensor {
  if (!(t instanceof tf.Tensor)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a tf.Tensor.`, received: t });
  }
}

function assertShape(t: tf.Tensor, shape: readonly number[], argument: string): void {
  if (!tf.util.arraysEqual(t.shape, [...shape])) {
    throw new ShapeError({ argument, expected: `[${shape.join(', ')}]`, received: t.shape });
  }
}

/** What {@link geluForward} returns next to `y` for the backward pass. */
export type GeluSaved = 'derivative' | 'cdf' | 'none';

/** Outputs of {@link geluForward}; the caller owns every tensor. */
export interface GeluForwardResult {
  /** `x·Φ(x)`, shape of `x`. */
  y: tf.Tensor;
  /** `Φ(x)` when `save` is 'cdf', else null. */
  cdf: tf.Tensor | null;
  /** `Φ(x) + x·φ(x)` (dy/dx) when `save` is 'derivative', else null. */
  derivative: tf.Tensor | null;
}

/**
 * Exact GELU `y = x·Φ(x)`, `Φ(x) = 0.5·(1 + erf(x/√2))`, in one vdafm kernel call on the 'wasm'
 * backend, with what the backward pass needs in the same pass. Not differentiable: wrap it in a
 * `tf.customGrad` node.
 *
 * With `save: 'derivative'` (recommended) the second output is `Φ(x) + x·φ(x)` and the gradient
 * is simply `tf.mul(dy, derivative)` (one same-shape multiply; only one tensor kept for the
 * backward pass); with 'cdf' it is `Φ(x)`, for {@link geluBackward} with `x`; with 'none'
 * nothing more ({@link geluBackward} then recomputes from `x`).
 *
 * Accuracy: erf to ~1e-7 absolute (float32 rounding level); `Φ` for `x < 0` is computed from
 * erfc, so it is relatively accurate in the left tail (stock `0.5·(1 + erf)` is only absolutely
 * accurate there).
 *
 * @param x - float32, any shape.
 * @param save - what to return next to `y`, see {@link GeluForwardResult}.
 * @defaultValue save 'derivative'
 * @returns the outputs (the caller owns them), or null when our kernels are not active (another
 *   backend, disabled, or not loaded): compute GELU with stock ops then.
 * @throws {@link InvalidArgumentError} when `x` is not a float32 tensor or `save` is not one of
 *   'derivative', 'cdf', 'none'.
 * @example
 * ```ts
 * const out = geluForward(tf.tensor1d([0, 1])); // on 'wasm': { y ≈ [0, 0.8413], derivative ≈ [0.5, 1.0833], cdf: null }
 * ```
 */
export function geluForward(x: tf.Tensor, save: GeluSaved = 'derivative'): GeluForwardResult | null {
  assertTensor(x, 'x');
  assertFloat32(x, 'x');
  assertOneOf(save, ['derivative', 'cdf', 'none'] as const, 'save');
  if (!fastKernelsActive()) return null;
  const mode = save === 'none' ? 0 : save === 'cdf' ? 1 : 2;
  const out = tf.engine().runKernel(GELU_KERNEL_NAME, { x }, { save: mode }) as tf.Tensor[];
  return { y: out[0]!, cdf: mode === 1 ? out[1]! : null, derivative: mode === 2 ? out[1]! : null };
}

/**
 * Gradient of exact GELU: `dx = dy·(Φ(x) + x·φ(x))`, `φ(x) = exp(−x²/2)/√(2π)`, in one vdafm
 * kernel call on the 'wasm' backend. With `cdf` (from `geluForward(x, 'cdf')`) it computes only
 * `φ`; without, it recomputes `Φ` too. (After `geluForward(x, 'derivative')` use
 * `tf.mul(dy, derivative)` instead.)
 *
 * @param dy - float32, shape of `x`.
 * @param x - float32, the forward input.
 * @param cdf - `Φ(x)` of shape of `x`, or null.
 * @returns `dx`, shape of `x` (the caller owns it), or null when our kernels are not active.
 * @throws {@link ShapeError} when `dy` or `cdf` does not have `x`'s shape.
 * @throws {@link InvalidArgumentError} when a tensor is not float32.
 * @example
 * ```ts
 * const x = tf.tensor1d([0, 1]);
 * geluBackward(tf.ones([2]), x, null); // on 'wasm': ≈ [0.5, 1.0833]
 * ```
 */
export function geluBackward(dy: tf.Tensor, x: tf.Tensor, cdf: tf.Tensor | null): tf.Tensor | null {
  assertTensor(x, 'x');
  assertTensor(dy, 'dy');
  assertFloat32(x, 'x');
  assertFloat32(dy, 'dy');
  assertShape(dy, x.shape, 'dy');
  if (cdf !== null) {
    assertTensor(cdf, 'cdf');
    assertFloat32(cdf, 'cdf');
    assertShape(cdf, x.shape, 'cdf');
  }
  if (!fastKernelsActive()) return null;
  return tf.engine().runKernel(GELU_GRAD_KERNEL_NAME, cdf ? { dy, x, cdf } : { dy, x }, {}) as tf.Tensor;
}

/** Outputs of {@link layerNormForward}; the caller owns every tensor. */
export interface LayerNormForwardResult {
  /** `x̂·gamma + beta`, shape of `x`. */
  y: tf.Tensor;
  /** Row means, shape `x.shape[:-1]` (rank 0 for a rank-1 `x`). */
  mean: tf.Tensor;
  /** Row `1/sqrt(var + epsilon)` (biased variance), shape `x.shape[:-1]`. */
  rstd: tf.Tensor;
}

function checkLayerNormInputs(x: tf.Tensor, gamma: tf.Tensor | null, argumentX: string): number {
  assertTensor(x, argumentX);
  assertFloat32(x, argumentX);
  const d = x.shape[x.rank - 1];
  if (x.rank < 1 || d === undefined || d < 1) {
    throw new ShapeError({ argument: argumentX, expected: '[..., d] with d ≥ 1', received: x.shape });
  }
  if (gamma !== null) {
    assertTensor(gamma, 'gamma');
    assertFloat32(gamma, 'gamma');
    assertShape(gamma, [d], 'gamma');
  }
  return d;
}

/**
 * Layer normalisation over the last axis, `y = (x − mean)·rstd·gamma + beta`,
 * `rstd = 1/sqrt(mean((x − mean)²) + epsilon)` (biased variance, epsilon inside the square
 * root, as PyTorch `nn.LayerNorm`), in one vdafm kernel call on the 'wasm' backend: one pass over
 * the rows, SIMD over `d`. Not differentiable: wrap it in a `tf.customGrad` node that keeps `x`,
 * `mean` and `rstd` for {@link layerNormBackward}.
 *
 * Any rank: the kernel treats `x` as `[prod(x.shape[:-1]), d]` itself (no reshape needed).
 *
 * @param x - float32 `[..., d]`, `d ≥ 1`.
 * @param gamma - float32 `[d]` scale, or null for 1.
 * @param beta - float32 `[d]` offset, or null for 0.
 * @param epsilon - added to the variance (a finite number ≥ 0).
 * @returns `{ y, mean, rstd }` (the caller owns them), or null when our kernels are not active.
 * @throws {@link ShapeError} when `x` has rank 0 or a last axis of 0, or `gamma`/`beta` is not `[d]`.
 * @throws {@link InvalidArgumentError} when a tensor is not float32 or `epsilon` is not a finite
 *   number ≥ 0.
 * @example
 * ```ts
 * const out = layerNormForward(tf.tensor2d([[1, 2, 3]]), null, null, 1e-5);
 * // on 'wasm': y ≈ [[-1.2247, 0, 1.2247]], mean [2], rstd ≈ [1.2247]
 * ```
 */
export function layerNormForward(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null, epsilon: number): LayerNormForwardResult | null {
  const d = checkLayerNormInputs(x, gamma, 'x');
  if (beta !== null) {
    assertTensor(beta, 'beta');
    assertFloat32(beta, 'beta');
    assertShape(beta, [d], 'beta');
  }
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) {
    throw new InvalidArgumentError({ argument: 'epsilon', message: 'epsilon must be a finite number ≥ 0.', received: epsilon });
  }
  if (!fastKernelsActive()) return null;
  const inputs: tf.NamedTensorMap = { x };
  if (gamma) inputs['gamma'] = gamma;
  if (beta) inputs['beta'] = beta;
  const [y, mean, rstd] = tf.engine().runKernel(LAYER_NORM_KERNEL_NAME, inputs, { epsilon }) as tf.Tensor[];
  return { y: y!, mean: mean!, rstd: rstd! };
}

/** Outputs of {@link layerNormBackward}; the caller owns every tensor. */
export interface LayerNormBackwardResult {
  /** Gradient for `x`, shape of `x`. */
  dx: tf.Tensor;
  /** `Σ_rows dy·x̂`, `[d]`, when `gamma` was given, else null. */
  dgamma: tf.Tensor1D | null;
  /** `Σ_rows dy`, `[d]`, when `betaGrad`, else null. */
  dbeta: tf.Tensor1D | null;
}

/**
 * Gradients of {@link layerNormForward} in one vdafm kernel call on the 'wasm' backend:
 * `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))` with `g = dy·gamma` and `x̂ = (x − mean)·rstd`
 * recomputed from `x` (nothing of size `[rows, d]` but `x` needs keeping); `dgamma = Σ_rows dy·x̂`,
 * `dbeta = Σ_rows dy` (summed in row order).
 *
 * @param dy - float32, shape of `x`.
 * @param x - float32 `[..., d]`, the forward input.
 * @param mean - `mean` from {@link layerNormForward}, shape `x.shape[:-1]`.
 * @param rstd - `rstd` from {@link layerNormForward}, shape `x.shape[:-1]`.
 * @param gamma - the forward `gamma` `[d]`, or null (then no `dgamma`).
 * @param betaGrad - whether to compute `dbeta` (the forward had a `beta`).
 * @returns `{ dx, dgamma, dbeta }` (the caller owns them), or null when our kernels are not active.
 * @throws {@link ShapeError} when a shape does not match `x`'s.
 * @throws {@link InvalidArgumentError} when a tensor is not float32 or `betaGrad` is not a boolean.
 * @example
 * ```ts
 * const x = tf.tensor2d([[1, 2, 3]]);
 * const f = layerNormForward(x, null, null, 1e-5)!;
 * const g = layerNormBackward(tf.tensor2d([[1, 0, 0]]), x, f.mean, f.rstd, null, true);
 * // on 'wasm': dx ≈ [[0.2041, -0.4082, 0.2041]], dbeta [1, 0, 0], dgamma null
 * ```
 */
export function layerNormBackward(
  dy: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor,
  rstd: tf.Tensor,
  gamma: tf.Tensor | null,
  betaGrad: boolean,
): LayerNormBackwardResult | null {
  checkLayerNormInputs(x, gamma, 'x');
  assertBoolean(betaGrad, 'betaGrad');
  const lead = x.shape.slice(0, -1);
  for (const [t, name, shape] of [[dy, 'dy', x.shape], [mean, 'mean', lead], [rstd, 'rstd', lead]] as const) {
    assertTensor(t, name);
    assertFloat32(t, name);
    assertShape(t, shape, name);
  }
  if (!fastKernelsActive()) return null;
  const inputs: tf.NamedTensorMap = { dy, x, mean, rstd };
  if (gamma) inputs['gamma'] = gamma;
  const out = tf.engine().runKernel(LAYER_NORM_GRAD_KERNEL_NAME, inputs, { betaGrad }) as tf.Tensor[];
  return {
    dx: out[0]!,
    dgamma: gamma ? (out[1] as tf.Tensor1D) : null,
    dbeta: betaGrad ? (out[gamma ? 2 : 1] as tf.Tensor1D) : null,
  };
}

/** Outputs of {@link channelNormForward}; the caller owns every tensor. */
export interface ChannelNormForwardResult {
  /** `(x − mean)·rstd·gamma + beta`, `[n, s, c]`. */
  y: tf.Tensor3D;
  /** Mean per (sample, group), `[n, groups]`. */
  mean: tf.Tensor2D;
  /** Biased variance per (sample, group), `[n, groups]`. */
  variance: tf.Tensor2D;
}

/**
 * Whether {@link channelNormForward} / {@link channelNormBackward} run (rather than return null)
 * for `c` channels: our kernels active, and `c` a multiple of 4 (the kernel's vectors).
 *
 * @example
 * ```ts
 * channelNormSupported(32); // true on 'wasm' with vdafm's kernels, false elsewhere
 * ```
 */
export function channelNormSupported(c: number): boolean {
  return fastKernelsActive() && c % 4 === 0;
}

function checkChannelNorm(x: tf.Tensor, gamma: tf.Tensor, groups: number): number {
  assertTensor(x, 'x');
  assertFloat32(x, 'x');
  if (x.rank !== 3 || x.shape[1]! < 1 || x.shape[2]! < 1) throw new ShapeError({ argument: 'x', expected: '[n, s, c] with s, c ≥ 1', received: x.shape });
  const c = x.shape[2]!;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new InvalidArgumentError({ argument: 'groups', message: `groups must be a positive integer dividing the ${c} channels.`, received: groups });
  }
  assertTensor(gamma, 'gamma');
  assertFloat32(gamma, 'gamma');
  assertShape(gamma, [c], 'gamma');
  return c;
}

/**
 * Batch or group normalisation of channels-last maps in one vdafm kernel call on the 'wasm'
 * backend: statistics per (sample, group) of `x` `[n, s, c]` over the `s` positions and the
 * `c / groups` channels of the group (batch norm: `n = 1`, `groups = c`), two passes (biased
 * variance of the centred values), then `y = (x − mean)·(rstd·gamma) + beta` with
 * `rstd = 1/sqrt(variance + epsilon)`, and with `relu` `max(y, 0)` in the same pass. Not
 * differentiable: wrap it in a `tf.customGrad` node that keeps `x`, `mean` and `variance` for
 * {@link channelNormBackward}.
 *
 * @param x - float32 `[n, s, c]`.
 * @param gamma - float32 `[c]`.
 * @param beta - float32 `[c]`.
 * @param groups - channel groups (divides `c`).
 * @param epsilon - added to the variance (finite, ≥ 0).
 * @param relu - apply ReLU to the output (a NaN stays NaN).
 * @defaultValue relu false
 * @returns `{ y, mean, variance }` (the caller owns them), or null when our kernels are not active
 *   or `c` is not a multiple of 4 (the kernel's vectors): compute it with stock ops then.
 * @throws {@link ShapeError} when `x` is not `[n, s, c]` or `gamma`/`beta` is not `[c]`.
 * @throws {@link InvalidArgumentError} when a tensor is not float32, `groups` does not divide `c`
 *   or `epsilon` is not a finite number ≥ 0.
 * @example
 * ```ts
 * const out = channelNormForward(tf.tensor3d([[[1, 2, 3, 4], [3, 4, 5, 6]]]), tf.ones([4]), tf.zeros([4]), 4, 0);
 * // on 'wasm': y [[[-1, -1, -1, -1], [1, 1, 1, 1]]], mean [[2, 3, 4, 5]], variance [[1, 1, 1, 1]]
 * ```
 */
export function channelNormForward(x: tf.Tensor3D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, epsilon: number, relu = false): ChannelNormForwardResult | null {
  const c = checkChannelNorm(x, gamma, groups);
  assertTensor(beta, 'beta');
  assertFloat32(beta, 'beta');
  assertShape(beta, [c], 'beta');
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) {
    throw new InvalidArgumentError({ argument: 'epsilon', message: 'epsilon must be a finite number ≥ 0.', received: epsilon });
  }
  assertBoolean(relu, 'relu');
  if (!channelNormSupported(c)) return null;
  const [y, mean, variance] = tf.engine().runKernel(CHANNEL_NORM_KERNEL_NAME, { x, gamma, beta }, { groups, epsilon, relu }) as tf.Tensor[];
  return { y: y as tf.Tensor3D, mean: mean as tf.Tensor2D, variance: variance as tf.Tensor2D };
}

/** Outputs of {@link channelNormBackward}; the caller owns every tensor. */
export interface ChannelNormBackwardResult {
  /** Gradient for `x`, `[n, s, c]`. */
  dx: tf.Tensor3D;
  /** `Σ dy·x̂` over samples and positions, `[c]`. */
  dgamma: tf.Tensor1D;
  /** `Σ dy` over samples and positions, `[c]`. */
  dbeta: tf.Tensor1D;
}

/**
 * Gradients of {@link channelNormForward} in one vdafm kernel call on the 'wasm' backend, with the
 * centred input recomputed from `x` and `mean`: `dx = dy·A + (x − mean)·B + Q` per (sample,
 * group), `A = rstd·gamma`, `B = −rstd³/count·Σ gamma·dy·(x − mean)`, `Q = −rstd/count·Σ gamma·dy`
 * (`count = s·c/groups`); `dgamma = Σ rstd·dy·(x − mean)`, `dbeta = Σ dy`. After a forward with
 * `relu`, pass its `beta` as `reluBeta`: dy is first masked where the output was 0 (the mask
 * recomputed from `x` with the forward's arithmetic, bit for bit).
 *
 * @param dy - float32 `[n, s, c]`.
 * @param x - the forward input `[n, s, c]`.
 * @param mean - from {@link channelNormForward}, `[n, groups]`.
 * @param variance - from {@link channelNormForward}, `[n, groups]`.
 * @param gamma - the forward `gamma` `[c]`.
 * @param epsilon - the forward `epsilon`.
 * @param reluBeta - the forward's `beta` when it applied ReLU, else null.
 * @defaultValue reluBeta null
 * @returns `{ dx, dgamma, dbeta }` (the caller owns them), or null when our kernels are not
 *   active or `c` is not a multiple of 4.
 * @throws {@link ShapeError} when a shape does not match.
 * @throws {@link InvalidArgumentError} when a tensor is not float32.
 * @example
 * ```ts
 * const x = tf.tile(tf.tensor3d([[[1], [3]]]), [1, 1, 4]) as tf.Tensor3D;
 * const f = channelNormForward(x, tf.ones([4]), tf.zeros([4]), 4, 0)!;
 * channelNormBackward(tf.onesLike(x) as tf.Tensor3D, x, f.mean, f.variance, tf.ones([4]), 0);
 * // on 'wasm': dx all 0 (a constant dy moves no normalised value), dgamma [0, 0, 0, 0], dbeta [2, 2, 2, 2]
 * ```
 */
export function channelNormBackward(
  dy: tf.Tensor3D,
  x: tf.Tensor3D,
  mean: tf.Tensor2D,
  variance: tf.Tensor2D,
  gamma: tf.Tensor1D,
  epsilon: number,
  reluBeta: tf.Tensor1D | null = null,
): ChannelNormBackwardResult | null {
  assertTensor(mean, 'mean');
  if (mean.rank !== 2) throw new ShapeError({ argument: 'mean', expected: '[n, groups]', received: mean.shape });
  const groups = mean.shape[1]!;
  const c = checkChannelNorm(x, gamma, groups);
  for (const [t, name, shape] of [[dy, 'dy', x.shape], [mean, 'mean', [x.shape[0], groups]], [variance, 'variance', [x.shape[0], groups]]] as const) {
    assertTensor(t, name);
    assertFloat32(t, name);
    assertShape(t, shape, name);
  }
  if (reluBeta !== null) {
    assertTensor(reluBeta, 'reluBeta');
    assertFloat32(reluBeta, 'reluBeta');
    assertShape(reluBeta, [c], 'reluBeta');
  }
  if (!channelNormSupported(c)) return null;
  const inputs: tf.NamedTensorMap = { dy, x, mean, variance, gamma };
  if (reluBeta) inputs['beta'] = reluBeta;
  const [dx, dgamma, dbeta] = tf.engine().runKernel(CHANNEL_NORM_GRAD_KERNEL_NAME, inputs, { epsilon }) as tf.Tensor[];
  return { dx: dx as tf.Tensor3D, dgamma: dgamma as tf.Tensor1D, dbeta: dbeta as tf.Tensor1D };
}
