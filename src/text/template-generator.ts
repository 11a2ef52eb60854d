/**
 * A deterministic report generator without an LLM: renders a report from findings measured on
 * the image, optionally with seeded noise that mimics typical LLM errors.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';
import { Random } from '../core/random.js';
import { abortedError, assertGenerateRequest } from './request.js';
import { sha256Hex } from './hash.js';
import { strokeImpression } from './stroke-schema.js';
import type { ReportSchema } from './schema.js';
import type { TextGenerateRequest, TextGenerateResult, TextGenerator } from './types.js';

/**
 * Findings measured on an image: a partial record of schema field key → value, plus the lesion
 * volume when measured. Values of enum fields must be allowed values of the schema.
 */
export interface Findings {
  /** Field key → value (strings; enum fields must use the schema's values). */
  readonly [key: string]: string | number | undefined;
  /** Lesion volume in millilitres, when measured (rendered as `(~40 mL)` by the stroke schema). */
  readonly volumeMl?: number;
}

/**
 * Measures findings on an image (e.g. lesion side, territory and volume from a segmentation).
 * `image` is the request's `source` when given, otherwise its `images` array.
 */
export interface FindingsExtractor<TImage = unknown> {
  extract(image: TImage): Findings | Promise<Findings>;
}

/** Rates of the simulated LLM errors (each a probability in [0, 1)). */
export interface TemplateNoiseOptions {
  /**
   * Probability that each field is left out of the report.
   * @defaultValue 0
   */
  readonly omitRate?: number;
  /**
   * Probability that left and right are swapped (in `side` and in every free-text field).
   * @defaultValue 0
   */
  readonly lateralityFlipRate?: number;
  /**
   * Probability that the size becomes vague: the volume note is dropped and the size moves to
   * an adjacent category (small ↔ medium ↔ large).
   * @defaultValue 0
   */
  readonly vagueSizeRate?: number;
}

/** Options of {@link TemplateReportGenerator}. */
export interface TemplateReportGeneratorOptions<TImage = unknown> {
  /** Measures the findings. */
  readonly extractor: FindingsExtractor<TImage>;
  /** Simulated LLM errors (all off by default). */
  readonly noise?: TemplateNoiseOptions;
  /**
   * Composes a free-text impression when the findings have none.
   * @defaultValue {@link strokeImpression} for a schema named `'stroke'`, none otherwise
   */
  readonly impression?: (fields: Readonly<Record<string, string | undefined>>) => string | undefined;
  /**
   * Model id reported in results and cache keys.
   * @defaultValue 'template-v1'
   */
  readonly modelId?: string;
}

const SIZES = ['small', 'medium', 'large'];

function swapSides(text: string): string {
  return text.replace(/\b(left|right|Left|Right|LEFT|RIGHT)\b/g, (w) => {
    const map: Record<string, string> = { left: 'right', right: 'left', Left: 'Right', Right: 'Left', LEFT: 'RIGHT', RIGHT: 'LEFT' };
    return map[w]!;
  });
}

/**
 * Renders reports from measured findings, without an LLM. Deterministic: the same findings,
 * schema and request seed give the same report. With `noise`, a seeded {@link Random} (seeded
 * from the request seed and a hash of the findings, so each case gets its own pattern) omits
 * fields, swaps laterality or blurs the size, at the given rates, to train models that must
 * cope with imperfect LLM text.
 *
 * @throws {@link InvalidArgumentError} for a missing extractor or a rate outside [0, 1).
 * @example
 * ```ts
 * const generator = new TemplateReportGenerator({
 *   extractor: { extract: () => ({ acuteLesion: 'present', side: 'left', territory: 'MCA', size: 'large', volumeMl: 40 }) },
 *   noise: { omitRate: 0.1 },
 * });
 * const r = await generator.generate({ images: [], prompt: 'report', schema: strokeReportSchema, temperature: 0, seed: 1 });
 * r.text; // e.g. 'Acute lesion: present | Side: left | Territory: MCA | Size: large (~40 mL) | Impression: acute left MCA territory infarct.'
 * ```
 */
export class TemplateReportGenerator<TImage = unknown> implements TextGenerator {
  readonly specificationVersion = 'v1' as const;
  readonly generatorId = 'vdafm.template';
  readonly modelId: string;
  readonly configId: string;
  private readonly extractor: FindingsExtractor<TImage>;
  private readonly noise: Required<TemplateNoiseOptions>;
  private readonly impression: TemplateReportGeneratorOptions['impression'];

