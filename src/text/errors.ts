/**
 * Typed errors of the report-generation module (`src/text`).
 *
 * None of these errors ever carries an API key or image bytes: messages name the endpoint
 * without credentials or query string, and server bodies are scrubbed before being quoted.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, SerializationError, VdafmError } from '../errors.js';

const TEXT_GENERATION_MARKER = Symbol.for('vdafm.error.textGeneration');
const REPORT_VALIDATION_MARKER = Symbol.for('vdafm.error.reportValidation');
const CASE_GENERATION_MARKER = Symbol.for('vdafm.error.caseGeneration');
const REMOTE_ENDPOINT_MARKER = Symbol.for('vdafm.error.remoteEndpoint');
const CACHE_WRITE_MARKER = Symbol.for('vdafm.error.reportCacheWrite');

/**
 * Why a report could not be generated.
 * - `'http'`: the server answered with an error status (`status` is set);
 * - `'network'`: the connection failed or the body was cut off;
 * - `'timeout'`: no complete answer within `timeoutMs` (per attempt);
 * - `'aborted'`: the caller's `AbortSignal` fired;
 * - `'invalid-response'`: the body is not an OpenAI chat-completions answer;
 * - `'invalid-output'`: the model's text does not fill the report schema (see {@link ReportValidationError});
 * - `'redirect'`: the server answered with a redirect (3xx), which is never followed: the
 *   target was not checked against the local-only rule (`status` is set; not retried);
 * - `'response-too-large'`: the answer is longer than `maxResponseBytes`; it was not read
 *   further (not retried).
 */
export type TextGenerationErrorCode =
  | 'http'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'invalid-response'
  | 'invalid-output'
  | 'redirect'
  | 'response-too-large';

/**
 * A text generator failed to produce a report (after its retries and repair round-trip).
 *
 * @example
 * ```ts
 * try {
 *   await generator.generate(request);
 * } catch (e) {
 *   if (TextGenerationError.isInstance(e) && e.code === 'http') console.log(e.status);
 * }
 * ```
 */
export class TextGenerationError extends VdafmError {
  private readonly [TEXT_GENERATION_MARKER] = true;
  /** What went wrong (see {@link TextGenerationErrorCode}). */
  readonly code: TextGenerationErrorCode;
  /** HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;
  /** Number of HTTP attempts made (0 for generators that make none). */
  readonly attempts: number;
  /** True when the failure is transient (retrying later may succeed). */
  readonly retryable: boolean;

  constructor(args: {
    code: TextGenerationErrorCode;
    message: string;
    status?: number;
    attempts?: number;
    retryable?: boolean;
    cause?: unknown;
  }) {
    super(args.message, { cause: args.cause });
    this.name = 'TextGenerationError';
    this.code = args.code;
    this.status = args.status;
    this.attempts = args.attempts ?? 0;
    this.retryable = args.retryable ?? false;
  }

  static override isInstance(error: unknown): error is TextGenerationError {
    return (
      typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[TEXT_GENERATION_MARKER] === true
    );
  }
}

/** One field whose value is not allowed by the schema. */
export interface InvalidReportField {
  /** Field key. */
  readonly key: string;
  /**
   * The value found (truncated to 80 characters). On a {@link ReportValidationError} it is
   * {@link REDACTED} unless the generator was created with `debugIncludeContent: true`: model
   * output is derived from patient data.
   */
  readonly value: string;
  /** Why it was rejected, e.g. `'not one of present, absent'`. */
  readonly reason: string;
}

/**
 * What stands in for text withheld from errors (`'[redacted]'`): model values on
 * {@link ReportValidationError}, a `baseURL` that may hold credentials.
 *
 * @example
 * ```ts
 * if (ReportValidationError.isInstance(e)) console.log(e.invalid[0]?.value === REDACTED); // true unless debugIncludeContent
 * ```
 */
export const REDACTED = '[redacted]';

/**
 * The model's output does not fill the report schema, even after the repair round-trip.
 * `missing` lists required fields absent from the output, `invalid` fields with a value that is
 * not allowed. The message names fields only, never the output text, and each `invalid[].value`
 * is {@link REDACTED} unless `includeContent` is true (generators pass their
 * `debugIncludeContent` option).
 *
 * @example
 * ```ts
 * if (ReportValidationError.isInstance(e)) console.log(e.missing, e.invalid);
 * ```
 */
export class ReportValidationError extends TextGenerationError {
  private readonly [REPORT_VALIDATION_MARKER] = true;
  /** Required fields the output lacks. */
  readonly missing: ReadonlyArray<string>;
  /** Fields whose value is not allowed. */
  readonly invalid: ReadonlyArray<InvalidReportField>;

  /**
   * @param args - `includeContent` keeps the values of `invalid` (default false: each becomes
   * {@link REDACTED}).
   */
  constructor(args: {
    message: string;
    missing: ReadonlyArray<string>;
    invalid: ReadonlyArray<InvalidReportField>;
    attempts?: number;
    includeContent?: boolean;
  }) {
    super({ code: 'invalid-output', message: args.message, attempts: args.attempts ?? 0, retryable: false });
    this.name = 'ReportValidationError';
    this.missing = args.missing;
    this.invalid = args.includeContent === true ? args.invalid : args.invalid.map((f) => ({ ...f, value: REDACTED }));
  }

