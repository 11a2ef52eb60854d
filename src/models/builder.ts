/**
 * `createTriModalModel`: assembles the modality branches (./branches.ts), a fusion module (VDAFM,
 * a baseline, or pooled concatenation for modality subsets) and the prognosis head into one
 * functional tf.model, plus the auxiliary unimodal heads used for balanced training.
 *
 * @packageDocumentation
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { assertOneOf, assertPositiveInt } from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import { BaselineFusion, type BaselineMethod } from '../fusion/baselines.js';
import { VDAFM } from '../fusion/vdafm.js';
import { type Branch, buildClinicalBranch, buildImageBranch, buildTextBranch } from './branches.js';
import {
  findLayer,
  type FusionConfig,
  type HeadType,
  INPUT_ORDER,
  type Modality,
  TriModalModel,
  type TriModalModelConfig,
} from './tri-modal.js';

type SymbolicTensor = tfl.SymbolicTensor;

/** The validated head and fusion choices of a config. */
interface Plan {
  seed: number;
  modalities: Modality[];
  headType: HeadType;
  numClasses: number;
  fusion: FusionConfig;
}

function plan(config: TriModalModelConfig): Plan {
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
  return { seed, modalities, headType, numClasses, fusion };
}

function headUnits(type: HeadType, numClasses: number): number {
  return type === 'binary' ? 1 : type === 'multiclass' ? numClasses : numClasses - 1;
}

/** What the fusion stage gives the heads: the head input, each modality's embedding, and extra named outputs. */
interface Fused {
  headInput: SymbolicTensor;
  embeddings: Partial<Record<Modality, SymbolicTensor>>;
  extra: Array<[string, SymbolicTensor]>;
}

/** Pooled concatenation + a hidden layer (any modality subset). */
function pooledFusion(p: Plan, branches: Partial<Record<Modality, Branch>>, hiddenUnits: number): Fused {
  const parts = p.modalities.map((m) => branches[m]!.pooled!);
  const joined = parts.length === 1 ? parts[0]! : (tfl.layers.concatenate({ name: 'pooled_concat' }).apply(parts) as SymbolicTensor);
  const headInput = tfl.layers
    .dense({ units: hiddenUnits, activation: 'relu', name: 'fusion_hidden', kernelInitializer: tfl.initializers.glorotUniform({ seed: p.seed + 3 }) })
    .apply(joined) as SymbolicTensor;
  const embeddings: Partial<Record<Modality, SymbolicTensor>> = {};
  for (const m of p.modalities) embeddings[m] = branches[m]!.pooled!;
  return { headInput, embeddings, extra: [] };
}

