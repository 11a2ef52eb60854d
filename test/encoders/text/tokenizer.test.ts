import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { InvalidArgumentError, SerializationError } from '../../../src/errors.js';
import { buildVocab, WordPieceTokenizer, type TokenizerJSON } from '../../../src/index.js';
import { bertWords } from '../../../src/encoders/text/vocab.js';
import { expectArgumentError } from '../../helpers/errors.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/text-encoder/${name}`, import.meta.url), 'utf8')) as TokenizerJSON;
const bertTiny = fixture('bert-tiny-uncased.tokenizer.json');

// text → tokens → ids → decoded, computed by hand from BERT's rules (lower-case, strip accents,
// split on whitespace and punctuation, space out CJK, drop control characters, greedy
// longest-match WordPiece with '##' continuations, [UNK] for a word that cannot be pieced).
// Vocabulary ids: see test/fixtures/text-encoder/make_fixtures.py.
const CASES: Array<{ text: string; tokens: string[]; ids: number[]; decoded: string }> = [
  {
    text: 'Acute left MCA infarct.',
    tokens: ['acute', 'left', 'mca', 'in', '##far', '##ct', '.'],
    ids: [5, 6, 7, 9, 10, 11, 12],
    decoded: 'acute left mca infarct.',
  },
  {
    text: 'Size: large (~40 mL)',
    tokens: ['size', ':', 'large', '(', '~', '40', 'ml', ')'],
    ids: [26, 14, 27, 24, 23, 22, 21, 25],
    decoded: 'size : large ( ~ 40 ml )',
  },
  { text: 'Old lesions: none', tokens: ['old', 'lesion', '##s', ':', '[UNK]'], ids: [19, 16, 20, 14, 1], decoded: 'old lesions :' },
  {
    text: 'DWI hyperintense, ADC hypointense',
    tokens: ['dwi', 'hyper', '##intense', ',', 'adc', 'hypo', '##intense'],
    ids: [30, 32, 33, 13, 31, 34, 33],
    decoded: 'dwi hyperintense, adc hypointense',
  },
  { text: 'CAFÉ', tokens: ['cafe'], ids: [28], decoded: 'cafe' },
  { text: '脑infarct', tokens: ['脑', 'in', '##far', '##ct'], ids: [29, 9, 10, 11], decoded: '脑 infarct' },
  { text: "patient's\tlesion", tokens: ['patient', "'", 's', 'lesion'], ids: [37, 35, 36, 16], decoded: "patient's lesion" },
  { text: 'acute\u0000 lesion', tokens: ['acute', 'lesion'], ids: [5, 16], decoded: 'acute lesion' },
  { text: 'acute\u200blesion', tokens: ['[UNK]'], ids: [1], decoded: '' },
  { text: '  territory |  present  ', tokens: ['territory', '|', 'present'], ids: [8, 15, 17], decoded: 'territory | present' },
  { text: '', tokens: [], ids: [], decoded: '' },
];

