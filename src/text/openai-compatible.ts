/**
 * A {@link TextGenerator} speaking the OpenAI chat-completions protocol over plain `fetch`:
 * Ollama, vLLM, the llama.cpp server, LM Studio and hosted OpenAI-compatible APIs. Its options
 * and their checks are in `openai-options.ts`, the exchange's messages and answers in
 * `chat-answer.ts`, the waits between attempts in `retry-wait.ts`.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { onAbort } from './abort.js';
import { addUsage, type AttemptOutcome, type ChatMessage, mergeParsed, readChatAnswer, repairPrompt, withAttempts } from './chat-answer.js';
import { createLimiter, type Limiter } from './limiter.js';
import { ReportValidationError, TextGenerationError } from './errors.js';
import { imageToDataUrl } from './images.js';
import { checkBaseURL, checkOptions, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_SYSTEM, type OpenAICompatibleGeneratorOptions } from './openai-options.js';
import { DEFAULT_MAX_INPUT_CHARS, parseReport } from './parse.js';
import { readBoundedText } from './read-body.js';
import { abortedError, assertGenerateRequest, isAbortSignal } from './request.js';
import { defaultSleep, parseRetryAfter } from './retry-wait.js';
import { reportJsonSchema } from './schema.js';
import type { TextGenerateRequest, TextGenerateResult, TextGenerationUsage, TextGenerator } from './types.js';

/** Error bodies are only quoted, so only their start is read. */
const MAX_ERROR_BODY_BYTES = 16_384;

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
  const url = checkBaseURL(options);
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
        if (!answer.truncated) return readChatAnswer(answer.text, status, this.shownEndpoint);
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
