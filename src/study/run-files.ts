/**
 * The files of a study run, for the synthetic study (./study.ts) and for a cohort of your own
 * (./cohort/study.ts) alike: `plan.json` (the settings and the planned cells, identical for every
 * shard), the finished cells found in an output folder (checked against the settings this run
 * would use), the run information of the outputs, and the cells chosen from several folders when
 * they are merged.
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import { canonicalJson, cellIdentity, readCellFile, writeCell } from './cells.js';
import type { StudyMeta } from './outputs.js';

/** Writes a file atomically (a temporary file renamed into place). */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** A `plan.json`: its format tag, the settings and the planned cell ids. */
export interface PlanFileOf<S> {
  format: string;
  settings: S;
  cells: string[];
}

/** The format tag of `dir/plan.json`, or null when there is none (not a study folder). */
export function planFormat(dir: string): string | null {
  const file = path.join(dir, 'plan.json');
  if (!existsSync(file)) return null;
  return (JSON.parse(readFileSync(file, 'utf8')) as { format?: string }).format ?? null;
}

/**
 * Reads `dir/plan.json`, or null when there is none.
 *
 * @throws {@link InvalidArgumentError} (argument `out`) when it is not of `format`.
 */
function readPlan<S>(dir: string, format: string): PlanFileOf<S> | null {
  const file = path.join(dir, 'plan.json');
  if (!existsSync(file)) return null;
  const plan = JSON.parse(readFileSync(file, 'utf8')) as PlanFileOf<S>;
  if (plan.format !== format) throw new InvalidArgumentError({ argument: 'out', message: `${file} is not a ${format} file.`, received: plan.format });
  return plan;
}

/**
 * Writes `out/plan.json` for a run (creating `out`).
 *
 * @throws {@link InvalidArgumentError} (argument `out`) when `out` holds a study with other
 *   settings and `resume` is false.
 */
export function writePlan<S>(out: string, plan: PlanFileOf<S>, resume: boolean): void {
  mkdirSync(out, { recursive: true });
  const existing = readPlan<S>(out, plan.format);
  if (existing && canonicalJson(existing.settings) !== canonicalJson(plan.settings) && !resume) {
    throw new InvalidArgumentError({ argument: 'out', message: `${out} holds a study with other settings (plan.json).`, fix: 'Use another --out folder, or pass --resume to re-plan it (finished cells with the same settings are kept).' });
  }
  writeAtomic(path.join(out, 'plan.json'), `${JSON.stringify(plan, null, 1)}\n`);
}

/**
 * The finished cells of this run found in `out`, checked: each must have the settings this run
 * would use (`hash`). A corrupt file counts as unfinished (with a warning).
 *
 * @param cells - this run's cells: id and expected settings fingerprint.
 * @param parse - reads a cell file's text.
 * @throws {@link InvalidArgumentError} (argument `out`) when a finished cell has other settings,
 *   or when there are finished cells and `resume` is false.
 */
export function finishedCells<C extends { id: string; settingsHash: string }>(
  out: string,
  cells: ReadonlyArray<{ id: string; hash: () => string }>,
  parse: (text: string, file: string) => C,
  o: { resume: boolean; log: (line: string) => void },
): Map<string, C> {
  const found = new Map<string, C>();
  const mismatched: string[] = [];
  for (const k of cells) {
    let cell: C | null = null;
    try {
      cell = readCellFile(out, k.id, parse);
    } catch (error) {
      o.log(`warning: ${(error as Error).message} It will be recomputed.`);
    }
    if (!cell) continue;
    if (cell.settingsHash !== k.hash()) mismatched.push(cell.id);
    else found.set(cell.id, cell);
  }
  if (mismatched.length > 0) {
    throw new InvalidArgumentError({
      argument: 'out',
      message: `${mismatched.length} finished cell(s) in ${out} were computed with other settings than this run's (e.g. src/study/ablations.ts changed): ${mismatched.slice(0, 5).join(', ')}${mismatched.length > 5 ? ', …' : ''}.`,
      fix: 'Use another --out folder, or delete those cells to recompute them.',
    });
  }
  if (found.size > 0 && !o.resume) {
    throw new InvalidArgumentError({
      argument: 'out',
      message: `${out} already holds ${found.size} finished cell(s) of this run.`,
      fix: 'Pass --resume to keep them and run the others, or use another --out folder.',
    });
  }
  return found;
}

/** A cell by id: from this run's memory, else from its file in `out` (null when missing or unreadable). */
export function cellFinder<C>(out: string, memory: ReadonlyMap<string, C>, parse: (text: string, file: string) => C): (id: string) => C | null {
  return (id) => {
    const m = memory.get(id);
    if (m) return m;
    try {
      return readCellFile(out, id, parse);
    } catch {
      return null;
    }
  };
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return null;
  }
}

