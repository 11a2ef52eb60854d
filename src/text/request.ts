/**
 * Validation shared by the generators.
 *
 * @packageDocumentation
 * @internal
 */
import { InvalidArgumentError } from '../errors.js';
import { TextGenerationError } from './errors.js';
import { assertReportImage } from './images.js';
import { assertReportSchema } from './schema.js';
import type { TextGenerateRequest, TextGenerator } from './types.js';

/** Throws a typed error naming the bad part of a request (`'request.temperature'`, ...). @internal */
export function assertGenerateRequest(request: unknown): asserts request is TextGenerateRequest {
  if (request == null || typeof request !== 'object') {
    throw new InvalidArgumentError({ argument: 'request', message: 'request must be an object.', received: request });
  }
  const r = request as Partial<TextGenerateRequest>;
  if (!Array.isArray(r.images)) {
    throw new InvalidArgumentError({ argument: 'request.images', message: 'images must be an array (possibly empty).', received: typeof r.images });
  }
  r.images.forEach((img, i) => assertReportImage(img, `request.images[${i}]`));
  if (typeof r.prompt !== 'string' || r.prompt.trim() === '') {
    throw new InvalidArgumentError({ argument: 'request.prompt', message: 'prompt must be a non-empty string.', received: typeof r.prompt });
  }
  assertReportSchema(r.schema, 'request.schema');
  if (typeof r.temperature !== 'number' || !Number.isFinite(r.temperature) || r.temperature < 0 || r.temperature > 2) {
    throw new InvalidArgumentError({ argument: 'request.temperature', message: 'temperature must be a number in [0, 2].', received: r.temperature });
  }
  if (typeof r.seed !== 'number' || !Number.isInteger(r.seed)) {
    throw new InvalidArgumentError({ argument: 'request.seed', message: 'seed must be an integer.', received: r.seed });
  }
  if (r.maxTokens !== undefined && (typeof r.maxTokens !== 'number' || !Number.isInteger(r.maxTokens) || r.maxTokens < 1)) {
    throw new InvalidArgumentError({ argument: 'request.maxTokens', message: 'maxTokens must be a positive integer.', received: r.maxTokens });
  }
  if (r.signal !== undefined && !isAbortSignal(r.signal)) {
    throw new InvalidArgumentError({ argument: 'request.signal', message: 'signal must be an AbortSignal.', received: typeof r.signal });
  }
}

/** Duck-typed AbortSignal check (works across realms). @internal */
export function isAbortSignal(value: unknown): value is AbortSignal {
  return typeof value === 'object' && value !== null && typeof (value as AbortSignal).aborted === 'boolean' && typeof (value as AbortSignal).addEventListener === 'function';
}

/** Throws unless `value` looks like a {@link TextGenerator}. @internal */
export function assertTextGenerator(value: unknown, argument: string): asserts value is TextGenerator {
  const g = value as Partial<TextGenerator> | null;
  if (g == null || typeof g !== 'object' || g.specificationVersion !== 'v1' || typeof g.generate !== 'function' || typeof g.generatorId !== 'string' || typeof g.modelId !== 'string') {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must implement TextGenerator v1 (specificationVersion 'v1', generatorId, modelId, generate()).`,
      received: g == null ? g : typeof g,
    });
  }
}

/** The typed error for a fired signal. @internal */
export function abortedError(attempts = 0): TextGenerationError {
  return new TextGenerationError({ code: 'aborted', message: 'Report generation was aborted by the caller.', attempts });
}
