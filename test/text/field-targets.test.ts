// ReportFieldTargets (src/text/field-targets.ts): groups fitted from reports, targets and masks by
// hand, JSON round trip, errors.
import { describe, expect, it } from 'vitest';
import { defineReportSchema, InvalidArgumentError, strokeReportSchema } from '../../src/index.js';
import { ReportFieldTargets } from '../../src/text/field-targets.js';
import { expectArgumentError } from '../helpers/errors.js';

const schema = defineReportSchema({
  name: 'toy',
  fields: [
    { key: 'side', label: 'Side', kind: 'enum', values: ['left', 'right'] },
    { key: 'where', label: 'Where', kind: 'text' },
    { key: 'size', label: 'Size', kind: 'text' },
  ],
});
const report = (side: string, where: string, ml: number) => `Side: ${side} | Where: ${where} | Size: ~${ml} mL`;
const reports = [
  ...Array.from({ length: 6 }, (_, i) => report('left', 'frontal cortex', 1 + i)),
  ...Array.from({ length: 6 }, (_, i) => report('right', 'parietal cortex', 10 + i)),
  null,
];

describe('ReportFieldTargets', () => {
  const t = ReportFieldTargets.fit(reports, schema, { fields: ['side', 'where'], minCount: 2, numericFields: ['size'] });

  it('uses the enum fields and the size by default (text fields are opt-in)', () => {
    expect(ReportFieldTargets.fit(reports, schema, { minCount: 2 }).groups.map((g) => g.key)).toEqual(['side', 'size#number']);
  });

  it('builds a categorical group per enum field, informative words per text field, and a standardised number', () => {
    expect(t.groups.map((g) => [g.key, g.kind, g.labels])).toEqual([
      ['side', 'categorical', ['left', 'right']],
      // 'cortex' is in every report: not informative
      ['where', 'multilabel', ['frontal', 'parietal']],
      ['size#number', 'regression', ['ln(1 + value)']],
    ]);
    expect(t.width).toBe(5);
    const logs = [1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15].map(Math.log1p);
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    expect(t.groups[2]!.mean).toBeCloseTo(mean, 12);
  });

  it('gives one-hot, multi-hot and regression targets with masks, by hand', () => {
    const b = t.transform([report('right', 'frontal cortex', 3), 'Side: left', null]);
    const g = t.groups[2]!;
    expect(Array.from(b.targets.slice(0, 4))).toEqual([0, 1, 1, 0]);
    expect(b.targets[4]).toBeCloseTo((Math.log(4) - g.mean!) / g.sd!, 6);
    expect(Array.from(b.mask)).toEqual([1, 1, 1, /* fields left out */ 1, 0, 0, /* no report */ 0, 0, 0]);
  });

  it('round-trips through JSON and refuses another schema or format', () => {
    const again = ReportFieldTargets.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), schema);
    expect(again.groups).toEqual(t.groups);
    const r = [report('left', 'parietal cortex', 7)];
    expect(Array.from(again.transform(r).targets)).toEqual(Array.from(t.transform(r).targets));
    expectArgumentError(() => ReportFieldTargets.fromJSON(t.toJSON(), strokeReportSchema), InvalidArgumentError, 'schema');
    expectArgumentError(() => ReportFieldTargets.fromJSON({ ...t.toJSON(), format: 'x' } as never, schema), InvalidArgumentError, 'json');
  });

  it('rejects bad input naming the argument', () => {
    expectArgumentError(() => ReportFieldTargets.fit('no' as never, schema), InvalidArgumentError, 'reports');
    expectArgumentError(() => ReportFieldTargets.fit(reports, {} as never), InvalidArgumentError, 'schema');
    expectArgumentError(() => ReportFieldTargets.fit(reports, schema, { fields: ['nope'] }), InvalidArgumentError, 'options.fields');
    expectArgumentError(() => t.transform([3 as never]), InvalidArgumentError, 'reports');
  });
});
