// TemplateReportGenerator (deterministic findings → report, seeded noise) and MockTextGenerator.
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  defineReportSchema,
  parseReport,
  ReportValidationError,
  strokeReportSchema,
  TemplateReportGenerator,
  type Findings,
  type TextGenerateRequest,
} from '../../src/index.js';
import { MockTextGenerator } from '../../src/testing/mock-generator.js';
import { expectArgumentError, expectArgumentRejection } from '../helpers/errors.js';

const findings: Findings = {
  sequences: 'DWI, ADC',
  acuteLesion: 'present',
  side: 'left',
  territory: 'MCA',
  location: 'left basal ganglia, corona radiata',
  size: 'large',
  signal: 'DWI hyperintense, ADC hypointense',
  massEffect: 'mild',
  oldLesions: 'none',
  volumeMl: 40,
};
const req = (over: Partial<TextGenerateRequest> = {}): TextGenerateRequest => ({
  images: [],
  prompt: 'report',
  schema: strokeReportSchema,
  temperature: 0,
  seed: 1,
  ...over,
});
const fixed = (f: Findings) => ({ extract: () => f });

describe('TemplateReportGenerator', () => {
  it('renders measured findings exactly, composing the impression', async () => {
    const gen = new TemplateReportGenerator({ extractor: fixed(findings) });
    const r = await gen.generate(req());
    expect(r.text).toBe(
      'Sequences: DWI, ADC | Acute lesion: present | Side: left | Territory: MCA | Location: left basal ganglia, corona radiata | Size: large (~40 mL) | Signal: DWI hyperintense, ADC hypointense | Mass effect: mild | Old lesions: none | Impression: acute left MCA territory infarct.',
    );
    expect(r.fields['impression']).toBe('acute left MCA territory infarct.');
    const parsed = parseReport(r.text, strokeReportSchema);
    expect(parsed.valid).toBe(true);
    expect(parsed.fields).toEqual(r.fields);
    expect(gen.specificationVersion).toBe('v1');
    expect(gen.generatorId).toBe('vdafm.template');
  });

  it('passes `source` to the extractor when given, else the images', async () => {
    const seen: unknown[] = [];
    const gen = new TemplateReportGenerator({ extractor: { extract: (x: unknown) => (seen.push(x), { acuteLesion: 'absent' }) } });
    const img = { data: new Uint8Array(4), width: 2, height: 2 };
    await gen.generate(req({ images: [img] }));
    await gen.generate(req({ images: [img], source: 'volume-7' }));
    expect(seen).toEqual([[img], 'volume-7']);
  });

  const findingsArb = fc.record({
    acuteLesion: fc.constant('present'),
    side: fc.constantFrom('left', 'right'),
    territory: fc.constantFrom('ACA', 'MCA', 'PCA'),
    size: fc.constantFrom('small', 'medium', 'large'),
    location: fc.constantFrom('left insula', 'right frontal lobe'),
    volumeMl: fc.double({ min: 1, max: 200, noNaN: true }),
  });

  fcTest.prop([findingsArb, fc.integer(), fc.double({ min: 0, max: 0.99, noNaN: true })], { numRuns: 50 })(
    'same seed ⇒ same report, whatever the noise',
    async (f, seed, rate) => {
      const make = () => new TemplateReportGenerator({ extractor: fixed(f), noise: { omitRate: rate, lateralityFlipRate: rate, vagueSizeRate: rate } });
      const a = await make().generate(req({ seed }));
      const b = await make().generate(req({ seed }));
      expect(b).toEqual(a);
    },
  );

  it('honours the noise rates over many cases (omit 0.3, flip 0.5, vague 0.2)', async () => {
    const gen = new TemplateReportGenerator({
      extractor: { extract: (x: unknown) => ({ ...findings, volumeMl: 10 + (x as number) }) },
      noise: { omitRate: 0.3, lateralityFlipRate: 0.5, vagueSizeRate: 0.2 },
    });
    let omitted = 0;
    let flipped = 0;
    let vague = 0;
    const n = 400;
    for (let i = 0; i < n; i++) {
      const r = await gen.generate(req({ seed: i, source: i }));
      omitted += 10 - Object.keys(r.fields).length;
      if (r.fields['side'] === 'right' || r.fields['location']?.startsWith('right') || r.fields['impression']?.includes('right')) flipped++;
      if (r.fields['size'] !== undefined && r.fields['size'] !== 'large') vague++;
      if (r.fields['side'] === 'right' && r.fields['impression'] !== undefined) expect(r.fields['impression']).toContain('right');
      if (r.fields['size'] === 'medium') expect(r.text).not.toContain('mL');
    }
    expect(omitted / (n * 10)).toBeGreaterThan(0.25);
    expect(omitted / (n * 10)).toBeLessThan(0.35);
    expect(flipped / n).toBeGreaterThan(0.4);
    expect(flipped / n).toBeLessThan(0.6);
    // 'large' can only move to 'medium'; seen only when size itself was not omitted (0.7).
    expect(vague / n).toBeGreaterThan(0.2 * 0.7 - 0.06);
    expect(vague / n).toBeLessThan(0.2 * 0.7 + 0.06);
  });

  it('is exact with all rates at 0', async () => {
    const gen = new TemplateReportGenerator({ extractor: fixed(findings), noise: { omitRate: 0, lateralityFlipRate: 0, vagueSizeRate: 0 } });
    for (let s = 0; s < 20; s++) expect((await gen.generate(req({ seed: s }))).fields['side']).toBe('left');
  });

  it('works with other schemas (no stroke impression composed)', async () => {
    const schema = defineReportSchema({ name: 'tumour', fields: [{ key: 'enhancing', label: 'Enhancing', kind: 'enum', values: ['yes', 'no'] }, { key: 'impression', label: 'Impression', kind: 'text', required: false }] });
    const r = await new TemplateReportGenerator({ extractor: fixed({ enhancing: 'yes' }) }).generate(req({ schema }));
    expect(r.text).toBe('Enhancing: yes');
  });

  it('rejects bad options and findings with the argument named', async () => {
    expectArgumentError(() => new TemplateReportGenerator({} as never), InvalidArgumentError, 'options.extractor');
    expectArgumentError(() => new TemplateReportGenerator({ extractor: fixed({}), noise: { omitRate: 1 } }), InvalidArgumentError, 'options.noise.omitRate');
    const bad = new TemplateReportGenerator({ extractor: fixed({ side: 'up' }) });
    await expectArgumentRejection(bad.generate(req()), InvalidArgumentError, 'findings.side');
    const neg = new TemplateReportGenerator({ extractor: fixed({ volumeMl: -1 }) });
    await expectArgumentRejection(neg.generate(req()), InvalidArgumentError, 'findings.volumeMl');
    const aborted = new AbortController();
    aborted.abort();
    expect((await new TemplateReportGenerator({ extractor: fixed(findings) }).generate(req({ signal: aborted.signal })).catch((e) => e)).code).toBe('aborted');
  });
});

