/**
 * The ceilings of a synthetic scenario, computed before any model is trained on it: the
 * population AUC of each modality subset from an oracle logistic regression on the scenario's
 * true features (fitted and evaluated on large simulated cohorts), the report's ceiling (a
 * logistic regression on its parsed fields), and the finite-sample oracle at each training size.
 *
 * @packageDocumentation
 */
import { generateSyntheticCohort, type SyntheticCohort } from '../data/cohort.js';
import { imageFeatures, oracleFeatures, tableFeatures, type OracleSubset } from '../data/oracle.js';
import type { ScenarioKnobs, ScenarioName } from '../data/scenarios.js';
import { fitLogistic, predictLogistic } from '../metrics/logistic.js';
import { rocAuc } from '../metrics/ranking.js';
import { cohortReportTexts, reportFeatures } from './reports.js';

/** Options of {@link computeCeilings}. */
export interface CeilingOptions {
  /** Patients of each of the two population cohorts (fit, evaluate). @defaultValue 100000 */
  patients?: number;
  /** Patients of the cohorts with images and reports (report ceiling). @defaultValue 20000 */
  reportPatients?: number;
  /** Training sizes of the finite-sample oracle. @defaultValue [600, 1200, 2400, 4800] */
  trainSizes?: number[];
  /** Repeats (new training cohorts) per training size. @defaultValue 20 */
  repeats?: number;
  /** Seed of the cohorts. @defaultValue 20261207 */
  seed?: number;
  /** Progress lines. @defaultValue none */
  log?: (line: string) => void;
}

/** Population AUCs of one scenario. */
interface PopulationCeilings {
  /** AUC of the true probability (Bayes-optimal). */
  bayes: number;
  table: number;
  /** Every true image feature, including the ventricle size (an age proxy the table also holds). */
  image: number;
  /** The image's lesion findings only (volume, site, strategic location, old lesions; no ventricle size). */
  imageFindings: number;
  tableAndImage: number;
  /** NIHSS alone. */
  nihss: number;
  /** `tableAndImage − table`: what the image adds to the table at best. */
  imageOverTable: number;
  /** Share of poor outcomes. */
  prevalence: number;
}

/** The report's ceilings (on the smaller cohorts with images and reports). */
interface ReportCeilings {
  patients: number;
  bayes: number;
  report: number;
  tableAndReport: number;
  /** `tableAndReport − table` on these cohorts. */
  reportOverTable: number;
  table: number;
}

/** The finite-sample oracle (table + image true features) at one training size. */
interface FiniteSampleCeiling {
  trainSize: number;
  /** Mean test AUC over the repeats, and its standard deviation. */
  auc: number;
  sd: number;
  /** Mean regret against the true probability on the same test patients (Bayes − oracle). */
  regret: number;
}

/** Everything {@link computeCeilings} returns. */
export interface Ceilings {
  scenario: ScenarioName;
  knobs: ScenarioKnobs;
  patients: number;
  seed: number;
  population: PopulationCeilings;
  report: ReportCeilings;
  finiteSample: FiniteSampleCeiling[];
}

type Features = (p: SyntheticCohort['patients'][number]) => number[];

/** Test AUC of a logistic regression fitted on (rows `trainIdx` of) `train`; `testFeatures` defaults to `features`. */
function fitAndScore(train: SyntheticCohort, test: SyntheticCohort, features: Features, testFeatures: Features = features, trainIdx?: number[]): number {
  const idx = trainIdx ?? train.patients.map((_, i) => i);
  const model = fitLogistic(idx.map((i) => features(train.patients[i]!)), idx.map((i) => train.poor[i]!));
  return rocAuc(Array.from(test.poor), Array.from(predictLogistic(model, test.patients.map(testFeatures))));
}

/**
 * Computes a scenario's ceilings. Deterministic in its options.
 *
 * @example
 * ```ts
 * const c = await computeCeilings('imbalance', { patients: 20000, reportPatients: 2000 });
 * c.population.imageOverTable; // ≈ +0.07
 * ```
 */
