/**
 * The reports of a synthetic cohort as the study uses them: written from findings measured on
 * each image by the template generator with LLM-like noise (the same settings as the demo), a
 * seeded share withheld (reports go missing in real cohorts too), and their parsed fields turned
 * into the features of the non-neural "table + report" reference.
 *
 * @packageDocumentation
 */
import { Random } from '../core/random.js';
import { cohortImage, type PatientImage, type SyntheticCohort } from '../data/cohort.js';
import { findingsExtractor } from '../data/findings.js';
import { generateReports } from '../text/batch.js';
import type { ReportCache } from '../text/cache.js';
import { parseReport } from '../text/parse.js';
import { strokeReportSchema } from '../text/stroke-schema.js';
import { TemplateReportGenerator } from '../text/template-generator.js';

/** The simulated LLM errors of the study's (and the demo's) reports. */
export const REPORT_NOISE = { omitRate: 0.05, lateralityFlipRate: 0.03, vagueSizeRate: 0.1 } as const;

/** Share of patients without a report. */
export const MISSING_REPORT_RATE = 0.05;

/**
 * Every patient's report text (null: no report). Deterministic in (cohort, seed).
 *
 * @param cache - an optional report cache (e.g. a `FileReportCache` in Node) so reruns re-use reports.
 * @throws the first case's error when a report cannot be generated.
 */
export async function cohortReportTexts(cohort: SyntheticCohort, seed: number, cache?: ReportCache, onProgress?: (done: number) => void): Promise<Array<string | null>> {
  const generator = new TemplateReportGenerator<PatientImage>({ extractor: findingsExtractor, noise: REPORT_NOISE });
  const cases = cohort.patients.map((p) => ({ id: `patient-${p.index}`, images: [], source: cohortImage(cohort, p.index) }));
  const generated = await generateReports(cases, generator, {
    ...(cache ? { cache } : {}),
    concurrency: 8,
    temperature: 0,
    seed,
    ...(onProgress ? { onProgress: (p: { done: number }) => onProgress(p.done) } : {}),
  });
  if (generated.failures.length > 0) throw generated.failures[0]!;
  const rng = new Random(seed + 1);
  return cohort.patients.map((p) => (rng.next() < MISSING_REPORT_RATE ? null : generated.reports[`patient-${p.index}`]!.text));
}

const TERRITORY_VALUES = ['ACA', 'MCA', 'PCA', 'basal ganglia', 'internal capsule', 'brainstem', 'cerebellum', 'multiple'];
const LOCATION_WORDS = ['frontal', 'parietal', 'temporal', 'occipital', 'cortex', 'deep white matter', 'anterior limb', 'posterior limb', 'lentiform', 'pons', 'midbrain', 'cerebellar'];
const ORDINAL: Record<string, Record<string, number>> = {
  size: { none: 0, small: 1, medium: 2, large: 3 },
  massEffect: { none: 0, mild: 1, moderate: 2, severe: 3 },
};

/** Names of {@link reportFeatures}, in order. */
export const REPORT_FEATURE_NAMES: readonly string[] = [
  'report missing',
  'acute lesion present',
  'side left',
  'side right',
  'side bilateral',
  ...TERRITORY_VALUES.map((t) => `territory ${t}`),
  'size (0-3)',
  'ln(1 + volume mL)',
  'volume given',
  ...LOCATION_WORDS.map((w) => `location: ${w}`),
  'mass effect (0-3)',
  'old lesions present',
];

/** The first `~N mL` of a text, or null. */
function volumeOf(text: string): number | null {
  const m = /~\s*([0-9]+(?:\.[0-9]+)?)\s*mL/i.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Numeric features of a report's parsed fields (what a reader of the report can use): presence,
 * side, territory, size and stated volume, location words, mass effect, old lesions. A missing
 * report gives its own indicator and zeros; a field the report leaves out counts as absent.
 *
 * @example
 * ```ts
 * reportFeatures('Side: left | Territory: MCA | Size: small (~12 mL) | Old lesions: none').length; // REPORT_FEATURE_NAMES.length
 * ```
 */
export function reportFeatures(text: string | null): number[] {
  const out = new Array<number>(REPORT_FEATURE_NAMES.length).fill(0);
  if (text === null) {
    out[0] = 1;
    return out;
  }
  let fields: Record<string, string> = {};
  try {
    fields = parseReport(text, strokeReportSchema).fields as Record<string, string>;
  } catch {
    fields = {};
  }
  let i = 1;
  const territory = fields['territory'] ?? 'none';
  out[i++] = fields['acuteLesion'] === 'present' || (territory !== 'none' && fields['acuteLesion'] !== 'absent') ? 1 : 0;
  for (const s of ['left', 'right', 'bilateral']) out[i++] = fields['side'] === s ? 1 : 0;
  for (const t of TERRITORY_VALUES) out[i++] = territory === t ? 1 : 0;
  out[i++] = ORDINAL['size']![fields['size'] ?? 'none'] ?? 0;
  const volume = volumeOf(text);
  out[i++] = volume === null ? 0 : Math.log1p(volume);
  out[i++] = volume === null ? 0 : 1;
  const location = (fields['location'] ?? '').toLowerCase();
  for (const w of LOCATION_WORDS) out[i++] = location.includes(w) ? 1 : 0;
  out[i++] = ORDINAL['massEffect']![fields['massEffect'] ?? 'none'] ?? 0;
  out[i++] = fields['oldLesions'] === 'present' ? 1 : 0;
  return out;
}
