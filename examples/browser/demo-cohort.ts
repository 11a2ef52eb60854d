/**
 * The demo's synthetic patients, regenerated from a bundle's metadata: the same cohort, split,
 * reports (template generator with the demo's LLM-like noise) and missing reports as
 * `vdafm demo`, turned into model inputs with the bundle's own preprocessor and tokenizer.
 * Browser-safe (imports only the vdafm core and tfjs-core); the browser page and the Node test
 * both use it.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  cohortImage,
  findingsExtractor,
  generateReports,
  generateSyntheticCohort,
  InvalidArgumentError,
  Random,
  renderSlice,
  splitCohort,
  TemplateReportGenerator,
  type CohortSplit,
  type GreyImage,
  type PatientImage,
  type Pipeline,
  type SyntheticCohort,
  type TriModalBatch,
  type WordPieceTokenizer,
} from '../../src/index.js';

/**
 * The report noise `vdafm demo` uses (src/demo/demo.ts): 5% omitted fields, 3% swapped sides,
 * 10% blurred sizes. Keep in step with the demo, or the page shows other reports.
 */
export const DEMO_REPORT_NOISE = { omitRate: 0.05, lateralityFlipRate: 0.03, vagueSizeRate: 0.1 } as const;

/** Share of patients without any report in the demo (drawn with `Random(seed + 1)`). */
export const DEMO_MISSING_REPORT_RATE = 0.05;

/** Seed and size of the demo cohort a bundle was trained on (its `metadata.demo`). */
export interface DemoCohortSettings {
  seed: number;
  patients: number;
}

/**
 * Reads the cohort settings `vdafm demo` stores in a bundle (`metadata.demo.seed`/`.patients`).
 *
 * @throws {@link InvalidArgumentError} (argument `pipeline.metadata`) when the bundle was not
 * written by the demo.
 * @example
 * ```ts
 * const { seed, patients } = demoCohortSettings(pipeline); // { seed: 7, patients: 300 }
 * ```
 */
export function demoCohortSettings(pipeline: Pick<Pipeline, 'metadata'>): DemoCohortSettings {
  const demo = (pipeline.metadata?.['demo'] ?? null) as { seed?: unknown; patients?: unknown } | null;
  const seed = demo?.seed;
  const patients = demo?.patients;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || typeof patients !== 'number' || !Number.isInteger(patients) || patients < 1) {
    throw new InvalidArgumentError({
      argument: 'pipeline.metadata',
      message: 'The bundle has no demo cohort settings (metadata.demo.seed and metadata.demo.patients): it was not written by `vdafm demo`.',
      received: pipeline.metadata?.['demo'],
      fix: 'Load a bundle written by `vdafm demo --out DIR` (DIR/model), or pass the seed and number of patients yourself.',
    });
  }
  return { seed, patients };
}

/** One patient's model inputs and what the page shows about them. */
export interface DemoPatientCase {
  index: number;
  /** `'train'`, `'val'` or `'test'` in the demo's split. */
  part: 'train' | 'val' | 'test';
  /** The report the model reads (`null`: this patient has no report). */
  report: string | null;
  /** The DWI slice the report was written from (representative slice). */
  slice: GreyImage;
  /** Ground truth of the synthetic patient. */
  poor: 0 | 1;
  mrs: number;
  truePoorProbability: number;
}

/** One patient's prediction. */
export interface DemoPrediction extends DemoPatientCase {
  /** Predicted P(poor outcome). */
  probability: number;
  /**
   * Text→vision attention of the last VDAFM layer (mean over heads), summed over the report
   * tokens that name the lesion's territory and side (all tokens when none matches), rescaled to
   * [0, 1] (minimum → 0, maximum → 1, for contrast): `[gridSize · gridSize]`, row-major; `null` when the model does not
   * return attention or the patient has no report.
   */
  attention: Float32Array | null;
  /** Side of the square grid of visual tokens. */
  gridSize: number;
}

