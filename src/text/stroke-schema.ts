/**
 * The default report schema for acute ischaemic stroke MRI.
 *
 * @packageDocumentation
 */
import { defineReportSchema, type ReportSchema } from './schema.js';

/** Field keys of {@link strokeReportSchema}, in rendering order. */
export const STROKE_REPORT_FIELDS = [
  'sequences',
  'acuteLesion',
  'side',
  'territory',
  'location',
  'size',
  'signal',
  'massEffect',
  'oldLesions',
  'impression',
] as const;

/** A key of {@link strokeReportSchema}. */
export type StrokeReportField = (typeof STROKE_REPORT_FIELDS)[number];

function formatStrokeValue(key: string, value: string, context: { volumeMl?: number }): string {
  if (key === 'size' && value !== 'none' && typeof context.volumeMl === 'number' && Number.isFinite(context.volumeMl) && context.volumeMl >= 0) {
    const v = context.volumeMl;
    const shown = v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
    return `${value} (~${shown} mL)`;
  }
  return value;
}

/**
 * The default stroke report schema. Fields (key: allowed values):
 * `sequences` (free text, e.g. `'DWI, ADC'`), `acuteLesion` (`present|absent`),
 * `side` (`left|right|bilateral|none`), `territory`
 * (`ACA|MCA|PCA|basal ganglia|internal capsule|brainstem|cerebellum|multiple|none`),
 * `location` (free-text list), `size` (`none|small|medium|large`; rendered with `(~40 mL)` when
 * a volume is known), `signal` (free text), `massEffect` (`none|mild|moderate|severe`),
 * `oldLesions` (`none|present`), `impression` (free text). Common synonyms (`yes`, `middle
 * cerebral artery`, `pons`, `moderate` for size, ...) are mapped by the parser.
 *
 * @example
 * ```ts
 * strokeReportSchema.render(
 *   { sequences: 'DWI, ADC', acuteLesion: 'present', side: 'left', territory: 'MCA', size: 'large' },
 *   { volumeMl: 40 },
 * );
 * // 'Sequences: DWI, ADC | Acute lesion: present | Side: left | Territory: MCA | Size: large (~40 mL)'
 * ```
 */
export const strokeReportSchema: ReportSchema = defineReportSchema({
  name: 'stroke',
  version: 1,
  formatValue: formatStrokeValue,
  fields: [
    { key: 'sequences', label: 'Sequences', kind: 'text', description: 'MRI sequences shown, e.g. "DWI, ADC"' },
    {
      key: 'acuteLesion',
      label: 'Acute lesion',
      kind: 'enum',
      values: ['present', 'absent'],
      synonyms: { yes: 'present', positive: 'present', seen: 'present', detected: 'present', no: 'absent', negative: 'absent', 'not seen': 'absent', none: 'absent' },
      description: 'whether an acute infarct (restricted diffusion) is visible',
    },
    {
      key: 'side',
      label: 'Side',
      kind: 'enum',
      values: ['left', 'right', 'bilateral', 'none'],
      synonyms: { l: 'left', 'left-sided': 'left', 'left hemisphere': 'left', r: 'right', 'right-sided': 'right', 'right hemisphere': 'right', both: 'bilateral', 'both sides': 'bilateral', 'n/a': 'none', 'not applicable': 'none' },
      description: 'side of the acute lesion, "none" if there is none',
    },
    {
      key: 'territory',
      label: 'Territory',
      kind: 'enum',
      values: ['ACA', 'MCA', 'PCA', 'basal ganglia', 'internal capsule', 'brainstem', 'cerebellum', 'multiple', 'none'],
      synonyms: {
        'anterior cerebral artery': 'ACA',
        'middle cerebral artery': 'MCA',
        'posterior cerebral artery': 'PCA',
        'aca territory': 'ACA',
        'mca territory': 'MCA',
        'pca territory': 'PCA',
        'lenticulostriate': 'basal ganglia',
        pons: 'brainstem',
        pontine: 'brainstem',
        medulla: 'brainstem',
        midbrain: 'brainstem',
        'brain stem': 'brainstem',
        cerebellar: 'cerebellum',
        'multiple territories': 'multiple',
        'n/a': 'none',
      },
      description: 'vascular territory of the acute lesion',
    },
    { key: 'location', label: 'Location', kind: 'text', description: 'anatomical structures involved, comma-separated' },
    {
      key: 'size',
      label: 'Size',
      kind: 'enum',
      values: ['none', 'small', 'medium', 'large'],
      synonyms: { tiny: 'small', punctate: 'small', moderate: 'medium', intermediate: 'medium', extensive: 'large', big: 'large', 'n/a': 'none' },
      description: 'size of the acute lesion (small < 15 mL, medium 15-70 mL, large > 70 mL as a guide)',
    },
    { key: 'signal', label: 'Signal', kind: 'text', description: 'signal of the lesion per sequence, e.g. "DWI hyperintense, ADC hypointense"' },
    {
      key: 'massEffect',
      label: 'Mass effect',
      kind: 'enum',
      values: ['none', 'mild', 'moderate', 'severe'],
      synonyms: { no: 'none', absent: 'none', minimal: 'mild', slight: 'mild', marked: 'severe', significant: 'severe' },
    },
    {
      key: 'oldLesions',
      label: 'Old lesions',
      kind: 'enum',
      values: ['none', 'present'],
      synonyms: { no: 'none', absent: 'none', yes: 'present', seen: 'present' },
      description: 'chronic infarcts or other old lesions',
    },
    { key: 'impression', label: 'Impression', kind: 'text', description: 'one-sentence conclusion' },
  ],
});

/**
 * Composes a stroke impression sentence from the other fields, e.g.
 * `'acute left MCA territory infarct.'` or `'no acute infarct.'`; `undefined` when
 * `acuteLesion` is unknown. Used by {@link TemplateReportGenerator} when findings carry no impression.
 *
 * @example
 * ```ts
 * strokeImpression({ acuteLesion: 'present', side: 'left', territory: 'MCA' }); // 'acute left MCA territory infarct.'
 * ```
 */
export function strokeImpression(fields: Readonly<Record<string, string | undefined>>): string | undefined {
  if (fields['acuteLesion'] === 'absent') return 'no acute infarct.';
  if (fields['acuteLesion'] !== 'present') return undefined;
  const side = fields['side'] && fields['side'] !== 'none' ? `${fields['side']} ` : '';
  const t = fields['territory'];
  const where = !t || t === 'none' ? '' : ['ACA', 'MCA', 'PCA'].includes(t) ? `${t} territory ` : t === 'multiple' ? 'multi-territory ' : `${t} `;
  return `acute ${side}${where}infarct.`;
}