  static override isInstance(error: unknown): error is ReportValidationError {
    return (
      typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[REPORT_VALIDATION_MARKER] === true
    );
  }
}

/**
 * Generating the report of one case failed; `caseId` names the case and `cause` holds the
 * underlying error (usually a {@link TextGenerationError}). {@link generateReports} returns one
 * of these for every case that did not end in a valid report.
 *
 * @example
 * ```ts
 * const { failures } = await generateReports(cases, generator);
 * for (const f of failures) console.log(f.caseId, f.message);
 * ```
 */
export class CaseGenerationError extends VdafmError {
  private readonly [CASE_GENERATION_MARKER] = true;
  /** Id of the case that failed. */
  readonly caseId: string;

  constructor(args: { caseId: string; cause: unknown }) {
    const reason =
      args.cause instanceof Error ? args.cause.message : typeof args.cause === 'string' ? args.cause : 'unknown error';
    super(`Report generation failed for case "${args.caseId}": ${reason}`, { cause: args.cause });
    this.name = 'CaseGenerationError';
    this.caseId = args.caseId;
  }

  static override isInstance(error: unknown): error is CaseGenerationError {
    return (
      typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[CASE_GENERATION_MARKER] === true
    );
  }
}

/**
 * A generator was pointed at a non-local endpoint without `allowRemote: true`. Medical images
 * are protected health information: vdafm sends them only to localhost / 127.0.0.0/8 / [::1]
 * unless the caller opts in explicitly. `argument` is `'baseURL'`.
 *
 * @example
 * ```ts
 * try {
 *   createOpenAICompatibleGenerator({ baseURL: 'https://api.example.com/v1', model: 'm' });
 * } catch (e) {
 *   RemoteEndpointError.isInstance(e); // true
 * }
 * ```
 */
export class RemoteEndpointError extends InvalidArgumentError {
  private readonly [REMOTE_ENDPOINT_MARKER] = true;
  /** Host name that was refused. */
  readonly host: string;

  constructor(host: string) {
    super({
      argument: 'baseURL',
      message: `Refusing to send images to the non-local host "${host}": medical images are protected health information.`,
      fix: 'Use a server on localhost, 127.0.0.0/8 or [::1], or pass allowRemote: true if sending the images there is permitted.',
    });
    this.name = 'RemoteEndpointError';
    this.host = host;
  }

  static override isInstance(error: unknown): error is RemoteEndpointError {
    return (
      typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[REMOTE_ENDPOINT_MARKER] === true
    );
  }
}

/**
 * Appending a report to a cache file failed: the write was refused (disk full, file-size limit,
 * I/O error) or only part of the line could be written, or the sync after it failed. The report
 * is not cached. The file is cut back to its last complete entry (`restored: true`), so the next
 * open finds no torn line; if even that failed (`restored: false`), the cache refuses further
 * writes and the next `FileReportCache.open` recovers the torn line. The message names the case
 * and the sizes, never the report text; `cause` holds the file-system error.
 *
 * @example
 * ```ts
 * const { failures } = await generateReports(cases, generator, { cache });
 * for (const f of failures) if (ReportCacheWriteError.isInstance(f.cause)) console.log('disk full?', f.cause.file);
 * ```
 */
export class ReportCacheWriteError extends SerializationError {
  private readonly [CACHE_WRITE_MARKER] = true;
  /** The cache file. */
  readonly file: string;
  /** Id of the case whose report was being written. */
  readonly caseId: string;
  /** Bytes of the line that reached the file before the failure. */
  readonly bytesWritten: number;
  /** Bytes of the whole line. */
  readonly bytesExpected: number;
  /** True when the file was cut back to its last complete entry. */
  readonly restored: boolean;

  constructor(args: { file: string; caseId: string; bytesWritten: number; bytesExpected: number; restored: boolean; cause?: unknown }) {
    const code = (args.cause as { code?: unknown } | undefined)?.code;
    const why = typeof code === 'string' ? code : args.bytesWritten < args.bytesExpected ? 'short write' : 'sync failed';
    super(
      `Could not append the report of case "${args.caseId}" to the report cache ${args.file} (${why}; wrote ${args.bytesWritten} of ${args.bytesExpected} bytes). The report is not cached; ${
        args.restored
          ? 'the file was cut back to its last complete entry.'
          : 'cutting the file back failed too, so this cache refuses further writes (reopen it to recover).'
      } Check free disk space and file-size limits (ulimit -f).`,
      { cause: args.cause },
    );
    this.name = 'ReportCacheWriteError';
    this.file = args.file;
    this.caseId = args.caseId;
    this.bytesWritten = args.bytesWritten;
    this.bytesExpected = args.bytesExpected;
    this.restored = args.restored;
  }

  static override isInstance(error: unknown): error is ReportCacheWriteError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[CACHE_WRITE_MARKER] === true;
  }
}
