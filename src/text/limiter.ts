/**
 * A tiny concurrency limiter (p-limit and p-retry are ESM-only and would break the CJS build).
 *
 * @packageDocumentation
 */
import { assertPositiveInt } from '../core/validate.js';

/** Runs functions with at most `concurrency` of them in flight at once. */
export type Limiter = (<T>(task: () => Promise<T>) => Promise<T>) & {
  /** Tasks running now. */
  readonly active: number;
  /** Tasks waiting for a slot. */
  readonly pending: number;
};

/**
 * Creates a limiter: `limit(task)` starts `task` when fewer than `concurrency` tasks run, else
 * queues it (first in, first out). The returned promise settles with the task's result.
 *
 * @param concurrency - maximum number of tasks in flight (a positive integer).
 * @throws {@link InvalidArgumentError} when `concurrency` is not a positive integer.
 * @example
 * ```ts
 * const limit = createLimiter(2);
 * const results = await Promise.all(urls.map((u) => limit(() => fetch(u))));
 * ```
 */
export function createLimiter(concurrency: number): Limiter {
  assertPositiveInt(concurrency, 'concurrency');
  let active = 0;
  const queue: Array<() => void> = [];
  const next = (): void => {
    if (active >= concurrency) return;
    const start = queue.shift();
    if (start) {
      active++;
      start();
    }
  };
  const limit = <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        let p: Promise<T>;
        try {
          p = Promise.resolve(task());
        } catch (error) {
          p = Promise.reject(error);
        }
        p.then(resolve, reject).finally(() => {
          active--;
          next();
        });
      });
      next();
    });
  Object.defineProperties(limit, {
    active: { get: () => active },
    pending: { get: () => queue.length },
  });
  return limit as Limiter;
}
