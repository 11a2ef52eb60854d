/**
 * WordPiece vocabulary building from a corpus of reports (offline, deterministic).
 *
 * @packageDocumentation
 */
import { BertNormalizer, BertPreTokenizer } from '@huggingface/tokenizers';
import { assertBoolean, assertPositiveInt } from '../../core/validate.js';
import { InvalidArgumentError } from '../../errors.js';

/** The special tokens of a BERT-style WordPiece vocabulary, in id order. */
export const DEFAULT_SPECIAL_TOKENS: ReadonlyArray<string> = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Options of {@link buildVocab}. */
export interface BuildVocabOptions {
  /**
   * Largest vocabulary size (special tokens and the character alphabet included). The
   * alphabet is always kept whole, so the result can exceed this when the corpus has more
   * distinct characters than `vocabSize` allows.
   * @defaultValue 1000
   */
  vocabSize?: number;
  /**
   * Smallest corpus frequency of a pair of pieces for it to be merged into a new piece.
   * @defaultValue 2
   */
  minFrequency?: number;
  /**
   * Special tokens, placed first (ids 0, 1, ...). Must include the unknown token.
   * @defaultValue `['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']`
   */
  specialTokens?: ReadonlyArray<string>;
  /**
   * Lower-case and strip accents before counting (must match the tokenizer's normalizer).
   * @defaultValue true
   */
  lowercase?: boolean;
  /**
   * Prefix marking a piece that continues a word.
   * @defaultValue '##'
   */
  continuingSubwordPrefix?: string;
  /**
   * Count decimal numbers as whole words (must match the tokenizer's `keepNumbers`); the
   * alphabet then holds every digit (`0`…`9`, `##0`…`##9`) and `##.`, so a number never
   * becomes the unknown token.
   * @defaultValue false
   */
  keepNumbers?: boolean;
}

interface Word {
  symbols: string[];
  count: number;
}

/**
 * Normalises and pre-tokenises text exactly as a BERT WordPiece tokenizer does (BertNormalizer:
 * clean control characters, space out CJK characters, optional lower-casing and accent
 * stripping; BertPreTokenizer: split on whitespace and punctuation).
 *
 * @returns the words, in order.
 * @param keepNumbers - keep decimal numbers whole (`'3.5'` one word).
 * @example
 * ```ts
 * bertWords('Acute LEFT MCA infarct, 40 mL.'); // ['acute', 'left', 'mca', 'infarct', ',', '40', 'ml', '.']
 * bertWords('Volume 3.5 mL.', true, true); // ['volume', '3.5', 'ml', '.']
 * ```
 */
export function bertWords(text: string, lowercase = true, keepNumbers = false): string[] {
  const { normalizer, pre } = bertPipeline(lowercase);
  const normal = normalizer.normalize(text);
  if (keepNumbers) return normal.trim().match(NUMBER_AWARE_WORDS) ?? [];
  return pre.pre_tokenize(normal) as string[];
}

/** BERT's punctuation class (Unicode punctuation and the ASCII symbol ranges). */
const PUNCTUATION = '\\p{P}!-/:-@\\[-`{-~';

/**
 * The word pattern of `keepNumbers`: a decimal number (`12.5`) first, then BERT's rule (a run
 * without whitespace or punctuation, or one punctuation character). In the `tokenizer.json`
 * syntax (Oniguruma) and JavaScript's alike.
 */
export const NUMBER_AWARE_PATTERN = `\\p{Nd}+(?:\\.\\p{Nd}+)+|[^\\s${PUNCTUATION}]+|[${PUNCTUATION}]`;
const NUMBER_AWARE_WORDS = new RegExp(NUMBER_AWARE_PATTERN, 'gu');

