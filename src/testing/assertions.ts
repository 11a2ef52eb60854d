/**
 * Test assertions for tensors: closeness with a useful failure message, and leak checks.
 * They throw plain `Error`s, so they work under any test runner.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/** Tolerances of {@link assertTensorsClose}: passes where `|a − e| ≤ atol + rtol·|e|`. */
export interface Tolerance {
  /** Absolute tolerance. @defaultValue 1e-5 */
  atol?: number;
  /** Relative tolerance. @defaultValue 0 */
  rtol?: number;
}

/** Anything {@link assertTensorsClose} compares: tensors, numbers and (nested) number arrays. */
export type Numeric = tf.Tensor | number | ArrayLike<number> | number[][] | number[][][] | number[][][][];

function toFlat(x: Numeric): { values: Float64Array; shape: number[] | null } {
  if (x instanceof tf.Tensor) return { values: Float64Array.from(x.dataSync() as ArrayLike<number>), shape: x.shape };
  if (typeof x === 'number') return { values: Float64Array.of(x), shape: [] };
  const flat: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') flat.push(v);
    else for (const e of Array.from(v as ArrayLike<unknown>)) walk(e);
  };
  walk(x);
  return { values: Float64Array.from(flat), shape: null };
}

/**
 * Throws unless `actual` and `expected` have the same shape (when both are tensors) and are
 * element-wise close. NaN equals NaN only where both are NaN. The message gives the worst
 * element and its index.
 *
 * @example
 * ```ts
 * assertTensorsClose(tf.tensor1d([1, 2]), [1, 2.000001], { atol: 1e-5 });
 * ```
 */
export function assertTensorsClose(actual: Numeric, expected: Numeric, tolerance: Tolerance = {}, label = 'tensor'): void {
  const atol = tolerance.atol ?? 1e-5;
  const rtol = tolerance.rtol ?? 0;
  const a = toFlat(actual);
  const e = toFlat(expected);
  if (a.shape && e.shape && a.shape.join(',') !== e.shape.join(',')) {
    throw new Error(`${label}: shape [${a.shape.join(',')}] differs from expected [${e.shape.join(',')}].`);
  }
  if (a.values.length !== e.values.length) {
    throw new Error(`${label}: ${a.values.length} elements differ from expected ${e.values.length}.`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.values.length; i++) {
    const av = a.values[i]!;
    const ev = e.values[i]!;
    if (Number.isNaN(av) || Number.isNaN(ev)) {
      if (Number.isNaN(av) && Number.isNaN(ev)) continue;
      throw new Error(`${label}: element ${i} is ${av}, expected ${ev}.`);
    }
    if (av === ev) continue;
    const excess = Math.abs(av - ev) - (atol + rtol * Math.abs(ev));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    const av = a.values[worst]!;
    const ev = e.values[worst]!;
    throw new Error(
      `${label}: element ${worst} is ${av}, expected ${ev} (|diff| ${Math.abs(av - ev).toExponential(3)} > atol ${atol} + rtol ${rtol}·|expected|).`,
    );
  }
}

/** Largest absolute element-wise difference between two tensors or arrays. */
export function maxAbsDiff(actual: Numeric, expected: Numeric): number {
  const a = toFlat(actual).values;
  const e = toFlat(expected).values;
  let m = 0;
  for (let i = 0; i < Math.min(a.length, e.length); i++) m = Math.max(m, Math.abs(a[i]! - e[i]!));
  return m;
}

/**
 * Runs `fn` and throws if the number of live tensors afterwards differs from before (after
 * disposing whatever `fn` returns, if it returns tensors). Warm up first: the first call of a
 * layer builds its weights, which legitimately adds tensors.
 *
 * @returns what `fn` returned (tensors in it are disposed).
 * @example
 * ```ts
 * await assertNoLeaks(() => layer.apply(x) as tf.Tensor);
 * ```
 */
export async function assertNoLeaks<T>(fn: () => T | Promise<T>, label = 'call'): Promise<void> {
  const before = tf.memory().numTensors;
  const result = await fn();
  tf.dispose(collectTensors(result));
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new Error(`${label} leaked ${after - before} tensor(s): ${before} live before, ${after} after.`);
  }
}

/** Collects every tensor in a (nested) array or plain object. */
export function collectTensors(value: unknown, into: tf.Tensor[] = []): tf.Tensor[] {
  if (value instanceof tf.Tensor) into.push(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into);
  }
  return into;
}
