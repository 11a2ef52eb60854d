// The manifest (src/node/cohort/manifest.ts): whole-manifest errors, CSV and JSON Lines rows,
// the cell checks of validateManifest, and paths relative to the manifest's folder.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSyntheticCohort } from '../../../src/index.js';
import { CohortManifestError, formatCsv, loadCohort, parseCohortSchema, parseCsv, readManifest, validateManifest, writeSyntheticCohort } from '../../../src/node.js';
import { tempFolders } from '../../helpers/cohort.js';

const { next: folder } = tempFolders('manifest');

describe('readManifest and loadCohort: the manifest as a whole', () => {
  it('whole-manifest problems are typed errors: a missing header column, a CSV syntax error, an unknown type', async () => {
    const cohort = generateSyntheticCohort({ patients: 2, imageShape: [4, 8, 8], seed: 7 });
    const written = await writeSyntheticCohort(cohort, folder());
    const text = readFileSync(written.manifest, 'utf8');
    const dir = written.dir;
    const manifestError = (file: string, line?: number) => (e: unknown) => CohortManifestError.isInstance(e) && e.file === file && (line === undefined || e.line === line);
    const noAge = join(dir, 'no-age.csv');
    writeFileSync(noAge, text.replace(',age,', ',AGE,'));
    await expect(loadCohort({ manifest: noAge, schema: written.schemaFile })).rejects.toSatisfy(manifestError(noAge, 1));
    await expect(loadCohort({ manifest: noAge, schema: written.schemaFile })).rejects.toThrow(/lacks 'age' \(clinical column age\)/);
    const quote = join(dir, 'quote.csv');
    writeFileSync(quote, `${text}"P9,`);
    await expect(loadCohort({ manifest: quote, schema: written.schemaFile })).rejects.toSatisfy(manifestError(quote, 4));
    const xls = join(dir, 'cohort.xlsx');
    writeFileSync(xls, text);
    await expect(loadCohort({ manifest: xls, schema: written.schemaFile })).rejects.toSatisfy(manifestError(xls));
    // a row with a field too many is a per-patient problem; an extra column is ignored with a note
    const extra = join(dir, 'extra.csv');
    const [head, r1, r2] = text.trimEnd().split('\n');
    writeFileSync(extra, `${head},comment\n${r1},ok\n${r2},a,b\n`);
    const loaded = await loadCohort({ manifest: extra, schema: written.schemaFile, image: written.imageOptions, skipInvalid: true });
    expect(loaded.excluded.map((e) => [e.row, e.problems[0]!.kind])).toEqual([[3, 'malformed-row']]);
    expect(loaded.warnings[0]).toBe('manifest columns not in the schema (ignored): comment');
  });

  it('TSV: the same manifest with tabs loads the same patients', async () => {
    const cohort = generateSyntheticCohort({ patients: 3, imageShape: [4, 8, 8], seed: 10 });
    const written = await writeSyntheticCohort(cohort, folder());
    const tsv = join(written.dir, 'manifest.tsv');
    writeFileSync(tsv, formatCsv(parseCsv(readFileSync(written.manifest, 'utf8')).records, { delimiter: '\t' }));
    const a = await loadCohort({ manifest: written.manifest, image: written.imageOptions });
    const b = await loadCohort({ manifest: tsv, image: written.imageOptions });
    expect(b.patients.map((p) => [p.id, p.clinical, p.label])).toEqual(a.patients.map((p) => [p.id, p.clinical, p.label]));
  });

  it('JSON Lines: an invalid line is a malformed row; numbers and null cells are read as such', async () => {
    const cohort = generateSyntheticCohort({ patients: 2, imageShape: [4, 8, 8], seed: 8 });
    const written = await writeSyntheticCohort(cohort, folder(), { format: 'jsonl' });
    const lines = readFileSync(written.manifest, 'utf8').trimEnd().split('\n');
    const row = JSON.parse(lines[0]!);
    const file = join(written.dir, 'typed.jsonl');
    writeFileSync(file, `${JSON.stringify({ ...row, age: 71, thrombolysis: true, nihss: null, mrs90: 4 })}\n{not json\n\n${lines[1]}\n`);
    const loaded = await loadCohort({ manifest: file, schema: written.schemaFile, image: written.imageOptions, skipInvalid: true });
    expect(loaded.excluded.map((e) => [e.row, e.problems[0]!.kind])).toEqual([[2, 'malformed-row']]);
    expect(loaded.patients.map((p) => p.row)).toEqual([1, 4]);
    expect(loaded.patients[0]!.clinical).toMatchObject({ age: 71, thrombolysis: 1, nihss: null });
    expect(loaded.patients[0]!.label).toBe(1);
  });

  it('relative paths resolve against the manifest folder, not the working directory', async () => {
    const cohort = generateSyntheticCohort({ patients: 2, imageShape: [4, 8, 8], seed: 9 });
    const written = await writeSyntheticCohort(cohort, folder());
    const sub = join(written.dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'manifest.csv'), readFileSync(written.manifest, 'utf8').replaceAll('images/', '../images/'));
    const loaded = await loadCohort({ manifest: join(sub, 'manifest.csv'), schema: written.schemaFile, image: written.imageOptions });
    expect(loaded.patients[0]!.files['dwi']).toBe(join(written.dir, 'images', 'P0000_dwi.nii.gz'));
  });
});

