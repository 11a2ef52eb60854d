/**
 * The study's outputs, built from its finished cells only (so a resumed, a sharded-and-merged
 * and an uninterrupted run write the same results): `study.json` (everything, per seed and
 * cell), `study.md` (per-model tables, the claims with their verdicts, the learning curve) and
 * the plots (`*.vl.json` vega-lite specs, `*.svg` when vega is installed).
 *
 * @packageDocumentation
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ScenarioName } from '../data/scenarios.js';
import { renderSvg, type VegaLiteSpec } from '../demo/plots.js';
import { CellIndex, type ClaimResult, type CurvePoint, judgeClaim, learningCurve, type ModelSummary, summarizeModels } from './analysis.js';
import { type CellRecord, decodeUint8 } from './cells.js';
import { ABLATION_SUITE, CLAIMS, STUDY_PROTOCOL } from './claims.js';
import { type CellKey, cellId, type StudySettings } from './design.js';
import { forestSpec, learningCurveSpec, regretSpec } from './plots.js';

/** Format tag of `study.json`. */
const STUDY_FORMAT = 'vdafm-study/1';

/** Run information of `study.json` (everything that differs between two runs of the same cells). */
export interface StudyMeta {
  date: string;
  command: string;
  /** `git rev-parse HEAD` (or `$VDAFM_COMMIT` / `$GITHUB_SHA`), null when unknown. */
  commit: string | null;
  /** Whether the work tree had uncommitted changes (null when unknown). */
  dirty: boolean | null;
  /** Wall time of the process that wrote the outputs. */
  wallSeconds: number;
  backend: string;
  cpu: { model: string; count: number };
  node: string;
  /** The folders a merge read (sorted). */
  sources?: string[];
}

/** The pre-registered ceilings of a scenario (docs/results/ceilings), when found. */
interface CeilingsPointer {
  file: string;
  population?: Record<string, number>;
  finiteSample?: Array<{ trainSize: number; auc: number; sd: number; regret: number }>;
}

/** Per-scenario results. */
interface ScenarioResults {
  test: { patients: number; seed: number; labelsDigest: string; bayesAuc: number; bayesLogLoss: number; prevalence: number } | null;
  /** The main comparison: one summary per ablation at the main training size. */
  models: ModelSummary[];
  curve: CurvePoint[];
  ceilings: CeilingsPointer;
}

/** The whole of `study.json`. */
export interface StudyJson {
  format: typeof STUDY_FORMAT;
  quick: boolean;
  complete: boolean;
  planned: number;
  finished: number;
  /** Ids of the planned cells without a finished file. */
  missing: string[];
  settings: StudySettings;
  protocol: typeof STUDY_PROTOCOL;
  suite: typeof ABLATION_SUITE;
  scenarios: Partial<Record<ScenarioName, ScenarioResults>>;
  claims: ClaimResult[];
  /** Sum of the cells' own wall times. */
  computeSeconds: number;
  /** Every finished cell without its predictions (they stay in `file`). */
  cells: Array<Omit<CellRecord, 'scores' | 'test' | 'format'> & { file: string }>;
  meta: StudyMeta;
}

const CEILINGS_DIR = 'docs/results/ceilings';

/** Reads the pre-registered ceilings of a scenario from the repository (the working folder or one above it), if it is at hand. */
function ceilingsOf(scenario: ScenarioName): CeilingsPointer {
  const file = `${CEILINGS_DIR}/${scenario}.json`;
  for (let root = process.cwd(); ; root = path.dirname(root)) {
    const p = path.join(root, file);
    if (existsSync(p)) {
      try {
        const c = JSON.parse(readFileSync(p, 'utf8')) as { population: Record<string, number>; finiteSample: CeilingsPointer['finiteSample'] };
        return { file, population: c.population, finiteSample: c.finiteSample! };
      } catch {
        return { file };
      }
    }
    if (path.dirname(root) === root) return { file };
  }
}

