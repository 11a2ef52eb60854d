/**
 * A recording, scriptable {@link TextGenerator} for tests (exported from `vdafm/testing`).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { ReportValidationError } from '../text/errors.js';
import { parseReport } from '../text/parse.js';
import { abortedError, assertGenerateRequest } from '../text/request.js';
import type { ReportSchema } from '../text/schema.js';
import type { TextGenerateRequest, TextGenerateResult, TextGenerator } from '../text/types.js';

/**
 * One scripted answer: raw model text (parsed against the request's schema; an invalid one
 * rejects with {@link ReportValidationError}), fields (rendered by the schema), an `Error` to
 * throw, or a function of the request.
 */
export type MockResponse =
  | string
  | { readonly fields: Readonly<Record<string, string>> }
  | Error
  | ((request: TextGenerateRequest, callIndex: number) => string | TextGenerateResult | Promise<string | TextGenerateResult>);

/** Options of {@link MockTextGenerator}. */
export interface MockTextGeneratorOptions {
  /** Answers used in order, one per call. */
  readonly responses?: ReadonlyArray<MockResponse>;
  /**
   * When the script is used up: `'template'` renders `fields` (or, per field, its first allowed
   * value / `'unremarkable'`); `'error'` rejects.
   * @defaultValue 'template'
   */
  readonly fallback?: 'template' | 'error';
  /** Field values of the template answer. */
  readonly fields?: Readonly<Record<string, string>>;
  /** @defaultValue 'mock' */
  readonly generatorId?: string;
  /** @defaultValue 'mock-model' */
  readonly modelId?: string;
}

/**
 * A {@link TextGenerator} that records every request in `calls` and answers from a script or a
 * template. Use it to test code that consumes generators without a server.
 *
 * @example
 * ```ts
 * const mock = new MockTextGenerator({ responses: ['{"acuteLesion": "present"}'], fields: { side: 'left' } });
 * await generateReports(cases, mock);
 * mock.calls.length; // number of generate() calls
 * ```
 */
export class MockTextGenerator implements TextGenerator {
  readonly specificationVersion = 'v1' as const;
  readonly generatorId: string;
  readonly modelId: string;
  /** Every request received, in order. */
  readonly calls: TextGenerateRequest[] = [];
  private readonly responses: ReadonlyArray<MockResponse>;
  private readonly fallback: 'template' | 'error';
  private readonly fields: Readonly<Record<string, string>>;

  constructor(options: MockTextGeneratorOptions = {}) {
    if (options.responses !== undefined && !Array.isArray(options.responses)) {
      throw new InvalidArgumentError({ argument: 'options.responses', message: 'responses must be an array.', received: typeof options.responses });
    }
    if (options.fallback !== undefined && options.fallback !== 'template' && options.fallback !== 'error') {
      throw new InvalidArgumentError({ argument: 'options.fallback', message: "fallback must be 'template' or 'error'.", received: options.fallback });
    }
    this.responses = options.responses ?? [];
    this.fallback = options.fallback ?? 'template';
    this.fields = options.fields ?? {};
    this.generatorId = options.generatorId ?? 'mock';
    this.modelId = options.modelId ?? 'mock-model';
  }

  async generate(request: TextGenerateRequest): Promise<TextGenerateResult> {
    assertGenerateRequest(request);
    const index = this.calls.length;
    this.calls.push(request);
    if (request.signal?.aborted) throw abortedError();
    const scripted = this.responses[index];
    if (scripted === undefined) {
      if (this.fallback === 'error') throw new Error(`MockTextGenerator: no scripted response for call ${index}.`);
      const fields = this.templateFields(request.schema);
      return { fields, text: request.schema.render(fields), raw: JSON.stringify(fields), usage: {} };
    }
    if (scripted instanceof Error) throw scripted;
    const answer = typeof scripted === 'function' ? await scripted(request, index) : scripted;
    if (typeof answer === 'string') {
      const parsed = parseReport(answer, request.schema);
      if (!parsed.valid) {
        throw new ReportValidationError({ message: `MockTextGenerator: scripted answer ${index} does not fill the schema.`, missing: parsed.missing, invalid: parsed.invalid });
      }
      return { fields: parsed.fields, text: request.schema.render(parsed.fields), raw: answer, usage: {} };
    }
    if (typeof (answer as Partial<TextGenerateResult>).text === 'string') return answer as TextGenerateResult;
    const fields = { ...answer.fields };
    return { fields, text: request.schema.render(fields), raw: JSON.stringify(fields), usage: {} };
  }

  private templateFields(schema: ReportSchema): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of schema.fields) out[f.key] = this.fields[f.key] ?? (f.kind === 'enum' ? f.values![0]! : 'unremarkable');
    return out;
  }
}
