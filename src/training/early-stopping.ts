/**
 * Early stopping on a validation metric with restore-best, as the trainer uses it.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainingLogs } from './types.js';

/** Early-stopping settings with their defaults filled in. @internal */
export interface EarlyStoppingConfig {
  metric: 'auc' | 'loss';
  patience: number;
  restoreBest: boolean;
  /** Epochs (0-based index below it) that are never taken as the best and never count as stale. */
  minEpochs: number;
}

/**
 * Tracks the best validation value (`val_auc`, or −`val_loss`) and a copy of the weights at it;
 * says when `patience` epochs have passed without improvement. The first `minEpochs` epochs are a
 * warm-up: not candidates for the best, not counted against the patience.
 * @internal
 */
export class EarlyStopping {
  private stale = 0;
  private weights: tf.Tensor[] | null = null;

  /** @param best - the best value so far (from a resumed trainer state), or null. */
  constructor(
    readonly config: EarlyStoppingConfig,
    public best: { value: number; epoch: number } | null,
  ) {}

  /** Records a finished epoch's validation logs; keeps a copy of `vars` when it is the best so far. */
  update(epoch: number, logs: TrainingLogs, vars: tf.Variable[]): void {
    if (epoch < this.config.minEpochs) return;
    const value = this.config.metric === 'auc' ? logs['val_auc']! : -logs['val_loss']!;
    if (this.best === null || value > this.best.value) {
      this.best = { value, epoch };
      this.stale = 0;
      if (this.config.restoreBest) {
        tf.dispose(this.weights ?? []);
        this.weights = vars.map((v) => tf.keep(tf.clone(v)));
      }
    } else {
      this.stale++;
    }
  }

  /** Whether `patience` epochs have passed without improvement. */
  get shouldStop(): boolean {
    return this.stale >= this.config.patience;
  }

  /** Puts the best weights back into `vars` (when restore-best kept them) and frees the copy. */
  restore(vars: tf.Variable[]): void {
    if (!this.weights) return;
    vars.forEach((v, i) => v.assign(this.weights![i]!));
    tf.dispose(this.weights);
    this.weights = null;
  }
}