/**
 * The demo cohort of a bundle, regenerated: patients, split and reports, and predictions.
 *
 * @example
 * ```ts
 * const cohort = DemoCohort.fromPipeline(pipeline);
 * const [p] = await cohort.predict(pipeline, [12]);
 * console.log(p.probability, p.report);
 * ```
 */
export class DemoCohort {
  readonly settings: DemoCohortSettings;
  readonly cohort: SyntheticCohort;
  readonly split: CohortSplit;
  /** `true` for patients without a report (the demo's 5%). */
  readonly missingReport: boolean[];
  private readonly generator: TemplateReportGenerator<PatientImage>;
  private readonly parts: Array<'train' | 'val' | 'test'>;

  private constructor(settings: DemoCohortSettings) {
    this.settings = settings;
    const { seed, patients } = settings;
    this.cohort = generateSyntheticCohort({ patients, seed, layout: '2d' });
    this.split = splitCohort(this.cohort, { fractions: { train: 0.6, val: 0.2, test: 0.2 }, seed });
    this.parts = new Array<'train' | 'val' | 'test'>(patients).fill('train');
    for (const i of this.split.val) this.parts[i] = 'val';
    for (const i of this.split.test) this.parts[i] = 'test';
    const rng = new Random(seed + 1);
    this.missingReport = this.cohort.patients.map(() => rng.next() < DEMO_MISSING_REPORT_RATE);
    this.generator = new TemplateReportGenerator<PatientImage>({ extractor: findingsExtractor, noise: { ...DEMO_REPORT_NOISE } });
  }

  /** Regenerates the cohort of a bundle written by `vdafm demo` (see {@link demoCohortSettings}). */
  static fromPipeline(pipeline: Pick<Pipeline, 'metadata'>): DemoCohort {
    return new DemoCohort(demoCohortSettings(pipeline));
  }

  /** Regenerates a demo cohort from its seed and size. */
  static fromSettings(settings: DemoCohortSettings): DemoCohort {
    return new DemoCohort(demoCohortSettings({ metadata: { demo: settings } }));
  }

