/**
 * Workload `vdafm`: the VDAFM fusion layer (src/fusion/vdafm.ts) with a linear prognosis head and
 * the dual semantic alignment loss, against its PyTorch peer (bench/peer/vdafm_bench.py, module
 * bench/peer/vdafm.py). Clinical mode 'late'.
 *
 * @packageDocumentation
 */
import { AdamW } from '../../src/training/optimizer.js';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { dense } from '../../src/ops/dense.js';
import { type VDAFM, vdafm } from '../../src/fusion/vdafm.js';
import { dualSemanticAlignmentLoss } from '../../src/losses/alignment.js';
import { cpuPlans, type ModelImpl, type ModelVariant, runModelVariant, runPairedTrain, runPeerRows, wasmPlans } from '../lib/model-bench.js';
import { makeRatio } from '../lib/report.js';
import type { BenchContext, Profile, Row, Workload, WorkloadResult } from '../lib/types.js';

/** Interleaved rounds per thread count (bench/lib/model-bench.ts runPairedTrain). */
const PAIRED_ROUNDS = 15;

const B = 16;
const NV = 49;
const NT = 64;
const NC = 12;
const D = 256;
const DC = 64;
const HEADS = 8;
const LAYERS = 2;
const LR = 1e-4;

/** Inputs `[visual, text, textMask, clinical, clinicalMask]` of `b` samples (masks as the peer's). */
function makeInputs(b: number): { inputs: tf.Tensor[]; labels: tf.Tensor2D } {
  const textMask = tf.tensor2d(
    Array.from({ length: b }, (_, i) => {
      const n = i === 5 ? 0 : NT - 4 * (i % 8);
      return Array.from({ length: NT }, (_, j) => (j < n ? 1 : 0));
    }),
  );
  const inputs: tf.Tensor[] = [
    tf.randomNormal([b, NV, D], 0, 1, 'float32', 1),
    tf.randomNormal([b, NT, D], 0, 1, 'float32', 2),
    textMask,
    tf.randomNormal([b, NC, DC], 0, 1, 'float32', 3),
    tf.tidy(() => tf.cast(tf.less(tf.randomUniform([b, NC], 0, 1, 'float32', 4), 0.8), 'float32')),
  ];
  const labels = tf.tensor2d(Array.from({ length: b }, (_, i) => [i % 3 === 0 ? 1 : 0]));
  return { inputs, labels };
}

let instance = 0;

/** VDAFM + head + Adam on the active backend. */
export function vdafmImpl(): ModelImpl {
  return ours();
}

function ours(): ModelImpl {
  const { inputs, labels } = makeInputs(B);
  const one = makeInputs(1);
  const layer: VDAFM = vdafm({ dim: D, numHeads: HEADS, numLayers: LAYERS, dropout: 0.1, conditioning: 'film', fusion: 'gated', clinical: 'late', seed: 11 });
  tf.dispose(layer.apply(inputs) as tf.Tensor[]);
  const tag = `${tf.getBackend()}_${instance++}`;
  const headKernel = tf.variable(tf.randomUniform([layer.headInputDim, 1], -0.05, 0.05, 'float32', 5), true, `bench_vdafm_head_k_${tag}`);
  const headBias = tf.variable(tf.zeros([1]), true, `bench_vdafm_head_b_${tag}`);
  const variables = [...layer.trainableWeights.map((w) => w.read() as tf.Variable), headKernel, headBias];
  const optimizer = new AdamW({ learningRate: LR }); // the library's optimizer; weight decay 0 = Adam
  const loss = (): tf.Scalar => {
    const out = layer.fuse(inputs, { training: true });
    const logits = dense(out.headInput, headKernel, headBias);
    const cls = tf.losses.sigmoidCrossEntropy(labels, logits);
    const align = dualSemanticAlignmentLoss(
      {
        visualEmbedding: out.visualEmbedding,
        textEmbedding: out.textEmbedding,
        visualTokens: out.visualTokens,
        textTokens: out.textTokens,
        textMask: inputs[2] as tf.Tensor2D,
        ...(out.clinicalEmbedding ? { clinicalEmbedding: out.clinicalEmbedding, clinicalMask: inputs[4] as tf.Tensor2D } : {}),
      },
      { temperature: 0.07, visionAnchor: true },
    );
    return tf.add(cls, align.loss) as tf.Scalar;
  };
  const headOf = (ins: tf.Tensor[]) =>
    tf.tidy(() => {
      const out = layer.fuse(ins);
      return tf.sigmoid(dense(out.headInput, headKernel, headBias));
    });
  return {
    forward: () => headOf(inputs),
    predict: () => headOf(one.inputs),
    train: () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, variables);
        optimizer.applyGradients(grads, variables);
        return value;
      }),
    dispose: () => {
      tf.dispose([...inputs, labels, ...one.inputs, one.labels, headKernel, headBias]);
      optimizer.dispose();
      layer.dispose();
    },
  };
}

