/**
 * One builder per modality branch of the tri-modal model: each creates the branch's symbolic
 * inputs, runs its encoder (a built-in one or the user's own `{ model }`) and returns what the
 * fusion and the heads read (tokens, mask, pooled vector), the layers of its variable group, and
 * a JSON-safe description for the saved config.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { createImageEncoder, type CreateImageEncoderConfig } from '../encoders/image/image-encoder.js';
import { createTabularEncoder, type TabularEncoderConfig } from '../encoders/tabular/encoder.js';
import { createTextEncoder, type TextEncoderConfig } from '../encoders/text/encoder.js';
import { ShapeError } from '../errors.js';
import { type CustomEncoder, type InputName, isCustom } from './tri-modal.js';

type SymbolicTensor = tfl.SymbolicTensor;

/** What a modality branch gives the rest of the model. @internal */
export interface Branch {
  /** The branch's model inputs by name. */
  inputs: Partial<Record<InputName, SymbolicTensor>>;
  /** Token states `[B, N, D]` (absent for a vector-only encoder). */
  tokens?: SymbolicTensor;
  /** Token mask `[B, N]` (text and clinical). */
  mask?: SymbolicTensor;
  /** Pooled vector `[B, D]` (absent for a custom image encoder's). */
  pooled?: SymbolicTensor;
  /** Per-feature attention importance (FT-Transformer clinical encoder). */
  importance?: SymbolicTensor | null;
  /** Layers whose weights form this modality's variable group. */
  layers: tfl.layers.Layer[];
  /** A standalone encoder model that shares layers with the tri-modal model (disposed with it). */
  owned?: tfl.LayersModel;
  /** JSON-safe description of the encoder (for the saved config). */
  describe: Record<string, unknown>;
}

/**
 * The image branch: `image` input → visual tokens + pooled vector.
 * @internal
 */
export function buildImageBranch(config: CreateImageEncoderConfig | CustomEncoder, seed: number): Branch {
  if (isCustom(config)) {
    const m = config.model;
    const image = tfl.input({ shape: (m.inputs[0]!.shape as number[]).slice(1), name: 'image' });
    const out = m.apply(image) as SymbolicTensor[];
    if (!Array.isArray(out) || out.length !== 2) {
      throw new ShapeError({ argument: 'config.image.model', expected: 'outputs [tokens, pooled]', received: [Array.isArray(out) ? out.length : 1] });
    }
    return { inputs: { image }, tokens: out[0]!, pooled: out[1]!, layers: [m], describe: { custom: true } };
  }
  const enc = createImageEncoder({ seed, ...config });
  const image = tfl.input({ shape: enc.inputShape, name: 'image' });
  const [tokens, pooled] = enc.apply(image);
  return { inputs: { image }, tokens, pooled, layers: [enc.layer], owned: enc.model, describe: { ...enc.config, gridShape: enc.gridShape } };
}

/**
 * The text branch: `textIds`, `textMask` inputs → token states, mask and pooled vector.
 * @internal
 */
export function buildTextBranch(config: TextEncoderConfig | CustomEncoder, seed: number): Branch {
  if (isCustom(config)) {
    const m = config.model;
    const len = (m.inputs[0]!.shape as Array<number | null>)[1] ?? null;
    const textIds = tfl.input({ shape: [len as number], name: 'text_ids' });
    const textMask = tfl.input({ shape: [len as number], name: 'text_mask' });
    const [tokens, mask, pooled] = m.apply([textIds, textMask]) as [SymbolicTensor, SymbolicTensor, SymbolicTensor];
    return { inputs: { textIds, textMask }, tokens, mask, pooled, layers: [m], describe: { custom: true } };
  }
  const enc = createTextEncoder({ seed, ...config });
  const textIds = tfl.input({ shape: enc.shapes.ids.slice(1) as number[], name: 'text_ids' });
  const textMask = tfl.input({ shape: enc.shapes.mask.slice(1) as number[], name: 'text_mask' });
  const out = enc.apply(textIds, textMask);
  const { tokenizer: _t, inputs: _i, ...describe } = config;
  return { inputs: { textIds, textMask }, tokens: out.tokens, mask: out.mask, pooled: out.pooled, layers: enc.model.layers, owned: enc.model, describe };
}

/**
 * The clinical branch: `clinicalValues`, `clinicalMask` inputs → feature tokens, mask and pooled
 * vector (only the pooled vector for a vector-only encoder).
 * @internal
 */
export function buildClinicalBranch(config: TabularEncoderConfig | CustomEncoder, seed: number): Branch {
  const inputsFor = (features: number) => ({
    clinicalValues: tfl.input({ shape: [features], name: 'clinical_values' }),
    clinicalMask: tfl.input({ shape: [features], name: 'clinical_mask' }),
  });
  if (isCustom(config)) {
    const m = config.model;
    const inputs = inputsFor((m.inputs[0]!.shape as number[])[1]!);
    const out = m.apply([inputs.clinicalValues, inputs.clinicalMask]) as SymbolicTensor | SymbolicTensor[];
    const base = { inputs, layers: [m], describe: { custom: true } };
    if (!Array.isArray(out)) return { ...base, pooled: out };
    const [tokens, mask, pooled] = out as [SymbolicTensor, SymbolicTensor, SymbolicTensor];
    return { ...base, tokens, mask, pooled };
  }
  const enc = createTabularEncoder({ seed, ...config });
  const inputs = inputsFor(enc.inputs.values.shape[1] as number);
  const out = enc.apply(inputs.clinicalValues, inputs.clinicalMask);
  const { features: _f, ...describe } = config;
  const branch: Branch = { inputs, pooled: out.pooled, importance: out.importance, layers: enc.model.layers, owned: enc.model, describe };
  if (out.tokens) branch.tokens = out.tokens;
  if (out.mask) branch.mask = out.mask;
  return branch;
}
