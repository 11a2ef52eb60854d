/**
 * Workload "cross-attention block" (the design notes' performance table; model.md step 2).
 *
 * One direction of a VDAFM cross-attention layer, pre-norm with residuals and a GELU MLP:
 *   a  = MHA(q = LN_q(x), kv = LN_kv(c))     8 heads × 32, projections with bias
 *   x1 = x + a
 *   y  = x1 + W2·GELU(W1·LN_f(x1) + b1) + b2  hidden 4 × 256
 *   loss = mean(y²), Adam(lr 1e-4)
 * x `[16, 49, 256]` (7×7 visual tokens), c `[16, 64, 256]` (report tokens). float32.
 *
 * Variants: ours (vdafm's library code path: `layerNorm`, `attentionForward`,
 * `feedForwardResidual`) on wasm (1 thread) and cpu; stock tfjs as a user would write it
 * (tfl.layers.dense / layerNormalization, `tf.matMul(q, k, false, true)`) on wasm and cpu; the
 * PyTorch peer (bench/peer/attention_block.py) with 1 and 2 threads; and, timed round-robin
 * with a fresh library instance and the 1-thread peer (load-robust ratios): `prev-wasm`, the
 * library path as it was before the per-backend formulations (batched products on depthwise
 * convolutions, dense bias gradient as a product), and experiments: alternative formulations on
 * the same weights, labelled `exp-*`.
 *
 * @packageDocumentation
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { dense, gelu, layerNorm } from '../../src/ops/dense.js';
import { residualAdd } from '../../src/ops/elementwise.js';
import {
  type AddWeight,
  addAttentionWeights,
  attentionForward,
  attentionWeightList,
  type AttentionWeights,
} from '../../src/layers/attention.js';
import {
  addFeedForwardWeights,
  feedForwardResidual,
  feedForwardWeightList,
  type FeedForwardWeights,
} from '../../src/layers/transformer-block.js';
import { fastKernelsBuild, relaxedSimdSupported, setFastKernelsEnabled } from '../../src/kernels/module.js';
import { disableThreads, enableThreads } from '../../src/node/threads.js';
import { type ModelImpl, runPairedTrain } from '../lib/model-bench.js';
import { PeerServer, runPeer } from '../lib/peer.js';
import { makeRatio } from '../lib/report.js';
import { summarize, timeIt } from '../lib/stats.js';
import { maxRssBytes, profileStep, type StepProfile, timeOnce, timeStep, useBackend } from '../lib/tfjs.js';
import type { BenchContext, Profile, RepPlan, Row, Workload, WorkloadResult } from '../lib/types.js';

const B = 16;
const NQ = 49;
const NK = 64;
const D = 256;
const HEADS = 8;
const HEAD_DIM = D / HEADS;
const HIDDEN = 4 * D;
const EPS = 1e-5;
const LR = 1e-4;
const SEED = 1234;

/** A block implementation under test: a forward function and its trainable variables. */
export interface BlockImpl {
  forward(x: tf.Tensor, c: tf.Tensor): tf.Tensor;
  variables: tf.Variable[];
  dispose(): void;
}

/** Weights of the library block, exposed to the experiments. */
export interface OursWeights {
  normQ: { gamma: tfl.LayerVariable; beta: tfl.LayerVariable };
  normKv: { gamma: tfl.LayerVariable; beta: tfl.LayerVariable };
  attn: AttentionWeights;
  ffn: FeedForwardWeights;
}

/**
 * Host layer for the library code path: it owns the weights (created through the library's
 * `addAttentionWeights` / `addFeedForwardWeights`, as a composite vdafm layer does) and its
 * `call` is exactly the library's one-direction VDAFM cross-attention layer.
 */
class BenchCrossBlock extends tfl.layers.Layer {
  static className = 'VdafmBenchCrossBlock';
  w: OursWeights | null = null;

  constructor() {
    super({ name: 'bench_cross_block' });
  }

  override build(): void {
    const addWeight: AddWeight = (name, shape, init) => this.addWeight(name, shape, 'float32', init, undefined, true);
    const ones = tfl.initializers.ones();
    const zeros = tfl.initializers.zeros();
    this.w = {
      normQ: { gamma: addWeight('q_norm_gamma', [D], ones), beta: addWeight('q_norm_beta', [D], zeros) },
      normKv: { gamma: addWeight('kv_norm_gamma', [D], ones), beta: addWeight('kv_norm_beta', [D], zeros) },
      attn: addAttentionWeights(
        addWeight,
        'attn_',
        { queryDim: D, keyInputDim: D, valueInputDim: D, numHeads: HEADS, keyDim: HEAD_DIM, valueDim: HEAD_DIM, outputDim: D, useBias: true },
        'glorotUniform',
        SEED,
      ),
      ffn: addFeedForwardWeights(addWeight, '', D, HIDDEN, 'glorotUniform', SEED, 4),
    };
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, c] = inputs as [tf.Tensor, tf.Tensor];
      const w = this.w!;
      const h = layerNorm(x, w.normQ.gamma.read(), w.normQ.beta.read(), EPS);
      const kv = layerNorm(c, w.normKv.gamma.read(), w.normKv.beta.read(), EPS);
      const { output } = attentionForward(w.attn, h, kv, kv, null, {
        numHeads: HEADS,
        keyDim: HEAD_DIM,
        valueDim: HEAD_DIM,
        dropout: 0,
        training: false,
      });
      return feedForwardResidual(w.ffn, residualAdd(x, output), EPS, 0, false, undefined);
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (inputShape as tfl.Shape[])[0]!;
  }

  /** Trainable weights in a stable order. */
  list(): tfl.LayerVariable[] {
    const w = this.w!;
    return [w.normQ.gamma, w.normQ.beta, w.normKv.gamma, w.normKv.beta, ...attentionWeightList(w.attn), ...feedForwardWeightList(w.ffn)];
  }
}

