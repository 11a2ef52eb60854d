/**
 * A fitted, serialisable preprocessor for clinical tables: standardised numeric columns,
 * categorical vocabularies with an "unseen" index, binary flags, and a missing-value mask.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertOneOf, assertPositiveInt } from '../../core/validate.js';
import { InvalidArgumentError, SerializationError } from '../../errors.js';
import { binaryCell, categoricalCell, numericCell, readTable, type TableInput } from './table.js';

/** Kind of a clinical column. */
export type ColumnType = 'numeric' | 'categorical' | 'binary';

/** One declared column of the table. */
export interface ColumnSpec {
  /** Column name (the key in row objects). */
  name: string;
  /** `'numeric'` (standardised), `'categorical'` (vocabulary index) or `'binary'` (0/1). */
  type: ColumnType;
  /**
   * Categorical only: a fixed vocabulary, used instead of the categories seen by `fit`
   * (keeps indices stable across cohorts).
   * @defaultValue undefined (learned by `fit`)
   */
  categories?: ReadonlyArray<string | number | boolean>;
}

/** Options of {@link TabularPreprocessor}. */
export interface TabularPreprocessorOptions {
  /** The schema: every column the table may hold. Required, at least one. */
  columns: ReadonlyArray<ColumnSpec>;
  /**
   * What to do with a column that is not in the schema: throw, or ignore it.
   * @defaultValue 'error'
   */
  unknownColumns?: 'error' | 'ignore';
  /**
   * Categories seen fewer times than this during `fit` map to the unseen index.
   * @defaultValue 1
   */
  minCategoryFrequency?: number;
}

/** What the encoders need to know about the transformed features. */
export interface TabularFeatureSpec {
  /** Number of numeric and binary features (the first columns of `values`). */
  numScalar: number;
  /** Vocabulary size of each categorical feature (unseen index included), in column order after the scalar ones. */
  cardinalities: number[];
  /** Feature names in `values` column order (for importances and plots). */
  names?: string[];
}

/** Serialised state of a {@link TabularPreprocessor} (see {@link TabularPreprocessor.toJSON}). */
export interface TabularPreprocessorJSON {
  format: 'vdafm-tabular-preprocessor';
  version: 1;
  columns: Array<{ name: string; type: ColumnType; categories?: Array<string | number | boolean> }>;
  unknownColumns: 'error' | 'ignore';
  minCategoryFrequency: number;
  fitted: boolean;
  /** Per column, in schema order: mean/std for numeric, the category keys for categorical, {} for binary. */
  state: Array<{ mean?: number; std?: number; categories?: string[] }>;
}

interface NumericState {
  mean: number;
  std: number;
}

/** Index of unseen (and missing) categories. Known categories are 1..K. */
export const UNSEEN_CATEGORY_INDEX = 0;

const COLUMN_TYPES = ['numeric', 'categorical', 'binary'] as const;

/**
 * Preprocesses a clinical table for vdafm's tabular encoders.
 *
 * Output layout: `values` and `mask`, both `[batch, features]` float32, with the features in
 * this order: the numeric columns, then the binary columns, then the categorical columns (each
 * group in schema order; {@link featureNames} lists it).
 * - numeric: `(x − mean) / std` with the mean and population std of `fit` (a constant column
 *   gets std 1: no division by zero);
 * - binary: 0 or 1 (`true`/`false` or `0`/`1`);
 * - categorical: the category's index 1..K in the fitted vocabulary (sorted), 0 for a category
 *   never seen in `fit` ({@link UNSEEN_CATEGORY_INDEX});
 * - missing (`null`, `undefined`, `NaN`, or an absent key): value 0 and mask 0; mask is 1 where
 *   a value is present.
 *
 * Wrong types (a string in a numeric column, `2` in a binary one, an object anywhere), infinite
 * numbers and unknown columns throw {@link InvalidArgumentError} naming the cell, e.g.
 * `rows[3].age` (or `rows.age[3]` for column arrays).
 *
 * `fit` does not depend on the order of the rows, and `transform` works row by row, so
 * permuting the rows permutes the output rows and changes nothing else.
 *
 * @example
 * ```ts
 * import { TabularPreprocessor } from 'vdafm';
 *
 * const pre = new TabularPreprocessor({
 *   columns: [
 *     { name: 'age', type: 'numeric' },
 *     { name: 'nihss', type: 'numeric' },
 *     { name: 'sex', type: 'categorical' },
 *     { name: 'thrombolysis', type: 'binary' },
 *   ],
 * });
 * pre.fit([
 *   { age: 71, nihss: 12, sex: 'F', thrombolysis: true },
 *   { age: 64, nihss: null, sex: 'M', thrombolysis: false },
 * ]);
 * const { values, mask } = pre.transform([{ age: 80, nihss: 4, sex: 'X', thrombolysis: 1 }]);
 * pre.featureNames; // ['age', 'nihss', 'thrombolysis', 'sex']
 * values.print();   // [[3.5714, -8, 1, 0]]  (age (80−67.5)/3.5; nihss (4−12)/1: one value → std 1; sex 'X' unseen → 0)
 * mask.print();     // [[1, 1, 1, 1]]
 * ```
 */