const pipelines = new Map<boolean, { normalizer: BertNormalizer; pre: BertPreTokenizer }>();
function bertPipeline(lowercase: boolean): { normalizer: BertNormalizer; pre: BertPreTokenizer } {
  let p = pipelines.get(lowercase);
  if (!p) {
    p = {
      normalizer: new BertNormalizer({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase } as never),
      pre: new BertPreTokenizer(),
    };
    pipelines.set(lowercase, p);
  }
  return p;
}

/**
 * Builds a WordPiece vocabulary from a corpus, the way HuggingFace's `WordPieceTrainer` does:
 * words are split into characters (continuation characters carry the `##` prefix), then the
 * most frequent adjacent pair of pieces is merged, repeatedly, until the vocabulary is full or
 * no pair occurs `minFrequency` times. Ties are broken by the merged piece's string order, so
 * the result is deterministic.
 *
 * @param corpus - report texts.
 * @returns the vocabulary in id order: special tokens, then the alphabet (sorted), then merged
 *   pieces in merge order.
 * @throws {@link InvalidArgumentError} for a non-string corpus entry (`argument: 'corpus[i]'`),
 *   bad `vocabSize` / `minFrequency`, or special tokens without duplicates-free strings.
 * @example
 * ```ts
 * const vocab = buildVocab(['Acute left MCA infarct.', 'No acute infarct.'], { vocabSize: 60, minFrequency: 1 });
 * vocab.slice(0, 5); // ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
 * vocab.includes('infarct'); // true
 * ```
 */
export function buildVocab(corpus: Iterable<string>, options: BuildVocabOptions = {}): string[] {
  const o = resolveVocabOptions(corpus, options);
  const words = countWords(corpus, o.lowercase, o.prefix, o.keepNumbers);
  const { vocab, seen } = specialsAndAlphabet(o.special, words, o.keepNumbers ? NUMBER_PIECES(o.prefix) : []);
  const pairs = new PairTable(words, o.prefix);
  while (vocab.length < o.vocabSize) {
    const best = pairs.mostFrequent();
    if (best === null || best.count < o.minFrequency) break;
    pairs.merge(best.key, best.merged);
    if (!seen.has(best.merged)) {
      vocab.push(best.merged);
      seen.add(best.merged);
    }
  }
  return vocab;
}

/** The options of {@link buildVocab}, validated (corpus included), with the defaults filled in. */
function resolveVocabOptions(corpus: Iterable<string>, options: BuildVocabOptions) {
  const vocabSize = options.vocabSize ?? 1000;
  const minFrequency = options.minFrequency ?? 2;
  const special = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  const prefix = options.continuingSubwordPrefix ?? '##';
  assertPositiveInt(vocabSize, 'vocabSize');
  assertPositiveInt(minFrequency, 'minFrequency');
  assertBoolean(options.lowercase ?? true, 'lowercase');
  assertBoolean(options.keepNumbers ?? false, 'keepNumbers');
  if (!Array.isArray(special) || special.some((s) => typeof s !== 'string' || s.length === 0) || new Set(special).size !== special.length) {
    throw new InvalidArgumentError({
      argument: 'specialTokens',
      message: 'specialTokens must be an array of distinct non-empty strings.',
      received: special,
    });
  }
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidArgumentError({ argument: 'continuingSubwordPrefix', message: 'continuingSubwordPrefix must be a non-empty string.', received: prefix });
  }
  if (corpus == null || typeof (corpus as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function' || typeof corpus === 'string') {
    throw new InvalidArgumentError({ argument: 'corpus', message: 'corpus must be an array (or iterable) of strings.', received: typeof corpus });
  }
  return { vocabSize, minFrequency, special, prefix, lowercase: options.lowercase ?? true, keepNumbers: options.keepNumbers ?? false };
}

