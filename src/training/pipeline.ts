/**
 * Whole-pipeline bundles: the tri-modal model (topology + weights), the tabular preprocessor, the
 * tokenizer, the report schema, the trainer state (optimizer moments, step, RNG) and user
 * metadata, with a format version. Browser-safe (in memory); `vdafm/node` writes them to folders.
 *
 * @packageDocumentation
 */
import { TabularPreprocessor, type TabularPreprocessorJSON } from '../encoders/tabular/preprocessor.js';
import { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import type { TokenizerJSON } from '../encoders/text/tokenizer-types.js';
import { SerializationError } from '../errors.js';
import { TriModalModel } from '../models/tri-modal.js';
import { defineReportSchema, type ReportSchema, type ReportSchemaDefinition } from '../text/schema.js';
import { strokeReportSchema } from '../text/stroke-schema.js';
import type { TrainerState } from './types.js';
import { loadModelFromMemory, type ModelArtifacts, saveModelToMemory } from '../core/io.js';

/** Version of the bundle format this build writes (and the newest it reads). */
export const PIPELINE_FORMAT_VERSION = 1;

/** Everything a trained prognosis pipeline needs at inference and to resume training. */
export interface Pipeline {
  model: TriModalModel;
  preprocessor?: TabularPreprocessor;
  tokenizer?: WordPieceTokenizer;
  reportSchema?: ReportSchema;
  trainerState?: TrainerState;
  /** Anything JSON-safe (e.g. the cohort seed, metrics). */
  metadata?: Record<string, unknown>;
}

/** The JSON part of a saved bundle. */
export interface PipelineManifest {
  format: 'vdafm-pipeline';
  formatVersion: number;
  model: {
    modalities: TriModalModel['modalities'];
    headType: TriModalModel['headType'];
    numClasses: number;
    inputNames: string[];
    outputNames: string[];
    fusionType: TriModalModel['fusionType'];
    config: Record<string, unknown>;
    groups: Record<string, string[]>;
  };
  preprocessor?: TabularPreprocessorJSON;
  tokenizer?: TokenizerJSON;
  reportSchema?: ReportSchemaDefinition;
  trainerState?: TrainerState;
  metadata?: Record<string, unknown>;
}

/** A bundle in memory: the manifest and the model's artifacts. */
export interface PipelineArtifacts {
  manifest: PipelineManifest;
  modelArtifacts: ModelArtifacts;
}

/**
 * Serialises a pipeline to memory.
 *
 * @example
 * ```ts
 * const artifacts = await savePipelineToMemory({ model, preprocessor, tokenizer, reportSchema: strokeReportSchema, trainerState: await trainer.getState() });
 * const again = await loadPipelineFromMemory(artifacts);
 * ```
 */
export async function savePipelineToMemory(pipeline: Pipeline): Promise<PipelineArtifacts> {
  const m = pipeline.model;
  const manifest: PipelineManifest = {
    format: 'vdafm-pipeline',
    formatVersion: PIPELINE_FORMAT_VERSION,
    model: {
      modalities: m.modalities,
      headType: m.headType,
      numClasses: m.numClasses,
      inputNames: m.inputNames,
      outputNames: m.outputNames,
      fusionType: m.fusionType,
      config: JSON.parse(JSON.stringify(m.config)),
      groups: m.groupLayerNames(),
    },
  };
  if (pipeline.preprocessor) manifest.preprocessor = pipeline.preprocessor.toJSON();
  if (pipeline.tokenizer) manifest.tokenizer = pipeline.tokenizer.toJSON();
  if (pipeline.reportSchema) {
    const s = pipeline.reportSchema;
    manifest.reportSchema = JSON.parse(JSON.stringify({ name: s.name, version: s.version, fields: s.fields, separator: s.separator })) as ReportSchemaDefinition;
  }
  if (pipeline.trainerState) manifest.trainerState = JSON.parse(JSON.stringify(pipeline.trainerState)) as TrainerState;
  if (pipeline.metadata) manifest.metadata = JSON.parse(JSON.stringify(pipeline.metadata)) as Record<string, unknown>;
  return { manifest, modelArtifacts: await saveModelToMemory(m.model) };
}

/** Checks a manifest's format and version. */
export function checkManifest(manifest: unknown): PipelineManifest {
  const m = manifest as Partial<PipelineManifest> | null;
  if (!m || m.format !== 'vdafm-pipeline') {
    throw new SerializationError('This is not a vdafm pipeline bundle (no format "vdafm-pipeline" in its manifest).');
  }
  if (typeof m.formatVersion !== 'number' || !Number.isInteger(m.formatVersion) || m.formatVersion < 1) {
    throw new SerializationError(`The bundle has an unknown format version (${String(m.formatVersion)}).`);
  }
  if (m.formatVersion > PIPELINE_FORMAT_VERSION) {
    throw new SerializationError(
      `The bundle was written with format version ${m.formatVersion}, newer than this vdafm reads (${PIPELINE_FORMAT_VERSION}). Upgrade vdafm to load it.`,
    );
  }
  return m as PipelineManifest;
}

/**
 * Rebuilds a pipeline saved by {@link savePipelineToMemory}.
 *
 * @throws {@link SerializationError} for a foreign, newer or corrupt bundle.
 */
export async function loadPipelineFromMemory(artifacts: PipelineArtifacts): Promise<Pipeline> {
  const manifest = checkManifest(artifacts?.manifest);
  const layersModel = await loadModelFromMemory(artifacts.modelArtifacts);
  const pipeline: Pipeline = { model: TriModalModel.fromLayersModel(layersModel, manifest.model) };
  if (manifest.preprocessor) pipeline.preprocessor = TabularPreprocessor.fromJSON(manifest.preprocessor);
  if (manifest.tokenizer) pipeline.tokenizer = WordPieceTokenizer.fromJSON(manifest.tokenizer);
  if (manifest.reportSchema) {
    pipeline.reportSchema =
      manifest.reportSchema.name === strokeReportSchema.name && manifest.reportSchema.version === strokeReportSchema.version
        ? strokeReportSchema
        : defineReportSchema(manifest.reportSchema);
  }
  if (manifest.trainerState) pipeline.trainerState = manifest.trainerState;
  if (manifest.metadata) pipeline.metadata = manifest.metadata;
  return pipeline;
}