function variants(ctx: BenchContext): ModelVariant[] {
  const list: ModelVariant[] = [{ id: 'ours-wasm', label: 'ours (vdafm layer)', backend: 'wasm', kind: 'library', make: ours, plans: wasmPlans(ctx) }];
  if (!ctx.quick) {
    list.push({ id: 'ours-wasm-2', label: 'ours, GEMM on 2 threads (vdafm/node enableThreads)', backend: 'wasm', kind: 'library', make: ours, plans: wasmPlans(ctx), threads: 2, profile: false });
    list.push({ id: 'ours-cpu', label: 'ours (vdafm layer)', backend: 'cpu', kind: 'library', make: ours, plans: cpuPlans(true), settle: false, profile: false });
  }
  return list;
}

/** The VDAFM workload. */
export const workload: Workload = {
  name: 'vdafm',
  title: 'VDAFM fusion (B16, 49 visual × 64 text × 12 clinical tokens, d256, 8 heads, 2 layers, late clinical) + head, Adam',
  order: 20,
  async run(ctx: BenchContext): Promise<WorkloadResult> {
    const rows: Row[] = [];
    const profiles: Profile[] = [];
    for (const v of variants(ctx)) rows.push(await runModelVariant(v, ctx, profiles));
    const peer = await runPeerRows(ctx, {
      script: fileURLToPath(new URL('../peer/vdafm_bench.py', import.meta.url)),
      args: ['--variant', 'late', '--max-seconds', ctx.quick ? '2' : '20'],
      threads: ctx.quick ? [1] : [1, 2],
      warmup: ctx.quick ? 1 : 3,
      reps: ctx.quick ? 3 : 15,
      predictReps: ctx.quick ? 5 : 30,
      timeoutMs: 10 * 60_000,
    });
    rows.push(...peer.rows);
    const { paired, notes: pairedNotes } = await runPairedTrain(ctx, rows, { make: ours, script: fileURLToPath(new URL('../peer/vdafm_bench.py', import.meta.url)), args: ['--variant', 'late'], rounds: PAIRED_ROUNDS, warmup: 5 });
    const notes = [
      'No stock tfjs equivalent (VDAFM is this library\'s layer); stock-tfjs cost of the attention inside it: see workload `attention`.',
      'ours-wasm runs one thread, ours-wasm-2 two (vdafm/node\'s GEMM pool; tfjs-backend-wasm\'s own kernels stay on one thread); PyTorch: torch and BLAS threads set to n (bench/peer/common.py set_threads).',
    ];
    if (peer.note) notes.push(peer.note);
    notes.push(...pairedNotes);
    return {
      name: 'vdafm',
      title: this.title,
      description:
        'visual [16,49,256], text [16,64,256] + mask (lengths 64…36, sample 5 without report), clinical [16,12,64] + mask (~80 % present); ' +
        'VDAFM(dim 256, 8 heads, 2 layers, ffn 512, dropout 0.1, FiLM, gated, clinical late) → Linear(512, 1); loss = BCE + dual alignment ' +
        '(temperature 0.07, vision anchor); Adam lr 1e-4. Forward = fuse + head on the batch (no tape); predict = one sample; train step = tf.variableGrads + the library AdamW (weight decay 0 = Adam; dropout on).',
      rows,
      reference: 'pytorch-1',
      ratios: [
        makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'train', { text: '≤ 2×', max: 2 }),
        makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'forward'),
        makeRatio(rows, 'ours-wasm / PyTorch 1 thread', 'ours-wasm', 'pytorch-1', 'predict'),
        makeRatio(rows, 'ours-wasm / PyTorch 2 threads', 'ours-wasm', 'pytorch-2', 'train'),
        makeRatio(rows, 'ours-wasm-2 (2 threads) / PyTorch 2 threads', 'ours-wasm-2', 'pytorch-2', 'train'),
        makeRatio(rows, 'ours-wasm / ours-wasm-2 (speed-up of 2 GEMM threads)', 'ours-wasm', 'ours-wasm-2', 'train'),
        makeRatio(rows, 'ours-cpu / ours-wasm', 'ours-cpu', 'ours-wasm', 'train'),
      ],
      profiles,
      notes,
      paired,
    };
  },
};
