/**
 * vdafm: tri-modal medical prognosis for TensorFlow.js.
 *
 * Importing this module registers every vdafm layer class with tfjs's serialisation registry.
 * It imports only `@tensorflow/tfjs-core` and `@tensorflow/tfjs-layers` (browser-safe); pick
 * and register a backend yourself (cpu, wasm, webgl, webgpu, node).
 *
 * @packageDocumentation
 */
import './core/register.js';

export {
  VdafmError,
  InvalidArgumentError,
  ShapeError,
  SerializationError,
  formatShape,
  type ShapeLike,
} from './errors.js';
export {
  assertRank,
  assertDim,
  assertSameDims,
  assertPositiveInt,
  assertNonNegativeInt,
  assertRate,
  assertPositiveNumber,
  assertOneOf,
  assertBoolean,
  type HasShape,
} from './core/shapes.js';
export { matMul, dense, layerNorm, gelu, maskedMean, dropout, stopGradient, l2Normalize } from './core/ops.js';
export { registerLayers, LAYER_CLASSES } from './core/register.js';
export { saveModelToMemory, loadModelFromMemory, type ModelArtifacts } from './core/io.js';
export { KERNEL_INITIALIZERS, type KernelInitializerName } from './layers/common.js';
export {
  MultiHeadAttention,
  multiHeadAttention,
  attentionForward,
  addAttentionWeights,
  attentionWeightList,
  type MultiHeadAttentionArgs,
  type AttentionWeights,
  type AttentionDims,
  type AttentionCallOptions,
  type AddWeight,
} from './layers/attention.js';
export {
  TransformerBlock,
  transformerBlock,
  addFeedForwardWeights,
  feedForwardResidual,
  feedForwardWeightList,
  type TransformerBlockArgs,
  type FeedForwardWeights,
} from './layers/transformer-block.js';
export {
  MaskedPooling,
  maskedPooling,
  GlobalPooling3D,
  globalPooling3D,
  type MaskedPoolingArgs,
  type GlobalPooling3DArgs,
  type GlobalPoolingMode,
} from './layers/pooling.js';
export { PositionalEmbedding, positionalEmbedding, type PositionalEmbeddingArgs } from './layers/positional-embedding.js';
export { Random } from './core/random.js';
export {
  VDAFM,
  vdafm,
  type VdafmArgs,
  type VdafmOutputs,
  type ConditioningMode,
  type FusionMode,
} from './fusion/vdafm.js';
export { BASE_OUTPUTS, CLINICAL_OUTPUTS, type ClinicalMode } from './fusion/common.js';
export { BaselineFusion, baselineFusion, type BaselineFusionArgs, type BaselineMethod } from './fusion/baselines.js';
export {
  contrastiveLoss,
  symmetricInfoNce,
  LogitScale,
  type ContrastiveLossOptions,
  type ContrastiveLossResult,
  type LogitScaleArgs,
} from './losses/contrastive.js';
export {
  fineGrainedAlignmentLoss,
  lateInteractionSimilarity,
  dualSemanticAlignmentLoss,
  type FineGrainedAlignmentOptions,
  type FineGrainedAlignmentResult,
  type DualAlignmentInputs,
  type DualAlignmentOptions,
  type DualAlignmentResult,
} from './losses/alignment.js';

// Report generation (text modality): TextGenerator spec, schemas, parser, generators, cache.
export * from './text/index.js';
// Prognosis metrics on plain arrays.
export * from './metrics/index.js';
