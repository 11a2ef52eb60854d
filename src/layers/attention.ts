/**
 * Multi-head attention: the functional core shared by every attention-based vdafm layer, and
 * the `MultiHeadAttention` layer class.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense } from '../ops/dense.js';
import { dropoutMask, readMask, zeroPadded } from '../ops/elementwise.js';
import { attentionContext, attentionWeights } from '../ops/attention.js';
import {
  assertBoolean,
  assertBuiltWidth,
  assertIsShape,
  assertPositiveInt,
  assertRank,
  assertRate,
  assertSameDims,
  checkInitializer,
  checkSeed,
  type KernelInitializerName,
  type Shape,
} from '../core/validate.js';
import { InvalidArgumentError } from '../errors.js';
import {
  asList,
  type BaseLayerArgs,
  configFields,
  DropoutSeeds,
  dropoutStepOf,
  type Initializer,
  isTraining,
  layerBaseArgs,
  makeInitializer,
  RepeatedCallCache,
} from './common.js';


/** The weights of one attention block (kernels `[in, out]`, biases `[out]` or null). @internal */
export interface AttentionWeights {
  queryKernel: tfl.LayerVariable;
  queryBias: tfl.LayerVariable | null;
  keyKernel: tfl.LayerVariable;
  keyBias: tfl.LayerVariable | null;
  valueKernel: tfl.LayerVariable;
  valueBias: tfl.LayerVariable | null;
  outputKernel: tfl.LayerVariable;
  outputBias: tfl.LayerVariable | null;
}

/** Sizes of one attention block. @internal */
export interface AttentionDims {
  queryDim: number;
  keyInputDim: number;
  valueInputDim: number;
  numHeads: number;
  keyDim: number;
  valueDim: number;
  outputDim: number;
  useBias: boolean;
}

/** `addWeight` as a layer exposes it to its own helpers. @internal */
export type AddWeight = (name: string, shape: number[], init: Initializer) => tfl.LayerVariable;

/**
 * Creates the weights of one attention block through a layer's `addWeight`, with names
 * `${prefix}query_kernel`, `${prefix}query_bias`, ... (`prefix` keeps names unique inside
 * composite layers).
 * @internal
 */
export function addAttentionWeights(
  addWeight: AddWeight,
  prefix: string,
  dims: AttentionDims,
  kernelInitializer: KernelInitializerName,
  seed: number | undefined,
  seedOffset = 0,
): AttentionWeights {
  const { numHeads: h, keyDim, valueDim } = dims;
  const zeros = makeInitializer('zeros', undefined, 0);
  const k = (i: number) => makeInitializer(kernelInitializer, seed, seedOffset + i);
  const bias = (name: string, n: number) => (dims.useBias ? addWeight(`${prefix}${name}`, [n], zeros) : null);
  return {
    queryKernel: addWeight(`${prefix}query_kernel`, [dims.queryDim, h * keyDim], k(0)),
    queryBias: bias('query_bias', h * keyDim),
    keyKernel: addWeight(`${prefix}key_kernel`, [dims.keyInputDim, h * keyDim], k(1)),
    keyBias: bias('key_bias', h * keyDim),
    valueKernel: addWeight(`${prefix}value_kernel`, [dims.valueInputDim, h * valueDim], k(2)),
    valueBias: bias('value_bias', h * valueDim),
    outputKernel: addWeight(`${prefix}output_kernel`, [h * valueDim, dims.outputDim], k(3)),
    outputBias: bias('output_bias', dims.outputDim),
  };
}

/** Lists attention weights in a stable order (kernels and biases, query → output). @internal */
export function attentionWeightList(w: AttentionWeights): tfl.LayerVariable[] {
  return [
    w.queryKernel,
    w.queryBias,
    w.keyKernel,
    w.keyBias,
    w.valueKernel,
    w.valueBias,
    w.outputKernel,
    w.outputBias,
  ].filter((v): v is tfl.LayerVariable => v !== null);
}

