/**
 * One `abort` listener per signal, shared by every request and wait that watches it: a batch
 * with many requests in flight on one `AbortSignal` would otherwise add a listener each and
 * trigger Node's `MaxListenersExceededWarning` past 10. Browser-safe (no `node:events`).
 *
 * @packageDocumentation
 * @internal
 */

const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` once when `signal` fires (at once when it already has); returns a function that
 * stops watching. Every watcher of a signal shares one listener on it.
 * @internal
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  let set = watchers.get(signal);
  if (set === undefined) {
    const fns = new Set<() => void>();
    set = fns;
    watchers.set(signal, fns);
    signal.addEventListener(
      'abort',
      () => {
        watchers.delete(signal);
        for (const f of [...fns]) f();
        fns.clear();
      },
      { once: true },
    );
  }
  const fns = set;
  fns.add(fn);
  return () => void fns.delete(fn);
}
