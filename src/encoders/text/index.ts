/**
 * The report-text branch: WordPiece tokenizer and vocabulary building, token embedding, the
 * trainable `createTextEncoder` and the frozen-embedding `createFrozenTextEncoder`.
 *
 * @packageDocumentation
 */
export { embeddingLookup, sanitizeIds } from '../../ops/embedding.js';
export { buildVocab, bertWords, DEFAULT_SPECIAL_TOKENS, type BuildVocabOptions } from './vocab.js';
export {
  WordPieceTokenizer,
  type EncodeOptions,
  type TokenEncoding,
  type FromJSONOptions,
  type PaddingStrategy,
  type TokenizerJSON,
  type WordPieceOptions,
} from './tokenizer.js';
export { TokenEmbedding, tokenEmbedding, type TokenEmbeddingArgs } from './token-embedding.js';
export { FrozenEmbeddingAdapter, frozenEmbeddingAdapter, type FrozenEmbeddingAdapterArgs } from './frozen-adapter.js';
export { LayerNormalization, layerNormalization, type LayerNormalizationArgs } from '../../layers/layer-norm.js';
export {
  createTextEncoder,
  createFrozenTextEncoder,
  type TextEncoderBranch,
  type TextEncoderConfig,
  type TextEncoderOutputs,
  type FrozenTextEncoderBranch,
  type FrozenTextEncoderConfig,
} from './encoder.js';
