// AdamW (src/training/optimizer.ts) against an independent plain-JavaScript AdamW (float64,
// element by element, PyTorch's torch.optim.AdamW update rule), on cpu and wasm.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { AdamW } from '../../src/training/optimizer.js';
import { InvalidArgumentError, SerializationError } from '../../src/errors.js';
import { assertNoLeaks } from '../../src/testing.js';
import { onBackend } from '../helpers/backends.js';

interface RefParam {
  name: string;
  w: number[];
  m: number[];
  v: number[];
  decay: boolean;
}

/** One AdamW step on plain arrays; `grads[name]` undefined = no gradient (left alone). */
function refStep(params: RefParam[], grads: Record<string, number[] | undefined>, t: number, o: { lr: number; b1: number; b2: number; eps: number; wd: number }): void {
  const c1 = 1 - o.b1 ** t;
  const c2 = 1 - o.b2 ** t;
  for (const p of params) {
    const g = grads[p.name];
    if (!g) continue;
    for (let i = 0; i < p.w.length; i++) {
      p.m[i] = o.b1 * p.m[i]! + (1 - o.b1) * g[i]!;
      p.v[i] = o.b2 * p.v[i]! + (1 - o.b2) * g[i]! ** 2;
      const w = p.decay ? p.w[i]! * (1 - o.lr * o.wd) : p.w[i]!;
      p.w[i] = w - (o.lr * (p.m[i]! / c1)) / (Math.sqrt(p.v[i]! / c2) + o.eps);
    }
  }
}

let counter = 0;
const uniqueName = (base: string) => `${base}_${counter++}`;

