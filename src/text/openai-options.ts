/**
 * The options of the OpenAI-compatible generator, their defaults and their checks (the
 * `baseURL` rule that keeps images on this machine included).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { REDACTED, RemoteEndpointError } from './errors.js';

/**
 * Receives diagnostic messages. Messages never contain API keys, header values or image bytes,
 * and no patient text (prompts, model output, server bodies) unless the generator was created
 * with `debugIncludeContent: true`. Exceptions a method throws are ignored.
 */
export interface GeneratorLogger {
  debug?(message: string): void;
  warn?(message: string): void;
}

/** Options of {@link createOpenAICompatibleGenerator}. */
export interface OpenAICompatibleGeneratorOptions {
  /**
   * Server root including the API prefix, e.g. `'http://127.0.0.1:11434/v1'`; requests go to
   * `{baseURL}/chat/completions`. A query string is kept after that path (`'.../v1?api-version=1'`
   * → `'.../v1/chat/completions?api-version=1'`) and never shown in errors; a `#fragment` or
   * credentials are refused.
   */
  readonly baseURL: string;
  /** Model name as the server knows it, e.g. `'qwen2.5vl:7b'`. */
  readonly model: string;
  /** Sent as `Authorization: Bearer <apiKey>`; never logged or shown in errors. */
  readonly apiKey?: string;
  /**
   * The `fetch` to use (inject one for tests, proxies or custom agents).
   * @defaultValue globalThis.fetch
   */
  readonly fetch?: typeof fetch;
  /**
   * Time limit per HTTP attempt, from sending the request to the last byte of the answer; an
   * integer from 1 to 2147483647 (2³¹ − 1, `setTimeout`'s limit, about 24.8 days).
   * @defaultValue 120000
   */
  readonly timeoutMs?: number;
  /**
   * Longest answer body read, in bytes. A longer answer (declared by `content-length` or
   * streamed) is cut off as soon as it passes the bound and fails with a
   * {@link TextGenerationError} of code `'response-too-large'` (not retried); error bodies are
   * read up to 16 KiB at most. It also bounds the raw model output a cache stores.
   * @defaultValue 1048576 (1 MiB; a report answer is a few kB)
   */
  readonly maxResponseBytes?: number;
  /**
   * Retries after a 408/429/5xx answer, a network error or a timeout (so at most `maxRetries + 1` attempts).
   * @defaultValue 3
   */
  readonly maxRetries?: number;
  /**
   * Maximum HTTP requests in flight from this generator.
   * @defaultValue 2
   */
  readonly concurrency?: number;
  /**
   * Allow a `baseURL` that is not localhost, 127.0.0.0/8 or [::1] (images then leave the machine).
   * @defaultValue false
   */
  readonly allowRemote?: boolean;
  /** Extra HTTP headers (their values are treated as secrets: scrubbed from errors and logs). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * `'json_schema'` sends `response_format: {type: 'json_schema', ...}` and falls back to the
   * prompt alone (for the rest of this generator's life) when the server answers 400;
   * `'none'` never sends it.
   * @defaultValue 'json_schema'
   */
  readonly structuredOutput?: 'json_schema' | 'none';
  /**
   * Send the validation errors back once and ask for corrected JSON when the output does not fill the schema.
   * @defaultValue true
   */
  readonly repair?: boolean;
  /**
   * System message (a non-empty string).
   * @defaultValue 'You are a neuroradiologist. You describe brain MRI findings precisely and answer only with JSON.'
   */
  readonly systemPrompt?: string;
  /** Extra top-level body fields (e.g. `{ top_p: 1 }`); cannot replace model, messages, temperature or seed. */
  readonly extraBody?: Readonly<Record<string, unknown>>;
  /**
   * First backoff delay; attempt `n` waits about `retryBaseDelayMs * 2^n` (half fixed, half random), unless the server sent Retry-After.
   * An integer from 0 to 2147483647.
   * @defaultValue 500
   */
  readonly retryBaseDelayMs?: number;
  /**
   * Upper bound of any wait between attempts, Retry-After included (a longer Retry-After waits
   * this long). An integer from 0 to 2147483647 (2³¹ − 1 ms, `setTimeout`'s limit).
   * @defaultValue 60000
   */
  readonly maxRetryDelayMs?: number;
  /**
   * Waits `ms` milliseconds (inject a fake for tests); must reject when `signal` fires.
   * @defaultValue a setTimeout-based sleep
   */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Current time in ms since the epoch (for Retry-After HTTP dates).
   * @defaultValue Date.now
   */
  readonly now?: () => number;
  /**
   * Uniform random numbers in [0, 1) for the backoff jitter.
   * @defaultValue Math.random
   */
  readonly random?: () => number;
  /** Receives retry and fallback messages (an object with optional `debug` and `warn` functions). */
  readonly logger?: GeneratorLogger;
  /**
   * For debugging only: quote server error bodies (up to 1,000 characters) in error messages and
   * log messages, and keep the model's values in {@link ReportValidationError}'s `invalid`.
   * These may contain patient text (a server may echo the prompt or the previous answer). API
   * keys, header values and image data are scrubbed either way.
   * @defaultValue false
   */
  readonly debugIncludeContent?: boolean;
}

