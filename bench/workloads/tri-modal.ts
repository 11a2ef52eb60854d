/**
 * Workloads `tri-modal` and `tri-modal-leak`.
 *
 * - `tri-modal`: the full model of `createTriModalModel` with the configuration of the demo's
 *   "tri-modal VDAFM (full)" model (src/demo/demo.ts), trained with the Trainer's own loss
 *   (`Trainer.computeLoss`: BCE + dual alignment + auxiliary BCE) and Adam, against the PyTorch
 *   peer of the same architecture (bench/peer/trimodal.py).
 * - `tri-modal-leak`: 1000 steps of the real `Trainer.fit` on a small tri-modal model, tensor
 *   count and bytes read after every step: they must stay flat (skipped in `--quick`).
 *
 * @packageDocumentation
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { createTriModalModel } from '../../src/models/builder.js';
import { type TriModalModelConfig } from '../../src/models/tri-modal.js';
import { imageEncoderConfig } from '../../src/study/ablations.js';
import { AdamW } from '../../src/training/optimizer.js';
import { Trainer } from '../../src/training/trainer.js';
import type { TriModalData } from '../../src/models/data.js';
import { cpuPlans, emptyRow, type ModelImpl, type ModelVariant, runModelVariant, runPairedTrain, runPeerRows, wasmPlans } from '../lib/model-bench.js';
import { makeRatio } from '../lib/report.js';
import { summarize } from '../lib/stats.js';
import { maxRssBytes, useBackend } from '../lib/tfjs.js';
import type { BenchContext, Check, Profile, Row, Workload, WorkloadResult } from '../lib/types.js';

/** Interleaved rounds per thread count (bench/lib/model-bench.ts runPairedTrain). */
const PAIRED_ROUNDS = 15;

const B = 32;
const DIM = 32;
const IMAGE: [number, number, number] = [32, 32, 8];
const VOCAB = 300;
const MAXLEN = 64;
const NUM_SCALAR = 11;
const CARDINALITY = 3;
const LR = 2e-3;

/**
 * The demo's and the study's full model (src/demo/demo.ts ABLATIONS 'tri-modal VDAFM (full)', the
 * image encoder of src/study/ablations.ts: BatchNorm), without the tokenizer/preprocessor objects.
 */
function fullConfig(): TriModalModelConfig {
  return {
    image: imageEncoderConfig(IMAGE),
    text: { vocabSize: VOCAB, maxLength: MAXLEN, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 },
    clinical: { features: { numScalar: NUM_SCALAR, cardinalities: [CARDINALITY] }, dim: DIM, numLayers: 1, numHeads: 4, dropout: 0.1 },
    fusion: { type: 'vdafm', dim: DIM, numHeads: 4, numLayers: 1, dropout: 0.1 },
    returnAttention: true,
    seed: 18,
  };
}

/** A deterministic batch laid out as the peer's (bench/peer/trimodal.py make_batch). */
function makeBatch(b: number, image: number[], maxLength: number, vocab: number, seed: number): TriModalData {
  const textMask = new Float32Array(b * maxLength);
  const ids = new Int32Array(b * maxLength);
  let state = seed * 7919 + 17;
  const rand = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  for (let i = 0; i < b; i++) {
    const n = i % 20 === 19 ? 0 : maxLength - ((7 * i) % Math.max(maxLength - 7, 1));
    for (let j = 0; j < maxLength; j++) {
      ids[i * maxLength + j] = Math.floor(rand() * vocab);
      textMask[i * maxLength + j] = j < n ? 1 : 0;
    }
  }
  const f = NUM_SCALAR + 1;
  const values = new Float32Array(b * f);
  const clinicalMask = new Float32Array(b * f);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < f; j++) {
      values[i * f + j] = j < NUM_SCALAR ? 2 * rand() - 1 : Math.floor(rand() * CARDINALITY);
      clinicalMask[i * f + j] = rand() < 0.9 ? 1 : 0;
    }
  }
  return {
    image: tf.randomNormal([b, ...image], 0, 1, 'float32', seed),
    textIds: tf.tensor2d(ids, [b, maxLength], 'int32'),
    textMask: tf.tensor2d(textMask, [b, maxLength]),
    clinicalValues: tf.tensor2d(values, [b, f]),
    clinicalMask: tf.tensor2d(clinicalMask, [b, f]),
    labels: tf.tensor1d(Array.from({ length: b }, (_, i) => (i % 3 === 0 ? 1 : 0))),
  };
}

