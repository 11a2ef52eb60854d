/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter), with an explicit, serialisable state
 * keyed by variable name, so that training resumes exactly from a saved bundle.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { splitRows } from '../ops/slice.js';
import { flatten } from './gradients.js';
import { assertPositiveNumber } from '../core/validate.js';
import { InvalidArgumentError, SerializationError } from '../errors.js';
import { variableFrom } from '../core/variables.js';

/** Options of {@link AdamW}. */
export interface AdamWOptions {
  /** Initial learning rate (the trainer sets it every step from its schedule). @defaultValue 1e-3 */
  learningRate?: number;
  /** @defaultValue 0.9 */
  beta1?: number;
  /** @defaultValue 0.999 */
  beta2?: number;
  /** @defaultValue 1e-8 */
  epsilon?: number;
  /** Decoupled weight decay (0 = Adam). @defaultValue 0 */
  weightDecay?: number;
  /**
   * Which variables are decayed. @defaultValue kernels and embedding tables (names containing
   * 'kernel' or 'embeddings'), never biases or norms
   */
  decay?: (variableName: string) => boolean;
}

/** Plain-data optimizer state (see {@link AdamW.getState}). */
export interface AdamWState {
  step: number;
  /**
   * First and second moments in the order of the variable list passed to `applyGradients`
   * (variable names change between processes; the order of a model's variables does not).
   */
  moments: Array<{ name: string; shape: number[]; m: number[]; v: number[] }>;
}

const defaultDecay = (name: string) => /kernel|embeddings/.test(name);

/**
 * Adam / AdamW optimizer. PyTorch's `torch.optim.AdamW` update:
 * w ← w − lr·wd·w; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * w ← w − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε).
 *
 * @example
 * ```ts
 * const opt = new AdamW({ learningRate: 1e-3, weightDecay: 0.01 });
 * const { grads } = tf.variableGrads(loss, vars);
 * opt.applyGradients(grads, vars);
 * ```
 */
export class AdamW {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly decay: (name: string) => boolean;
  private step = 0;
  /**
   * Both moments of every variable, flattened and concatenated in the order of `layout` (one
   * update is ~12 kernels on these instead of ~12 per variable: with a hundred variables the
   * per-variable form spends most of a small model's update in kernel dispatch).
   */
  private flat: { m: tf.Variable; v: tf.Variable } | null = null;
  /** Variable names, sizes and shapes of the flat layout, and whether each was updated yet. */
  private layout: Array<{ name: string; size: number; shape: number[]; seen: boolean }> = [];
  /** Moments restored by `setState`, bound to variables by position at the next update. */
  private pending: AdamWState['moments'] | null = null;

