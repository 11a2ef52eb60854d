/**
 * From raw inputs (image arrays, clinical rows, report texts, labels) to the tensors a
 * {@link TriModalModel} takes.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import type { CellValue } from '../encoders/tabular/table.js';
import type { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import type { ReportFieldTargets } from '../text/field-targets.js';
import { InvalidArgumentError } from '../errors.js';
import type { TriModalBatch } from './tri-modal.js';

/** In-memory data: the batch tensors plus `labels`, first axis = samples (whoever creates them owns them). */
export type TriModalData = TriModalBatch & { labels: tf.Tensor };

/** Raw inputs of {@link prepareTriModalData}; give the modalities your model uses. */
export interface RawTriModalInputs {
  /** All images, sample-major, `n · prod(imageShape)` values. */
  images?: ArrayLike<number>;
  /** Shape of one image without the batch axis, e.g. `[32, 32, 8]`. */
  imageShape?: ReadonlyArray<number>;
  /** Clinical rows (missing cells as null/undefined/NaN). */
  rows?: ReadonlyArray<Readonly<Record<string, CellValue>>>;
  /** Report texts; `null` for a patient without a report. */
  reports?: ReadonlyArray<string | null>;
  /** Outcome labels (0/1, or class indices). */
  labels: ArrayLike<number>;
}

/** Group ids of identical keys; a missing report gets an id of its own. */
function reportGroupIds(keys: readonly string[], reports: ReadonlyArray<string | null>): Int32Array {
  const ids = new Map<string, number>();
  return Int32Array.from(keys, (k, i) => {
    if (reports[i] === null) return -1 - i;
    if (!ids.has(k)) ids.set(k, ids.size);
    return ids.get(k)!;
  });
}

/**
 * Builds the model's input tensors: images `[n, ...imageShape]`, `clinicalValues`/`clinicalMask`
 * through the fitted preprocessor, `textIds`/`textMask` through the tokenizer (a missing report
 * gets an all-zero mask, `reportGroups` ids patients whose reports state the same findings —
 * the same parsed fields with `fieldTargets`, else the same text — and with `fieldTargets` also
 * `fieldTargets`/`fieldMask`), and `labels [n]`.
 *
 * @returns tensors owned by the caller (dispose them with `tf.dispose(Object.values(data))`).
 * @throws {@link InvalidArgumentError} naming the input whose length or shape disagrees, or a
 *   modality given without its preprocessor/tokenizer.
 * @example
 * ```ts
 * const train = prepareTriModalData(
 *   { images, imageShape: [32, 32, 8], rows, reports, labels },
 *   { preprocessor, tokenizer },
 * );
 * await trainer.fit(model, train);
 * ```
 */
export function prepareTriModalData(
  inputs: RawTriModalInputs,
  tools: { preprocessor?: TabularPreprocessor; tokenizer?: WordPieceTokenizer; fieldTargets?: ReportFieldTargets } = {},
): TriModalData {
  if (inputs == null || typeof inputs !== 'object' || inputs.labels == null) {
    throw new InvalidArgumentError({ argument: 'inputs.labels', message: 'inputs.labels is required (one label per sample).', received: undefined });
  }
  const n = inputs.labels.length;
  const created: tf.Tensor[] = [];
  try {
    const data: Partial<TriModalData> = {};
    if (inputs.images !== undefined) {
      const shape = inputs.imageShape;
      if (!shape || shape.length < 2 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
        throw new InvalidArgumentError({ argument: 'inputs.imageShape', message: 'inputs.imageShape must list the positive dimensions of one image.', received: shape });
      }
      const per = shape.reduce((a, b) => a * b, 1);
      if (inputs.images.length !== n * per) {
        throw new InvalidArgumentError({
          argument: 'inputs.images',
          message: `inputs.images must hold labels.length · prod(imageShape) = ${n} · ${per} values.`,
          received: inputs.images.length,
        });
      }
      data.image = tf.tensor(Float32Array.from(inputs.images), [n, ...shape]);
      created.push(data.image);
    }
    if (inputs.rows !== undefined) {
      if (!tools.preprocessor) {
        throw new InvalidArgumentError({ argument: 'tools.preprocessor', message: 'Clinical rows need the fitted TabularPreprocessor.', received: undefined });
      }
      if (inputs.rows.length !== n) {
        throw new InvalidArgumentError({ argument: 'inputs.rows', message: `inputs.rows must hold ${n} rows (one per label).`, received: inputs.rows.length });
      }
      const { values, mask } = tools.preprocessor.transform(inputs.rows as Array<Record<string, CellValue>>);
      created.push(values, mask);
      data.clinicalValues = values;
      data.clinicalMask = mask;
    }
    if (inputs.reports !== undefined) {
      if (!tools.tokenizer) {
        throw new InvalidArgumentError({ argument: 'tools.tokenizer', message: 'Reports need the WordPieceTokenizer.', received: undefined });
      }
      if (inputs.reports.length !== n) {
        throw new InvalidArgumentError({ argument: 'inputs.reports', message: `inputs.reports must hold ${n} reports (null for a missing one).`, received: inputs.reports.length });
      }
      const { ids, mask } = tools.tokenizer.encodeToTensors(inputs.reports as Array<string | null>);
      created.push(ids, mask);
      data.textIds = ids;
      data.textMask = mask;
      let findings: string[] = inputs.reports.map((r) => r ?? '');
      if (tools.fieldTargets) {
        const t = tools.fieldTargets.transform(inputs.reports);
        data.fieldTargets = tf.tensor2d(t.targets, [n, t.width]);
        data.fieldMask = tf.tensor2d(t.mask, [n, t.groups]);
        created.push(data.fieldTargets, data.fieldMask);
        // identical findings = identical categorical and word targets (numbers aside)
        const cols = tools.fieldTargets.groups.filter((g) => g.kind !== 'regression').flatMap((g) => g.labels.map((_, k) => g.offset + k));
        findings = inputs.reports.map((r, i) => (r === null ? '' : cols.map((c) => t.targets[i * t.width + c]).join('')));
      }
      data.reportGroups = tf.tensor1d(reportGroupIds(findings, inputs.reports), 'int32');
      created.push(data.reportGroups);
    }
    data.labels = tf.tensor1d(Float32Array.from(inputs.labels));
    return data as TriModalData;
  } catch (error) {
    tf.dispose(created);
    throw error;
  }
}