/** Pseudo-random values in [-1, 1) from an integer seed (no tfjs involved). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2147483648 - 1;
  });
}

describe('AdamW', () => {
  fcTest.prop([fc.integer({ min: 1, max: 1e6 }), fc.boolean(), fc.constantFrom<'cpu' | 'wasm'>('cpu', 'wasm')], { numRuns: 6 })(
    'matches an independent float64 AdamW over 4 steps (decayed kernel, undecayed bias, a variable that misses a gradient)',
    async (seed, withDecay, backend) => {
      const o = { lr: 0.05, b1: 0.9, b2: 0.99, eps: 1e-8, wd: withDecay ? 0.1 : 0 };
      await onBackend(backend, async () => {
        const shapes: Record<string, number[]> = { kernel: [3, 2], bias: [2], other_kernel: [4] };
        const names = Object.keys(shapes);
        const ref: RefParam[] = names.map((n, i) => {
          const size = shapes[n]!.reduce((a, b) => a * b, 1);
          return { name: n, w: values(size, seed + i), m: new Array(size).fill(0), v: new Array(size).fill(0), decay: /kernel/.test(n) };
        });
        const vars = ref.map((p, i) => tf.variable(tf.tensor(p.w, shapes[names[i]!]), true, uniqueName(p.name)));
        const opt = new AdamW({ learningRate: o.lr, beta1: o.b1, beta2: o.b2, epsilon: o.eps, weightDecay: o.wd });
        for (let t = 1; t <= 4; t++) {
          const gradsRef: Record<string, number[] | undefined> = {};
          const grads: Record<string, tf.Tensor> = {};
          ref.forEach((p, i) => {
            if (p.name === 'other_kernel' && t === 2) return; // no gradient this step
            const g = values(p.w.length, seed * 7 + t * 31 + i);
            gradsRef[p.name] = g;
            grads[vars[i]!.name] = tf.tensor(g, shapes[p.name]);
          });
          refStep(ref, gradsRef, t, o);
          opt.applyGradients(grads, vars);
          tf.dispose(Object.values(grads));
        }
        ref.forEach((p, i) => {
          const got = Array.from(vars[i]!.dataSync());
          got.forEach((x, j) => expect(Math.abs(x - p.w[j]!), `${p.name}[${j}] on ${backend}`).toBeLessThan(1e-6));
        });
        const state = await opt.getState();
        expect(state.step).toBe(4);
        state.moments.forEach((mo, i) => {
          mo.m.forEach((x, j) => expect(Math.abs(x - ref[i]!.m[j]!)).toBeLessThan(1e-6));
          mo.v.forEach((x, j) => expect(Math.abs(x - ref[i]!.v[j]!)).toBeLessThan(1e-6));
        });
        opt.dispose();
        tf.dispose(vars);
      });
    },
  );

  it('a restored state continues exactly like the uninterrupted optimizer, and leaks nothing per step', async () => {
    const make = (): tf.Variable[] => [tf.variable(tf.tensor2d([[1, -2], [3, 0.5]]), true, uniqueName('a_kernel')), tf.variable(tf.tensor1d([0.1, 0.2]), true, uniqueName('a_bias'))];
    const gradsFor = (vars: tf.Variable[], t: number) => Object.fromEntries(vars.map((v, i) => [v.name, tf.fill(v.shape, (t + 1) * (i + 1) * 0.1)]));
    const run = async (restoreAt: number | null) => {
      let vars = make();
      let opt = new AdamW({ learningRate: 0.1, weightDecay: 0.01 });
      for (let t = 0; t < 5; t++) {
        if (t === restoreAt) {
          const state = await opt.getState();
          const weights = vars.map((v) => v.arraySync());
          opt.dispose();
          tf.dispose(vars);
          vars = make();
          vars.forEach((v, i) => v.assign(tf.tensor(weights[i] as number[])));
          opt = new AdamW({ learningRate: 0.1, weightDecay: 0.01 });
          opt.setState(state);
        }
        const g = gradsFor(vars, t);
        opt.applyGradients(g, vars);
        tf.dispose(Object.values(g));
      }
      const out = vars.map((v) => Array.from(v.dataSync()));
      opt.dispose();
      tf.dispose(vars);
      return out;
    };
    expect(await run(3)).toEqual(await run(null));

    const vars = make();
    const opt = new AdamW();
    const step = () => {
      const g = gradsFor(vars, 0);
      opt.applyGradients(g, vars);
      tf.dispose(Object.values(g));
    };
    step();
    await assertNoLeaks(step, 'AdamW step');
    opt.dispose();
    tf.dispose(vars);
  });

  it('re-lays out its moments when the variable list changes, keeping those of the variables still there', async () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true, uniqueName('x_kernel'));
    const b = tf.variable(tf.tensor1d([3]), true, uniqueName('y_kernel'));
    const opt = new AdamW({ learningRate: 0.1 });
    opt.applyGradients({ [a.name]: tf.tensor1d([1, 1]) }, [a]);
    const before = (await opt.getState()).moments[0]!;
    opt.applyGradients({ [b.name]: tf.tensor1d([1]) }, [b, a]); // a gets no gradient: untouched
    const state = await opt.getState();
    expect(state.moments.map((mo) => mo.name)).toEqual([b.name, a.name]);
    expect(state.moments[1]!.m).toEqual(before.m);
    opt.dispose();
    tf.dispose([a, b]);
  });

  it('gradientScale gives the same update as gradients multiplied by the scale', () => {
    const run = (scaleIt: boolean) => {
      const v = tf.variable(tf.tensor1d([1, -1, 0.5]), true, uniqueName('s_kernel'));
      const opt = new AdamW({ learningRate: 0.1, weightDecay: 0.01 });
      for (let t = 0; t < 3; t++) {
        const g = tf.tensor1d([0.3 * (t + 1), -0.2, 0.05]);
        const scale = tf.scalar(0.25);
        const scaled = tf.mul(g, scale);
        if (scaleIt) opt.applyGradients({ [v.name]: g }, [v], { gradientScale: scale });
        else opt.applyGradients({ [v.name]: scaled }, [v]);
        tf.dispose([g, scale, scaled]);
      }
      const out = Array.from(v.dataSync());
      opt.dispose();
      v.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it('rejects bad options and a state from another architecture', () => {
    expect(() => new AdamW({ beta1: 1 })).toThrow(InvalidArgumentError);
    expect(() => new AdamW({ weightDecay: -1 })).toThrow(/weightDecay/);
    const a = tf.variable(tf.tensor1d([1, 2]), true, uniqueName('z_kernel'));
    const opt = new AdamW();
    opt.setState({ step: 3, moments: [{ name: 'q', shape: [3], m: [0, 0, 0], v: [0, 0, 0] }] });
    expect(() => opt.applyGradients({ [a.name]: tf.tensor1d([1, 1]) }, [a])).toThrow(SerializationError);
    opt.dispose();
    a.dispose();
  });
});
