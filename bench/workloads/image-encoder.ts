/**
 * Workloads `image-encoder-2d` and `image-encoder-3d`: the residual CNN of `createImageEncoder`
 * (src/encoders/image) with a linear head, against the same network in stock tfjs layers and
 * its PyTorch peer (bench/peer/image_encoder.py, workloads encoder2d / encoder3d). Shapes as the
 * former standalone bench/image-encoder.ts.
 *
 * @packageDocumentation
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createImageEncoder } from '../../src/index.js';
import { cpuPlans, emptyRow, type ModelImpl, type ModelVariant, type PhasePlans, runModelVariant, runPairedTrain, runPeerRows, wasmPlans } from '../lib/model-bench.js';
import { makeRatio } from '../lib/report.js';
import type { BenchContext, Profile, Row, Workload, WorkloadResult } from '../lib/types.js';

/** Interleaved rounds per thread count (bench/lib/model-bench.ts runPairedTrain). */
const PAIRED_ROUNDS = 15;

type Dims = 2 | 3;

interface Spec {
  dims: Dims;
  /** Input shape with batch. */
  shape: number[];
  widths: number[];
  norm: 'batch' | 'group';
  targetMax: number;
}

const SPECS: Record<Dims, Spec> = {
  2: { dims: 2, shape: [16, 128, 128, 1], widths: [32, 64, 128, 256], norm: 'batch', targetMax: 3 },
  3: { dims: 3, shape: [4, 32, 64, 64, 1], widths: [16, 32, 64, 128], norm: 'group', targetMax: 4 },
};
const STRIDES = [1, 2, 2, 2];
const LR = 1e-3;

