// Report schemas, rendering and the tolerant parser.
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  defineReportSchema,
  parseReport,
  renderReport,
  reportJsonSchema,
  STROKE_REPORT_FIELDS,
  strokeImpression,
  strokeReportSchema,
  type ReportSchemaDefinition,
} from '../../src/index.js';
import { VALID_REPORT } from './helpers/openai-server.js';
import { expectArgumentError } from '../helpers/errors.js';

const EXAMPLE =
  'Sequences: DWI, ADC | Acute lesion: present | Side: left | Territory: MCA | Location: basal ganglia, corona radiata | Size: large (~40 mL) | Signal: DWI hyperintense, ADC hypointense | Mass effect: mild | Old lesions: none | Impression: acute left MCA territory infarct.';

describe('strokeReportSchema', () => {
  it('has exactly the agreed field keys, in order', () => {
    expect(strokeReportSchema.fields.map((f) => f.key)).toEqual([
      'sequences', 'acuteLesion', 'side', 'territory', 'location', 'size', 'signal', 'massEffect', 'oldLesions', 'impression',
    ]);
    expect([...STROKE_REPORT_FIELDS]).toEqual(strokeReportSchema.fields.map((f) => f.key));
    const values = Object.fromEntries(strokeReportSchema.fields.map((f) => [f.key, f.kind === 'enum' ? f.values : 'text']));
    expect(values).toEqual({
      sequences: 'text',
      acuteLesion: ['present', 'absent'],
      side: ['left', 'right', 'bilateral', 'none'],
      territory: ['ACA', 'MCA', 'PCA', 'basal ganglia', 'internal capsule', 'brainstem', 'cerebellum', 'multiple', 'none'],
      location: 'text',
      size: ['none', 'small', 'medium', 'large'],
      signal: 'text',
      massEffect: ['none', 'mild', 'moderate', 'severe'],
      oldLesions: ['none', 'present'],
      impression: 'text',
    });
  });

  it('renders the design example exactly (separator " | ", volume note on size)', () => {
    expect(strokeReportSchema.render(VALID_REPORT, { volumeMl: 40 })).toBe(EXAMPLE);
    expect(renderReport(VALID_REPORT, strokeReportSchema, { volumeMl: 40.4 })).toBe(EXAMPLE);
    expect(renderReport({ size: 'small' }, strokeReportSchema, { volumeMl: 2.34 })).toBe('Size: small (~2.3 mL)');
    expect(renderReport({ size: 'none' }, strokeReportSchema, { volumeMl: 0 })).toBe('Size: none');
  });

  it('leaves out absent fields and makes free text one-line and pipe-free', () => {
    expect(renderReport({ side: 'left', location: 'insula |\n putamen' }, strokeReportSchema)).toBe('Side: left | Location: insula / putamen');
  });

  it('composes impressions', () => {
    expect(strokeImpression({ acuteLesion: 'present', side: 'left', territory: 'MCA' })).toBe('acute left MCA territory infarct.');
    expect(strokeImpression({ acuteLesion: 'present', side: 'right', territory: 'brainstem' })).toBe('acute right brainstem infarct.');
    expect(strokeImpression({ acuteLesion: 'absent' })).toBe('no acute infarct.');
    expect(strokeImpression({})).toBeUndefined();
  });

  it('builds a strict JSON schema', () => {
    const js = reportJsonSchema(strokeReportSchema);
    expect(js.type).toBe('object');
    expect(js.additionalProperties).toBe(false);
    expect(js.required).toEqual([...STROKE_REPORT_FIELDS]);
    expect(js.properties['territory']!.enum).toContain('basal ganglia');
    expect(js.properties['impression']!.enum).toBeUndefined();
  });
});

