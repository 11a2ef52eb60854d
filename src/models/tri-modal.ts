/**
 * `createTriModalModel`: assembles the image, clinical and text encoders, a fusion module (VDAFM,
 * a baseline, or pooled concatenation for modality subsets) and the prognosis head into one
 * functional tf.model, plus the auxiliary unimodal heads used for balanced training.
 *
 * @packageDocumentation
 */
import { runGraph } from './graph.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { assertOneOf, assertPositiveInt } from '../core/validate.js';
import { createImageEncoder, type CreateImageEncoderConfig } from '../encoders/image/image-encoder.js';
import { createTabularEncoder, type TabularEncoderConfig } from '../encoders/tabular/encoder.js';
import { createTextEncoder, type TextEncoderConfig } from '../encoders/text/encoder.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { BaselineFusion, type BaselineMethod } from '../fusion/baselines.js';
import { VDAFM, type VdafmArgs } from '../fusion/vdafm.js';
import { ordinalProbabilities } from '../losses/classification.js';

type SymbolicTensor = tfl.SymbolicTensor;

/** The modalities of the tri-modal model. */
export type Modality = 'image' | 'text' | 'clinical';

/** Prognosis head types. */
export type HeadType = 'binary' | 'multiclass' | 'ordinal';

/** A user-supplied encoder: a LayersModel applied as a layer. */
export interface CustomEncoder {
  /**
   * image: `image → [tokens [B, N, D], pooled [B, D]]`; text: `[ids, mask] → [tokens, mask, pooled]`;
   * clinical: `[values, mask] → [tokens, mask, pooled]` (or `→ pooled` for a vector-only encoder).
   */
  model: tfl.LayersModel;
}

/** Fusion configuration. */
export type FusionConfig =
  | ({ type: 'vdafm' } & Omit<VdafmArgs, 'name' | 'returnAttention'>)
  | { type: BaselineMethod; dim?: number; embedDim?: number; clinical?: 'late' | 'token' | 'none'; seed?: number }
  | { type: 'pooled'; hiddenUnits?: number };

/** Configuration of {@link createTriModalModel}. Omit a modality (or set it null) to leave it out. */
export interface TriModalModelConfig {
  /** Image encoder config (or your own encoder). */
  image?: CreateImageEncoderConfig | CustomEncoder | null;
  /** Text encoder config (needs a tokenizer or vocabSize + maxLength), or your own encoder. */
  text?: TextEncoderConfig | CustomEncoder | null;
  /** Clinical encoder config (needs the fitted preprocessor or feature spec), or your own encoder. */
  clinical?: TabularEncoderConfig | CustomEncoder | null;
  /**
   * Fusion. @defaultValue `{ type: 'vdafm' }` when image and text are present, `{ type: 'pooled' }` otherwise
   */
  fusion?: FusionConfig;
  /**
   * Prognosis head: binary (poor outcome), multi-class or ordinal over `numClasses` (e.g. mRS 0–6).
   * @defaultValue `{ type: 'binary' }`
   */
  head?: { type: HeadType; numClasses?: number };
  /** Auxiliary unimodal heads (needed for modality balancing). @defaultValue true */
  auxiliaryHeads?: boolean;
  /** Also output VDAFM's attention maps. @defaultValue false */
  returnAttention?: boolean;
  /** Seed for every initialiser. @defaultValue 1 */
  seed?: number;
}

/** Tensors of one batch, by modality. Omit what the model does not use. */
export interface TriModalBatch {
  /** `[B, ...imageShape]`. */
  image?: tf.Tensor;
  /** `[B, L]` token ids. */
  textIds?: tf.Tensor;
  /** `[B, L]` 1 = token; all zeros = report missing. */
  textMask?: tf.Tensor;
  /** `[B, F]` preprocessed clinical values. */
  clinicalValues?: tf.Tensor;
  /** `[B, F]` 1 = value present. */
  clinicalMask?: tf.Tensor;
  /** `[B]` labels (0/1 for binary, class indices otherwise). */
  labels?: tf.Tensor;
}

