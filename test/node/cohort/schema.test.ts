// The cohort schema (src/node/cohort/schema.ts): defaults, every invalid field named by a typed
// error, and the column specs handed to TabularPreprocessor.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLINICAL_SCHEMA, TabularPreprocessor } from '../../../src/index.js';
import { cohortColumnSpecs, CohortSchemaError, parseCohortSchema, readCohortSchema, type CohortSchema } from '../../../src/node.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-schema-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base: CohortSchema = {
  id: 'id',
  label: { column: 'mrs90', type: 'ordinal', values: [0, 1, 2, 3, 4, 5, 6], positiveAtLeast: 3 },
  sequences: ['dwi', { name: 'adc', column: 'adc_path' }],
  columns: [
    { name: 'age', type: 'numeric', unit: 'years', range: [18, 110] },
    { name: 'sex', type: 'categorical', categories: ['female', 'male'] },
    { name: 'nihss', type: 'numeric', column: 'NIHSS at admission' },
    { name: 'centre', type: 'categorical', categories: [1, 2] },
    { name: 'thrombolysis', type: 'binary' },
  ],
  report: { text: 'report', file: 'report_file' },
  split: 'split',
};

const fieldOf = (json: unknown): string | null => {
  try {
    parseCohortSchema(json, 'schema.json');
  } catch (e) {
    expect(CohortSchemaError.isInstance(e)).toBe(true);
    expect((e as CohortSchemaError).file).toBe('schema.json');
    return (e as CohortSchemaError).field;
  }
  return null;
};

describe('parseCohortSchema', () => {
  it('fills the defaults: manifest column = name, binary label values [0, 1], missing-value texts', () => {
    const s = parseCohortSchema(base);
    expect(s.sequences).toEqual([
      { name: 'dwi', column: 'dwi' },
      { name: 'adc', column: 'adc_path' },
    ]);
    expect(s.columns.map((c) => c.column)).toEqual(['age', 'sex', 'NIHSS at admission', 'centre', 'thrombolysis']);
    expect(s.columns[3]!.categories).toEqual(['1', '2']); // compared as text
    expect(s.missingValues).toEqual(['', 'NA', 'N/A', 'NaN', 'null']);
    expect(parseCohortSchema({ id: 'id', label: { column: 'poor', type: 'binary' } }).label).toEqual({ column: 'poor', type: 'binary', values: [0, 1] });
  });

  it("accepts the synthetic cohort's own column schema as is", () => {
    expect(parseCohortSchema({ ...base, columns: CLINICAL_SCHEMA }).columns.map((c) => c.name)).toEqual(CLINICAL_SCHEMA.map((c) => c.name));
  });

  it('names the invalid field', () => {
    const cols = (c: unknown) => ({ ...base, columns: [c] });
    expect(fieldOf([])).toBe('(root)');
    expect(fieldOf({ ...base, extra: 1 })).toBe('extra');
    expect(fieldOf({ ...base, format: 'other' })).toBe('format');
    expect(fieldOf({ ...base, version: 2 })).toBe('version');
    expect(fieldOf({ ...base, id: '' })).toBe('id');
    expect(fieldOf({ ...base, label: undefined })).toBe('label');
    expect(fieldOf({ ...base, label: { column: 'x', type: 'continuous' } })).toBe('label.type');
    expect(fieldOf({ ...base, label: { column: 'x', type: 'binary', values: ['a', 'a'] } })).toBe('label.values');
    expect(fieldOf({ ...base, label: { column: 'x', type: 'ordinal', values: [0, 2, 1], positiveAtLeast: 1 } })).toBe('label.values');
    expect(fieldOf({ ...base, label: { column: 'x', type: 'ordinal', values: [0, 1, 2], positiveAtLeast: 0 } })).toBe('label.positiveAtLeast'); // class 0 empty
    expect(fieldOf({ ...base, sequences: [{}] })).toBe('sequences[0]');
    expect(fieldOf({ ...base, sequences: ['dwi', 'dwi'] })).toBe('sequences[1].name');
    expect(fieldOf(cols({ name: 'a', type: 'ordinal' }))).toBe('columns[0].type');
    expect(fieldOf(cols({ name: 'a', type: 'categorical' }))).toBe('columns[0].categories');
    expect(fieldOf(cols({ name: 'a', type: 'categorical', categories: ['x', 'x'] }))).toBe('columns[0].categories');
    expect(fieldOf(cols({ name: 'a', type: 'numeric', categories: ['x'] }))).toBe('columns[0].categories');
    expect(fieldOf(cols({ name: 'a', type: 'numeric', range: [5, 1] }))).toBe('columns[0].range');
    expect(fieldOf(cols({ name: 'a', type: 'binary', range: [0, 1] }))).toBe('columns[0].range');
    expect(fieldOf(cols({ name: 'a', type: 'numeric', scale: 2 }))).toBe('columns[0].scale');
    expect(fieldOf({ ...base, columns: [{ name: 'a', type: 'numeric' }, { name: 'a', type: 'binary' }] })).toBe('columns[1].name');
    expect(fieldOf({ ...base, columns: [{ name: 'a', type: 'numeric', column: 'dwi' }] })).toBe('columns[0]'); // a manifest column used twice
    expect(fieldOf({ ...base, report: {} })).toBe('report');
    expect(fieldOf({ ...base, split: 3 })).toBe('split');
    expect(fieldOf({ ...base, missingValues: [0] })).toBe('missingValues');
  });

  it('readCohortSchema reports an unreadable file or invalid JSON as the schema root', async () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, '{ "id": ');
    await expect(readCohortSchema(bad)).rejects.toSatisfy((e: unknown) => CohortSchemaError.isInstance(e) && e.field === '(root)' && e.file === bad);
    await expect(readCohortSchema(join(root, 'none.json'))).rejects.toSatisfy((e: unknown) => CohortSchemaError.isInstance(e) && /cannot read/.test((e as Error).message));
    const good = join(root, 'good.json');
    writeFileSync(good, JSON.stringify(base));
    expect((await readCohortSchema(good)).file).toBe(good);
  });
});

describe('cohortColumnSpecs', () => {
  it('gives TabularPreprocessor column specs with the categories fixed by the schema', () => {
    const specs = cohortColumnSpecs(parseCohortSchema(base));
    expect(specs).toEqual([
      { name: 'age', type: 'numeric' },
      { name: 'sex', type: 'categorical', categories: ['female', 'male'] },
      { name: 'nihss', type: 'numeric' },
      { name: 'centre', type: 'categorical', categories: ['1', '2'] },
      { name: 'thrombolysis', type: 'binary' },
    ]);
    const pre = new TabularPreprocessor({ columns: specs }).fit([{ age: 70, sex: 'male', nihss: 4, centre: '2', thrombolysis: 1 }]);
    // 'female' was never seen by fit but is a category of the schema: index 1, not "unseen" 0
    const { values } = pre.transform([{ age: 70, sex: 'female', nihss: 4, centre: '1', thrombolysis: 0 }]);
    expect(Array.from(values.dataSync()).slice(-2)).toEqual([1, 1]);
    values.dispose();
  });
});
