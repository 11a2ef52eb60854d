/**
 * `vdafm/node`: the Node-only parts. Saves and loads models and whole pipelines on disk (no
 * `@tensorflow/tfjs-node` needed), the append-only report cache, and worker-thread GEMM.
 *
 * @packageDocumentation
 */
import './register.js';

export { fileSystem, loadModel, loadPipeline, readArtifacts, saveModel, savePipeline, writeArtifacts } from './node/io.js';
export type { ModelArtifacts } from './core/io.js';
export type { Pipeline, PipelineManifest } from './training/pipeline.js';
export { FileReportCache, type FileReportCacheOptions } from './node/file-cache.js';
export { defaultThreadCount, disableThreads, enableThreads, threadCount, type ThreadOptions } from './node/threads.js';

// Your own cohort: NIfTI volumes, the cohort manifest and schema, loading with per-patient
// errors, the on-disk cache of preprocessed volumes, and the synthetic cohort written to disk.
export { decodeNifti, readNifti, readNiftiFile, type NiftiVolume, type ReadNiftiOptions } from './node/cohort/nifti.js';
export { axisCodes, OBLIQUE_TOLERANCE_DEG, type Affine, type AffineSource } from './node/cohort/affine.js';
export { writeNifti, type NiftiWriteInput } from './node/cohort/nifti-write.js';
export { reorient, type OrientedVolume } from './node/cohort/reorient.js';
export { resample, type SamplingGrid } from './node/cohort/resample.js';
export { foregroundBox, intensityStats, normalise, percentile, type IntensityOptions, type IntensityStats } from './node/cohort/intensity.js';
export {
  cohortGrid,
  preprocessNifti,
  preprocessSequences,
  sequenceMismatch,
  toCohortLayout,
  type CohortGridOptions,
  type Preprocessed,
  type PreprocessedSequences,
  type PreprocessOptions,
} from './node/cohort/preprocess.js';
export {
  CohortManifestError,
  CohortSchemaError,
  CohortValidationError,
  formatProblem,
  NiftiFormatError,
  type CohortProblem,
  type CohortProblemKind,
  type NiftiProblemKind,
} from './node/cohort/errors.js';
export { CsvSyntaxError, formatCsv, parseCsv, type CsvOptions, type CsvTable } from './node/cohort/csv.js';
export {
  COHORT_SCHEMA_FORMAT,
  cohortColumnSpecs,
  parseCohortSchema,
  readCohortSchema,
  type CohortColumn,
  type CohortLabel,
  type CohortSchema,
  type CohortSequence,
  type ResolvedCohortSchema,
} from './node/cohort/schema.js';
export {
  readManifest,
  validateManifest,
  type CohortRow,
  type InvalidRowFiles,
  type ManifestCell,
  type ManifestCheck,
  type ManifestRecord,
  type ManifestTable,
  type ReportSource,
} from './node/cohort/manifest.js';
export { VOLUME_CACHE_VERSION, VolumeCache, volumeCacheKey, type CachedVolume, type VolumeCacheOptions, type VolumeCacheStats } from './node/cohort/cache.js';
export {
  excludedPatients,
  loadCohort,
  writeExclusions,
  type CohortLoadProgress,
  type CohortPatient,
  type ExcludedPatient,
  type LoadCohortOptions,
  type LoadedCohort,
} from './node/cohort/load.js';
export { type CohortImageOptions } from './node/cohort/cohort-image-options.js';
export {
  cohortBatches,
  cohortInputs,
  type CohortBatchesOptions,
  type CohortInputsOptions,
  type CohortModality,
  type PatientSelection,
} from './node/cohort/cohort-inputs.js';
export { writeSyntheticCohort, type WriteSyntheticCohortOptions, type WrittenCohort } from './node/cohort/write.js';
export { BROKEN_ROW_PROBLEMS, type BrokenRowKind, type WrittenBrokenRow } from './node/cohort/broken-rows.js';
export { cohortReports, sliceMontage, type CohortReports, type CohortReportsOptions, type ReportImageOptions, type ReportOrigin } from './node/cohort/reports.js';
