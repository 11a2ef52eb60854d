/**
 * Rendered MRI slices as sent to a vision LLM: validation, PNG encoding (fast-png, pure JS, works
 * in Node and browsers), base64 data URLs (no `Buffer`), and hashing for cache keys.
 *
 * @packageDocumentation
 */
import { encode as encodePng } from 'fast-png';
import { InvalidArgumentError } from '../errors.js';
import type { Sha256 } from './hash.js';

/**
 * A raw rendered slice: `height × width × channels` values, row-major, channels interleaved.
 * `Uint8Array` values are 0–255; `Float32Array` values are intensities in [0, 1] (clamped, then
 * scaled to 0–255 and rounded when encoded). `channels` is 1 (grey, default), 3 (RGB) or 4 (RGBA).
 */
export interface RawImage {
  /** Pixel values, length `width * height * channels`. */
  readonly data: Uint8Array | Float32Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /**
   * Channels per pixel: 1, 3 or 4.
   * @defaultValue 1
   */
  readonly channels?: 1 | 3 | 4;
}

/** An image for a report request: a {@link RawImage}, or the bytes of an already-encoded PNG. */
export type ReportImage = RawImage | Uint8Array;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPngBytes(bytes: Uint8Array): boolean {
  return bytes.length > 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * Checks an image and throws a typed error naming it (`argument`, e.g. `'images[2]'`).
 * @throws {@link InvalidArgumentError} for a non-PNG byte array, non-integer sizes, an
 * unsupported channel count or a data length that does not match.
 * @internal
 */
export function assertReportImage(image: unknown, argument: string): asserts image is ReportImage {
  if (image instanceof Uint8Array) {
    if (!isPngBytes(image)) {
      throw new InvalidArgumentError({
        argument,
        message: `${argument} is a byte array without a PNG signature.`,
        received: `Uint8Array(${image.length})`,
        fix: 'Pass PNG bytes, or a raw image { data, width, height, channels }.',
      });
    }
    return;
  }
  const img = image as Partial<RawImage> | null;
  if (img == null || typeof img !== 'object' || !(img.data instanceof Uint8Array || img.data instanceof Float32Array)) {
    throw new InvalidArgumentError({
      argument,
      message: `${argument} must be PNG bytes or { data: Uint8Array | Float32Array, width, height, channels? }.`,
      received: img == null ? img : typeof img,
    });
  }
  for (const dim of ['width', 'height'] as const) {
    const v = img[dim];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new InvalidArgumentError({ argument: `${argument}.${dim}`, message: `${dim} must be a positive integer.`, received: v });
    }
  }
  const channels = img.channels ?? 1;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new InvalidArgumentError({ argument: `${argument}.channels`, message: 'channels must be 1, 3 or 4.', received: channels });
  }
  const expected = img.width! * img.height! * channels;
  if (img.data.length !== expected) {
    throw new InvalidArgumentError({
      argument: `${argument}.data`,
      message: `data must hold width*height*channels = ${expected} values.`,
      received: `length ${img.data.length}`,
    });
  }
}

/**
 * Encodes an image as PNG bytes (8-bit grey, RGB or RGBA). PNG input is returned unchanged.
 * `Float32Array` data is clamped to [0, 1] and scaled to 0–255 (rounded; NaN → 0).
 *
 * @throws {@link InvalidArgumentError} for an invalid image (see {@link ReportImage}).
 * @example
 * ```ts
 * const png = imageToPng({ data: new Float32Array([0, 0.5, 1, 0.25]), width: 2, height: 2 });
 * ```
 */
export function imageToPng(image: ReportImage): Uint8Array {
  assertReportImage(image, 'image');
  if (image instanceof Uint8Array) return image;
  const channels = image.channels ?? 1;
  let data: Uint8Array;
  if (image.data instanceof Float32Array) {
    data = new Uint8Array(image.data.length);
    for (let i = 0; i < data.length; i++) {
      const v = image.data[i]!;
      data[i] = Number.isNaN(v) ? 0 : Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  } else {
    data = image.data;
  }
  return encodePng({ width: image.width, height: image.height, data, channels, depth: 8 });
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Standard base64 (RFC 4648, with padding) of bytes, without `Buffer` or `btoa`.
 *
 * @example
 * ```ts
 * bytesToBase64(new Uint8Array([104, 105])); // 'aGk='
 * ```
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const out: string[] = [];
  let chunk = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    chunk += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
    if (chunk.length >= 8192) {
      out.push(chunk);
      chunk = '';
    }
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    chunk += `${B64[n >>> 18]}${B64[(n >>> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    chunk += `${B64[n >>> 18]}${B64[(n >>> 12) & 63]}${B64[(n >>> 6) & 63]}=`;
  }
  out.push(chunk);
  return out.join('');
}

/**
 * The `data:image/png;base64,...` URL of an image (the form Ollama, vLLM and llama.cpp accept).
 *
 * @example
 * ```ts
 * const url = imageToDataUrl({ data: new Uint8Array(16), width: 4, height: 4 });
 * url.startsWith('data:image/png;base64,'); // true
 * ```
 */
export function imageToDataUrl(image: ReportImage): string {
  return `data:image/png;base64,${bytesToBase64(imageToPng(image))}`;
}

/** Feeds an image's identity (kind, size, channels, raw bytes) into a hash. @internal */
export function hashImage(hash: Sha256, image: ReportImage): void {
  if (image instanceof Uint8Array) {
    hash.update(`png:${image.length}:`).update(image);
    return;
  }
  const d = image.data;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const kind = d instanceof Float32Array ? 'f32' : 'u8';
  hash.update(`raw:${kind}:${image.width}x${image.height}x${image.channels ?? 1}:${bytes.length}:`).update(bytes);
}
