/**
 * The non-neural "table + report" reference on a cohort of your own: a logistic regression on
 * the manifest's clinical columns (numeric columns standardised, binary 0/1, categorical one-hot,
 * each with a missing-cell indicator; missing values take the training mean, 0, or no category)
 * and, when the cohort has reports, the fields parsed from each report (`reportFeatures`),
 * fitted with an L2 penalty of 1/n on the standardised weights (a unit Gaussian prior: small
 * cohorts would otherwise separate and the fit diverge).
 *
 * @packageDocumentation
 */
import type { ClinicalRow } from '../../data/clinical.js';
import type { ColumnSpec } from '../../encoders/tabular/preprocessor.js';
import type { PatientsWithReports } from '../data.js';
import { reportFeatures } from '../reports.js';

/** How each clinical column becomes features, fitted on the training rows. */
type ColumnEncoding =
  | { name: string; kind: 'numeric'; mean: number; sd: number }
  | { name: string; kind: 'binary' }
  | { name: string; kind: 'categorical'; categories: string[] };

const present = (v: unknown): boolean => v !== null && v !== undefined && !(typeof v === 'number' && Number.isNaN(v));

/** Fits the column encodings on the training rows (categories: the schema's, else those seen). */
export function fitTableEncoding(rows: readonly ClinicalRow[], columns: readonly ColumnSpec[]): ColumnEncoding[] {
  return columns.map((c): ColumnEncoding => {
    const values = rows.map((r) => r[c.name]).filter(present);
    if (c.type === 'numeric') {
      const xs = values.map(Number);
      const mean = xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
      const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
      return { name: c.name, kind: 'numeric', mean, sd: sd > 0 ? sd : 1 };
    }
    if (c.type === 'binary') return { name: c.name, kind: 'binary' };
    const categories = c.categories ? c.categories.map(String) : [...new Set(values.map(String))].sort();
    return { name: c.name, kind: 'categorical', categories };
  });
}

/** One row's table features: per column its value(s) and a missing-cell indicator. */
function encodeRow(encoding: readonly ColumnEncoding[], row: ClinicalRow): number[] {
  const out: number[] = [];
  for (const e of encoding) {
    const v = row[e.name];
    const has = present(v);
    if (e.kind === 'numeric') out.push(has ? (Number(v) - e.mean) / e.sd : 0);
    else if (e.kind === 'binary') out.push(has && Number(v) === 1 ? 1 : 0);
    else for (const c of e.categories) out.push(has && String(v) === c ? 1 : 0);
    out.push(has ? 0 : 1);
  }
  return out;
}

/** The reference's features of every patient: the table's, then the report's when `texts` is given. */
export function referenceRows(encoding: readonly ColumnEncoding[], patients: PatientsWithReports): number[][] {
  return patients.cohort.rows.map((row, i) => [...encodeRow(encoding, row), ...(patients.texts ? reportFeatures(patients.texts[i]!) : [])]);
}
