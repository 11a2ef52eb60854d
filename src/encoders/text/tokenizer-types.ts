/**
 * The types of `WordPieceTokenizer`: the HuggingFace `tokenizer.json` document it reads and
 * writes, the options of its constructors and of `encode`, and one encoded text.
 *
 * @packageDocumentation
 */

/** A HuggingFace `tokenizer.json` document (only the fields vdafm reads are typed). */
export interface TokenizerJSON {
  version?: string;
  truncation?: { max_length?: number; [key: string]: unknown } | null;
  padding?: { pad_token?: string; pad_id?: number; [key: string]: unknown } | null;
  added_tokens: Array<{ id: number; content: string; special?: boolean; [key: string]: unknown }>;
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: { type?: string; vocab?: unknown; unk_token?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Padding strategies of {@link WordPieceTokenizer.encode}. */
export type PaddingStrategy = 'max_length' | 'longest' | 'do_not_pad';

/** Options of {@link WordPieceTokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Length to truncate to (special tokens included) and, with `padding: 'max_length'`, to pad to.
   * @defaultValue the tokenizer's `maxLength`
   */
  maxLength?: number;
  /**
   * `'max_length'` pads every sequence to `maxLength` (fixed model input shape);
   * `'longest'` pads to the longest sequence of the batch; `'do_not_pad'` leaves lengths as they are.
   * @defaultValue 'max_length'
   */
  padding?: PaddingStrategy;
  /**
   * Cut sequences longer than `maxLength` (the special tokens are kept: `[CLS] … [SEP]`).
   * @defaultValue true
   */
  truncation?: boolean;
  /**
   * Add the post-processor's special tokens (`[CLS]`, `[SEP]` for BERT).
   * @defaultValue true
   */
  addSpecialTokens?: boolean;
}

/** One encoded text. */
export interface TokenEncoding {
  /** Token ids, padded with the pad id. */
  ids: number[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
  /** Token strings (the pad token for padding). */
  tokens: string[];
}

/** Options of {@link WordPieceTokenizer.fromVocab} and {@link WordPieceTokenizer.train}. */
export interface WordPieceOptions {
  /**
   * Lower-case and strip accents (BERT "uncased").
   * @defaultValue true
   */
  lowercase?: boolean;
  /**
   * Default `maxLength` of {@link WordPieceTokenizer.encode}.
   * @defaultValue 128
   */
  maxLength?: number;
  /** Padding token. @defaultValue '[PAD]' */
  padToken?: string;
  /** Unknown token. @defaultValue '[UNK]' */
  unkToken?: string;
  /** Classification token put first. @defaultValue '[CLS]' */
  clsToken?: string;
  /** Separator token put last. @defaultValue '[SEP]' */
  sepToken?: string;
  /**
   * Tokens never split and skipped by `decode` (must be in the vocabulary).
   * @defaultValue `['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']` (those present)
   */
  specialTokens?: ReadonlyArray<string>;
  /** Prefix of word-continuation pieces. @defaultValue '##' */
  continuingSubwordPrefix?: string;
  /** Words longer than this become the unknown token. @defaultValue 100 */
  maxInputCharsPerWord?: number;
  /**
   * Keep decimal numbers whole: `3.5` is one word (`3`, `##.`, `##5` pieces unless the vocabulary
   * holds it) instead of the three words `3`, `.`, `5`, whose `.` reads like a sentence end.
   * Otherwise the pre-tokeniser is BERT's (split on whitespace and punctuation). Saved in
   * `toJSON()` as a standard `Split` pre-tokeniser, so HuggingFace `tokenizers` reads it too.
   * @defaultValue false (BERT's pre-tokeniser, as a Hub vocabulary expects)
   */
  keepNumbers?: boolean;
}

/** Options of {@link WordPieceTokenizer.fromJSON}. */
export interface FromJSONOptions {
  /**
   * Default `maxLength`.
   * @defaultValue `truncation.max_length` of the file, else 128
   */
  maxLength?: number;
  /**
   * Padding token.
   * @defaultValue `padding.pad_token` of the file, else '[PAD]'
   */
  padToken?: string;
}
