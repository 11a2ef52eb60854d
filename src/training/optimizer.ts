/**
 * AdamW with decoupled weight decay (Loshchilov & Hutter), with an explicit, serialisable state
 * keyed by variable name, so that training resumes exactly from a saved bundle.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertPositiveNumber } from '../core/shapes.js';
import { InvalidArgumentError, SerializationError } from '../errors.js';

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
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Variable names in the order of the last `applyGradients` call. */
  private order: string[] = [];
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
   * variables without a gradient are left alone. Does not dispose `grads`.
   */
  applyGradients(grads: Record<string, tf.Tensor>, variables: tf.Variable[]): void {
    this.step += 1;
    const t = this.step;
    const c1 = 1 - this.beta1 ** t;
    const c2 = 1 - this.beta2 ** t;
    const lr = this.learningRate;
    this.order = variables.map((v) => v.name);
    if (this.pending) this.bindPending(variables);
    tf.tidy(() => {
      for (const variable of variables) {
        const g = grads[variable.name];
        if (!g) continue;
        let m = this.m.get(variable.name);
        let v = this.v.get(variable.name);
        if (!m || !v) {
          m = tf.variable(tf.zerosLike(variable), false);
          v = tf.variable(tf.zerosLike(variable), false);
          this.m.set(variable.name, m);
          this.v.set(variable.name, v);
        }
        const newM = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const newV = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(newM);
        v.assign(newV);
        let w: tf.Tensor = variable;
        if (this.weightDecay > 0 && this.decay(variable.name)) w = tf.mul(w, 1 - lr * this.weightDecay);
        const update = tf.div(tf.div(newM, c1), tf.add(tf.sqrt(tf.div(newV, c2)), this.epsilon));
        variable.assign(tf.sub(w, tf.mul(update, lr)));
      }
    });
  }

  private bindPending(variables: tf.Variable[]): void {
    const pending = this.pending!;
    this.pending = null;
    if (pending.length !== variables.length) {
      throw new SerializationError(
        `The restored optimizer state holds moments for ${pending.length} variables, but the model being trained has ${variables.length}: it was saved from a different architecture.`,
      );
    }
    pending.forEach((p, i) => {
      const variable = variables[i]!;
      if (p.shape.join(',') !== variable.shape.join(',')) {
        throw new SerializationError(
          `Restored optimizer moment ${i} ('${p.name}') has shape [${p.shape}] but variable '${variable.name}' has [${variable.shape}]: different architecture.`,
        );
      }
      this.m.set(variable.name, tf.variable(tf.tensor(p.m, p.shape), false));
      this.v.set(variable.name, tf.variable(tf.tensor(p.v, p.shape), false));
    });
  }

  /** Copies the state to plain data (moments in variable order). */
  async getState(): Promise<AdamWState> {
    if (this.pending) return { step: this.step, moments: this.pending.map((p) => ({ ...p })) };
    const moments: AdamWState['moments'] = [];
    for (const name of this.order) {
      const m = this.m.get(name);
      const v = this.v.get(name);
      if (!m || !v) continue;
      moments.push({ name, shape: m.shape, m: Array.from(await m.data()), v: Array.from(await v.data()) });
    }
    return { step: this.step, moments };
  }

  /**
   * Restores a state saved by {@link AdamW.getState}; the moments are bound to the variables, by
   * position, at the next `applyGradients`.
   */
  setState(state: AdamWState): void {
    this.disposeMoments();
    this.step = state.step;
    this.pending = state.moments.map((p) => ({ ...p }));
  }

  private disposeMoments(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }

  /** Disposes the moment variables. */
  dispose(): void {
    this.disposeMoments();
  }
}
