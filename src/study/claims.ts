/**
 * The study's pre-registered protocol and claims. Fixed, with the scenarios' knobs and their
 * ceilings, in one commit before any fused model was trained on the `'imbalance'` scenario
 * (docs/guides/synthetic-cohort.md, "Pre-registration"); after that they do not change to suit a
 * result. Each claim compares two ablations (ids of ./ablations.ts) on the same test patients.
 *
 * @packageDocumentation
 */
import type { ScenarioName } from '../data/scenarios.js';

/** How a claim is judged from the paired differences over seeds (mean and 95% t-interval). */
export type ClaimKind =
  /** `a` beats `b`: shown when the interval's lower bound > 0; contrary when its upper bound < 0. */
  | 'superiority'
  /** `a` and `b` are equivalent within ±margin: shown when the interval lies inside it. */
  | 'equivalence'
  /** `a`'s mean test AUC reaches `target`: shown when the interval's lower bound ≥ target. */
  | 'auc-at-least'
  /** `a`'s mean regret against Bayes is at most `target`: shown when the interval's upper bound ≤ target. */
  | 'regret-at-most';

/** One pre-registered claim. */
export interface Claim {
  /** Short id, e.g. `'C1'`. */
  readonly id: string;
  readonly scenario: ScenarioName;
  readonly kind: ClaimKind;
  /** The ablation the claim is about. */
  readonly a: string;
  /** The ablation it is compared with (superiority, equivalence). */
  readonly b?: string;
  /** Training size the claim is judged at (patients). */
  readonly trainSize: number;
  /** Superiority: the effect size the claim hopes for (reported as met / not met beside the verdict). Equivalence: the margin. Thresholds: the target. */
  readonly target: number;
  /** What it says, in words. */
  readonly statement: string;
  /** Why it is tested. */
  readonly rationale: string;
}

/** The study's fixed protocol. */
export const STUDY_PROTOCOL = {
  /** Seeds per scenario of the default study (each: new training and validation cohorts, new initialisation). */
  seeds: { imbalance: 10, additive: 5 } as Readonly<Record<ScenarioName, number>>,
  /** Training patients of the main comparison. */
  trainSize: 600,
  /** Validation patients per seed, as a share of the training size. */
  validationShare: 1 / 3,
  /** Patients of the fixed, independently generated test cohort of each scenario (inference only). */
  testPatients: 5000,
  /** Seed of the test cohorts (training seeds never take this value). */
  testSeed: 90210,
  /** Training sizes of the learning curve (full model, tri-modal concat, oracle; seeds below). */
  learningCurveSizes: [600, 1200, 2400, 4800] as readonly number[],
  /** Seeds per learning-curve point. */
  learningCurveSeeds: 3,
  /** Models of the learning curve. */
  learningCurveModels: ['full', 'concat'] as readonly string[],
  /** Confidence level of every interval. */
  confidence: 0.95,
} as const;

/** One ablation of the suite: what it trains (settings otherwise identical across the suite). */
export interface AblationSpec {
  readonly id: string;
  readonly name: string;
  readonly modalities: readonly ('image' | 'text' | 'clinical')[];
  /** 'pooled' = the unimodal models' pooled head; 'late' = stacking of separately trained unimodal models. */
  readonly fusion: 'pooled' | 'concat' | 'vdafm' | 'late' | 'none';
  readonly balancing: boolean;
  readonly alignment: boolean;
  /** Modality dropout (only for models with more than one modality). */
  readonly modalityDropout: boolean;
  /** A reference that is not a neural network. */
  readonly reference?: 'oracle' | 'table-report';
}

/**
 * The ablation suite: each claim's pair differs in one factor; every neural model shares the
 * same encoders, widths, optimiser, schedule, selection rule and tuning budget.
 */