/** Frees a layer's weights (eagerly applied layers cannot use `Layer.dispose`, which needs a symbolic apply). */
function disposeWeights(layer: tfl.layers.Layer): void {
  for (const w of layer.weights) w.dispose();
}

function makeOursLayer(): BenchCrossBlock {
  const layer = new BenchCrossBlock();
  layer.build();
  return layer;
}

/** vdafm's library code path. */
function ours(): BlockImpl {
  const layer = makeOursLayer();
  return {
    forward: (x, c) => layer.apply([x, c]) as tf.Tensor,
    variables: layer.list().map((v) => v.read() as tf.Variable),
    dispose: () => disposeWeights(layer),
  };
}

/** The same block as a tfjs user would write it with stock layers and ops. */
function stock(): BlockImpl {
  const normQ = tfl.layers.layerNormalization({ epsilon: EPS });
  const normKv = tfl.layers.layerNormalization({ epsilon: EPS });
  const normF = tfl.layers.layerNormalization({ epsilon: EPS });
  const wq = tfl.layers.dense({ units: D });
  const wk = tfl.layers.dense({ units: D });
  const wv = tfl.layers.dense({ units: D });
  const wo = tfl.layers.dense({ units: D });
  const ff1 = tfl.layers.dense({ units: HIDDEN, activation: 'gelu' });
  const ff2 = tfl.layers.dense({ units: D });
  const layers = [normQ, normKv, normF, wq, wk, wv, wo, ff1, ff2];
  const ap = (l: tfl.layers.Layer, t: tf.Tensor) => l.apply(t) as tf.Tensor;
  const heads = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [-1, n, HEADS, HEAD_DIM]), [0, 2, 1, 3]);
  const forward = (x: tf.Tensor, c: tf.Tensor) =>
    tf.tidy(() => {
      const h = ap(normQ, x);
      const kv = ap(normKv, c);
      const q = heads(ap(wq, h), NQ);
      const k = heads(ap(wk, kv), NK);
      const v = heads(ap(wv, kv), NK);
      const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(HEAD_DIM));
      const context = tf.matMul(tf.softmax(scores), v);
      const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [-1, NQ, D]);
      const x1 = tf.add(x, ap(wo, merged));
      return tf.add(x1, ap(ff2, ap(ff1, ap(normF, x1))));
    });
  // Build every layer once so the variable list is complete.
  tf.tidy(() => forward(tf.zeros([1, NQ, D]), tf.zeros([1, NK, D])));
  return {
    forward,
    variables: layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable)),
    dispose: () => layers.forEach(disposeWeights),
  };
}

/** An experiment: an alternative forward on the library block's own (seeded, identical) weights. */
function experiment(fwd: ExperimentForward): BlockImpl & { layer: BenchCrossBlock } {
  const layer = makeOursLayer();
  return {
    layer,
    forward: (x, c) => fwd(layer.w!, x, c),
    variables: layer.list().map((v) => v.read() as tf.Variable),
    dispose: () => disposeWeights(layer),
  };
}

const lossOf = (impl: BlockImpl, x: tf.Tensor, c: tf.Tensor) => () => tf.mean(tf.square(impl.forward(x, c))) as tf.Scalar;

function trainStep(impl: BlockImpl, opt: tf.Optimizer, x: tf.Tensor, c: tf.Tensor): () => tf.Tensor {
  const loss = lossOf(impl, x, c);
  return () => opt.minimize(loss, true, impl.variables)!;
}

interface TfjsVariant {
  id: string;
  label: string;
  backend: 'wasm' | 'cpu';
  kind: Row['kind'];
  make: () => BlockImpl;
  forwardPlan: RepPlan;
  trainPlan: RepPlan;
  /** Plans used with --quick; absent: the variant is skipped in --quick. */
  quickPlans?: { forward: RepPlan; train: RepPlan; profileStep?: boolean; settle?: boolean };
  /** Profile one train step (kernel count, peak bytes); costs one extra step. */
  profileStep: boolean;
  /** Run one untimed step before timing (default true; off for very slow variants). */
  settle?: boolean;
  /** Threads of vdafm's GEMM (vdafm/node) while the variant runs. @defaultValue 1 */
  threads?: number;
  note?: string;
}

/** The library block as a {@link ModelImpl} (its train step only: the interleaved rounds of runPairedTrain). */
function oursModelImpl(): ModelImpl {
  const impl = ours();
  const { x, c } = inputs();
  const opt = tf.train.adam(LR);
  return {
    forward: () => tf.tidy(() => impl.forward(x, c)),
    train: trainStep(impl, opt, x, c),
    dispose: () => {
      impl.dispose();
      opt.dispose();
      tf.dispose([x, c]);
    },
  };
}

