/**
 * Typed errors thrown by vdafm.
 *
 * Every error says what happened, what was expected, what was received and how to fix it.
 * Each class carries a `Symbol.for` marker so that `isInstance` works across duplicated
 * copies of the package (an ESM and a CJS copy in the same process, two bundles in a page),
 * where `instanceof` would fail.
 *
 * @packageDocumentation
 */

const BASE_MARKER = Symbol.for('vdafm.error');

/** A shape as reported in error messages: `null` (or -1) stands for an unknown dimension. */
export type ShapeLike = ReadonlyArray<number | null>;

/**
 * Formats a shape the way error messages show it, e.g. `[2,49,null]`.
 *
 * @example
 * ```ts
 * formatShape([2, null, 64]); // '[2,null,64]'
 * ```
 */
export function formatShape(shape: ShapeLike): string {
  return `[${shape.map((d) => (d == null || d < 0 ? 'null' : String(d))).join(',')}]`;
}

/**
 * Base class of every error vdafm throws.
 *
 * @example
 * ```ts
 * try {
 *   multiHeadAttention({ numHeads: 0, keyDim: 8 });
 * } catch (e) {
 *   if (VdafmError.isInstance(e)) console.log(e.name); // 'InvalidArgumentError'
 * }
 * ```
 */
export class VdafmError extends Error {
  private readonly [BASE_MARKER] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VdafmError';
  }

  /** True for any vdafm error, from whichever copy of the package threw it. */
  static isInstance(error: unknown): error is VdafmError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[BASE_MARKER] === true
    );
  }
}

const INVALID_ARGUMENT_MARKER = Symbol.for('vdafm.error.invalidArgument');

/**
 * An argument has a value the function cannot use (wrong type, out of range, inconsistent
 * with another argument). `argument` names it, e.g. `'numHeads'` or `'config.image.widths'`.
 *
 * @example
 * ```ts
 * const e = new InvalidArgumentError({ argument: 'numHeads', message: 'numHeads must be a positive integer.', received: 0 });
 * e.message; // 'numHeads must be a positive integer. Received: numHeads=0'
 * ```
 */
export class InvalidArgumentError extends VdafmError {
  private readonly [INVALID_ARGUMENT_MARKER] = true;
  /** Name of the offending argument (dotted path for nested options). */
  readonly argument: string;
  /** The value received, when it is small enough to show. */
  readonly received: unknown;

  constructor(args: { argument: string; message: string; received?: unknown; fix?: string; cause?: unknown }) {
    const shown = 'received' in args ? ` Received: ${args.argument}=${showValue(args.received)}` : '';
    const fix = args.fix ? ` ${args.fix}` : '';
    super(`${args.message}${shown}${shown && fix ? '.' : ''}${fix}`, { cause: args.cause });
    this.name = 'InvalidArgumentError';
    this.argument = args.argument;
    this.received = args.received;
  }

  static override isInstance(error: unknown): error is InvalidArgumentError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[INVALID_ARGUMENT_MARKER] === true
    );
  }
}

const SHAPE_MARKER = Symbol.for('vdafm.error.shape');

/**
 * A tensor argument has the wrong rank or dimensions.
 * `expected` describes the shape wanted (`'[batch, tokens, 64]'`), `received` is the actual one.
 *
 * @example
 * ```ts
 * const e = new ShapeError({ argument: 'visual', expected: '[batch, tokens, dim]', received: [2, 49] });
 * e.message; // "visual must have shape [batch, tokens, dim]. Received: visual.shape=[2,49]"
 * ```
 */
export class ShapeError extends VdafmError {
  private readonly [SHAPE_MARKER] = true;
  /** Name of the offending tensor argument. */
  readonly argument: string;
  /** Human-readable description of the expected shape. */
  readonly expected: string;
  /** The shape received (`null` for unknown dimensions). */
  readonly received: ReadonlyArray<number | null>;

  constructor(args: {
    argument: string;
    expected: string;
    received: ShapeLike;
    message?: string;
    fix?: string;
  }) {
    const what = args.message ?? `${args.argument} must have shape ${args.expected}.`;
    const fix = args.fix ? ` ${args.fix}` : '';
    super(`${what} Received: ${args.argument}.shape=${formatShape(args.received)}.${fix}`.replace(/\.\.$/, '.'));
    this.name = 'ShapeError';
    this.argument = args.argument;
    this.expected = args.expected;
    this.received = args.received.map((d) => (d == null || d < 0 ? null : d));
  }

  static override isInstance(error: unknown): error is ShapeError {
    return (
      typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[SHAPE_MARKER] === true
    );
  }
}

const SERIALIZATION_MARKER = Symbol.for('vdafm.error.serialization');

/**
 * Saving or loading failed: a missing or corrupt file, an unknown format version, a layer
 * class that is not registered.
 *
 * @example
 * ```ts
 * const e = new SerializationError('model.json not found in /tmp/model.');
 * SerializationError.isInstance(e); // true
 * ```
 */
export class SerializationError extends VdafmError {
  private readonly [SERIALIZATION_MARKER] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SerializationError';
  }

  static override isInstance(error: unknown): error is SerializationError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[SERIALIZATION_MARKER] === true
    );
  }
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > 120 ? `${json.slice(0, 117)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

const NON_FINITE_MARKER = Symbol.for('vdafm.error.nonFinite');

/**
 * Training produced a non-finite (NaN or ±Infinity) loss or gradient. The trainer stops before
 * applying the update, so the model keeps its last good weights. `step` is the 0-based
 * optimisation step, `part` the loss part (e.g. `'classification'`, `'alignment'`) or
 * `'gradient'`.
 *
 * @example
 * ```ts
 * try { await trainer.fit(model, data); } catch (e) {
 *   if (NonFiniteError.isInstance(e)) console.log(e.step, e.part);
 * }
 * ```
 */
export class NonFiniteError extends VdafmError {
  private readonly [NON_FINITE_MARKER] = true;
  readonly step: number;
  readonly part: string;

  constructor(args: { step: number; part: string; value?: number }) {
    super(
      `Training step ${args.step} produced a non-finite ${args.part === 'gradient' ? 'gradient' : `loss part '${args.part}'`}${
        args.value === undefined ? '' : ` (${args.value})`
      }. The update was not applied: the model keeps its last good weights. Lower the learning rate, enable gradient clipping (clipNorm), or check the inputs for NaN.`,
    );
    this.name = 'NonFiniteError';
    this.step = args.step;
    this.part = args.part;
  }

  static override isInstance(error: unknown): error is NonFiniteError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[NON_FINITE_MARKER] === true;
  }
}
