import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { tour } from '../../examples/building-blocks.js';
import { buildToyModel, makeToyData, runToy } from '../../examples/attention-toy.js';
import { loadModel } from '../../src/node.js';

describe('examples', () => {
  it('building-blocks tour runs and prints what the guide says', async () => {
    const lines: string[] = [];
    const { maxDiff } = await tour((l) => lines.push(l));
    expect(maxDiff).toBe(0);
    expect(lines[0]).toBe('attended [null,49,64], scores [null,4,49,32], pooled [null,64]');
    expect(lines[1]).toBe('attention mass of the sample without a report: 0');
    expect(lines[3]).toBe('query must have shape [batch, queries, queryDim] (rank 3). Received: query.shape=[2,49].');
  });

  it('attention toy: data is deterministic, training runs and the saved model reloads', async () => {
    const a = makeToyData(50, 3);
    const b = makeToyData(50, 3);
    expect(Buffer.from(a.regions.buffer).equals(Buffer.from(b.regions.buffer))).toBe(true);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    const dir = mkdtempSync(join(tmpdir(), 'vdafm-toy-'));
    try {
      const lines: string[] = [];
      const result = await runToy({ backend: 'cpu', epochs: 1, samples: 200, out: dir, log: (l) => lines.push(l) });
      expect(result.accuracy).toBeGreaterThanOrEqual(0);
      expect(lines.some((l) => l.startsWith('epoch  1/1'))).toBe(true);
      const model = await loadModel(dir);
      expect(model.inputs.map((i) => i.shape)).toEqual(buildToyModel(1).inputs.map((i) => i.shape));
      model.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await tf.setBackend('cpu');
    }
  });
});

describe('examples/vdafm-custom-model', () => {
  it('trains VDAFM with the alignment losses in a custom loop: the loss falls', async () => {
    const { customModel } = await import('../../examples/vdafm-custom-model.js');
    const lines: string[] = [];
    const { first, last } = await customModel((l) => lines.push(l), 25);
    expect(last).toBeLessThan(first * 0.8);
    expect(lines[0]).toMatch(/^outputs: headInput, fused, visualEmbedding/);
    expect(lines[2]).toBe('gate of the sample without a report: true');
  });
});

describe('examples/encoders', () => {
  it('prints the shapes and values the encoders guide shows', async () => {
    const { encodersTour } = await import('../../examples/encoders.js');
    const lines: string[] = [];
    await encodersTour((l) => lines.push(l));
    expect(lines).toEqual([
      '[256,64] [16,16] 64',
      '[256,32] [4,8,8]',
      'values [0.509,0.25,0,0] mask [1,1,0,1]',
      '[1,4,32] [1,32] [1,4]',
      'acute lesion : present | side : left',
      '[2,32,32] [2,32]',
      '[2,1,32] [2,32]',
      '0',
    ]);
  });
});

describe('examples/interpretability', () => {
  it('reports per-modality probabilities, the gate, feature importance and an overlay', async () => {
    const { interpretability } = await import('../../examples/interpretability.js');
    const lines: string[] = [];
    const r = await interpretability(null, (l) => lines.push(l));
    expect(lines.filter((l) => /^patient \d: P\(poor\) 0\.\d\d \| image alone/.test(l))).toHaveLength(4);
    expect(r.gateMean).toBeGreaterThan(0);
    expect(r.gateMean).toBeLessThan(1);
    expect(r.importance).toHaveLength(12);
    r.importance.forEach((v) => expect(v).toBeGreaterThanOrEqual(0));
    expect(lines.at(-1)).toMatch(/^overlay 256×128: left the DWI slice/);
    await tf.setBackend('cpu');
  });
});

describe('examples/other-disease', () => {
  it('trains the same builder on another disease: own schema, columns, 3D shape and label', async () => {
    const { otherDisease } = await import('../../examples/other-disease.js');
    const lines: string[] = [];
    const { auc } = await otherDisease((l) => lines.push(l));
    expect(lines[0]).toMatch(/^report: Enhancement: (ring|none) \| Size: (small|medium|large) \| Impression: /);
    expect(auc).toBeGreaterThan(0.55); // better than chance on a noisy (Bernoulli) outcome
    await tf.setBackend('cpu');
  });
});

describe('examples/backend', () => {
  it('selects the wasm backend as the backends guide shows', async () => {
    const { backend } = await import('../../examples/backend.js');
    expect(backend).toBe('wasm');
    await tf.setBackend('cpu');
  });
});
