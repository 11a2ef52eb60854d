/**
 * Running one cell of a study on a cohort of your own: a neural ablation (through the study's
 * `CellTrainer`, so the model and trainer settings are those of ../ablations.ts), late fusion
 * (../run-cell.ts's stacking), or the table + report reference (./reference.ts); evaluated on the
 * fold's test patients.
 *
 * @packageDocumentation
 */
import { averagePrecision } from '../../metrics/ranking.js';
import { encodeUint8, type Json, settingsHash } from '../cells.js';
import { ablationSpec, LATE_COMPONENTS } from '../design.js';
import type { CellTrainer } from '../neural.js';
import { cellOutcome, type CellRunContext, fitReference, outcomeFields, predictionMetrics } from '../run-cell.js';
import { COHORT_CELL_FORMAT, type CohortCellRecord } from './cells.js';
import type { FoldData } from './data.js';
import { cohortCellId, type CohortCellKey, cohortSeeds, type CohortStudySettings } from './design.js';
import { fitTableEncoding, referenceRows } from './reference.js';

/** Version of the cohort cells' semantics (part of every cell's fingerprint). */
const COHORT_ENGINE_VERSION = 1;

/** What running a cohort cell needs: its fold's data (same repeat and fold), and the fold's finished cells for late fusion. */
export type CohortCellContext = CellRunContext<CohortStudySettings, FoldData, CohortCellRecord>;

/** The settings (fingerprinted) of a cohort cell. */
export function cohortCellSettings(key: CohortCellKey, settings: CohortStudySettings, trainer: CellTrainer): { [key: string]: Json } {
  const spec = ablationSpec(key.ablation);
  const seeds = cohortSeeds(settings, key);
  const neural = (id: string) => trainer.settings(ablationSpec(id), { quick: settings.quick, seeds, imageShape: settings.cohort.imageShape });
  let model: Json;
  if (spec.reference === 'table-report') {
    model = {
      reference: `fitLogistic (l2 = 1/n: a unit Gaussian prior on the standardised weights) on the clinical columns (numeric standardised, binary, categorical one-hot, each with a missing indicator)${settings.cohort.withText ? ' + reportFeatures of the reports' : ''} of the training patients`,
    };
  } else if (spec.fusion === 'late') {
    model = { stacker: 'fitLogistic (l2 1e-4) on logit P(positive) of the unimodal models on the validation patients', components: Object.fromEntries(LATE_COMPONENTS.map((m) => [m, neural(m)])) };
  } else model = neural(key.ablation);
  return {
    engine: COHORT_ENGINE_VERSION,
    quick: settings.quick,
    ablation: JSON.parse(JSON.stringify(spec)) as Json,
    protocol: { ...settings.protocol },
    data: {
      cohort: settings.cohort.digest,
      patients: settings.cohort.patients,
      repeat: key.repeat,
      fold: key.fold,
      seed: settings.seed,
      seeds,
      validationShare: settings.validationShare,
      withText: settings.cohort.withText,
    },
    model,
  };
}

/**
 * Runs one cohort cell and returns its record (the caller writes it).
 *
 * @throws whatever training throws (nothing is written then).
 */
export async function runCohortCell(key: CohortCellKey, ctx: CohortCellContext): Promise<CohortCellRecord> {
  const started = ctx.clock();
  const settings = cohortCellSettings(key, ctx.settings, ctx.trainer);
  const { data } = ctx;
  const valLabels = data.val.labels;
  const testLabels = data.test.labels;
  const outcome = await cellOutcome(key, {
    ...ctx,
    test: data.test,
    quick: ctx.settings.quick,
    cellId: cohortCellId,
    hash: (k) => settingsHash(cohortCellSettings(k, ctx.settings, ctx.trainer)),
    reference: () => {
      const encoding = fitTableEncoding(data.train.cohort.rows, data.pre.columns);
      // small cohorts separate easily: a unit Gaussian prior on the standardised weights (l2 = 1/n)
      return fitReference(referenceRows(encoding, data.train), data.train.labels, referenceRows(encoding, data.val), referenceRows(encoding, data.test), { l2: 1 / data.train.labels.length });
    },
  });
  const { val: valScores, test: testScores } = outcome;
  const record: CohortCellRecord = {
    format: COHORT_CELL_FORMAT,
    id: cohortCellId(key),
    key: { ...key },
    quick: ctx.settings.quick,
    protocol: ctx.settings.protocol.kind,
    settings,
    settingsHash: settingsHash(settings),
    recipeHash: settingsHash(cohortCellSettings({ ...key, repeat: 0, fold: 0 }, ctx.settings, ctx.trainer)),
    test: { patients: testLabels.length, indices: [...data.partition.test], labels: encodeUint8(testLabels) },
    sizes: { train: data.partition.train.length, val: data.partition.val.length },
    metrics: { ...predictionMetrics(testLabels, testScores, valLabels, valScores), auprc: averagePrecision(testLabels, testScores) },
    ...outcomeFields(outcome, valLabels, started, ctx),
  };
  return record;
}
