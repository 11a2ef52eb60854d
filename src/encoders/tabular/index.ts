/**
 * The clinical-table branch: preprocessor, layers and the `createTabularEncoder` factory.
 *
 * @packageDocumentation
 */
export {
  TabularPreprocessor,
  UNSEEN_CATEGORY_INDEX,
  type CellValue,
  type ColumnSpec,
  type ColumnType,
  type TableInput,
  type TabularFeatureSpec,
  type TabularPreprocessorJSON,
  type TabularPreprocessorOptions,
} from './preprocessor.js';
export { FeatureTokenizer, featureTokenizer, type FeatureTokenizerArgs } from './feature-tokenizer.js';
export {
  TabularMLP,
  tabularMLP,
  type TabularMLPArgs,
  type MlpActivation,
} from './mlp.js';
export {
  ClsTokenSplit,
  clsTokenSplit,
  ClsAttentionImportance,
  clsAttentionImportance,
  type ClsTokenSplitArgs,
  type ClsAttentionImportanceArgs,
} from './cls.js';
export { createTabularEncoder, type TabularEncoder, type TabularEncoderConfig, type TabularEncoderType } from './encoder.js';