/** Builds `study.json`'s content from the plan and the finished cells. */
export function buildStudyJson(settings: StudySettings, planned: readonly CellKey[], cells: readonly CellRecord[], meta: StudyMeta): StudyJson {
  const plannedIds = new Set(planned.map(cellId));
  const mine = cells.filter((c) => plannedIds.has(c.id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const have = new Set(mine.map((c) => c.id));
  const index = new CellIndex(mine);
  const scenarios: StudyJson['scenarios'] = {};
  for (const scenario of settings.scenarios) {
    const any = mine.find((c) => c.key.scenario === scenario);
    const labels = any ? decodeUint8(any.test.labels) : null;
    scenarios[scenario] = {
      test: any
        ? {
            patients: any.test.patients,
            seed: any.test.seed,
            labelsDigest: any.test.labelsDigest,
            bayesAuc: any.test.bayesAuc,
            bayesLogLoss: any.test.bayesLogLoss,
            prevalence: labels!.reduce((a, b) => a + b, 0) / labels!.length,
          }
        : null,
      models: summarizeModels(index, scenario, settings.trainSize, settings.ablations),
      curve: settings.curve.scenarios.includes(scenario) ? learningCurve(index, scenario, settings.curve.sizes, settings.curve.ablations, settings.curve.seeds) : [],
      ceilings: ceilingsOf(scenario),
    };
  }
  const claims = CLAIMS.filter((c) => settings.scenarios.includes(c.scenario)).map((c) => judgeClaim(c, index, settings));
  return {
    format: STUDY_FORMAT,
    quick: settings.quick,
    complete: have.size === plannedIds.size,
    planned: plannedIds.size,
    finished: have.size,
    missing: [...plannedIds].filter((id) => !have.has(id)).sort(),
    settings,
    protocol: STUDY_PROTOCOL,
    suite: ABLATION_SUITE,
    scenarios,
    claims,
    computeSeconds: mine.reduce((s, c) => s + c.run.seconds, 0),
    cells: mine.map(({ scores: _s, test: _t, format: _f, ...rest }) => ({ ...rest, file: `cells/${rest.id}.json` })),
    meta,
  };
}

/** A number with 3 decimals, or 'n/a'. */
const f3 = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'n/a');
/** A signed number with 3 decimals (+0.012, −0.003), or 'n/a'. */
export const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}` : 'n/a');
/** `mean ± sd` with 3 decimals. */
export const pm = (m: { mean: number; sd: number }) => (Number.isFinite(m.sd) ? `${f3(m.mean)} ± ${f3(m.sd)}` : f3(m.mean));
/** An ablation's name from its id. */
export const name = (id: string) => ABLATION_SUITE.find((a) => a.id === id)?.name ?? id;
/** A p-value with 3 decimals, '< 0.001' below. */
export const pValue = (p: number) => (!Number.isFinite(p) ? 'n/a' : p < 0.001 ? '< 0.001' : p.toFixed(3));

/** What a claim compares, in words. */
function claimWhat(c: ClaimResult): string {
  if (c.kind === 'superiority') return `\`${c.a}\` − \`${c.b}\` ΔAUC`;
  if (c.kind === 'equivalence') return `\`${c.a}\` − \`${c.b}\` ΔAUC (margin ±${c.target.toFixed(3)})`;
  if (c.kind === 'auc-at-least') return `test AUC of \`${c.a}\` (target ≥ ${c.target.toFixed(3)})`;
  return `regret of \`${c.a}\` (target ≤ ${c.target.toFixed(3)})`;
}

function targetText(c: ClaimResult): string {
  if (c.targetMet === null) return 'n/a';
  if (c.kind === 'superiority') return `hoped-for ${signed(c.target)}: ${c.targetMet ? 'met' : 'not met'} by the mean`;
  if (c.kind === 'equivalence') return `|mean| ≤ ${c.target.toFixed(3)}: ${c.targetMet ? 'yes' : 'no'}`;
  return `mean ${c.kind === 'auc-at-least' ? '≥' : '≤'} ${c.target.toFixed(3)}: ${c.targetMet ? 'yes' : 'no'}`;
}

/**
 * One verdict line of `study.md`, e.g. `- **C1** (imbalance, n = 600, 10 seeds): \`full\` −
 * \`concat\` ΔAUC = +0.012, 95% CI [−0.003, +0.027] → **not shown** (hoped-for +0.020: not met by the mean)`.
 */
function verdictLine(c: ClaimResult, quick: boolean): string {
  const where = `(${c.scenario}, n = ${c.trainSize}${c.trainSize !== c.protocolTrainSize ? ` instead of ${c.protocolTrainSize}` : ''}, ${c.interval.n} seed${c.interval.n === 1 ? '' : 's'})`;
  if (c.verdict === 'not run') return `- **${c.id}** ${where}: not run (no cells for it in this study)`;
  const value = c.kind === 'superiority' || c.kind === 'equivalence' ? signed(c.interval.mean) : f3(c.interval.mean);
  const ci = Number.isFinite(c.interval.lower) ? `, 95% CI [${signed(c.interval.lower)}, ${signed(c.interval.upper)}]` : ', no interval (one seed)';
  const verdict = quick ? `QUICK run, not a verdict: would read **${c.verdict}**` : `**${c.verdict}**`;
  return `- **${c.id}** ${where}: ${claimWhat(c)} = ${value}${ci} → ${verdict} (${targetText(c)})`;
}

