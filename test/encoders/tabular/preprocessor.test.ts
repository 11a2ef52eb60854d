import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, SerializationError } from '../../../src/errors.js';
import { assertNoLeaks, assertTensorsClose } from '../../../src/testing.js';
import {
  type CellValue,
  type ColumnSpec,
  TabularPreprocessor,
  type TabularPreprocessorJSON,
} from '../../../src/index.js';
import { expectArgumentError } from '../../helpers/errors.js';

interface Reference {
  columns: ColumnSpec[];
  featureNames: string[];
  train: Array<Record<string, CellValue>>;
  test: Array<Record<string, CellValue>>;
  mean: number[];
  scale: number[];
  categories: Record<string, string[]>;
  trainValues: number[][];
  trainMask: number[][];
  testValues: number[][];
  testMask: number[][];
}
const ref = JSON.parse(
  readFileSync(new URL('../../fixtures/tabular/preprocessor_reference.json', import.meta.url), 'utf8'),
) as Reference;

/** An InvalidArgumentError naming `argument`, in its message too. */
function expectInvalid(fn: () => unknown, argument: string): void {
  expect(expectArgumentError(fn, InvalidArgumentError, argument).message).toContain(argument);
}

const toColumns = (rows: Array<Record<string, CellValue>>, names: string[]) =>
  Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n])]));

