/**
 * Shape and argument assertions that throw vdafm's typed errors with
 * "what / expected / Received: / fix" messages.
 *
 * They accept concrete tensors and symbolic tensors alike (anything with a `shape`), or raw
 * shapes, so layers can check inputs both in `computeOutputShape` and in `call`.
 *
 * Slightly over the ~450-line guide on purpose: one home for every argument check (#13 merged
 * core/shapes.ts and the helpers of layers/common.ts here), mostly short documented functions.
 *
 * @packageDocumentation
 */
import { formatShape, InvalidArgumentError, ShapeError, type ShapeLike } from '../errors.js';

/** A (symbolic) tensor shape: `null` marks an unknown dimension (usually the batch). */
export type Shape = Array<number | null>;

/** A tensor, a symbolic tensor or a raw shape. */
export type HasShape = { readonly shape: ShapeLike } | ShapeLike;

function shapeOf(x: HasShape): ShapeLike {
  return Array.isArray(x) ? (x as ShapeLike) : (x as { shape: ShapeLike }).shape;
}

/**
 * Asserts that `x` is a tensor or a symbolic tensor (anything with a `shape` array), before its
 * shape is checked: a number, `null` or a plain object is a typed error, not a `TypeError`.
 *
 * @param x - the value received.
 * @param argument - argument name used in the error.
 * @param expected - description of the expected shape, e.g. `'[batch, tokens, dim]'`.
 * @throws {@link InvalidArgumentError} naming `argument` when `x` has no shape.
 * @example
 * ```ts
 * assertTensorLike(tf.zeros([2, 3]), 'visualEmbedding', '[batch, embedDim]'); // ok
 * assertTensorLike(undefined, 'textMask', '[batch, textTokens]'); // InvalidArgumentError
 * ```
 */
export function assertTensorLike(x: unknown, argument: string, expected: string): asserts x is { readonly shape: ShapeLike } {
  const shape = (x as { shape?: unknown } | null | undefined)?.shape;
  if (!Array.isArray(shape)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a tensor of shape ${expected}.`,
      received: x === null || x === undefined ? x : typeof x === 'object' ? '[an object without a shape]' : x,
    });
  }
}

/**
 * Asserts that a layer input's shape, as the layer received it (`input.shape`), is a shape: an
 * input that is not a tensor has none.
 *
 * @param shape - the input's `shape` (undefined for a number, a string, a plain object).
 * @param argument - the input's name in the layer's contract, e.g. `'text'`.
 * @param expected - description of the expected shape.
 * @throws {@link InvalidArgumentError} naming `argument` when `shape` is not an array.
 * @example
 * ```ts
 * assertIsShape([2, 16, 64], 'text', '[batch, textTokens, textDim]'); // ok
 * ```
 */
export function assertIsShape(shape: unknown, argument: string, expected: string): asserts shape is Shape {
  if (!Array.isArray(shape)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a tensor of shape ${expected}; it has no shape.` });
  }
}

/**
 * Asserts that a built layer is re-applied to an input of the width (last dimension) it was built
 * with: its weights are sized for that width.
 *
 * @param shape - the input's shape.
 * @param built - the width the layer was built with, or null before `build`.
 * @param argument - the input's name in the layer's contract.
 * @param tokens - the name of the input's token axis in the expected shape, e.g. `'textTokens'`.
 * @param layer - the layer's class, for the message.
 * @throws {@link ShapeError} naming `argument`, expected `[batch, tokens, built]`.
 * @example
 * ```ts
 * assertBuiltWidth([2, 16, 64], 64, 'text', 'textTokens', 'VDAFM'); // ok
 * ```
 */
export function assertBuiltWidth(shape: ShapeLike, built: number | null, argument: string, tokens: string, layer: string): void {
  const width = shape[shape.length - 1];
  if (built === null || width == null || width < 0 || width === built) return;
  const expected = `[batch, ${tokens}, ${built}]`;
  throw new ShapeError({
    argument,
    expected,
    received: shape,
    message: `${argument} must have shape ${expected}: this ${layer} layer was built for ${argument} of width ${built} (its weights are sized for it), not ${width}.`,
    fix: `Create a new layer for inputs of width ${width}.`,
  });
}

