/**
 * A {@link TextGenerator} speaking the OpenAI chat-completions protocol over plain `fetch`:
 * Ollama, vLLM, the llama.cpp server, LM Studio and hosted OpenAI-compatible APIs.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { onAbort } from './abort.js';
import { createLimiter, type Limiter } from './limiter.js';
import { REDACTED, RemoteEndpointError, ReportValidationError, TextGenerationError } from './errors.js';
import { imageToDataUrl } from './images.js';
import { DEFAULT_MAX_INPUT_CHARS, parseReport, type ParsedReport } from './parse.js';
import { readBoundedText } from './read-body.js';
import { abortedError, assertGenerateRequest, isAbortSignal } from './request.js';
import { reportJsonSchema } from './schema.js';
import type { TextGenerateRequest, TextGenerateResult, TextGenerationUsage, TextGenerator } from './types.js';

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

const DEFAULT_SYSTEM = 'You are a neuroradiologist. You describe brain MRI findings precisely and answer only with JSON.';
/** The longest delay `setTimeout` honours (2³¹ − 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;
const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;
/** Error bodies are only quoted, so only their start is read. */
const MAX_ERROR_BODY_BYTES = 16_384;
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

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
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

interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }>;
}

type AttemptOutcome =
  | { ok: true; content: string; usage: TextGenerationUsage }
  | { ok: false; error: TextGenerationError; retryAfterMs?: number; rejectedResponseFormat?: boolean };