function inputs(): { x: tf.Tensor; c: tf.Tensor } {
  return { x: tf.randomNormal([B, NQ, D], 0, 1, 'float32', 1), c: tf.randomNormal([B, NK, D], 0, 1, 'float32', 2) };
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Output / gradient agreement of an experiment with the library forward on the same weights. */
function compareWithLibrary(impl: BlockImpl & { layer: BenchCrossBlock }): { outDiff: number; gradDiff: number } {
  const { x, c } = inputs();
  const layer = impl.layer;
  const lib: BlockImpl = { forward: (a, b) => layer.apply([a, b]) as tf.Tensor, variables: impl.variables, dispose: () => undefined };
  try {
    return tf.tidy(() => {
      const outDiff = maxAbsDiff(impl.forward(x, c), lib.forward(x, c));
      const g1 = tf.variableGrads(lossOf(impl, x, c), impl.variables).grads;
      const g2 = tf.variableGrads(lossOf(lib, x, c), impl.variables).grads;
      let gradDiff = 0;
      for (const name of Object.keys(g2)) gradDiff = Math.max(gradDiff, maxAbsDiff(g1[name]!, g2[name]!));
      return { outDiff, gradDiff };
    });
  } finally {
    tf.dispose([x, c]);
  }
}

function selected(ctx: BenchContext, id: string): boolean {
  return !ctx.variants || ctx.variants.some((v) => (v.endsWith('*') ? id.startsWith(v.slice(0, -1)) : id === v));
}

function skippedRow(v: { id: string; label: string; backend: string; kind: Row['kind']; note?: string }, why: string): Row {
  return { id: v.id, label: v.label, backend: v.backend, threads: 1, kind: v.kind, forward: null, train: null, status: 'skipped', note: v.note ? `${v.note}; ${why}` : why };
}

async function runTfjsVariant(v0: TfjsVariant, ctx: BenchContext): Promise<Row> {
  if (!selected(ctx, v0.id)) return skippedRow(v0, 'not in --variants');
  if (ctx.quick && !v0.quickPlans) return skippedRow(v0, 'skipped in --quick');
  const qp = v0.quickPlans;
  const v: TfjsVariant =
    ctx.quick && qp
      ? { ...v0, forwardPlan: qp.forward, trainPlan: qp.train, profileStep: qp.profileStep ?? v0.profileStep, settle: qp.settle ?? v0.settle ?? true }
      : v0;
  const threads = v.threads ?? 1;
  const row: Row = { id: v.id, label: v.label, backend: v.backend, threads, kind: v.kind, forward: null, train: null, status: 'ok' };
  if (v.note) row.note = v.note;
  await useBackend(v.backend);
  if (threads > 1) await enableThreads({ threads });
  else await disableThreads();
  const { x, c } = inputs();
  const impl = v.make();
  const opt = tf.train.adam(LR);
  try {
    ctx.log(`  ${v.id}: forward`);
    const fwd = await timeStep(() => tf.tidy(() => impl.forward(x, c)), v.forwardPlan, v.settle ?? true);
    row.forward = fwd.stats;
    ctx.log(`  ${v.id}: forward ${fwd.stats.median.toFixed(1)} ms; train step`);
    const step = trainStep(impl, opt, x, c);
    let prof: StepProfile | null = null;
    if (v.profileStep) {
      step().dispose(); // creates Adam's slots outside the profile
      prof = await profileStep(step);
    }
    const trn = await timeStep(step, v.trainPlan, v.settle ?? true);
    row.train = trn.stats;
    row.memory = trn.memory;
    if (prof) {
      row.memory.kernelsPerStep = prof.kernelsPerStep;
      row.memory.tensorsAllocatedPerStep = prof.tensorsAllocatedPerStep;
      row.memory.peakBytesInStep = prof.peakBytesInStep;
    }
    ctx.log(`  ${v.id}: train ${trn.stats.median.toFixed(1)} ms`);
  } catch (e) {
    row.status = 'failed';
    row.note = `${row.note ?? ''} ${e instanceof Error ? e.message : String(e)}`.trim();
    ctx.log(`  ${v.id} failed: ${row.note}`);
  } finally {
    opt.dispose();
    impl.dispose();
    tf.dispose([x, c]);
    if (threads > 1) await disableThreads();
  }
  row.maxRssBytes = maxRssBytes();
  return row;
}

/** Sub-step timings (forward / backward / Adam) and a kernel profile of one train step on wasm. */
async function profileVariant(ctx: BenchContext, id: string, make: () => BlockImpl): Promise<Profile> {
  await useBackend('wasm');
  const { x, c } = inputs();
  const impl = make();
  const opt = tf.train.adam(LR);
  const plan: RepPlan = ctx.quick ? { warmup: 1, reps: 2 } : { warmup: 2, reps: 8, maxSeconds: 6 };
  try {
    const loss = lossOf(impl, x, c);
    const fwd = await timeIt(() => tf.tidy(() => { loss().dataSync(); }), plan);
    const grads = await timeIt(() => {
      const { value, grads: g } = tf.variableGrads(loss, impl.variables);
      value.dataSync();
      tf.dispose([value, ...Object.values(g)]);
    }, plan);
    const step = trainStep(impl, opt, x, c);
    const full = await timeIt(() => tf.tidy(() => { step().dataSync(); }), plan);
    const prof = await profileStep(step);
    ctx.log(`  profile ${id}: loss forward ${fwd.median.toFixed(0)} ms, with gradients ${grads.median.toFixed(0)} ms, train step ${full.median.toFixed(0)} ms`);
    return {
      variant: id,
      phases: [
        { name: 'forward+loss', ms: fwd.median },
        { name: 'backward (grads − forward)', ms: grads.median - fwd.median },
        { name: 'Adam update (step − grads)', ms: full.median - grads.median },
        { name: 'train step', ms: full.median },
      ],
      kernels: prof.kernels.slice(0, 40), // keep latest.json small
      byName: prof.byName,
      totalKernelMs: prof.totalKernelMs,
      wallMs: prof.wallMs,
    };
  } finally {
    opt.dispose();
    impl.dispose();
    tf.dispose([x, c]);
  }
}

/**
 * Times the library variant, the experiments (wasm) and, when available, the PyTorch peer with
 * 1 thread *interleaved* (round-robin, rotating the order each round), so that load from other
 * processes hits all of them alike: the ratios between these rows are much less noisy than
 * ratios between rows measured minutes apart on a shared machine.
 */
async function runInterleaved(ctx: BenchContext, list: Experiment[], withPeer: boolean): Promise<Row[]> {
  await useBackend('wasm');
  const { x, c } = inputs();
  interface Entry {
    id: string;
    label: string;
    kind: Row['kind'];
    backend: string;
    note: string;
    forward: () => Promise<number>;
    train: () => Promise<number>;
    impl?: BlockImpl & { layer: BenchCrossBlock };
    profile?: StepProfile;
    diff?: { outDiff: number; gradDiff: number };
  }
  const opts: tf.Optimizer[] = [];
  const tfjsEntry = (id: string, label: string, kind: Row['kind'], note: string, fwd: ExperimentForward, simd128 = false): Entry => {
    const impl = experiment(fwd);
    const opt = tf.train.adam(LR);
    opts.push(opt);
    const step = trainStep(impl, opt, x, c);
    // simd128: the same library code on the simd128 build of the GEMM (A/B against relaxed SIMD)
    const build = async (f: () => Promise<number>): Promise<number> => {
      if (!simd128) return f();
      setFastKernelsEnabled(true, { relaxedSimd: false });
      try {
        return await f();
      } finally {
        setFastKernelsEnabled(true);
      }
    };
    return { id, label, kind, backend: 'wasm', note, impl, forward: () => build(() => timeOnce(() => tf.tidy(() => impl.forward(x, c)))), train: () => build(() => timeOnce(step)) };
  };
  const entries: Entry[] = [
    tfjsEntry('ours-wasm-paired', `ours (vdafm ops, ${fastKernelsBuild()} GEMM), interleaved`, 'library', 'same as ours-wasm, re-timed round-robin with the rows below', libraryForward),
    ...(relaxedSimdSupported()
      ? [tfjsEntry('ours-wasm-simd128', 'ours (vdafm ops, simd128 GEMM), interleaved', 'library', 'the library with setFastKernelsEnabled(true, { relaxedSimd: false }): the simd128 build of the GEMM, against the relaxed build above', libraryForward, true)]
      : []),
    ...list.map((e) => tfjsEntry(e.id, e.id.startsWith('exp-') ? `experiment: ${e.label}` : e.label, 'experiment', e.description, e.forward)),
  ];
  let server: PeerServer | null = null;
  if (withPeer) {
    const script = fileURLToPath(new URL('../peer/attention_block.py', import.meta.url));
    const started = await PeerServer.start(ctx.python, script);
    server = started.server;
    if (server) {
      const srv = server;
      entries.push({
        id: 'pytorch-1-paired',
        label: 'PyTorch peer, interleaved',
        kind: 'peer',
        backend: 'pytorch',
        note: 'same as pytorch-1, timed inside the peer process between the tfjs steps above',
        forward: async () => (await srv.time(1, 'forward', 1))[0]!,
        train: async () => (await srv.time(1, 'train', 1))[0]!,
      });
    } else ctx.log(`  interleaved PyTorch: ${started.info.status === 'ok' ? '' : started.info.error.split('\n')[0]}`);
  }
  const rows: Row[] = [];
  try {
    for (const e of entries) {
      if (!e.impl) continue;
      if (e.kind === 'experiment') e.diff = compareWithLibrary(e.impl);
      const step = trainStep(e.impl, opts[entries.indexOf(e)]!, x, c);
      step().dispose();
      e.profile = await profileStep(step);
    }
    const rounds = { forward: 8, train: 8, warmup: 2 };
    const fSamples: number[][] = entries.map(() => []);
    const tSamples: number[][] = entries.map(() => []);
    ctx.log(`  interleaved: ${entries.map((e) => e.id).join(', ')}`);
    for (const [phase, n, samples] of [['forward', rounds.forward, fSamples], ['train', rounds.train, tSamples]] as const) {
      for (let r = -rounds.warmup; r < n; r++) {
        for (let j = 0; j < entries.length; j++) {
          const i = (j + Math.max(r, 0)) % entries.length;
          const dt = await entries[i]![phase]();
          if (r >= 0) samples[i]!.push(dt);
        }
      }
    }
    entries.forEach((e, i) => {
      const row: Row = {
        id: e.id,
        label: e.label,
        backend: e.backend,
        threads: 1,
        kind: e.kind,
        forward: summarize(fSamples[i]!, rounds.warmup),
        train: summarize(tSamples[i]!, rounds.warmup),
        status: 'ok',
        note: e.diff ? `${e.note} (vs library on the same weights: max |Δ| output ${e.diff.outDiff.toExponential(1)}, gradients ${e.diff.gradDiff.toExponential(1)})` : e.note,
      };
      if (e.profile) {
        row.memory = {
          residentTensors: tf.memory().numTensors,
          residentBytes: tf.memory().numBytes,
          leakedTensorsPerStep: null,
          kernelsPerStep: e.profile.kernelsPerStep,
          tensorsAllocatedPerStep: e.profile.tensorsAllocatedPerStep,
          peakBytesInStep: e.profile.peakBytesInStep,
        };
        row.maxRssBytes = maxRssBytes();
      }
      if (e.diff) row.maxAbsDiff = Math.max(e.diff.outDiff, e.diff.gradDiff);
      if (server) row.refId = 'pytorch-1-paired';
      rows.push(row);
      ctx.log(`  ${e.id}: forward ${row.forward!.median.toFixed(1)} ms, train ${row.train!.median.toFixed(1)} ms`);
    });
  } finally {
    server?.close();
    opts.forEach((o) => o.dispose());
    entries.forEach((e) => e.impl?.dispose());
    tf.dispose([x, c]);
  }
  return rows;
}

/** The library forward as a function of the weights (what `BenchCrossBlock.call` runs). */
function libraryForward(w: OursWeights, x: tf.Tensor, c: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const h = layerNorm(x, w.normQ.gamma.read(), w.normQ.beta.read(), EPS);
    const kv = layerNorm(c, w.normKv.gamma.read(), w.normKv.beta.read(), EPS);
    const { output } = attentionForward(w.attn, h, kv, kv, null, { numHeads: HEADS, keyDim: HEAD_DIM, valueDim: HEAD_DIM, dropout: 0, training: false });
    return feedForwardResidual(w.ffn, residualAdd(x, output), EPS, 0, false, undefined);
  });
}