/** Options of {@link attentionForward}. @internal */
export interface AttentionCallOptions {
  numHeads: number;
  keyDim: number;
  valueDim: number;
  /** Dropout rate on the attention weights (applied only when `training`). */
  dropout: number;
  training: boolean;
  dropoutSeed?: number | undefined;
}

/**
 * Multi-head scaled dot-product attention, functional form.
 *
 * Heads are folded into the batch axis (`[batch·heads, tokens, headDim]`) so every product is a
 * rank-3 product (src/ops/attention.ts, src/ops/matmul.ts) without transpose flags, whose formulation is chosen per
 * backend at call time: plain batched matMul on cpu/webgl, depthwise convolutions on wasm (where
 * a batched BatchMatMul is a naive loop). Fast forward and backward on every backend; the same
 * values everywhere. A float32 `keyMask` is used as is (no cast kernel).
 * A query whose keys are all masked gets all-zero attention weights, so its context is zero
 * and its output is the output bias: it never reads padded values and never produces NaN.
 *
 * @param w - the block's weights.
 * @param query - `[batch, queries, queryDim]`.
 * @param key - `[batch, keys, keyInputDim]`.
 * @param value - `[batch, keys, valueInputDim]`.
 * @param keyMask - `[batch, keys]` float32 0/1 as {@link readMask} returns it (1 = valid key), or null.
 * @returns output `[batch, queries, outputDim]` and attention weights `[batch, heads, queries, keys]`
 *   (before dropout); the caller owns both.
 * @internal
 */
export function attentionForward(
  w: AttentionWeights,
  query: tf.Tensor,
  key: tf.Tensor,
  value: tf.Tensor,
  keyMask: tf.Tensor | null,
  opts: AttentionCallOptions,
): { output: tf.Tensor3D; weights: tf.Tensor4D } {
  return tf.tidy(() => {
    const { numHeads: h, keyDim, valueDim } = opts;
    const nq = query.shape[1]!;
    const nk = key.shape[1]!;
    const read = (v: tfl.LayerVariable | null) => (v ? v.read() : null);
    const qp = dense(query, w.queryKernel.read(), read(w.queryBias));
    const kp = dense(key, w.keyKernel.read(), read(w.keyBias));
    const vp = dense(value, w.valueKernel.read(), read(w.valueBias));
    let m: tf.Tensor | null = null;
    if (keyMask) m = keyMask.dtype === 'float32' ? keyMask : tf.cast(keyMask, 'float32');
    const weights = attentionWeights(qp, kp, m, h, keyDim, nq, nk);
    const mask = opts.training && opts.dropout > 0 ? dropoutMask(weights.shape, opts.dropout, opts.dropoutSeed) : null;
    const merged = attentionContext(weights, vp, mask, h, valueDim, nq, nk);
    const output = dense(merged, w.outputKernel.read(), read(w.outputBias)) as tf.Tensor3D;
    return { output, weights };
  });
}

/** Constructor arguments of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionArgs extends BaseLayerArgs {
  /** Number of attention heads. Required, positive integer. */
  numHeads: number;
  /** Size of each head for queries and keys. Required, positive integer. */
  keyDim: number;
  /**
   * Size of each head for values.
   * @defaultValue `keyDim`
   */
  valueDim?: number;
  /**
   * Last dimension of the output.
   * @defaultValue the query's last dimension
   */
  outputDim?: number;
  /**
   * Dropout rate on the attention weights, active only when `training` is true.
   * @defaultValue 0
   */
  dropout?: number;
  /**
   * Whether the projections have biases.
   * @defaultValue true
   */
  useBias?: boolean;
  /**
   * Also return the attention weights `[batch, heads, queries, keys]` as a second output.
   * @defaultValue false
   */
  returnAttentionScores?: boolean;
  /**
   * Initialiser of the projection kernels (biases start at zero).
   * @defaultValue 'glorotUniform'
   */
  kernelInitializer?: KernelInitializerName;
  /**
   * Seed for the kernel initialisers and the dropout masks; set it for reproducible runs.
   * @defaultValue undefined (random)
   */
  seed?: number;
}

