/**
 * A cohort in memory as the demo and the study train on it: per patient the image on the
 * model's grid, the clinical row, the report text, the 0/1 outcome, the id and the manifest's
 * split. Built from a cohort of your own loaded from its manifest ({@link loadedCohortData}) or
 * from the synthetic cohort ({@link syntheticCohortData}); both paths then run the same code, so
 * the synthetic cohort written to disk and loaded back trains exactly as it does in memory.
 *
 * @packageDocumentation
 */
import type { ClinicalRow } from '../data/clinical.js';
import type { SyntheticCohort } from '../data/cohort.js';
import type { GreyImage } from '../data/render.js';
import { splitCohort } from '../data/split.js';
import type { ColumnSpec } from '../encoders/tabular/preprocessor.js';
import { InvalidArgumentError } from '../errors.js';
import { cohortInputs } from '../node/cohort/cohort-inputs.js';
import type { LoadedCohort } from '../node/cohort/load.js';
import { sliceMontage } from '../node/cohort/reports.js';
import { digest, type PatientsWithReports, rawInputs } from '../study/data.js';
import type { RawTriModalInputs } from '../models/data.js';

/** A model input modality. */
export type Modality = 'image' | 'text' | 'clinical';

/** A cohort in memory (see the module's description). */
export interface CohortData {
  /** What the patients are, in words (the manifest's path, or the synthetic cohort's seed). */
  readonly source: string;
  /** Patient ids, in order. */
  readonly ids: readonly string[];
  /** Images on the model's grid, patient-major (`n · prod(imageShape)` values). */
  readonly images: Float32Array;
  /** One image's shape, e.g. `[32, 32, 8]` (2D layout: H, W, S·Q). */
  readonly imageShape: readonly number[];
  /** Sequence names, in channel order. */
  readonly sequences: readonly string[];
  /** Clinical rows (missing cells null). */
  readonly rows: readonly ClinicalRow[];
  /** The clinical columns, for `TabularPreprocessor`. */
  readonly columns: readonly ColumnSpec[];
  /** Report texts (null: no report). */
  readonly texts: ReadonlyArray<string | null>;
  /** Outcome, 1 for the positive class (e.g. mRS ≥ 3). */
  readonly labels: Uint8Array;
  /** The manifest's split of each patient (null: none given). */
  readonly split: ReadonlyArray<'train' | 'val' | 'test' | null>;
  /** The positive class in words, e.g. `'mrs90 ≥ 3'`. */
  readonly outcome: string;
}

/** The modalities a cohort offers: image and clinical always, text when any patient has a report. */
export function cohortModalities(data: CohortData): Set<Modality> {
  return new Set<Modality>(['image', 'clinical', ...(data.texts.some((t) => t !== null) ? ['text' as const] : [])]);
}

/**
 * A synthetic cohort with its reports as {@link CohortData} (no split: the callers split it).
 *
 * @param texts - one report (or null) per patient.
 * @throws `InvalidArgumentError` (argument `texts`) unless there is one per patient.
 */
export function syntheticCohortData(cohort: SyntheticCohort, texts: ReadonlyArray<string | null>): CohortData {
  const n = cohort.patients.length;
  if (texts.length !== n) throw new InvalidArgumentError({ argument: 'texts', message: `texts must hold one report (or null) per patient (${n}).`, received: texts.length });
  return {
    source: `the synthetic cohort (seed ${cohort.options.seed}, ${cohort.options.scenario ?? 'default'} scenario)`,
    ids: cohort.patients.map((p) => p.id),
    images: cohort.images,
    imageShape: [...cohort.sampleShape],
    sequences: ['dwi', 'adc'],
    rows: cohort.rows,
    columns: cohort.schema,
    texts: [...texts],
    labels: Uint8Array.from(cohort.poor),
    split: new Array(n).fill(null),
    outcome: 'mRS ≥ 3',
  };
}

/**
 * A loaded cohort with its reports as {@link CohortData}: every valid patient's image (read into
 * memory), clinical row, report, 0/1 label and split.
 *
 * @param texts - one report (or null) per patient of `cohort.patients` (e.g. `cohortReports(cohort).texts`).
 * @throws `InvalidArgumentError` (argument `cohort`) for a cohort without image sequences or
 *   clinical columns (the demo and the study need both), (argument `texts`) for a wrong count.
 */
export async function loadedCohortData(cohort: LoadedCohort, texts: ReadonlyArray<string | null>): Promise<CohortData> {
  if (!cohort.imageShape || cohort.columns.length === 0) {
    throw new InvalidArgumentError({
      argument: 'cohort',
      message: 'the demo and the study need image sequences and at least one clinical column in the schema.',
      received: { sequences: cohort.sequences.length, columns: cohort.columns.length },
    });
  }
  if (texts.length !== cohort.patients.length) {
    throw new InvalidArgumentError({ argument: 'texts', message: `texts must hold one report (or null) per patient (${cohort.patients.length}).`, received: texts.length });
  }
  const raw = await cohortInputs(cohort, { modalities: ['image'] });
  const label = cohort.schema.label;
  return {
    source: cohort.manifest,
    ids: cohort.patients.map((p) => p.id),
    images: raw.images instanceof Float32Array ? raw.images : Float32Array.from(raw.images!),
    imageShape: [...cohort.imageShape],
    sequences: [...cohort.sequences],
    rows: cohort.patients.map((p) => p.clinical),
    columns: cohort.columns,
    texts: [...texts],
    labels: Uint8Array.from(cohort.patients, (p) => p.label),
    split: cohort.patients.map((p) => p.split),
    outcome: label.type === 'ordinal' ? `${label.column} ≥ ${label.positiveAtLeast}` : `${label.column} = ${JSON.stringify(label.values[1])}`,
  };
}

