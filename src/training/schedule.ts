/**
 * Learning-rate schedules.
 *
 * @packageDocumentation
 */
import { assertNonNegativeInt, assertPositiveNumber } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';

/** A learning-rate schedule: step (0-based) → learning rate. */
export type LearningRateSchedule = (step: number) => number;

/** Options of {@link warmupCosineSchedule}. */
export interface WarmupCosineOptions {
  /** Peak learning rate, reached at the end of the warm-up. */
  learningRate: number;
  /** Total number of optimisation steps. */
  totalSteps: number;
  /** Linear warm-up steps from 0 to `learningRate`. @defaultValue 0 */
  warmupSteps?: number;
  /** Final learning rate at `totalSteps`. @defaultValue 0 */
  minLearningRate?: number;
}

/**
 * Linear warm-up followed by cosine decay to `minLearningRate`:
 * lr(s) = lr·(s+1)/W for s < W; lr_min + ½(lr − lr_min)(1 + cos(π·(s − W)/(T − W))) after;
 * constant `minLearningRate` past `totalSteps`.
 *
 * @throws {@link InvalidArgumentError} for non-positive rates or warm-up longer than the run.
 * @example
 * ```ts
 * const lr = warmupCosineSchedule({ learningRate: 1e-3, warmupSteps: 10, totalSteps: 100 });
 * lr(0); // 1e-4
 * lr(9); // 1e-3
 * lr(100); // 0
 * ```
 */
export function warmupCosineSchedule(options: WarmupCosineOptions): LearningRateSchedule {
  const { learningRate, totalSteps } = options;
  const warmup = options.warmupSteps ?? 0;
  const minLr = options.minLearningRate ?? 0;
  assertPositiveNumber(learningRate, 'learningRate');
  assertNonNegativeInt(totalSteps, 'totalSteps');
  assertNonNegativeInt(warmup, 'warmupSteps');
  if (typeof minLr !== 'number' || !Number.isFinite(minLr) || minLr < 0 || minLr > learningRate) {
    throw new InvalidArgumentError({ argument: 'minLearningRate', message: 'minLearningRate must be in [0, learningRate].', received: minLr });
  }
  if (warmup > totalSteps) {
    throw new InvalidArgumentError({ argument: 'warmupSteps', message: `warmupSteps must be ≤ totalSteps (${totalSteps}).`, received: warmup });
  }
  return (step: number) => {
    if (step < warmup) return (learningRate * (step + 1)) / warmup;
    const span = totalSteps - warmup;
    if (span <= 0 || step >= totalSteps) return minLr;
    const progress = (step - warmup) / span;
    return minLr + 0.5 * (learningRate - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

/** A constant learning rate as a schedule. */
export function constantSchedule(learningRate: number): LearningRateSchedule {
  assertPositiveNumber(learningRate, 'learningRate');
  return () => learningRate;
}