describe('WordPieceTokenizer (tokenizer.json in BERT layout)', () => {
  const tok = WordPieceTokenizer.fromJSON(bertTiny);

  for (const c of CASES) {
    it(`tokenizes ${JSON.stringify(c.text)}`, () => {
      expect(tok.tokenize(c.text)).toEqual(c.tokens);
      const enc = tok.encode(c.text, { padding: 'do_not_pad' });
      expect(enc.ids).toEqual([2, ...c.ids, 3]);
      expect(enc.tokens).toEqual(['[CLS]', ...c.tokens, '[SEP]']);
      expect(enc.attentionMask).toEqual(enc.ids.map(() => 1));
      expect(tok.decode(enc.ids)).toBe(c.decoded);
    });
  }

  it('pads to maxLength and truncates keeping [CLS] … [SEP]', () => {
    const padded = tok.encode('acute infarct', { maxLength: 8 });
    expect(padded.ids).toEqual([2, 5, 9, 10, 11, 3, 0, 0]);
    expect(padded.attentionMask).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(padded.tokens.slice(-2)).toEqual(['[PAD]', '[PAD]']);
    const cut = tok.encode('acute left MCA infarct.', { maxLength: 5 });
    expect(cut.ids).toEqual([2, 5, 6, 7, 3]);
    expect(tok.encode('acute left', { maxLength: 2 }).ids).toEqual([2, 3]);
    expect(tok.encode('acute left MCA', { maxLength: 3, truncation: false, padding: 'do_not_pad' }).ids).toEqual([2, 5, 6, 7, 3]);
    expect(tok.encode('acute left', { maxLength: 6, addSpecialTokens: false }).ids).toEqual([5, 6, 0, 0, 0, 0]);
  });

  it("pads a batch to its longest row with padding: 'longest' and treats null as a missing report", () => {
    const batch = tok.encode(['acute', 'old lesions', null], { padding: 'longest' });
    expect(batch.map((e) => e.ids)).toEqual([
      [2, 5, 3, 0, 0],
      [2, 19, 16, 20, 3],
      [0, 0, 0, 0, 0],
    ]);
    expect(batch[2]!.attentionMask).toEqual([0, 0, 0, 0, 0]);
  });

  it('encodes to [batch, maxLength] float32 tensors', () => {
    const { ids, mask } = tok.encodeToTensors(['acute infarct', null], { maxLength: 7 });
    expect(ids.shape).toEqual([2, 7]);
    expect(ids.dtype).toBe('float32');
    expect(ids.arraySync()).toEqual([
      [2, 5, 9, 10, 11, 3, 0],
      [0, 0, 0, 0, 0, 0, 0],
    ]);
    expect(mask.arraySync()).toEqual([
      [1, 1, 1, 1, 1, 1, 0],
      [0, 0, 0, 0, 0, 0, 0],
    ]);
    tf.dispose([ids, mask]);
  });

  it('keeps special tokens in decode when asked', () => {
    expect(tok.decode([2, 5, 3, 0], { skipSpecialTokens: false })).toBe('[CLS] acute [SEP] [PAD]');
    expect(tok.decode([])).toBe('');
  });

  it('loads the older BertProcessing layout and reads maxLength and the pad token from the file', () => {
    const bp = WordPieceTokenizer.fromJSON(fixture('bert-tiny-bertprocessing.tokenizer.json'));
    expect(bp.maxLength).toBe(16);
    expect(bp.padId).toBe(0);
    const enc = bp.encode('Acute left MCA infarct.');
    expect(enc.ids).toEqual([2, 5, 6, 7, 9, 10, 11, 12, 3, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('round-trips through toJSON / fromJSON (a standard tokenizer.json) with identical encodings', () => {
    const small = WordPieceTokenizer.fromJSON(bertTiny, { maxLength: 12 });
    const text = JSON.stringify(small.toJSON());
    const copy = WordPieceTokenizer.fromJSON(text);
    expect(copy.maxLength).toBe(12);
    for (const c of CASES) expect(copy.encode(c.text)).toEqual(small.encode(c.text));
    // the raw library reads our JSON too, and agrees on the ids
    const raw = new HfTokenizer(JSON.parse(text), {});
    expect(raw.encode('Acute left MCA infarct.').ids).toEqual([2, 5, 6, 7, 9, 10, 11, 12, 3]);
  });

  it('uses @huggingface/tokenizers through its CJS entry with the same results (ESM/CJS parity)', () => {
    const require = createRequire(import.meta.url);
    const cjs = require('@huggingface/tokenizers') as { Tokenizer: typeof HfTokenizer };
    const t = new cjs.Tokenizer(JSON.parse(JSON.stringify(bertTiny)), {});
    for (const c of CASES) expect(t.encode(c.text, { add_special_tokens: false }).ids).toEqual(c.ids);
  });

  it('ships a browser build of @huggingface/tokenizers with no Node built-ins', () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@huggingface/tokenizers'); // <pkg>/dist/tokenizers.cjs
    const pkgPath = new URL('../package.json', `file://${entry}`).pathname;
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: { '.': { browser: { import: string } } } };
    const browserFile = new URL(pkg.exports['.'].browser.import, `file://${pkgPath}`);
    const src = readFileSync(browserFile, 'utf8');
    expect(src).not.toMatch(/\bfrom\s+["'](node:|fs|path|crypto)/);
    expect(src).not.toMatch(/\brequire\(/);
  });

  it('rejects bad inputs with the argument named', () => {
    expectArgumentError(() => tok.encode(['ok', 3 as unknown as string]), InvalidArgumentError, 'texts[1]');
    expectArgumentError(() => tok.encode(42 as unknown as string), InvalidArgumentError, 'text');
    expectArgumentError(() => tok.encode('x', { maxLength: 0 }), InvalidArgumentError, 'maxLength');
    expectArgumentError(() => tok.encode('x', { padding: 'left' as never }), InvalidArgumentError, 'padding');
    expectArgumentError(() => tok.decode([1, -2]), InvalidArgumentError, 'ids');
    expectArgumentError(() => tok.encodeToTensors('x' as never), InvalidArgumentError, 'texts');
    expectArgumentError(() => WordPieceTokenizer.fromJSON(bertTiny, { padToken: '<pad>' }), InvalidArgumentError, 'padToken');
    expectArgumentError(() => WordPieceTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]']), InvalidArgumentError, 'sepToken');
    expectArgumentError(() => WordPieceTokenizer.fromVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[PAD]']), InvalidArgumentError, 'vocab[4]');
    expect(() => WordPieceTokenizer.fromJSON('{not json')).toThrow(SerializationError);
    expect(() => WordPieceTokenizer.fromJSON({ ...bertTiny, model: undefined } as never)).toThrow(/vocabulary/);
    const noDecoder = { ...bertTiny } as Record<string, unknown>;
    delete noDecoder['decoder'];
    let err: unknown;
    try {
      WordPieceTokenizer.fromJSON(noDecoder as never);
    } catch (e) {
      err = e;
    }
    expect(SerializationError.isInstance(err)).toBe(true);
  });
});

describe('buildVocab', () => {
  it('builds a hand-computed vocabulary: alphabet, then merges by frequency', () => {
    // words: 'aa' ×2, 'ab' ×1 → pieces [a, ##a], [a, ##b]; alphabet sorted: '##a', '##b', 'a'.
    // pair counts: (a, ##a) = 2, (a, ##b) = 1 → merge 'aa', then 'ab'.
    const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];
    expect(buildVocab(['aa ab aa'], { minFrequency: 1, specialTokens: special })).toEqual([...special, '##a', '##b', 'a', 'aa', 'ab']);
    // minFrequency 2 stops before 'ab'; vocabSize 7 stops after the alphabet
    expect(buildVocab(['aa ab aa'], { minFrequency: 2, specialTokens: special })).toEqual([...special, '##a', '##b', 'a', 'aa']);
    expect(buildVocab(['aa ab aa'], { vocabSize: 7, minFrequency: 1, specialTokens: special })).toHaveLength(7);
    // ties broken by the merged string: 'ab' before 'cd'
    expect(buildVocab(['cd ab'], { minFrequency: 1, specialTokens: special }).slice(-2)).toEqual(['ab', 'cd']);
    // continuation merges keep the prefix: 'abc' ×2 → (a,##b)=2,(##b,##c)=2 → tie → '##bc' < 'ab'
    expect(buildVocab(['abc abc'], { minFrequency: 1, specialTokens: special }).slice(-2)).toEqual(['##bc', 'abc']);
  });

  it('trains a tokenizer whose words of the corpus are never unknown', () => {
    const corpus = [
      'Sequences: DWI, ADC | Acute lesion: present | Side: left | Territory: MCA',
      'Location: basal ganglia, corona radiata | Size: large (~40 mL) | Mass effect: mild',
      'Impression: acute left MCA territory infarct.',
      'Acute lesion: absent | Old lesions: none | Impression: no acute infarct.',
    ];
    const tok = WordPieceTokenizer.train(corpus, { vocabSize: 120, minFrequency: 2 }, { maxLength: 40 });
    expect(tok.vocabSize).toBeLessThanOrEqual(120);
    for (const text of corpus) {
      const enc = tok.encode(text, { padding: 'do_not_pad', truncation: false });
      expect(enc.ids).not.toContain(tok.unkId);
      expect(tok.decode(enc.ids).replace(/\s+/g, '')).toBe(text.toLowerCase().replace(/\s+/g, ''));
    }
    expect(tok.getVocab().has('lesion')).toBe(true);
  });

  it('rejects bad inputs with the argument named', () => {
    expectArgumentError(() => buildVocab(['ok', 5 as unknown as string]), InvalidArgumentError, 'corpus[1]');
    expectArgumentError(() => buildVocab('text' as never), InvalidArgumentError, 'corpus');
    expectArgumentError(() => buildVocab(['a'], { vocabSize: 0 }), InvalidArgumentError, 'vocabSize');
    expectArgumentError(() => buildVocab(['a'], { minFrequency: 0.5 }), InvalidArgumentError, 'minFrequency');
    expectArgumentError(() => buildVocab(['a'], { specialTokens: ['[PAD]', '[PAD]'] }), InvalidArgumentError, 'specialTokens');
  });
});

describe('keepNumbers and coverageLength', () => {
  const corpus = ['Size: large (~41.5 mL) | NIHSS 12.', 'Size: small (~3.5 mL). Volume 41.5 mL.', 'Size: small (~3.5 mL).'];

  it('keeps decimal numbers as one word in vocabulary building, tokenizing and tokenizer.json', () => {
    // BERT splits "41.5" into "41", ".", "5"; keepNumbers keeps it (and "3.5": corpus count 3 ≥ 2).
    const split = WordPieceTokenizer.train(corpus, { vocabSize: 200, minFrequency: 2 });
    const whole = WordPieceTokenizer.train(corpus, { vocabSize: 200, minFrequency: 2 }, { keepNumbers: true });
    expect(split.tokenize('~3.5 mL.')).toEqual(['~', '3', '.', '5', 'ml', '.']);
    expect(whole.tokenize('~3.5 mL.')).toEqual(['~', '3.5', 'ml', '.']);
    // a number the vocabulary lacks becomes continuation pieces, never the sentence's "."
    expect(whole.tokenize('7.25')).toEqual(['7', '##.', '##2', '##5']);
    // integers, words with digits and punctuation keep BERT's rule
    expect(whole.tokenize('NIHSS 12.')).toEqual(split.tokenize('NIHSS 12.'));
    const json = whole.toJSON();
    expect(json.pre_tokenizer).toMatchObject({ type: 'Split', behavior: 'Removed', invert: true });
    expect(WordPieceTokenizer.fromJSON(json).tokenize('~3.5 mL. 41.5')).toEqual(whole.tokenize('~3.5 mL. 41.5'));
    expectArgumentError(() => WordPieceTokenizer.train(corpus, {}, { keepNumbers: 'yes' as never }), InvalidArgumentError, 'keepNumbers');
  });

  fcTest.prop([fc.array(fc.oneof(fc.double({ min: 0, max: 1000, noNaN: true }).map((x) => x.toFixed(2)), fc.constantFrom('mL', ',', '.', ' ', 'acute', '(~', ')')), { maxLength: 20 })], { numRuns: 60 })(
    'with keepNumbers every decimal number of the text is one word and the words join back to the text',
    (parts) => {
      const text = parts.join(' ');
      const words = bertWords(text, true, true);
      expect(words.join('')).toBe(text.toLowerCase().replace(/\s+/g, ''));
      for (const n of text.match(/\d+\.\d+/g) ?? []) expect(words).toContain(n);
    },
  );

  it('coverageLength is the smallest maxLength leaving the given share of reports uncut', () => {
    const tok = WordPieceTokenizer.train(corpus, { vocabSize: 200, minFrequency: 1 });
    const lengths = corpus.map((t) => tok.encode(t, { truncation: false, padding: 'do_not_pad' }).ids.length).sort((a, b) => a - b);
    expect(tok.coverageLength(corpus, 1)).toBe(lengths[2]);
    expect(tok.coverageLength([...corpus, null], 0.5)).toBe(lengths[1]); // null (missing) is skipped: ceil(0.5·3) = 2nd
    expect(tok.coverageLength(corpus, 0.01)).toBe(lengths[0]);
    const n = tok.coverageLength(corpus, 2 / 3);
    const cut = corpus.filter((t) => tok.encode(t, { truncation: false, padding: 'do_not_pad' }).ids.length > n).length;
    expect(cut).toBe(1);
    expect(tok.coverageLength([null])).toBe(1);
    const fitted = tok.withMaxLength(n);
    expect(fitted.maxLength).toBe(n);
    expect(fitted.encode(corpus[0]!).ids).toHaveLength(n);
    expect(fitted.encode(corpus[0]!, { maxLength: 64 }).ids.slice(0, 5)).toEqual(tok.encode(corpus[0]!).ids.slice(0, 5));
    expectArgumentError(() => tok.withMaxLength(0), InvalidArgumentError, 'maxLength');
    expectArgumentError(() => tok.coverageLength(corpus, 0), InvalidArgumentError, 'fraction');
    expectArgumentError(() => tok.coverageLength('text' as never), InvalidArgumentError, 'texts');
    expectArgumentError(() => tok.coverageLength([3 as never]), InvalidArgumentError, 'texts[0]');
  });
});

describe('tokenizer properties', () => {
  const corpus = [
    'Acute lesion: present | Side: left | Territory: MCA | Size: large (~40 mL)',
    'Signal: DWI hyperintense, ADC hypointense | Mass effect: mild | Old lesions: none',
    "Impression: acute left MCA territory infarct. Patient's NIHSS 12.",
  ];
  const trained = WordPieceTokenizer.train(corpus, { vocabSize: 150, minFrequency: 1 }, { maxLength: 24 });
  const tiny = WordPieceTokenizer.fromJSON(bertTiny, { maxLength: 24 });
  const words = ['acute', 'Left', 'MCA', 'infarct', 'lesions', 'café', '脑', "n't", "'s", '40', 'mL', 'xyz', 'Ω', '##s', '[CLS]', '[UNK]'];
  const text = fc
    .array(fc.oneof(fc.constantFrom(...words), fc.constantFrom(' ', '  ', '\t', '.', ',', ':', '|', '(', ')', "'", '?', '!'), fc.string({ maxLength: 4 })), {
      maxLength: 30,
    })
    .map((parts) => parts.join(''));

  fcTest.prop([text], { numRuns: 150 })('decode∘encode is stable: decode(encode(decode(encode(x)))) == decode(encode(x))', (x) => {
    for (const tok of [trained, tiny]) {
      const once = tok.decode(tok.encode(x).ids);
      const twice = tok.decode(tok.encode(once).ids);
      expect(twice).toBe(once);
    }
  });

  fcTest.prop([fc.array(text, { minLength: 1, maxLength: 4 })], { numRuns: 40 })(
    'a batch encodes like its rows; padding only appends pad ids with mask 0',
    (texts) => {
      const batch = trained.encode(texts, { padding: 'longest' });
      texts.forEach((t, i) => {
        const alone = trained.encode(t, { padding: 'do_not_pad' });
        const row = batch[i]!;
        expect(row.ids.slice(0, alone.ids.length)).toEqual(alone.ids);
        expect(row.ids.slice(alone.ids.length).every((id) => id === trained.padId)).toBe(true);
        expect(row.attentionMask.reduce((a, b) => a + b, 0)).toBe(alone.ids.length);
        expect(trained.decode(row.ids)).toBe(trained.decode(alone.ids));
      });
    },
  );
});
