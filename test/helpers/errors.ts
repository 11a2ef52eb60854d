// Asserting vdafm's typed errors (class via the cross-copy `isInstance`, and the argument named).
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** Runs `call` inside a tidy and expects it to throw an error of `type` naming `argument`. */
export function expectArgumentError(call: () => unknown, type: { isInstance(e: unknown): boolean }, argument: string): void {
  tf.tidy(() => {
    let caught: unknown;
    try {
      call();
    } catch (e) {
      caught = e;
    }
    expect(type.isInstance(caught), `expected a typed error naming ${argument}, got ${String(caught)}`).toBe(true);
    expect((caught as { argument?: string }).argument).toBe(argument);
  });
}