describe('defineReportSchema', () => {
  const good: ReportSchemaDefinition = {
    name: 'tumour',
    fields: [
      { key: 'enhancing', label: 'Enhancing', kind: 'enum', values: ['yes', 'no'], synonyms: { positive: 'yes' } },
      { key: 'note', label: 'Note', kind: 'text', required: false },
    ],
  };
  it('accepts a valid definition and renders/parses with it', () => {
    const s = defineReportSchema(good);
    expect(s.render({ enhancing: 'yes', note: 'ring' })).toBe('Enhancing: yes | Note: ring');
    const p = parseReport('Enhancing: Positive', s);
    expect(p.fields).toEqual({ enhancing: 'yes' });
    expect(p.valid).toBe(true); // note is optional
    expect(Object.isFrozen(s)).toBe(true);
  });
  const bads: Array<[unknown, string]> = [
    [null, 'definition'],
    [{ ...good, name: ' ' }, 'definition.name'],
    [{ ...good, fields: [] }, 'definition.fields'],
    [{ ...good, version: 0 }, 'definition.version'],
    [{ ...good, separator: ':' }, 'definition.separator'],
    [{ ...good, fields: [good.fields[0], { ...good.fields[1], key: 'Enhancing' }] }, 'definition.fields[1].key'],
    [{ ...good, fields: [{ ...good.fields[0], key: '1x' }] }, 'definition.fields[0].key'],
    [{ ...good, fields: [good.fields[0], { ...good.fields[1], label: 'enhancing' }] }, 'definition.fields[1].label'],
    [{ ...good, fields: [{ ...good.fields[0], label: 'A: b' }] }, 'definition.fields[0].label'],
    [{ ...good, fields: [{ ...good.fields[0], values: [] }] }, 'definition.fields[0].values'],
    [{ ...good, fields: [{ ...good.fields[0], values: ['Yes', 'yes '] }] }, 'definition.fields[0].values'],
    [{ ...good, fields: [{ ...good.fields[0], synonyms: { y: 'maybe' } }] }, 'definition.fields[0].synonyms'],
    [{ ...good, fields: [{ ...good.fields[0], kind: 'number' }] }, 'definition.fields[0].kind'],
    [{ ...good, fields: [{ ...good.fields[1], values: ['a'] }] }, 'definition.fields[0].values'],
  ];
  it.each(bads)('rejects %j naming %s', (def, argument) => {
    expectArgumentError(() => defineReportSchema(def as ReportSchemaDefinition), InvalidArgumentError, argument);
  });
});