const disposeBatch = (batch: TriModalData) => tf.dispose(Object.values(batch).filter((t): t is tf.Tensor => t instanceof tf.Tensor));

/** The full model, its Trainer loss and Adam on the active backend. */
export function triModalImpl(drop: Array<'image' | 'text' | 'clinical'> = [], trainerOptions: ConstructorParameters<typeof Trainer>[0] = {}): ModelImpl {
  return ours(drop, trainerOptions);
}

function ours(drop: Array<'image' | 'text' | 'clinical'> = [], trainerOptions: ConstructorParameters<typeof Trainer>[0] = {}): ModelImpl {
  const config = fullConfig();
  for (const m of drop) delete config[m];
  if (drop.includes('image') || drop.includes('text')) config.fusion = { type: 'pooled' };
  const model = createTriModalModel(config);
  const batch = makeBatch(B, IMAGE, MAXLEN, VOCAB, 1);
  const one = makeBatch(1, IMAGE, MAXLEN, VOCAB, 2);
  const trainer = new Trainer({ learningRate: LR, ...trainerOptions });
  const vars = model.trainableVariables();
  const opt = new AdamW({ learningRate: LR }); // the Trainer's optimizer; weight decay 0 = Adam
  const probabilities = (data: TriModalData) => model.predict(data).probabilities;
  return {
    forward: () => probabilities(batch),
    predict: () => probabilities(one),
    train: () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => trainer.computeLoss(model, batch, true, null).total, vars);
        opt.applyGradients(grads, vars);
        return value;
      }),
    dispose: () => {
      disposeBatch(batch);
      disposeBatch(one);
      opt.dispose();
      model.dispose();
    },
  };
}

function variants(ctx: BenchContext): ModelVariant[] {
  const list: ModelVariant[] = [{ id: 'ours-wasm', label: 'ours (createTriModalModel + Trainer.computeLoss)', backend: 'wasm', kind: 'library', make: ours, plans: wasmPlans(ctx) }];
  if (!ctx.quick) list.push({ id: 'ours-wasm-2', label: 'ours, GEMM on 2 threads (vdafm/node)', backend: 'wasm', kind: 'library', make: ours, plans: wasmPlans(ctx), threads: 2, profile: false });
  if (!ctx.quick) {
    list.push({ id: 'ours-cpu', label: 'ours (createTriModalModel + Trainer.computeLoss)', backend: 'cpu', kind: 'library', make: ours, plans: cpuPlans(), settle: false, profile: false });
  }
  return list;
}

