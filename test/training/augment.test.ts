// Training-only image augmentation (src/training/augment.ts): every augmented image is the input
// shifted within ±shift (zero fill, never mirrored) and scaled by a per-channel gain; the draws
// come from the trainer's seeded stream; the trainer applies it without leaking tensors.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { createTriModalModel, InvalidArgumentError, Trainer, type TriModalData } from '../../src/index.js';
import { Random } from '../../src/core/random.js';
import { augmentImages, resolveAugment } from '../../src/training/augment.js';
import { expectArgumentError } from '../helpers/errors.js';

/** A batch with only an image (and labels). */
function batchOf(values: Float32Array, shape: number[]): TriModalData {
  return { image: tf.tensor(values, shape), labels: tf.zeros([shape[0]!]) } as TriModalData;
}

/** Which shift (dy, dx) with |d| ≤ max and zero fill turns `a` [H, W, C] into `b`; null when none does. */
function findShift(a: number[][][], b: number[][][], max: number): [number, number] | null {
  const h = a.length;
  const w = a[0]!.length;
  for (let dy = -max; dy <= max; dy++) {
    for (let dx = -max; dx <= max; dx++) {
      let ok = true;
      for (let i = 0; i < h && ok; i++) {
        for (let j = 0; j < w && ok; j++) {
          const si = i - dy;
          const sj = j - dx;
          const src = si >= 0 && si < h && sj >= 0 && sj < w ? a[si]![sj]! : a[0]![0]!.map(() => 0);
          ok = src.every((v, c) => Math.abs(v - b[i]![j]![c]!) < 1e-6);
        }
      }
      if (ok) return [dy, dx];
    }
  }
  return null;
}

describe('augmentImages', () => {
  fcTest.prop([fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 })], { numRuns: 25 })(
    'with gain 0 every image is its input shifted by at most ±shift with zero fill (never flipped)',
    (shift, seed) => {
      const [n, h, w, c] = [3, 6, 7, 2];
      const values = Float32Array.from({ length: n * h * w * c }, (_, i) => 1 + ((i * 7919) % 101)); // all distinct, > 0
      const batch = batchOf(values, [n, h, w, c]);
      const { batch: out, created } = augmentImages(batch, { shift, gain: 0, noise: 0 }, new Random(seed));
      const a = batch.image!.arraySync() as number[][][][];
      const b = out.image!.arraySync() as number[][][][];
      for (let p = 0; p < n; p++) expect(findShift(a[p]!, b[p]!, shift), `patient ${p}`).not.toBeNull();
      // a left–right mirror of the input is not among the outputs' explanations
      const mirrored = a[0]!.map((row) => [...row].reverse());
      expect(findShift(mirrored, b[0]!, shift)).toBeNull();
      tf.dispose([...created, ...Object.values(batch)]);
    },
  );

  it('with shift 0 scales each patient-channel by one gain whose log has the requested sd', () => {
    const [n, h, w, c] = [400, 2, 2, 3];
    const batch = batchOf(Float32Array.from({ length: n * h * w * c }, () => 2), [n, h, w, c]);
    const { batch: out, created } = augmentImages(batch, { shift: 0, gain: 0.2, noise: 0 }, new Random(5));
    const v = out.image!.arraySync() as number[][][][];
    const logs: number[] = [];
    for (let p = 0; p < n; p++) {
      for (let k = 0; k < c; k++) {
        const g = v[p]![0]![0]![k]! / 2;
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) expect(v[p]![i]![j]![k]! / 2).toBeCloseTo(g, 5);
        logs.push(Math.log(g));
      }
    }
    const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (logs.length - 1));
    expect(Math.abs(mean)).toBeLessThan(0.03); // 1200 draws: se of the mean ≈ 0.006
    expect(sd).toBeGreaterThan(0.18);
    expect(sd).toBeLessThan(0.22);
    tf.dispose([...created, ...Object.values(batch)]);
  });

  it('is deterministic under the stream and a no-op when off; shifts only height and width of a 3D volume', () => {
    const shape = [2, 3, 5, 5, 1];
    const batch = batchOf(Float32Array.from({ length: 150 }, (_, i) => i + 1), shape);
    const a = augmentImages(batch, { shift: 1, gain: 0.1, noise: 0.05 }, new Random(3));
    const b = augmentImages(batch, { shift: 1, gain: 0.1, noise: 0.05 }, new Random(3));
    expect(Array.from(a.batch.image!.dataSync())).toEqual(Array.from(b.batch.image!.dataSync()));
    expect(augmentImages(batch, null, new Random(3)).batch).toBe(batch);
    // shift only: each depth slice stays a shifted copy of the same depth slice
    const s = augmentImages(batch, { shift: 1, gain: 0, noise: 0 }, new Random(8));
    const src = batch.image!.arraySync() as number[][][][][];
    const dst = s.batch.image!.arraySync() as number[][][][][];
    for (let p = 0; p < 2; p++) {
      const shifts = [0, 1, 2].map((d) => findShift(src[p]![d]!, dst[p]![d]!, 1));
      expect(shifts.every((x) => x !== null && x.join() === shifts[0]!.join())).toBe(true);
    }
    tf.dispose([...a.created, ...b.created, ...s.created, ...Object.values(batch)]);
  });

  it('validates its options, naming the field', () => {
    expect(resolveAugment(true)).toEqual({ shift: 2, gain: 0.1, noise: 0 });
    expect(resolveAugment(false)).toBeNull();
    expectArgumentError(() => resolveAugment({ shift: 1.5 }), InvalidArgumentError, 'augment.shift');
    expectArgumentError(() => resolveAugment({ gain: -1 }), InvalidArgumentError, 'augment.gain');
    expectArgumentError(() => resolveAugment({ noise: Number.NaN }), InvalidArgumentError, 'augment.noise');
    expectArgumentError(() => resolveAugment('on' as never), InvalidArgumentError, 'augment');
    expectArgumentError(() => new Trainer({ augment: { shift: -1 } }), InvalidArgumentError, 'augment.shift');
  });

  it('the trainer augments deterministically under its seed, changes the result, and leaks nothing', async () => {
    const n = 32;
    const data = {
      image: tf.randomNormal([n, 8, 8, 2], 0, 1, 'float32', 1),
      labels: tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2)),
    } as TriModalData;
    const build = () => createTriModalModel({ image: { inputShape: [8, 8, 2], widths: [4], depths: [1], strides: [2], groups: 2 }, seed: 2 });
    const weightsAfter = async (augment: boolean) => {
      const model = build();
      const trainer = new Trainer({ epochs: 2, batchSize: 16, seed: 4, augment, modalityDropout: false });
      const before = tf.memory().numTensors;
      await trainer.fit(model, data);
      trainer.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const w = Array.from(model.trainableVariables()[0]!.dataSync());
      model.dispose();
      return w;
    };
    const a = await weightsAfter(true);
    const b = await weightsAfter(true);
    const plain = await weightsAfter(false);
    expect(a).toEqual(b);
    expect(a).not.toEqual(plain);
    tf.dispose(Object.values(data));
  });
});