describe('TabularPreprocessor', () => {
  it('matches scikit-learn StandardScaler + OrdinalEncoder (fixture)', () => {
    const pre = new TabularPreprocessor({ columns: ref.columns }).fit(ref.train);
    expect(pre.featureNames).toEqual(ref.featureNames);
    expect(pre.featureTypes).toEqual(['numeric', 'numeric', 'numeric', 'binary', 'categorical', 'categorical']);
    const train = pre.transformArrays(ref.train);
    assertTensorsClose(train.values, ref.trainValues, { atol: 1e-6 }, 'train values');
    assertTensorsClose(train.mask, ref.trainMask, { atol: 0 }, 'train mask');
    const { values, mask } = pre.transform(ref.test);
    expect(values.shape).toEqual([3, 6]);
    assertTensorsClose(values, ref.testValues, { atol: 1e-6 }, 'test values');
    assertTensorsClose(mask, ref.testMask, { atol: 0 }, 'test mask');
    const json = pre.toJSON();
    expect(json.state.filter((s) => s.mean !== undefined).map((s) => s.mean)).toEqual(ref.mean);
    expect(json.state.filter((s) => s.std !== undefined).map((s) => s.std)).toEqual(ref.scale.map((x) => expect.closeTo(x, 12)));
    expect(json.state[1]!.categories).toEqual(ref.categories['sex']);
    expect(pre.featureSpec()).toEqual({ numScalar: 4, cardinalities: [3, 4], names: ref.featureNames });
    tf.dispose([values, mask]);
  });

  it('handles missing values, unseen categories and constant columns by hand', () => {
    const pre = new TabularPreprocessor({
      columns: [
        { name: 'x', type: 'numeric' },
        { name: 'c', type: 'categorical' },
        { name: 'b', type: 'binary' },
      ],
    });
    pre.fit([{ x: 5, c: 'a', b: true }, { x: 5, c: 2 }, { x: NaN, c: null, b: false }]);
    // x constant → mean 5, std 1; categories sorted as strings: '2' → 1, 'a' → 2
    const out = pre.transformArrays([{ x: 7, c: 'a', b: 1 }, { x: undefined, c: 2, b: null }, { c: 'zz', b: 0 }]);
    expect(Array.from(out.values)).toEqual([2, 1, 2, 0, 0, 1, 0, 0, 0]);
    expect(Array.from(out.mask)).toEqual([1, 1, 1, 0, 0, 1, 0, 1, 1]);
    // a column entirely missing: mean 0, std 1, everything masked
    const empty = new TabularPreprocessor({ columns: [{ name: 'x', type: 'numeric' }] }).fit([{ x: null }, {}]);
    expect(Array.from(empty.transformArrays([{ x: 3 }]).values)).toEqual([3]);
  });

  it('accepts column arrays ({col: values[]}) with the same result as rows', () => {
    const names = ref.columns.map((c) => c.name);
    const a = new TabularPreprocessor({ columns: ref.columns }).fit(ref.train);
    const b = new TabularPreprocessor({ columns: ref.columns }).fit(toColumns(ref.train, names));
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(b.transformArrays(toColumns(ref.test, names))).toEqual(a.transformArrays(ref.test));
  });

  it('uses a fixed category list when the schema declares one; rare categories map to unseen with minCategoryFrequency', () => {
    const fixed = new TabularPreprocessor({ columns: [{ name: 'side', type: 'categorical', categories: ['left', 'right', 'both'] }] }).fit([
      { side: 'left' },
    ]);
    expect(fixed.featureSpec().cardinalities).toEqual([4]);
    expect(Array.from(fixed.transformArrays([{ side: 'right' }, { side: 'both' }, { side: 'none' }]).values)).toEqual([3, 1, 0]);
    const rare = new TabularPreprocessor({ columns: [{ name: 'c', type: 'categorical' }], minCategoryFrequency: 2 }).fit([
      { c: 'a' },
      { c: 'a' },
      { c: 'b' },
    ]);
    expect(Array.from(rare.transformArrays([{ c: 'a' }, { c: 'b' }]).values)).toEqual([1, 0]);
  });

  it('round-trips through toJSON / fromJSON (JSON text) with identical transforms', () => {
    const pre = new TabularPreprocessor({ columns: ref.columns }).fit(ref.train);
    const copy = TabularPreprocessor.fromJSON(JSON.stringify(pre.toJSON()));
    expect(copy.toJSON()).toEqual(pre.toJSON());
    expect(copy.transformArrays(ref.test)).toEqual(pre.transformArrays(ref.test));
    const unfitted = TabularPreprocessor.fromJSON(new TabularPreprocessor({ columns: ref.columns }).toJSON());
    expect(unfitted.isFitted).toBe(false);
  });

  it('rejects a wrong format, an unknown version and a corrupt state with SerializationError', () => {
    const good = new TabularPreprocessor({ columns: ref.columns }).fit(ref.train).toJSON();
    const bad = (j: unknown) => {
      let err: unknown;
      try {
        TabularPreprocessor.fromJSON(j as TabularPreprocessorJSON);
      } catch (e) {
        err = e;
      }
      expect(SerializationError.isInstance(err), String(err)).toBe(true);
      return (err as Error).message;
    };
    expect(bad({ ...good, version: 2 })).toMatch(/version 2/);
    expect(bad({ ...good, format: 'other' })).toMatch(/format/);
    expect(bad({ ...good, state: good.state.slice(1) })).toMatch(/one entry per column/);
    expect(bad({ ...good, state: good.state.map((s) => (s.std ? { ...s, std: 0 } : s)) })).toMatch(/std > 0/);
    expect(bad({ ...good, columns: [{ name: 'a', type: 'date' }] })).toMatch(/columns\[0\]\.type/);
    expect(bad('{oops')).toMatch(/not valid JSON/);
  });

  it('rejects wrong types and unknown columns naming the cell', () => {
    const pre = new TabularPreprocessor({ columns: ref.columns }).fit(ref.train);
    const rows = ref.test.map((r) => ({ ...r }));
    expectInvalid(() => pre.transform([...rows, { age: '71' as unknown as number }]), 'rows[3].age');
    expectInvalid(() => pre.transform([{ afib: 2 }]), 'rows[0].afib');
    expectInvalid(() => pre.transform([{ afib: 'yes' as unknown as boolean }]), 'rows[0].afib');
    expectInvalid(() => pre.transform([{ sex: { v: 1 } as unknown as string }]), 'rows[0].sex');
    expectInvalid(() => pre.transform([{ nihss: Infinity }]), 'rows[0].nihss');
    expectInvalid(() => pre.transform([{}, { weight: 80 }]), 'rows[1].weight');
    expectInvalid(() => pre.transform([null as never]), 'rows[0]');
    expectInvalid(() => pre.transform({ age: [1, 2], nihss: [3] }), 'rows.nihss');
    expectInvalid(() => pre.transform({ age: [1, 'x' as unknown as number] }), 'rows.age[1]');
    expectInvalid(() => pre.transform({ height: [1] }), 'rows.height');
    expectInvalid(() => pre.transform('rows' as never), 'rows');
    expectInvalid(() => new TabularPreprocessor({ columns: ref.columns }).transform(ref.test), 'this');
    expectInvalid(() => new TabularPreprocessor({ columns: [] }), 'columns');
    expectInvalid(() => new TabularPreprocessor({ columns: [{ name: 'a', type: 'date' as never }] }), 'columns[0].type');
    expectInvalid(() => new TabularPreprocessor({ columns: [{ name: 'a', type: 'numeric' }, { name: 'a', type: 'binary' }] }), 'columns[1].name');
    expectInvalid(() => new TabularPreprocessor({ columns: [{ name: 'a', type: 'numeric', categories: ['x'] }] }), 'columns[0].categories');
    expectInvalid(() => new TabularPreprocessor({ columns: ref.columns, unknownColumns: 'drop' as never }), 'unknownColumns');
    // ignore mode drops unknown columns silently
    const lenient = new TabularPreprocessor({ columns: ref.columns, unknownColumns: 'ignore' }).fit(ref.train);
    expect(lenient.transformArrays([{ ...ref.test[0], weight: 80 }])).toEqual(pre.transformArrays([ref.test[0]!]));
  });

  it('does not leak tensors', async () => {
    const pre = new TabularPreprocessor({ columns: ref.columns }).fit(ref.train);
    await assertNoLeaks(() => pre.transform(ref.test));
  });

  // --- properties ---
  const cell = {
    numeric: fc.oneof(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.constantFrom(null, undefined, NaN)),
    categorical: fc.oneof(fc.constantFrom('a', 'b', 'c', 'é', 1, 2, true), fc.constantFrom(null, undefined, NaN)),
    binary: fc.oneof(fc.constantFrom(true, false, 0, 1), fc.constantFrom(null, undefined, NaN)),
  };
  const schema: ColumnSpec[] = [
    { name: 'n1', type: 'numeric' },
    { name: 'c1', type: 'categorical' },
    { name: 'b1', type: 'binary' },
    { name: 'n2', type: 'numeric' },
  ];
  const row = fc.record({ n1: cell.numeric, c1: cell.categorical, b1: cell.binary, n2: cell.numeric }, { requiredKeys: [] });
  const table = fc.array(row, { minLength: 1, maxLength: 12 });

  fcTest.prop([table, fc.func(fc.integer())], { numRuns: 60 })(
    'is invariant to row order: fit on permuted rows gives the same state, transform permutes rows',
    (rows, key) => {
      const perm = rows.map((_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
      const permuted = perm.map((i) => rows[i]!);
      const a = new TabularPreprocessor({ columns: schema }).fit(rows);
      const b = new TabularPreprocessor({ columns: schema }).fit(permuted);
      expect(b.toJSON()).toEqual(a.toJSON());
      const ta = a.transformArrays(rows);
      const tb = a.transformArrays(permuted);
      const f = ta.features;
      perm.forEach((src, dst) => {
        expect(Array.from(tb.values.subarray(dst * f, dst * f + f))).toEqual(Array.from(ta.values.subarray(src * f, src * f + f)));
        expect(Array.from(tb.mask.subarray(dst * f, dst * f + f))).toEqual(Array.from(ta.mask.subarray(src * f, src * f + f)));
      });
    },
  );

  fcTest.prop([table], { numRuns: 60 })('mask is 0 exactly where a value is null, undefined, NaN or absent; missing values are 0', (rows) => {
    const pre = new TabularPreprocessor({ columns: schema }).fit(rows);
    const { values, mask, features } = pre.transformArrays(rows);
    rows.forEach((r, i) => {
      pre.featureNames.forEach((name, j) => {
        const v = (r as Record<string, CellValue>)[name];
        const missing = v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
        expect(mask[i * features + j]).toBe(missing ? 0 : 1);
        if (missing) expect(values[i * features + j]).toBe(0);
        expect(Number.isFinite(values[i * features + j])).toBe(true);
      });
    });
  });
});