const triModal: Workload = {
  name: 'tri-modal',
  title: 'Full tri-modal model (demo config: image 32×32×8, text 64 tokens, 12 clinical features, VDAFM d32; B32), Trainer loss, Adam',
  order: 40,
  async run(ctx: BenchContext): Promise<WorkloadResult> {
    const rows: Row[] = [];
    const profiles: Profile[] = [];
    for (const v of variants(ctx)) rows.push(await runModelVariant(v, ctx, profiles));
    if (ctx.quick) rows.push(emptyRow({ id: 'ours-cpu', label: 'ours (createTriModalModel + Trainer.computeLoss)', backend: 'cpu', kind: 'library' }, 'skipped', '--quick'));
    const peer = await runPeerRows(ctx, {
      script: fileURLToPath(new URL('../peer/trimodal.py', import.meta.url)),
      args: ['--batch', String(B), '--max-seconds', ctx.quick ? '2' : '20'],
      threads: ctx.quick ? [1] : [1, 2],
      warmup: ctx.quick ? 1 : 3,
      reps: ctx.quick ? 3 : 15,
      predictReps: ctx.quick ? 5 : 30,
      timeoutMs: 10 * 60_000,
    });
    rows.push(...peer.rows);
    const { paired, notes: pairedNotes } = await runPairedTrain(ctx, rows, { make: ours, script: fileURLToPath(new URL('../peer/trimodal.py', import.meta.url)), args: ['--batch', String(B)], rounds: PAIRED_ROUNDS, warmup: 5 });
    const notes = [
      'No stock tfjs equivalent: the model is this library\'s assembly (stock tfjs cannot train its conv2d on wasm: see image-encoder-2d).',
      'Train step = tf.variableGrads of Trainer.computeLoss (training mode: dropout on) + the library AdamW (weight decay 0 = Adam; all variables updated as one flat vector); the Trainer\'s own step adds balancing, clipping and one read-back (timed in tri-modal-leak).',
      'ours-wasm runs one thread, ours-wasm-2 two (vdafm/node\'s GEMM pool; tfjs-backend-wasm\'s own kernels stay on one thread); PyTorch: torch and BLAS threads set to n (bench/peer/common.py set_threads).',
    ];
    if (peer.note) notes.push(peer.note);
    notes.push(...pairedNotes);
    return {
      name: 'tri-modal',
      title: this.title,
      description:
        'createTriModalModel: image = 2D residual CNN [32,32,8] widths [16,32,32] strides [2,2,2] BatchNorm → 16 tokens → Linear(32); ' +
        'text = embeddings (vocab 300) + positions (64) + 1 pre-norm transformer block (4 heads, ffn 128, dropout 0.1) + LN; ' +
        'clinical = FT-Transformer (11 scalar + 1 categorical feature, CLS, 1 block, ffn 64); VDAFM(d32, 4 heads, 1 layer, FiLM, gated, clinical late, attention maps returned); ' +
        'prognosis head + 3 auxiliary heads. Loss = BCE + 0.1·(global + fine + clinical alignment, τ 0.07, vision anchor) + 0.3·Σ aux BCE; Adam lr 2e-3; batch 32. ' +
        'Forward = model.predict on the batch; predict = model.predict of one patient.',
      rows,
      reference: 'pytorch-1',
      ratios: [
        makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'train', { text: '≤ 2.5×', max: 2.5 }),
        makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'forward'),
        makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'predict'),
        makeRatio(rows, 'ours-wasm / PyTorch 2 threads', 'ours-wasm', 'pytorch-2', 'train'),
        makeRatio(rows, 'ours-wasm-2 (2 threads) / PyTorch 2 threads', 'ours-wasm-2', 'pytorch-2', 'train'),
        makeRatio(rows, 'ours-cpu / ours-wasm', 'ours-cpu', 'ours-wasm', 'train'),
      ],
      profiles,
      notes,
      paired,
    };
  },
};

/** A small tri-modal model for the 1000-step leak check. */
function smallConfig(): TriModalModelConfig {
  return {
    image: { inputShape: [16, 16, 4], spatialDims: 2, widths: [8, 16], depths: [1, 1], strides: [2, 2], outputDim: 16 },
    text: { vocabSize: 50, maxLength: 16, dim: 16, numLayers: 1, numHeads: 2, dropout: 0.1 },
    clinical: { features: { numScalar: NUM_SCALAR, cardinalities: [CARDINALITY] }, dim: 16, numLayers: 1, numHeads: 2, dropout: 0.1 },
    fusion: { type: 'vdafm', dim: 16, numHeads: 2, numLayers: 1, dropout: 0.1 },
    seed: 5,
  };
}

const LEAK_STEPS = 1000;
const LEAK_SAMPLES = 64;
const LEAK_BATCH = 8;

