/**
 * Small helpers shared by vdafm's layer classes: seeded initialisers, the `training` flag,
 * per-call dropout seeds and input-list parsing.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { assertOneOf } from '../core/shapes.js';
import { InvalidArgumentError } from '../errors.js';

/** Names of the kernel initialisers a vdafm layer accepts (all JSON-safe, all seedable). */
export type KernelInitializerName =
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'heNormal'
  | 'leCunNormal'
  | 'truncatedNormal'
  | 'zeros';

/** Every accepted {@link KernelInitializerName}. */
export const KERNEL_INITIALIZERS: ReadonlyArray<KernelInitializerName> = [
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'leCunNormal',
  'truncatedNormal',
  'zeros',
];

/** Initialiser instance handed to `addWeight`. */
export type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/**
 * Builds an initialiser. With a `seed`, weight number `index` of a layer gets the seed
 * `seed + 7919·index`, so that all weights differ and a run is reproducible.
 */
export function makeInitializer(name: KernelInitializerName, seed: number | undefined, index: number): Initializer {
  const s = seed === undefined ? undefined : seed + 7919 * index;
  const args = s === undefined ? {} : { seed: s };
  switch (name) {
    case 'glorotUniform':
      return tfl.initializers.glorotUniform(args);
    case 'glorotNormal':
      return tfl.initializers.glorotNormal(args);
    case 'heUniform':
      return tfl.initializers.heUniform(args);
    case 'heNormal':
      return tfl.initializers.heNormal(args);
    case 'leCunNormal':
      return tfl.initializers.leCunNormal(args);
    case 'truncatedNormal':
      return tfl.initializers.truncatedNormal({ stddev: 0.02, ...args });
    case 'zeros':
      return tfl.initializers.zeros();
  }
}

/** Validates a kernel-initialiser option. */
export function checkInitializer(value: unknown, argument: string): KernelInitializerName {
  assertOneOf(value, KERNEL_INITIALIZERS, argument);
  return value;
}

/** Validates an optional integer seed. */
export function checkSeed(value: unknown, argument = 'seed'): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be an integer or undefined.`, received: value });
  }
  return value;
}

/** Validates a layer/model name prefix: a letter, then letters, digits and `_`. */
export function checkName(name: unknown, argument = 'name'): string {
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    throw new InvalidArgumentError({ argument, message: `${argument} must start with a letter and hold only letters, digits and _.`, received: name });
  }
  return name;
}

/** Reads the `training` flag tfjs passes to `call` (false when absent). */
export function isTraining(kwargs: Record<string, unknown> | undefined): boolean {
  return kwargs != null && kwargs['training'] === true;
}

let dropoutStep = 0;

/**
 * Sets the training step that vdafm layers mix into their dropout seeds. The trainer calls it
 * before every step, so that a run resumed from a checkpoint draws exactly the same dropout
 * masks as an uninterrupted one. Outside the trainer it stays 0 and every call draws new masks.
 *
 * @example
 * ```ts
 * setDropoutStep(120); // the next training call of each seeded layer uses step 120's masks
 * ```
 */
export function setDropoutStep(step: number): void {
  dropoutStep = step;
}

/**
 * Hands out dropout seeds: deterministic per (layer seed, training step, call within the step)
 * when the layer has a seed, random otherwise.
 */
export class DropoutSeeds {
  private calls = 0;
  private step = -1;
  constructor(private readonly seed: number | undefined) {}
  next(): number | undefined {
    if (this.seed === undefined) return undefined;
    if (this.step !== dropoutStep) {
      this.step = dropoutStep;
      this.calls = 0;
    }
    this.calls += 1;
    let h = (this.seed ^ 0x9e3779b9) >>> 0;
    h = Math.imul(h ^ (this.step + 0x632be5ab), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (this.calls + 0x2545f491), 0xc2b2ae35) >>> 0;
    return (h ^ (h >>> 16)) % 2147483647;
  }
}

/** Normalises a layer's `inputs` argument to a list. */
export function asList<T>(inputs: T | T[]): T[] {
  return Array.isArray(inputs) ? inputs : [inputs];
}

