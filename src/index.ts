/**
 * vdafm: tri-modal medical prognosis for TensorFlow.js.
 *
 * Importing this module registers every vdafm layer class with tfjs's serialisation registry.
 * It imports only `@tensorflow/tfjs-core` and `@tensorflow/tfjs-layers` (browser-safe); pick
 * and register a backend yourself (cpu, wasm, webgl, webgpu, node).
 *
 * @packageDocumentation
 */
import './register.js';

export {
  VdafmError,
  InvalidArgumentError,
  ShapeError,
  SerializationError,
  NonFiniteError,
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
  type Shape,
} from './core/validate.js';
export { matMul } from './ops/matmul.js';
export { dense, layerNorm, gelu } from './ops/dense.js';
export { maskedMean, dropout, stopGradient, l2Normalize, residualAdd, maskTokens } from './ops/elementwise.js';
export { fastSlice, splitRows } from './ops/slice.js';
export { COLUMN_SUM_KERNEL_NAME, GEMM_KERNEL_NAME } from './kernels/gemm.js';
export {
  fastKernelsActive,
  fastKernelsBuild,
  fastKernelsMode,
  initFastKernels,
  relaxedSimdSupported,
  setFastKernelsEnabled,
  type FastKernelsOptions,
  type SimdBuild,
} from './kernels/module.js';
export { fastMatMul, type FastMatMulOptions } from './ops/matmul.js';
export { gemmPool, setDefaultGemmPool, setGemmPool, type GemmJob, type GemmPool } from './kernels/threads.js';
export { registerLayers, LAYER_CLASSES } from './register.js';
export { saveModelToMemory, loadModelFromMemory, type ModelArtifacts } from './core/io.js';
export { KERNEL_INITIALIZERS, type KernelInitializerName } from './core/validate.js';
export { type Initializer } from './layers/common.js';
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
export {
  createImageEncoder, ImageEncoderLayer, resolveImageEncoderOptions, IMAGE_NORMS, IMAGE_ACTIVATIONS,
  batchNormTrain, groupNorm, Conv2D, Conv3D, conv2dLayer, conv3dLayer, conv2d, conv3d, biasAdd, axisPadding,
  type ImageEncoder, type CreateImageEncoderConfig, type ImageEncoderOptions, type ImageEncoderLayerArgs,
  type ResolvedImageEncoderOptions, type ImageNorm, type ImageActivation, type BatchStatsCallback,
  type ConvArgs, type ConvOptions, type ConvPadding, type AxisPadding,
} from './encoders/image/index.js';
export {
  TabularPreprocessor, UNSEEN_CATEGORY_INDEX, FeatureTokenizer, featureTokenizer, TabularMLP, tabularMLP,
  ClsTokenSplit, clsTokenSplit, ClsAttentionImportance, clsAttentionImportance, createTabularEncoder,
  type CellValue, type ColumnSpec, type ColumnType, type TableInput, type TabularFeatureSpec,
  type TabularPreprocessorJSON, type TabularPreprocessorOptions, type FeatureTokenizerArgs, type TabularMLPArgs,
  type MlpActivation, type ClsTokenSplitArgs, type ClsAttentionImportanceArgs, type TabularEncoder,
  type TabularEncoderConfig, type TabularEncoderType,
} from './encoders/tabular/index.js';
export {
  embeddingLookup, sanitizeIds, buildVocab, bertWords, DEFAULT_SPECIAL_TOKENS, WordPieceTokenizer,
  TokenEmbedding, tokenEmbedding, FrozenEmbeddingAdapter, frozenEmbeddingAdapter, LayerNormalization,
  layerNormalization, createTextEncoder, createFrozenTextEncoder,
  type BuildVocabOptions, type EncodeOptions, type TokenEncoding, type FromJSONOptions, type PaddingStrategy,
  type TokenizerJSON, type WordPieceOptions, type TokenEmbeddingArgs, type FrozenEmbeddingAdapterArgs,
  type LayerNormalizationArgs, type TextEncoderBranch, type TextEncoderConfig, type TextEncoderOutputs,
  type FrozenTextEncoderBranch, type FrozenTextEncoderConfig,
} from './encoders/text/index.js';

// Synthetic stroke cohort with known true risk.
export {
  generateSyntheticCohort, cohortImage, TERRITORY_WEIGHTS, TERRITORY_CAP_ML,
  CLINICAL_SCHEMA, NIHSS_SITE_WEIGHT, expectedNihss,
  OUTCOME_MODEL, ELOQUENT_HUBS, eloquence, latentSeverity, poorOutcomeProbability, mrsDistribution, sampleMrs,
  TERRITORIES, TISSUE, TISSUE_INTENSITY, PHANTOM_GEOMETRY, NOMINAL_ANATOMY, atlasLabel, decodeTerritory, territoryCode, gridGeometry, labelGrid,
  createFindingsExtractor, findingsExtractor, NOISY_READER,
  splitCohort, subsetCohort, renderSlice,
  type SyntheticCohortOptions, type SyntheticCohort, type SyntheticPatient, type PatientImage, type LesionTruth,
  type ScannerEffects, type ImageTruth, type ColumnSchema, type ClinicalRecord, type ClinicalRow,
  type SeverityInputs, type LatentComponents, type LesionSummary, type Ellipsoid, type Vec3, type Territory, type Side, type Anatomy, type GridGeometry, type VoxelLabels,
  type ImageFindings, type ImageFindingsExtractor, type FindingsExtractorOptions, type FindingsMeasurement,
  type MeasuredComponent, type ReaderNoise, type SplitOptions, type CohortSplit, type GreyImage, type RenderSliceOptions,
} from './data/index.js';

// Report generation (text modality): TextGenerator spec, schemas, parser, generators, cache.
export * from './text/index.js';
// Prognosis metrics on plain arrays.
export * from './metrics/index.js';
export {
  binaryCrossEntropy,
  binaryFocalLoss,
  softmaxCrossEntropy,
  ordinalLoss,
  ordinalProbabilities,
  classWeightsFromLabels,
  type BinaryLossOptions,
  type FocalLossOptions,
} from './losses/classification.js';
export {
  createTriModalModel,
  TriModalModel,
  type TriModalModelConfig,
  type TriModalBatch,
  type TriModalOutputs,
  type Modality,
  type HeadType,
  type CustomEncoder,
  type FusionConfig,
} from './models/tri-modal.js';
export {
  Trainer,
  takeRows,
  type TrainerOptions,
  type TrainerState,
  type TrainingHistory,
  type TrainingData,
  type TrainingLogs,
} from './training/trainer.js';
export { AdamW, type AdamWOptions, type AdamWState } from './training/optimizer.js';
export { warmupCosineSchedule, constantSchedule, type LearningRateSchedule, type WarmupCosineOptions } from './training/schedule.js';
export { globalNorm, clipByGlobalNorm, modulationCoefficients, allFinite } from './training/gradients.js';
export {
  savePipelineToMemory,
  loadPipelineFromMemory,
  checkManifest,
  PIPELINE_FORMAT_VERSION,
  type Pipeline,
  type PipelineManifest,
  type PipelineArtifacts,
} from './training/pipeline.js';
export { fieldTokenPositions, attentionMap, overlayHeatmap, type GreyPicture, type RgbPicture } from './interpret/overlay.js';
export { prepareTriModalData, type RawTriModalInputs, type TriModalData } from './models/data.js';
export { runGraph } from './models/graph.js';