const triModalLeak: Workload = {
  name: 'tri-modal-leak',
  title: `Leak check: ${LEAK_STEPS} Trainer.fit steps of a small tri-modal model (wasm)`,
  order: 50,
  async run(ctx: BenchContext): Promise<WorkloadResult> {
    const base = { id: 'ours-wasm', label: 'Trainer.fit (AdamW, balancing, modality dropout, clipping)', backend: 'wasm', kind: 'library' as const };
    const result = (rows: Row[], checks: Check[], notes: string[]): WorkloadResult => ({
      name: 'tri-modal-leak',
      title: this.title,
      description:
        `createTriModalModel (image [16,16,4] widths [8,16], text vocab 50 × 16 tokens, 12 clinical features, VDAFM d16, 2 heads) trained by the real Trainer ` +
        `(${LEAK_SAMPLES} samples, batch ${LEAK_BATCH}, ${LEAK_STEPS / (LEAK_SAMPLES / LEAK_BATCH)} epochs = ${LEAK_STEPS} steps, default options); tf.memory() read in onBatchEnd after every step. ` +
        'The train-step column is the median wall time between consecutive onBatchEnd calls (a whole Trainer step: shuffled batch gather, loss, grads, balancing, clipping, read-back, AdamW).',
      rows,
      ratios: [],
      profiles: [],
      notes,
      checks,
    });
    if (ctx.quick) {
      return result([emptyRow(base, 'skipped', '--quick')], [], ['Skipped in --quick (takes about a minute on an idle machine).']);
    }
    await useBackend('wasm');
    const start = tf.memory().numTensors;
    const model = createTriModalModel(smallConfig());
    const data = makeBatch(LEAK_SAMPLES, [16, 16, 4], 16, 50, 3);
    const counts: number[] = [];
    const bytes: number[] = [];
    const stamps: number[] = [];
    const trainer = new Trainer({
      epochs: LEAK_STEPS / (LEAK_SAMPLES / LEAK_BATCH),
      batchSize: LEAK_BATCH,
      learningRate: 1e-3,
      seed: 1,
      onBatchEnd: (step) => {
        const m = tf.memory();
        counts.push(m.numTensors);
        bytes.push(m.numBytes);
        stamps.push(performance.now());
        if ((step + 1) % 250 === 0) ctx.log(`  step ${step + 1}: ${m.numTensors} tensors, ${(m.numBytes / 2 ** 20).toFixed(2)} MiB`);
      },
    });
    const afterBuild = tf.memory().numTensors;
    const t0 = performance.now();
    await trainer.fit(model, data);
    const seconds = (performance.now() - t0) / 1000;
    const afterFit = tf.memory().numTensors;
    disposeBatch(data);
    model.dispose();
    const afterDispose = tf.memory().numTensors;
    const steps = counts.length;
    const ref = Math.min(10, steps) - 1;
    const growth = counts[steps - 1]! - counts[ref]!;
    const byteGrowth = bytes[steps - 1]! - bytes[ref]!;
    const maxDev = Math.max(...counts.slice(ref).map((c) => Math.abs(c - counts[ref]!)));
    const intervals = stamps.slice(1).map((s, i) => s - stamps[i]!);
    const row: Row = {
      ...base,
      threads: 1,
      forward: null,
      train: summarize(intervals.slice(Math.min(10, intervals.length - 1)), 10),
      predict: null,
      status: 'ok',
      memory: { residentTensors: counts[steps - 1]!, residentBytes: bytes[steps - 1]!, leakedTensorsPerStep: growth / Math.max(steps - 1 - ref, 1) },
      maxRssBytes: maxRssBytes(),
    };
    const checks: Check[] = [
      {
        label: `tensors per step flat over ${steps} steps`,
        value: `${counts[ref]} tensors after step ${ref + 1}, ${counts[steps - 1]} after step ${steps} (${growth >= 0 ? '+' : ''}${growth}; max deviation ${maxDev}; bytes ${byteGrowth >= 0 ? '+' : ''}${byteGrowth})`,
        target: '+0',
        met: growth === 0 && maxDev === 0 && steps === LEAK_STEPS,
      },
    ];
    const notes = [
      `tf.memory().numTensors: ${start} before building, ${afterBuild} with the model and data, ${counts[0]} after step 1 (optimizer slots created), ` +
        `${counts[ref]} after step ${ref + 1}, ${counts[steps - 1]} after step ${steps}, ${afterFit} after fit returned, ${afterDispose} after disposing model and data.`,
      `${steps} steps in ${seconds.toFixed(1)} s (${((seconds * 1000) / steps).toFixed(1)} ms per step on average).`,
    ];
    return result([row], checks, notes);
  },
};

/** The tri-modal workloads. */
export const workloads: Workload[] = [triModal, triModalLeak];
