/**
 * vdafm: tri-modal medical prognosis for TensorFlow.js.
 *
 * Importing this module registers every vdafm layer class with tfjs's serialisation registry.
 * It imports only `@tensorflow/tfjs-core` and `@tensorflow/tfjs-layers` (browser-safe); pick
 * and register a backend yourself (cpu, wasm, webgl, webgpu, node). Every public name is listed
 * here (no `export *`); the floors they come from are described in docs/architecture.md.
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
  setValidateMasks,
  validateMasksEnabled,
  MASK_DTYPES,
  type HasShape,
  type Shape,
} from './core/validate.js';
export { matMul } from './ops/matmul.js';
export { dense, layerNorm, gelu } from './ops/dense.js';
export { readMask, maskedMean, dropout, stopGradient, l2Normalize, residualAdd, reshapeView, maskTokens } from './ops/elementwise.js';
export { fastSlice, splitRows } from './ops/slice.js';
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
export { gemmPool, setDefaultGemmPool, setGemmPool, type ConvJob, type GemmJob, type GemmPool } from './kernels/threads.js';
export { registerLayers, isVdafmLayer, LAYER_CLASSES } from './register.js';
export { saveModelToMemory, loadModelFromMemory, type ModelArtifacts } from './core/io.js';
export { KERNEL_INITIALIZERS, type KernelInitializerName } from './core/validate.js';
export { type BaseLayerArgs, type Initializer } from './layers/common.js';
export {
  MultiHeadAttention,
  multiHeadAttention,
  type MultiHeadAttentionArgs,
} from './layers/attention.js';
export {
  TransformerBlock,
  transformerBlock,
  type TransformerBlockArgs,
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
export { VDAFM, vdafm, type VdafmArgs, type VdafmOutputs } from './fusion/vdafm.js';
export { type ConditioningMode, type FusionMode } from './fusion/vdafm-stages.js';
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
export { createImageEncoder, type ImageEncoder, type CreateImageEncoderConfig } from './encoders/image/image-encoder.js';
export { ImageEncoderLayer, type ImageEncoderLayerArgs } from './encoders/image/image-encoder-layer.js';
export {
  resolveImageEncoderOptions,
  IMAGE_NORMS,
  IMAGE_ACTIVATIONS,
  INTENSITY_NORMS,
  type IntensityNorm,
  type ImageEncoderOptions,
  type ResolvedImageEncoderOptions,
  type ImageNorm,
  type ImageActivation,
} from './encoders/image/image-options.js';
export { batchNormTrain, groupNorm, type BatchStatsCallback } from './ops/norm.js';
export { Conv2D, Conv3D, conv2dLayer, conv3dLayer, type ConvArgs } from './layers/conv.js';
export { conv2d, conv3d, biasAdd, type ConvOptions } from './ops/conv.js';
export { axisPadding, type ConvPadding, type AxisPadding } from './ops/conv-geometry.js';
export {
  TabularPreprocessor,
  UNSEEN_CATEGORY_INDEX,
  type ColumnSpec,
  type ColumnType,
  type TabularFeatureSpec,
  type TabularPreprocessorJSON,
  type TabularPreprocessorOptions,
} from './encoders/tabular/preprocessor.js';
export { type CellValue, type TableInput } from './encoders/tabular/table.js';
export { FeatureTokenizer, featureTokenizer, type FeatureTokenizerArgs } from './encoders/tabular/feature-tokenizer.js';
export { TabularMLP, tabularMLP, type TabularMLPArgs, type MlpActivation } from './encoders/tabular/mlp.js';
export {
  ClsTokenSplit,
  clsTokenSplit,
  ClsAttentionImportance,
  clsAttentionImportance,
  type ClsTokenSplitArgs,
  type ClsAttentionImportanceArgs,
} from './encoders/tabular/cls.js';
export {
  createTabularEncoder,
  type TabularEncoder,
  type TabularEncoderConfig,
  type TabularEncoderType,
} from './encoders/tabular/encoder.js';
export { embeddingLookup, sanitizeIds } from './ops/embedding.js';
export { buildVocab, bertWords, DEFAULT_SPECIAL_TOKENS, type BuildVocabOptions } from './encoders/text/vocab.js';
export { WordPieceTokenizer } from './encoders/text/tokenizer.js';
export {
  type EncodeOptions,
  type TokenEncoding,
  type FromJSONOptions,
  type PaddingStrategy,
  type TokenizerJSON,
  type WordPieceOptions,
} from './encoders/text/tokenizer-types.js';
export { TokenEmbedding, tokenEmbedding, type TokenEmbeddingArgs } from './encoders/text/token-embedding.js';
export { FrozenEmbeddingAdapter, frozenEmbeddingAdapter, type FrozenEmbeddingAdapterArgs } from './encoders/text/frozen-adapter.js';
export { LayerNormalization, layerNormalization, type LayerNormalizationArgs } from './layers/layer-norm.js';
export {
  createTextEncoder,
  createFrozenTextEncoder,
  type TextEncoderBranch,
  type TextEncoderConfig,
  type TextEncoderOutputs,
  type FrozenTextEncoderBranch,
  type FrozenTextEncoderConfig,
} from './encoders/text/encoder.js';

// Synthetic stroke cohort with known true risk.
export {
  generateSyntheticCohort,
  cohortImage,
  type SyntheticCohortOptions,
  type SyntheticCohort,
  type SyntheticPatient,
  type PatientImage,
  type LesionTruth,
  type ScannerEffects,
  type ImageTruth,
} from './data/cohort.js';
export { TERRITORY_WEIGHTS, TERRITORY_CAP_ML } from './data/lesions.js';
export {
  CLINICAL_SCHEMA,
  NIHSS_SITE_WEIGHT,
  expectedNihss,
  type ColumnSchema,
  type ClinicalRecord,
  type ClinicalRow,
  type LesionSummary,
} from './data/clinical.js';
export {
  OUTCOME_MODEL,
  ELOQUENT_HUBS,
  eloquence,
  latentSeverity,
  poorOutcomeProbability,
  mrsDistribution,
  sampleMrs,
  type SeverityInputs,
  type LatentComponents,
  type LatentKnobs,
} from './data/outcome.js';
export {
  TERRITORIES,
  TISSUE,
  TISSUE_INTENSITY,
  PHANTOM_GEOMETRY,
  NOMINAL_ANATOMY,
  atlasLabel,
  decodeTerritory,
  territoryCode,
  gridGeometry,
  labelGrid,
  type Ellipsoid,
  type Vec3,
  type Territory,
  type Side,
  type Anatomy,
  type GridGeometry,
  type VoxelLabels,
} from './data/phantom.js';
export {
  createFindingsExtractor,
  findingsExtractor,
  NOISY_READER,
  type ImageFindings,
  type ImageFindingsExtractor,
  type FindingsExtractorOptions,
  type FindingsMeasurement,
  type MeasuredComponent,
  type ReaderNoise,
} from './data/findings.js';
export {
  resolveScenario,
  SCENARIO_KNOBS,
  SCENARIO_NAMES,
  STRATEGIC_HUBS,
  STRATEGIC_WIDTH,
  strategicScore,
  type ScenarioKnobs,
  type ScenarioName,
} from './data/scenarios.js';
export { IMAGE_FEATURE_NAMES, imageFeatures, oracleFeatures, TABLE_FEATURE_NAMES, tableFeatures, type OracleSubset } from './data/oracle.js';
export { splitCohort, stratifiedFolds, subsetCohort, type SplitOptions, type CohortSplit } from './data/split.js';
export { renderSlice, type GreyImage, type RenderSliceOptions } from './data/render.js';

// Report generation (text modality): TextGenerator spec, schemas, parser, generators, browser-safe cache.
export type { TextGenerator, TextGenerateRequest, TextGenerateResult, TextGenerationUsage } from './text/types.js';
export {
  DEFAULT_REPORT_SEPARATOR,
  defineReportSchema,
  isReportSchema,
  renderReport,
  reportJsonSchema,
  schemaFingerprint,
  buildReportPrompt,
  type ReportSchema,
  type ReportSchemaDefinition,
  type ReportFieldDefinition,
  type ReportRenderContext,
  type ReportValueFormatter,
} from './text/schema.js';
export { strokeReportSchema, strokeImpression, STROKE_REPORT_FIELDS, type StrokeReportField } from './text/stroke-schema.js';
export { parseReport, type ParsedReport, type ParseReportOptions } from './text/parse.js';
export {
  TextGenerationError,
  ReportValidationError,
  CaseGenerationError,
  RemoteEndpointError,
  ReportCacheWriteError,
  REDACTED,
  type TextGenerationErrorCode,
  type InvalidReportField,
} from './text/errors.js';
export { imageToPng, imageToDataUrl, bytesToBase64, type ReportImage, type RawImage } from './text/images.js';
export { Sha256, sha256Hex } from './text/hash.js';
export { createLimiter, type Limiter } from './text/limiter.js';
export {
  TemplateReportGenerator,
  type TemplateReportGeneratorOptions,
  type TemplateNoiseOptions,
  type Findings,
  type FindingsExtractor,
} from './text/template-generator.js';
export { createOpenAICompatibleGenerator } from './text/openai-compatible.js';
export { isLoopbackHost, type OpenAICompatibleGeneratorOptions, type GeneratorLogger } from './text/openai-options.js';
export { MemoryReportCache, reportCacheKey, type ReportCache, type CachedReport, type ReportCacheKeyInput } from './text/cache.js';
export {
  generateReports,
  type ReportCase,
  type ReportProgress,
  type GenerateReportsOptions,
  type ReportOutcome,
  type GenerateReportsResult,
} from './text/batch.js';
// Prognosis metrics on plain arrays.
export { ReportFieldTargets, type FieldTargetBatch, type FieldTargetGroup, type FieldTargetOptions, type ReportFieldTargetsJSON } from './text/field-targets.js';
export { reportFieldLoss, type FieldLossGroup } from './losses/fields.js';
export { fitLogistic, predictLogistic, type LogisticModel, type LogisticOptions } from './metrics/logistic.js';
export {
  rocAuc,
  rocCurve,
  averagePrecision,
  precisionRecallCurve,
  youdenThreshold,
  type RocCurve,
  type RocCurveOptions,
  type PrecisionRecallCurve,
  type YoudenResult,
} from './metrics/ranking.js';
export {
  confusionMatrix,
  thresholdMetrics,
  metricsFromConfusion,
  accuracy,
  balancedAccuracy,
  sensitivity,
  specificity,
  precision,
  f1Score,
  type ThresholdOptions,
  type ConfusionMatrix,
  type ThresholdMetrics,
} from './metrics/threshold.js';
export {
  brierScore,
  calibrationCurve,
  expectedCalibrationError,
  type CalibrationOptions,
  type CalibrationCurve,
} from './metrics/calibration.js';
export {
  bootstrapCi,
  stratifiedBootstrap,
  quantile,
  type BootstrapOptions,
  type BootstrapResult,
  type BinaryMetric,
  type IndexStatistic,
} from './metrics/bootstrap.js';
export { delongTest, delongVariance, type DelongOptions, type DelongTestResult, type DelongVarianceResult } from './metrics/delong.js';
export {
  pairedBootstrap,
  minimumDetectableDifference,
  type PairedBootstrapOptions,
  type PairedBootstrapResult,
  type MinimumDetectableDifferenceOptions,
} from './metrics/paired.js';
export {
  rocAucOneVsRest,
  argmaxRows,
  multiclassAccuracy,
  multiclassBalancedAccuracy,
  multiclassConfusionMatrix,
  type OneVsRestAuc,
  type MulticlassConfusionOptions,
} from './metrics/multiclass.js';
export {
  evaluateBinary,
  formatMetricsTable,
  type EvaluateBinaryOptions,
  type BinaryEvaluation,
  type BinaryEvaluationCis,
  type MetricsTableRow,
  type MetricsTableOptions,
} from './metrics/evaluate.js';
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
export { createTriModalModel } from './models/builder.js';
export {
  TriModalModel,
  type TriModalModelConfig,
  type TriModalBatch,
  type TriModalOutputs,
  type Modality,
  type HeadType,
  type CustomEncoder,
  type FusionConfig,
} from './models/tri-modal.js';
export { Trainer } from './training/trainer.js';
export { takeRows } from './training/batches.js';
export { type ResolvedTrainerOptions, type TrainerOptions } from './training/trainer.js';
export { type TrainerOptionsBase, type ResolvedOptions } from './training/options.js';
export { type AugmentOptions } from './training/augment.js';
export { type AlignmentAnchor, type BatchLoss } from './training/loss.js';
export { dropModalityAuc, type DropModalityResult } from './training/diagnostics.js';
export {
  type TrainerState,
  type TrainingHistory,
  type TrainingData,
  type TrainingLogs,
} from './training/types.js';
export { AdamW, Sgd, type AdamWOptions, type AdamWState, type Optimizer, type SgdOptions } from './training/optimizer.js';
export { balancingCoefficients, paretoWeights, type BalancingMethod, type BalancingOptions } from './training/balancing.js';
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