/** createImageEncoder + dense(1). */
function oursModel(s: Spec): tfl.LayersModel {
  const input = tfl.input({ shape: s.shape.slice(1) });
  const enc = createImageEncoder({
    spatialDims: s.dims,
    inputShape: s.shape.slice(1),
    widths: s.widths,
    depths: [1, 1, 1, 1],
    strides: STRIDES,
    stemStride: 2,
    norm: s.norm,
    seed: 1,
  });
  const pooled = enc.apply(input)[1];
  const out = tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/**
 * The same residual network in stock tfjs layers (conv2d/conv3d without bias, batchNormalization,
 * reLU, add, global average pooling, dense). tfjs-layers has no GroupNorm: the 3D stock network
 * uses batchNormalization too (on a rank-4 view: it rejects rank 5), a cheap op either way next to
 * the convolutions.
 */
function stockModel(s: Spec): tfl.LayersModel {
  const three = s.dims === 3;
  const input = tfl.input({ shape: s.shape.slice(1) });
  const conv = (filters: number, kernelSize: number, strides: number) => {
    const args = { filters, kernelSize, strides, padding: 'same' as const, useBias: false, kernelInitializer: tfl.initializers.heNormal({ seed: 3 }) };
    return three ? tfl.layers.conv3d(args) : tfl.layers.conv2d(args);
  };
  // tfjs-layers 4.22's batchNormalization (and layerNormalization) reject rank-5 inputs: the 3D
  // network folds depth into height around each norm ([B, D, H, W, C] → [B, D·H, W, C] and back)
  const bnLayer = () => tfl.layers.batchNormalization({ epsilon: 1e-5, momentum: 0.9 });
  const norm = (x: tfl.SymbolicTensor): tfl.SymbolicTensor => {
    if (!three) return bnLayer().apply(x) as tfl.SymbolicTensor;
    const [d, hh, ww, c] = x.shape.slice(1) as number[];
    const folded = tfl.layers.reshape({ targetShape: [d! * hh!, ww!, c!] }).apply(x);
    return tfl.layers.reshape({ targetShape: [d!, hh!, ww!, c!] }).apply(bnLayer().apply(folded)) as tfl.SymbolicTensor;
  };
  const relu = (x: tfl.SymbolicTensor) => tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
  const cn = (x: tfl.SymbolicTensor, f: number, k: number, st: number) => norm(conv(f, k, st).apply(x) as tfl.SymbolicTensor);
  let h = relu(cn(input, s.widths[0]!, 3, 2));
  let cin = s.widths[0]!;
  s.widths.forEach((w, i) => {
    const st = STRIDES[i]!;
    const main = cn(relu(cn(h, w, 3, st)), w, 3, 1);
    const skip = st !== 1 || cin !== w ? cn(h, w, 1, st) : h;
    h = relu(tfl.layers.add().apply([main, skip]) as tfl.SymbolicTensor);
    cin = w;
  });
  // tfjs-layers has no globalAveragePooling3d: flatten the grid to tokens and average them
  const pooled = (
    three
      ? tfl.layers.globalAveragePooling1d({}).apply(tfl.layers.reshape({ targetShape: [-1, cin] }).apply(h))
      : tfl.layers.globalAveragePooling2d({}).apply(h)
  ) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 1 }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

function impl(s: Spec, build: (s: Spec) => tfl.LayersModel): () => ModelImpl {
  return () => {
    const model = build(s);
    const x = tf.randomNormal(s.shape, 0, 1, 'float32', 1);
    const x1 = tf.slice(x, 0, 1);
    const opt = tf.train.adam(LR);
    return {
      forward: () => model.predict(x) as tf.Tensor,
      predict: () => tf.tidy(() => tf.sigmoid(model.predict(x1) as tf.Tensor)),
      train: () => opt.minimize(() => tf.tidy(() => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar), true)!,
      dispose: () => {
        tf.dispose([x, x1]);
        opt.dispose();
        model.dispose();
      },
    };
  };
}

function variants(ctx: BenchContext, s: Spec): ModelVariant[] {
  const heavy = true;
  const list: ModelVariant[] = [
    { id: 'ours-wasm', label: 'ours (createImageEncoder)', backend: 'wasm', kind: 'library', make: impl(s, oursModel), plans: wasmPlans(ctx, heavy) },
  ];
  if (!ctx.quick) list.push({ id: 'ours-wasm-2', label: 'ours, GEMM on 2 threads (vdafm/node)', backend: 'wasm', kind: 'library', make: impl(s, oursModel), plans: wasmPlans(ctx, heavy), threads: 2, profile: false });
  // stock conv3d is a naive loop on wasm (seconds per call): few reps, and no train step in --quick
  const three = s.dims === 3;
  const stockPlans: PhasePlans = ctx.quick
    ? { forward: { warmup: 0, reps: 1 }, train: three ? null : { warmup: 0, reps: 1 }, predict: three ? null : { warmup: 0, reps: 2 } }
    : {
        forward: { warmup: 0, reps: three ? 1 : 5, minReps: 1, maxSeconds: 10 },
        train: { warmup: 0, reps: 1 },
        predict: three ? { warmup: 0, reps: 2 } : { warmup: 1, reps: 5, minReps: 1, maxSeconds: 5 },
      };
  if (!ctx.quick) list.push({ id: 'ours-cpu', label: 'ours (createImageEncoder)', backend: 'cpu', kind: 'library', make: impl(s, oursModel), plans: cpuPlans(true), settle: false, profile: false, note: 'one timed step per phase, no warm-up' });
  list.push({
    id: 'stock-wasm',
    label: `stock tfjs layers (conv${s.dims}d)`,
    backend: 'wasm',
    kind: 'stock',
    make: impl(s, stockModel),
    plans: stockPlans,
    settle: false,
    profile: false,
    note:
      s.dims === 2
        ? 'tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel: a stock conv2d cannot train on wasm'
        : `stock Conv3D kernels are naive loops on wasm (and Conv3DBackpropInputV2 gave wrong values with 'same' padding, shared/design/performance.md); BatchNorm (on a rank-4 view) in place of GroupNorm (tfjs-layers has none); train: one timed step, no warm-up${ctx.quick ? ' (train and predict skipped in --quick)' : ''}`,
  });
  return list;
}

/** The spec of a run: `--quick` shrinks the batch (2D: 2, 3D: 1) to stay a smoke test. */
function specFor(ctx: BenchContext, dims: Dims): Spec {
  const s = SPECS[dims];
  return ctx.quick ? { ...s, shape: [dims === 2 ? 2 : 1, ...s.shape.slice(1)] } : s;
}

function imageWorkload(dims: Dims): Workload {
  const title0 =
    dims === 2
      ? '2D image encoder (createImageEncoder 128×128×1, widths 32–256, BatchNorm, B16) + dense, Adam'
      : '3D image encoder (createImageEncoder 32×64×64×1, widths 16–128, GroupNorm, B4) + dense, Adam';
  return {
    name: `image-encoder-${dims}d`,
    title: title0,
    order: 30 + dims,
    async run(ctx: BenchContext): Promise<WorkloadResult> {
      const s = specFor(ctx, dims);
      const rows: Row[] = [];
      const profiles: Profile[] = [];
      for (const v of variants(ctx, s)) rows.push(await runModelVariant(v, ctx, profiles));
      const peer = await runPeerRows(ctx, {
        script: fileURLToPath(new URL('../peer/image_encoder.py', import.meta.url)),
        args: ['--workload', `encoder${dims}d`, '--batch', String(s.shape[0]), '--max-seconds', ctx.quick ? '2' : '20'],
        threads: ctx.quick ? [1] : [1, 2],
        // 5 warm-up steps: at 2 threads PyTorch's first 4 steps ran ~2× slower (oneDNN set-up)
        warmup: ctx.quick ? 0 : 5,
        reps: ctx.quick ? 2 : 7,
        predictReps: ctx.quick ? 3 : 15,
        timeoutMs: 15 * 60_000,
      });
      rows.push(...peer.rows);
      const { paired, notes: pairedNotes } = await runPairedTrain(ctx, rows, { make: impl(s, oursModel), script: fileURLToPath(new URL('../peer/image_encoder.py', import.meta.url)), args: ['--workload', `encoder${dims}d`, '--batch', String(s.shape[0])], rounds: PAIRED_ROUNDS, warmup: 5 });
      if (ctx.quick && !rows.some((r) => r.id === 'ours-cpu')) rows.push(emptyRow({ id: 'ours-cpu', label: 'ours (createImageEncoder)', backend: 'cpu', kind: 'library' }, 'skipped', '--quick'));
      const target = { text: `≤ ${s.targetMax}×`, max: s.targetMax };
      const notes = [
        'Forward = model.predict on the batch (no tape); predict = one volume, sigmoid of the head; train step = optimizer.minimize of mean(head(x)²) in training mode.',
        'ours-wasm runs one thread, ours-wasm-2 two (vdafm/node\'s pool: the GEMM and the convolution products; tfjs-backend-wasm\'s own kernels stay on one thread); PyTorch: torch and BLAS threads set to n (bench/peer/common.py set_threads).',
      ];
      if (peer.note) notes.push(peer.note);
      notes.push(...pairedNotes);
      const title = ctx.quick ? `${title0} [--quick: batch ${s.shape[0]}]` : title0;
      return {
        name: this.name,
        title,
        description:
          `x [${s.shape.join(',')}]; stem conv 3${dims === 3 ? '×3×3' : '×3'} stride 2 → ${s.norm === 'batch' ? 'BatchNorm' : 'GroupNorm(8)'} → ReLU; 4 stages of one basic residual block, ` +
          `widths [${s.widths.join(', ')}], strides [1, 2, 2, 2] (1×1 strided shortcut + norm when the shape changes); mean over tokens; dense(1). Loss mean(y²), Adam lr 1e-3, float32.`,
        rows,
        reference: 'pytorch-1',
        ratios: [
          makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'train', target),
          makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'forward'),
          makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'predict'),
          makeRatio(rows, 'ours-wasm / PyTorch 2 threads', 'ours-wasm', 'pytorch-2', 'train'),
        makeRatio(rows, 'ours-wasm-2 (2 threads) / PyTorch 2 threads', 'ours-wasm-2', 'pytorch-2', 'train'),
          makeRatio(rows, 'stock-wasm / ours-wasm', 'stock-wasm', 'ours-wasm', 'forward'),
          makeRatio(rows, 'stock-wasm / ours-wasm', 'stock-wasm', 'ours-wasm', 'train'),
          makeRatio(rows, 'ours-cpu / ours-wasm', 'ours-cpu', 'ours-wasm', 'train'),
        ],
        profiles,
        notes,
        paired,
      };
    },
  };
}

/** The 2D and 3D image-encoder workloads. */
export const workloads: Workload[] = [imageWorkload(2), imageWorkload(3)];

/** The library's encoder train/forward implementation for `dims` (used by ad-hoc A/B scripts). */
export function imageEncoderImpl(dims: Dims): ModelImpl {
  return impl(SPECS[dims], oursModel)();
}