export const ABLATION_SUITE: readonly AblationSpec[] = [
  { id: 'image', name: 'image only', modalities: ['image'], fusion: 'pooled', balancing: false, alignment: false, modalityDropout: false },
  { id: 'image-report', name: 'image only, taught by the report (field pretraining)', modalities: ['image'], fusion: 'pooled', balancing: false, alignment: true, modalityDropout: false },
  { id: 'clinical', name: 'clinical only', modalities: ['clinical'], fusion: 'pooled', balancing: false, alignment: false, modalityDropout: false },
  { id: 'text', name: 'text only', modalities: ['text'], fusion: 'pooled', balancing: false, alignment: false, modalityDropout: false },
  { id: 'image-clinical', name: 'image + clinical concat', modalities: ['image', 'clinical'], fusion: 'pooled', balancing: false, alignment: false, modalityDropout: true },
  { id: 'image-text-concat', name: 'image + text concat', modalities: ['image', 'text'], fusion: 'concat', balancing: false, alignment: false, modalityDropout: true },
  { id: 'image-text-vdafm', name: 'image + text VDAFM', modalities: ['image', 'text'], fusion: 'vdafm', balancing: false, alignment: false, modalityDropout: true },
  { id: 'concat', name: 'tri-modal concat', modalities: ['image', 'text', 'clinical'], fusion: 'concat', balancing: false, alignment: false, modalityDropout: true },
  { id: 'concat-balancing-alignment', name: 'tri-modal concat + balancing + alignment', modalities: ['image', 'text', 'clinical'], fusion: 'concat', balancing: true, alignment: true, modalityDropout: true },
  { id: 'vdafm', name: 'tri-modal VDAFM', modalities: ['image', 'text', 'clinical'], fusion: 'vdafm', balancing: false, alignment: false, modalityDropout: true },
  { id: 'vdafm-balancing', name: 'tri-modal VDAFM + balancing', modalities: ['image', 'text', 'clinical'], fusion: 'vdafm', balancing: true, alignment: false, modalityDropout: true },
  { id: 'full', name: 'tri-modal VDAFM + balancing + alignment (full)', modalities: ['image', 'text', 'clinical'], fusion: 'vdafm', balancing: true, alignment: true, modalityDropout: true },
  { id: 'late', name: 'late fusion (stacking of the unimodal models)', modalities: ['image', 'text', 'clinical'], fusion: 'late', balancing: false, alignment: false, modalityDropout: false },
  { id: 'oracle', name: 'oracle LR on the true latent features + table', modalities: [], fusion: 'none', balancing: false, alignment: false, modalityDropout: false, reference: 'oracle' },
  { id: 'table-report', name: "LR on the table + the report's parsed fields", modalities: [], fusion: 'none', balancing: false, alignment: false, modalityDropout: false, reference: 'table-report' },
];

/** The pre-registered claims. */
export const CLAIMS: readonly Claim[] = [
  {
    id: 'C1',
    scenario: 'imbalance',
    kind: 'superiority',
    a: 'full',
    b: 'concat',
    trainSize: 600,
    target: 0.02,
    statement: 'The full tri-modal VDAFM (alignment + balancing) beats tri-modal concatenation by ΔAUC ≥ +0.02.',
    rationale: 'The headline claim of the method on data with a dominant clinical modality and a complementary image signal.',
  },
  {
    id: 'C2',
    scenario: 'imbalance',
    kind: 'superiority',
    a: 'full',
    b: 'vdafm-balancing',
    trainSize: 600,
    target: 0.005,
    statement: 'The dual alignment loss improves the tri-modal VDAFM (with balancing).',
    rationale: 'Alignment ablation: one factor changed (alignment on/off).',
  },
  {
    id: 'C3',
    scenario: 'imbalance',
    kind: 'superiority',
    a: 'vdafm-balancing',
    b: 'vdafm',
    trainSize: 600,
    target: 0.005,
    statement: 'Modality balancing improves the tri-modal VDAFM (without alignment).',
    rationale: 'Balancing ablation: one factor changed (balancing on/off).',
  },
  {
    id: 'C4',
    scenario: 'imbalance',
    kind: 'superiority',
    a: 'full',
    b: 'concat-balancing-alignment',
    trainSize: 600,
    target: 0.005,
    statement: 'With the same balancing and alignment, VDAFM fusion beats concatenation.',
    rationale: 'Fusion ablation: one factor changed (the fusion module).',
  },
  {
    id: 'C5',
    scenario: 'imbalance',
    kind: 'superiority',
    a: 'image-clinical',
    b: 'clinical',
    trainSize: 600,
    target: 0.01,
    statement: 'The image adds to the clinical table (image + clinical concatenation beats clinical only).',
    rationale: 'The premise of the scenario (the image carries +0.063 AUC over the table at best).',
  },
  {
    id: 'C6',
    scenario: 'imbalance',
    kind: 'regret-at-most',
    a: 'full',
    trainSize: 2400,
    target: 0.02,
    statement: "The full model's regret against Bayes is at most 0.02 with 2400 training patients.",
    rationale: 'Enough data lets the method approach the Bayes-optimal AUC (finite-sample oracle regret at 2400: 0.005).',
  },
  {
    id: 'C7',
    scenario: 'imbalance',
    kind: 'superiority',
    a: 'image-report',
    b: 'image',
    trainSize: 600,
    target: 0.02,
    statement: "The report teaches the image: the image-only model pretrained on the report's parsed fields beats the one trained on outcomes alone.",
    rationale: 'The image is read at test time alone in both; only the training signal differs (the generated report as dense supervision, issue #15). Registered on 2026-12-07 with the second study, before any run of it.',
  },
  {
    id: 'N1',
    scenario: 'additive',
    kind: 'equivalence',
    a: 'full',
    b: 'concat',
    trainSize: 600,
    target: 0.01,
    statement: 'On the additive negative control the full model and concatenation are equivalent within ±0.01 AUC.',
    rationale: 'The true risk is additive and the image adds +0.033 at best: concatenation with a linear head is already the optimal form, so VDAFM has no information to win.',
  },
  {
    id: 'N2',
    scenario: 'additive',
    kind: 'auc-at-least',
    a: 'image',
    trainSize: 600,
    target: 0.67,
    statement: 'The image-only model reaches a test AUC of at least 0.67 with 600 training patients.',
    rationale: 'A strong image branch (issue #15; ceiling of the image lesion findings 0.718, of every image feature 0.780).',
  },
  {
    id: 'N3',
    scenario: 'additive',
    kind: 'regret-at-most',
    a: 'full',
    trainSize: 600,
    target: 0.03,
    statement: "The full model's regret against Bayes is at most 0.03 with 600 training patients.",
    rationale: 'The finite-sample oracle regret at 600 is 0.021.',
  },
  {
    id: 'N4',
    scenario: 'additive',
    kind: 'auc-at-least',
    a: 'image-report',
    trainSize: 600,
    target: 0.67,
    statement: 'The image-only model taught by the report reaches a test AUC of at least 0.67 with 600 training patients.',
    rationale: 'N2 for the image branch with report-field pretraining (registered with the second study, before any run of it).',
  },
];

