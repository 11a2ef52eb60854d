/**
 * Bounded reading of HTTP response bodies: a hostile or broken server cannot make the client
 * buffer more than a given number of bytes.
 *
 * @packageDocumentation
 * @internal
 */

/** What {@link readBoundedText} read. @internal */
export interface BoundedText {
  /** The body (or its first `maxBytes` bytes) decoded as UTF-8. */
  readonly text: string;
  /** Bytes read (at most `maxBytes`). */
  readonly bytes: number;
  /** True when the body was longer than `maxBytes` (declared or read); the rest was not read. */
  readonly truncated: boolean;
}

/**
 * Reads a `fetch` response body as UTF-8 text, chunk by chunk, stopping (and cancelling the
 * stream) past `maxBytes`. A declared `content-length` above `maxBytes` is refused before any
 * byte is read. A response without a readable stream (some injected `fetch` implementations)
 * falls back to `response.text()` and is cut to `maxBytes` bytes afterwards. Rejects when the
 * read fails (connection reset, abort).
 * @internal
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<BoundedText> {
  const declared = Number(response.headers?.get?.('content-length') ?? Number.NaN);
  const body = response.body as ReadableStream<Uint8Array> | null | undefined;
  if (Number.isFinite(declared) && declared > maxBytes) {
    await body?.cancel?.().catch(() => undefined);
    return { text: '', bytes: 0, truncated: true };
  }
  if (body == null || typeof body.getReader !== 'function') {
    const all = new TextEncoder().encode(await response.text());
    const bytes = Math.min(all.byteLength, maxBytes);
    return { text: new TextDecoder().decode(all.subarray(0, bytes)), bytes, truncated: all.byteLength > maxBytes };
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (bytes + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - bytes));
      bytes = maxBytes;
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
    chunks.push(value);
    bytes += value.byteLength;
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return { text: new TextDecoder().decode(all), bytes, truncated };
}
