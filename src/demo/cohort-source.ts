/**
 * Opening a cohort of your own for `vdafm demo --cohort` and `vdafm study --cohort`: load and
 * validate it (stopping before any training with the full problem list, or going on without
 * the invalid patients and writing them and their reasons to a file), put its volumes on the
 * model's grid, take its reports from the manifest or generate the missing ones (cached,
 * resumable), and hold it in memory as {@link CohortData}.
 *
 * @packageDocumentation
 */
import * as path from 'node:path';
import { generateSyntheticCohort } from '../data/cohort.js';
import { InvalidArgumentError } from '../errors.js';
import type { CohortImageOptions } from '../node/cohort/cohort-image-options.js';
import { loadCohort, type LoadedCohort } from '../node/cohort/load.js';
import { cohortReports, type CohortReports, type ReportImageOptions } from '../node/cohort/reports.js';
import { FileReportCache } from '../node/file-cache.js';
import type { TextGenerator } from '../text/types.js';
import { type CohortData, loadedCohortData } from './cohort-data.js';
import { ProgressBar, type ProgressSink } from './progress.js';

/** Where a cohort of your own comes from, and how it is read (the `--cohort` options of the CLI). */
export interface CohortSourceOptions {
  /** The manifest (`.csv`, `.tsv`, `.jsonl`). */
  manifest: string;
  /** The schema file. @defaultValue `schema.json` beside the manifest */
  schema?: string;
  /** Go on without the invalid patients (listed in `exclusions`) instead of stopping before training. @defaultValue false */
  skipInvalid?: boolean;
  /** Where the invalid patients and their reasons are written (CSV, or JSON for `.json`). @defaultValue `<out>/excluded.csv` */
  exclusions?: string;
  /** Folder of the on-disk cache of preprocessed volumes. @defaultValue no cache */
  cache?: string | null;
  /**
   * How volumes become images (`loadCohort`'s image options). Unset fields take the model's grid:
   * the layout of the image encoder (2D today), the synthetic cohort's shape and slices.
   * @defaultValue the model's grid, robust z-score, the cohort's 200 mm field of view
   */
  image?: CohortImageOptions;
  /** Writes the reports of patients without one in the manifest (cached in `reportCache`). @defaultValue none: they keep no report */
  generator?: TextGenerator | null;
  /** The cache file of generated reports (share one between shards of a study). @defaultValue `<out>/reports-cache.jsonl` */
  reportCache?: string;
  /** The slices the generator sees. @defaultValue 6 axial slices of the first sequence, 128 × 128 */
  reportImages?: ReportImageOptions;
}

/** A cohort of your own, opened. */
export interface OpenedCohort {
  data: CohortData;
  loaded: LoadedCohort;
  reports: CohortReports;
  /** The exclusions file written (null: not written). */
  exclusionsFile: string | null;
  /** The image options in force. */
  imageOptions: Readonly<Required<CohortImageOptions>>;
}

/**
 * The model's grid: the image encoder's layout (`spatialDims` 2 → `'2d'`, 3 → `'3d'`) with the
 * synthetic cohort's shape and slices for it, so that a real cohort is resampled onto the grid
 * the model settings were made for.
 */
function modelGrid(spatialDims: 2 | 3): CohortImageOptions {
  const layout = spatialDims === 3 ? '3d' : '2d';
  const shape = generateSyntheticCohort({ patients: 1, seed: 1, layout }).sampleShape;
  return layout === '3d' ? { layout, shape: shape.slice(0, 3) } : { layout, shape: shape.slice(0, 2), slices: shape[2]! / 2 };
}

/**
 * Loads, validates and preprocesses a cohort, and takes or generates its reports.
 *
 * @param ctx - `out` (the output folder: exclusions, report cache), `spatialDims` of the model's
 *   image encoder, `seed` of report generation, log and progress.
 * @throws `CohortValidationError` listing every problem when a patient is invalid and
 *   `skipInvalid` is not set (nothing was trained); `CohortSchemaError`, `CohortManifestError`,
 *   `InvalidArgumentError` for an unusable schema, manifest or option (`image.layout` other
 *   than the model's).
 */
export async function openCohort(o: CohortSourceOptions, ctx: { out: string; spatialDims: 2 | 3; seed: number; log: (line: string) => void; sink: ProgressSink }): Promise<OpenedCohort> {
  const { log, sink } = ctx;
  const skipInvalid = o.skipInvalid ?? false;
  const exclusionsFile = o.exclusions ?? (skipInvalid ? path.join(ctx.out, 'excluded.csv') : null);
  const grid = modelGrid(ctx.spatialDims);
  if (o.image?.layout !== undefined && o.image.layout !== grid.layout) {
    throw new InvalidArgumentError({
      argument: 'image.layout',
      message: `the model's image encoder is ${ctx.spatialDims}D (src/demo/ablations.ts, src/study/ablations.ts): the cohort's images must use layout '${grid.layout}'.`,
      received: o.image.layout,
    });
  }
  let loadBar: ProgressBar | null = null;
  const loaded = await loadCohort({
    manifest: o.manifest,
    ...(o.schema ? { schema: o.schema } : {}),
    image: { ...grid, ...o.image },
    skipInvalid,
    ...(exclusionsFile ? { exclusionsFile } : {}),
    cache: o.cache ?? null,
    onProgress: (p) => {
      loadBar ??= new ProgressBar('loading the cohort', p.total, sink);
      loadBar.update(p.done, `(${p.cached} cached, ${p.invalid} invalid)`);
    },
  });
  (loadBar as ProgressBar | null)?.done();
  log(`cohort: ${loaded.patients.length} valid patients from ${loaded.manifest}; images ${loaded.layout} [${loaded.imageShape?.join(', ') ?? 'none'}] (${loaded.sequences.join(', ')})`);
  // the loader's notes: ignored manifest columns, patient warnings, the exclusions file
  for (const w of loaded.warnings) log(`cohort: ${w}`);

  const cache = o.generator ? await FileReportCache.open(o.reportCache ?? path.join(ctx.out, 'reports-cache.jsonl')) : undefined;
  const missing = loaded.patients.filter((p) => p.report === null).length;
  const bar = new ProgressBar('generating reports', missing, sink);
  let reports: CohortReports;
  try {
    reports = await cohortReports(loaded, {
      generator: o.generator ?? null,
      ...(cache ? { cache } : {}),
      ...(o.reportImages ? { images: o.reportImages } : {}),
      seed: ctx.seed,
      onProgress: (p) => bar.update(p.done, `(${p.cached} cached, ${p.failed} failed)`),
    });
  } finally {
    await cache?.close();
  }
  if (o.generator && missing > 0) bar.done();
  const c = reports.counts;
  log(`reports: ${c.manifest} from the manifest, ${c.generated} generated, ${c.cache} from the cache, ${c.failed} failed, ${c.none} without (no generator)${reports.any ? '' : '; no patient has a report: the models that read reports are left out'}`);
  for (const f of reports.failures) log(`report not generated: row ${f.row} (id ${f.id}): ${f.message}`);
  return { data: await loadedCohortData(loaded, reports.texts), loaded, reports, exclusionsFile, imageOptions: loaded.imageOptions };
}