function claimsTable(claims: readonly ClaimResult[], quick: boolean): string {
  return [
    '| claim | scenario | n train | quantity | seeds | mean | 95% CI | DeLong p per seed: median (# < 0.05) | MDE from seeds | MDE from DeLong | verdict | target |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...claims.map((c) => {
      const comparison = c.kind === 'superiority' || c.kind === 'equivalence';
      const show = comparison ? signed : f3;
      const dl = c.delong ? `${pValue(c.delong.medianP)} (${c.delong.significant}/${c.perSeed.length})` : '—';
      const verdict = c.verdict === 'not run' ? 'not run' : quick ? `(quick) ${c.verdict}` : `**${c.verdict}**`;
      return `| ${c.id} | ${c.scenario} | ${c.trainSize} | ${claimWhat(c)} | ${c.interval.n} | ${show(c.interval.mean)} | ${Number.isFinite(c.interval.lower) ? `[${show(c.interval.lower)}, ${show(c.interval.upper)}]` : 'n/a'} | ${dl} | ${f3(c.mdeSeeds)} | ${f3(c.mdeDelong)} | ${verdict} | ${targetText(c)} |`;
    }),
  ].join('\n');
}

function modelsTable(models: readonly ModelSummary[]): string {
  return [
    '| model | seeds | test AUC | regret vs Bayes | excess log-loss | Brier | ECE | calibration slope | calibration intercept | validation AUC | epochs | seconds |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...models.map((m) => {
      const x = m.metrics;
      const epochs = m.epochs ? `${m.epochs.mean.toFixed(1)}${Number.isFinite(m.epochs.sd) ? ` ± ${m.epochs.sd.toFixed(1)}` : ''}` : '—';
      return `| \`${m.ablation}\` ${name(m.ablation)} | ${m.seeds} | ${pm(x.auc)} | ${pm(x.regret)} | ${pm(x.excessLogLoss)} | ${pm(x.brier)} | ${pm(x.ece)} | ${pm(x.calibrationSlope)} | ${pm(x.calibrationIntercept)} | ${pm(x.valAuc)} | ${epochs} | ${m.seconds.mean.toFixed(1)} |`;
    }),
  ].join('\n');
}

function curveTable(s: ScenarioResults, settings: StudySettings): string {
  const models = settings.curve.ablations;
  const fs = new Map((s.ceilings.finiteSample ?? []).map((f) => [f.trainSize, f]));
  return [
    `| training patients | ${models.map((m) => `\`${m}\``).join(' | ')} | finite-sample oracle (ceilings, 10⁵ test patients) | Bayes (this test cohort) |`,
    `| --- | ${models.map(() => '---').join(' | ')} | --- | --- |`,
    ...settings.curve.sizes.map((n) => {
      const cell = (m: string) => {
        const p = s.curve.find((q) => q.ablation === m && q.trainSize === n);
        return p ? `${pm(p.auc)} (${p.seeds})` : '—';
      };
      const f = fs.get(n);
      return `| ${n} | ${models.map(cell).join(' | ')} | ${f ? `${f3(f.auc)} ± ${f3(f.sd)}` : '—'} | ${f3(s.test?.bayesAuc)} |`;
    }),
  ].join('\n');
}

/** `study.md`. */
function studyMarkdown(study: StudyJson): string {
  const { settings, meta } = study;
  const quick = study.quick;
  const lines: string[] = [];
  lines.push(`# vdafm study${quick ? ' (QUICK)' : ''}: does vision-core guided fusion beat simpler fusion?`, '');
  if (quick) {
    lines.push(
      '> **QUICK RUN** — a CI smoke test of the study engine with small cohorts, few epochs, a reduced suite and a small test cohort.',
      '> Its numbers are **never** verdicts on the claims.',
      '',
    );
  }
  if (!study.complete) lines.push(`> **Incomplete**: ${study.finished} of ${study.planned} planned cells are finished; missing: ${study.missing.slice(0, 12).join(', ')}${study.missing.length > 12 ? ', …' : ''}.`, '');
  const seeds = settings.scenarios.map((s) => `${s} ${settings.seeds[s]}`).join(', ');
  lines.push(
    `Run ${meta.date} on commit ${meta.commit ?? 'unknown'}${meta.dirty ? ' (with uncommitted changes)' : ''}, \`${meta.command}\`; backend ${meta.backend}, ${meta.cpu.count} × ${meta.cpu.model}, Node ${meta.node}. ` +
      `${study.finished} cells, ${(study.computeSeconds / 60).toFixed(1)} min of cell compute${meta.sources ? ` (merged from ${meta.sources.length} folder(s))` : ''}, ${(meta.wallSeconds / 60).toFixed(1)} min wall for this process.`,
    '',
    `Design: seeds ${seeds}; ${settings.trainSize} training and ${Math.round(settings.trainSize * settings.validationShare)} validation patients per seed (new cohorts and initialisation each seed); ` +
      `one fixed test cohort of ${settings.test.patients} patients per scenario (seed ${settings.test.seed}, inference only); ` +
      `learning curve: ${settings.curve.scenarios.length > 0 ? `${settings.curve.ablations.join(', ')} at ${settings.curve.sizes.join(', ')} patients, ${settings.curve.seeds} seeds, on ${settings.curve.scenarios.join(', ')}` : 'none'}. ` +
      'Intervals are 95% t-intervals over seeds of the per-seed values (paired differences on the same test patients for comparisons). See docs/guides/study.md for the rules.',
    '',
    '## Verdicts',
    '',
    ...study.claims.map((c) => verdictLine(c, quick)),
    '',
    '## Claims',
    '',
    claimsTable(study.claims, quick),
    '',
    'MDE from seeds: the smallest true mean difference the t-test over these seeds detects with power 0.8 at α = 0.05, (t₀.₉₇₅ + t₀.₈)·sd/√n. MDE from DeLong: the same for one seed\'s paired DeLong test on the test cohort, 2.80 × the median DeLong SE (for threshold claims, of the AUC alone).',
    '',
    '![Paired differences per claim](forest.svg)',
    '',
  );
  for (const scenario of settings.scenarios) {
    const s = study.scenarios[scenario]!;
    lines.push(`## Scenario \`${scenario}\``, '');
    if (s.test) {
      lines.push(
        `Test cohort: ${s.test.patients} patients (seed ${s.test.seed}), ${(100 * s.test.prevalence).toFixed(1)}% poor outcome; Bayes-optimal AUC on them ${f3(s.test.bayesAuc)}.` +
          (s.ceilings.population ? ` Pre-registered population ceilings (${s.ceilings.file}): table ${f3(s.ceilings.population['table'])}, table + image ${f3(s.ceilings.population['tableAndImage'])}, image over table ${signed(s.ceilings.population['imageOverTable']!)}.` : ` Ceilings: ${s.ceilings.file}.`),
        '',
      );
    }
    lines.push(`Test metrics at ${settings.trainSize} training patients, mean ± sd over seeds (regret = Bayes AUC − model AUC on the same patients; excess log-loss = model − true probability; calibration slope and intercept of the logistic recalibration logit P(y) = a + b·logit(p)):`, '');
    lines.push(s.models.length > 0 ? modelsTable(s.models) : '_No finished cells._', '');
    if (settings.curve.scenarios.includes(scenario)) {
      lines.push(`### Learning curve (\`${scenario}\`)`, '', 'Test AUC, mean ± sd (seeds) over the curve\'s seeds:', '', curveTable(s, settings), '');
    }
  }
  lines.push('![Learning curves](learning-curve.svg)', '', '![Regret per seed](regret.svg)', '');
  lines.push('Files: `study.json` (everything: settings, per-cell metrics and training histories, claims with per-seed values), `cells/*.json` (one per cell, with its test predictions), the plots as `*.svg` and their vega-lite specs `*.vl.json`.', '');
  return lines.join('\n');
}

