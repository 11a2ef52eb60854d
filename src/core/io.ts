/**
 * Saving and loading models in memory (browser-safe), in the standard tfjs artifact format.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SerializationError } from '../errors.js';

/** A model's topology and weights as plain data: what `tf.io` calls `ModelArtifacts`. */
export type ModelArtifacts = tf.io.ModelArtifacts;

/**
 * Serialises a model into in-memory artifacts (topology JSON, weight specs, one weight buffer).
 *
 * @returns artifacts whose `weightData` is a single `ArrayBuffer`.
 * @example
 * ```ts
 * const artifacts = await saveModelToMemory(model);
 * const copy = await loadModelFromMemory(artifacts);
 * ```
 */
export async function saveModelToMemory(model: tfl.LayersModel): Promise<ModelArtifacts> {
  let saved: ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!saved) throw new SerializationError('Saving the model produced no artifacts.');
  const a = saved as ModelArtifacts;
  const weightData = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
  return { ...a, weightData };
}

/**
 * Rebuilds a model from in-memory artifacts produced by {@link saveModelToMemory} (or any
 * tfjs LayersModel artifacts). vdafm's layers are registered first.
 *
 * @throws {@link SerializationError} when the artifacts hold no topology or name an unknown layer class.
 * @example
 * ```ts
 * const model = await loadModelFromMemory(artifacts);
 * ```
 */
export async function loadModelFromMemory(artifacts: ModelArtifacts): Promise<tfl.LayersModel> {
  if (artifacts == null || artifacts.modelTopology == null) {
    throw new SerializationError('The artifacts hold no modelTopology: they are not a saved LayersModel.');
  }
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SerializationError(
      `Loading the model failed: ${message}. If it names an unknown class, import the package (or module) that defines it before loading.`,
      { cause: error },
    );
  }
}
