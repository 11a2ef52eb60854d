/**
 * A loaded cohort as model inputs: the raw inputs of `prepareTriModalData` for some patients, in
 * memory ({@link cohortInputs}), or streamed as training batches ({@link cohortBatches}).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../../core/random.js';
import type { TabularPreprocessor } from '../../encoders/tabular/preprocessor.js';
import type { WordPieceTokenizer } from '../../encoders/text/tokenizer.js';
import { InvalidArgumentError } from '../../errors.js';
import { prepareTriModalData, type RawTriModalInputs, type TriModalData } from '../../models/data.js';
import type { CohortPatient, LoadedCohort } from './load.js';
import { pool } from './pool.js';

/** Which patients: all, the ones of a split, or an explicit list. */
export type PatientSelection = readonly CohortPatient[] | 'train' | 'val' | 'test' | 'all';

function select(cohort: LoadedCohort, which: PatientSelection = 'all'): readonly CohortPatient[] {
  if (which === 'all') return cohort.patients;
  if (which === 'train' || which === 'val' || which === 'test') return cohort.patients.filter((p) => p.split === which);
  if (!Array.isArray(which)) throw new InvalidArgumentError({ argument: 'patients', message: "patients must be 'all', 'train', 'val', 'test' or an array of the cohort's patients.", received: which });
  return which;
}

/** A modality of the tri-modal model's inputs. */
export type CohortModality = 'image' | 'clinical' | 'text';

/** Options of {@link cohortInputs}. */
export interface CohortInputsOptions {
  /** Which patients. @defaultValue 'all' */
  patients?: PatientSelection;
  /**
   * Which inputs to include.
   * @defaultValue every modality the cohort has (image with sequences, clinical with clinical columns, text with a report column)
   */
  modalities?: readonly CohortModality[];
  /**
   * `'binary'`: the positive class (0/1, for a binary head). `'index'`: the index of the label
   * value in the schema (e.g. mRS 0–6, for an ordinal head).
   * @defaultValue 'binary'
   */
  labels?: 'binary' | 'index';
}

/**
 * The raw inputs of `prepareTriModalData` for some patients, in memory: images concatenated
 * (`n · prod(imageShape)`), clinical rows, report texts (null when missing), as `modalities`
 * says, and labels.
 *
 * @throws `InvalidArgumentError` (argument `modalities`) for a modality the cohort lacks.
 * @example
 * ```ts
 * const raw = await cohortInputs(cohort, { patients: 'train' });
 * const data = prepareTriModalData(raw, { preprocessor, tokenizer });
 * ```
 */
export async function cohortInputs(cohort: LoadedCohort, options: CohortInputsOptions = {}): Promise<RawTriModalInputs> {
  const patients = select(cohort, options.patients);
  const labelOf = labelGetter(options.labels);
  const modalities = checkModalities(cohort, options.modalities ?? cohortModalities(cohort));
  return rawInputs(cohort, patients, modalities, labelOf);
}

/** The raw inputs of some patients: labels, and the modalities asked for (images read 4 at a time). */
async function rawInputs(cohort: LoadedCohort, patients: readonly CohortPatient[], modalities: ReadonlySet<CohortModality>, labelOf: (p: CohortPatient) => number): Promise<RawTriModalInputs> {
  const raw: { -readonly [K in keyof RawTriModalInputs]: RawTriModalInputs[K] } = { labels: Float32Array.from(patients, labelOf) };
  if (modalities.has('clinical')) raw.rows = patients.map((p) => p.clinical);
  if (modalities.has('text')) raw.reports = patients.map((p) => p.report);
  if (modalities.has('image')) {
    const per = cohort.imageShape!.reduce((x, y) => x * y, 1);
    const images = new Float32Array(per * patients.length);
    const arrays = await pool(patients, 4, (p) => cohort.readImage(p));
    arrays.forEach((a, i) => images.set(a, i * per));
    raw.images = images;
    raw.imageShape = cohort.imageShape!;
  }
  return raw;
}

/** The modalities a cohort has: image (sequences), clinical (clinical columns), text (a report column). */
function cohortModalities(cohort: LoadedCohort): CohortModality[] {
  return [...(cohort.imageShape ? ['image' as const] : []), ...(cohort.schema.columns.length ? ['clinical' as const] : []), ...(cohort.schema.report ? ['text' as const] : [])];
}

function checkModalities(cohort: LoadedCohort, modalities: readonly CohortModality[]): Set<CohortModality> {
  const has = new Set(cohortModalities(cohort));
  if (!Array.isArray(modalities) || modalities.some((m) => !has.has(m))) {
    throw new InvalidArgumentError({ argument: 'modalities', message: `modalities must be a list of the cohort's modalities (${[...has].join(', ') || 'none'}).`, received: modalities });
  }
  return new Set(modalities);
}

