// Asserting vdafm's typed errors (class via the cross-copy `isInstance`, and the argument named):
// the one place the tests check that an error names its argument.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** An error class with the cross-copy check (`InvalidArgumentError`, `ShapeError`, their subclasses). */
export interface ArgumentErrorClass<E> {
  isInstance(error: unknown): error is E;
}

/** Options of the helpers below. */
export interface ExpectArgumentErrorOptions {
  /** Prefixes the failure messages (e.g. the case of a loop). */
  label?: string;
  /**
   * {@link expectArgumentError}: run the call inside a `tf.tidy` (its tensors are freed). Set it to
   * false where the test then checks that the call itself freed what it made.
   * @defaultValue true
   */
  tidy?: boolean;
}

/** Expects `error` (already caught) to be an error of `type` naming `argument`; returns it typed for further checks. */
export function expectIsArgumentError<E extends { argument: string }>(
  error: unknown,
  type: ArgumentErrorClass<E>,
  argument: string,
  options: ExpectArgumentErrorOptions = {},
): E {
  const where = options.label === undefined ? '' : `${options.label}: `;
  expect(type.isInstance(error), `${where}expected a typed error naming ${argument}, got ${String(error)}`).toBe(true);
  expect((error as { argument?: string }).argument, `${where}error.argument`).toBe(argument);
  return error as E;
}

/** Runs `call` (inside a tidy unless `tidy: false`) and expects it to throw an error of `type` naming `argument`; returns the error. */
export function expectArgumentError<E extends { argument: string }>(
  call: () => unknown,
  type: ArgumentErrorClass<E>,
  argument: string,
  options: ExpectArgumentErrorOptions = {},
): E {
  let caught: unknown;
  const run = () => {
    try {
      call();
    } catch (e) {
      caught = e;
    }
  };
  if (options.tidy ?? true) tf.tidy(run);
  else run();
  return expectIsArgumentError(caught, type, argument, options);
}

/** Awaits `run` (a promise, or a function returning one) and expects it to reject with an error of `type` naming `argument`; returns the error. */
export async function expectArgumentRejection<E extends { argument: string }>(
  run: Promise<unknown> | (() => Promise<unknown>),
  type: ArgumentErrorClass<E>,
  argument: string,
  options: ExpectArgumentErrorOptions = {},
): Promise<E> {
  let caught: unknown;
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (e) {
    caught = e;
  }
  return expectIsArgumentError(caught, type, argument, options);
}