/** Step 1: the corpus's words with their counts, sorted, each split into characters (`##` after the first). */
function countWords(corpus: Iterable<string>, lowercase: boolean, prefix: string, keepNumbers: boolean): Word[] {
  const counts = new Map<string, number>();
  let i = 0;
  for (const text of corpus) {
    if (typeof text !== 'string') {
      throw new InvalidArgumentError({ argument: `corpus[${i}]`, message: 'Every corpus entry must be a string.', received: text });
    }
    for (const w of bertWords(text, lowercase, keepNumbers)) counts.set(w, (counts.get(w) ?? 0) + 1);
    i++;
  }
  return [...counts.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w, count]) => ({ symbols: [...w].map((c, j) => (j === 0 ? c : prefix + c)), count }));
}

/** With `keepNumbers`: every digit, alone and continuing, and the continuing '.', so no number is ever unknown. */
const NUMBER_PIECES = (prefix: string): string[] => ['0123456789'.split(''), '0123456789.'.split('').map((c) => prefix + c)].flat();

/** Step 2: the special tokens, then the alphabet (every character piece, sorted). */
function specialsAndAlphabet(special: ReadonlyArray<string>, words: readonly Word[], extra: readonly string[]): { vocab: string[]; seen: Set<string> } {
  const vocab: string[] = [...special];
  const seen = new Set(vocab);
  const alphabet = new Set<string>(extra);
  for (const w of words) for (const s of w.symbols) alphabet.add(s);
  for (const s of [...alphabet].sort()) {
    if (!seen.has(s)) {
      vocab.push(s);
      seen.add(s);
    }
  }
  return { vocab, seen };
}

/** Between the two pieces of a pair key. */
const SEP = '\u0000';

/**
 * Step 3's bookkeeping: the corpus count of every adjacent pair of pieces and the words it
 * occurs in, kept up to date as pairs are merged.
 */
class PairTable {
  private readonly counts = new Map<string, number>();
  private readonly wordsOf = new Map<string, Set<number>>();

  constructor(
    private readonly words: Word[],
    private readonly prefix: string,
  ) {
    words.forEach((_, wi) => this.addPairs(wi, 1));
  }

  /** The most frequent pair (ties: the smallest merged piece), or null when none is left. */
  mostFrequent(): { key: string; count: number; merged: string } | null {
    let bestKey: string | null = null;
    let bestCount = 0;
    let bestMerged = '';
    for (const [key, c] of this.counts) {
      if (c < bestCount) continue;
      const merged = this.mergedOf(key);
      if (c > bestCount || merged < bestMerged) {
        bestKey = key;
        bestCount = c;
        bestMerged = merged;
      }
    }
    return bestKey === null ? null : { key: bestKey, count: bestCount, merged: bestMerged };
  }

  /** Replaces the pair `key` by `merged` in every word holding it. */
  merge(key: string, merged: string): void {
    const [a, b] = key.split(SEP) as [string, string];
    const affected = [...(this.wordsOf.get(key) ?? [])];
    this.wordsOf.delete(key);
    for (const wi of affected) {
      const w = this.words[wi]!;
      this.addPairs(wi, -1);
      const next: string[] = [];
      for (let j = 0; j < w.symbols.length; j++) {
        if (j + 1 < w.symbols.length && w.symbols[j] === a && w.symbols[j + 1] === b) {
          next.push(merged);
          j++;
        } else next.push(w.symbols[j]!);
      }
      w.symbols = next;
      this.addPairs(wi, 1);
    }
    this.counts.delete(key);
  }

  private addPairs(wi: number, sign: 1 | -1): void {
    const w = this.words[wi]!;
    for (let j = 0; j + 1 < w.symbols.length; j++) {
      const key = w.symbols[j]! + SEP + w.symbols[j + 1]!;
      const c = (this.counts.get(key) ?? 0) + sign * w.count;
      if (c <= 0) this.counts.delete(key);
      else this.counts.set(key, c);
      if (sign > 0) {
        let set = this.wordsOf.get(key);
        if (!set) this.wordsOf.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  }

  private mergedOf(key: string): string {
    const [a, b] = key.split(SEP) as [string, string];
    return a + b.slice(this.prefix.length);
  }
}