function labelGetter(labels: 'binary' | 'index' = 'binary'): (p: CohortPatient) => number {
  if (labels !== 'binary' && labels !== 'index') throw new InvalidArgumentError({ argument: 'labels', message: "labels must be 'binary' or 'index'.", received: labels });
  return labels === 'binary' ? (p) => p.label : (p) => p.labelIndex;
}

/** Options of {@link cohortBatches}. */
export interface CohortBatchesOptions extends CohortInputsOptions {
  /** Patients per batch (the last batch may be smaller). @defaultValue 16 */
  batchSize?: number;
  /** Shuffle the patients at every epoch (seeded: epoch e uses seed + e). @defaultValue true */
  shuffle?: boolean;
  /** @defaultValue 0 */
  seed?: number;
  /** The fitted preprocessor, needed for the clinical modality (`clinicalValues` / `clinicalMask`). */
  preprocessor?: TabularPreprocessor;
  /** The tokenizer, needed for the text modality (`textIds` / `textMask`, an all-zero mask for a missing report). */
  tokenizer?: WordPieceTokenizer;
  /**
   * Which inputs the batches hold.
   * @defaultValue the image when the cohort has one, clinical when a preprocessor is given, text when a tokenizer is given
   */
  modalities?: readonly CohortModality[];
}

/**
 * Streams a cohort as training batches, patient images read one batch at a time (from memory,
 * the cache, or the NIfTI files), so that a cohort larger than memory trains. Returns a
 * function: each call is one epoch (an async iterable of `TriModalData`, which is what
 * `Trainer.fit` takes as `TrainingData`). The next batch is read while the current one trains.
 * Each batch's tensors are disposed when the next batch is requested or the epoch ends: copy
 * what you keep.
 *
 * @throws `InvalidArgumentError` (argument `batchSize`, `modalities`, `preprocessor` or
 *   `tokenizer`) for a bad size, a modality the cohort lacks, or clinical / text without its tool.
 * @example
 * ```ts
 * const train = cohortBatches(cohort, { patients: 'train', batchSize: 8, preprocessor, tokenizer });
 * await trainer.fit(model, train);
 * ```
 */
export function cohortBatches(cohort: LoadedCohort, options: CohortBatchesOptions = {}): () => AsyncIterable<TriModalData> {
  const patients = select(cohort, options.patients);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError({ argument: 'batchSize', message: 'batchSize must be a positive integer.', received: batchSize });
  const labelOf = labelGetter(options.labels);
  const seed = options.seed ?? 0;
  const modalities = checkModalities(
    cohort,
    options.modalities ?? [...(cohort.imageShape ? ['image' as const] : []), ...(options.preprocessor ? ['clinical' as const] : []), ...(options.tokenizer ? ['text' as const] : [])],
  );
  for (const [m, tool, name] of [['clinical', options.preprocessor, 'preprocessor'], ['text', options.tokenizer, 'tokenizer']] as const) {
    if (modalities.has(m) && !tool) throw new InvalidArgumentError({ argument: name, message: `the ${m} modality needs the fitted ${name}.`, received: undefined });
  }
  let epoch = 0;
  const tools = { ...(options.preprocessor ? { preprocessor: options.preprocessor } : {}), ...(options.tokenizer ? { tokenizer: options.tokenizer } : {}) };
  const readBatch = (batch: readonly CohortPatient[]) => rawInputs(cohort, batch, modalities, labelOf);
  return () => {
    const order = options.shuffle === false ? [...patients] : new Random(seed + epoch).shuffle(patients);
    epoch++;
    const batches: CohortPatient[][] = [];
    for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
    return {
      async *[Symbol.asyncIterator]() {
        // the next batch is read while the current one trains; a failed read is raised when its turn comes
        const start = (b: number) => {
          const p = readBatch(batches[b]!);
          p.catch(() => undefined);
          return p;
        };
        let next = batches.length ? start(0) : null;
        let current: TriModalData | null = null;
        try {
          for (let b = 0; b < batches.length; b++) {
            const raw = await next!;
            next = b + 1 < batches.length ? start(b + 1) : null;
            if (current) tf.dispose(Object.values(current));
            current = prepareTriModalData(raw, tools);
            yield current;
          }
        } finally {
          if (current) tf.dispose(Object.values(current));
          await next?.catch(() => undefined);
        }
      },
    };
  };
}
