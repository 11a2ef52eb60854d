/**
 * The outputs of a study on a cohort of your own, built from its finished cells only (so a
 * resumed, a sharded-and-merged and an uninterrupted run write the same results):
 * `study.json`, `study.md`, `predictions.csv` (every cell's test predictions, by patient) and the
 * plots. Every one of them states the protocol, and that no true risk is known.
 *
 * @packageDocumentation
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { writePlots } from '../../demo/outputs.js';
import { formatCsv } from '../../node/cohort/csv.js';
import { decodeFloat32, decodeUint8 } from '../cells.js';
import { ABLATION_SUITE } from '../claims.js';
import { name, pm, pValue, signed, type StudyMeta } from '../outputs.js';
import { type CohortComparison, CohortCellIndex, type CohortModelSummary, compareAblations, comparisonPairs, summarizeCohortModels } from './analysis.js';
import type { CohortCellRecord } from './cells.js';
import { cohortCellId, type CohortCellKey, type CohortStudySettings, protocolText } from './design.js';
import { comparisonsSpec, foldAucSpec } from './plots.js';

/** Format tag of a cohort study's `study.json`. */
const COHORT_STUDY_FORMAT = 'vdafm-cohort-study/1';

/** What every output says about the evaluation without a true risk. */
const NO_TRUE_RISK =
  'A cohort of your own has no known true risk: there is no Bayes-optimal AUC, no regret and no oracle, only the models measured against each other on held-out patients.';

/** Why the plain interval of a k-fold comparison is too narrow, and what corrects it. */
const FOLD_DEPENDENCE =
  "The folds' differences are not independent (their training sets overlap and each repeat reuses every patient), so the plain t-interval over folds × repeats is too narrow; the corrected resampled t-test (Nadeau & Bengio 2003) inflates the variance by 1/J + n_test/n_train and is the one read. DeLong's test per fold covers each fold's test sampling only.";

/** The whole of a cohort study's `study.json`. */
export interface CohortStudyJson {
  format: typeof COHORT_STUDY_FORMAT;
  quick: boolean;
  /** The protocol, in words and as settings. */
  protocol: CohortStudySettings['protocol'] & { description: string };
  complete: boolean;
  planned: number;
  finished: number;
  missing: string[];
  settings: CohortStudySettings;
  suite: typeof ABLATION_SUITE;
  models: CohortModelSummary[];
  comparisons: CohortComparison[];
  notes: string[];
  computeSeconds: number;
  /** Every finished cell without its predictions (they stay in `file` and predictions.csv). */
  cells: Array<Omit<CohortCellRecord, 'scores' | 'format'> & { file: string }>;
  meta: StudyMeta;
}

/** Builds `study.json`'s content from the plan and the finished cells. */
export function buildCohortStudyJson(settings: CohortStudySettings, planned: readonly CohortCellKey[], cells: readonly CohortCellRecord[], meta: StudyMeta): CohortStudyJson {
  const plannedIds = new Set(planned.map(cohortCellId));
  const mine = cells.filter((c) => plannedIds.has(c.id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const have = new Set(mine.map((c) => c.id));
  const index = new CohortCellIndex(mine);
  return {
    format: COHORT_STUDY_FORMAT,
    quick: settings.quick,
    protocol: { ...settings.protocol, description: protocolText(settings.protocol) },
    complete: have.size === plannedIds.size,
    planned: plannedIds.size,
    finished: have.size,
    missing: [...plannedIds].filter((id) => !have.has(id)).sort(),
    settings,
    suite: ABLATION_SUITE,
    models: summarizeCohortModels(index, settings),
    comparisons: comparisonPairs(settings.ablations).map((p) => compareAblations(p, index, settings)),
    notes: [NO_TRUE_RISK, ...(settings.protocol.kind === 'k-fold' ? [FOLD_DEPENDENCE] : [])],
    computeSeconds: mine.reduce((s, c) => s + c.run.seconds, 0),
    cells: mine.map(({ scores: _s, format: _f, ...rest }) => ({ ...rest, file: `cells/${rest.id}.json` })),
    meta,
  };
}

const ci = (lower: number, upper: number) => (Number.isFinite(lower) ? `[${signed(lower)}, ${signed(upper)}]` : 'n/a');

function comparisonsTable(study: CohortStudyJson): string {
  const kfold = study.protocol.kind === 'k-fold';
  return [
    `| comparison (a − b) | what differs | ${kfold ? 'folds × repeats' : 'repeats'} | mean ΔAUC | plain 95% t-interval | ${kfold ? 'corrected 95% interval (Nadeau–Bengio), p' : '—'} | DeLong p per ${kfold ? 'fold' : 'repeat'}: median (# < 0.05) | reading |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...study.comparisons.map((c) => {
      const corrected = c.corrected ? `${ci(c.corrected.lower, c.corrected.upper)}, p ${pValue(c.corrected.pValue)}` : '—';
      const dl = c.delong ? `${pValue(c.delong.medianP)} (${c.delong.significant}/${c.perCell.length})` : '—';
      return `| \`${c.a}\` − \`${c.b}\` (pair of the synthetic study's ${c.claim}) | ${c.differs} | ${c.interval.n} | ${signed(c.interval.mean)} | ${ci(c.interval.lower, c.interval.upper)} | ${corrected} | ${dl} | ${study.quick ? `(quick) ${c.reading}` : `**${c.reading}**`} |`;
    }),
  ].join('\n');
}

