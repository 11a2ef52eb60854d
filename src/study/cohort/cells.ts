/**
 * The cell file of a study on a cohort of your own: one finished cell (repeat × fold ×
 * ablation) as a self-contained JSON file, `cells/<id>.json`, written atomically like the
 * synthetic study's (../cells.ts): its settings and their fingerprint (which include the
 * cohort's digest and the protocol), its test patients (positions in the cohort and labels),
 * its metrics, its validation and test predictions, and its training history. There is no true
 * risk: no regret, no excess log-loss.
 *
 * @packageDocumentation
 */
import type { LogisticModel } from '../../metrics/logistic.js';
import { type CellRecord, type Json, parseCellText, type PredictionMetrics } from '../cells.js';
import { cohortCellId, type CohortCellKey, type CohortProtocol } from './design.js';

/** Format tag of a cohort study's cell files. */
export const COHORT_CELL_FORMAT = 'vdafm-cohort-cell/1';

/** Test metrics of a cohort cell (on its fold's test patients). */
export interface CohortCellMetrics extends PredictionMetrics {
  /** Average precision (area under the precision-recall curve). */
  auprc: number;
}

/** One finished cell of a study on a cohort. */
export interface CohortCellRecord {
  format: typeof COHORT_CELL_FORMAT;
  id: string;
  key: CohortCellKey;
  quick: boolean;
  /** The protocol it belongs to (every output says which). */
  protocol: CohortProtocol['kind'];
  settings: { [key: string]: Json };
  settingsHash: string;
  /** Fingerprint of the settings without the repeat and fold: one value per ablation in a study. */
  recipeHash: string;
  /** The test patients: their positions in the cohort (manifest order of the valid patients) and labels (base64 uint8). */
  test: { patients: number; indices: number[]; labels: string };
  /** Training and validation patients of the cell. */
  sizes: { train: number; val: number };
  metrics: CohortCellMetrics;
  scores: CellRecord['scores'];
  training: CellRecord['training'];
  late?: CellRecord['late'];
  reference?: { model: LogisticModel; features: number };
  run: CellRecord['run'];
}

/**
 * Parses and checks a cohort cell file's text.
 *
 * @throws `InvalidArgumentError` naming the file when it is not a cohort cell, its id does not
 *   match its key, or its settings do not match their fingerprint.
 */
export function parseCohortCell(text: string, file: string): CohortCellRecord {
  return parseCellText(text, file, COHORT_CELL_FORMAT, (c: CohortCellRecord) => c.id === cohortCellId(c.key));
}
