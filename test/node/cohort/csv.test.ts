// RFC 4180 CSV (src/node/cohort/csv.ts): quoting, line numbers, syntax errors, and the
// format → parse round trip on arbitrary fields.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, formatCsv, parseCsv } from '../../../src/node.js';

describe('parseCsv', () => {
  it('reads quoted fields with doubled quotes, delimiters and line breaks, CRLF or LF, and skips a BOM and blank lines', () => {
    const text = '\uFEFFid,note,n\r\nP1,"said ""hi"", left",3\n\nP2,"two\nlines",\n"P3",,"x"';
    const { records, lines } = parseCsv(text);
    expect(records).toEqual([
      ['id', 'note', 'n'],
      ['P1', 'said "hi", left', '3'],
      ['P2', 'two\nlines', ''],
      ['P3', '', 'x'],
    ]);
    // line 3 is blank, P2's quoted note spans lines 4–5, so P3 starts on line 6
    expect(lines).toEqual([1, 2, 4, 6]);
  });

  it('reads TSV with a tab delimiter', () => {
    expect(parseCsv('a\tb\n1\t"x\ty"\n', { delimiter: '\t' }).records).toEqual([
      ['a', 'b'],
      ['1', 'x\ty'],
    ]);
  });

  it('rejects malformed quoting with the line and column', () => {
    const at = (text: string) => {
      try {
        parseCsv(text);
      } catch (e) {
        expect(CsvSyntaxError.isInstance(e)).toBe(true);
        return [(e as CsvSyntaxError).line, (e as CsvSyntaxError).column];
      }
      return null;
    };
    expect(at('a,b\n1,"open\n2,3\n')).toEqual([2, 3]); // never closed: where it opened
    expect(at('a,b\n1,x"y\n')).toEqual([2, 4]); // quote inside an unquoted field
    expect(at('a,b\n1,"x"y\n')).toEqual([2, 6]); // text after a closing quote
    expect(() => parseCsv('a', { delimiter: '"' })).toThrow(/delimiter/);
  });
});

describe('formatCsv', () => {
  it('quotes only what needs quoting', () => {
    expect(formatCsv([['id', 'note'], ['P1', 'said "hi", left'], ['P2', ' padded'], ['P3', '']])).toBe('id,note\nP1,"said ""hi"", left"\nP2," padded"\nP3,\n');
    expect(formatCsv([['']])).toBe('""\n'); // a lone empty field is not a blank line
  });

  const field = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '"', '\n', '\r', '\t', 'é', ';'), maxLength: 8 });
  fcTest.prop([fc.integer({ min: 1, max: 5 }).chain((w) => fc.array(fc.array(field, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 6 }))])(
    'parseCsv(formatCsv(records)) gives the records back (comma and tab)',
    (records) => {
      expect(parseCsv(formatCsv(records)).records).toEqual(records);
      expect(parseCsv(formatCsv(records, { delimiter: '\t' }), { delimiter: '\t' }).records).toEqual(records);
    },
  );
});