/**
 * Asserts that `x` has rank `rank`.
 *
 * @param x - tensor, symbolic tensor or shape.
 * @param rank - the required rank.
 * @param argument - argument name used in the error.
 * @param expected - description of the expected shape, e.g. `'[batch, tokens, dim]'`.
 * @throws {@link ShapeError} when the rank differs.
 * @example
 * ```ts
 * assertRank([2, 49, 64], 3, 'visual', '[batch, tokens, dim]'); // ok
 * assertRank([2, 49], 3, 'visual', '[batch, tokens, dim]');
 * // ShapeError: visual must have shape [batch, tokens, dim] (rank 3). Received: visual.shape=[2,49].
 * ```
 */
export function assertRank(x: HasShape, rank: number, argument: string, expected: string): void {
  const shape = shapeOf(x);
  if (shape.length !== rank) {
    throw new ShapeError({
      argument,
      expected,
      received: shape,
      message: `${argument} must have shape ${expected} (rank ${rank}).`,
    });
  }
}

/**
 * Asserts that dimension `axis` of `x` equals `size` (skipped when the dimension is unknown).
 *
 * @throws {@link ShapeError} when the dimension differs.
 * @example
 * ```ts
 * assertDim([2, 49, 64], -1, 64, 'visual', '[batch, tokens, 64]'); // ok
 * ```
 */
export function assertDim(
  x: HasShape,
  axis: number,
  size: number,
  argument: string,
  expected: string,
  fix?: string,
): void {
  const shape = shapeOf(x);
  const a = axis < 0 ? shape.length + axis : axis;
  const d = shape[a];
  if (d != null && d >= 0 && d !== size) {
    throw new ShapeError({
      argument,
      expected,
      received: shape,
      message: `${argument} must have shape ${expected} (dimension ${a} must be ${size}, got ${d}).`,
      ...(fix === undefined ? {} : { fix }),
    });
  }
}

/**
 * Asserts that two tensors agree on the given axes (unknown dimensions always agree).
 *
 * @throws {@link ShapeError} naming `argumentA` (whose shape it shows) when they differ.
 * @example
 * ```ts
 * assertSameDims([2, 64], [2, 64, 32], [0, 1], 'mask', 'value', '[batch, keys]'); // ok
 * ```
 */
export function assertSameDims(
  a: HasShape,
  b: HasShape,
  axes: ReadonlyArray<number>,
  argumentA: string,
  argumentB: string,
  expected: string,
): void {
  const sa = shapeOf(a);
  const sb = shapeOf(b);
  for (const axis of axes) {
    const da = sa[axis < 0 ? sa.length + axis : axis];
    const db = sb[axis < 0 ? sb.length + axis : axis];
    if (da != null && db != null && da >= 0 && db >= 0 && da !== db) {
      throw new ShapeError({
        argument: argumentA,
        expected,
        received: sa,
        message: `${argumentA} must match ${argumentB} on axis ${axis} (${argumentB}.shape=[${sb
          .map((d) => (d == null || d < 0 ? 'null' : d))
          .join(',')}]); expected ${expected}.`,
      });
    }
  }
}

/**
 * Asserts a positive integer argument.
 *
 * @throws {@link InvalidArgumentError}
 * @example
 * ```ts
 * assertPositiveInt(8, 'numHeads'); // ok
 * ```
 */
export function assertPositiveInt(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a positive integer.`,
      received: value,
    });
  }
}

/**
 * Asserts a non-negative integer argument.
 *
 * @throws {@link InvalidArgumentError}
 * @example
 * ```ts
 * assertNonNegativeInt(0, 'numLayers'); // ok
 * ```
 */
export function assertNonNegativeInt(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a non-negative integer.`,
      received: value,
    });
  }
}

