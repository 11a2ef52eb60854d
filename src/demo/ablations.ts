/**
 * The demo's ablation suite: which modalities, fusion and trainer settings each row uses, built
 * from the fitted preprocessing of a run (./demo.ts).
 *
 * @packageDocumentation
 */
import type { TabularPreprocessor } from '../encoders/tabular/preprocessor.js';
import type { WordPieceTokenizer } from '../encoders/text/tokenizer.js';
import type { TriModalModelConfig } from '../models/tri-modal.js';
import type { ReportFieldTargets } from '../text/field-targets.js';
import type { TrainerOptions } from '../training/trainer.js';
import { imageEncoderConfig } from '../study/ablations.js';

/** One row of the suite: a model config and its trainer settings. */
export interface Ablation {
  name: string;
  config: (c: Components) => TriModalModelConfig;
  trainer: Partial<TrainerOptions>;
  /**
   * A model with alignment: trained with the report-field loss and, before the outcome, by
   * alignment pretraining (the study's recipe, `TRAINING` of src/study/ablations.ts).
   */
  aligned?: boolean;
}

/** What the configs are built from: the image shape and the fitted preprocessing of a run. */
export interface Components {
  imageShape: number[];
  pre: TabularPreprocessor;
  tok: WordPieceTokenizer;
  /** The report-field targets fitted on the training reports, or null (reports without the fields). */
  fields: ReportFieldTargets | null;
  seed: number;
}

const DIM = 32;

const image = (c: Components) => imageEncoderConfig(c.imageShape);
const text = (c: Components) => ({ tokenizer: c.tok, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 });
const clinical = (c: Components) => ({ features: c.pre, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 });
const vdafmFusion = { type: 'vdafm' as const, dim: DIM, numHeads: 4, numLayers: 1, dropout: 0.1 };
/** The report-field head of the models with alignment (it reads the image embedding). */
const fieldHead = (c: Components) => (c.fields ? { reportFields: c.fields } : {});

/** The ablation suite, in table order. */
export const ABLATIONS: ReadonlyArray<Ablation> = [
  { name: 'image only', config: (c) => ({ image: image(c) }), trainer: { alignment: false } },
  { name: 'clinical only', config: (c) => ({ clinical: clinical(c) }), trainer: { alignment: false } },
  { name: 'text only', config: (c) => ({ text: text(c) }), trainer: { alignment: false } },
  { name: 'image + clinical', config: (c) => ({ image: image(c), clinical: clinical(c) }), trainer: { alignment: false } },
  {
    name: 'image + text (VDAFM)',
    config: (c) => ({ image: image(c), text: text(c), fusion: { ...vdafmFusion, clinical: 'none' }, ...fieldHead(c) }),
    trainer: {},
    aligned: true,
  },
  {
    name: 'tri-modal concat',
    config: (c) => ({ image: image(c), text: text(c), clinical: clinical(c), fusion: { type: 'concat', dim: DIM } }),
    trainer: { alignment: false, balancing: false },
  },
  {
    name: 'tri-modal VDAFM, no alignment',
    config: (c) => ({ image: image(c), text: text(c), clinical: clinical(c), fusion: vdafmFusion }),
    trainer: { alignment: false },
  },
  {
    name: 'tri-modal VDAFM (full)',
    config: (c) => ({ image: image(c), text: text(c), clinical: clinical(c), fusion: vdafmFusion, returnAttention: true, ...fieldHead(c) }),
    trainer: {},
    aligned: true,
  },
];