describe('parseReport', () => {
  const all = Object.keys(VALID_REPORT);

  it('reads bare JSON', () => {
    const p = parseReport(JSON.stringify(VALID_REPORT), strokeReportSchema);
    expect(p).toEqual({ fields: VALID_REPORT, missing: [], invalid: [], format: 'json', valid: true });
  });

  it('reads JSON in fences with prose around it, tolerating case, synonyms, arrays and key spellings', () => {
    const text = [
      'Sure! Here is the report:',
      '```json',
      JSON.stringify({
        Sequences: ['DWI', 'ADC'],
        acute_lesion: 'Yes',
        SIDE: ' LEFT ',
        territory: 'middle cerebral artery',
        'Location': ['basal ganglia', 'corona radiata'],
        size: 'Large (~40 mL)',
        signal: 'DWI hyperintense, ADC hypointense',
        'mass effect': 'Mild.',
        oldLesions: 'No',
        impression: 'acute left MCA territory infarct.',
      }, null, 2),
      '```',
      'Let me know if you need anything else.',
    ].join('\n');
    const p = parseReport(text, strokeReportSchema);
    expect(p.valid).toBe(true);
    expect(p.fields).toEqual(VALID_REPORT);
  });

  it('reads JSON with trailing commas and a wrapper object', () => {
    const p = parseReport(`{"report": {"side": "right", "acuteLesion": "absent",}}`, strokeReportSchema);
    expect(p.fields).toEqual({ side: 'right', acuteLesion: 'absent' });
    expect(p.format).toBe('json');
  });

  it('keeps the complete pairs of truncated JSON and reports the rest missing', () => {
    const full = JSON.stringify(VALID_REPORT);
    const cut = full.slice(0, full.indexOf('"location"') + 20);
    const p = parseReport(cut, strokeReportSchema);
    expect(p.fields).toEqual({ sequences: 'DWI, ADC', acuteLesion: 'present', side: 'left', territory: 'MCA' });
    expect(p.missing).toEqual(['location', 'size', 'signal', 'massEffect', 'oldLesions', 'impression']);
    expect(p.valid).toBe(false);
  });

  it('reads the rendered pipe form and Markdown-ish lines', () => {
    const p = parseReport(EXAMPLE, strokeReportSchema);
    expect(p.format).toBe('lines');
    expect(p.fields).toEqual(VALID_REPORT);
    const md = '**Sequences:** DWI, ADC\n- **Acute lesion**: present\n- Side: Left-sided\n1. Territory: PCA territory\n';
    expect(parseReport(md, strokeReportSchema).fields).toEqual({ sequences: 'DWI, ADC', acuteLesion: 'present', side: 'left', territory: 'PCA' });
  });

  it('reports invalid values (not put into fields) and does not guess under negation', () => {
    const p = parseReport(JSON.stringify({ ...VALID_REPORT, side: 'up', acuteLesion: 'not present', massEffect: 'huge' }), strokeReportSchema);
    expect(p.invalid.map((f) => f.key)).toEqual(['acuteLesion', 'side', 'massEffect']);
    expect(p.invalid[1]).toEqual({ key: 'side', value: 'up', reason: 'not one of left, right, bilateral, none' });
    expect(p.fields).not.toHaveProperty('side');
    expect(p.missing).toEqual([]);
    expect(p.valid).toBe(false);
  });

  it('handles empty and prose-only output', () => {
    expect(parseReport('', strokeReportSchema)).toEqual({ fields: {}, missing: all, invalid: [], format: 'none', valid: false });
    expect(parseReport('I cannot help with that.', strokeReportSchema).format).toBe('none');
    expect(parseReport('{"unrelated": 1}', strokeReportSchema).format).toBe('none');
  });

  it('throws typed errors on bad arguments only', () => {
    expectArgumentError(() => parseReport(42 as never, strokeReportSchema), InvalidArgumentError, 'text');
    expectArgumentError(() => parseReport('x', { fields: [] } as never), InvalidArgumentError, 'schema');
  });

  const enumField = (key: string) => strokeReportSchema.fields.find((f) => f.key === key)!.values!;
  const textValue = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '' && !/[|*\r\n{}"\\]/.test(s));
  const fieldsArb = fc.record(
    {
      sequences: textValue,
      acuteLesion: fc.constantFrom(...enumField('acuteLesion')),
      side: fc.constantFrom(...enumField('side')),
      territory: fc.constantFrom(...enumField('territory')),
      location: textValue,
      size: fc.constantFrom(...enumField('size')),
      signal: textValue,
      massEffect: fc.constantFrom(...enumField('massEffect')),
      oldLesions: fc.constantFrom(...enumField('oldLesions')),
      impression: textValue,
    },
    { requiredKeys: [] },
  );

  fcTest.prop([fieldsArb, fc.option(fc.double({ min: 0, max: 400, noNaN: true }), { nil: undefined })])(
    'render → parse round-trips every field (free text whitespace-normalised)',
    (fields, volumeMl) => {
      const text = renderReport(fields, strokeReportSchema, volumeMl === undefined ? {} : { volumeMl });
      const p = parseReport(text, strokeReportSchema);
      const expected = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.replace(/\s+/g, ' ').trim()]));
      expect(p.fields).toEqual(expected);
      expect(p.invalid).toEqual([]);
      expect(p.missing).toEqual(all.filter((k) => !(k in fields)));
    },
  );

  fcTest.prop([fieldsArb])('JSON output round-trips, in or out of fences', (fields) => {
    const json = JSON.stringify(fields);
    for (const text of [json, '```json\n' + json + '\n```', `Report: ${json} -- end`]) {
      expect(parseReport(text, strokeReportSchema).fields).toEqual(
        Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.replace(/\s+/g, ' ').trim()])),
      );
    }
  });

  fcTest.prop([fc.string({ maxLength: 300 })])('never throws on arbitrary text, and valid ⇔ nothing missing or invalid', (text) => {
    const p = parseReport(text, strokeReportSchema);
    expect(p.valid).toBe(p.missing.length === 0 && p.invalid.length === 0);
    for (const [k, v] of Object.entries(p.fields)) {
      const f = strokeReportSchema.fields.find((x) => x.key === k)!;
      if (f.kind === 'enum') expect(f.values).toContain(v);
    }
  });
});