/** Named outputs of a forward pass (all owned by the caller). */
export interface TriModalOutputs {
  /** Head logits: `[B, 1]` (binary), `[B, K]` (multiclass) or `[B, K − 1]` (ordinal). */
  logits: tf.Tensor;
  /** Auxiliary unimodal head logits (same shape as `logits`), per modality. */
  auxiliary: Partial<Record<Modality, tf.Tensor>>;
  /** Global embeddings for the alignment losses (fusion models only). */
  visualEmbedding?: tf.Tensor2D;
  textEmbedding?: tf.Tensor2D;
  clinicalEmbedding?: tf.Tensor2D;
  /** Token sets for the fine-grained loss (fusion models only). */
  visualTokens?: tf.Tensor3D;
  textTokens?: tf.Tensor3D;
  /** Gate values (gated VDAFM only). */
  gate?: tf.Tensor2D;
  /** Per-feature attention importance (FT-Transformer clinical encoder only). */
  clinicalImportance?: tf.Tensor2D;
  /** Attention maps per VDAFM layer (with `returnAttention`). */
  visionToTextAttention?: tf.Tensor4D[];
  textToVisionAttention?: tf.Tensor4D[];
}

const INPUT_ORDER = ['image', 'textIds', 'textMask', 'clinicalValues', 'clinicalMask'] as const;
type InputName = (typeof INPUT_ORDER)[number];

function isCustom(x: unknown): x is CustomEncoder {
  return typeof x === 'object' && x !== null && 'model' in x && typeof (x as CustomEncoder).model?.apply === 'function';
}

/**
 * The assembled tri-modal prognosis model: one functional `tf.model` plus what training and
 * interpretation need (input and output names, per-modality variable groups).
 */
export class TriModalModel {
  /** The functional model; its inputs are {@link TriModalModel.inputNames}, outputs {@link TriModalModel.outputNames}. */
  readonly model: tfl.LayersModel;
  readonly modalities: Modality[];
  readonly headType: HeadType;
  readonly numClasses: number;
  readonly inputNames: InputName[];
  readonly outputNames: string[];
  /** Fusion kind actually used. */
  readonly fusionType: FusionConfig['type'];
  /** JSON-safe description of how the model was built (without custom encoders' internals). */
  readonly config: Record<string, unknown>;
  private readonly groupLayers: Record<string, tfl.layers.Layer[]>;
  private readonly ownedModels: tfl.LayersModel[];

  /** @internal */
  constructor(args: {
    model: tfl.LayersModel;
    modalities: Modality[];
    headType: HeadType;
    numClasses: number;
    inputNames: InputName[];
    outputNames: string[];
    fusionType: FusionConfig['type'];
    config: Record<string, unknown>;
    groupLayers: Record<string, tfl.layers.Layer[]>;
    ownedModels?: tfl.LayersModel[];
  }) {
    this.model = args.model;
    this.ownedModels = args.ownedModels ?? [];
    this.modalities = args.modalities;
    this.headType = args.headType;
    this.numClasses = args.numClasses;
    this.inputNames = args.inputNames;
    this.outputNames = args.outputNames;
    this.fusionType = args.fusionType;
    this.config = args.config;
    this.groupLayers = args.groupLayers;
  }

  /** Names of the layers of each modality group (for saving; see {@link TriModalModel.variableGroups}). */
  groupLayerNames(): Record<string, string[]> {
    return Object.fromEntries(Object.entries(this.groupLayers).map(([g, layers]) => [g, layers.map((l) => l.name)]));
  }