  constructor(options: AdamWOptions = {}) {
    this.learningRate = options.learningRate ?? 1e-3;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decay = options.decay ?? defaultDecay;
    assertPositiveNumber(this.learningRate, 'learningRate');
    assertPositiveNumber(this.epsilon, 'epsilon');
    for (const [k, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new InvalidArgumentError({ argument: k, message: `${k} must be in [0, 1).`, received: b });
    }
    if (!(this.weightDecay >= 0 && Number.isFinite(this.weightDecay))) {
      throw new InvalidArgumentError({ argument: 'weightDecay', message: 'weightDecay must be a finite number ≥ 0.', received: this.weightDecay });
    }
  }

  /** Number of updates applied so far. */
  get iterations(): number {
    return this.step;
  }

  /**
   * Applies one update. `grads` maps variable names to gradients (as `tf.variableGrads` returns);
   * variables without a gradient are left alone (weights and moments). Does not dispose `grads`.
   *
   * All variables are updated together on flat, concatenated vectors; the arithmetic is the same,
   * element by element, as a per-variable update.
   *
   * @param options - `gradientScale`: a scalar every gradient is multiplied by first (e.g. the
   *   clipping factor of a global-norm clip), applied once to the concatenated gradients.
   *   `updateScale`: one factor per variable (in the order of `variables`) that multiplies its
   *   Adam step lr·m̂/(√v̂ + ε) — after the moments, so it changes how far each variable moves
   *   (a constant factor on the *gradient* would cancel in m̂/√v̂). Used by modality balancing.
   *   Weight decay is not scaled.
   * @throws {@link InvalidArgumentError} when `updateScale` does not hold one finite factor ≥ 0 per variable.
   */
  applyGradients(grads: Record<string, tf.Tensor>, variables: tf.Variable[], options: { gradientScale?: tf.Scalar; updateScale?: readonly number[] } = {}): void {
    const scale = options.updateScale;
    if (scale !== undefined && (scale.length !== variables.length || scale.some((k) => !(k >= 0) || !Number.isFinite(k)))) {
      throw new InvalidArgumentError({
        argument: 'options.updateScale',
        message: `updateScale must hold one finite factor ≥ 0 per variable (${variables.length}).`,
        received: scale.length,
      });
    }
    this.step += 1;
    const t = this.step;
    const c1 = 1 - this.beta1 ** t;
    const c2 = 1 - this.beta2 ** t;
    const lr = this.learningRate;
    this.ensureLayout(variables);
    const present = variables.map((v) => grads[v.name] !== undefined);
    if (!present.some(Boolean)) return;
    const flat = this.flat!;
    tf.tidy(() => {
      const raw = flatten(variables.map((v, i) => (present[i] ? grads[v.name]! : tf.zeros([this.layout[i]!.size]))));
      const g = options.gradientScale ? tf.mul(raw, options.gradientScale) : raw;
      const w = flatten(variables);
      const moved = this.direction(g, flat.m, flat.v, c1, c2);
      let newM = moved.m;
      let newV = moved.v;
      const update = moved.update;
      let decayed: tf.Tensor = w;
      const decays = this.weightDecay > 0 ? variables.map((v) => this.decay(v.name)) : [];
      if (decays.some(Boolean)) decayed = tf.mul(w, this.perElement((i) => (decays[i] ? 1 - lr * this.weightDecay : 1)));
      const step = scale && scale.some((k) => k !== 1) ? tf.mul(update, this.perElement((i) => lr * scale[i]!)) : tf.mul(update, lr);
      let newW = tf.sub(decayed, step);
      if (present.some((p) => !p)) {
        // variables without a gradient keep their weights and moments
        const mask = this.perElement((i) => (present[i] ? 1 : 0));
        const select = (a: tf.Tensor, b: tf.Tensor) => tf.where(tf.cast(mask, 'bool'), a, b);
        newM = select(newM, flat.m);
        newV = select(newV, flat.v);
        newW = select(newW, w);
      }
      flat.m.assign(newM);
      flat.v.assign(newV);
      const parts = variables.length === 1 ? [newW] : splitRows(newW, this.layout.map((l) => l.size));
      variables.forEach((v, i) => {
        if (present[i]) v.assign(tf.reshape(parts[i]!, v.shape));
      });
    });
    present.forEach((p, i) => {
      if (p) this.layout[i]!.seen = true;
    });
  }

  /**
   * The new moments and the step direction (before the learning rate) from the gradient `g` and
   * the old moments, bias corrections `c1`, `c2`: Adam's m̂/(√v̂ + ε).
   */
  protected direction(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, c1: number, c2: number): { m: tf.Tensor; v: tf.Tensor; update: tf.Tensor } {
    const newM = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const newV = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    return { m: newM, v: newV, update: tf.div(tf.div(newM, c1), tf.add(tf.sqrt(tf.div(newV, c2)), this.epsilon)) };
  }

  /** A flat vector holding `value(i)` on the elements of the layout's variable `i`. */
  private perElement(value: (i: number) => number): tf.Tensor1D {
    const out = new Float32Array(this.layout.reduce((a, l) => a + l.size, 0));
    let offset = 0;
    this.layout.forEach((l, i) => {
      out.fill(value(i), offset, offset + l.size);
      offset += l.size;
    });
    return tf.tensor1d(out);
  }

  /** Makes the flat moments follow `variables` (binding restored moments, or re-laying out). */
  private ensureLayout(variables: tf.Variable[]): void {
    if (this.pending) this.bindPending(variables);
    const same =
      this.flat !== null &&
      this.layout.length === variables.length &&
      this.layout.every((l, i) => l.name === variables[i]!.name && l.size === variables[i]!.size);
    if (same) return;
    // carry the moments of variables that are still there over to the new layout
    const old = this.flat ? this.split() : new Map<string, { m: Float32Array; v: Float32Array; seen: boolean }>();
    const total = variables.reduce((a, v) => a + v.size, 0);
    const m = new Float32Array(total);
    const v = new Float32Array(total);
    let offset = 0;
    this.layout = variables.map((variable) => {
      const prev = old.get(variable.name);
      if (prev && prev.m.length === variable.size) {
        m.set(prev.m, offset);
        v.set(prev.v, offset);
      }
      offset += variable.size;
      return { name: variable.name, size: variable.size, shape: variable.shape.slice(), seen: prev?.seen ?? false };
    });
    this.disposeMoments();
    this.flat = { m: variableFrom(tf.tensor1d(m), false), v: variableFrom(tf.tensor1d(v), false) };
  }

  /** The flat moments cut back into per-variable arrays. */
  private split(): Map<string, { m: Float32Array; v: Float32Array; seen: boolean }> {
    const out = new Map<string, { m: Float32Array; v: Float32Array; seen: boolean }>();
    if (!this.flat) return out;
    const m = this.flat.m.dataSync() as Float32Array;
    const v = this.flat.v.dataSync() as Float32Array;
    let offset = 0;
    for (const l of this.layout) {
      out.set(l.name, { m: m.slice(offset, offset + l.size), v: v.slice(offset, offset + l.size), seen: l.seen });
      offset += l.size;
    }
    return out;
  }

  private bindPending(variables: tf.Variable[]): void {
    const pending = this.pending!;
    this.pending = null;
    if (pending.length !== variables.length) {
      throw new SerializationError(
        `The restored optimizer state holds moments for ${pending.length} variables, but the model being trained has ${variables.length}: it was saved from a different architecture.`,
      );
    }
    const total = variables.reduce((a, v) => a + v.size, 0);
    const m = new Float32Array(total);
    const v = new Float32Array(total);
    let offset = 0;
    pending.forEach((p, i) => {
      const variable = variables[i]!;
      if (p.shape.join(',') !== variable.shape.join(',')) {
        throw new SerializationError(
          `Restored optimizer moment ${i} ('${p.name}') has shape [${p.shape}] but variable '${variable.name}' has [${variable.shape}]: different architecture.`,
        );
      }
      m.set(p.m, offset);
      v.set(p.v, offset);
      offset += variable.size;
    });
    this.disposeMoments();
    this.layout = variables.map((variable) => ({ name: variable.name, size: variable.size, shape: variable.shape.slice(), seen: true }));
    this.flat = { m: variableFrom(tf.tensor1d(m), false), v: variableFrom(tf.tensor1d(v), false) };
  }

  /** Copies the state to plain data (moments in variable order, for the variables updated so far). */
  async getState(): Promise<AdamWState> {
    if (this.pending) return { step: this.step, moments: this.pending.map((p) => ({ ...p })) };
    const moments: AdamWState['moments'] = [];
    if (!this.flat) return { step: this.step, moments };
    const [m, v] = (await Promise.all([this.flat.m.data(), this.flat.v.data()])) as [Float32Array, Float32Array];
    let offset = 0;
    for (const l of this.layout) {
      if (l.seen) moments.push({ name: l.name, shape: l.shape.slice(), m: Array.from(m.subarray(offset, offset + l.size)), v: Array.from(v.subarray(offset, offset + l.size)) });
      offset += l.size;
    }
    return { step: this.step, moments };
  }

  /**
   * Restores a state saved by {@link AdamW.getState}; the moments are bound to the variables, by
   * position, at the next `applyGradients`.
   */
  setState(state: AdamWState): void {
    this.disposeMoments();
    this.layout = [];
    this.step = state.step;
    this.pending = state.moments.map((p) => ({ ...p }));
  }

  private disposeMoments(): void {
    if (this.flat) tf.dispose([this.flat.m, this.flat.v]);
    this.flat = null;
  }

  /** Disposes the moment variables. */
  dispose(): void {
    this.disposeMoments();
  }
}

/** What the trainer needs of an optimizer ({@link AdamW} or {@link Sgd}). */
export interface Optimizer {
  learningRate: number;
  applyGradients(grads: Record<string, tf.Tensor>, variables: tf.Variable[], options?: { gradientScale?: tf.Scalar; updateScale?: readonly number[] }): void;
  getState(): Promise<AdamWState>;
  setState(state: AdamWState): void;
  dispose(): void;
}

/** Options of {@link Sgd}. */
export interface SgdOptions {
  /** Initial learning rate. @defaultValue 0.01 */
  learningRate?: number;
  /** Heavy-ball momentum μ. @defaultValue 0.9 */
  momentum?: number;
  /** Decoupled weight decay. @defaultValue 0 */
  weightDecay?: number;
  /** Which variables are decayed (as in {@link AdamWOptions}). */
  decay?: (variableName: string) => boolean;
}

/**
 * SGD with heavy-ball momentum (PyTorch's `torch.optim.SGD` with `momentum`, dampening 0) and
 * decoupled weight decay: m ← μ·m + g; w ← w − lr·wd·w − lr·m. The optimizer that OGM-GE
 * gradient modulation was designed for (under Adam a constant gradient scale cancels). Same
 * state format and options of `applyGradients` as {@link AdamW} (the second moment is unused).
 *
 * @throws {@link InvalidArgumentError} for a momentum outside [0, 1) or a bad learning rate or decay.
 * @example
 * ```ts
 * const opt = new Sgd({ learningRate: 0.05, momentum: 0.9 });
 * opt.applyGradients(grads, vars);
 * ```
 */
export class Sgd extends AdamW {
  /** Heavy-ball momentum μ. */
  readonly momentum: number;

  constructor(options: SgdOptions = {}) {
    super({ learningRate: options.learningRate ?? 0.01, weightDecay: options.weightDecay ?? 0, ...(options.decay ? { decay: options.decay } : {}) });
    this.momentum = options.momentum ?? 0.9;
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new InvalidArgumentError({ argument: 'momentum', message: 'momentum must be in [0, 1).', received: options.momentum });
    }
  }

  protected override direction(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor): { m: tf.Tensor; v: tf.Tensor; update: tf.Tensor } {
    const newM = tf.add(tf.mul(m, this.momentum), g);
    return { m: newM, v: tf.clone(v), update: newM };
  }
}