/**
 * Asserts a rate in [0, 1) (dropout-like).
 *
 * @throws {@link InvalidArgumentError}
 * @example
 * ```ts
 * assertRate(0.1, 'dropout'); // ok
 * ```
 */
export function assertRate(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a number in [0, 1).`,
      received: value,
    });
  }
}

/**
 * Asserts a finite, strictly positive number.
 *
 * @throws {@link InvalidArgumentError}
 * @example
 * ```ts
 * assertPositiveNumber(1e-5, 'epsilon'); // ok
 * ```
 */
export function assertPositiveNumber(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a finite number > 0.`,
      received: value,
    });
  }
}

/**
 * Asserts a finite number ≥ 0 (a loss weight, a multiplier).
 *
 * @throws {@link InvalidArgumentError}
 * @example
 * ```ts
 * assertNonNegativeNumber(0, 'pretrain.global'); // ok
 * ```
 */
export function assertNonNegativeNumber(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a finite number ≥ 0.`, received: value });
  }
}

/**
 * Asserts that `value` is one of `allowed`.
 *
 * @throws {@link InvalidArgumentError}
 * @example
 * ```ts
 * assertOneOf('gated', ['gated', 'concat', 'sum'] as const, 'fusion'); // ok
 * ```
 */
export function assertOneOf<T extends string>(
  value: unknown,
  allowed: ReadonlyArray<T>,
  argument: string,
): asserts value is T {
  if (typeof value !== 'string' || !(allowed as ReadonlyArray<string>).includes(value)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}.`,
      received: value,
    });
  }
}

/**
 * Asserts a boolean argument.
 *
 * @throws {@link InvalidArgumentError}
 * @example
 * ```ts
 * assertBoolean(true, 'useBias'); // ok
 * ```
 */
export function assertBoolean(value: unknown, argument: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a boolean.`, received: value });
  }
}

/**
 * Validates a per-spatial-axis option (kernel size, strides): a positive integer for every
 * axis, or a list of `n` positive integers.
 *
 * @returns the list, one entry per axis.
 * @throws {@link InvalidArgumentError} naming `argument`.
 * @example
 * ```ts
 * spatialList(2, 3, 'strides'); // [2, 2, 2]
 * ```
 */
export function spatialList(value: unknown, n: number, argument: string): number[] {
  const list = typeof value === 'number' ? Array.from({ length: n }, () => value) : value;
  if (!Array.isArray(list) || list.length !== n || list.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a positive integer or a list of ${n} positive integers.`,
      received: value,
    });
  }
  return list as number[];
}

/** Names of the kernel initialisers a vdafm layer accepts (all JSON-safe, all seedable). */
export type KernelInitializerName =
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'heNormal'
  | 'leCunNormal'
  | 'truncatedNormal'
  | 'zeros';

/** Every accepted {@link KernelInitializerName}. */
export const KERNEL_INITIALIZERS: ReadonlyArray<KernelInitializerName> = [
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'leCunNormal',
  'truncatedNormal',
  'zeros',
];

/** Validates a kernel-initialiser option. */
export function checkInitializer(value: unknown, argument: string): KernelInitializerName {
  assertOneOf(value, KERNEL_INITIALIZERS, argument);
  return value;
}

/** Validates an optional integer seed. */
export function checkSeed(value: unknown, argument = 'seed'): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be an integer or undefined.`, received: value });
  }
  return value;
}

/** Validates a layer/model name prefix: a letter, then letters, digits and `_`. */
export function checkName(name: unknown, argument = 'name'): string {
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must start with a letter and hold only letters, digits and _.`, received: name });
  }
  return name;
}

/** The dtypes a mask may have: `bool`, or `float32` / `int32` holding 0 and 1. */
export const MASK_DTYPES: ReadonlyArray<string> = ['bool', 'float32', 'int32'];