export class TabularPreprocessor {
  /** The declared schema, in declaration order. */
  readonly columns: ReadonlyArray<ColumnSpec>;
  readonly unknownColumns: 'error' | 'ignore';
  readonly minCategoryFrequency: number;
  private readonly order: number[];
  private readonly known: Set<string>;
  private numeric = new Map<string, NumericState>();
  private categories = new Map<string, Map<string, number>>();
  private fitted = false;

  /**
   * @throws {@link InvalidArgumentError} for an empty or malformed schema (`columns[i].type`,
   *   duplicate names, ...) or bad options.
   */
  constructor(options: TabularPreprocessorOptions) {
    if (options == null || typeof options !== 'object') {
      throw new InvalidArgumentError({ argument: 'options', message: 'TabularPreprocessor needs an options object with columns.', received: options });
    }
    if (!Array.isArray(options.columns) || options.columns.length === 0) {
      throw new InvalidArgumentError({
        argument: 'columns',
        message: 'columns must be a non-empty array of {name, type}.',
        received: options.columns,
      });
    }
    const seen = new Set<string>();
    options.columns.forEach((c, i) => {
      if (c == null || typeof c.name !== 'string' || c.name.length === 0) {
        throw new InvalidArgumentError({ argument: `columns[${i}].name`, message: 'Each column needs a non-empty string name.', received: c?.name });
      }
      assertOneOf(c.type, COLUMN_TYPES, `columns[${i}].type`);
      if (seen.has(c.name)) {
        throw new InvalidArgumentError({ argument: `columns[${i}].name`, message: 'Column names must be unique.', received: c.name });
      }
      seen.add(c.name);
      if (c.categories !== undefined) {
        if (c.type !== 'categorical') {
          throw new InvalidArgumentError({ argument: `columns[${i}].categories`, message: 'Only categorical columns take categories.', received: c.categories });
        }
        if (!Array.isArray(c.categories) || (c.categories as ReadonlyArray<unknown>).some((v: unknown) => !['string', 'number', 'boolean'].includes(typeof v))) {
          throw new InvalidArgumentError({
            argument: `columns[${i}].categories`,
            message: 'categories must be an array of strings, numbers or booleans.',
            received: c.categories,
          });
        }
      }
    });
    const unknown = options.unknownColumns ?? 'error';
    assertOneOf(unknown, ['error', 'ignore'] as const, 'unknownColumns');
    const minFreq = options.minCategoryFrequency ?? 1;
    assertPositiveInt(minFreq, 'minCategoryFrequency');
    this.columns = options.columns.map((c) => ({ ...c, ...(c.categories ? { categories: [...c.categories] } : {}) }));
    this.unknownColumns = unknown;
    this.minCategoryFrequency = minFreq;
    const idx = (t: ColumnType) => this.columns.map((c, i) => (c.type === t ? i : -1)).filter((i) => i >= 0);
    this.order = [...idx('numeric'), ...idx('binary'), ...idx('categorical')];
    this.known = seen;
  }

  /** True once `fit` has run (or the state was loaded). */
  get isFitted(): boolean {
    return this.fitted;
  }

  /** Number of features (= columns). */
  get numFeatures(): number {
    return this.columns.length;
  }

  /** Feature names in the column order of `values` and `mask`. */
  get featureNames(): string[] {
    return this.order.map((i) => this.columns[i]!.name);
  }

  /** Feature types in the column order of `values` and `mask`. */
  get featureTypes(): ColumnType[] {
    return this.order.map((i) => this.columns[i]!.type);
  }