/**
 * Multi-head attention (Vaswani et al.), for self- and cross-attention, with a key padding
 * mask and optional attention-score output. tfjs-layers 4.22 has no public equivalent.
 *
 * **Inputs** (a list; a single tensor means self-attention):
 * - `query` `[batch, queries, queryDim]`
 * - `value` `[batch, keys, valueInputDim]` (defaults to `query`)
 * - `key` `[batch, keys, keyInputDim]` (optional; defaults to `value`)
 * - `keyMask` `[batch, keys]`, 1 = attend, 0 = padding (optional; always the *last*, rank-2 input):
 *   bool, or float32/int32 of 0 and 1, read as valid where > 0.5 like every vdafm mask (see
 *   {@link readMask}; {@link setValidateMasks} refuses other values)
 *
 * **Outputs**: `[batch, queries, outputDim]`, and with `returnAttentionScores` also the
 * attention weights `[batch, heads, queries, keys]` (softmax output, before dropout).
 * A query whose keys are all masked gets zero weights (its output is the output bias).
 *
 * Weights: `query_kernel [queryDim, heads·keyDim]`, `key_kernel [keyInputDim, heads·keyDim]`,
 * `value_kernel [valueInputDim, heads·valueDim]`, `output_kernel [heads·valueDim, outputDim]`
 * and their biases. (PyTorch `nn.MultiheadAttention`'s `in_proj_weight[0:E]` is
 * `query_kernel` transposed.)
 *
 * With `returnAttentionScores` (two outputs) in a functional model, tfjs-layers' executor calls
 * the layer once per output; in training the repeat gets the first call's outputs (one dropout
 * draw; see `runGraph`, which calls every layer once).
 *
 * @throws {@link InvalidArgumentError} from the constructor, naming the argument: `args` not an
 *   object; `numHeads` or `keyDim` (or a given `valueDim`, `outputDim`) not a positive integer;
 *   `dropout` outside [0, 1); `useBias` or `returnAttentionScores` not a boolean; an unknown
 *   `kernelInitializer`; a `seed` that is not an integer. When applied: `inputs` for other than one
 *   to three token tensors (optionally followed by the mask); `query`, `value` or `key` without a
 *   known last dimension; `keyMask` of a dtype other than bool, float32 and int32 (or, with
 *   {@link setValidateMasks} on, holding a value other than 0 and 1).
 * @throws {@link ShapeError} when applied: `query`, `value` or `key` not rank 3; `key` not matching
 *   `value` in batch and keys, or `value` not matching `query` in batch; `keyMask` not matching
 *   `value` in batch and keys.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { multiHeadAttention } from 'vdafm';
 *
 * const visual = tfl.input({ shape: [49, 64] });
 * const text = tfl.input({ shape: [32, 64] });
 * const textMask = tfl.input({ shape: [32] });
 * const mha = multiHeadAttention({ numHeads: 4, keyDim: 16, returnAttentionScores: true });
 * const [out, scores] = mha.apply([visual, text, textMask]) as tfl.SymbolicTensor[];
 * console.log(out.shape, scores.shape); // [null, 49, 64] [null, 4, 49, 32]
 * ```
 */
export class MultiHeadAttention extends tfl.layers.Layer {
  /** @internal */
  static className = 'VdafmMultiHeadAttention';
  readonly numHeads: number;
  readonly keyDim: number;
  readonly valueDim: number;
  readonly outputDim: number | undefined;
  readonly dropoutRate: number;
  readonly useBias: boolean;
  readonly returnAttentionScores: boolean;
  readonly kernelInitializer: KernelInitializerName;
  readonly seed: number | undefined;
  private attn: AttentionWeights | null = null;
  /** The query, value and key widths the layer was built with. */
  private widths: { query: number; value: number; key: number } | null = null;
  private readonly dropoutSeeds: DropoutSeeds;
  private readonly repeats = new RepeatedCallCache();

