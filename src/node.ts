/**
 * `vdafm/node`: Node-only file I/O. Saves and loads tfjs LayersModel artifacts on disk
 * (`model.json` + `weights.bin`, the format tfjs's `http` and `browserFiles` loaders read)
 * without `@tensorflow/tfjs-node`.
 *
 * @packageDocumentation
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkManifest, loadPipelineFromMemory, type Pipeline, type PipelineManifest, savePipelineToMemory } from './core/bundle.js';
import { loadModelFromMemory, saveModelToMemory, type ModelArtifacts } from './core/io.js';
import { InvalidArgumentError, SerializationError } from './errors.js';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const PIPELINE_JSON = 'pipeline.json';

function checkDir(dir: unknown): string {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new InvalidArgumentError({ argument: 'dir', message: 'dir must be a non-empty folder path.', received: dir });
  }
  return dir;
}

async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

/**
 * Writes model artifacts to `dir/model.json` and `dir/weights.bin` (creating `dir`).
 * Each file is written to a temporary name and renamed, so a crash never leaves a torn file.
 *
 * @example
 * ```ts
 * await writeArtifacts('/tmp/model', await saveModelToMemory(model));
 * ```
 */
export async function writeArtifacts(dir: string, artifacts: ModelArtifacts): Promise<void> {
  checkDir(dir);
  await fs.mkdir(dir, { recursive: true });
  const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const json: Record<string, unknown> = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig) json['trainingConfig'] = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata) json['userDefinedMetadata'] = artifacts.userDefinedMetadata;
  await writeAtomic(path.join(dir, WEIGHTS_BIN), new Uint8Array(weights));
  await writeAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
}

/**
 * Reads model artifacts written by {@link writeArtifacts} (or by tfjs-node's `file://` saver,
 * with any number of weight shards).
 *
 * @throws `SerializationError` when `model.json` or a weight file is missing or corrupt.
 * @example
 * ```ts
 * const artifacts = await readArtifacts('/tmp/model');
 * ```
 */
export async function readArtifacts(dir: string): Promise<ModelArtifacts> {
  checkDir(dir);
  const jsonPath = path.join(dir, MODEL_JSON);
  let parsed: {
    modelTopology?: object;
    weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
    trainingConfig?: tf.io.TrainingConfig;
    userDefinedMetadata?: { [key: string]: {} };
  };
  try {
    parsed = JSON.parse(await fs.readFile(jsonPath, 'utf8'));
  } catch (error) {
    throw new SerializationError(`Cannot read ${jsonPath}: ${(error as Error).message}. Save the model there with saveModel() first.`, {
      cause: error,
    });
  }
  if (!parsed.modelTopology || !Array.isArray(parsed.weightsManifest)) {
    throw new SerializationError(`${jsonPath} is not a tfjs LayersModel file (no modelTopology or weightsManifest).`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of parsed.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const file = path.join(dir, p);
      try {
        const bytes = await fs.readFile(file);
        buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      } catch (error) {
        throw new SerializationError(`Cannot read weight file ${file}: ${(error as Error).message}.`, { cause: error });
      }
    }
  }
  const weightData = tf.io.CompositeArrayBuffer.join(buffers);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPer(s.dtype), 0);
  if (weightData.byteLength !== expected) {
    throw new SerializationError(
      `Weight files in ${dir} hold ${weightData.byteLength} bytes but model.json declares ${expected}: the files are truncated or do not belong together.`,
    );
  }
  const artifacts: ModelArtifacts = { modelTopology: parsed.modelTopology, weightSpecs: specs, weightData };
  if (parsed.format) artifacts.format = parsed.format;
  if (parsed.generatedBy) artifacts.generatedBy = parsed.generatedBy;
  if (parsed.convertedBy) artifacts.convertedBy = parsed.convertedBy;
  if (parsed.trainingConfig) artifacts.trainingConfig = parsed.trainingConfig;
  if (parsed.userDefinedMetadata) artifacts.userDefinedMetadata = parsed.userDefinedMetadata;
  return artifacts;
}

function bytesPer(dtype: string): number {
  switch (dtype) {
    case 'float32':
    case 'int32':
      return 4;
    case 'bool':
      return 1;
    default:
      throw new SerializationError(`Unsupported weight dtype '${dtype}' in model.json (vdafm writes float32 and int32 weights).`);
  }
}

/**
 * Saves a tfjs LayersModel (with any vdafm layers) to a folder: `model.json` + `weights.bin`.
 * No `@tensorflow/tfjs-node` needed. The folder can be served as static files and loaded in a
 * browser with `tf.loadLayersModel(url + '/model.json')` after `import 'vdafm'`.
 *
 * @param model - the model to save.
 * @param dir - destination folder (created if missing; existing files are replaced).
 * @example
 * ```ts
 * import { saveModel, loadModel } from 'vdafm/node';
 * await saveModel(model, './out/model');
 * const again = await loadModel('./out/model');
 * ```
 */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  checkDir(dir);
  if (model == null || typeof (model as { save?: unknown }).save !== 'function') {
    throw new InvalidArgumentError({ argument: 'model', message: 'model must be a tfjs LayersModel.', received: typeof model });
  }
  await writeArtifacts(dir, await saveModelToMemory(model));
}