  /**
   * Wraps a loaded LayersModel (see `loadPipelineFromMemory`) with the metadata saved beside it.
   *
   * @throws {@link InvalidArgumentError} when a named group layer is missing from the model.
   */
  static fromLayersModel(
    model: tfl.LayersModel,
    meta: {
      modalities: Modality[];
      headType: HeadType;
      numClasses: number;
      inputNames: string[];
      outputNames: string[];
      fusionType: FusionConfig['type'];
      config: Record<string, unknown>;
      groups: Record<string, string[]>;
    },
  ): TriModalModel {
    const groupLayers: Record<string, tfl.layers.Layer[]> = {};
    for (const [g, names] of Object.entries(meta.groups)) {
      groupLayers[g] = names.map((n) => {
        const found = findLayer(model, n);
        if (!found) throw new InvalidArgumentError({ argument: `groups.${g}`, message: `Layer '${n}' is not in the loaded model.`, received: n });
        return found;
      });
    }
    return new TriModalModel({
      model,
      modalities: meta.modalities,
      headType: meta.headType,
      numClasses: meta.numClasses,
      inputNames: meta.inputNames as InputName[],
      outputNames: meta.outputNames,
      fusionType: meta.fusionType,
      config: meta.config,
      groupLayers,
    });
  }

  /**
   * Spatial shape of the image encoder's token grid (`[rows, cols]` in 2D, `[depth, rows, cols]`
   * in 3D), to map visual-token attention back onto the image.
   *
   * @throws {@link InvalidArgumentError} for a model without an image or with a custom image encoder.
   */
  imageGridShape(): number[] {
    const grid = (this.config['image'] as { gridShape?: number[] } | undefined)?.gridShape;
    if (!grid) {
      throw new InvalidArgumentError({ argument: 'model', message: 'This model has no built-in image encoder, so its token grid is unknown.', received: this.modalities });
    }
    return grid.slice();
  }

  /** Every trainable variable of the model. */
  trainableVariables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /**
   * Trainable variables by group: one group per modality encoder (`image`, `text`, `clinical`)
   * and `shared` for the fusion module and heads. Used by gradient modulation.
   */
  variableGroups(): Record<string, tf.Variable[]> {
    const out: Record<string, tf.Variable[]> = {};
    const seen = new Set<string>();
    for (const [group, layers] of Object.entries(this.groupLayers)) {
      out[group] = [];
      for (const layer of layers) {
        for (const w of layer.trainableWeights) {
          const v = w.read() as tf.Variable;
          if (!seen.has(v.name)) {
            seen.add(v.name);
            out[group]!.push(v);
          }
        }
      }
    }
    out['shared'] = this.trainableVariables().filter((v) => !seen.has(v.name));
    return out;
  }

  /** Orders a batch's tensors as the model's inputs. */
  inputsOf(batch: TriModalBatch): tf.Tensor[] {
    return this.inputNames.map((name) => {
      const t = batch[name];
      if (!t) {
        throw new InvalidArgumentError({
          argument: `batch.${name}`,
          message: `This model (modalities ${this.modalities.join(', ')}) needs batch.${name}.`,
          received: undefined,
        });
      }
      return t;
    });
  }

  /**
   * Runs the model and returns its outputs by name.
   *
   * @param options - `training` enables dropout; `dropoutStep` (the trainer's step) is mixed into
   *   the seeded layers' dropout seeds, so that a resumed run draws the same masks. @defaultValue 0
   * @returns named tensors owned by the caller.
   */
  forward(batch: TriModalBatch, options: { training?: boolean; dropoutStep?: number } = {}): TriModalOutputs {
    const inputs = this.inputsOf(batch);
    // every layer once (tfjs-layers' own apply runs a K-output layer K times: src/models/graph.ts)
    const list = runGraph(this.model, inputs, { training: options.training ?? false, dropoutStep: options.dropoutStep ?? 0 });
    const byName: Record<string, tf.Tensor> = {};
    this.outputNames.forEach((n, i) => (byName[n] = list[i]!));
    const out: TriModalOutputs = { logits: byName['logits']!, auxiliary: {} };
    for (const m of this.modalities) if (byName[`aux_${m}`]) out.auxiliary[m] = byName[`aux_${m}`]!;
    const copy = <K extends keyof TriModalOutputs>(key: K) => {
      if (byName[key as string]) (out as unknown as Record<string, tf.Tensor>)[key as string] = byName[key as string]!;
    };
    (['visualEmbedding', 'textEmbedding', 'clinicalEmbedding', 'visualTokens', 'textTokens', 'gate', 'clinicalImportance'] as const).forEach(copy);
    const v2t = this.outputNames.filter((n) => n.startsWith('visionToTextAttention'));
    if (v2t.length > 0) {
      out.visionToTextAttention = v2t.map((n) => byName[n] as tf.Tensor4D);
      out.textToVisionAttention = this.outputNames.filter((n) => n.startsWith('textToVisionAttention')).map((n) => byName[n] as tf.Tensor4D);
    }
    return out;
  }