/** Run information: commit (env `VDAFM_COMMIT`, `GITHUB_SHA`, or git), date, machine. */
export function runMeta(command: string, started: number, clock: () => number, extra: Partial<StudyMeta> = {}): StudyMeta {
  const envCommit = process.env['VDAFM_COMMIT'] ?? process.env['GITHUB_SHA'] ?? null;
  const commit = envCommit ?? git(['rev-parse', 'HEAD']);
  const status = envCommit ? null : git(['status', '--porcelain', '--untracked-files=no']);
  const cpus = os.cpus();
  return {
    date: new Date(clock()).toISOString(),
    command,
    commit,
    dirty: status === null ? null : status.length > 0,
    wallSeconds: (clock() - started) / 1000,
    backend: tf.getBackend() ?? 'none',
    cpu: { model: cpus[0]?.model ?? 'unknown', count: cpus.length },
    node: process.version,
    ...extra,
  };
}

/**
 * The study folders to merge, resolved and sorted, with their plans: all of one study (the same
 * `plan.json` settings).
 *
 * @throws {@link InvalidArgumentError} (argument `dirs`) for no folder, a folder without
 *   `plan.json`, or folders of different studies.
 */
export function mergePlans<S>(dirs: readonly string[], format: string): { sorted: string[]; plan: PlanFileOf<S> } {
  if (dirs.length === 0) throw new InvalidArgumentError({ argument: 'dirs', message: 'merge needs at least one study folder.', received: dirs });
  const sorted = [...new Set(dirs.map((d) => path.resolve(d)))].sort();
  const plans = sorted.map((d) => {
    const p = readPlan<S>(d, format);
    if (!p) throw new InvalidArgumentError({ argument: 'dirs', message: `${d} has no plan.json: not a study folder.`, received: d });
    return p;
  });
  for (let i = 1; i < plans.length; i++) {
    if (canonicalJson(plans[i]!.settings) !== canonicalJson(plans[0]!.settings)) {
      throw new InvalidArgumentError({ argument: 'dirs', message: `${sorted[i]} holds a study with other settings than ${sorted[0]} (plan.json differs).`, received: sorted[i] });
    }
  }
  return { sorted, plan: plans[0]! };
}

/**
 * Each cell of several folders once: two copies of a cell must be identical apart from their
 * run information (the one with the smallest run record is kept, whatever the folders' order).
 *
 * @throws {@link InvalidArgumentError} (argument `dirs`) naming the cells whose copies differ.
 */
export function chooseCells<C extends { id: string; run: unknown }>(dirs: readonly string[], readAll: (dir: string) => C[]): C[] {
  const byId = new Map<string, C[]>();
  for (const d of dirs) for (const c of readAll(d)) byId.set(c.id, [...(byId.get(c.id) ?? []), c]);
  const conflicts: string[] = [];
  const chosen: C[] = [];
  for (const [id, copies] of [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (new Set(copies.map(cellIdentity)).size > 1) {
      conflicts.push(id);
      continue;
    }
    chosen.push([...copies].sort((a, b) => (canonicalJson(a.run) < canonicalJson(b.run) ? -1 : canonicalJson(a.run) > canonicalJson(b.run) ? 1 : 0))[0]!);
  }
  if (conflicts.length > 0) {
    throw new InvalidArgumentError({
      argument: 'dirs',
      message: `${conflicts.length} cell(s) differ between folders (not only in their run information): ${conflicts.slice(0, 5).join(', ')}${conflicts.length > 5 ? ', …' : ''}.`,
      fix: 'Keep one copy of each (delete the others) and merge again.',
    });
  }
  return chosen;
}

/** Copies cells into `out/cells` (leaving identical files alone) and writes `out/plan.json`. */
export function writeMerged<S, C extends { id: string }>(out: string, cells: readonly C[], plan: PlanFileOf<S>, parse: (text: string, file: string) => C): void {
  mkdirSync(path.join(out, 'cells'), { recursive: true });
  for (const c of cells) {
    let existing: C | null = null;
    try {
      existing = readCellFile(out, c.id, parse);
    } catch {
      existing = null;
    }
    if (!existing || canonicalJson(existing) !== canonicalJson(c)) writeCell(out, c);
  }
  writeAtomic(path.join(out, 'plan.json'), `${JSON.stringify(plan, null, 1)}\n`);
}

/** Options of `mergeStudies` and `mergeCohortStudies`. */
export interface MergeOptions {
  /** The merged study's folder (may be one of the inputs). */
  out: string;
  log?: (line: string) => void;
  command?: string;
  /**
   * When the run began (the clock's milliseconds, e.g. the start of `vdafm study --jobs`): the
   * study's wall time counts from it. @defaultValue the start of the merge
   */
  started?: number;
  /** @internal */
  clock?: () => number;
}
