// EarlyStopping (src/training/early-stopping.ts): best tracking, patience, restore-best and the
// warm-up (`minEpochs`); the trainer's validation of `earlyStopping`.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { EarlyStopping } from '../../src/training/early-stopping.js';
import { Trainer } from '../../src/training/trainer.js';
import { expectArgumentError } from '../helpers/errors.js';

/** Feeds validation losses epoch by epoch, the variable holding the epoch index; returns what the tracker ends with. */
function run(losses: number[], minEpochs: number, patience = 10) {
  const v = tf.variable(tf.scalar(-1));
  const es = new EarlyStopping({ metric: 'loss', patience, restoreBest: true, minEpochs }, null);
  let stoppedAfter: number | null = null;
  for (const [epoch, loss] of losses.entries()) {
    v.assign(tf.scalar(epoch));
    es.update(epoch, { val_loss: loss }, [v]);
    if (es.shouldStop) {
      stoppedAfter = epoch;
      break;
    }
  }
  es.restore([v]);
  const restored = v.dataSync()[0]!;
  v.dispose();
  return { best: es.best, stoppedAfter, restored };
}

describe('EarlyStopping', () => {
  // epoch 0 predicts near the base rate (loss ≈ entropy), later epochs are better ranked but spiky
  const losses = [0.685, 0.687, 0.918, 0.688, 0.897, 0.7];

  it('takes the lowest validation loss and restores its weights (no warm-up: epoch 0 wins here)', () => {
    const r = run(losses, 0);
    expect(r.best).toEqual({ value: -0.685, epoch: 0 });
    expect(r.restored).toBe(0);
  });

  it('with minEpochs, skips the warm-up epochs as candidates and for the patience', () => {
    const r = run(losses, 2);
    expect(r.best).toEqual({ value: -0.688, epoch: 3 });
    expect(r.restored).toBe(3);
    // patience 2: epochs 0-1 do not count, 2 sets the best (0.918), 3 improves, 4 and 5 are stale
    expect(run(losses, 2, 2).stoppedAfter).toBe(5);
    expect(run(losses, 0, 2).stoppedAfter).toBe(2);
  });

  it('restores nothing when every epoch is in the warm-up', () => {
    const r = run(losses, 6);
    expect(r.best).toBeNull();
    expect(r.restored).toBe(5); // the last epoch's weights stay
  });

  it('the trainer rejects a malformed earlyStopping with typed errors naming the field', () => {
    expectArgumentError(() => new Trainer({ earlyStopping: { minEpochs: -1 } }), InvalidArgumentError, 'earlyStopping.minEpochs');
    expectArgumentError(() => new Trainer({ earlyStopping: { minEpochs: 1.5 } }), InvalidArgumentError, 'earlyStopping.minEpochs');
    expectArgumentError(() => new Trainer({ earlyStopping: { patience: 0 } }), InvalidArgumentError, 'earlyStopping.patience');
    expectArgumentError(() => new Trainer({ earlyStopping: { metric: 'acc' as 'auc' } }), InvalidArgumentError, 'earlyStopping.metric');
    expectArgumentError(() => new Trainer({ earlyStopping: { restoreBest: 'yes' as unknown as boolean } }), InvalidArgumentError, 'earlyStopping.restoreBest');
    expectArgumentError(() => new Trainer({ earlyStopping: 3 as unknown as false }), InvalidArgumentError, 'earlyStopping');
    expect(() => new Trainer({ earlyStopping: { metric: 'loss', patience: 4, restoreBest: true, minEpochs: 2 } }).dispose()).not.toThrow();
  });
});
