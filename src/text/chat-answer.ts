/**
 * One chat-completions exchange of the OpenAI-compatible generator: the messages sent, what one
 * HTTP attempt gives, reading an answer's body, and the repair round-trip (its prompt, and the
 * merge of the two answers).
 *
 * @packageDocumentation
 */
import { TextGenerationError } from './errors.js';
import type { ParsedReport } from './parse.js';
import type { TextGenerateRequest, TextGenerationUsage } from './types.js';

/** A chat message (the user's holds the prompt and the images as data URLs). @internal */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }>;
}

/** What one HTTP attempt gives: the content and usage, or a typed error (with a Retry-After, or a 400 on response_format). @internal */
export type AttemptOutcome =
  | { ok: true; content: string; usage: TextGenerationUsage }
  | { ok: false; error: TextGenerationError; retryAfterMs?: number; rejectedResponseFormat?: boolean };

/**
 * Reads a 2xx answer's body: the content of `choices[0].message.content` (a string, null, or
 * text parts) and the token usage, or an `'invalid-response'` error naming `endpoint`.
 * @internal
 */
export function readChatAnswer(text: string, status: number, endpoint: string): AttemptOutcome {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: new TextGenerationError({ code: 'invalid-response', status, retryable: true, message: `POST ${endpoint} answered HTTP ${status} with a body that is not JSON.` }),
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
      error: new TextGenerationError({ code: 'invalid-response', status, retryable: true, message: `POST ${endpoint} answered without choices[0].message.content.` }),
    };
  }
  const u = j.usage ?? {};
  const usage: { inputTokens?: number; outputTokens?: number; totalTokens?: number } = {};
  if (typeof u['prompt_tokens'] === 'number') usage.inputTokens = u['prompt_tokens'];
  if (typeof u['completion_tokens'] === 'number') usage.outputTokens = u['completion_tokens'];
  if (typeof u['total_tokens'] === 'number') usage.totalTokens = u['total_tokens'];
  return { ok: true, content: out, usage };
}

/** The error again, with the attempt count (in the message too when more than one). @internal */
export function withAttempts(error: TextGenerationError, attempts: number): TextGenerationError {
  return new TextGenerationError({
    code: error.code,
    message: attempts > 1 ? `${error.message} (after ${attempts} attempts)` : error.message,
    ...(error.status !== undefined ? { status: error.status } : {}),
    attempts,
    retryable: error.retryable,
  });
}

/** Token usage of two calls, summed per field present in either. @internal */
export function addUsage(a: TextGenerationUsage, b: TextGenerationUsage): TextGenerationUsage {
  const out: { inputTokens?: number; outputTokens?: number; totalTokens?: number } = {};
  for (const k of ['inputTokens', 'outputTokens', 'totalTokens'] as const) {
    if (a[k] !== undefined || b[k] !== undefined) out[k] = (a[k] ?? 0) + (b[k] ?? 0);
  }
  return out;
}

/** The repair round-trip's question: what was missing or invalid, and a request for the corrected JSON. @internal */
export function repairPrompt(parsed: ParsedReport): string {
  const lines = ['Your previous answer does not match the required report format.'];
  if (parsed.format === 'none') lines.push('No JSON object with the report fields could be read from it.');
  if (parsed.missing.length) lines.push(`Missing fields: ${parsed.missing.join(', ')}.`);
  for (const f of parsed.invalid) lines.push(`Field "${f.key}" has value ${JSON.stringify(f.value)}, which is ${f.reason}.`);
  lines.push('Reply with the complete, corrected report as one JSON object and nothing else.');
  return lines.join('\n');
}

/** The repaired answer wins; fields only the first answer had valid are kept. @internal */
export function mergeParsed(first: ParsedReport, second: ParsedReport, schema: TextGenerateRequest['schema']): ParsedReport {
  const fields = { ...first.fields, ...second.fields };
  const missing = schema.fields.filter((f) => f.required && fields[f.key] === undefined && !second.invalid.some((i) => i.key === f.key)).map((f) => f.key);
  const invalid = second.invalid.filter((i) => fields[i.key] === undefined);
  return { fields, missing, invalid, format: second.format, valid: missing.length === 0 && invalid.length === 0 };
}