/** The system message without `systemPrompt`. @internal */
export const DEFAULT_SYSTEM = 'You are a neuroradiologist. You describe brain MRI findings precisely and answer only with JSON.';
/** The longest delay `setTimeout` honours (2³¹ − 1 ms); longer ones fire at once. @internal */
export const MAX_TIMER_MS = 2_147_483_647;
/** `maxResponseBytes` by default (1 MiB). @internal */
export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;
const RESERVED_BODY = new Set(['model', 'messages', 'temperature', 'seed', 'max_tokens', 'response_format', 'stream']);

/**
 * True for the host names vdafm sends images to without `allowRemote`: `localhost`,
 * 127.0.0.0/8 and `[::1]`, as `new URL(...).hostname` spells them (so `127.1` and `0x7f.1`,
 * normalised to `127.0.0.1`, count as loopback).
 *
 * @example
 * ```ts
 * isLoopbackHost(new URL('http://127.0.0.1:11434/v1').hostname); // true
 * isLoopbackHost('llm.example.org'); // false
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h === '[::1]' || h === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255);
}

/** Checks every option but `baseURL` (see {@link checkBaseURL}), naming the first bad one. @internal */
export function checkOptions(o: OpenAICompatibleGeneratorOptions): void {
  if (o == null || typeof o !== 'object') {
    throw new InvalidArgumentError({ argument: 'options', message: 'options must be an object with baseURL and model.', received: o });
  }
  if (typeof o.model !== 'string' || o.model.trim() === '') {
    throw new InvalidArgumentError({ argument: 'model', message: 'model must be a non-empty string.', received: o.model });
  }
  checkNumbers(o);
  if (o.apiKey !== undefined && typeof o.apiKey !== 'string') {
    throw new InvalidArgumentError({ argument: 'apiKey', message: 'apiKey must be a string.', received: typeof o.apiKey });
  }
  for (const name of ['allowRemote', 'repair', 'debugIncludeContent'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean') {
      throw new InvalidArgumentError({ argument: name, message: `${name} must be a boolean.`, received: o[name] });
    }
  }
  if (o.systemPrompt !== undefined && (typeof o.systemPrompt !== 'string' || o.systemPrompt.trim() === '')) {
    throw new InvalidArgumentError({ argument: 'systemPrompt', message: 'systemPrompt must be a non-empty string.', received: typeof o.systemPrompt });
  }
  checkLogger(o.logger);
  if (o.structuredOutput !== undefined && o.structuredOutput !== 'json_schema' && o.structuredOutput !== 'none') {
    throw new InvalidArgumentError({ argument: 'structuredOutput', message: "structuredOutput must be 'json_schema' or 'none'.", received: o.structuredOutput });
  }
  for (const name of ['fetch', 'sleep', 'now', 'random'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function') {
      throw new InvalidArgumentError({ argument: name, message: `${name} must be a function.`, received: typeof o[name] });
    }
  }
  checkHeadersAndBody(o);
}