  /** Converts head logits to probabilities: `[B]` P(poor) for binary, `[B, K]` otherwise. */
  probabilities(logits: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (this.headType === 'binary') return tf.reshape(tf.sigmoid(logits), [-1]);
      if (this.headType === 'multiclass') return tf.softmax(logits);
      return ordinalProbabilities(logits as tf.Tensor2D);
    });
  }

  /**
   * Predicts outcome probabilities (inference mode), and on request the interpretability outputs.
   *
   * @returns `probabilities` (`[B]` binary, `[B, K]` otherwise), optionally `auxiliary`
   *   per-modality probabilities, `gate`, attention maps and clinical feature importance; the
   *   caller owns every tensor.
   * @example
   * ```ts
   * const { probabilities, gate } = model.predict(batch, { gate: true });
   * ```
   */
  predict(
    batch: TriModalBatch,
    options: { auxiliary?: boolean; gate?: boolean; attention?: boolean; importance?: boolean } = {},
  ): {
    probabilities: tf.Tensor;
    auxiliary?: Partial<Record<Modality, tf.Tensor>>;
    gate?: tf.Tensor2D;
    visionToTextAttention?: tf.Tensor4D[];
    textToVisionAttention?: tf.Tensor4D[];
    clinicalImportance?: tf.Tensor2D;
  } {
    const out = this.forward(batch);
    const result: ReturnType<TriModalModel['predict']> = { probabilities: this.probabilities(out.logits) };
    if (options.auxiliary) {
      result.auxiliary = {};
      for (const [m, l] of Object.entries(out.auxiliary)) result.auxiliary[m as Modality] = this.probabilities(l!);
    }
    if (options.gate && out.gate) result.gate = out.gate;
    if (options.attention && out.visionToTextAttention) {
      result.visionToTextAttention = out.visionToTextAttention;
      result.textToVisionAttention = out.textToVisionAttention!;
    }
    if (options.importance && out.clinicalImportance) result.clinicalImportance = out.clinicalImportance;
    const kept = new Set<tf.Tensor>([
      ...(result.gate ? [result.gate] : []),
      ...(result.visionToTextAttention ?? []),
      ...(result.textToVisionAttention ?? []),
      ...(result.clinicalImportance ? [result.clinicalImportance] : []),
    ]);
    const all = [out.logits, ...Object.values(out.auxiliary), out.visualEmbedding, out.textEmbedding, out.clinicalEmbedding, out.visualTokens, out.textTokens, out.gate, out.clinicalImportance, ...(out.visionToTextAttention ?? []), ...(out.textToVisionAttention ?? [])];
    tf.dispose(all.filter((t): t is tf.Tensor => t !== undefined && !kept.has(t)));
    return result;
  }

  /**
   * Disposes the model's weights, including those of the encoders' standalone models (which
   * share layers with it and would otherwise keep them alive).
   */
  dispose(): void {
    this.model.dispose();
    for (const m of this.ownedModels) m.dispose();
  }
}

function findLayer(model: tfl.LayersModel, name: string): tfl.layers.Layer | null {
  for (const layer of model.layers) {
    if (layer.name === name) return layer;
    const nested = layer as unknown as tfl.LayersModel;
    if (Array.isArray(nested.layers)) {
      const found = findLayer(nested, name);
      if (found) return found;
    }
  }
  return null;
}

function headUnits(type: HeadType, numClasses: number): number {
  return type === 'binary' ? 1 : type === 'multiclass' ? numClasses : numClasses - 1;
}

