/**
 * Synthetic stroke cohort: brain MRI phantom (DWI, ADC), clinical table, latent-severity
 * outcomes, findings extractor, splits and slice rendering. Browser-safe, no tfjs needed.
 *
 * @packageDocumentation
 */
export {
  generateSyntheticCohort,
  cohortImage,
  type SyntheticCohortOptions,
  type SyntheticCohort,
  type SyntheticPatient,
  type PatientImage,
  type LesionTruth,
  type ScannerEffects,
  type ImageTruth,
} from './cohort.js';
export { TERRITORY_WEIGHTS, TERRITORY_CAP_ML } from './lesions.js';
export {
  CLINICAL_SCHEMA,
  NIHSS_SITE_WEIGHT,
  expectedNihss,
  type ColumnSchema,
  type ClinicalRecord,
  type ClinicalRow,
  type LesionSummary
} from './clinical.js';
export {
  OUTCOME_MODEL,
  ELOQUENT_HUBS,
  eloquence,
  latentSeverity,
  poorOutcomeProbability,
  mrsDistribution,
  sampleMrs,
  type SeverityInputs,
  type LatentComponents,
} from './outcome.js';
export {
  TERRITORIES,
  TISSUE,
  TISSUE_INTENSITY,
  PHANTOM_GEOMETRY,
  NOMINAL_ANATOMY,
  atlasLabel,
  decodeTerritory,
  territoryCode,
  gridGeometry,
  labelGrid,
  type Territory,
  type Side,
  type Anatomy,
  type GridGeometry,
  type VoxelLabels,
  type Ellipsoid,
  type Vec3
} from './phantom.js';
export {
  createFindingsExtractor,
  findingsExtractor,
  NOISY_READER,
  type ReaderNoise,
  type ImageFindings,
  type ImageFindingsExtractor,
  type FindingsExtractorOptions,
  type FindingsMeasurement,
  type MeasuredComponent,
} from './findings.js';
export { splitCohort, subsetCohort, type SplitOptions, type CohortSplit } from './split.js';
export { renderSlice, type GreyImage, type RenderSliceOptions } from './render.js';
