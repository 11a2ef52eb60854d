// Issue #16 item 2: parseReport is total (returns a report or throws the typed error, never
// anything else, never hangs) and linear in its input. fast-check fuzzes arbitrary strings,
// braces, fences, escapes and deep nesting; the growth test compares two input sizes (4× apart)
// on adversarial patterns instead of asserting a wall time.
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseReport, strokeReportSchema, type ParsedReport } from '../../src/index.js';
import { VALID_REPORT } from './helpers/openai-server.js';
import { expectArgumentError, expectIsArgumentError } from '../helpers/errors.js';

const schema = strokeReportSchema;
const keys = schema.fields.map((f) => f.key);
const required = schema.fields.filter((f) => f.required).map((f) => f.key);

/** Parses `text` and checks the result's invariants; a throw must be the typed size error. */
function parseChecked(text: string, maxInputChars?: number): ParsedReport | undefined {
  let p: ParsedReport;
  try {
    p = maxInputChars === undefined ? parseReport(text, schema) : parseReport(text, schema, { maxInputChars });
  } catch (error) {
    expectIsArgumentError(error, InvalidArgumentError, 'text');
    expect(text.length).toBeGreaterThan(maxInputChars ?? 1_048_576);
    return undefined;
  }
  expect(['json', 'lines', 'none']).toContain(p.format);
  expect(p.valid).toBe(p.missing.length === 0 && p.invalid.length === 0);
  for (const [k, v] of Object.entries(p.fields)) {
    const f = schema.fields.find((x) => x.key === k);
    expect(f, k).toBeDefined();
    expect(typeof v).toBe('string');
    if (f!.kind === 'enum') expect(f!.values).toContain(v);
  }
  for (const k of p.missing) expect(required).toContain(k);
  for (const i of p.invalid) {
    expect(keys).toContain(i.key);
    expect(p.fields).not.toHaveProperty(i.key);
  }
  return p;
}

const TOKENS = [
  '{', '}', '[', ']', '"', '\\', ':', ',', ' ', '\n', '```', '```json\n', '(', ')', '.', '*', '|', "'", '`', '-', '1',
  '"side"', '"side": ', '"left"', 'left', 'Side:', 'Acute lesion:', '"acuteLesion":"present"', 'null', 'true', '\u201c', '\u201d',
];
const tokenText = fc.array(fc.constantFrom(...TOKENS), { maxLength: 600 }).map((t) => t.join(''));

describe('parseReport is total', () => {
  fcTest.prop([fc.string({ unit: 'binary', maxLength: 2_000 })])('arbitrary strings (lone surrogates included)', (text) => {
    parseChecked(text);
  });

  fcTest.prop([tokenText])('JSON-ish token soup: unbalanced braces, quotes, escapes, fences', (text) => {
    parseChecked(text);
  });

  fcTest.prop([fc.nat(5_000), fc.nat(5_000), fc.boolean()])('deeply nested and unbalanced braces around a valid report', (open, close, fenced) => {
    const inner = JSON.stringify(VALID_REPORT);
    const text = `${'{"a":'.repeat(open)}${inner}${'}'.repeat(close)}`;
    parseChecked(fenced ? '```json\n' + text + '\n```' : text);
  });

  it('deeply nested arrays as a field value (200k levels) do not overflow the stack', () => {
    const p = parseChecked(`{"side": ${'['.repeat(200_000)}"left"${']'.repeat(200_000)}, "acuteLesion": ["present"]}`)!;
    expect(p.fields).toEqual({ acuteLesion: 'present' });
  });

  fcTest.prop([tokenText, fc.integer({ min: 1, max: 700 })])('throws only the typed error, and only past maxInputChars', (text, maxInputChars) => {
    parseChecked(text, maxInputChars);
  });

  it('a report preceded by thousands of unclosed braces is still found', () => {
    const p = parseChecked(`${'{'.repeat(20_000)} ${JSON.stringify(VALID_REPORT)}`)!;
    expect(p.fields).toEqual(VALID_REPORT);
  });

  it('bounds the input: past maxInputChars (default 1 MiB characters) a typed error names the sizes, never the text', () => {
    const big = 'S'.repeat(1_048_577);
    const err = expectArgumentError(() => parseReport(big, schema), InvalidArgumentError, 'text');
    expect(err.message).toContain('1048577');
    expect(err.message).toContain('1048576');
    expect(err.message).not.toContain('SSSS');
    expect(parseReport(big.slice(1), schema).format).toBe('none');
    expectArgumentError(() => parseReport('x', schema, { maxInputChars: 0 }), InvalidArgumentError, 'options.maxInputChars');
  });
});

describe('parseReport is linear in its input', () => {
  /** Best of `runs` timings (ms) of parsing `text`. */
  function best(text: string, runs = 5): number {
    let t = Number.POSITIVE_INFINITY;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      parseReport(text, schema);
      t = Math.min(t, performance.now() - t0);
    }
    return t;
  }
  const rep = (unit: string, n: number): string => unit.repeat(Math.ceil(n / unit.length));
  // Each pattern made one of the old regexes or the brace matcher quadratic (or worse).
  const patterns: Array<[string, (n: number) => string]> = [
    ['unclosed braces', (n) => rep('{', n)],
    ['unclosed objects with keys', (n) => rep('{"a":', n)],
    ['braces inside an unclosed string', (n) => '{ "x": "' + rep('{', n)],
    ['closing braces then one open', (n) => rep('}', n) + '{'],
    ['unclosed arrays of a field (salvage)', (n) => '{' + rep('"side": [', n)],
    ['unterminated strings (salvage)', (n) => '{' + rep('"side": "\\"', n)],
    ['many complete pairs in an unclosed object', (n) => '{' + rep('"side":"left",', n)],
    ['an unclosed fence', (n) => '```' + rep('a', n)],
    ['a fence of braces', (n) => '```json\n' + rep('{', n)],
    ['backticks', (n) => rep('`', n)],
    ['leading whitespace', (n) => rep(' ', n) + 'x'],
    ['a long label without colon', (n) => rep('a', n) + ' x'],
    ['stars', (n) => rep('*', n) + ':'],
    ['digits as a list marker', (n) => rep('1', n) + '. Side: left'],
    ['a value padded with spaces', (n) => 'Side: x' + rep(' ', n) + 'y'],
    ['a value of dots', (n) => 'Side: ' + rep('.', n) + 'x'],
    ['a value of open parentheses', (n) => 'Side: ' + rep('(', n)],
    ['a value of quotes', (n) => 'Side: ' + rep("'", n) + 'x'],
    ['a JSON value of dots', (n) => '{"side": "' + rep('.', n) + 'x"}'],
    ['a JSON value of parentheses', (n) => '{"side": "' + rep('(', n) + '"}'],
    ['pipes', (n) => rep('|', n)],
    ['pairs of curly quotes', (n) => '{' + rep('\u201cside\u201d: \u201cleft\u201d, ', n)],
  ];
  it.each(patterns)('%s: 4× the input takes < 10× the time (linear: 4×; quadratic: 16×)', (_name, make) => {
    const small = make(50_000);
    const large = make(200_000);
    best(small, 2); // warm-up
    const tSmall = Math.max(best(small), 1);
    const tLarge = best(large);
    expect(tLarge / tSmall, `50k: ${tSmall.toFixed(2)} ms, 200k: ${tLarge.toFixed(2)} ms`).toBeLessThan(10);
  });
});