/** The timers (integers in [min, 2³¹ − 1] ms), the retry and concurrency counts and the response bound. */
function checkNumbers(o: OpenAICompatibleGeneratorOptions): void {
  const posInt = (v: unknown, name: string, min: number): void => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
      throw new InvalidArgumentError({ argument: name, message: `${name} must be an integer ≥ ${min}.`, received: v });
    }
  };
  const timer = (v: unknown, name: string, min: number): void => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_TIMER_MS)) {
      throw new InvalidArgumentError({
        argument: name,
        message: `${name} must be an integer from ${min} to ${MAX_TIMER_MS} ms (setTimeout's limit, about 24.8 days; longer delays would fire at once).`,
        received: v,
      });
    }
  };
  timer(o.timeoutMs, 'timeoutMs', 1);
  posInt(o.maxRetries, 'maxRetries', 0);
  posInt(o.concurrency, 'concurrency', 1);
  timer(o.retryBaseDelayMs, 'retryBaseDelayMs', 0);
  timer(o.maxRetryDelayMs, 'maxRetryDelayMs', 0);
  posInt(o.maxResponseBytes, 'maxResponseBytes', 1);
}

function checkLogger(logger: GeneratorLogger | undefined): void {
  if (logger === undefined) return;
  if (logger === null || typeof logger !== 'object') {
    throw new InvalidArgumentError({ argument: 'logger', message: 'logger must be an object with optional debug(message) and warn(message) methods.', received: typeof logger });
  }
  for (const level of ['debug', 'warn'] as const) {
    if (logger[level] !== undefined && typeof logger[level] !== 'function') {
      throw new InvalidArgumentError({ argument: `logger.${level}`, message: `logger.${level} must be a function.`, received: typeof logger[level] });
    }
  }
}

function checkHeadersAndBody(o: OpenAICompatibleGeneratorOptions): void {
  if (o.headers !== undefined) {
    if (o.headers === null || typeof o.headers !== 'object') {
      throw new InvalidArgumentError({ argument: 'headers', message: 'headers must be an object of strings.', received: typeof o.headers });
    }
    for (const [k, v] of Object.entries(o.headers)) {
      if (typeof v !== 'string') throw new InvalidArgumentError({ argument: `headers.${k}`, message: 'header values must be strings.', received: typeof v });
    }
  }
  if (o.extraBody !== undefined) {
    if (o.extraBody === null || typeof o.extraBody !== 'object') {
      throw new InvalidArgumentError({ argument: 'extraBody', message: 'extraBody must be an object.', received: typeof o.extraBody });
    }
    for (const k of Object.keys(o.extraBody)) {
      if (RESERVED_BODY.has(k)) {
        throw new InvalidArgumentError({ argument: `extraBody.${k}`, message: `extraBody cannot set "${k}"; it is set from the options and request.`, received: k });
      }
    }
  }
}

/**
 * Parses and checks `baseURL`: an absolute http(s) URL without credentials or `#fragment`, on a
 * loopback host unless `allowRemote`.
 *
 * @throws {@link InvalidArgumentError} (argument `baseURL`); {@link RemoteEndpointError} for a
 *   remote host without `allowRemote`.
 * @internal
 */
export function checkBaseURL(options: OpenAICompatibleGeneratorOptions): URL {
  let url: URL;
  try {
    url = new URL(options.baseURL);
  } catch {
    const shown = String(options.baseURL);
    throw new InvalidArgumentError({
      argument: 'baseURL',
      message: 'baseURL must be an absolute http(s) URL.',
      // Text before an "@" may be credentials: never echo it.
      received: shown.includes('@') ? `${REDACTED} (contains "@")` : shown.slice(0, 200),
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError({ argument: 'baseURL', message: 'baseURL must use http or https.', received: url.protocol });
  }
  if (url.username || url.password) {
    throw new InvalidArgumentError({ argument: 'baseURL', message: 'baseURL must not contain credentials.', fix: 'Pass the key as apiKey (or in headers).' });
  }
  if (url.hash || options.baseURL.includes('#')) {
    throw new InvalidArgumentError({
      argument: 'baseURL',
      message: 'baseURL must not contain a #fragment (it is never sent to the server).',
      fix: 'Remove the "#..." part; percent-encode a "#" that belongs to the path.',
    });
  }
  if (!options.allowRemote && !isLoopbackHost(url.hostname)) throw new RemoteEndpointError(url.hostname);
  return url;
}
