/**
 * Input checks shared by the metrics: every public metric converts `labels` and `scores` once
 * through these helpers, which throw vdafm's typed errors naming the argument.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';

function assertArrayLike(value: unknown, argument: string): asserts value is ArrayLike<unknown> {
  const ok =
    value != null &&
    typeof value === 'object' &&
    typeof (value as { length?: unknown }).length === 'number' &&
    Number.isInteger((value as { length: number }).length) &&
    (value as { length: number }).length >= 0;
  if (!ok) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be an array or typed array of numbers.`,
      received: typeof value === 'object' && value !== null ? Object.prototype.toString.call(value) : value,
      fix: 'Pass a plain array, a Float32Array/Float64Array, or `await tensor.data()`.',
    });
  }
}

/**
 * Converts binary labels to a `Uint8Array` of 0/1.
 *
 * @throws {@link InvalidArgumentError} naming `argument` when `labels` is not array-like, is
 * empty, or holds a value other than 0 or 1.
 * @internal
 */
export function toBinaryLabels(labels: unknown, argument = 'labels'): Uint8Array {
  assertArrayLike(labels, argument);
  const n = labels.length;
  if (n === 0) {
    throw new InvalidArgumentError({ argument, message: `${argument} must not be empty.`, received: [] });
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (v === 1) out[i] = 1;
    else if (v !== 0) {
      throw new InvalidArgumentError({
        argument,
        message: `${argument} must contain only 0 (negative) and 1 (positive); ${argument}[${i}] is not.`,
        received: v,
        fix: 'Binarise your labels first, e.g. labels.map((c) => (c === positiveClass ? 1 : 0)).',
      });
    }
  }
  return out;
}

/**
 * Converts scores to a `Float64Array`, checking the length against `n` and that every value is
 * finite (and in [0, 1] when `probabilities` is set).
 *
 * @throws {@link ShapeError} naming `argument` when the length differs from `n`.
 * @throws {@link InvalidArgumentError} naming `argument` for a NaN, infinite or out-of-range value.
 * @internal
 */
export function toScores(
  scores: unknown,
  n: number,
  options: { argument?: string; probabilities?: boolean; against?: string } = {},
): Float64Array {
  const argument = options.argument ?? 'scores';
  const against = options.against ?? 'labels';
  assertArrayLike(scores, argument);
  if (scores.length !== n) {
    throw new ShapeError({
      argument,
      expected: `[${n}]`,
      received: [scores.length],
      message: `${argument} must have one entry per label (${against}.length=${n}).`,
    });
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = scores[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new InvalidArgumentError({
        argument,
        message: `${argument} must be finite numbers; ${argument}[${i}] is not.`,
        received: v,
        fix: 'Remove or impute NaN/Infinity scores before computing metrics.',
      });
    }
    if (options.probabilities && (v < 0 || v > 1)) {
      throw new InvalidArgumentError({
        argument,
        message: `${argument} must be probabilities in [0, 1] for this metric; ${argument}[${i}] is not.`,
        received: v,
        fix: 'Apply a sigmoid to logits first.',
      });
    }
    out[i] = v;
  }
  return out;
}

/** Counts positives in validated labels. @internal */
export function countPositives(labels: Uint8Array): number {
  let p = 0;
  for (let i = 0; i < labels.length; i++) p += labels[i]!;
  return p;
}

/**
 * Throws unless validated labels contain both classes.
 *
 * @throws {@link InvalidArgumentError} naming `argument`.
 * @internal
 */
export function assertBothClasses(labels: Uint8Array, metric: string, argument = 'labels'): void {
  const p = countPositives(labels);
  if (p === 0 || p === labels.length) {
    throw new InvalidArgumentError({
      argument,
      message:
        `${metric} is undefined when ${argument} contain a single class ` +
        `(${p === 0 ? 'no positives' : 'no negatives'} among ${labels.length}).`,
      received: `${p} positives, ${labels.length - p} negatives`,
      fix: 'Evaluate on a sample with at least one positive and one negative (use a stratified split).',
    });
  }
}

/**
 * Checks an optional decision threshold.
 *
 * @throws {@link InvalidArgumentError} naming `argument` unless it is a finite number.
 * @internal
 */
export function checkThreshold(value: unknown, argument = 'threshold'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a finite number.`, received: value });
  }
  return value;
}

/**
 * Checks an options argument is an object (or undefined).
 *
 * @throws {@link InvalidArgumentError} naming `argument`.
 * @internal
 */
export function checkOptions(value: unknown, argument = 'options'): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be an object.`, received: value });
  }
  return value as Record<string, unknown>;
}