/** FLOPs of the block's dense products (forward) and of its batched attention products. */
const DENSE_FLOPS_FWD = 2 * (B * NQ * D * D * 2 + B * NK * D * D * 2 + B * NQ * D * HIDDEN * 2);
const ATTN_FLOPS_FWD = 2 * (2 * B * HEADS * NQ * NK * HEAD_DIM);
/** The reference GEMM timed on both sides: [784,256]·[256,1024]. */
const GEMM_FLOPS = 2 * B * NQ * D * HIDDEN;

/** Median time (ms) of the reference GEMM on wasm with the XNNPACK fast path. */
async function wasmGemmMs(ctx: BenchContext): Promise<number> {
  await useBackend('wasm');
  const a = tf.randomNormal([B * NQ, D]);
  const b = tf.randomNormal([D, HIDDEN]);
  try {
    const s = await timeIt(() => tf.tidy(() => { tf.matMul(a, b).dataSync(); }), ctx.quick ? { warmup: 1, reps: 3 } : { warmup: 3, reps: 15, maxSeconds: 3 });
    return s.median;
  } finally {
    tf.dispose([a, b]);
  }
}

async function runPeerRows(ctx: BenchContext): Promise<{ rows: Row[]; note: string; gemmMs: number | null }> {
  const threads = ctx.quick ? [1] : [1, 2];
  const mk = (t: number): Row => ({ id: `pytorch-${t}`, label: 'PyTorch peer', backend: 'pytorch', threads: t, kind: 'peer', forward: null, train: null, status: 'ok' });
  if (!ctx.peer) return { rows: threads.map((t) => ({ ...mk(t), status: 'skipped', note: '--no-peer' })), note: '', gemmMs: null };
  if (!threads.some((t) => selected(ctx, `pytorch-${t}`))) return { rows: threads.map((t) => ({ ...mk(t), status: 'skipped', note: 'not in --variants' })), note: '', gemmMs: null };
  const script = fileURLToPath(new URL('../peer/attention_block.py', import.meta.url));
  const args = ['--threads', threads.join(','), ...(ctx.quick ? ['--warmup', '1', '--reps', '3'] : ['--warmup', '3', '--reps', '15', '--max-seconds', '6'])];
  ctx.log(`  PyTorch peer: ${ctx.python} ${args.join(' ')}`);
  const answer = await runPeer(ctx.python, script, args, 180_000);
  if (answer.status !== 'ok') {
    return { rows: threads.map((t) => ({ ...mk(t), status: answer.status, note: answer.error.split('\n')[0]! })), note: '', gemmMs: null };
  }
  const rows = answer.results.map((r) => {
    const row = mk(r.threads);
    row.forward = summarize(r.forward, r.forward_warmup);
    row.train = summarize(r.train, r.train_warmup);
    row.maxRssBytes = r.max_rss_kb * 1024;
    return row;
  });
  ctx.log(`  PyTorch: ${rows.map((r) => `${r.threads} thr fwd ${r.forward!.median.toFixed(1)} / train ${r.train!.median.toFixed(1)} ms`).join('; ')}`);
  const g1 = answer.results.find((r) => r.threads === 1)?.gemm;
  return { rows, note: `PyTorch ${answer.torch} (Python ${answer.python}), BLAS: ${answer.blas}`, gemmMs: g1?.length ? summarize(g1, 0).median : null };
}