function modelsTable(study: CohortStudyJson): string {
  const kfold = study.protocol.kind === 'k-fold';
  return [
    `| model | cells | test AUC per ${kfold ? 'fold' : 'repeat'} | ${kfold ? 'pooled out-of-fold AUC per repeat | ' : ''}AUPRC | log-loss | Brier | ECE | calibration slope | calibration intercept | validation AUC | epochs | seconds |`,
    `| --- | --- | --- | ${kfold ? '--- | ' : ''}--- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...study.models.map((m) => {
      const x = m.metrics;
      const epochs = m.epochs ? `${m.epochs.mean.toFixed(1)}${Number.isFinite(m.epochs.sd) ? ` ± ${m.epochs.sd.toFixed(1)}` : ''}` : '—';
      const pooled = kfold ? `${m.pooledAuc ? `${pm(m.pooledAuc)} (${m.pooledAuc.repeats})` : '—'} | ` : '';
      return `| \`${m.ablation}\` ${name(m.ablation)} | ${m.cells} | ${pm(x.auc)} | ${pooled}${pm(x.auprc)} | ${pm(x.logLoss)} | ${pm(x.brier)} | ${pm(x.ece)} | ${pm(x.calibrationSlope)} | ${pm(x.calibrationIntercept)} | ${pm(x.valAuc)} | ${epochs} | ${m.seconds.mean.toFixed(1)} |`;
    }),
  ].join('\n');
}

/** `study.md`. */
function cohortStudyMarkdown(study: CohortStudyJson): string {
  const { settings, meta } = study;
  const c = settings.cohort;
  const lines: string[] = [`# vdafm study on your cohort${study.quick ? ' (QUICK)' : ''}: ${c.outcome}, ${study.protocol.description}`, ''];
  if (study.quick) lines.push('> **QUICK RUN**: a smoke test (the quick suite, few epochs). Read nothing into its numbers.', '');
  if (!study.complete) lines.push(`> **Incomplete**: ${study.finished} of ${study.planned} planned cells are finished; missing: ${study.missing.slice(0, 12).join(', ')}${study.missing.length > 12 ? ', …' : ''}.`, '');
  const p = settings.protocol;
  const share = settings.validationShare / (1 + settings.validationShare);
  lines.push(
    `Cohort: ${c.patients} patients of ${c.source}, ${c.positive} positive (${c.outcome}); images [${c.imageShape.join(', ')}] (${c.sequences.join(', ')}); ${c.withText ? 'with reports' : 'no reports'}; digest ${c.digest}.`,
    '',
    `**Protocol: ${study.protocol.description}.** ` +
      (p.kind === 'k-fold'
        ? `Each repeat deals the patients into ${p.folds} outcome-stratified folds (seeded); each fold's patients are tested by models trained on the others, of which a stratified ${Math.round(share * 100)}% validate (early stopping, late fusion's stacker). `
        : `Every repeat tests on the manifest's test patients and validates on its \`val\` patients or, without them, on a stratified ${Math.round(share * 100)}% of the others drawn anew each repeat; each repeat has a new initialisation. `) +
      `Seed ${settings.seed}. ${NO_TRUE_RISK}`,
    '',
    `Run ${meta.date} on commit ${meta.commit ?? 'unknown'}${meta.dirty ? ' (with uncommitted changes)' : ''}, \`${meta.command}\`; backend ${meta.backend}, ${meta.cpu.count} × ${meta.cpu.model}, Node ${meta.node}. ${study.finished} cells, ${(study.computeSeconds / 60).toFixed(1)} min of cell compute${meta.sources ? ` (merged from ${meta.sources.length} folder(s))` : ''}.`,
    '',
    '## Comparisons',
    '',
    'There are no pre-registered claims for a cohort of your own: the pairs below are the ones the synthetic study\'s claims compare, each differing in the factor named, and their reading is descriptive: **a higher** or **b higher** when the interval read lies above or below 0, **no clear difference** otherwise.',
    '',
    study.comparisons.length > 0 ? comparisonsTable(study) : '_No pair of the suite ran._',
    '',
    p.kind === 'k-fold'
      ? FOLD_DEPENDENCE
      : "The repeats share the test patients: the plain interval over repeats covers the training's variability (initialisation, validation split), not the test sampling, which DeLong's test per repeat covers.",
    '',
    '![Comparisons](comparisons.svg)',
    '',
    '## Models',
    '',
    `Test metrics on each ${p.kind === 'k-fold' ? "fold's held-out" : 'repeat\'s test'} patients, mean ± sd over the cells${p.kind === 'k-fold' ? "; the pooled AUC ranks each repeat's out-of-fold predictions together (every patient once)" : ''}:`,
    '',
    study.models.length > 0 ? modelsTable(study) : '_No finished cells._',
    '',
    '![Test AUC per fold](fold-auc.svg)',
    '',
  );
  if (settings.leftOut.length > 0) lines.push('Not run: ' + settings.leftOut.map((l) => `\`${l.ablation}\` (${l.reason})`).join('; ') + '.', '');
  lines.push('Files: `study.json` (everything: settings, protocol, per-cell metrics and histories, comparisons with their per-fold values), `cells/*.json` (one per cell, with its predictions), `predictions.csv` (the test predictions by patient, repeat and fold), the plots as `*.svg` and `*.vl.json`.', '');
  return lines.join('\n');
}

