// The learning curve's step budget: a cell on n > 600 patients trains the same number of
// optimiser steps as one on 600 (epochs × n ≈ 14 × 600), and the trainer options follow it.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { cellEpochs, TRAINING, trainerOptions } from '../../src/study/ablations.js';
import { ablationSpec } from '../../src/study/design.js';

describe('cellEpochs', () => {
  it('gives the full budget up to 600 patients and scales the epochs above (hand-computed)', () => {
    expect(cellEpochs(undefined, false)).toEqual({ epochs: 14, pretrainEpochs: 12, patience: 4 });
    expect(cellEpochs(150, false)).toEqual({ epochs: 14, pretrainEpochs: 12, patience: 4 });
    expect(cellEpochs(600, false)).toEqual({ epochs: 14, pretrainEpochs: 12, patience: 4 });
    expect(cellEpochs(1200, false)).toEqual({ epochs: 7, pretrainEpochs: 6, patience: 4 });
    // 14 · 600 / 2400 = 3.5 → 4; 12 · 600 / 2400 = 3
    expect(cellEpochs(2400, false)).toEqual({ epochs: 4, pretrainEpochs: 3, patience: 4 });
    // 1.75 → 2; 1.5 → 2
    expect(cellEpochs(4800, false)).toEqual({ epochs: 2, pretrainEpochs: 2, patience: 4 });
    // floors: at least 2 epochs and 1 pretraining epoch
    expect(cellEpochs(100_000, false)).toEqual({ epochs: 2, pretrainEpochs: 1, patience: 4 });
    expect(cellEpochs(4800, true)).toEqual({ epochs: TRAINING.quickEpochs, pretrainEpochs: 1, patience: TRAINING.quickEpochs });
  });

  test.prop([fc.integer({ min: TRAINING.budgetSize, max: 6 * TRAINING.budgetSize })])('keeps the optimiser steps within half an epoch of the budget above 600 patients', (n) => {
    const { epochs } = cellEpochs(n, false);
    expect(Math.abs(epochs * n - TRAINING.epochs * TRAINING.budgetSize)).toBeLessThanOrEqual(n / 2 + 1e-9);
  });

  it('sets the trainer options of a cell: epochs, pretraining of the aligned models, early stopping on loss', () => {
    const full = trainerOptions(ablationSpec('full'), { quick: false, seed: 1, trainSize: 2400 });
    expect(full.epochs).toBe(4);
    expect(full.pretrain).toEqual({ epochs: 3, fields: TRAINING.pretrainFields, global: 0, fine: 0, clinical: 0 });
    expect(full.groupLearningRates).toEqual({ image: TRAINING.alignedImageLearningRate });
    expect(full.earlyStopping).toEqual({ metric: 'loss', patience: 4, restoreBest: true });
    const concat = trainerOptions(ablationSpec('concat'), { quick: false, seed: 1 });
    expect(concat.epochs).toBe(14);
    expect(concat.pretrain).toBeUndefined();
    expect(concat.alignment).toBe(false);
  });
});
