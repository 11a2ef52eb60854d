/**
 * The `TextGenerator` specification (v1): what every report generator implements, in the style
 * of vercel/ai provider specs (a versioned interface, implementations as separate modules).
 *
 * @packageDocumentation
 */
import type { ReportImage } from './images.js';
import type { ReportSchema } from './schema.js';

/** One report request. */
export interface TextGenerateRequest {
  /** Rendered slices (raw grey/RGB images or PNG bytes), in the order the model should see them. */
  readonly images: ReadonlyArray<ReportImage>;
  /** Instruction text; {@link buildReportPrompt} builds the default from the schema. */
  readonly prompt: string;
  /** The report schema to fill. */
  readonly schema: ReportSchema;
  /** Sampling temperature. Always sent to servers (Ollama would otherwise default to 1). */
  readonly temperature: number;
  /** Sampling seed. Always sent to servers. */
  readonly seed: number;
  /** Upper bound on generated tokens. */
  readonly maxTokens?: number;
  /** Cancels the request. */
  readonly signal?: AbortSignal;
  /**
   * Extra per-case input for generators that measure the image themselves (e.g. the MRI volume a
   * {@link FindingsExtractor} reads). Never sent over HTTP and not part of cache keys.
   */
  readonly source?: unknown;
}

/** Token counts reported by the server (absent when unknown). */
export interface TextGenerationUsage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly totalTokens?: number;
}

/** A generated report. JSON-safe (it is what caches store). */
export interface TextGenerateResult {
  /** Parsed fields, key → canonical value. */
  readonly fields: Record<string, string>;
  /** The report rendered by the schema from `fields` (what the text encoder reads). */
  readonly text: string;
  /** The model's raw output (after the repair round-trip, if one was needed). */
  readonly raw: string;
  /** Token usage summed over all HTTP calls of this request. */
  readonly usage: TextGenerationUsage;
  /** Schema fields that are optional and absent, or other non-fatal remarks. */
  readonly warnings?: ReadonlyArray<string>;
}

/**
 * A report generator (specification v1). Implementations: {@link TemplateReportGenerator}
 * (deterministic, no LLM), {@link createOpenAICompatibleGenerator} (Ollama, vLLM, llama.cpp
 * server, ...), `MockTextGenerator` in `vdafm/testing`.
 *
 * `generate` resolves to a report whose required fields are all valid, or rejects with a typed
 * error (usually a `TextGenerationError`).
 *
 * @example
 * ```ts
 * const result = await generator.generate({
 *   images: [slice], prompt: buildReportPrompt(strokeReportSchema), schema: strokeReportSchema,
 *   temperature: 0, seed: 0,
 * });
 * console.log(result.text);
 * ```
 */
export interface TextGenerator {
  /** Version of this interface. */
  readonly specificationVersion: 'v1';
  /** Which implementation, e.g. `'openai-compatible'`; part of cache keys. */
  readonly generatorId: string;
  /** Model name, e.g. `'qwen2.5vl:7b'`; part of cache keys. */
  readonly modelId: string;
  /**
   * Settings besides the request that change outputs (e.g. noise rates), as a stable string;
   * part of cache keys.
   */
  readonly configId?: string;
  /** Generates one report. */
  generate(request: TextGenerateRequest): Promise<TextGenerateResult>;
}