// ---------------------------------------------------------------------------------------------
// EXPERIMENTS: alternative formulations measured on the library block's weights. Not library
// code; the integrator may adopt a winner into src/core/ops.ts / src/layers/attention.ts.
// (The former `exp-dwconv-attn` — batched attention products on depthwiseConv2d — is now the
// library path on wasm: src/core/batched-matmul.ts.)
// ---------------------------------------------------------------------------------------------

/** An alternative forward of the block on the library's weights. */
export type ExperimentForward = (w: OursWeights, x: tf.Tensor, c: tf.Tensor) => tf.Tensor;

interface Experiment {
  id: string;
  label: string;
  description: string;
  forward: ExperimentForward;
}

/**
 * The library's batched product and dense map as they were BEFORE the per-backend formulations
 * (kept here only to time the change in the same run): a `tf.customGrad` matMul whose gradient
 * uses plain batched matMuls (a naive loop on wasm for batch > 1), and `dense` = matMul + add
 * (bias gradient: a Sum over axis 0).
 */
const prevMatMul = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  const swap = (t: tf.Tensor) => (t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [0, 2, 1]));
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy as tf.Tensor3D, swap(sb) as tf.Tensor3D), tf.matMul(swap(sa) as tf.Tensor3D, dy as tf.Tensor3D)];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

