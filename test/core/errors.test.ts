import { describe, expect, it } from 'vitest';
import {
  assertDim,
  assertOneOf,
  assertPositiveInt,
  assertRank,
  formatShape,
  InvalidArgumentError,
  SerializationError,
  ShapeError,
  VdafmError,
} from '../../src/index.js';

describe('typed errors', () => {
  it('say what, expected, received and fix', () => {
    const e = new ShapeError({ argument: 'visual', expected: '[batch, tokens, dim]', received: [2, 49], fix: 'Flatten the feature map.' });
    expect(e.message).toBe('visual must have shape [batch, tokens, dim]. Received: visual.shape=[2,49]. Flatten the feature map.');
    expect(e.received).toEqual([2, 49]);
    const a = new InvalidArgumentError({ argument: 'numHeads', message: 'numHeads must be a positive integer.', received: 0 });
    expect(a.message).toBe('numHeads must be a positive integer. Received: numHeads=0');
  });

  it('are recognised across copies through Symbol.for markers, not instanceof', () => {
    const foreign = Object.assign(Object.create(Error.prototype), {
      [Symbol.for('vdafm.error')]: true,
      [Symbol.for('vdafm.error.shape')]: true,
    });
    expect(foreign instanceof ShapeError).toBe(false);
    expect(ShapeError.isInstance(foreign)).toBe(true);
    expect(VdafmError.isInstance(foreign)).toBe(true);
    expect(InvalidArgumentError.isInstance(foreign)).toBe(false);
    expect(SerializationError.isInstance(new SerializationError('x'))).toBe(true);
    expect(VdafmError.isInstance(new Error('plain'))).toBe(false);
    expect(VdafmError.isInstance(null)).toBe(false);
  });

  it('shape assertions name the argument and show the received shape', () => {
    expect(() => assertRank([2, 49], 3, 'visual', '[batch, tokens, dim]')).toThrowError(
      'visual must have shape [batch, tokens, dim] (rank 3). Received: visual.shape=[2,49].',
    );
    expect(() => assertDim([2, 49, 32], -1, 64, 'visual', '[batch, tokens, 64]')).toThrowError(/dimension 2 must be 64, got 32/);
    expect(() => assertDim([null, 49, null], -1, 64, 'visual', '[batch, tokens, 64]')).not.toThrow();
    expect(() => assertPositiveInt(1.5, 'layers')).toThrowError('layers must be a positive integer. Received: layers=1.5');
    expect(() => assertOneOf('film2', ['film', 'none'], 'conditioning')).toThrowError(/'film', 'none'.*conditioning="film2"/);
    expect(formatShape([null, 3, -1])).toBe('[null,3,null]');
  });
});
