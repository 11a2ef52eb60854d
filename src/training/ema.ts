/**
 * The EMA teacher of the `'ema'` alignment anchor: a slowly moving average of the model's weights
 * (w̄ ← d·w̄ + (1 − d)·w after every step, as in BYOL / MoCo's momentum encoder), whose vision
 * side — global embedding and tokens — is the fixed target the text and clinical embeddings are
 * pulled to. A steadier anchor than the student's own stop-gradient image, which in the first
 * epochs is still noise.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TriModalData } from '../models/data.js';
import type { TriModalModel } from '../models/tri-modal.js';
import { disposeOutputs, type TeacherVision } from './loss.js';
import { variableFrom } from '../core/variables.js';

/** @internal */
export class EmaTeacher {
  private shadow: tf.Variable[] | null = null;

  constructor(
    private readonly vars: tf.Variable[],
    /** Weight d of the previous average. */
    readonly decay: number,
  ) {}

  private ensure(): tf.Variable[] {
    this.shadow ??= this.vars.map((v) => variableFrom(v.clone(), false));
    return this.shadow;
  }

  /** The teacher's vision side on `batch` (inference mode); the caller owns both tensors. Null when the model has none. */
  vision(model: TriModalModel, batch: TriModalData): TeacherVision | null {
    const shadow = this.ensure();
    const live = this.vars.map((v) => tf.keep(v.clone()));
    try {
      this.vars.forEach((v, i) => v.assign(shadow[i]!));
      const out = model.forward(batch);
      const result = out.visualEmbedding && out.visualTokens ? { visualEmbedding: out.visualEmbedding, visualTokens: out.visualTokens } : null;
      disposeOutputs({ ...out, visualEmbedding: undefined, visualTokens: undefined } as unknown as Parameters<typeof disposeOutputs>[0]);
      if (!result) tf.dispose([out.visualEmbedding, out.visualTokens].filter((t): t is NonNullable<typeof t> => t !== undefined));
      return result;
    } finally {
      this.vars.forEach((v, i) => v.assign(live[i]!));
      tf.dispose(live);
    }
  }

  /** w̄ ← d·w̄ + (1 − d)·w, after the optimizer's step. */
  update(): void {
    const shadow = this.ensure();
    tf.tidy(() => this.vars.forEach((v, i) => shadow[i]!.assign(tf.add(tf.mul(shadow[i]!, this.decay), tf.mul(v, 1 - this.decay)))));
  }

  /** The averaged weights as plain arrays (for a resumable state). */
  async getState(): Promise<number[][] | null> {
    return this.shadow ? Promise.all(this.shadow.map(async (s) => Array.from(await s.data()))) : null;
  }

  /** Restores averaged weights saved by {@link EmaTeacher.getState}. */
  setState(state: number[][] | null): void {
    this.dispose();
    if (state) this.shadow = this.vars.map((v, i) => variableFrom(tf.tensor(state[i]!, v.shape), false));
  }

  dispose(): void {
    if (this.shadow) tf.dispose(this.shadow);
    this.shadow = null;
  }
}
