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
