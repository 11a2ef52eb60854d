/**
 * Small helpers shared by vdafm's layer classes: the constructor prelude and optional config
 * fields, seeded initialisers, the `training` flag, per-call dropout seeds and input-list parsing.
 * (Argument validation lives in src/core/validate.ts.)
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { KernelInitializerName } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';

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

/** Reads the `training` flag tfjs passes to `call` (false when absent). */
export function isTraining(kwargs: Record<string, unknown> | undefined): boolean {
  return kwargs != null && kwargs['training'] === true;
}

/**
 * The training step a vdafm layer mixes into its dropout seeds, read from the call's kwargs
 * (`dropoutStep`). The trainer passes its step with every training call (through
 * `TriModalModel.forward` and `runGraph`), so that a run resumed from a checkpoint draws exactly
 * the same dropout masks as an uninterrupted one; outside the trainer it is 0.
 * @internal
 */
export function dropoutStepOf(kwargs: Record<string, unknown> | undefined): number {
  const step = kwargs?.['dropoutStep'];
  return typeof step === 'number' && Number.isFinite(step) ? step : 0;
}

/**
 * Hands out dropout seeds: deterministic per (layer seed, training step, call within the step)
 * when the layer has a seed, random otherwise.
 * @internal
 */
export class DropoutSeeds {
  private calls = 0;
  private step = -1;
  constructor(private readonly seed: number | undefined) {}
  next(step: number): number | undefined {
    if (this.seed === undefined) return undefined;
    if (this.step !== step) {
      this.step = step;
      this.calls = 0;
    }
    this.calls += 1;
    let h = (this.seed ^ 0x9e3779b9) >>> 0;
    h = Math.imul(h ^ (this.step + 0x632be5ab), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (this.calls + 0x2545f491), 0xc2b2ae35) >>> 0;
    return (h ^ (h >>> 16)) % 2147483647;
  }
}

/**
 * The outputs of a multi-output layer's last training call, handed back when tfjs-layers 4.22's
 * functional executor repeats that call. The executor (`model.apply`, `model.predict`,
 * `model.fit`) calls a layer once per output the graph reads, each time with the same input
 * tensors and the same options object; with dropout every repeat drew new masks, so one
 * `model.apply` mixed outputs of different forward passes. A call repeats the last one when it
 * has the same options object, the same input tensors, the same tidy scope and gradient tape, and
 * none of the last outputs is disposed; then it returns those outputs (one forward pass, one
 * dropout draw, gradients through it). A new options object (`layer.apply(x, { training: true })`
 * twice) still draws new masks. Only training calls are remembered (inference repeats give the
 * same values). `runGraph` never repeats a call.
 * @internal
 */
export class RepeatedCallCache {
  private last: {
    kwargs: object;
    inputs: readonly tf.Tensor[];
    scope: unknown;
    tape: unknown;
    outputs: tf.Tensor[];
  } | null = null;

  /** The outputs to return again if this call repeats the last training call, else null. */
  repeated(inputs: readonly tf.Tensor[], kwargs: Record<string, unknown> | undefined): tf.Tensor[] | null {
    const last = this.last;
    if (!last || !kwargs || last.kwargs !== kwargs || !isTraining(kwargs)) return null;
    const state = tf.engine().state;
    if (last.scope !== state.activeScope || last.tape !== state.activeTape) return null;
    if (last.inputs.length !== inputs.length || last.inputs.some((t, i) => t !== inputs[i])) return null;
    if (last.outputs.some((t) => t.isDisposed)) return null;
    return last.outputs;
  }

  /** Remembers a training call's outputs (forgets on any other call). */
  remember(inputs: readonly tf.Tensor[], kwargs: Record<string, unknown> | undefined, outputs: tf.Tensor[]): void {
    if (!kwargs || !isTraining(kwargs)) {
      this.last = null;
      return;
    }
    const state = tf.engine().state;
    this.last = { kwargs, inputs: [...inputs], scope: state.activeScope, tape: state.activeTape, outputs };
  }
}

/** Normalises a layer's `inputs` argument to a list. */
export function asList<T>(inputs: T | T[]): T[] {
  return Array.isArray(inputs) ? inputs : [inputs];
}

/** The base-layer arguments every vdafm layer class accepts besides its own. */
export interface BaseLayerArgs {
  /** Layer name (unique in a model). @defaultValue auto-generated */
  name?: string;
  /** Whether the weights are trainable. @defaultValue true */
  trainable?: boolean;
}

/**
 * The constructor prelude of every vdafm layer: checks that `args` is an object and returns what
 * `tfl.layers.Layer`'s constructor takes (`super(layerBaseArgs(args, 'VDAFM'))`).
 *
 * @throws {@link InvalidArgumentError} (argument `args`) when `args` is not an object.
 * @internal
 */
export function layerBaseArgs(args: unknown, className: string): { name?: string; trainable: boolean } {
  if (args == null || typeof args !== 'object') {
    throw new InvalidArgumentError({ argument: 'args', message: `${className} needs an args object.`, received: args });
  }
  const { name, trainable } = args as BaseLayerArgs;
  return { ...(name === undefined ? {} : { name }), trainable: trainable ?? true };
}

/**
 * A layer's `getConfig()` fields: `required` plus those of `optional` that are set (tfjs configs
 * are JSON: an `undefined` value would not survive a save/load round trip).
 * @internal
 */
export function configFields(required: tf.serialization.ConfigDict, optional: Record<string, tf.serialization.ConfigDictValue | undefined> = {}): tf.serialization.ConfigDict {
  const out: tf.serialization.ConfigDict = { ...required };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) out[k] = v;
  return out;
}