/** `predictions.csv`: one line per test patient of each repeat and fold: id, label, P(positive) of each ablation. */
function predictionsCsv(study: CohortStudyJson, cells: readonly CohortCellRecord[], ids: readonly string[]): string {
  const ablations = study.settings.ablations;
  const groups = new Map<string, Map<string, CohortCellRecord>>();
  for (const c of cells) {
    const g = `${c.key.repeat}|${c.key.fold}`;
    if (!groups.has(g)) groups.set(g, new Map());
    groups.get(g)!.set(c.key.ablation, c);
  }
  const rows: string[][] = [];
  for (const [g, byAblation] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [repeat, fold] = g.split('|');
    const any = [...byAblation.values()][0]!;
    const labels = decodeUint8(any.test.labels);
    const scores = ablations.map((a) => (byAblation.has(a) ? decodeFloat32(byAblation.get(a)!.scores.test) : null));
    any.test.indices.forEach((p, k) => rows.push([ids[p] ?? String(p), study.protocol.kind, repeat!, fold === '0' ? 'test' : fold!, String(labels[k]), ...scores.map((s) => (s ? String(s[k]) : ''))]));
  }
  return formatCsv([['id', 'protocol', 'repeat', 'fold', 'label', ...ablations], ...rows]);
}

/**
 * Writes `study.json`, `study.md`, `predictions.csv` and the plots into `out`.
 *
 * @param ids - the cohort's patient ids (the plan's), to name the rows of predictions.csv.
 * @returns the files written (SVGs only when vega and vega-lite are installed).
 */
export async function writeCohortStudyOutputs(out: string, study: CohortStudyJson, cells: readonly CohortCellRecord[], ids: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const write = (file: string, data: string | Uint8Array) => {
    const p = path.join(out, file);
    writeFileSync(p, data);
    files.push(p);
  };
  const mine = cells.filter((c) => study.cells.some((k) => k.id === c.id));
  write('study.json', `${JSON.stringify(study, null, 1)}\n`);
  write('study.md', cohortStudyMarkdown(study));
  write('predictions.csv', predictionsCsv(study, mine, ids));
  const q = study.quick ? ' (QUICK run)' : '';
  await writePlots(
    [
      ['comparisons', comparisonsSpec(study.comparisons, `Paired ΔAUC, ${study.protocol.description}${q}`, study.protocol.kind === 'k-fold' ? 'thin grey: plain t-interval over folds × repeats; thick: corrected resampled t-interval (read)' : 'interval over repeats (same test patients)')],
      ['fold-auc', foldAucSpec(mine, study.settings.ablations, `Test AUC per ${study.protocol.kind === 'k-fold' ? 'fold' : 'repeat'}, ${study.protocol.description}${q}`)],
    ],
    write,
  );
  return files;
}
