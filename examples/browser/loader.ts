/**
 * Loads a pipeline bundle (a folder written by `savePipeline` or `vdafm demo`: `pipeline.json`,
 * `model.json`, `weights.bin`) over HTTP, in the browser or anywhere `fetch` exists.
 * This file is the code block of docs/guides/browser.md.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadPipelineFromMemory, SerializationError, type Pipeline, type PipelineManifest } from '../../src/index.js';

async function fetchOk(fetchFn: typeof fetch, url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url);
  } catch (error) {
    throw new SerializationError(`Cannot fetch ${url}: ${(error as Error).message}.`, { cause: error });
  }
  if (!response.ok) throw new SerializationError(`Cannot fetch ${url}: HTTP ${response.status}. Serve the bundle folder next to the page.`);
  return response;
}

/**
 * Fetches the three files of a bundle and rebuilds the pipeline (model, preprocessor, tokenizer,
 * report schema, metadata). Import `vdafm` and register a backend before calling it.
 *
 * @param baseUrl - URL of the bundle folder (with or without a trailing slash), absolute or
 * relative to the page.
 * @param fetchFn - the `fetch` to use. @defaultValue globalThis.fetch
 * @returns the pipeline; the caller owns its model (`pipeline.model.dispose()`).
 * @throws {@link SerializationError} when a file is missing, is not a bundle, or its weights do
 * not match `model.json`.
 * @example
 * ```ts
 * const pipeline = await loadPipelineFromUrl('./model/');
 * const { probabilities } = pipeline.model.predict(batch);
 * ```
 */
export async function loadPipelineFromUrl(baseUrl: string, fetchFn: typeof fetch = globalThis.fetch.bind(globalThis)): Promise<Pipeline> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const [manifestResponse, modelResponse] = await Promise.all([fetchOk(fetchFn, `${base}pipeline.json`), fetchOk(fetchFn, `${base}model.json`)]);
  const manifest = (await manifestResponse.json()) as PipelineManifest;
  const modelJson = (await modelResponse.json()) as tf.io.ModelJSON;
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new SerializationError(`${base}model.json is not a tfjs LayersModel file (no modelTopology or weightsManifest).`);
  }
  // weightsManifest: groups of shard paths (vdafm writes one group with one `weights.bin`)
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const shards = await Promise.all(
    modelJson.weightsManifest.flatMap((group) => group.paths).map(async (p) => (await fetchOk(fetchFn, new URL(p, new URL(base, globalThis.location?.href)).href)).arrayBuffer()),
  );
  const weightData = tf.io.CompositeArrayBuffer.join(shards);
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  const expected = weightSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (bytesPer[s.dtype] ?? Number.NaN), 0);
  if (weightData.byteLength !== expected) {
    throw new SerializationError(`The weight files of ${base} hold ${weightData.byteLength} bytes but model.json declares ${expected}: they are truncated or do not belong together.`);
  }
  const modelArtifacts: tf.io.ModelArtifacts = { modelTopology: modelJson.modelTopology, weightSpecs, weightData };
  if (modelJson.format) modelArtifacts.format = modelJson.format;
  if (modelJson.generatedBy) modelArtifacts.generatedBy = modelJson.generatedBy;
  return loadPipelineFromMemory({ manifest, modelArtifacts });
}
