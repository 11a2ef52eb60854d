/**
 * An offline WordPiece tokenizer for report text: built from a corpus or loaded from a
 * HuggingFace `tokenizer.json`, with padding, truncation and an attention mask.
 *
 * Encoding and decoding are delegated to `@huggingface/tokenizers` (pure JS, runs in Node and
 * in the browser, loads any standard `tokenizer.json`); vdafm adds vocabulary building,
 * batching, padding/truncation and serialisation.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { assertBoolean, assertOneOf, assertPositiveInt } from '../../core/validate.js';
import { InvalidArgumentError, SerializationError } from '../../errors.js';
import type { EncodeOptions, FromJSONOptions, TokenEncoding, TokenizerJSON, WordPieceOptions } from './tokenizer-types.js';
import { type BuildVocabOptions, buildVocab, DEFAULT_SPECIAL_TOKENS, NUMBER_AWARE_PATTERN } from './vocab.js';

function deepCopy<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

/**
 * WordPiece tokenizer for report text (BERT normaliser and pre-tokeniser, `##` continuation
 * pieces), with batched encoding to fixed-length ids and attention masks.
 *
 * Create one with {@link WordPieceTokenizer.train} (vocabulary built from your reports),
 * {@link WordPieceTokenizer.fromVocab} (a `vocab.txt` as a list) or
 * {@link WordPieceTokenizer.fromJSON} (a HuggingFace `tokenizer.json`, e.g. from a BERT model
 * on the Hub). {@link WordPieceTokenizer.toJSON} returns a standard `tokenizer.json`, which
 * HuggingFace `tokenizers` (Python, Rust) and transformers.js also load.
 *
 * `null` (or `undefined`) in a batch is a *missing report*: all padding, mask all zeros.
 *
 * @example
 * ```ts
 * import { WordPieceTokenizer } from 'vdafm';
 *
 * const tok = WordPieceTokenizer.train(reports, { vocabSize: 2000, minFrequency: 2 }, { maxLength: 64 });
 * const { ids, attentionMask } = tok.encode('Acute left MCA infarct.');
 * tok.decode(ids); // 'acute left mca infarct.'
 * const batch = tok.encodeToTensors(['Acute lesion: present', null]); // ids, mask [2, 64]
 * ```
 */
export class WordPieceTokenizer {
  /** Default `maxLength` of {@link encode}. */
  readonly maxLength: number;
  /** The padding token and its id. */
  readonly padToken: string;
  readonly padId: number;
  /** Number of entries of the vocabulary (largest id + 1). */
  readonly vocabSize: number;
  private readonly hf: HfTokenizer;
  private readonly json: TokenizerJSON;
  private readonly numSpecialAdded: number;

  private constructor(json: TokenizerJSON, maxLength: number, padToken: string) {
    assertPositiveInt(maxLength, 'maxLength');
    try {
      this.hf = new HfTokenizer(deepCopy(json), {});
    } catch (error) {
      throw new SerializationError(`Cannot load tokenizer.json: ${(error as Error).message}.`, { cause: error });
    }
    this.json = deepCopy(json);
    const vocab = this.hf.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const padId = this.hf.token_to_id(padToken);
    if (padId === undefined) {
      throw new InvalidArgumentError({
        argument: 'padToken',
        message: `The padding token is not in the vocabulary.`,
        received: padToken,
        fix: 'Pass the padding token of this vocabulary as options.padToken.',
      });
    }
    this.padToken = padToken;
    this.padId = padId;
    this.maxLength = maxLength;
    this.numSpecialAdded = this.hf.post_processor ? this.hf.post_processor.post_process([], null, true).tokens.length : 0;
  }