  /**
   * What the encoders need: number of scalar (numeric + binary) features and the vocabulary
   * size (K + 1, the unseen index included) of each categorical feature.
   *
   * @throws {@link InvalidArgumentError} before `fit` when a categorical column has no fixed categories.
   */
  featureSpec(): TabularFeatureSpec {
    const cats = this.order.filter((i) => this.columns[i]!.type === 'categorical');
    return {
      numScalar: this.order.length - cats.length,
      cardinalities: cats.map((i) => {
        const c = this.columns[i]!;
        const vocab = this.categories.get(c.name);
        if (!vocab) {
          if (c.categories) return new Set(c.categories.map(String)).size + 1;
          throw new InvalidArgumentError({
            argument: 'this',
            message: `Column '${c.name}' has no categories yet.`,
            received: 'unfitted preprocessor',
            fix: 'Call fit() first, or declare its categories in the schema.',
          });
        }
        return vocab.size + 1;
      }),
      names: this.featureNames,
    };
  }

  /**
   * Learns the means and standard deviations of the numeric columns and the vocabularies of the
   * categorical ones (missing values are ignored). Returns `this`.
   *
   * @throws {@link InvalidArgumentError} for a malformed table, a wrong type or an unknown column (cell named).
   */
  fit(rows: TableInput): this {
    const table = readTable(rows, this);
    for (const c of this.columns) {
      const cells = table.column(c.name);
      if (c.type === 'numeric') {
        const xs: number[] = [];
        cells.forEach((v, r) => {
          const x = numericCell(v, table.where(c.name, r));
          if (x !== null) xs.push(x);
        });
        xs.sort((a, b) => a - b); // order-independent sums
        let mean = 0;
        let std = 1;
        if (xs.length > 0) {
          mean = xs.reduce((s, x) => s + x, 0) / xs.length;
          const dev = xs.map((x) => (x - mean) * (x - mean)).sort((a, b) => a - b);
          const variance = dev.reduce((s, d) => s + d, 0) / xs.length;
          std = variance > 0 && Number.isFinite(variance) ? Math.sqrt(variance) : 1;
        }
        this.numeric.set(c.name, { mean, std });
      } else if (c.type === 'categorical') {
        let keys: string[];
        if (c.categories) {
          cells.forEach((v, r) => categoricalCell(v, table.where(c.name, r)));
          keys = [...new Set(c.categories.map(String))].sort();
        } else {
          const counts = new Map<string, number>();
          cells.forEach((v, r) => {
            const k = categoricalCell(v, table.where(c.name, r));
            if (k !== null) counts.set(k, (counts.get(k) ?? 0) + 1);
          });
          keys = [...counts.entries()].filter(([, n]) => n >= this.minCategoryFrequency).map(([k]) => k).sort();
        }
        this.categories.set(c.name, new Map(keys.map((k, i) => [k, i + 1])));
      } else {
        cells.forEach((v, r) => binaryCell(v, table.where(c.name, r)));
      }
    }
    this.fitted = true;
    return this;
  }

  /**
   * Transforms a table to plain arrays (no tensors): `values` and `mask`, row-major
   * `[batch, features]`.
   *
   * @throws {@link InvalidArgumentError} before `fit`, or for a wrong type / unknown column (cell named).
   */
  transformArrays(rows: TableInput): { values: Float32Array; mask: Float32Array; batch: number; features: number } {
    this.assertFitted();
    const table = readTable(rows, this);
    const f = this.order.length;
    const values = new Float32Array(table.length * f);
    const mask = new Float32Array(table.length * f);
    this.order.forEach((ci, j) => {
      const c = this.columns[ci]!;
      const cells = table.column(c.name);
      for (let r = 0; r < table.length; r++) {
        const where = table.where(c.name, r);
        const v = cells[r];
        let out: number | null;
        if (c.type === 'numeric') {
          const x = numericCell(v, where);
          const s = this.numeric.get(c.name)!;
          out = x === null ? null : (x - s.mean) / s.std;
        } else if (c.type === 'binary') {
          out = binaryCell(v, where);
        } else {
          const k = categoricalCell(v, where);
          out = k === null ? null : (this.categories.get(c.name)!.get(k) ?? UNSEEN_CATEGORY_INDEX);
        }
        values[r * f + j] = out ?? 0;
        mask[r * f + j] = out === null ? 0 : 1;
      }
    });
    return { values, mask, batch: table.length, features: f };
  }

  /**
   * Transforms a table to tensors `values` and `mask`, both `[batch, features]` float32 (the
   * caller owns them). See the class description for the layout.
   *
   * @throws {@link InvalidArgumentError} before `fit`, or for a wrong type / unknown column (cell named).
   */
  transform(rows: TableInput): { values: tf.Tensor2D; mask: tf.Tensor2D } {
    const { values, mask, batch, features } = this.transformArrays(rows);
    return { values: tf.tensor2d(values, [batch, features]), mask: tf.tensor2d(mask, [batch, features]) };
  }

