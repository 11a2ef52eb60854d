/**
 * Multi-class metrics where they extend naturally from the binary ones: macro one-vs-rest
 * ROC-AUC, accuracy, balanced accuracy and the confusion matrix for class indices.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { assertPositiveInt } from '../core/validate.js';
import { rocAucUnchecked } from './ranking.js';
import { checkOptions, toScores } from './validate.js';

function toClassIndices(values: unknown, argument: string, numClasses?: number): Int32Array {
  const raw = toScores(values, (values as ArrayLike<number> | null | undefined)?.length ?? 0, { argument });
  if (raw.length === 0) {
    throw new InvalidArgumentError({ argument, message: `${argument} must not be empty.`, received: [] });
  }
  const out = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      throw new InvalidArgumentError({
        argument,
        message:
          `${argument} must be class indices (integers in [0, ${numClasses === undefined ? 'numClasses' : numClasses})); ` +
          `${argument}[${i}] is not.`,
        received: v,
      });
    }
    out[i] = v;
  }
  return out;
}

function toScoreMatrix(scores: unknown, n: number): Float64Array[] {
  if (scores == null || typeof (scores as { length?: unknown }).length !== 'number') {
    throw new InvalidArgumentError({
      argument: 'scores',
      message: 'scores must be an array of per-sample score rows ([n, numClasses]).',
      received: scores,
      fix: 'Use `await probs.array()` on a [n, numClasses] tensor.',
    });
  }
  const rows = scores as ArrayLike<unknown>;
  if (rows.length !== n) {
    throw new ShapeError({
      argument: 'scores',
      expected: `[${n}, numClasses]`,
      received: [rows.length, null],
      message: `scores must have one row per label (labels.length=${n}).`,
    });
  }
  const k = (rows[0] as ArrayLike<number> | undefined)?.length;
  if (typeof k !== 'number' || k < 2) {
    throw new InvalidArgumentError({
      argument: 'scores',
      message: 'scores must have rows of at least 2 class scores.',
      received: typeof k === 'number' ? `row length ${k}` : rows[0],
    });
  }
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows[i] as ArrayLike<number> | undefined;
    if (row?.length !== k) {
      throw new ShapeError({
        argument: 'scores',
        expected: `[${n}, ${k}]`,
        received: [n, row?.length ?? null],
        message: `scores must be a [n, numClasses] matrix; scores[${i}] has length ${row?.length ?? 'none'}, not ${k}.`,
      });
    }
    out.push(toScores(row, k, { argument: `scores[${i}]`, against: 'scores[0]' }));
  }
  return out;
}

/** One-vs-rest ROC-AUC of every class and their unweighted mean. */
export interface OneVsRestAuc {
  /** Macro average: the unweighted mean of `perClass`. */
  macro: number;
  /** AUC of class c against all others, scored by column c. */
  perClass: Float64Array;
}

/**
 * Macro one-vs-rest ROC-AUC for K ≥ 2 classes: for each class c, the binary {@link rocAuc} of
 * "label = c" against column c of the scores, then their unweighted mean. Equals
 * scikit-learn's `roc_auc_score(y, P, multi_class='ovr', average='macro')` (which additionally
 * requires rows summing to 1; vdafm does not, only the order within each column matters).
 *
 * @param labels - class indices in [0, K), length n; every class must occur.
 * @param scores - n rows of K scores (e.g. softmax probabilities), `[n, K]`.
 * @throws {@link InvalidArgumentError} naming `labels` (not class indices, or a class that never
 * occurs, whose one-vs-rest AUC is undefined) or `scores` / `scores[i]` (bad values, rows < 2).
 * @throws {@link ShapeError} naming `scores` when it is not `[n, K]`.
 * @example
 * ```ts
 * const auc = rocAucOneVsRest([0, 1, 2, 1], [[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3]]);
 * auc.macro; // 1
 * ```
 */
export function rocAucOneVsRest(labels: ArrayLike<number>, scores: ArrayLike<ArrayLike<number>>): OneVsRestAuc {
  const y = toClassIndices(labels, 'labels');
  const rows = toScoreMatrix(scores, y.length);
  const k = rows[0]!.length;
  const n = y.length;
  const perClass = new Float64Array(k);
  const binary = new Uint8Array(n);
  const column = new Float64Array(n);
  for (let c = 0; c < k; c++) {
    let positives = 0;
    for (let i = 0; i < n; i++) {
      const yi = y[i]!;
      if (yi >= k) {
        throw new InvalidArgumentError({
          argument: 'labels',
          message: `labels must be class indices in [0, ${k}) (scores have ${k} columns); labels[${i}] is not.`,
          received: yi,
        });
      }
      binary[i] = yi === c ? 1 : 0;
      positives += binary[i]!;
      column[i] = rows[i]![c]!;
    }
    if (positives === 0 || positives === n) {
      throw new InvalidArgumentError({
        argument: 'labels',
        message: `One-vs-rest AUC of class ${c} is undefined: ${positives === 0 ? 'it never occurs' : 'it is the only class'} in labels.`,
        received: `${positives} of ${n} samples in class ${c}`,
        fix: 'Evaluate on a sample where every class occurs, or drop the empty score column.',
      });
    }
    perClass[c] = rocAucUnchecked(binary, column);
  }
  let sum = 0;
  for (let c = 0; c < k; c++) sum += perClass[c]!;
  return { macro: sum / k, perClass };
}