/**
 * Some patients of a cohort as the models read them (images copied out, reports only when the
 * models read reports).
 *
 * @param indices - patient positions.
 * @param withText - include the reports (false: the cohort's models read none).
 */
export function patientsOf(data: CohortData, indices: readonly number[], withText: boolean): PatientsWithReports {
  const per = data.imageShape.reduce((a, b) => a * b, 1);
  const images = new Float32Array(indices.length * per);
  indices.forEach((p, i) => images.set(data.images.subarray(p * per, (p + 1) * per), i * per));
  return {
    cohort: { images, sampleShape: data.imageShape, rows: indices.map((p) => data.rows[p]!) },
    texts: withText ? indices.map((p) => data.texts[p]!) : null,
    labels: Uint8Array.from(indices, (p) => data.labels[p]!),
  };
}

/** The raw model inputs of some patients (for `prepareTriModalData`). */
export function rawInputsOf(data: CohortData, indices: readonly number[], withText: boolean): RawTriModalInputs {
  return rawInputs(patientsOf(data, indices, withText));
}

/** A train / validation / test split of patient positions, and where it came from. */
export interface DemoSplit {
  readonly train: number[];
  readonly val: number[];
  readonly test: number[];
  /** `'manifest'`: the manifest's split column; `'stratified'`: seeded, outcome-stratified 60 / 20 / 20. */
  readonly source: 'manifest' | 'stratified';
}

/**
 * The split a manifest's split column names: its `test` patients; its `val` patients, or (when
 * it names none) a seeded, outcome-stratified `valShare` of the others; the others train
 * (patients marked `train` or without a split).
 */
export function manifestSplit(data: Pick<CohortData, 'labels' | 'split'>, valShare: number, seed: number): Omit<DemoSplit, 'source'> {
  const test: number[] = [];
  let val: number[] = [];
  const rest: number[] = [];
  data.split.forEach((s, i) => (s === 'test' ? test : s === 'val' ? val : rest).push(i));
  if (val.length > 0) return { train: rest, val, test };
  const inner = splitCohort({ poor: Uint8Array.from(rest, (i) => data.labels[i]!) }, { fractions: { train: 1 - valShare, val: valShare, test: 0 }, seed });
  val = inner.val.map((k) => rest[k]!);
  return { train: inner.train.map((k) => rest[k]!), val, test };
}

/**
 * The demo's split: the manifest's split when it names `test` patients ({@link manifestSplit},
 * a quarter of the training patients validating when it names no `val` patients), else a
 * seeded, outcome-stratified 60 / 20 / 20 split, as the synthetic demo's.
 */
export function demoSplit(data: CohortData, seed: number): DemoSplit {
  if (data.split.some((s) => s === 'test')) return { ...manifestSplit(data, 0.25, seed), source: 'manifest' };
  const s = splitCohort({ poor: data.labels }, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed });
  return { ...s, source: 'stratified' };
}

/**
 * A short fingerprint of a cohort's content (ids, labels, rows, reports, images): cells and
 * plans of the study carry it, so results of one cohort never mix with another's.
 */
export function cohortDigest(data: CohortData): string {
  const text = JSON.stringify({ ids: data.ids, labels: Array.from(data.labels), rows: data.rows, texts: data.texts, split: data.split, shape: data.imageShape, columns: data.columns });
  return digest(`${digest(text)}|${digest(new Uint8Array(data.images.buffer, data.images.byteOffset, data.images.byteLength))}`);
}

/**
 * A grey picture of one axial slice of a patient's first sequence (the slice with the most
 * signal), drawn under the demo's attention overlays. 2D layout `[H, W, S·Q]` or 3D `[D, H, W, Q]`.
 */
export function representativeSlice(data: CohortData, index: number): GreyImage {
  const shape = data.imageShape;
  const q = data.sequences.length;
  const is2d = shape.length === 3;
  const [h, w] = is2d ? [shape[0]!, shape[1]!] : [shape[1]!, shape[2]!];
  const slices = is2d ? shape[2]! / q : shape[0]!;
  const per = shape.reduce((a, b) => a * b, 1);
  const image = data.images.subarray(index * per, (index + 1) * per);
  const at = (s: number, i: number, j: number) => (is2d ? image[(i * w + j) * shape[2]! + s * q]! : image[((s * h + i) * w + j) * q]!);
  let best = 0;
  let bestSum = -Infinity;
  for (let s = 0; s < slices; s++) {
    let sum = 0;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) sum += at(s, i, j);
    if (sum > bestSum) (best = s), (bestSum = sum);
  }
  const slice = Float32Array.from({ length: h * w }, (_, v) => at(best, Math.floor(v / w), v % w));
  const grey = sliceMontage(slice, [h, w, 1], 1, 0);
  return { data: grey.data as Uint8Array, width: grey.width, height: grey.height };
}