export async function computeCeilings(scenario: ScenarioName, options: CeilingOptions = {}): Promise<Ceilings> {
  const patients = options.patients ?? 100000;
  const reportPatients = options.reportPatients ?? 20000;
  const trainSizes = options.trainSizes ?? [600, 1200, 2400, 4800];
  const repeats = options.repeats ?? 20;
  const seed = options.seed ?? 20261207;
  const log = options.log ?? (() => {});
  const fit = generateSyntheticCohort({ patients, seed, scenario, images: false });
  const test = generateSyntheticCohort({ patients, seed: seed + 1, scenario, images: false });
  const y = Array.from(test.poor);
  const subset = (s: OracleSubset): Features => (p) => oracleFeatures(p, s);
  const tableAndImage = fitAndScore(fit, test, subset('table+image'));
  const table = fitAndScore(fit, test, subset('table'));
  const population: PopulationCeilings = {
    bayes: rocAuc(y, Array.from(test.truePoorProbability)),
    table,
    image: fitAndScore(fit, test, subset('image')),
    imageFindings: fitAndScore(fit, test, (p) => imageFeatures(p).slice(0, -1)),
    tableAndImage,
    nihss: rocAuc(y, test.patients.map((p) => p.clinical.nihss)),
    imageOverTable: tableAndImage - table,
    prevalence: y.reduce((a, b) => a + b, 0) / y.length,
  };
  log(`${scenario}: population ceilings ${JSON.stringify(population)}`);

  const finiteSample: FiniteSampleCeiling[] = [];
  const bayes = population.bayes;
  for (const n of trainSizes) {
    const aucs: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const start = ((r * 7919 + n) * 13) % (patients - n);
      const idx = Array.from({ length: n }, (_, i) => start + i);
      aucs.push(fitAndScore(fit, test, subset('table+image'), subset('table+image'), idx));
    }
    const auc = aucs.reduce((a, b) => a + b, 0) / repeats;
    const sd = Math.sqrt(aucs.reduce((a, b) => a + (b - auc) ** 2, 0) / Math.max(1, repeats - 1));
    finiteSample.push({ trainSize: n, auc, sd, regret: bayes - auc });
    log(`${scenario}: finite-sample oracle n=${n}: ${auc.toFixed(4)} ± ${sd.toFixed(4)}`);
  }

  const reportFit = generateSyntheticCohort({ patients: reportPatients, seed: seed + 2, scenario, layout: '2d' });
  const reportTest = generateSyntheticCohort({ patients: reportPatients, seed: seed + 3, scenario, layout: '2d' });
  const textsFit = await cohortReportTexts(reportFit, seed + 2);
  const textsTest = await cohortReportTexts(reportTest, seed + 3);
  const withText = (texts: Array<string | null>, table: boolean): Features => (p) => [...reportFeatures(texts[p.index]!), ...(table ? tableFeatures(p) : [])];
  const tableR = fitAndScore(reportFit, reportTest, tableFeatures);
  const tableAndReport = fitAndScore(reportFit, reportTest, withText(textsFit, true), withText(textsTest, true));
  const report = fitAndScore(reportFit, reportTest, withText(textsFit, false), withText(textsTest, false));
  const reportCeilings: ReportCeilings = {
    patients: reportPatients,
    bayes: rocAuc(Array.from(reportTest.poor), Array.from(reportTest.truePoorProbability)),
    report,
    tableAndReport,
    reportOverTable: tableAndReport - tableR,
    table: tableR,
  };
  log(`${scenario}: report ceilings ${JSON.stringify(reportCeilings)}`);
  return { scenario, knobs: fit.options.knobs, patients, seed, population, report: reportCeilings, finiteSample };
}

/**
 * A markdown table of ceilings, one column per scenario.
 *
 * @example
 * ```ts
 * console.log(ceilingsTable([imbalance, additive]));
 * ```
 */
export function ceilingsTable(list: readonly Ceilings[]): string {
  const f = (x: number) => x.toFixed(3);
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
  const rows: Array<[string, (c: Ceilings) => string]> = [
    ['Bayes (true probability)', (c) => f(c.population.bayes)],
    ['table (oracle LR)', (c) => f(c.population.table)],
    ['image, all true features (incl. ventricle size ≈ age)', (c) => f(c.population.image)],
    ['image, lesion findings only', (c) => f(c.population.imageFindings)],
    ['table + image (oracle LR)', (c) => f(c.population.tableAndImage)],
    ['**image over table** (table + image − table)', (c) => `**${signed(c.population.imageOverTable)}**`],
    ['NIHSS alone', (c) => f(c.population.nihss)],
    ['report (LR on parsed fields)', (c) => f(c.report.report)],
    ['table + report', (c) => f(c.report.tableAndReport)],
    ['report over table', (c) => signed(c.report.reportOverTable)],
    ...(list[0]?.finiteSample ?? []).map((_, i): [string, (c: Ceilings) => string] => [
      `finite-sample oracle, n = ${list[0]!.finiteSample[i]!.trainSize} (regret)`,
      (c) => `${f(c.finiteSample[i]!.auc)} ± ${f(c.finiteSample[i]!.sd)} (${f(c.finiteSample[i]!.regret)})`,
    ]),
    ['share of poor outcomes', (c) => `${(100 * c.population.prevalence).toFixed(1)} %`],
  ];
  return [
    `| population AUC | ${list.map((c) => `\`'${c.scenario}'\``).join(' | ')} |`,
    `| --- | ${list.map(() => '---').join(' | ')} |`,
    ...rows.map(([name, cell]) => `| ${name} | ${list.map(cell).join(' | ')} |`),
  ].join('\n');
}