/**
 * The predicted class of each row: the index of its largest score (the first on ties, as numpy's
 * `argmax`).
 *
 * @param scores - n rows of K ≥ 2 finite scores.
 * @throws {@link InvalidArgumentError} / {@link ShapeError} naming `scores`.
 * @example
 * ```ts
 * argmaxRows([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]]); // Int32Array [1, 0]
 * ```
 */
export function argmaxRows(scores: ArrayLike<ArrayLike<number>>): Int32Array {
  const n = (scores as ArrayLike<unknown> | null | undefined)?.length ?? 0;
  const rows = toScoreMatrix(scores, n);
  const out = new Int32Array(n);
  rows.forEach((row, i) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if (row[c]! > row[best]!) best = c;
    out[i] = best;
  });
  return out;
}

function maxOf(values: Int32Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > m) m = values[i]!;
  return m;
}

function pair(labels: unknown, predictions: unknown): { y: Int32Array; p: Int32Array } {
  const y = toClassIndices(labels, 'labels');
  const p = toClassIndices(predictions, 'predictions');
  if (p.length !== y.length) {
    throw new ShapeError({
      argument: 'predictions',
      expected: `[${y.length}]`,
      received: [p.length],
      message: `predictions must have one entry per label (labels.length=${y.length}).`,
    });
  }
  return { y, p };
}

/**
 * Multi-class accuracy: the fraction of samples whose predicted class index equals the label.
 *
 * @param labels - class indices, length n.
 * @param predictions - predicted class indices (e.g. from {@link argmaxRows}), length n.
 * @throws {@link InvalidArgumentError} naming `labels` or `predictions` (not non-negative integers).
 * @throws {@link ShapeError} naming `predictions` on a length mismatch.
 * @example
 * ```ts
 * multiclassAccuracy([0, 1, 2, 2], [0, 2, 2, 2]); // 0.75
 * ```
 */
export function multiclassAccuracy(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  const { y, p } = pair(labels, predictions);
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === p[i]) correct++;
  return correct / y.length;
}

/**
 * Multi-class balanced accuracy: the mean, over the classes that occur in `labels`, of each
 * class's recall (as scikit-learn's `balanced_accuracy_score`; a class that is only predicted
 * never counts).
 *
 * @param labels - class indices, length n.
 * @param predictions - predicted class indices, length n.
 * @throws as {@link multiclassAccuracy}.
 * @example
 * ```ts
 * multiclassBalancedAccuracy([0, 0, 0, 1], [0, 0, 0, 0]); // (1 + 0) / 2
 * ```
 */
export function multiclassBalancedAccuracy(labels: ArrayLike<number>, predictions: ArrayLike<number>): number {
  const { y, p } = pair(labels, predictions);
  const k = maxOf(y) + 1;
  const total = new Float64Array(k);
  const hit = new Float64Array(k);
  for (let i = 0; i < y.length; i++) {
    total[y[i]!]! += 1;
    if (y[i] === p[i]) hit[y[i]!]! += 1;
  }
  let sum = 0;
  let classes = 0;
  for (let c = 0; c < k; c++) {
    if (total[c]! > 0) {
      sum += hit[c]! / total[c]!;
      classes++;
    }
  }
  return sum / classes;
}

/** Options of {@link multiclassConfusionMatrix}. */
export interface MulticlassConfusionOptions {
  /** Number of classes K (the matrix is K×K). @defaultValue 1 + the largest index in labels or predictions */
  numClasses?: number;
}

/**
 * Multi-class confusion matrix: `matrix[true][predicted]` counts, K×K.
 *
 * @param labels - class indices, length n.
 * @param predictions - predicted class indices, length n.
 * @param options - {@link MulticlassConfusionOptions}.
 * @throws {@link InvalidArgumentError} naming `labels`, `predictions` (an index ≥ numClasses) or
 * `options.numClasses`.
 * @throws {@link ShapeError} naming `predictions` on a length mismatch.
 * @example
 * ```ts
 * multiclassConfusionMatrix([0, 1, 2, 2], [0, 2, 2, 2]); // [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
 * ```
 */
export function multiclassConfusionMatrix(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  options?: MulticlassConfusionOptions,
): number[][] {
  const opts = checkOptions(options);
  if (opts.numClasses !== undefined) assertPositiveInt(opts.numClasses, 'options.numClasses');
  const k0 = opts.numClasses as number | undefined;
  const y = toClassIndices(labels, 'labels', k0);
  const p = toClassIndices(predictions, 'predictions', k0);
  const { y: yy, p: pp } = pair(y, p);
  const k = k0 ?? Math.max(maxOf(yy), maxOf(pp)) + 1;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yy.length; i++) matrix[yy[i]!]![pp[i]!]! += 1;
  return matrix;
}