  /** `fit(rows)` then `transform(rows)`. */
  fitTransform(rows: TableInput): { values: tf.Tensor2D; mask: tf.Tensor2D } {
    return this.fit(rows).transform(rows);
  }

  /**
   * The schema and fitted state as plain JSON (versioned; {@link TabularPreprocessor.fromJSON}
   * restores an identical preprocessor).
   *
   * @example
   * ```ts
   * const copy = TabularPreprocessor.fromJSON(JSON.parse(JSON.stringify(pre.toJSON())));
   * ```
   */
  toJSON(): TabularPreprocessorJSON {
    return {
      format: 'vdafm-tabular-preprocessor',
      version: 1,
      columns: this.columns.map((c) => ({ name: c.name, type: c.type, ...(c.categories ? { categories: [...c.categories] } : {}) })),
      unknownColumns: this.unknownColumns,
      minCategoryFrequency: this.minCategoryFrequency,
      fitted: this.fitted,
      state: this.columns.map((c) => {
        if (!this.fitted) return {};
        if (c.type === 'numeric') return { ...this.numeric.get(c.name)! };
        if (c.type === 'categorical') return { categories: [...this.categories.get(c.name)!.keys()] };
        return {};
      }),
    };
  }

  /**
   * Restores a preprocessor saved with {@link toJSON} (object or JSON text).
   *
   * @throws {@link SerializationError} for another format, an unknown version or a corrupt state.
   */
  static fromJSON(json: TabularPreprocessorJSON | string): TabularPreprocessor {
    let d: unknown = json;
    if (typeof json === 'string') {
      try {
        d = JSON.parse(json);
      } catch (error) {
        throw new SerializationError(`Preprocessor JSON is not valid JSON: ${(error as Error).message}.`, { cause: error });
      }
    }
    const doc = d as Partial<TabularPreprocessorJSON> | null;
    if (doc == null || typeof doc !== 'object' || doc.format !== 'vdafm-tabular-preprocessor') {
      throw new SerializationError('Not a vdafm tabular preprocessor: expected format "vdafm-tabular-preprocessor".');
    }
    if (doc.version !== 1) {
      throw new SerializationError(`Unsupported tabular preprocessor version ${String(doc.version)} (this vdafm reads version 1). Upgrade vdafm.`);
    }
    let pre: TabularPreprocessor;
    try {
      pre = new TabularPreprocessor({
        columns: doc.columns ?? [],
        unknownColumns: doc.unknownColumns ?? 'error',
        minCategoryFrequency: doc.minCategoryFrequency ?? 1,
      });
    } catch (error) {
      throw new SerializationError(`Corrupt tabular preprocessor schema: ${(error as Error).message}`, { cause: error });
    }
    if (doc.fitted) {
      if (!Array.isArray(doc.state) || doc.state.length !== pre.columns.length) {
        throw new SerializationError('Corrupt tabular preprocessor: state must have one entry per column.');
      }
      pre.columns.forEach((c, i) => {
        const s = doc.state![i]!;
        if (c.type === 'numeric') {
          if (typeof s.mean !== 'number' || typeof s.std !== 'number' || !(s.std > 0)) {
            throw new SerializationError(`Corrupt tabular preprocessor: column '${c.name}' needs a numeric mean and a std > 0.`);
          }
          pre.numeric.set(c.name, { mean: s.mean, std: s.std });
        } else if (c.type === 'categorical') {
          if (!Array.isArray(s.categories) || s.categories.some((k) => typeof k !== 'string')) {
            throw new SerializationError(`Corrupt tabular preprocessor: column '${c.name}' needs a list of category strings.`);
          }
          pre.categories.set(c.name, new Map(s.categories.map((k, j) => [k, j + 1])));
        }
      });
      pre.fitted = true;
    }
    return pre;
  }

  /** @internal */
  isKnownColumn(name: string): boolean {
    return this.known.has(name);
  }

  private assertFitted(): void {
    if (!this.fitted) {
      throw new InvalidArgumentError({
        argument: 'this',
        message: 'The preprocessor is not fitted.',
        received: 'unfitted preprocessor',
        fix: 'Call fit(rows) (or fromJSON(saved)) before transform.',
      });
    }
  }
}
