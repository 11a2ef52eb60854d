/**
 * The cell file: one finished cell (scenario × training size × seed × ablation) as a
 * self-contained JSON file, `cells/<id>.json` in the study's output folder, written atomically
 * (a temporary file renamed into place), so a folder only ever holds finished cells. It carries
 * the cell's settings and their fingerprint, its metrics, its validation and test predictions
 * (base64 float32) with the labels (base64 uint8), and its training history.
 *
 * @packageDocumentation
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { LogisticModel } from '../metrics/logistic.js';
import type { TrainingLogs } from '../training/types.js';
import { cellId, type CellKey } from './design.js';
import { digest } from './data.js';

/** Format tag of cell files. */
export const CELL_FORMAT = 'vdafm-study-cell/1';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Metrics of P(positive) predictions on test patients (no true risk needed). */
export interface PredictionMetrics {
  /** ROC-AUC. */
  auc: number;
  /** Mean log-loss. */
  logLoss: number;
  brier: number;
  /** Expected calibration error (10 equal-width bins). */
  ece: number;
  /** Logistic recalibration logit P(y) = intercept + slope · logit(p). */
  calibrationSlope: number;
  calibrationIntercept: number;
  /** ROC-AUC on the validation patients (in-sample for late fusion's stacker). */
  valAuc: number;
}

/** Test-set metrics of a cell (all on the scenario's fixed test cohort). */
export interface CellMetrics extends PredictionMetrics {
  /** AUC of the true probability on the same patients minus `auc`. */
  regret: number;
  /** `logLoss` minus the true probability's mean log-loss on the same patients. */
  excessLogLoss: number;
}

/** One finished cell. */
export interface CellRecord {
  format: typeof CELL_FORMAT;
  id: string;
  key: CellKey;
  quick: boolean;
  /** What produced the cell: data, model and trainer settings (see `cellSettings`). */
  settings: { [key: string]: Json };
  /** sha256 of `settings` (first 16 hex digits): cells with different settings never mix. */
  settingsHash: string;
  /** sha256 of the settings with the seed and training size left out: one value per ablation and scenario in a study. */
  recipeHash: string;
  test: { patients: number; seed: number; labelsDigest: string; bayesAuc: number; bayesLogLoss: number; labels: string };
  metrics: CellMetrics;
  /** Predicted P(poor), base64 of little-endian float32, and the validation labels (base64 uint8). */
  scores: { test: string; val: string; valLabels: string };
  /** Neural cells: the trainer's per-epoch logs (whatever keys it logs), best epoch, whether it stopped early. */
  /** How a neural cell trained: its per-epoch logs and, for the aligned models, the alignment pretraining's (training-batch averages per pretraining epoch). */
  training: { epochs: number; bestEpoch: number | null; stoppedEarly: boolean; history: TrainingLogs[]; pretraining?: TrainingLogs[] } | null;
  /** Late fusion: the stacker and where each unimodal model came from. */
  late?: { stacker: LogisticModel; components: Record<string, { source: 'cell' | 'trained'; valAuc: number; testAuc: number; scoresDigest: string }> };
  /** References: the fitted logistic regression and its feature count. */
  reference?: { model: LogisticModel; features: number };
  /** How the run went (not part of the cell's identity: ignored when comparing duplicates). */
  run: { seconds: number; finishedAt: string; backend: string };
}

/** Float32 values as base64 (little-endian). */
export function encodeFloat32(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** The inverse of {@link encodeFloat32}. */
export function decodeFloat32(text: string): Float32Array {
  const b = Buffer.from(text, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Bytes as base64. */
export function encodeUint8(values: Uint8Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** The inverse of {@link encodeUint8}. */
export function decodeUint8(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'base64'));
}

/** JSON with object keys sorted (a canonical form for hashing and comparing). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The fingerprint of a cell's settings. */
export function settingsHash(settings: unknown): string {
  return digest(canonicalJson(settings));
}

/** A cell's content without its run information (what two copies of one cell must agree on). */
export function cellIdentity(cell: { run: unknown }): string {
  const { run: _run, ...rest } = cell;
  return canonicalJson(rest);
}

/** Where a cell's file goes in an output folder. */
export function cellPath(out: string, key: CellKey | string): string {
  return path.join(out, 'cells', `${typeof key === 'string' ? key : cellId(key)}.json`);
}

/** Writes a cell (of the synthetic study or of a cohort's) atomically (temporary file, then rename). */
export function writeCell(out: string, cell: { id: string }): string {
  const file = cellPath(out, cell.id);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(cell)}\n`);
  renameSync(tmp, file);
  return file;
}

/**
 * Parses and checks a cell file's text.
 *
 * @throws {@link InvalidArgumentError} naming the file when it is not a cell of this format or its id does not match its key.
 */
export function parseCell(text: string, file: string): CellRecord {
  return parseCellText(text, file, CELL_FORMAT, (c: CellRecord) => c.id === cellId(c.key));
}

/**
 * Parses a cell file's JSON and checks its format tag, its id against its key (`idMatches`) and
 * its settings against their fingerprint.
 *
 * @throws {@link InvalidArgumentError} naming the file.
 */
export function parseCellText<C extends { format: string; id: string; key: unknown; settings: unknown; settingsHash: string }>(text: string, file: string, format: string, idMatches: (cell: C) => boolean): C {
  let cell: C;
  try {
    cell = JSON.parse(text) as C;
  } catch (error) {
    throw new InvalidArgumentError({ argument: 'cell', message: `${file} is not valid JSON.`, received: (error as Error).message });
  }
  if (cell?.format !== format || typeof cell.id !== 'string' || !cell.key || !idMatches(cell)) {
    throw new InvalidArgumentError({ argument: 'cell', message: `${file} is not a ${format} file (or its id does not match its key).`, received: cell?.format });
  }
  if (cell.settingsHash !== settingsHash(cell.settings)) {
    throw new InvalidArgumentError({ argument: 'cell', message: `${file}: its settings do not match their fingerprint (edited by hand?).`, received: cell.settingsHash });
  }
  return cell;
}

/** Reads one cell file with `parse`, or null when it does not exist. */
export function readCellFile<C>(out: string, id: string, parse: (text: string, file: string) => C): C | null {
  const file = cellPath(out, id);
  if (!existsSync(file)) return null;
  return parse(readFileSync(file, 'utf8'), file);
}

/** Every cell file of an output folder read with `parse` (sorted by id). */
export function readCellFiles<C>(out: string, parse: (text: string, file: string) => C): C[] {
  const dir = path.join(out, 'cells');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parse(readFileSync(path.join(dir, f), 'utf8'), path.join(dir, f)));
}

/** Reads one cell file, or null when it does not exist. */
export function readCell(out: string, id: string): CellRecord | null {
  return readCellFile(out, id, parseCell);
}

/** Every cell file of an output folder (sorted by id). */
export function readCells(out: string): CellRecord[] {
  return readCellFiles(out, parseCell);
}
