import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, prepareTriModalData, TabularPreprocessor, WordPieceTokenizer } from '../../src/index.js';
import { expectArgumentError } from '../helpers/errors.js';

describe('prepareTriModalData', () => {
  const pre = new TabularPreprocessor({ columns: [{ name: 'age', type: 'numeric' }] }).fit([{ age: 60 }, { age: 80 }]);
  const tok = WordPieceTokenizer.train(['side left', 'side right'], { vocabSize: 50, minFrequency: 1 }, { maxLength: 6 });

  it('builds every modality tensor with the right shapes and values, masks for missing data', () => {
    const before = tf.memory().numTensors;
    const data = prepareTriModalData(
      { images: [1, 2, 3, 4, 5, 6, 7, 8], imageShape: [2, 2, 1], rows: [{ age: 60 }, { age: null }], reports: ['side left', null], labels: [1, 0] },
      { preprocessor: pre, tokenizer: tok },
    );
    expect(data.image!.shape).toEqual([2, 2, 2, 1]);
    expect(Array.from(data.image!.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(data.clinicalValues!.dataSync())).toEqual([-1, 0]); // (60 − 70) / 10; missing → 0
    expect(Array.from(data.clinicalMask!.dataSync())).toEqual([1, 0]);
    expect(data.textIds!.shape).toEqual([2, 6]);
    const textMask = data.textMask!.arraySync() as number[][];
    expect(textMask[0]!.some((m) => m === 1)).toBe(true);
    expect(textMask[1]!.every((m) => m === 0)).toBe(true); // no report
    expect(Array.from(data.labels.dataSync())).toEqual([1, 0]);
    tf.dispose(Object.values(data));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects mismatched lengths and missing tools, naming the input, without leaking', () => {
    const before = tf.memory().numTensors;
    // outside a tidy: the check below is that prepareTriModalData frees what it made before throwing
    const bad = (inputs: object, tools: object, argument: string) =>
      expectArgumentError(() => prepareTriModalData(inputs as never, tools), InvalidArgumentError, argument, { tidy: false });
    bad({ images: [1, 2, 3], imageShape: [2, 2, 1], labels: [1] }, {}, 'inputs.images');
    bad({ images: [1, 2, 3, 4], imageShape: [4], labels: [1] }, {}, 'inputs.imageShape');
    bad({ images: [1, 2, 3, 4], imageShape: [2, 2, 1], rows: [{ age: 1 }, { age: 2 }], labels: [1] }, { preprocessor: pre }, 'inputs.rows');
    bad({ reports: ['a'], labels: [1] }, {}, 'tools.tokenizer');
    bad({ labels: undefined }, {}, 'inputs.labels');
    expect(tf.memory().numTensors).toBe(before);
  });
});