/**
 * Builds the tri-modal prognosis model (or any subset of modalities, for ablations).
 *
 * - image: `createImageEncoder(config.image)` → visual tokens + pooled vector;
 * - text: `createTextEncoder(config.text)` → token states + mask + pooled vector;
 * - clinical: `createTabularEncoder(config.clinical)` → feature tokens + mask + pooled vector;
 * - fusion: VDAFM (default with image and text), a baseline, or pooled concatenation + MLP;
 * - head: binary (P(poor outcome)), multi-class or ordinal over `numClasses`;
 * - auxiliary heads: one linear head per modality on its global embedding (fusion models) or
 *   pooled vector, for modality balancing.
 *
 * Inputs, in order: `image`, `textIds`, `textMask`, `clinicalValues`, `clinicalMask` (those of
 * the modalities present). Your own encoders can replace the built-in ones (`{ model }`).
 *
 * @throws {@link InvalidArgumentError} for an empty modality set, VDAFM without image and text,
 *   or a bad head.
 * @example
 * ```ts
 * const model = createTriModalModel({
 *   image: { inputShape: [16, 32, 32, 2], spatialDims: 3, widths: [8, 16], depths: [1, 1], strides: [2, 2] },
 *   text: { tokenizer, dim: 32, numLayers: 1, numHeads: 4 },
 *   clinical: { features: preprocessor, dim: 32, numLayers: 1, numHeads: 4 },
 *   fusion: { type: 'vdafm', dim: 32, numHeads: 4, numLayers: 1 },
 * });
 * const { probabilities } = model.predict(batch); // [B]
 * ```
 */