  /**
   * Builds a vocabulary from a corpus ({@link buildVocab}) and a tokenizer on it.
   *
   * @throws {@link InvalidArgumentError} on a bad corpus or option (argument named).
   * @example
   * ```ts
   * const tok = WordPieceTokenizer.train(['Acute left MCA infarct.'], { vocabSize: 100, minFrequency: 1 });
   * ```
   */
  static train(corpus: Iterable<string>, vocabOptions: BuildVocabOptions = {}, options: WordPieceOptions = {}): WordPieceTokenizer {
    const special = vocabOptions.specialTokens ?? options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
    const vocab = buildVocab(corpus, {
      ...vocabOptions,
      specialTokens: special,
      lowercase: vocabOptions.lowercase ?? options.lowercase ?? true,
      continuingSubwordPrefix: vocabOptions.continuingSubwordPrefix ?? options.continuingSubwordPrefix ?? '##',
      keepNumbers: vocabOptions.keepNumbers ?? options.keepNumbers ?? false,
    });
    return WordPieceTokenizer.fromVocab(vocab, { ...options, specialTokens: special });
  }

  /**
   * A BERT-style tokenizer on a given vocabulary (ids are the list positions, as in `vocab.txt`).
   *
   * @throws {@link InvalidArgumentError} when `vocab` is not a list of distinct strings or a
   *   required special token is missing from it (argument named).
   * @example
   * ```ts
   * const tok = WordPieceTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'acute', 'in', '##far', '##ct']);
   * tok.encode('acute infarct', { padding: 'do_not_pad' }).ids; // [2, 4, 5, 6, 7, 3]
   * ```
   */
  static fromVocab(vocab: ReadonlyArray<string>, options: WordPieceOptions = {}): WordPieceTokenizer {
    if (!Array.isArray(vocab) || vocab.some((v) => typeof v !== 'string' || v.length === 0)) {
      throw new InvalidArgumentError({ argument: 'vocab', message: 'vocab must be an array of non-empty strings (id = position).', received: typeof vocab });
    }
    const index = new Map<string, number>();
    vocab.forEach((t, i) => {
      if (index.has(t)) {
        throw new InvalidArgumentError({ argument: `vocab[${i}]`, message: 'vocab entries must be distinct.', received: t });
      }
      index.set(t, i);
    });
    const lowercase = options.lowercase ?? true;
    assertBoolean(lowercase, 'lowercase');
    const keepNumbers = options.keepNumbers ?? false;
    assertBoolean(keepNumbers, 'keepNumbers');
    const pad = options.padToken ?? '[PAD]';
    const unk = options.unkToken ?? '[UNK]';
    const cls = options.clsToken ?? '[CLS]';
    const sep = options.sepToken ?? '[SEP]';
    for (const [arg, tok] of [['padToken', pad], ['unkToken', unk], ['clsToken', cls], ['sepToken', sep]] as const) {
      if (!index.has(tok)) {
        throw new InvalidArgumentError({ argument: arg, message: `${arg} must be in the vocabulary.`, received: tok });
      }
    }
    const special = (options.specialTokens ?? DEFAULT_SPECIAL_TOKENS).filter((t) => index.has(t));
    for (const t of [pad, unk, cls, sep]) if (!special.includes(t)) special.push(t);
    const prefix = options.continuingSubwordPrefix ?? '##';
    const json: TokenizerJSON = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: special
        .map((t) => ({ id: index.get(t)!, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
        .sort((a, b) => a.id - b.id),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
      pre_tokenizer: keepNumbers
        ? { type: 'Split', pattern: { Regex: NUMBER_AWARE_PATTERN }, behavior: 'Removed', invert: true }
        : { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
        pair: [
          { SpecialToken: { id: cls, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: sep, type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: sep, type_id: 1 } },
        ],
        special_tokens: {
          [cls]: { id: cls, ids: [index.get(cls)!], tokens: [cls] },
          [sep]: { id: sep, ids: [index.get(sep)!], tokens: [sep] },
        },
      },
      decoder: { type: 'WordPiece', prefix, cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: unk,
        continuing_subword_prefix: prefix,
        max_input_chars_per_word: options.maxInputCharsPerWord ?? 100,
        vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
      },
    };
    return new WordPieceTokenizer(json, options.maxLength ?? 128, pad);
  }

  /**
   * Loads a HuggingFace `tokenizer.json` (an object or its JSON text), e.g. one written by
   * {@link toJSON} or shipped with a BERT model. WordPiece models with the BERT normaliser,
   * pre-tokeniser, template post-processor and WordPiece decoder are tested; other models the
   * `@huggingface/tokenizers` library supports load too.
   *
   * @throws {@link SerializationError} when the document is not a valid tokenizer.json.
   * @throws {@link InvalidArgumentError} when the padding token is not in its vocabulary.
   * @example
   * ```ts
   * const tok = WordPieceTokenizer.fromJSON(await (await fetch(url + '/tokenizer.json')).json());
   * ```
   */
  static fromJSON(json: TokenizerJSON | string, options: FromJSONOptions = {}): WordPieceTokenizer {
    let doc: unknown = json;
    if (typeof json === 'string') {
      try {
        doc = JSON.parse(json);
      } catch (error) {
        throw new SerializationError(`tokenizer.json is not valid JSON: ${(error as Error).message}.`, { cause: error });
      }
    }
    if (doc == null || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new SerializationError('tokenizer.json must be a JSON object.');
    }
    const d = doc as Partial<TokenizerJSON>;
    for (const key of ['model', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder', 'added_tokens'] as const) {
      if (!(key in d)) {
        throw new SerializationError(`tokenizer.json has no "${key}" field: it is not a HuggingFace tokenizers file.`);
      }
    }
    if (!Array.isArray(d.added_tokens)) throw new SerializationError('tokenizer.json "added_tokens" must be an array.');
    if (d.model == null || typeof d.model !== 'object' || d.model.vocab == null) {
      throw new SerializationError('tokenizer.json "model" has no vocabulary.');
    }
    const maxLength = options.maxLength ?? (typeof d.truncation?.max_length === 'number' ? d.truncation.max_length : 128);
    const padToken = options.padToken ?? (typeof d.padding?.pad_token === 'string' ? d.padding.pad_token : '[PAD]');
    return new WordPieceTokenizer(d as TokenizerJSON, maxLength, padToken);
  }

  /**
   * The same tokenizer with another default `maxLength` (e.g. one from {@link coverageLength}).
   *
   * @throws {@link InvalidArgumentError} naming `maxLength` when it is not a positive integer.
   * @example
   * ```ts
   * const fitted = tok.withMaxLength(tok.coverageLength(trainReports, 0.99));
   * ```
   */
  withMaxLength(maxLength: number): WordPieceTokenizer {
    assertPositiveInt(maxLength, 'maxLength');
    return new WordPieceTokenizer(deepCopy(this.json), maxLength, this.padToken);
  }

  /**
   * The tokenizer as a standard HuggingFace `tokenizer.json` document, with `truncation` and
   * `padding` describing this tokenizer's defaults (right side, fixed `maxLength`).
   * `JSON.stringify` it to write `tokenizer.json`; {@link fromJSON} restores it exactly.
   *
   * @example
   * ```ts
   * const copy = WordPieceTokenizer.fromJSON(JSON.stringify(tok.toJSON()));
   * ```
   */
  toJSON(): TokenizerJSON {
    const json = deepCopy(this.json);
    json.truncation = { direction: 'Right', max_length: this.maxLength, strategy: 'LongestFirst', stride: 0 };
    json.padding = {
      strategy: { Fixed: this.maxLength },
      direction: 'Right',
      pad_to_multiple_of: null,
      pad_id: this.padId,
      pad_type_id: 0,
      pad_token: this.padToken,
    };
    return json;
  }

  /** The vocabulary as a token → id map (special tokens included). */
  getVocab(): Map<string, number> {
    return this.hf.get_vocab(true);
  }

  /** Id of a token, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** Token of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /**
   * Splits a text into WordPiece tokens (no special tokens, no padding).
   *
   * @throws {@link InvalidArgumentError} (argument `text`) when `text` is not a string.
   * @example
   * ```ts
   * tok.tokenize('Infarct'); // ['in', '##far', '##ct']
   * ```
   */
  tokenize(text: string): string[] {
    checkText(text, 'text');
    return this.hf.tokenize(text, { add_special_tokens: false });
  }

  /**
   * The smallest `maxLength` that leaves at least `fraction` of `texts` uncut (special tokens
   * counted), to size the text input from the training reports rather than guess it.
   *
   * @param texts - the reports (`null` entries, missing reports, are skipped).
   * @param fraction - share of reports that must fit, in (0, 1].
   * @returns the length in tokens (1 when no report is given).
   * @throws {@link InvalidArgumentError} naming `texts`, `texts[i]` or `fraction`.
   * @example
   * ```ts
   * const maxLength = tok.coverageLength(trainReports, 0.99);
   * const ids = tok.encodeToTensors(trainReports, { maxLength });
   * ```
   */
  coverageLength(texts: ReadonlyArray<string | null | undefined>, fraction = 0.99): number {
    if (!Array.isArray(texts)) {
      throw new InvalidArgumentError({ argument: 'texts', message: 'texts must be an array of strings (or null for a missing report).', received: typeof texts });
    }
    if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
      throw new InvalidArgumentError({ argument: 'fraction', message: 'fraction must be a number in (0, 1].', received: fraction });
    }
    const lengths = (this.encode(texts, { truncation: false, padding: 'do_not_pad' }) as TokenEncoding[])
      .map((e, i) => (texts[i] == null ? -1 : e.ids.length))
      .filter((n) => n >= 0)
      .sort((a, b) => a - b);
    if (lengths.length === 0) return 1;
    return Math.max(1, lengths[Math.ceil(fraction * lengths.length) - 1]!);
  }

  /**
   * Encodes one text (or a batch) to ids, an attention mask and tokens, with truncation to
   * `maxLength` and padding.
   *
   * @throws {@link InvalidArgumentError} for a non-string text (`texts[i]`) or a bad option.
   * @example
   * ```ts
   * tok.encode('acute infarct', { maxLength: 8 });
   * // { ids: [2, 4, 5, 6, 7, 3, 0, 0], attentionMask: [1, 1, 1, 1, 1, 1, 0, 0], tokens: [...] }
   * ```
   */
  encode(text: string | null, options?: EncodeOptions): TokenEncoding;
  encode(texts: ReadonlyArray<string | null | undefined>, options?: EncodeOptions): TokenEncoding[];
  encode(input: string | null | ReadonlyArray<string | null | undefined>, options: EncodeOptions = {}): TokenEncoding | TokenEncoding[] {
    const maxLength = options.maxLength ?? this.maxLength;
    assertPositiveInt(maxLength, 'maxLength');
    const padding = options.padding ?? 'max_length';
    assertOneOf(padding, ['max_length', 'longest', 'do_not_pad'] as const, 'padding');
    const truncation = options.truncation ?? true;
    assertBoolean(truncation, 'truncation');
    const addSpecial = options.addSpecialTokens ?? true;
    assertBoolean(addSpecial, 'addSpecialTokens');
    const single = !Array.isArray(input);
    const texts = (single ? [input] : input) as ReadonlyArray<string | null | undefined>;
    const rows = texts.map((t, i) => {
      if (t == null) return [] as string[];
      checkText(t, single ? 'text' : `texts[${i}]`);
      let pieces = this.hf.tokenize(t, { add_special_tokens: false });
      const room = maxLength - (addSpecial ? this.numSpecialAdded : 0);
      if (truncation && pieces.length > room) pieces = pieces.slice(0, Math.max(0, room));
      const out = addSpecial && this.hf.post_processor ? this.hf.post_processor.post_process(pieces, null, true).tokens : pieces;
      return truncation ? out.slice(0, maxLength) : out;
    });
    const target =
      padding === 'max_length' ? maxLength : padding === 'longest' ? Math.max(0, ...rows.map((r) => r.length)) : 0;
    const unk = this.unkId ?? this.padId;
    const encodings = rows.map((tokens) => {
      const ids = tokens.map((t) => this.hf.token_to_id(t) ?? unk);
      const attentionMask = ids.map(() => 1);
      const pad = Math.max(0, target - ids.length);
      for (let i = 0; i < pad; i++) {
        ids.push(this.padId);
        attentionMask.push(0);
        tokens.push(this.padToken);
      }
      return { ids, attentionMask, tokens };
    });
    return single ? encodings[0]! : encodings;
  }

  /**
   * Encodes a batch to tensors ready for a text encoder: ids and mask, both
   * `[batch, maxLength]` float32 (or `[batch, longest]` with `padding: 'longest'`).
   * The caller owns both tensors.
   *
   * @throws {@link InvalidArgumentError} naming `texts` (not an array), `texts[i]` (neither a
   *   string nor null) or the option {@link WordPieceTokenizer.encode} refuses (`maxLength`,
   *   `padding`, `truncation`, `addSpecialTokens`).
   * @example
   * ```ts
   * const { ids, mask } = tok.encodeToTensors(['acute infarct', null]);
   * ```
   */
  encodeToTensors(
    texts: ReadonlyArray<string | null | undefined>,
    options: Omit<EncodeOptions, 'padding'> & { padding?: 'max_length' | 'longest' } = {},
  ): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
    if (!Array.isArray(texts)) {
      throw new InvalidArgumentError({ argument: 'texts', message: 'texts must be an array of strings (null = missing report).', received: typeof texts });
    }
    const enc = this.encode(texts, { ...options, padding: options.padding ?? 'max_length' });
    const width = enc[0]?.ids.length ?? 0;
    return {
      ids: tf.tensor2d(enc.map((e) => e.ids), [enc.length, width], 'float32'),
      mask: tf.tensor2d(enc.map((e) => e.attentionMask), [enc.length, width], 'float32'),
    };
  }

  /**
   * Decodes ids back to text. Special tokens (padding, `[CLS]`, `[SEP]`, `[UNK]`) are skipped
   * unless `skipSpecialTokens` is false; `##` pieces are joined to their word and spaces before
   * punctuation removed (HuggingFace's WordPiece decoder with cleanup).
   *
   * @throws {@link InvalidArgumentError} when `ids` is not an array of integers.
   * @example
   * ```ts
   * tok.decode([2, 4, 5, 6, 7, 3, 0, 0]); // 'acute infarct'
   * ```
   */
  decode(ids: ReadonlyArray<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'number' || !Number.isInteger(i) || i < 0)) {
      throw new InvalidArgumentError({ argument: 'ids', message: 'ids must be an array of non-negative integers.', received: ids });
    }
    const skip = options.skipSpecialTokens ?? true;
    assertBoolean(skip, 'skipSpecialTokens');
    if (ids.length === 0) return '';
    return this.hf.decode(ids as number[], { skip_special_tokens: skip });
  }

  /** Decodes a batch of id lists. */
  decodeBatch(ids: ReadonlyArray<ReadonlyArray<number>>, options: { skipSpecialTokens?: boolean } = {}): string[] {
    return ids.map((row) => this.decode(row, options));
  }

  /** Id of the unknown token (`model.unk_token`), or undefined when the model has none. */
  get unkId(): number | undefined {
    const unk = this.json.model.unk_token;
    return typeof unk === 'string' ? this.hf.token_to_id(unk) : undefined;
  }
}

function checkText(text: unknown, argument: string): asserts text is string {
  if (typeof text !== 'string') {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a string (or null for a missing report).`, received: text });
  }
}