/** VDAFM or a baseline fusion layer on the image and text tokens (and clinical tokens unless 'none'). */
function tokenFusion(p: Plan, config: TriModalModelConfig, branches: Partial<Record<Modality, Branch>>): Fused {
  const { image, text, clinical } = branches as Required<Pick<typeof branches, 'image' | 'text'>> & { clinical?: Branch };
  const clinicalTokens = clinical?.tokens ?? null;
  const useClinical = config.clinical != null && clinicalTokens != null;
  const mode = useClinical ? ((p.fusion as { clinical?: 'late' | 'token' | 'none' }).clinical ?? 'late') : 'none';
  if (config.clinical != null && !useClinical && mode !== 'none') {
    throw new InvalidArgumentError({ argument: 'config.clinical', message: 'Fusion with clinical data needs clinical tokens: use the ftTransformer clinical encoder.', received: 'mlp' });
  }
  let layer: VDAFM | BaselineFusion;
  if (p.fusion.type === 'vdafm') {
    const { type: _t, ...args } = p.fusion;
    layer = new VDAFM({ seed: p.seed + 4, ...args, clinical: mode, returnGate: (args.fusion ?? 'gated') === 'gated', returnAttention: config.returnAttention ?? false, name: 'vdafm' });
  } else {
    const { type, ...args } = p.fusion as { type: BaselineMethod; dim?: number; embedDim?: number; seed?: number };
    layer = new BaselineFusion({ seed: p.seed + 4, ...args, method: type, clinical: mode, name: 'fusion' });
  }
  const fusionInputs = [image.tokens!, text.tokens!, text.mask!];
  if (mode !== 'none') fusionInputs.push(clinicalTokens!, clinical!.mask!);
  const fused = layer.apply(fusionInputs) as SymbolicTensor[];
  const byName: Record<string, SymbolicTensor> = {};
  layer.outputNames.forEach((n, i) => (byName[n] = fused[i]!));
  const embeddings: Partial<Record<Modality, SymbolicTensor>> = { image: byName['visualEmbedding']!, text: byName['textEmbedding']! };
  if (byName['clinicalEmbedding']) embeddings.clinical = byName['clinicalEmbedding'];
  else if (clinical?.pooled) embeddings.clinical = clinical.pooled;
  const extraNames = ['visualEmbedding', 'textEmbedding', 'clinicalEmbedding', 'visualTokens', 'textTokens', 'gate', ...layer.outputNames.filter((x) => x.includes('Attention'))];
  const extra = extraNames.filter((n) => byName[n]).map((n): [string, SymbolicTensor] => [n, byName[n]!]);
  return { headInput: byName['headInput']!, embeddings, extra };
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
  const p = plan(config);
  const describe: Record<string, unknown> = { modalities: p.modalities, head: { type: p.headType, numClasses: p.numClasses }, fusion: { ...p.fusion }, seed: p.seed };
  const branches: Partial<Record<Modality, Branch>> = {};
  if (config.image) branches.image = buildImageBranch(config.image, p.seed);
  if (config.text) branches.text = buildTextBranch(config.text, p.seed + 1);
  if (config.clinical) branches.clinical = buildClinicalBranch(config.clinical, p.seed + 2);
  for (const m of p.modalities) describe[m] = branches[m]!.describe;

  const fused = p.fusion.type === 'pooled' ? pooledFusion(p, branches, p.fusion.hiddenUnits ?? 64) : tokenFusion(p, config, branches);
  const dense = (units: number, name: string, s: number) =>
    tfl.layers.dense({ units, name, kernelInitializer: tfl.initializers.glorotUniform({ seed: s }) });
  const units = headUnits(p.headType, p.numClasses);
  const outputs: Array<[string, SymbolicTensor]> = [['logits', dense(units, 'prognosis_head', p.seed + 5).apply(fused.headInput) as SymbolicTensor]];
  if (config.auxiliaryHeads ?? true) {
    p.modalities.forEach((m, i) => {
      outputs.push([`aux_${m}`, dense(units, `aux_head_${m}`, p.seed + 6 + i).apply(fused.embeddings[m]!) as SymbolicTensor]);
    });
  }
  outputs.push(...fused.extra);
  if (config.reportFields) {
    if (!fused.embeddings.image) {
      throw new InvalidArgumentError({ argument: 'config.reportFields', message: 'A report-field head needs the image modality (it predicts the report from the image).', received: p.modalities });
    }
    const width = config.reportFields.groups.reduce((w, g) => Math.max(w, g.offset + g.labels.length), 0);
    if (!(width > 0)) throw new InvalidArgumentError({ argument: 'config.reportFields.groups', message: 'reportFields needs at least one target group.', received: config.reportFields.groups });
    outputs.push(['reportFields', dense(width, 'report_field_head', p.seed + 9).apply(fused.embeddings.image) as SymbolicTensor]);
    describe['reportFields'] = { groups: config.reportFields.groups.map((g) => ({ kind: g.kind, offset: g.offset, labels: [...g.labels] })) };
  }
  const importance = branches.clinical?.importance;
  if (importance) outputs.push(['clinicalImportance', importance]);

  const inputs = Object.assign({}, ...p.modalities.map((m) => branches[m]!.inputs)) as Branch['inputs'];
  const inputNames = INPUT_ORDER.filter((n) => inputs[n] !== undefined);
  const model = tfl.model({ inputs: inputNames.map((n) => inputs[n]!), outputs: outputs.map(([, t]) => t), name: 'tri_modal' });
  // keep only the encoder layers this model actually uses (an encoder may build parts, e.g. a
  // pooling layer, that the fusion path does not need)
  const groupLayers: Record<string, tfl.layers.Layer[]> = {};
  for (const m of p.modalities) groupLayers[m] = branches[m]!.layers.filter((l) => findLayer(model, l.name) === l);
  return new TriModalModel({
    model,
    modalities: p.modalities,
    headType: p.headType,
    numClasses: p.numClasses,
    inputNames,
    outputNames: outputs.map(([n]) => n),
    fusionType: p.fusion.type,
    config: describe,
    groupLayers,
    ownedModels: p.modalities.map((m) => branches[m]!.owned).filter((o): o is tfl.LayersModel => o !== undefined),
  });
}
