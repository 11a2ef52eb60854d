/**
 * Report generation (the text modality): the `TextGenerator` spec, report schemas and parser,
 * generators, batch generation and the browser-safe cache. The file-backed cache lives in
 * `./file-cache.ts` (Node only, exported from `vdafm/node`); the mock generator in
 * `./mock-generator.ts` (exported from `vdafm/testing`).
 *
 * @packageDocumentation
 */
export type { TextGenerator, TextGenerateRequest, TextGenerateResult, TextGenerationUsage } from './types.js';
export {
  DEFAULT_REPORT_SEPARATOR,
  defineReportSchema,
  isReportSchema,
  renderReport,
  reportJsonSchema,
  schemaFingerprint,
  buildReportPrompt,
  type ReportSchema,
  type ReportSchemaDefinition,
  type ReportFieldDefinition,
  type ReportRenderContext,
  type ReportValueFormatter,
} from './schema.js';
export { strokeReportSchema, strokeImpression, STROKE_REPORT_FIELDS, type StrokeReportField } from './stroke-schema.js';
export { parseReport, type ParsedReport, type ParseReportOptions } from './parse.js';
export {
  TextGenerationError,
  ReportValidationError,
  CaseGenerationError,
  RemoteEndpointError,
  ReportCacheWriteError,
  REDACTED,
  type TextGenerationErrorCode,
  type InvalidReportField,
} from './errors.js';
export { imageToPng, imageToDataUrl, bytesToBase64, type ReportImage, type RawImage } from './images.js';
export { Sha256, sha256Hex } from './hash.js';
export { createLimiter, type Limiter } from './limiter.js';
export {
  TemplateReportGenerator,
  type TemplateReportGeneratorOptions,
  type TemplateNoiseOptions,
  type Findings,
  type FindingsExtractor,
} from './template-generator.js';
export {
  createOpenAICompatibleGenerator,
  isLoopbackHost,
  type OpenAICompatibleGeneratorOptions,
  type GeneratorLogger,
} from './openai-compatible.js';
export { MemoryReportCache, reportCacheKey, type ReportCache, type CachedReport, type ReportCacheKeyInput } from './cache.js';
export {
  generateReports,
  type ReportCase,
  type ReportProgress,
  type GenerateReportsOptions,
  type ReportOutcome,
  type GenerateReportsResult,
} from './batch.js';
