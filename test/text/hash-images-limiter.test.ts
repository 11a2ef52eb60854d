// SHA-256 against node:crypto, base64 against Buffer, PNG encoding against fast-png's decoder,
// and the concurrency limiter.
import { createHash } from 'node:crypto';
import { decode as decodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { bytesToBase64, createLimiter, imageToDataUrl, imageToPng, Sha256, sha256Hex } from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

describe('Sha256', () => {
  it('matches the FIPS 180-2 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  fcTest.prop([fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 5 })])(
    'equals node:crypto for any bytes, however they are split into update() calls',
    (bytes, cuts) => {
      const h = new Sha256();
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      let prev = 0;
      for (const p of [...points, bytes.length]) {
        h.update(bytes.subarray(prev, p));
        prev = p;
      }
      expect(h.digestHex()).toBe(createHash('sha256').update(bytes).digest('hex'));
    },
  );

  fcTest.prop([fc.string({ unit: 'grapheme', maxLength: 100 })])('hashes strings as UTF-8', (s) => {
    expect(sha256Hex(s)).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
  });

  it('refuses use after digest', () => {
    const h = new Sha256();
    h.digestHex();
    expect(() => h.update('x')).toThrow();
  });
});

describe('images', () => {
  fcTest.prop([fc.uint8Array({ maxLength: 300 })])('bytesToBase64 equals Buffer base64', (bytes) => {
    expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
  });

  fcTest.prop([fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.constantFrom(1, 3, 4)], { numRuns: 30 })(
    'imageToPng round-trips Uint8 pixels through fast-png decode',
    (w, h, c) => {
      const data = new Uint8Array(w * h * c).map((_, i) => (i * 53 + w) % 256);
      const png = decodePng(imageToPng({ data, width: w, height: h, channels: c as 1 | 3 | 4 }));
      expect([png.width, png.height, png.channels, png.depth]).toEqual([w, h, c, 8]);
      expect(Array.from(png.data)).toEqual(Array.from(data));
    },
  );

  it('passes PNG bytes through and rejects non-PNG bytes and bad shapes with the argument named', () => {
    const png = imageToPng({ data: new Uint8Array(4), width: 2, height: 2 });
    expect(imageToPng(png)).toBe(png);
    expect(imageToDataUrl(png)).toBe(`data:image/png;base64,${Buffer.from(png).toString('base64')}`);
    const bad: Array<[unknown, string]> = [
      [new Uint8Array([1, 2, 3]), 'image'],
      [{ data: [1, 2], width: 1, height: 2 }, 'image'],
      [{ data: new Uint8Array(4), width: 0, height: 2 }, 'image.width'],
      [{ data: new Uint8Array(4), width: 2, height: 2.5 }, 'image.height'],
      [{ data: new Uint8Array(4), width: 2, height: 2, channels: 2 }, 'image.channels'],
      [{ data: new Float32Array(5), width: 2, height: 2 }, 'image.data'],
    ];
    for (const [img, argument] of bad) {
      expectArgumentError(() => imageToPng(img as never), InvalidArgumentError, argument);
    }
  });
});

describe('createLimiter', () => {
  fcTest.prop([fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(3), { minLength: 1, maxLength: 20 })], { numRuns: 30 })(
    'never runs more than `concurrency` tasks, runs them all, keeps results and FIFO start order',
    async (concurrency, delays) => {
      const limit = createLimiter(concurrency);
      let active = 0;
      let maxActive = 0;
      const started: number[] = [];
      const results = await Promise.all(
        delays.map((d, i) =>
          limit(async () => {
            started.push(i);
            active++;
            maxActive = Math.max(maxActive, active);
            for (let k = 0; k < d; k++) await Promise.resolve();
            active--;
            if (i % 7 === 6) throw new Error(`task ${i}`);
            return i * 2;
          }).catch((e: Error) => e.message),
        ),
      );
      expect(maxActive).toBeLessThanOrEqual(concurrency);
      expect(started).toEqual(delays.map((_, i) => i));
      expect(results).toEqual(delays.map((_, i) => (i % 7 === 6 ? `task ${i}` : i * 2)));
      expect(limit.active).toBe(0);
      expect(limit.pending).toBe(0);
    },
  );

  it('fills every slot while tasks are pending, and starts a queued task when one finishes', async () => {
    const limit = createLimiter(3);
    const gates: Array<() => void> = [];
    const running = new Set<number>();
    const all = Array.from({ length: 5 }, (_, i) =>
      limit(
        () =>
          new Promise<number>((resolve) => {
            running.add(i);
            gates[i] = () => {
              running.delete(i);
              resolve(i);
            };
          }),
      ),
    );
    await Promise.resolve();
    expect([...running]).toEqual([0, 1, 2]);
    expect([limit.active, limit.pending]).toEqual([3, 2]);
    gates[1]!();
    await all[1];
    await new Promise((r) => setTimeout(r, 0));
    expect([...running].sort()).toEqual([0, 2, 3]);
    for (const i of [0, 2, 3]) gates[i]!();
    await new Promise((r) => setTimeout(r, 0));
    gates[4]!();
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects a bad concurrency, naming it', () => {
    expectArgumentError(() => createLimiter(0), InvalidArgumentError, 'concurrency');
  });
});
