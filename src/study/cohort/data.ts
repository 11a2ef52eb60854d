/**
 * One fold's data on a cohort of your own: its training, validation and test patients in
 * memory, and the preprocessing fitted on its training patients only.
 *
 * @packageDocumentation
 */
import { TabularPreprocessor } from '../../encoders/tabular/preprocessor.js';
import { type CohortData, patientsOf } from '../../demo/cohort-data.js';
import { type PatientsWithReports, type TrainingData, fitFieldTargets, trainTokenizer } from '../data.js';
import { type CohortCellKey, type CohortStudySettings, cohortSeeds, type FoldPartition, foldPartition } from './design.js';

/** A fold's data: what its neural cells train on, and its test patients. */
export interface FoldData extends TrainingData {
  repeat: number;
  fold: number;
  /** Patient positions of each part. */
  partition: FoldPartition;
  test: PatientsWithReports;
}

/**
 * Builds a fold's patients and fits the preprocessing (TabularPreprocessor, WordPieceTokenizer)
 * on its training patients only.
 */
export function buildFoldData(data: CohortData, settings: CohortStudySettings, k: Pick<CohortCellKey, 'repeat' | 'fold'>): FoldData {
  const partition = foldPartition(settings, data, k);
  const withText = settings.cohort.withText;
  const train = patientsOf(data, partition.train, withText);
  const seeds = cohortSeeds(settings, k);
  return {
    repeat: k.repeat,
    fold: k.fold,
    partition,
    train,
    val: patientsOf(data, partition.val, withText),
    test: patientsOf(data, partition.test, withText),
    pre: new TabularPreprocessor({ columns: data.columns }).fit(train.cohort.rows),
    tok: trainTokenizer(partition.train.map((i) => data.texts[i]!)),
    fields: withText ? fitFieldTargets(partition.train.map((i) => data.texts[i]!)) : null,
    seeds: { model: seeds.model, trainer: seeds.trainer },
    disposers: [],
  };
}
