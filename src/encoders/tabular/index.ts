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
export {
  FeatureTokenizer,
  featureTokenizer,
  TabularMLP,
  tabularMLP,
  ClsTokenSplit,
  clsTokenSplit,
  ClsAttentionImportance,
  clsAttentionImportance,
  type FeatureTokenizerArgs,
  type TabularMLPArgs,
  type MlpActivation,
  type ClsTokenSplitArgs,
  type ClsAttentionImportanceArgs,
} from './layers.js';
export { createTabularEncoder, type TabularEncoder, type TabularEncoderConfig, type TabularEncoderType } from './encoder.js';
