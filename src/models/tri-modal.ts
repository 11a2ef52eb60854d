/**
 * The tri-modal prognosis model: its configuration and batch types, and {@link TriModalModel},
 * the assembled functional model with what training and interpretation need (input and output
 * names, per-modality variable groups, named forward outputs). `createTriModalModel`
 * (./builder.ts) builds one.
 *
 * @packageDocumentation
 */
import { runGraph } from './graph.js';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type CreateImageEncoderConfig } from '../encoders/image/image-encoder.js';
import { type TabularEncoderConfig } from '../encoders/tabular/encoder.js';
import { type TextEncoderConfig } from '../encoders/text/encoder.js';
import { InvalidArgumentError } from '../errors.js';
import type { BaselineMethod } from '../fusion/baselines.js';
import type { VdafmArgs } from '../fusion/vdafm.js';
import type { FieldLossGroup } from '../losses/fields.js';
import { ordinalProbabilities } from '../losses/classification.js';


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
  /**
   * A head on the image embedding that predicts the report's fields (`ReportFieldTargets`'s
   * groups: `reportFields: fieldTargets` or `{ groups }`), trained by the report-field loss so
   * that the report teaches the image. Needs the image modality. @defaultValue none
   */
  reportFields?: { readonly groups: readonly FieldLossGroup[] } | null;
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
  /** `[B, width]` report-field targets (training with a report-field head; see `ReportFieldTargets`). */
  fieldTargets?: tf.Tensor;
  /** `[B, groups]` 1 where a report-field group's target is known. */
  fieldMask?: tf.Tensor;
  /**
   * `[B]` int32: patients whose reports state the same findings share an id (the alignment loss
   * treats them as positives of each other, not negatives; see `prepareTriModalData`).
   */
  reportGroups?: tf.Tensor;
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
  /** `[B, width]` report-field head outputs (with `reportFields`). */
  reportFields?: tf.Tensor2D;
  /** Attention maps per VDAFM layer (with `returnAttention`). */
  visionToTextAttention?: tf.Tensor4D[];
  textToVisionAttention?: tf.Tensor4D[];
}

/** The model's inputs, in order (those of the modalities present). @internal */
export const INPUT_ORDER = ['image', 'textIds', 'textMask', 'clinicalValues', 'clinicalMask'] as const;
/** One of {@link INPUT_ORDER}. @internal */
export type InputName = (typeof INPUT_ORDER)[number];

/** Whether an encoder config is a user-supplied encoder. @internal */
export function isCustom(x: unknown): x is CustomEncoder {
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

  /** The report-field head's target groups (see `TriModalModelConfig.reportFields`), or null without one. */
  reportFieldGroups(): ReadonlyArray<FieldLossGroup> | null {
    const r = this.config['reportFields'] as { groups?: FieldLossGroup[] } | undefined;
    return r?.groups ?? null;
  }

  /** Every trainable variable of the model. */
  trainableVariables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /**
   * The model's non-trainable variables: state that training updates without gradients
   * (BatchNorm's moving mean and variance). Early stopping's restore-best copies them with the
   * trainable ones, so that the restored model predicts as it did at its best epoch.
   */
  stateVariables(): tf.Variable[] {
    return this.model.nonTrainableWeights.map((w) => w.read() as tf.Variable);
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
    (['visualEmbedding', 'textEmbedding', 'clinicalEmbedding', 'visualTokens', 'textTokens', 'gate', 'clinicalImportance', 'reportFields'] as const).forEach(copy);
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
    const all = [out.logits, ...Object.values(out.auxiliary), out.visualEmbedding, out.textEmbedding, out.clinicalEmbedding, out.visualTokens, out.textTokens, out.gate, out.clinicalImportance, out.reportFields, ...(out.visionToTextAttention ?? []), ...(out.textToVisionAttention ?? [])];
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

/** A layer of `model` (or of a nested model) by name, or null. @internal */
export function findLayer(model: tfl.LayersModel, name: string): tfl.layers.Layer | null {
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