  /** Number of patients. */
  get size(): number {
    return this.cohort.patients.length;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new InvalidArgumentError({ argument: 'index', message: `patient index must be an integer in [0, ${this.size - 1}].`, received: index });
    }
  }

  /**
   * Patient `index`: the demo's report for them (same generator, noise and seed, so the same
   * text as the demo's report cache), their DWI slice and ground truth.
   *
   * @throws {@link InvalidArgumentError} (argument `index`) for an index outside the cohort.
   */
  async patient(index: number): Promise<DemoPatientCase> {
    this.checkIndex(index);
    const image = cohortImage(this.cohort, index);
    const slice = renderSlice(image, { sequence: 'DWI' });
    let report: string | null = null;
    if (!this.missingReport[index]) {
      const id = `patient-${index}`;
      const { reports, failures } = await generateReports(
        [{ id, images: [{ data: slice.data, width: slice.width, height: slice.height }], source: image }],
        this.generator,
        { temperature: 0, seed: this.settings.seed, concurrency: 1 },
      );
      if (failures.length > 0) throw failures[0]!;
      report = reports[id]!.text;
    }
    const p = this.cohort.patients[index]!;
    return { index, part: this.parts[index]!, report, slice, poor: p.poor, mrs: p.mrs, truePoorProbability: p.truePoorProbability };
  }

  /**
   * Model inputs of some patients, made with the bundle's preprocessor and tokenizer as the demo
   * makes them. The caller owns (and disposes) the tensors.
   *
   * @throws {@link InvalidArgumentError} (argument `pipeline`) when the bundle lacks its
   * preprocessor or tokenizer.
   */
  batch(pipeline: Pipeline, cases: ReadonlyArray<DemoPatientCase>): TriModalBatch {
    const { preprocessor, tokenizer } = pipeline;
    if (!preprocessor || !tokenizer) {
      throw new InvalidArgumentError({ argument: 'pipeline', message: 'The bundle must hold its tabular preprocessor and tokenizer.', received: Object.keys(pipeline) });
    }
    const shape = this.cohort.sampleShape;
    const per = shape.reduce((a, b) => a * b, 1);
    const images = new Float32Array(cases.length * per);
    cases.forEach((c, i) => images.set(this.cohort.images.subarray(c.index * per, (c.index + 1) * per), i * per));
    const { values, mask } = preprocessor.transform(cases.map((c) => this.cohort.rows[c.index]!));
    const { ids, mask: textMask } = tokenizer.encodeToTensors(cases.map((c) => c.report));
    return { image: tf.tensor(images, [cases.length, ...shape]), textIds: ids, textMask, clinicalValues: values, clinicalMask: mask };
  }

  /**
   * Predicts P(poor outcome) for some patients with the bundle's model, with the attention map
   * of the last VDAFM layer when the model returns attention (the demo's full model does).
   * Runs on the active tfjs backend; leaves no tensors behind.
   *
   * @throws {@link InvalidArgumentError} for an index outside the cohort or an incomplete bundle.
   */
  async predict(pipeline: Pipeline, indices: ReadonlyArray<number>): Promise<DemoPrediction[]> {
    const cases: DemoPatientCase[] = [];
    for (const i of indices) cases.push(await this.patient(i));
    const batch = this.batch(pipeline, cases);
    let out: ReturnType<Pipeline['model']['predict']> | null = null;
    try {
      out = pipeline.model.predict(batch, { attention: true });
      const probabilities = Array.from(await out.probabilities.data());
      const maps = out.textToVisionAttention?.at(-1);
      let att: number[][][] | null = null;
      let nv = 0;
      if (maps) {
        const mean = tf.mean(maps, 1);
        att = (await mean.array()) as number[][][];
        mean.dispose();
        nv = maps.shape[3];
      }
      const gridSize = Math.round(Math.sqrt(nv));
      return cases.map((c, k) => ({
        ...c,
        probability: probabilities[k]!,
        attention: att && c.report !== null ? lesionAttention(att[k]!, c.report, pipeline.tokenizer!) : null,
        gridSize,
      }));
    } finally {
      tf.dispose(Object.values(batch) as tf.Tensor[]);
      if (out) tf.dispose([out.probabilities, ...(out.visionToTextAttention ?? []), ...(out.textToVisionAttention ?? [])]);
    }
  }
}

/**
 * Sums the text→vision attention `[Nt, Nv]` over the report tokens that name the territory and
 * side (the same choice as the demo's overlays), and rescales it to [0, 1] (min → 0, max → 1).
 */
function lesionAttention(att: number[][], report: string, tok: WordPieceTokenizer): Float32Array {
  const nv = att[0]?.length ?? 0;
  const enc = tok.encode(report);
  const wanted = new Set<number>();
  for (const field of ['Territory', 'Side']) {
    const m = new RegExp(`${field}: ([^|]+)`).exec(report);
    if (!m) continue;
    for (const id of tok.encode(m[1]!.trim()).ids) if (id > 4) wanted.add(id);
  }
  const real = enc.ids.map((_, j) => j).filter((j) => enc.attentionMask[j] === 1);
  const named = real.filter((j) => wanted.has(enc.ids[j]!));
  const weights = new Float32Array(nv);
  for (const j of named.length > 0 ? named : real) {
    const row = att[j]!;
    for (let v = 0; v < nv; v++) weights[v]! += row[v]!;
  }
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const w of weights) {
    min = Math.min(min, w);
    max = Math.max(max, w);
  }
  const range = max - min > 1e-12 ? max - min : 1;
  for (let v = 0; v < nv; v++) weights[v] = (weights[v]! - min) / range;
  return weights;
}