/**
 * Loads a model saved by {@link saveModel} (or by tfjs-node's `file://` saver).
 *
 * @throws `SerializationError` when the folder holds no valid model.
 * @example
 * ```ts
 * const model = await loadModel('./out/model');
 * ```
 */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return loadModelFromMemory(await readArtifacts(dir));
}

/**
 * A tfjs `IOHandler` on a folder, for `model.save(handler)` and `tf.loadLayersModel(handler)`.
 *
 * @example
 * ```ts
 * await model.save(fileSystem('./out/model'));
 * const m = await tfl.loadLayersModel(fileSystem('./out/model'));
 * ```
 */
export function fileSystem(dir: string): tf.io.IOHandler {
  checkDir(dir);
  return {
    save: async (artifacts: ModelArtifacts) => {
      await writeArtifacts(dir, artifacts);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    load: async () => readArtifacts(dir),
  };
}

export type { ModelArtifacts };

export { FileReportCache, type FileReportCacheOptions } from './text/file-cache.js';

/**
 * Saves a whole pipeline to a folder: `model.json` + `weights.bin` (standard tfjs files) and
 * `pipeline.json` (format version, model metadata, preprocessor, tokenizer, report schema,
 * trainer state, metadata), written last so that a crash never leaves a bundle that looks
 * complete.
 *
 * @example
 * ```ts
 * await savePipeline({ model, preprocessor, tokenizer, trainerState: await trainer.getState() }, './out/bundle');
 * const { model: again, preprocessor: pre } = await loadPipeline('./out/bundle');
 * ```
 */
export async function savePipeline(pipeline: Pipeline, dir: string): Promise<void> {
  checkDir(dir);
  const { manifest, modelArtifacts } = await savePipelineToMemory(pipeline);
  await writeArtifacts(dir, modelArtifacts);
  await writeAtomic(path.join(dir, PIPELINE_JSON), JSON.stringify(manifest));
}

/**
 * Loads a pipeline saved by {@link savePipeline}.
 *
 * @throws `SerializationError` for a missing folder, a foreign or newer format, or corrupt files.
 */
export async function loadPipeline(dir: string): Promise<Pipeline> {
  checkDir(dir);
  const file = path.join(dir, PIPELINE_JSON);
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw new SerializationError(`Cannot read ${file}: ${(error as Error).message}. Save a pipeline there with savePipeline() first.`, { cause: error });
  }
  checkManifest(manifest);
  return loadPipelineFromMemory({ manifest: manifest as PipelineManifest, modelArtifacts: await readArtifacts(dir) });
}

export type { Pipeline, PipelineManifest };
export { disableThreads, enableThreads, threadCount, type ThreadOptions } from './node/threads.js';

// Your own cohort: NIfTI volumes, the cohort manifest and schema, loading with per-patient
// errors, the on-disk cache of preprocessed volumes, and the synthetic cohort written to disk.
export {
  axisCodes,
  cohortGrid,
  decodeNifti,
  foregroundBox,
  intensityStats,
  normalise,
  OBLIQUE_TOLERANCE_DEG,
  percentile,
  preprocessNifti,
  preprocessSequences,
  readNifti,
  readNiftiFile,
  reorient,
  resample,
  sequenceMismatch,
  toCohortLayout,
  writeNifti,
  type Affine,
  type AffineSource,
  type CohortGridOptions,
  type IntensityOptions,
  type IntensityStats,
  type NiftiVolume,
  type NiftiWriteInput,
  type OrientedVolume,
  type Preprocessed,
  type PreprocessedSequences,
  type PreprocessOptions,
  type ReadNiftiOptions,
  type SamplingGrid,
} from './node/cohort/nifti.js';
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
  cohortBatches,
  cohortInputs,
  excludedPatients,
  loadCohort,
  writeExclusions,
  type CohortBatchesOptions,
  type CohortImageOptions,
  type CohortInputsOptions,
  type CohortLoadProgress,
  type CohortModality,
  type CohortPatient,
  type ExcludedPatient,
  type LoadCohortOptions,
  type LoadedCohort,
  type PatientSelection,
} from './node/cohort/load.js';
export { BROKEN_ROW_PROBLEMS, writeSyntheticCohort, type BrokenRowKind, type WriteSyntheticCohortOptions, type WrittenBrokenRow, type WrittenCohort } from './node/cohort/write.js';
