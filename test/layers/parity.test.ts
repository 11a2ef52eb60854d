import { describe, expect, it } from 'vitest';
import {
  globalPooling3D,
  maskedPooling,
  multiHeadAttention,
  positionalEmbedding,
  transformerBlock,
} from '../../src/index.js';
import { expectBackendParity, parityInputs } from '../helpers/parity.js';

describe('cpu/wasm parity of outputs and gradients (1e-4)', () => {
  it('MultiHeadAttention (cross-attention, mask)', async () => {
    const r = await expectBackendParity(
      () => multiHeadAttention({ numHeads: 4, keyDim: 8, seed: 1 }),
      parityInputs([[3, 7, 16], [3, 9, 12], [3, 9]], ['float', 'float', 'mask']),
    );
    expect(r.weightGrads).toHaveLength(8);
  });

  it('TransformerBlock (self-attention, mask)', async () => {
    const r = await expectBackendParity(
      () => transformerBlock({ numHeads: 2, ffnDim: 24, seed: 2 }),
      parityInputs([[2, 6, 8], [2, 6]], ['float', 'mask']),
    );
    expect(r.weightGrads).toHaveLength(16);
  });

  it('MaskedPooling', async () => {
    const r = await expectBackendParity(() => maskedPooling(), parityInputs([[3, 5, 4], [3, 5]], ['float', 'mask']));
    expect(r.inputGrads).toHaveLength(1);
  });

  it('GlobalPooling3D (avg and max)', async () => {
    await expectBackendParity(() => globalPooling3D(), parityInputs([[2, 3, 4, 4, 5]]));
    const r = await expectBackendParity(() => globalPooling3D({ mode: 'max' }), parityInputs([[2, 3, 4, 4, 5]]));
    expect(r.outputs[0]).toHaveLength(10);
  });

  it('PositionalEmbedding', async () => {
    const r = await expectBackendParity(() => positionalEmbedding({ maxLength: 12, seed: 3 }), parityInputs([[2, 10, 6]]));
    expect(r.weightGrads).toHaveLength(1);
  });
});