/** The study's plots. */
function studyPlots(study: StudyJson, cells: readonly CellRecord[]): Array<[string, VegaLiteSpec]> {
  const q = study.quick ? ' (QUICK run, not a verdict)' : '';
  const curves: Parameters<typeof learningCurveSpec>[0] = {};
  for (const scenario of study.settings.curve.scenarios) {
    const s = study.scenarios[scenario];
    if (!s) continue;
    curves[scenario] = { points: s.curve, bayes: s.test?.bayesAuc ?? Number.NaN, finiteSample: study.quick ? [] : (s.ceilings.finiteSample ?? []) };
  }
  const main = cells.filter((c) => c.key.trainSize === study.settings.trainSize && study.cells.some((k) => k.id === c.id));
  return [
    ['forest', forestSpec(study.claims, `Pre-registered claims: mean over seeds with 95% t-interval${q}`)],
    ['learning-curve', learningCurveSpec(curves, `Learning curves${q}`)],
    ['regret', regretSpec(main, study.settings.ablations, `Regret against Bayes per seed, n = ${study.settings.trainSize}${q}`)],
  ];
}

/**
 * Writes `study.json`, `study.md` and the plots into `out`.
 *
 * @returns the files written (SVGs only when vega and vega-lite are installed).
 */
export async function writeStudyOutputs(out: string, study: StudyJson, cells: readonly CellRecord[]): Promise<string[]> {
  const files: string[] = [];
  const write = (file: string, data: string) => {
    const p = path.join(out, file);
    writeFileSync(p, data);
    files.push(p);
  };
  write('study.json', `${JSON.stringify(study, null, 1)}\n`);
  write('study.md', studyMarkdown(study));
  for (const [name, spec] of studyPlots(study, cells)) {
    write(`${name}.vl.json`, `${JSON.stringify(spec, null, 1)}\n`);
    const svg = await renderSvg(spec);
    if (svg) write(`${name}.svg`, svg);
  }
  return files;
}