function prevDense(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  const inDim = x.shape[x.rank - 1]!;
  const y = prevMatMul(tf.reshape(x, [-1, inDim]), kernel);
  return tf.reshape(bias ? tf.add(y, bias) : y, [...x.shape.slice(0, -1), kernel.shape[1]!]);
}

/** The library block before the change (same weights): plain batched attention core, Sum bias gradients. */
function prevBlock(w: OursWeights, x: tf.Tensor, c: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = w.attn;
    const read = (v: tfl.LayerVariable | null) => (v ? v.read() : null);
    const h = layerNorm(x, w.normQ.gamma.read(), w.normQ.beta.read(), EPS);
    const kv = layerNorm(c, w.normKv.gamma.read(), w.normKv.beta.read(), EPS);
    const split = (t: tf.Tensor, n: number, perm: number[], shape: [number, number, number]) =>
      tf.reshape(tf.transpose(tf.reshape(t, [-1, n, HEADS, HEAD_DIM]), perm), shape);
    const q = split(prevDense(h, a.queryKernel.read(), read(a.queryBias)), NQ, [0, 2, 1, 3], [-1, NQ, HEAD_DIM]);
    const kT = split(prevDense(kv, a.keyKernel.read(), read(a.keyBias)), NK, [0, 2, 3, 1], [-1, HEAD_DIM, NK]);
    const v = split(prevDense(kv, a.valueKernel.read(), read(a.valueBias)), NK, [0, 2, 1, 3], [-1, NK, HEAD_DIM]);
    const scores = prevMatMul(tf.mul(q, 1 / Math.sqrt(HEAD_DIM)), kT);
    const context = prevMatMul(tf.softmax(scores), v);
    const merged = tf.reshape(tf.transpose(tf.reshape(context, [-1, HEADS, NQ, HEAD_DIM]), [0, 2, 1, 3]), [-1, NQ, D]);
    const x1 = tf.add(x, prevDense(merged, a.outputKernel.read(), read(a.outputBias)));
    const f = w.ffn;
    const hid = gelu(prevDense(layerNorm(x1, f.normGamma.read(), f.normBeta.read(), EPS), f.kernel1.read(), f.bias1.read()));
    return tf.add(x1, prevDense(hid, f.kernel2.read(), f.bias2.read()));
  });
}

/**
 * EXPERIMENT: layer normalisation with a closed-form gradient
 * (`dx = rstd·(g − mean(g) − x̂·mean(g·x̂))`, `g = dy·γ`) instead of autodiff through ~10 ops.
 */
function layerNormFast(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const f = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const axis = xi.rank - 1;
    const mean = tf.mean(xi, axis, true);
    const centred = tf.sub(xi, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), axis, true), epsilon));
    const xhat = tf.mul(centred, rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const d = sg.shape[0]!;
        const gy = tf.mul(dy, sg);
        const dx = tf.mul(sr, tf.sub(tf.sub(gy, tf.mean(gy, axis, true)), tf.mul(sx, tf.mean(tf.mul(gy, sx), axis, true))));
        const dGamma = tf.sum(tf.reshape(tf.mul(dy, sx), [-1, d]), 0);
        const dBeta = tf.sum(tf.reshape(dy, [-1, d]), 0);
        return [dx, dGamma, dBeta];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor;
  return f(x, gamma, beta);
}