  constructor(args: MultiHeadAttentionArgs) {
    super(layerBaseArgs(args, 'MultiHeadAttention'));
    assertPositiveInt(args.numHeads, 'numHeads');
    assertPositiveInt(args.keyDim, 'keyDim');
    if (args.valueDim !== undefined) assertPositiveInt(args.valueDim, 'valueDim');
    if (args.outputDim !== undefined) assertPositiveInt(args.outputDim, 'outputDim');
    assertRate(args.dropout ?? 0, 'dropout');
    assertBoolean(args.useBias ?? true, 'useBias');
    assertBoolean(args.returnAttentionScores ?? false, 'returnAttentionScores');
    this.numHeads = args.numHeads;
    this.keyDim = args.keyDim;
    this.valueDim = args.valueDim ?? args.keyDim;
    this.outputDim = args.outputDim;
    this.dropoutRate = args.dropout ?? 0;
    this.useBias = args.useBias ?? true;
    this.returnAttentionScores = args.returnAttentionScores ?? false;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.seed = checkSeed(args.seed);
    this.dropoutSeeds = new DropoutSeeds(this.seed);
  }

  /** Parses the input list into query, value, key shapes and an optional mask shape. */
  private parseShapes(inputShape: Shape | Shape[]): { q: Shape; v: Shape; k: Shape; mask: Shape | null } {
    const list: Shape[] = Array.isArray(inputShape[0]) || inputShape.length === 0 ? (inputShape as Shape[]) : [inputShape as Shape];
    list.forEach((s, i) => assertIsShape(s, ['query', 'value', 'key', 'keyMask'][Math.min(i, 3)]!, i < 3 ? '[batch, tokens, dim]' : '[batch, keys]'));
    let mask: Shape | null = null;
    let tokens = list;
    if (list.length > 1 && list[list.length - 1]!.length === 2) {
      mask = list[list.length - 1]!;
      tokens = list.slice(0, -1);
    }
    if (tokens.length < 1 || tokens.length > 3) {
      throw new InvalidArgumentError({
        argument: 'inputs',
        message: 'MultiHeadAttention takes [query], [query, value], [query, value, key], each optionally followed by a keyMask [batch, keys].',
        received: `${list.length} inputs with shapes ${JSON.stringify(list)}`,
      });
    }
    const q = tokens[0]!;
    const v = tokens[1] ?? q;
    const k = tokens[2] ?? v;
    assertRank(q, 3, 'query', '[batch, queries, queryDim]');
    assertRank(v, 3, 'value', '[batch, keys, valueDim]');
    assertRank(k, 3, 'key', '[batch, keys, keyDim]');
    assertSameDims(k, v, [0, 1], 'key', 'value', '[batch, keys, keyDim]');
    assertSameDims(v, q, [0], 'value', 'query', '[batch, keys, valueDim]');
    if (mask) {
      assertRank(mask, 2, 'keyMask', '[batch, keys]');
      assertSameDims(mask, v, [0, 1], 'keyMask', 'value', '[batch, keys]');
    }
    const tokenAxis = { query: 'queries', value: 'keys', key: 'keys' } as const;
    for (const [name, s] of [['query', q], ['value', v], ['key', k]] as const) {
      if (s[2] == null) {
        throw new InvalidArgumentError({ argument: name, message: `${name} must have a known last dimension.`, received: `shape ${JSON.stringify(s)}` });
      }
      if (this.widths) assertBuiltWidth(s, this.widths[name], name, tokenAxis[name], 'MultiHeadAttention');
    }
    return { q, v, k, mask };
  }

