// Integration with the other modules: the findings extractor feeds the text module's
// TemplateReportGenerator unchanged (findings keyed by the stroke report schema), and the cohort's
// column schema and rows feed the TabularPreprocessor unchanged.
import { describe, expect, it } from 'vitest';
import { STROKE_REPORT_FIELDS, TemplateReportGenerator, strokeReportSchema, type FindingsExtractor } from '../../src/index.js';
import { TabularPreprocessor } from '../../src/encoders/tabular/preprocessor.js';
import { cohortImage, findingsExtractor, generateSyntheticCohort, type PatientImage } from '../../src/index.js';

describe('findings extractor → TemplateReportGenerator', () => {
  it('uses exactly the stroke report schema keys and renders a report', async () => {
    const extractor: FindingsExtractor<PatientImage> = findingsExtractor;
    const cohort = generateSyntheticCohort({ patients: 6, seed: 42, layout: '2d' });
    const generator = new TemplateReportGenerator<PatientImage>({ extractor });
    for (const p of cohort.patients) {
      const image = cohortImage(cohort, p.index);
      const findings = findingsExtractor.extract(image);
      expect(Object.keys(findings).filter((k) => k !== 'volumeMl').sort()).toEqual([...STROKE_REPORT_FIELDS].sort());
      const result = await generator.generate({ images: [], source: image, prompt: 'report', schema: strokeReportSchema, temperature: 0, seed: 1 });
      expect(result.text).toContain(`Acute lesion: ${findings.acuteLesion}`);
      expect(result.text).toContain(`Territory: ${findings.territory}`);
    }
  });
});

describe('cohort table → TabularPreprocessor', () => {
  it('takes cohort.schema as its column spec and cohort.rows as its table', () => {
    const cohort = generateSyntheticCohort({ patients: 50, seed: 3, layout: '2d', imageShape: [8, 8] });
    const pre = new TabularPreprocessor({ columns: cohort.schema });
    const { values, mask, batch, features } = pre.fit(cohort.rows).transformArrays(cohort.rows);
    expect(batch).toBe(50);
    expect(features).toBe(cohort.schema.length);
    expect(values.every(Number.isFinite)).toBe(true);
    // A missing cell is masked out, a present one is not.
    const names = pre.featureNames;
    cohort.rows.forEach((row, r) => {
      names.forEach((name, f) => expect(mask[r * features + f]).toBe(row[name] === null ? 0 : 1));
    });
  });
});