/** EXPERIMENT: exact GELU with a closed-form gradient `Φ(x) + x·φ(x)`. */
const geluFast = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sc] = saved as [tf.Tensor, tf.Tensor];
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(sx), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return [tf.mul(dy, tf.add(sc, tf.mul(sx, pdf)))];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** EXPERIMENT: the library block with closed-form layer-norm and GELU gradients. */
function fusedGradsBlock(w: OursWeights, x: tf.Tensor, c: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const h = layerNormFast(x, w.normQ.gamma.read(), w.normQ.beta.read(), EPS);
    const kv = layerNormFast(c, w.normKv.gamma.read(), w.normKv.beta.read(), EPS);
    const { output } = attentionForward(w.attn, h, kv, kv, null, { numHeads: HEADS, keyDim: HEAD_DIM, valueDim: HEAD_DIM, dropout: 0, training: false });
    const x1 = tf.add(x, output);
    const f = w.ffn;
    const hid = geluFast(dense(layerNormFast(x1, f.normGamma.read(), f.normBeta.read(), EPS), f.kernel1.read(), f.bias1.read()));
    return tf.add(x1, dense(hid, f.kernel2.read(), f.bias2.read()));
  });
}

const EXPERIMENTS: Experiment[] = [
  {
    id: 'prev-wasm',
    label: 'library before the per-backend formulations',
    description:
      'the library path before depthwise batched products, the dense customGrad and the redundant-cast removal (batched BatchMatMul: naive loop on wasm; bias gradient = Sum over axis 0); kept to time the change in the same run',
    forward: prevBlock,
  },
  {
    id: 'exp-fusedgrads',
    label: 'library + closed-form LN/GELU grads',
    description: 'EXPERIMENT: the library block with customGrad layer norm and GELU (fewer backward kernels)',
    forward: fusedGradsBlock,
  },
];

function variants(): TfjsVariant[] {
  const library = { backend: 'wasm', kind: 'library', make: ours, forwardPlan: { warmup: 3, reps: 15, maxSeconds: 6 }, trainPlan: { warmup: 2, reps: 12, maxSeconds: 8 } } as const;
  return [
    { ...library, id: 'ours-wasm', label: 'ours (vdafm ops)', quickPlans: { forward: { warmup: 1, reps: 3 }, train: { warmup: 1, reps: 3 } }, profileStep: true },
    { ...library, id: 'ours-wasm-2', label: 'ours, GEMM on 2 threads (vdafm/node)', profileStep: false, threads: 2 },
    {
      id: 'stock-wasm',
      label: 'stock tfjs layers',
      backend: 'wasm',
      kind: 'stock',
      make: stock,
      forwardPlan: { warmup: 2, reps: 8, maxSeconds: 4 },
      trainPlan: { warmup: 0, reps: 3, minReps: 2, maxSeconds: 10 },
      quickPlans: { forward: { warmup: 1, reps: 2 }, train: { warmup: 0, reps: 1 }, profileStep: false, settle: false },
      profileStep: true,
    },
    {
      id: 'ours-cpu',
      label: 'ours (vdafm ops)',
      backend: 'cpu',
      kind: 'library',
      make: ours,
      forwardPlan: { warmup: 0, reps: 3, minReps: 2, maxSeconds: 6 },
      trainPlan: { warmup: 0, reps: 2, minReps: 1, maxSeconds: 12 },
      profileStep: false,
    },
    {
      id: 'stock-cpu',
      label: 'stock tfjs layers',
      backend: 'cpu',
      kind: 'stock',
      make: stock,
      forwardPlan: { warmup: 0, reps: 3, minReps: 2, maxSeconds: 6 },
      trainPlan: { warmup: 0, reps: 1 },
      profileStep: false,
      settle: false,
      note: 'train step: one timed step, no warm-up (10–35 s each here)',
    },
  ];
}