  override build(inputShape: Shape | Shape[]): void {
    const { q, v, k } = this.parseShapes(inputShape);
    const queryDim = q[2]!;
    this.widths = { query: queryDim, value: v[2]!, key: k[2]! };
    const addWeight: AddWeight = (name, shape, init) =>
      this.addWeight(name, shape, 'float32', init, undefined, true);
    this.attn = addAttentionWeights(
      addWeight,
      '',
      {
        queryDim,
        keyInputDim: k[2]!,
        valueInputDim: v[2]!,
        numHeads: this.numHeads,
        keyDim: this.keyDim,
        valueDim: this.valueDim,
        outputDim: this.outputDim ?? queryDim,
        useBias: this.useBias,
      },
      this.kernelInitializer,
      this.seed,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const { q, k } = this.parseShapes(inputShape);
    const out: Shape = [q[0]!, q[1]!, this.outputDim ?? q[2]!];
    if (!this.returnAttentionScores) return out;
    return [out, [q[0]!, this.numHeads, q[1]!, k[1]!]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const repeated = this.repeats.repeated(asList(inputs), kwargs); // the executor's repeat for the other output
    if (repeated) return repeated;
    const outputs = tf.tidy(() => {
      const list = asList(inputs);
      this.parseShapes(list.map((t) => (t as { shape?: Shape } | null)?.shape as Shape));
      const hasMask = list.length > 1 && list[list.length - 1]!.rank === 2;
      const tokens = hasMask ? list.slice(0, -1) : list;
      const keyMask = hasMask ? readMask(list[list.length - 1]!, 'keyMask') : null;
      // masked keys and values are selected away (never multiplied: 0 · NaN = NaN), once per tensor
      const clean = new Map<tf.Tensor, tf.Tensor>();
      const masked = (t: tf.Tensor) => {
        if (!keyMask) return t;
        if (!clean.has(t)) clean.set(t, zeroPadded(t, keyMask));
        return clean.get(t)!;
      };
      const value = masked(tokens[1] ?? tokens[0]!);
      const key = masked(tokens[2] ?? tokens[1] ?? tokens[0]!);
      const query = clean.get(tokens[0]!) ?? tokens[0]!; // self-attention: the same, cleaned tensor
      const { output, weights } = attentionForward(this.attn!, query, key, value, keyMask, {
        numHeads: this.numHeads,
        keyDim: this.keyDim,
        valueDim: this.valueDim,
        dropout: this.dropoutRate,
        training: isTraining(kwargs),
        dropoutSeed: this.dropoutRate > 0 && isTraining(kwargs) ? this.dropoutSeeds.next(dropoutStepOf(kwargs)) : undefined,
      });
      return this.returnAttentionScores ? [output, weights] : output;
    });
    if (Array.isArray(outputs)) this.repeats.remember(asList(inputs), kwargs, outputs);
    return outputs;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      numHeads: this.numHeads,
      keyDim: this.keyDim,
      valueDim: this.valueDim,
      dropout: this.dropoutRate,
      useBias: this.useBias,
      returnAttentionScores: this.returnAttentionScores,
      kernelInitializer: this.kernelInitializer,
    };
    return { ...super.getConfig(), ...configFields(config, { outputDim: this.outputDim, seed: this.seed }) };
  }
}

/**
 * Creates a {@link MultiHeadAttention} layer.
 *
 * @throws {@link InvalidArgumentError} as the {@link MultiHeadAttention} constructor, naming the
 *   argument.
 * @example
 * ```ts
 * const mha = multiHeadAttention({ numHeads: 2, keyDim: 4 });
 * const x = tf.randomNormal([1, 5, 8]);
 * const y = mha.apply(x) as tf.Tensor; // self-attention, [1, 5, 8]
 * ```
 */
export function multiHeadAttention(args: MultiHeadAttentionArgs): MultiHeadAttention {
  return new MultiHeadAttention(args);
}
