// The cohort loader's typed errors (src/node/cohort/errors.ts): what they carry, how problems
// print, and isInstance across copies of the package (Symbol.for markers).
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, VdafmError } from '../../../src/index.js';
import { CohortManifestError, CohortSchemaError, CohortValidationError, formatProblem, NiftiFormatError, type CohortProblem } from '../../../src/node.js';

describe('cohort errors', () => {
  it('formatProblem names the row, the id (or ?), the column and the file', () => {
    expect(formatProblem({ row: 3, id: 'P1', kind: 'missing-label', column: 'mrs', message: 'the label is empty' })).toBe('row 3 (id P1), column mrs: missing-label: the label is empty');
    expect(formatProblem({ row: 9, id: null, kind: 'missing-file', column: 'dwi', file: '/d/x.nii', message: 'gone' })).toBe('row 9 (id ?), column dwi, file /d/x.nii: missing-file: gone');
  });

  it('CohortValidationError counts invalid patients, shows the first 20 problems and keeps them all', () => {
    const problems: CohortProblem[] = Array.from({ length: 23 }, (_, i) => ({ row: 2 + Math.floor(i / 2), id: `P${Math.floor(i / 2)}`, kind: 'out-of-range', column: 'age', message: `${200 + i} is outside [18, 99]` }));
    const e = new CohortValidationError({ manifest: '/c/manifest.csv', problems, patients: 40 });
    expect(e.message.split('\n')[0]).toBe('/c/manifest.csv: 12 of 40 patients are invalid (23 problems); nothing was loaded.');
    expect(e.message).toContain(formatProblem(problems[19]!));
    expect(e.message).not.toContain(formatProblem(problems[20]!));
    expect(e.message).toContain('... and 3 more (see error.problems)');
    expect(e.problems).toHaveLength(23);
    expect(new CohortValidationError({ manifest: 'm', problems: problems.slice(0, 1), patients: 1, outcome: 'its image was not read' }).message).toMatch(/1 problem\); its image was not read\./);
  });

  it('each class is recognised by isInstance, from a plain object with its marker too (another copy of the package)', () => {
    const nifti = new NiftiFormatError({ kind: 'truncated-nifti', message: 'The file ends early.', received: '10 bytes', fix: 'Copy it again.' });
    expect(NiftiFormatError.isInstance(nifti) && InvalidArgumentError.isInstance(nifti) && VdafmError.isInstance(nifti)).toBe(true);
    expect([nifti.kind, nifti.argument, nifti.reason]).toEqual(['truncated-nifti', 'bytes', 'The file ends early. Copy it again.']);
    const schema = new CohortSchemaError({ field: 'label.values', message: 'two values', file: 's.json' });
    expect([schema.field, schema.file, schema.message]).toEqual(['label.values', 's.json', "s.json: cohort schema field 'label.values': two values"]);
    const manifest = new CohortManifestError({ file: 'm.csv', line: 4, message: 'bad quote' });
    expect(manifest.message).toBe('m.csv:4: bad quote');
    for (const [cls, e] of [[NiftiFormatError, nifti], [CohortSchemaError, schema], [CohortManifestError, manifest]] as const) {
      const foreign = Object.fromEntries(Object.getOwnPropertySymbols(e).map((s) => [s, true]));
      expect(cls.isInstance(foreign)).toBe(true);
      expect(cls.isInstance(new Error('x'))).toBe(false);
    }
    expect(CohortSchemaError.isInstance(manifest)).toBe(false);
  });
});