export const workload: Workload = {
  name: 'attention',
  title: 'Cross-attention block (B16, 49 q × 64 kv tokens, d256, 8 heads, MLP 4×, Adam)',
  order: 10,
  async run(ctx: BenchContext): Promise<WorkloadResult> {
    const rows: Row[] = [];
    const notes: string[] = [];
    const profiles: Profile[] = [];
    for (const v of variants()) rows.push(await runTfjsVariant(v, ctx));
    const peer = await runPeerRows(ctx);
    rows.push(...peer.rows);
    if (peer.note) notes.push(peer.note);
    if (selected(ctx, 'ours-wasm')) {
      const gemm = await wasmGemmMs(ctx);
      const rate = (msv: number) => GEMM_FLOPS / msv / 1e6;
      const floor = (3 * DENSE_FLOPS_FWD) / (rate(gemm) * 1e6);
      const torch1 = rows.find((r) => r.id === 'pytorch-1')?.train?.median;
      notes.push(
        `GEMM floor: the block's dense products are ${(DENSE_FLOPS_FWD / 1e9).toFixed(2)} GFLOP forward, ≈${((3 * DENSE_FLOPS_FWD) / 1e9).toFixed(2)} GFLOP per train step ` +
          `(attention's batched products only ${((3 * ATTN_FLOPS_FWD) / 1e9).toFixed(2)}). GEMM [784,256]·[256,1024]: wasm (XNNPACK) ${rate(gemm).toFixed(1)} GFLOP/s` +
          (peer.gemmMs ? `, PyTorch 1 thread ${rate(peer.gemmMs).toFixed(1)} GFLOP/s` : '') +
          `. At the wasm rate the dense products alone take ≈${floor.toFixed(0)} ms per train step` +
          (torch1 ? ` = ${(floor / torch1).toFixed(1)}× PyTorch's whole 1-thread step` : '') +
          '.',
      );
    }
    const exps = EXPERIMENTS.filter((e) => selected(ctx, e.id));
    const peerInterleaved = ctx.peer && !ctx.quick && rows.some((r) => r.id === 'pytorch-1' && r.status === 'ok');
    const expList = ctx.experiments ? exps : [];
    if (selected(ctx, 'ours-wasm') && (expList.length || peerInterleaved)) rows.push(...(await runInterleaved(ctx, expList, peerInterleaved)));
    const { paired, notes: pairedNotes } = await runPairedTrain(ctx, rows, { make: oursModelImpl, script: fileURLToPath(new URL('../peer/attention_block.py', import.meta.url)), rounds: 15, warmup: 5 });
    notes.push(...pairedNotes);
    if (ctx.profile && selected(ctx, 'ours-wasm')) profiles.push(await profileVariant(ctx, 'ours-wasm', ours));
    if (ctx.profile && ctx.experiments) {
      for (const e of exps) profiles.push(await profileVariant(ctx, e.id, () => experiment(e.forward)));
    }
    const ratios = [
      makeRatio(rows, 'ours-wasm / PyTorch 1 thread, interleaved', 'ours-wasm-paired', 'pytorch-1-paired', 'train', { text: '≤ 2×', max: 2 }),
      makeRatio(rows, 'ours-wasm / PyTorch 1 thread, interleaved', 'ours-wasm-paired', 'pytorch-1-paired', 'forward', { text: '≤ 2×', max: 2 }),
      makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'train', { text: '≤ 2×', max: 2 }),
      makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'forward', { text: '≤ 2×', max: 2 }),
      makeRatio(rows, 'ours-wasm / PyTorch 2 threads', 'ours-wasm', 'pytorch-2', 'train'),
      makeRatio(rows, 'ours-wasm-2 (2 threads) / PyTorch 2 threads', 'ours-wasm-2', 'pytorch-2', 'train'),
      makeRatio(rows, 'ours, relaxed-SIMD GEMM / simd128 GEMM (interleaved)', 'ours-wasm-paired', 'ours-wasm-simd128', 'train'),
      makeRatio(rows, 'ours, relaxed-SIMD GEMM / simd128 GEMM (interleaved)', 'ours-wasm-paired', 'ours-wasm-simd128', 'forward'),
      makeRatio(rows, 'stock-wasm / ours-wasm', 'stock-wasm', 'ours-wasm', 'train'),
      makeRatio(rows, 'stock-wasm / ours-wasm', 'stock-wasm', 'ours-wasm', 'forward'),
      makeRatio(rows, 'stock-cpu / ours-cpu', 'stock-cpu', 'ours-cpu', 'train'),
      makeRatio(rows, 'stock-cpu / ours-cpu', 'stock-cpu', 'ours-cpu', 'forward'),
      makeRatio(rows, 'ours-cpu / ours-wasm', 'ours-cpu', 'ours-wasm', 'train'),
    ];
    for (const e of rows.filter((r) => r.kind === 'experiment' && r.status === 'ok')) {
      ratios.push(makeRatio(rows, `${e.id} / ours (interleaved)`, e.id, 'ours-wasm-paired', 'train'));
      ratios.push(makeRatio(rows, `${e.id} / ours (interleaved)`, e.id, 'ours-wasm-paired', 'forward'));
      ratios.push(makeRatio(rows, `${e.id} / PyTorch 1 thread, interleaved`, e.id, 'pytorch-1-paired', 'train', { text: '≤ 2×', max: 2 }));
    }
    notes.push('ours-wasm runs one thread, ours-wasm-2 two (vdafm/node\'s GEMM pool; tfjs-backend-wasm\'s own kernels stay on one thread); PyTorch: torch and BLAS threads set to n (bench/peer/common.py set_threads).');
    notes.push('Forward = inference without a gradient tape (PyTorch: torch.no_grad()); train step = loss forward + backward + Adam update.');
    return {
      name: 'attention',
      title: this.title,
      description:
        'x [16,49,256], c [16,64,256]; x1 = x + MHA(q=LN(x), kv=LN(c)) (8 heads × 32, biased projections); ' +
        'y = x1 + W2·GELU(W1·LN(x1)+b1)+b2 (hidden 1024, exact GELU); loss = mean(y²); Adam lr 1e-4; float32. ' +
        'Peak MiB/step and kernels/step come from tf.profile of one train step; leak/step from tf.memory(); max RSS is the process peak so far.',
      rows,
      reference: 'pytorch-1',
      ratios,
      profiles,
      notes,
      paired,
    };
  },
};