export function createTriModalModel(config: TriModalModelConfig): TriModalModel {
  if (config == null || typeof config !== 'object') {
    throw new InvalidArgumentError({ argument: 'config', message: 'createTriModalModel needs a config object.', received: config });
  }
  const seed = config.seed ?? 1;
  const modalities: Modality[] = (['image', 'text', 'clinical'] as const).filter((m) => config[m] != null);
  if (modalities.length === 0) {
    throw new InvalidArgumentError({ argument: 'config', message: 'Give at least one of config.image, config.text, config.clinical.', received: Object.keys(config) });
  }
  const headType = config.head?.type ?? 'binary';
  assertOneOf(headType, ['binary', 'multiclass', 'ordinal'] as const, 'head.type');
  const numClasses = headType === 'binary' ? 2 : (config.head?.numClasses ?? 7);
  assertPositiveInt(numClasses, 'head.numClasses');
  if (numClasses < 2) throw new InvalidArgumentError({ argument: 'head.numClasses', message: 'head.numClasses must be ≥ 2.', received: numClasses });
  const fusion: FusionConfig = config.fusion ?? (config.image && config.text ? { type: 'vdafm' } : { type: 'pooled' });
  assertOneOf(fusion.type, ['vdafm', 'concat', 'gatedSum', 'film', 'pooled'] as const, 'fusion.type');
  if (fusion.type !== 'pooled' && !(config.image && config.text)) {
    throw new InvalidArgumentError({
      argument: 'fusion.type',
      message: `fusion '${fusion.type}' needs the image and text modalities; use { type: 'pooled' } for other subsets.`,
      received: fusion.type,
    });
  }

  const inputs: Partial<Record<InputName, SymbolicTensor>> = {};
  const groupLayers: Record<string, tfl.layers.Layer[]> = {};
  const ownedModels: tfl.LayersModel[] = [];
  const pooled: Partial<Record<Modality, SymbolicTensor>> = {};
  const tokens: Partial<Record<Modality, SymbolicTensor>> = {};
  const masks: Partial<Record<Modality, SymbolicTensor>> = {};
  let importance: SymbolicTensor | null = null;
  const describe: Record<string, unknown> = { modalities, head: { type: headType, numClasses }, fusion: { ...fusion }, seed };

  if (config.image) {
    if (isCustom(config.image)) {
      const m = config.image.model;
      inputs.image = tfl.input({ shape: (m.inputs[0]!.shape as number[]).slice(1), name: 'image' });
      const out = m.apply(inputs.image) as SymbolicTensor[];
      if (!Array.isArray(out) || out.length !== 2) throw new ShapeError({ argument: 'config.image.model', expected: 'outputs [tokens, pooled]', received: [Array.isArray(out) ? out.length : 1] });
      [tokens.image, pooled.image] = out as [SymbolicTensor, SymbolicTensor];
      groupLayers['image'] = [m];
      describe['image'] = { custom: true };
    } else {
      const enc = createImageEncoder({ seed, ...config.image });
      inputs.image = tfl.input({ shape: enc.inputShape, name: 'image' });
      [tokens.image, pooled.image] = enc.apply(inputs.image);
      groupLayers['image'] = [enc.layer];
      ownedModels.push(enc.model);
      describe['image'] = { ...enc.config, gridShape: enc.gridShape };
    }
  }
  if (config.text) {
    if (isCustom(config.text)) {
      const m = config.text.model;
      const len = (m.inputs[0]!.shape as Array<number | null>)[1] ?? null;
      inputs.textIds = tfl.input({ shape: [len as number], name: 'text_ids' });
      inputs.textMask = tfl.input({ shape: [len as number], name: 'text_mask' });
      const out = m.apply([inputs.textIds, inputs.textMask]) as SymbolicTensor[];
      [tokens.text, masks.text, pooled.text] = out as [SymbolicTensor, SymbolicTensor, SymbolicTensor];
      groupLayers['text'] = [m];
      describe['text'] = { custom: true };
    } else {
      const enc = createTextEncoder({ seed: seed + 1, ...config.text });
      inputs.textIds = tfl.input({ shape: enc.shapes.ids.slice(1) as number[], name: 'text_ids' });
      inputs.textMask = tfl.input({ shape: enc.shapes.mask.slice(1) as number[], name: 'text_mask' });
      const out = enc.apply(inputs.textIds, inputs.textMask);
      tokens.text = out.tokens;
      masks.text = out.mask;
      pooled.text = out.pooled;
      groupLayers['text'] = enc.model.layers;
      ownedModels.push(enc.model);
      const { tokenizer: _t, inputs: _i, ...rest } = config.text;
      describe['text'] = rest;
    }
  }
  if (config.clinical) {
    if (isCustom(config.clinical)) {
      const m = config.clinical.model;
      const f = (m.inputs[0]!.shape as number[])[1]!;
      inputs.clinicalValues = tfl.input({ shape: [f], name: 'clinical_values' });
      inputs.clinicalMask = tfl.input({ shape: [f], name: 'clinical_mask' });
      const out = m.apply([inputs.clinicalValues, inputs.clinicalMask]) as SymbolicTensor | SymbolicTensor[];
      if (Array.isArray(out)) [tokens.clinical, masks.clinical, pooled.clinical] = out as [SymbolicTensor, SymbolicTensor, SymbolicTensor];
      else pooled.clinical = out;
      groupLayers['clinical'] = [m];
      describe['clinical'] = { custom: true };
    } else {
      const enc = createTabularEncoder({ seed: seed + 2, ...config.clinical });
      const f = enc.inputs.values.shape[1] as number;
      inputs.clinicalValues = tfl.input({ shape: [f], name: 'clinical_values' });
      inputs.clinicalMask = tfl.input({ shape: [f], name: 'clinical_mask' });
      const out = enc.apply(inputs.clinicalValues, inputs.clinicalMask);
      pooled.clinical = out.pooled;
      if (out.tokens) tokens.clinical = out.tokens;
      if (out.mask) masks.clinical = out.mask;
      importance = out.importance;
      groupLayers['clinical'] = enc.model.layers;
      ownedModels.push(enc.model);
      const { features: _f, ...rest } = config.clinical;
      describe['clinical'] = rest;
    }
  }

  const outputs: Array<[string, SymbolicTensor]> = [];
  const dense = (units: number, name: string, s: number) =>
    tfl.layers.dense({ units, name, kernelInitializer: tfl.initializers.glorotUniform({ seed: s }) });
  const units = headUnits(headType, numClasses);
  let headInput: SymbolicTensor;
  const embeddings: Partial<Record<Modality, SymbolicTensor>> = {};
  const extra: Array<[string, SymbolicTensor]> = [];

  if (fusion.type === 'pooled') {
    const parts = modalities.map((m) => pooled[m]!);
    const joined = parts.length === 1 ? parts[0]! : (tfl.layers.concatenate({ name: 'pooled_concat' }).apply(parts) as SymbolicTensor);
    headInput = tfl.layers
      .dense({ units: fusion.hiddenUnits ?? 64, activation: 'relu', name: 'fusion_hidden', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 3 }) })
      .apply(joined) as SymbolicTensor;
    for (const m of modalities) embeddings[m] = pooled[m]!;
  } else {
    const clinicalTokens = tokens.clinical ?? null;
    const useClinical = config.clinical != null && clinicalTokens != null;
    const mode = useClinical ? ((fusion as { clinical?: 'late' | 'token' | 'none' }).clinical ?? 'late') : 'none';
    if (config.clinical != null && !useClinical && mode !== 'none') {
      throw new InvalidArgumentError({ argument: 'config.clinical', message: 'Fusion with clinical data needs clinical tokens: use the ftTransformer clinical encoder.', received: 'mlp' });
    }
    let layer: VDAFM | BaselineFusion;
    if (fusion.type === 'vdafm') {
      const { type: _t, ...args } = fusion;
      layer = new VDAFM({ seed: seed + 4, ...args, clinical: mode, returnGate: (args.fusion ?? 'gated') === 'gated', returnAttention: config.returnAttention ?? false, name: 'vdafm' });
    } else {
      const { type, ...args } = fusion as { type: BaselineMethod; dim?: number; embedDim?: number; seed?: number };
      layer = new BaselineFusion({ seed: seed + 4, ...args, method: type, clinical: mode, name: 'fusion' });
    }
    const fusionInputs = [tokens.image!, tokens.text!, masks.text!];
    if (mode !== 'none') fusionInputs.push(clinicalTokens!, masks.clinical!);
    const fused = layer.apply(fusionInputs) as SymbolicTensor[];
    const byName: Record<string, SymbolicTensor> = {};
    layer.outputNames.forEach((n, i) => (byName[n] = fused[i]!));
    headInput = byName['headInput']!;
    embeddings.image = byName['visualEmbedding']!;
    embeddings.text = byName['textEmbedding']!;
    if (byName['clinicalEmbedding']) embeddings.clinical = byName['clinicalEmbedding'];
    else if (pooled.clinical) embeddings.clinical = pooled.clinical;
    extra.push(['visualEmbedding', byName['visualEmbedding']!], ['textEmbedding', byName['textEmbedding']!]);
    if (byName['clinicalEmbedding']) extra.push(['clinicalEmbedding', byName['clinicalEmbedding']]);
    extra.push(['visualTokens', byName['visualTokens']!], ['textTokens', byName['textTokens']!]);
    if (byName['gate']) extra.push(['gate', byName['gate']]);
    for (const n of layer.outputNames.filter((x) => x.includes('Attention'))) extra.push([n, byName[n]!]);
  }

  outputs.push(['logits', dense(units, 'prognosis_head', seed + 5).apply(headInput) as SymbolicTensor]);
  if (config.auxiliaryHeads ?? true) {
    modalities.forEach((m, i) => {
      outputs.push([`aux_${m}`, dense(units, `aux_head_${m}`, seed + 6 + i).apply(embeddings[m]!) as SymbolicTensor]);
    });
  }
  outputs.push(...extra);
  if (importance) outputs.push(['clinicalImportance', importance]);

  const inputNames = INPUT_ORDER.filter((n) => inputs[n] !== undefined);
  const model = tfl.model({ inputs: inputNames.map((n) => inputs[n]!), outputs: outputs.map(([, t]) => t), name: 'tri_modal' });
  // keep only the encoder layers this model actually uses (an encoder may build parts, e.g. a
  // pooling layer, that the fusion path does not need)
  for (const g of Object.keys(groupLayers)) groupLayers[g] = groupLayers[g]!.filter((l) => findLayer(model, l.name) === l);
  return new TriModalModel({
    model,
    modalities,
    headType,
    numClasses,
    inputNames,
    outputNames: outputs.map(([n]) => n),
    fusionType: fusion.type,
    config: describe,
    groupLayers,
    ownedModels,
  });
}