/** Whether `VDAFM_VALIDATE_MASKS` is set (to anything but '', '0' or 'false') in the environment. */
function maskValidationFromEnv(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.['VDAFM_VALIDATE_MASKS']?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

let maskValuesChecked = maskValidationFromEnv();

/**
 * Turns the check of mask *values* on or off for the whole process. Every layer and loss that
 * takes a mask reads it as "valid where mask > 0.5" (see the mask contract in
 * docs/guides/vdafm.md); with the check on, a mask holding anything but 0 and 1 (2, 0.5, −1,
 * NaN) is refused with an {@link InvalidArgumentError} naming it instead. The check reads the
 * mask back from the backend (a synchronisation per mask and call), so it is off by default: turn
 * it on while debugging a data pipeline. Setting the environment variable
 * `VDAFM_VALIDATE_MASKS=1` turns it on at start-up. The dtype and the shape of a mask are always
 * checked.
 *
 * @param on - true to check mask values.
 * @throws {@link InvalidArgumentError} (argument `on`) unless `on` is a boolean.
 * @example
 * ```ts
 * import { setValidateMasks } from 'vdafm';
 *
 * setValidateMasks(true);
 * fusion.apply([visual, text, tf.fill([2, 16], 0.5)]); // InvalidArgumentError naming textMask
 * setValidateMasks(false);
 * ```
 */
export function setValidateMasks(on: boolean): void {
  assertBoolean(on, 'on');
  maskValuesChecked = on;
}

/**
 * Whether mask values are checked (see {@link setValidateMasks}).
 *
 * @example
 * ```ts
 * validateMasksEnabled(); // false unless setValidateMasks(true) or VDAFM_VALIDATE_MASKS=1
 * ```
 */
export function validateMasksEnabled(): boolean {
  return maskValuesChecked;
}

/**
 * Asserts that a mask has one of {@link MASK_DTYPES}.
 *
 * @param dtype - the mask's dtype.
 * @param shape - the mask's shape (shown in the error).
 * @param argument - the mask's name in the caller's API, e.g. `'textMask'`.
 * @throws {@link InvalidArgumentError} naming `argument` for another dtype.
 * @example
 * ```ts
 * assertMaskDtype('float32', [2, 16], 'textMask'); // ok
 * ```
 */
export function assertMaskDtype(dtype: string, shape: ShapeLike, argument: string): void {
  if (!MASK_DTYPES.includes(dtype)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be a bool tensor, or a float32 or int32 tensor of 0 (padding) and 1 (valid). Received: ${argument}.dtype=${dtype}, ${argument}.shape=${formatShape(shape)}.`,
      fix: `Cast it first, e.g. tf.cast(${argument}, 'float32').`,
    });
  }
}

/**
 * Asserts that every value of a mask is 0 or 1.
 *
 * @param values - the mask's values, row-major.
 * @param shape - the mask's shape.
 * @param argument - the mask's name in the caller's API.
 * @throws {@link InvalidArgumentError} naming `argument`, with the first bad value and its index.
 * @example
 * ```ts
 * assertMaskValues([1, 1, 0], [1, 3], 'textMask'); // ok
 * assertMaskValues([1, 0.5, 0], [1, 3], 'textMask'); // InvalidArgumentError: ... textMask[0,1] is 0.5
 * ```
 */
export function assertMaskValues(values: ArrayLike<number>, shape: ReadonlyArray<number>, argument: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === 0 || v === 1) continue;
    const index: number[] = [];
    let rest = i;
    for (let a = shape.length - 1; a >= 0; a--) {
      index.unshift(rest % shape[a]!);
      rest = Math.floor(rest / shape[a]!);
    }
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must hold only 0 (padding) and 1 (valid), or be a bool tensor; ${argument}[${index.join(',')}] of ${argument}.shape=${formatShape(shape)} is ${v}.`,
      received: v,
      fix: `Build it as tf.cast(tf.greater(x, threshold), 'float32'), or turn the check off with setValidateMasks(false).`,
    });
  }
}
