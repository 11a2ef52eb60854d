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
 * @example
 * ```ts
 * bertWords('Acute LEFT MCA infarct, 40 mL.'); // ['acute', 'left', 'mca', 'infarct', ',', '40', 'ml', '.']
 * ```
 */
export function bertWords(text: string, lowercase = true): string[] {
  const { normalizer, pre } = bertPipeline(lowercase);
  return pre.pre_tokenize(normalizer.normalize(text)) as string[];
}

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
  const vocabSize = options.vocabSize ?? 1000;
  const minFrequency = options.minFrequency ?? 2;
  const special = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  const prefix = options.continuingSubwordPrefix ?? '##';
  assertPositiveInt(vocabSize, 'vocabSize');
  assertPositiveInt(minFrequency, 'minFrequency');
  assertBoolean(options.lowercase ?? true, 'lowercase');
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

  // 1. word counts
  const counts = new Map<string, number>();
  let i = 0;
  for (const text of corpus) {
    if (typeof text !== 'string') {
      throw new InvalidArgumentError({ argument: `corpus[${i}]`, message: 'Every corpus entry must be a string.', received: text });
    }
    for (const w of bertWords(text, options.lowercase ?? true)) counts.set(w, (counts.get(w) ?? 0) + 1);
    i++;
  }
  const words: Word[] = [...counts.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w, count]) => ({ symbols: [...w].map((c, j) => (j === 0 ? c : prefix + c)), count }));

  // 2. alphabet
  const vocab: string[] = [...special];
  const seen = new Set(vocab);
  const alphabet = new Set<string>();
  for (const w of words) for (const s of w.symbols) alphabet.add(s);
  for (const s of [...alphabet].sort()) {
    if (!seen.has(s)) {
      vocab.push(s);
      seen.add(s);
    }
  }

  // 3. merges
  const SEP = '\u0000';
  const pairCounts = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1) => {
    const w = words[wi]!;
    for (let j = 0; j + 1 < w.symbols.length; j++) {
      const key = w.symbols[j]! + SEP + w.symbols[j + 1]!;
      const c = (pairCounts.get(key) ?? 0) + sign * w.count;
      if (c <= 0) pairCounts.delete(key);
      else pairCounts.set(key, c);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  words.forEach((_, wi) => addPairs(wi, 1));
  const mergedOf = (key: string): string => {
    const [a, b] = key.split(SEP) as [string, string];
    return a + b.slice(prefix.length);
  };

  while (vocab.length < vocabSize) {
    let bestKey: string | null = null;
    let bestCount = 0;
    let bestMerged = '';
    for (const [key, c] of pairCounts) {
      if (c < bestCount) continue;
      const merged = mergedOf(key);
      if (c > bestCount || merged < bestMerged) {
        bestKey = key;
        bestCount = c;
        bestMerged = merged;
      }
    }
    if (bestKey === null || bestCount < minFrequency) break;
    const [a, b] = bestKey.split(SEP) as [string, string];
    const affected = [...(pairWords.get(bestKey) ?? [])];
    pairWords.delete(bestKey);
    for (const wi of affected) {
      const w = words[wi]!;
      addPairs(wi, -1);
      const next: string[] = [];
      for (let j = 0; j < w.symbols.length; j++) {
        if (j + 1 < w.symbols.length && w.symbols[j] === a && w.symbols[j + 1] === b) {
          next.push(bestMerged);
          j++;
        } else next.push(w.symbols[j]!);
      }
      w.symbols = next;
      addPairs(wi, 1);
    }
    pairCounts.delete(bestKey);
    if (!seen.has(bestMerged)) {
      vocab.push(bestMerged);
      seen.add(bestMerged);
    }
  }
  return vocab;
}