  constructor(options: TemplateReportGeneratorOptions<TImage>) {
    if (options == null || typeof options !== 'object') {
      throw new InvalidArgumentError({ argument: 'options', message: 'options must be an object with an extractor.', received: options });
    }
    if (options.extractor == null || typeof options.extractor.extract !== 'function') {
      throw new InvalidArgumentError({ argument: 'options.extractor', message: 'extractor must have an extract(image) method.', received: typeof options.extractor });
    }
    const noise = { omitRate: 0, lateralityFlipRate: 0, vagueSizeRate: 0, ...(options.noise ?? {}) };
    for (const [k, v] of Object.entries(noise)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v >= 1) {
        throw new InvalidArgumentError({ argument: `options.noise.${k}`, message: `${k} must be a probability in [0, 1).`, received: v });
      }
    }
    if (options.impression !== undefined && typeof options.impression !== 'function') {
      throw new InvalidArgumentError({ argument: 'options.impression', message: 'impression must be a function.', received: typeof options.impression });
    }
    this.extractor = options.extractor;
    this.noise = noise;
    this.impression = options.impression;
    this.modelId = options.modelId ?? 'template-v1';
    this.configId = JSON.stringify({ noise });
  }

  /**
   * Renders one report. Ignores `prompt`, `temperature` and `maxTokens`.
   * @throws {@link InvalidArgumentError} for an invalid request or findings with a value the
   * schema does not allow; {@link TextGenerationError} (`'aborted'`) when the signal fired.
   */
  async generate(request: TextGenerateRequest): Promise<TextGenerateResult> {
    assertGenerateRequest(request);
    if (request.signal?.aborted) throw abortedError();
    const input = (request.source !== undefined ? request.source : request.images) as TImage;
    const findings = await this.extractor.extract(input);
    if (request.signal?.aborted) throw abortedError();
    const { fields, volumeMl } = this.fieldsFrom(findings, request.schema);
    const rng = new Random((request.seed ^ parseInt(sha256Hex(JSON.stringify(findings) ?? '').slice(0, 8), 16)) >>> 0);
    let keepVolume = volumeMl;
    if (fields['size'] && SIZES.includes(fields['size']) && rng.bernoulli(this.noise.vagueSizeRate)) {
      const i = SIZES.indexOf(fields['size']);
      const j = i === 0 ? 1 : i === SIZES.length - 1 ? i - 1 : rng.bernoulli(0.5) ? i - 1 : i + 1;
      fields['size'] = SIZES[j]!;
      keepVolume = undefined;
    }
    if (rng.bernoulli(this.noise.lateralityFlipRate)) {
      for (const f of request.schema.fields) {
        const v = fields[f.key];
        if (v === undefined) continue;
        if (f.kind === 'text') fields[f.key] = swapSides(v);
        else if (v === 'left' || v === 'right') fields[f.key] = v === 'left' ? 'right' : 'left';
      }
    }
    const warnings: string[] = [];
    for (const f of request.schema.fields) {
      if (fields[f.key] !== undefined && rng.bernoulli(this.noise.omitRate)) {
        delete fields[f.key];
        warnings.push(`field "${f.key}" omitted by simulated noise`);
      }
    }
    const text = request.schema.render(fields, keepVolume === undefined ? {} : { volumeMl: keepVolume });
    return { fields, text, raw: text, usage: {}, ...(warnings.length ? { warnings } : {}) };
  }

  private fieldsFrom(findings: Findings, schema: ReportSchema): { fields: Record<string, string>; volumeMl: number | undefined } {
    if (findings == null || typeof findings !== 'object') {
      throw new InvalidArgumentError({ argument: 'findings', message: 'extract() must return an object of field key → value.', received: findings });
    }
    const fields: Record<string, string> = {};
    for (const f of schema.fields) {
      const v = findings[f.key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') {
        throw new InvalidArgumentError({ argument: `findings.${f.key}`, message: 'finding values must be strings.', received: v });
      }
      if (f.kind === 'enum' && !f.values!.includes(v)) {
        throw new InvalidArgumentError({
          argument: `findings.${f.key}`,
          message: `findings.${f.key} must be one of ${f.values!.join(', ')}.`,
          received: v,
        });
      }
      if (v.trim() !== '') fields[f.key] = v;
    }
    const compose = this.impression ?? (schema.name === 'stroke' ? strokeImpression : undefined);
    const hasImpressionField = schema.fields.some((f) => f.key === 'impression');
    if (hasImpressionField && fields['impression'] === undefined && compose) {
      const s = compose(fields);
      if (s) fields['impression'] = s;
    }
    const vol = findings.volumeMl;
    if (vol !== undefined && (typeof vol !== 'number' || !Number.isFinite(vol) || vol < 0)) {
      throw new InvalidArgumentError({ argument: 'findings.volumeMl', message: 'volumeMl must be a finite number ≥ 0.', received: vol });
    }
    return { fields, volumeMl: vol };
  }
}
