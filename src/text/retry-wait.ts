/**
 * What the OpenAI-compatible generator waits between attempts: the default abortable sleep, and
 * the server's Retry-After header.
 *
 * @packageDocumentation
 */
import { onAbort } from './abort.js';
import { MAX_TIMER_MS } from './openai-options.js';
import { abortedError } from './request.js';

/** `setTimeout`-based sleep that rejects with an `'aborted'` error when `signal` fires. @internal */
export const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError());
      return;
    }
    const stop = (): void => {
      clearTimeout(timer);
      reject(abortedError());
    };
    const timer = setTimeout(() => {
      unwatch();
      resolve();
    }, Math.min(ms, MAX_TIMER_MS));
    const unwatch = signal ? onAbort(signal, stop) : () => undefined;
  });

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** The three HTTP-date forms of RFC 9110 (IMF-fixdate, RFC 850, asctime). */
const HTTP_DATE = new RegExp(
  `^(?:${DAY}, \\d{2} ${MONTH} \\d{4} ${TIME} GMT|${DAY}[a-z]*, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT|${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4})$`,
);

/**
 * Parses a Retry-After header (delta seconds, or an HTTP date as RFC 9110 spells it) into
 * milliseconds from now; anything else (`-5`, `1,5`, an ISO date) is undefined, so the default
 * backoff applies. @internal
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!HTTP_DATE.test(v)) return undefined;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
