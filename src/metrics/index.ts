/**
 * Evaluation metrics on plain arrays and typed arrays (no tfjs): ROC-AUC, AUPRC, threshold
 * metrics, calibration, stratified bootstrap CIs, curves for plotting, multi-class extensions,
 * and a one-call binary evaluation with a markdown table. See docs/guides/metrics.md.
 *
 * @packageDocumentation
 */
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
} from './ranking.js';
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
} from './threshold.js';
export {
  brierScore,
  calibrationCurve,
  expectedCalibrationError,
  type CalibrationOptions,
  type CalibrationCurve,
} from './calibration.js';
export {
  bootstrapCi,
  stratifiedBootstrap,
  quantile,
  type BootstrapOptions,
  type BootstrapResult,
  type BinaryMetric,
  type IndexStatistic,
} from './bootstrap.js';
export {
  delongTest,
  delongVariance,
  pairedBootstrap,
  minimumDetectableDifference,
  type DelongOptions,
  type DelongTestResult,
  type DelongVarianceResult,
  type PairedBootstrapOptions,
  type PairedBootstrapResult,
  type MinimumDetectableDifferenceOptions,
} from './paired.js';
export {
  rocAucOneVsRest,
  argmaxRows,
  multiclassAccuracy,
  multiclassBalancedAccuracy,
  multiclassConfusionMatrix,
  type OneVsRestAuc,
  type MulticlassConfusionOptions,
} from './multiclass.js';
export {
  evaluateBinary,
  formatMetricsTable,
  type EvaluateBinaryOptions,
  type BinaryEvaluation,
  type BinaryEvaluationCis,
  type MetricsTableRow,
  type MetricsTableOptions,
} from './evaluate.js';
