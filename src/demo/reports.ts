/**
 * The demo's reports: written once per patient from findings measured on the image (the
 * template generator with LLM-like noise), cached in an append-only file so that a rerun re-uses
 * them, and withheld for a seeded 5 % of patients (reports go missing in real cohorts too).
 *
 * @packageDocumentation
 */
import * as path from 'node:path';
import { Random } from '../core/random.js';
import { cohortImage, type PatientImage, type SyntheticCohort } from '../data/cohort.js';
import { findingsExtractor } from '../data/findings.js';
import { renderSlice } from '../data/render.js';
import { FileReportCache } from '../node/file-cache.js';
import { generateReports } from '../text/batch.js';
import { TemplateReportGenerator } from '../text/template-generator.js';
import { ProgressBar, type ProgressSink } from './progress.js';

/** Each patient's report text (null: no report), and how many were generated and read from the cache. */
export interface DemoReports {
  texts: Array<string | null>;
  generated: number;
  cached: number;
  missing: number;
}

/**
 * Generates (or reads from `<out>/reports-cache.jsonl`) every patient's report.
 *
 * @throws the first case's error when a report cannot be generated.
 */
export async function cohortReports(cohort: SyntheticCohort, out: string, seed: number, sink: ProgressSink): Promise<DemoReports> {
  const generator = new TemplateReportGenerator<PatientImage>({
    extractor: findingsExtractor,
    noise: { omitRate: 0.05, lateralityFlipRate: 0.03, vagueSizeRate: 0.1 },
  });
  const cache = await FileReportCache.open(path.join(out, 'reports-cache.jsonl'));
  const bar = new ProgressBar('generating reports', cohort.patients.length, sink);
  const cases = cohort.patients.map((p) => {
    const img = cohortImage(cohort, p.index);
    const slice = renderSlice(img, { sequence: 'DWI' });
    return { id: `patient-${p.index}`, images: [{ data: slice.data, width: slice.width, height: slice.height }], source: img };
  });
  const generated = await generateReports(cases, generator, {
    cache,
    concurrency: 4,
    temperature: 0,
    seed,
    onProgress: (p) => bar.update(p.done, `(${p.cached} cached)`),
  });
  await cache.close();
  bar.done();
  if (generated.failures.length > 0) throw generated.failures[0]!;
  const rng = new Random(seed + 1);
  const texts = cohort.patients.map((p) => (rng.next() < 0.05 ? null : generated.reports[`patient-${p.index}`]!.text));
  return { texts, generated: generated.generatedCount, cached: generated.cachedCount, missing: texts.filter((t) => t === null).length };
}