describe('validateManifest: the cell checks', () => {
  const schema = parseCohortSchema({
    id: 'id',
    label: { column: 'outcome', type: 'binary', values: ['good', 'poor'] },
    sequences: [{ name: 'dwi', column: 'dwi path' }],
    columns: [
      { name: 'age', type: 'numeric', range: [18, 110] },
      { name: 'sex', type: 'categorical', categories: ['F', 'M'] },
      { name: 'lysis', type: 'binary' },
    ],
    report: { text: 'report', file: 'report file' },
    split: 'split',
    missingValues: ['', '?'],
  });
  let dir = '';
  const check = async (csv: string) => {
    dir = folder();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'm.csv'), csv);
    return validateManifest(await readManifest(join(dir, 'm.csv'), schema), schema);
  };
  const header = 'id,outcome,age,sex,lysis,dwi path,report,report file,split';

  it('parses valid cells: string label values, missing-value texts, binary spellings, report text over file, absolute paths', async () => {
    const { rows, problems } = await check(`${header}\nA,poor,71.5,M,TRUE,a.nii.gz,"text, with comma",r.txt,test\nB,good,?,,0,/abs/b.nii,,r.txt,\n`);
    expect(problems).toEqual([]);
    expect(rows.map((r) => [r.id, r.label, r.labelValue, r.labelIndex, r.split])).toEqual([
      ['A', 1, 'poor', 1, 'test'],
      ['B', 0, 'good', 0, null],
    ]);
    expect(rows[0]!.clinical).toEqual({ age: 71.5, sex: 'M', lysis: 1 });
    expect(rows[1]!.clinical).toEqual({ age: null, sex: null, lysis: 0 });
    expect(rows[0]!.reportSource).toEqual({ text: 'text, with comma' });
    expect(rows[1]!.reportSource).toEqual({ file: join(dir, 'r.txt') });
    expect(rows[1]!.files['dwi']).toBe('/abs/b.nii');
  });

  it('reports each bad cell with its kind and column; a decimal comma gets a hint; an id on two rows excludes both', async () => {
    const { rows, problems } = await check(
      `${header}\nA,bad,"71,5",X,2,,,,train\nA,poor,17,F,1,a.nii,,,dev\nC,,30,F,0,c.nii,,,\n`,
    );
    expect(rows).toEqual([]);
    expect(problems.map((p) => [p.row, p.kind, p.column])).toEqual([
      [2, 'label-outside-schema', 'outcome'],
      [2, 'not-a-number', 'age'],
      [2, 'unknown-category', 'sex'],
      [2, 'not-binary', 'lysis'],
      [2, 'missing-path', 'dwi path'],
      [2, 'duplicate-id', 'id'],
      [3, 'out-of-range', 'age'],
      [3, 'invalid-split', 'split'],
      [3, 'duplicate-id', 'id'],
      [4, 'missing-label', 'outcome'],
    ]);
    expect(problems[1]!.message).toContain('use a decimal point, not a comma');
  });
});