function checkOptions(o: OpenAICompatibleGeneratorOptions): void {
  if (o == null || typeof o !== 'object') {
    throw new InvalidArgumentError({ argument: 'options', message: 'options must be an object with baseURL and model.', received: o });
  }
  if (typeof o.model !== 'string' || o.model.trim() === '') {
    throw new InvalidArgumentError({ argument: 'model', message: 'model must be a non-empty string.', received: o.model });
  }
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
  if (o.logger !== undefined) {
    if (o.logger === null || typeof o.logger !== 'object') {
      throw new InvalidArgumentError({ argument: 'logger', message: 'logger must be an object with optional debug(message) and warn(message) methods.', received: typeof o.logger });
    }
    for (const level of ['debug', 'warn'] as const) {
      if (o.logger[level] !== undefined && typeof o.logger[level] !== 'function') {
        throw new InvalidArgumentError({ argument: `logger.${level}`, message: `logger.${level} must be a function.`, received: typeof o.logger[level] });
      }
    }
  }
  if (o.structuredOutput !== undefined && o.structuredOutput !== 'json_schema' && o.structuredOutput !== 'none') {
    throw new InvalidArgumentError({ argument: 'structuredOutput', message: "structuredOutput must be 'json_schema' or 'none'.", received: o.structuredOutput });
  }
  for (const name of ['fetch', 'sleep', 'now', 'random'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function') {
      throw new InvalidArgumentError({ argument: name, message: `${name} must be a function.`, received: typeof o[name] });
    }
  }
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
 * Creates a report generator for any server speaking `POST {baseURL}/chat/completions`
 * (OpenAI chat-completions): Ollama, vLLM, llama.cpp server, LM Studio, hosted APIs.
 *
 * Each request sends the prompt and every image as an `image_url` part holding a
 * `data:image/png;base64,...` URL (PNG-encoded with fast-png), always with `temperature` and
 * `seed`, and asks for JSON matching the schema through `response_format: {type: 'json_schema'}`
 * (dropped for good after the server rejects it with 400). The answer is parsed with
 * {@link parseReport}; when it does not fill the schema, the errors are sent back once for a
 * corrected answer (the repair round-trip), and the two answers are merged.
 *
 * Robustness: a timeout per attempt (combined with the caller's signal); retries with
 * exponential backoff and jitter on 408/429/5xx, network errors and timeouts, honouring
 * Retry-After (delta seconds or an RFC 9110 HTTP date, capped at `maxRetryDelayMs`); at most
 * `concurrency` requests in flight; answers read incrementally up to `maxResponseBytes`; the
 * output parsed in linear time. Logger exceptions are ignored.
 *
 * Privacy: a `baseURL` outside localhost / 127.0.0.0/8 / [::1] is refused unless
 * `allowRemote: true`, and redirects are never followed (fetch runs with `redirect: 'manual'`;
 * a 3xx answer fails with code `'redirect'`), so no request reaches a host that was not checked.
 * The API key, header values, query-string values and image bytes never appear in errors or log
 * messages; neither do server error bodies (which may echo the prompt or the previous answer)
 * or the model's values, unless `debugIncludeContent: true`.
 *
 * @throws {@link RemoteEndpointError} for a non-local `baseURL` without `allowRemote`;
 * {@link InvalidArgumentError} naming the option for any other bad option (a `baseURL` that is
 * not http(s), has credentials or a `#fragment`; a timer value outside [0, 2³¹ − 1] ms; a
 * `logger` that is not an object of functions; ...).
 * `generate()` rejects with {@link TextGenerationError} (`'http'`, `'network'`, `'timeout'`,
 * `'aborted'`, `'invalid-response'`, `'redirect'`, `'response-too-large'`) or
 * {@link ReportValidationError}; `error.attempts` counts every HTTP attempt, the repair
 * round-trip's included.
 * @example
 * ```ts
 * const generator = createOpenAICompatibleGenerator({
 *   baseURL: 'http://127.0.0.1:11434/v1', // Ollama
 *   model: 'qwen2.5vl:7b',
 *   timeoutMs: 120_000,
 *   maxRetries: 3,
 *   concurrency: 1,
 * });
 * const report = await generator.generate({
 *   images: [{ data: sliceUint8, width: 224, height: 224 }],
 *   prompt: buildReportPrompt(strokeReportSchema),
 *   schema: strokeReportSchema,
 *   temperature: 0,
 *   seed: 42,
 * });
 * console.log(report.text);
 * ```
 */
export function createOpenAICompatibleGenerator(options: OpenAICompatibleGeneratorOptions): TextGenerator {
  checkOptions(options);
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
  const fetchImpl = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
  if (typeof fetchImpl !== 'function') {
    throw new InvalidArgumentError({ argument: 'fetch', message: 'No fetch is available in this runtime.', fix: 'Pass options.fetch.' });
  }
  return new OpenAICompatibleGenerator(options, url, fetchImpl);
}

class OpenAICompatibleGenerator implements TextGenerator {
  readonly specificationVersion = 'v1' as const;
  readonly generatorId = 'openai-compatible';
  readonly modelId: string;
  readonly configId: string;
  private readonly endpoint: string;
  private readonly shownEndpoint: string;
  private readonly secrets: string[];
  private readonly limit: Limiter;
  private useResponseFormat: boolean;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxResponseBytes: number;
  private readonly includeContent: boolean;

  constructor(
    private readonly options: OpenAICompatibleGeneratorOptions,
    url: URL,
    private readonly fetchImpl: typeof fetch,
  ) {
    this.modelId = options.model;
    this.shownEndpoint = `${url.origin}${url.pathname.replace(/\/+$/, '')}/chat/completions`;
    this.endpoint = `${this.shownEndpoint}${url.search}`; // the query (e.g. ?api-version=) goes after the path
    this.secrets = [options.apiKey ?? '', ...Object.values(options.headers ?? {}), ...url.searchParams.values()].filter((s) => s.length >= 4);
    this.limit = createLimiter(options.concurrency ?? 2);
    this.useResponseFormat = (options.structuredOutput ?? 'json_schema') === 'json_schema';
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.baseDelay = options.retryBaseDelayMs ?? 500;
    this.maxDelay = options.maxRetryDelayMs ?? 60_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.includeContent = options.debugIncludeContent ?? false;
    this.configId = JSON.stringify({ system: options.systemPrompt ?? DEFAULT_SYSTEM, extraBody: options.extraBody ?? {} });
  }

  async generate(request: TextGenerateRequest): Promise<TextGenerateResult> {
    assertGenerateRequest(request);
    const signal = request.signal;
    if (signal?.aborted) throw abortedError();
    const userContent: ChatMessage['content'] = [
      { type: 'text', text: request.prompt },
      ...request.images.map((img) => ({ type: 'image_url' as const, image_url: { url: imageToDataUrl(img) } })),
    ];
    const messages: ChatMessage[] = [
      { role: 'system', content: this.options.systemPrompt ?? DEFAULT_SYSTEM },
      { role: 'user', content: userContent },
    ];
    // The content is at most maxResponseBytes long: parse all of it (parsing is linear).
    const parseOptions = { maxInputChars: Math.max(DEFAULT_MAX_INPUT_CHARS, this.maxResponseBytes) };
    const first = await this.chat(messages, request, 0);
    let usage = first.usage;
    let raw = first.content;
    let parsed = parseReport(first.content, request.schema, parseOptions);
    let attempts = first.attempts;
    if (!parsed.valid && (this.options.repair ?? true)) {
      this.log('debug', `output misses ${parsed.missing.length} and has ${parsed.invalid.length} invalid field(s); asking for a repair`);
      const repairMessages: ChatMessage[] = [
        ...messages,
        { role: 'assistant', content: first.content },
        { role: 'user', content: repairPrompt(parsed) },
      ];
      const second = await this.chat(repairMessages, request, attempts); // its errors count the first call's attempts too
      attempts = second.attempts;
      usage = addUsage(usage, second.usage);
      raw = second.content;
      parsed = mergeParsed(parsed, parseReport(second.content, request.schema, parseOptions), request.schema);
    }
    if (!parsed.valid) {
      const parts = [
        parsed.missing.length ? `missing ${parsed.missing.join(', ')}` : '',
        parsed.invalid.length ? `invalid ${parsed.invalid.map((f) => f.key).join(', ')}` : '',
      ].filter(Boolean);
      throw new ReportValidationError({
        message: `The model's report does not fill the "${request.schema.name}" schema (${parts.join('; ')}) even after a repair round-trip.`,
        missing: parsed.missing,
        invalid: parsed.invalid,
        attempts,
        includeContent: this.includeContent,
      });
    }
    const warnings = request.schema.fields.filter((f) => !f.required && parsed.fields[f.key] === undefined).map((f) => `optional field "${f.key}" absent`);
    return {
      fields: parsed.fields,
      text: request.schema.render(parsed.fields),
      raw,
      usage,
      ...(warnings.length ? { warnings } : {}),
    };
  }

  /** One chat call with retries; returns the content or throws a typed error. `attempts` counts from `priorAttempts`. */
  private async chat(
    messages: ChatMessage[],
    request: TextGenerateRequest,
    priorAttempts: number,
  ): Promise<{ content: string; usage: TextGenerationUsage; attempts: number }> {
    const signal = request.signal;
    let attempts = priorAttempts;
    for (let retry = 0; ; ) {
      if (signal?.aborted) throw abortedError(attempts);
      const withFormat = this.useResponseFormat;
      const body: Record<string, unknown> = {
        ...(this.options.extraBody ?? {}),
        model: this.options.model,
        messages,
        temperature: request.temperature,
        seed: request.seed,
        stream: false,
      };
      if (request.maxTokens !== undefined) body['max_tokens'] = request.maxTokens;
      if (withFormat) {
        body['response_format'] = {
          type: 'json_schema',
          json_schema: { name: request.schema.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64), strict: true, schema: reportJsonSchema(request.schema) },
        };
      }
      attempts++;
      const outcome = await this.limit(() => this.attempt(body, signal));
      if (outcome.ok) return { content: outcome.content, usage: outcome.usage, attempts };
      if (outcome.rejectedResponseFormat && withFormat) {
        this.useResponseFormat = false;
        this.log('warn', `the server rejected response_format (HTTP 400); continuing with the prompt alone`);
        continue; // does not consume a retry
      }
      if (outcome.error.code === 'aborted' || !outcome.error.retryable || retry >= this.maxRetries) {
        throw withAttempts(outcome.error, attempts);
      }
      const backoff = Math.min(this.maxDelay, this.baseDelay * 2 ** retry);
      const delay = outcome.retryAfterMs !== undefined ? Math.min(this.maxDelay, outcome.retryAfterMs) : Math.round(backoff / 2 + (this.random() * backoff) / 2);
      retry++;
      this.log('warn', `${outcome.error.message} Retry ${retry}/${this.maxRetries} in ${delay} ms.`);
      try {
        await this.sleep(delay, signal);
      } catch {
        throw abortedError(attempts);
      }
    }
  }

  /** One HTTP attempt, bounded by the timeout and the caller's signal. Never throws. */
  private async attempt(body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<AttemptOutcome> {
    if (signal?.aborted) return { ok: false, error: abortedError() };
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    // One shared listener per caller signal (a batch may have dozens of attempts on one signal).
    const unwatch = signal && isAbortSignal(signal) ? onAbort(signal, () => controller.abort()) : () => undefined;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...(this.options.headers ?? {}) };
    if (this.options.apiKey) headers['authorization'] = `Bearer ${this.options.apiKey}`;
    let status = 0;
    try {
      // Redirects are never followed: their target would escape the local-only check of baseURL.
      const response = await this.fetchImpl(this.endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal, redirect: 'manual' });
      status = response.status;
      const redirect = this.redirectError(response);
      if (redirect) {
        controller.abort(); // the body is not needed
        return { ok: false, error: redirect };
      }
      if (response.ok) {
        const answer = await readBoundedText(response, this.maxResponseBytes);
        if (!answer.truncated) return this.readAnswer(answer.text, status);
        controller.abort();
        return {
          ok: false,
          error: new TextGenerationError({
            code: 'response-too-large',
            status,
            message: `POST ${this.shownEndpoint} answered with more than maxResponseBytes (${this.maxResponseBytes}) bytes; the rest was not read.`,
          }),
        };
      }
      const { text, bytes, truncated } = await readBoundedText(response, Math.min(this.maxResponseBytes, MAX_ERROR_BODY_BYTES));
      if (truncated) controller.abort();
      const retryable = status === 408 || status === 429 || status >= 500;
      const quoted = !text
        ? ''
        : this.includeContent
          ? `: ${this.scrub(text).slice(0, 1000)}`
          : `; its body (${bytes}${truncated ? '+' : ''} bytes) is not shown because it may echo patient data (debugIncludeContent: true shows it)`;
      const error = new TextGenerationError({ code: 'http', status, retryable, message: `POST ${this.shownEndpoint} answered HTTP ${status}${quoted}.` });
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.now());
      return {
        ok: false,
        error,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        rejectedResponseFormat: status === 400 && 'response_format' in body,
      };
    } catch (err) {
      if (signal?.aborted) return { ok: false, error: abortedError() };
      if (timedOut) {
        return {
          ok: false,
          error: new TextGenerationError({ code: 'timeout', retryable: true, message: `POST ${this.shownEndpoint} gave no complete answer within ${this.timeoutMs} ms.` }),
        };
      }
      const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } };
      const code = typeof e?.cause?.code === 'string' ? ` (${e.cause.code})` : '';
      const what = this.scrub(String(e?.message ?? 'unknown error')).slice(0, 200);
      return {
        ok: false,
        error: new TextGenerationError({
          code: 'network',
          retryable: true,
          ...(status ? { status } : {}),
          message: `POST ${this.shownEndpoint} failed: ${what}${code}.`,
        }),
      };
    } finally {
      clearTimeout(timer);
      unwatch();
    }
  }

  /** The typed error for a redirect answer (3xx, an opaque redirect, or one an injected fetch followed), else undefined. */
  private redirectError(response: Response): TextGenerationError | undefined {
    const status = response.status;
    const followed = response.redirected === true;
    if (!followed && response.type !== 'opaqueredirect' && (status < 300 || status > 399)) return undefined;
    let target = 'an undisclosed location'; // a browser hides the target of an opaque redirect
    try {
      const to = followed ? response.url : response.headers.get('location');
      if (to) target = `host "${new URL(to, this.endpoint).host}"`;
    } catch {
      target = 'an unparsable location';
    }
    return new TextGenerationError({
      code: 'redirect',
      ...(!followed && status > 0 ? { status } : {}),
      retryable: false,
      message: `POST ${this.shownEndpoint} ${followed ? 'was redirected' : `answered HTTP ${status}, a redirect`} to ${target}. Redirects are not followed: their target is not checked against the local-only rule, and the request carries the images. Set baseURL to the final address.`,
    });
  }

  private readAnswer(text: string, status: number): AttemptOutcome {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return {
        ok: false,
        error: new TextGenerationError({ code: 'invalid-response', status, retryable: true, message: `POST ${this.shownEndpoint} answered HTTP ${status} with a body that is not JSON.` }),
      };
    }
    const j = json as { choices?: Array<{ message?: { content?: unknown } }>; usage?: Record<string, unknown> };
    const content = j?.choices?.[0]?.message?.content;
    let out: string | undefined;
    if (typeof content === 'string') out = content;
    else if (content === null) out = '';
    else if (Array.isArray(content)) {
      out = content.map((p: unknown) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
    }
    if (out === undefined) {
      return {
        ok: false,
        error: new TextGenerationError({ code: 'invalid-response', status, retryable: true, message: `POST ${this.shownEndpoint} answered without choices[0].message.content.` }),
      };
    }
    const u = j.usage ?? {};
    const usage: { inputTokens?: number; outputTokens?: number; totalTokens?: number } = {};
    if (typeof u['prompt_tokens'] === 'number') usage.inputTokens = u['prompt_tokens'];
    if (typeof u['completion_tokens'] === 'number') usage.outputTokens = u['completion_tokens'];
    if (typeof u['total_tokens'] === 'number') usage.totalTokens = u['total_tokens'];
    return { ok: true, content: out, usage };
  }

  /** Removes secrets, data URLs and long base64 runs from text quoted in errors or logs. */
  private scrub(text: string): string {
    let s = text;
    for (const secret of this.secrets) s = s.split(secret).join('[redacted]');
    return s.replace(/data:[^,\s"']*;base64,[A-Za-z0-9+/=_-]*/g, 'data:[redacted]').replace(/[A-Za-z0-9+/=_-]{64,}/g, '[redacted]');
  }

  /** Calls the logger; what it throws is ignored (a broken logger must not fail a report). */
  private log(level: 'debug' | 'warn', message: string): void {
    const fn = this.options.logger?.[level];
    if (typeof fn !== 'function') return;
    try {
      fn.call(this.options.logger, `openai-compatible(${this.modelId}): ${this.scrub(message)}`);
    } catch {
      // ignored, as documented on GeneratorLogger
    }
  }
}

function withAttempts(error: TextGenerationError, attempts: number): TextGenerationError {
  return new TextGenerationError({
    code: error.code,
    message: attempts > 1 ? `${error.message} (after ${attempts} attempts)` : error.message,
    ...(error.status !== undefined ? { status: error.status } : {}),
    attempts,
    retryable: error.retryable,
  });
}

function addUsage(a: TextGenerationUsage, b: TextGenerationUsage): TextGenerationUsage {
  const out: { inputTokens?: number; outputTokens?: number; totalTokens?: number } = {};
  for (const k of ['inputTokens', 'outputTokens', 'totalTokens'] as const) {
    if (a[k] !== undefined || b[k] !== undefined) out[k] = (a[k] ?? 0) + (b[k] ?? 0);
  }
  return out;
}

function repairPrompt(parsed: ParsedReport): string {
  const lines = ['Your previous answer does not match the required report format.'];
  if (parsed.format === 'none') lines.push('No JSON object with the report fields could be read from it.');
  if (parsed.missing.length) lines.push(`Missing fields: ${parsed.missing.join(', ')}.`);
  for (const f of parsed.invalid) lines.push(`Field "${f.key}" has value ${JSON.stringify(f.value)}, which is ${f.reason}.`);
  lines.push('Reply with the complete, corrected report as one JSON object and nothing else.');
  return lines.join('\n');
}

/** The repaired answer wins; fields only the first answer had valid are kept. */
function mergeParsed(first: ParsedReport, second: ParsedReport, schema: TextGenerateRequest['schema']): ParsedReport {
  const fields = { ...first.fields, ...second.fields };
  const missing = schema.fields.filter((f) => f.required && fields[f.key] === undefined && !second.invalid.some((i) => i.key === f.key)).map((f) => f.key);
  const invalid = second.invalid.filter((i) => fields[i.key] === undefined);
  return { fields, missing, invalid, format: second.format, valid: missing.length === 0 && invalid.length === 0 };
}