describe('MockTextGenerator', () => {
  it('records calls and answers from the script, then from the template', async () => {
    const mock = new MockTextGenerator({
      responses: [
        '```json\n{"sequences":"DWI","acuteLesion":"yes","side":"R","territory":"PCA","location":"occipital","size":"small","signal":"bright","massEffect":"none","oldLesions":"none","impression":"acute right PCA infarct."}\n```',
        new Error('boom'),
        { fields: { acuteLesion: 'absent' } },
        (r, i) => `Side: left | Acute lesion: present | Sequences: ${r.prompt} ${i} | Territory: MCA | Location: x | Size: small | Signal: y | Mass effect: none | Old lesions: none | Impression: z`,
        '{"side":"left"}',
      ],
      fields: { side: 'bilateral' },
    });
    const r0 = await mock.generate(req());
    expect(r0.fields['side']).toBe('right');
    expect(r0.fields['acuteLesion']).toBe('present');
    await expect(mock.generate(req())).rejects.toThrow('boom');
    expect((await mock.generate(req())).text).toBe('Acute lesion: absent');
    expect((await mock.generate(req({ prompt: 'P' }))).fields['sequences']).toBe('P 3');
    const err = await mock.generate(req()).catch((e) => e);
    expect(ReportValidationError.isInstance(err)).toBe(true);
    const t = await mock.generate(req());
    expect(t.fields['side']).toBe('bilateral');
    expect(t.fields['territory']).toBe('ACA');
    expect(t.fields['impression']).toBe('unremarkable');
    expect(mock.calls).toHaveLength(6);
    expect(mock.calls[3]!.prompt).toBe('P');
  });

  it("fallback 'error' rejects once the script is used up", async () => {
    const mock = new MockTextGenerator({ fallback: 'error' });
    await expect(mock.generate(req())).rejects.toThrow(/no scripted response/);
    expectArgumentError(() => new MockTextGenerator({ fallback: 'x' as never }), InvalidArgumentError, 'options.fallback');
  });
});