/**
 * The pre-registered protocol, suite and claims as markdown (docs/guides/study.md holds this text;
 * a test keeps them identical).
 *
 * @example
 * ```ts
 * console.log(preregistrationMarkdown());
 * ```
 */
export function preregistrationMarkdown(): string {
  const p = STUDY_PROTOCOL;
  const kind: Record<ClaimKind, (c: Claim) => string> = {
    superiority: (c) => `superiority of \`${c.a}\` over \`${c.b}\` (hoped-for effect ${c.target.toFixed(3)})`,
    equivalence: (c) => `\`${c.a}\` ≡ \`${c.b}\` within ±${c.target.toFixed(3)}`,
    'auc-at-least': (c) => `mean test AUC of \`${c.a}\` ≥ ${c.target.toFixed(2)}`,
    'regret-at-most': (c) => `mean regret of \`${c.a}\` ≤ ${c.target.toFixed(2)}`,
  };
  return [
    '| setting | value |',
    '| --- | --- |',
    `| seeds per scenario | imbalance ${p.seeds.imbalance}, additive ${p.seeds.additive} (each: new training and validation cohorts, new initialisation) |`,
    `| training patients | ${p.trainSize} (validation: ${Math.round(p.validationShare * 100) / 100} × training) |`,
    `| test cohort | ${p.testPatients} patients per scenario, seed ${p.testSeed}, inference only |`,
    `| learning curve | ${p.learningCurveModels.join(', ')} and the oracle at ${p.learningCurveSizes.join(', ')} training patients, ${p.learningCurveSeeds} seeds each |`,
    `| intervals | ${p.confidence * 100}% t-intervals over seeds of the paired difference on the same test patients |`,
    '',
    '| id | ablation | modalities | fusion | balancing | alignment | modality dropout |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...ABLATION_SUITE.map(
      (a) =>
        `| \`${a.id}\` | ${a.name} | ${a.modalities.join(', ') || '—'} | ${a.reference ? `reference (${a.reference})` : a.fusion} | ${a.balancing ? 'yes' : 'no'} | ${a.alignment ? 'yes' : 'no'} | ${a.modalityDropout ? 'yes' : 'no'} |`,
    ),
    '',
    '| claim | scenario | n train | test | statement |',
    '| --- | --- | --- | --- | --- |',
    ...CLAIMS.map((c) => `| ${c.id} | ${c.scenario} | ${c.trainSize} | ${kind[c.kind](c)} | ${c.statement} |`),
    '',
    'Verdicts: a superiority claim is **shown** when the 95% interval of the mean paired difference lies above 0, **contrary** when it lies below 0, **not shown** otherwise (the hoped-for effect is reported as met or not beside it); an equivalence claim is shown when the interval lies inside ±margin; a threshold claim is shown when the interval lies on the right side of its target. Each is reported exactly as measured.',
  ].join('\n');
}
