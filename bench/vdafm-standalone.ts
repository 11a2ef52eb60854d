/**
 * Standalone benchmark of vdafm's VDAFM fusion layer against its PyTorch peer
 * (bench/peer/vdafm_bench.py, module bench/peer/vdafm.py), run in the same script.
 *
 * Workload (identical on both sides):
 *   visual `[16, 49, 256]`, text `[16, 64, 256]` + text mask (lengths 64, 60, …, 36; sample 5 has
 *   no report), VDAFM(dim 256, 8 heads, 2 layers, ffnDim 512, embedDim 256, dropout 0.1, FiLM,
 *   gated fusion), clinical 'none'; variant 'late': 12 clinical tokens of width 64, ~80 % valid.
 *   loss = BCE(Linear(headInput), labels) + dualSemanticAlignmentLoss(temperature 0.07,
 *   visionAnchor on); Adam(lr 1e-4).
 *   forward = `fuse` with training off, no tape; train step = optimizer.minimize of the loss
 *   (training on: dropout active).
 *
 * Backends: tfjs-backend-wasm (one thread: tfjs never starts wasm threads in Node) and the pure-JS
 * cpu backend (few reps: it is slow). The peer runs with `torch.set_num_threads(1)`. Ratios are
 * tfjs-wasm (1 thread) over PyTorch (1 thread), measured in this run.
 * With `--profile`, one train step per backend is profiled with tf.profile and its kernel time
 * split into forward, backward and optimizer, grouped by kernel (wasm only: cpu is too slow).
 *
 * Run: `node --import tsx bench/vdafm-standalone.ts [--variants none,late] [--backends wasm,cpu]
 *   [--reps 7] [--cpu-reps 2] [--peer-reps 10] [--profile] [--json out.json]`
 *
 * @packageDocumentation
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { dualSemanticAlignmentLoss, lateInteractionSimilarity } from '../src/losses/alignment.js';
import { dense, l2Normalize, matMul } from '../src/core/ops.js';
import { type VDAFM, vdafm } from '../src/fusion/vdafm.js';

const B = 16;
const NV = 49;
const NT = 64;
const NC = 12;
const D = 256;
const DC = 64;
const HEADS = 8;
const LAYERS = 2;
type Variant = 'none' | 'late';
type Backend = 'wasm' | 'cpu';

interface Options {
  variants: Variant[];
  backends: Backend[];
  reps: number;
  cpuReps: number;
  peerReps: number;
  warmup: number;
  profile: boolean;
  json: string | null;
  python: string;
}

function parseOptions(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = <T extends string>(name: string, fallback: string, allowed: readonly T[]): T[] => {
    const values = (get(name) ?? fallback).split(',').filter(Boolean);
    for (const v of values) if (!allowed.includes(v as T)) throw new Error(`--${name}: unknown value ${v} (allowed: ${allowed.join(', ')})`);
    return values as T[];
  };
  return {
    variants: list('variants', 'none,late', ['none', 'late'] as const),
    backends: list('backends', 'wasm,cpu', ['wasm', 'cpu'] as const),
    reps: Number(get('reps') ?? 7),
    cpuReps: Number(get('cpu-reps') ?? 2),
    peerReps: Number(get('peer-reps') ?? 10),
    warmup: Number(get('warmup') ?? 2),
    profile: argv.includes('--profile'),
    json: get('json') ?? null,
    python: process.env['PYTHON'] ?? '/usr/bin/python3',
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The workload's tensors (same masks as bench/peer/vdafm_bench.py; values from tfjs's seeded RNG). */
function makeInputs(variant: Variant): { inputs: tf.Tensor[]; labels: tf.Tensor2D } {
  const textMask = tf.tensor2d(
    Array.from({ length: B }, (_, b) => {
      const n = b === 5 ? 0 : NT - 4 * (b % 8);
      return Array.from({ length: NT }, (_, i) => (i < n ? 1 : 0));
    }),
  );
  const inputs: tf.Tensor[] = [tf.randomNormal([B, NV, D], 0, 1, 'float32', 1), tf.randomNormal([B, NT, D], 0, 1, 'float32', 2), textMask];
  if (variant === 'late') {
    inputs.push(tf.randomNormal([B, NC, DC], 0, 1, 'float32', 3), tf.cast(tf.less(tf.randomUniform([B, NC], 0, 1, 'float32', 4), 0.8), 'float32'));
  }
  const labels = tf.tensor2d(Array.from({ length: B }, (_, b) => [b % 3 === 0 ? 1 : 0]));
  return { inputs, labels };
}

/** Layer, head, optimizer and the step functions of one backend × variant. */
function makeWorkload(variant: Variant) {
  const { inputs, labels } = makeInputs(variant);
  const layer: VDAFM = vdafm({ dim: D, numHeads: HEADS, numLayers: LAYERS, dropout: 0.1, conditioning: 'film', fusion: 'gated', clinical: variant, seed: 11 });
  tf.dispose(layer.apply(inputs) as tf.Tensor[]);
  const headIn = layer.headInputDim;
  const headKernel = tf.variable(tf.randomUniform([headIn, 1], -0.05, 0.05, 'float32', 5), true, `bench_vdafm_head_k_${variant}_${tf.getBackend()}`);
  const headBias = tf.variable(tf.zeros([1]), true, `bench_vdafm_head_b_${variant}_${tf.getBackend()}`);
  const variables = [...layer.trainableWeights.map((w) => w.read() as tf.Variable), headKernel, headBias];
  const optimizer = tf.train.adam(1e-4);

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
  const forward = (): tf.Tensor => {
    const out = layer.fuse(inputs);
    const head = tf.clone(out.headInput);
    tf.dispose(Object.values(out).flat());
    return head;
  };
  const train = (): tf.Tensor => optimizer.minimize(loss, true, variables)!;
  const dispose = () => {
    tf.dispose([...inputs, labels, headKernel, headBias]);
    optimizer.dispose();
    layer.dispose();
  };
  return { forward, train, loss, variables, optimizer, dispose };
}

async function timeSeries(step: () => tf.Tensor, warmup: number, reps: number): Promise<{ samples: number[]; leaked: number; lastValue: number }> {
  let lastValue = Number.NaN;
  const run = async () => {
    const t = step();
    lastValue = (await t.data())[0]!;
    t.dispose();
  };
  for (let i = 0; i < warmup; i++) await run();
  const before = tf.memory().numTensors;
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return { samples, leaked: (tf.memory().numTensors - before) / Math.max(reps, 1), lastValue };
}

interface KernelGroup {
  kernel: string;
  ms: number;
  count: number;
}

/** Profiles one train step: kernel time split into forward, backward and optimizer, by kernel. */
interface ProfiledKernel {
  name: string;
  ms: number;
  shapes: string;
}

/** Copies a profile's kernels (tf.profile returns one shared object that the next call overwrites). */
function kernelsOf(info: Awaited<ReturnType<typeof tf.profile>>): ProfiledKernel[] {
  return info.kernels.map((k) => ({
    name: k.name,
    // 'unnamed scope' is a tf.customGrad wrapper: its inner kernels are listed too, so it counts 0
    ms: typeof k.kernelTimeMs === 'number' && k.name !== 'unnamed scope' ? k.kernelTimeMs : 0,
    shapes: `${JSON.stringify(k.inputShapes)}`,
  }));
}

/** Profiles one train step: kernel time split into forward, backward and optimizer, by kernel. */
async function profileTrain(w: ReturnType<typeof makeWorkload>) {
  // the forward pass runs the same kernels in the same order as the first part of the gradient call
  const fwdInfo = await tf.profile(() => w.loss());
  tf.dispose(fwdInfo.result as tf.Tensor);
  const fwd = kernelsOf(fwdInfo);
  let grads: tf.NamedTensorMap = {};
  let value: tf.Scalar | null = null;
  const t0 = performance.now();
  const gradInfo = await tf.profile(() => {
    const r = tf.variableGrads(w.loss, w.variables);
    grads = r.grads;
    value = r.value;
    return [r.value, ...Object.values(r.grads)];
  });
  const gradWall = performance.now() - t0;
  const gradKernels = kernelsOf(gradInfo);
  const t1 = performance.now();
  const optInfo = await tf.profile(() => w.optimizer.applyGradients(grads as Parameters<typeof w.optimizer.applyGradients>[0]));
  const optWall = performance.now() - t1;
  const optKernels = kernelsOf(optInfo);
  tf.dispose([value!, ...Object.values(grads)]);
  const sum = (ks: ProfiledKernel[]) => ks.reduce((a, k) => a + k.ms, 0);
  const group = (ks: ProfiledKernel[], withShapes = false): KernelGroup[] => {
    const m = new Map<string, KernelGroup>();
    for (const k of ks) {
      const key = withShapes ? `${k.name}${k.shapes}` : k.name;
      const g = m.get(key) ?? { kernel: key, ms: 0, count: 0 };
      g.ms += k.ms;
      g.count++;
      m.set(key, g);
    }
    return [...m.values()].sort((a, b) => b.ms - a.ms);
  };
  const forwardKernels = gradKernels.slice(0, fwd.length);
  const backwardKernels = gradKernels.slice(fwd.length);
  return {
    forwardKernelMs: sum(forwardKernels),
    backwardKernelMs: sum(backwardKernels),
    optimizerKernelMs: sum(optKernels),
    gradWallMs: gradWall,
    optimizerWallMs: optWall,
    forwardKernelCount: forwardKernels.length,
    backwardKernelCount: backwardKernels.length,
    optimizerKernelCount: optKernels.length,
    forwardTop: group(forwardKernels).slice(0, 10),
    backwardTop: group(backwardKernels).slice(0, 14),
    optimizerTop: group(optKernels).slice(0, 5),
    forwardTopShapes: group(forwardKernels, true).slice(0, 8),
    backwardTopShapes: group(backwardKernels, true).slice(0, 12),
  };
}

/**
 * Experiment (not in src/): the token-level max of the fine-grained similarity with a gradient
 * routed through argMax + oneHot instead of tfjs's stock Max gradient (an Equal on the
 * broadcast `[B, Nt, B, Nv]` tensor, slow on wasm). Same values when the max is unique.
 */
const maxLastFastGrad = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const n = x.shape[x.rank - 1]!;
  const flat = tf.reshape(x, [-1, n]);
  const arg = tf.argMax(flat, 1);
  save([arg]);
  return {
    value: tf.reshape(tf.max(flat, 1), x.shape.slice(0, -1)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      // int32 then cast: tf.oneHot(…, 'float32') returns int32 bit patterns on tfjs-backend-wasm 4.22
      const oneHot = tf.cast(tf.oneHot(saved[0] as tf.Tensor1D, n), 'float32');
      return tf.reshape(tf.mul(oneHot, tf.reshape(dy, [-1, 1])), x.shape);
    },
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

function similarityFastMax(visualTokens: tf.Tensor3D, textTokens: tf.Tensor3D, textMask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, nv, d] = visualTokens.shape;
    const nt = textTokens.shape[1];
    const v = tf.reshape(l2Normalize(visualTokens), [b * nv, d]) as tf.Tensor2D;
    const t = tf.reshape(l2Normalize(textTokens), [b * nt, d]) as tf.Tensor2D;
    const cos = tf.reshape(matMul(t, tf.transpose(v) as tf.Tensor2D), [b, nt, b, nv]);
    const best = maxLastFastGrad(cos);
    const m = tf.expandDims(tf.cast(textMask, 'float32'), -1);
    return tf.transpose(tf.div(tf.sum(tf.mul(best, m), 1), tf.maximum(tf.sum(m, 1), 1))) as tf.Tensor2D;
  });
}

/** Times the gradient of the fine-grained similarity (w.r.t. the text tokens) with both max gradients. */
async function maxGradExperiment(reps: number) {
  const v = tf.randomNormal([B, NV, D], 0, 1, 'float32', 8) as tf.Tensor3D;
  const t = tf.randomNormal([B, NT, D], 0, 1, 'float32', 9) as tf.Tensor3D;
  const { inputs } = makeInputs('none');
  const mask = inputs[2] as tf.Tensor2D;
  const r = tf.randomNormal([B, B], 0, 1, 'float32', 10);
  const gradOf = (sim: typeof lateInteractionSimilarity) => () => tf.grads((tt: tf.Tensor) => tf.sum(tf.mul(sim(v, tt as tf.Tensor3D, mask), r)))([t])[0]!;
  const stock = await timeSeries(gradOf(lateInteractionSimilarity), 1, reps);
  const fast = await timeSeries(gradOf(similarityFastMax), 1, reps);
  const a = gradOf(lateInteractionSimilarity)();
  const b = gradOf(similarityFastMax)();
  const maxDiff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
  tf.dispose([v, t, r, a, b, ...inputs]);
  return { stockMs: median(stock.samples), fastMs: median(fast.samples), maxGradDiff: maxDiff };
}

interface PeerResult {
  variant: string;
  threads: number;
  forward: number[];
  train: number[];
  loss: number;
}

function runPeer(o: Options): { status: string; torch?: string; blas?: string; results?: PeerResult[]; error?: string } {
  const script = fileURLToPath(new URL('./peer/vdafm_bench.py', import.meta.url));
  const r = spawnSync(o.python, [script, '--threads', '1', '--variant', o.variants.join(','), '--reps', String(o.peerReps)], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.error || r.status !== 0) return { status: 'failed', error: String(r.error ?? r.stderr) };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as ReturnType<typeof runPeer>;
  } catch (e) {
    return { status: 'failed', error: `unparsable peer output: ${String(e)}` };
  }
}

async function useBackend(backend: Backend): Promise<void> {
  if (backend === 'wasm') setThreadsCount(1);
  const ok = await tf.setBackend(backend);
  await tf.ready();
  if (!ok || tf.getBackend() !== backend) throw new Error(`backend ${backend} could not be activated`);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  tf.enableProdMode();
  // The peer runs before and after the tfjs series and its samples are pooled, so that a load
  // change on a shared machine affects both sides alike.
  const peerRun = () => {
    process.stderr.write(`PyTorch peer (1 thread, ${o.peerReps} reps)…\n`);
    const r = runPeer(o);
    if (r.status !== 'ok') process.stderr.write(`peer: ${r.status} ${r.error ?? ''}\n`);
    return r;
  };
  const peerBefore = peerRun();
  const measured: Array<Record<string, unknown>> = [];
  const profiles: Record<string, unknown> = {};
  for (const variant of o.variants) {
    for (const backend of o.backends) {
      await useBackend(backend);
      const reps = backend === 'cpu' ? o.cpuReps : o.reps;
      const warmup = backend === 'cpu' ? 1 : o.warmup;
      process.stderr.write(`${variant} / tfjs-${backend}: ${reps} reps…\n`);
      const w = makeWorkload(variant);
      const fwd = await timeSeries(w.forward, warmup, reps);
      const trn = await timeSeries(w.train, warmup, reps);
      measured.push({
        variant,
        impl: `tfjs-${backend} 1 thr`,
        forwardMs: median(fwd.samples),
        trainMs: median(trn.samples),
        forwardMinMs: Math.min(...fwd.samples),
        trainMinMs: Math.min(...trn.samples),
        loss: trn.lastValue,
        leakedPerStep: Math.max(fwd.leaked, trn.leaked),
        samples: { forward: fwd.samples, train: trn.samples },
      });
      if (o.profile && backend === 'wasm') profiles[`${variant}/${backend}`] = await profileTrain(w);
      w.dispose();
    }
  }
  let experiment: Awaited<ReturnType<typeof maxGradExperiment>> | null = null;
  if (o.profile && o.backends.includes('wasm')) {
    await useBackend('wasm');
    experiment = await maxGradExperiment(o.reps);
  }
  const peerAfter = peerRun();
  const peer = peerBefore.status === 'ok' ? peerBefore : peerAfter;
  const rows: Array<Record<string, unknown>> = [];
  for (const variant of o.variants) {
    const pooled = [peerBefore, peerAfter].flatMap((r) => r.results?.filter((x) => x.variant === variant && x.threads === 1) ?? []);
    const pf = pooled.flatMap((x) => x.forward);
    const pt = pooled.flatMap((x) => x.train);
    const peerFwd = median(pf);
    const peerTrain = median(pt);
    rows.push({
      variant,
      impl: 'pytorch 1 thr',
      forwardMs: peerFwd,
      trainMs: peerTrain,
      forwardMinMs: Math.min(...pf),
      trainMinMs: Math.min(...pt),
      fwdRatio: 1,
      trainRatio: 1,
      loss: pooled[0]?.loss,
    });
    for (const m of measured.filter((x) => x['variant'] === variant)) {
      rows.push({ ...m, fwdRatio: (m['forwardMs'] as number) / peerFwd, trainRatio: (m['trainMs'] as number) / peerTrain });
    }
  }
  const fmt = (x: unknown, digits = 0) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–');
  const lines = [
    `VDAFM B${B}, ${NV} visual × ${NT} text tokens, width ${D}, ${HEADS} heads, ${LAYERS} layers (torch ${peer.torch ?? '?'})`,
    'medians (min in brackets); ratios are medians over the PyTorch medians',
    '| clinical | implementation | forward ms | train step ms | fwd / torch | train / torch | loss |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${String(r['variant'])} | ${String(r['impl'])} | ${fmt(r['forwardMs'])} (${fmt(r['forwardMinMs'])}) | ${fmt(r['trainMs'])} (${fmt(r['trainMinMs'])}) | ${fmt(r['fwdRatio'], 2)} | ${fmt(r['trainRatio'], 2)} | ${fmt(r['loss'], 3)} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  for (const [key, prof] of Object.entries(profiles)) {
    const pr = prof as Awaited<ReturnType<typeof profileTrain>>;
    process.stdout.write(
      `\nprofile ${key}: kernel ms forward ${fmt(pr.forwardKernelMs)} (${pr.forwardKernelCount} kernels), backward ${fmt(pr.backwardKernelMs)} (${pr.backwardKernelCount}), optimizer ${fmt(pr.optimizerKernelMs)} (${pr.optimizerKernelCount}); wall grads ${fmt(pr.gradWallMs)}, apply ${fmt(pr.optimizerWallMs)}\n` +
        `  forward top:  ${pr.forwardTop.map((g) => `${g.kernel} ${fmt(g.ms)}×${g.count}`).join(', ')}\n` +
        `  backward top: ${pr.backwardTop.map((g) => `${g.kernel} ${fmt(g.ms)}×${g.count}`).join(', ')}\n` +
        `  optimizer:    ${pr.optimizerTop.map((g) => `${g.kernel} ${fmt(g.ms)}×${g.count}`).join(', ')}\n` +
        `  forward by shape:  ${pr.forwardTopShapes.map((g) => `${g.kernel} ${fmt(g.ms)}×${g.count}`).join('; ')}\n` +
        `  backward by shape: ${pr.backwardTopShapes.map((g) => `${g.kernel} ${fmt(g.ms)}×${g.count}`).join('; ')}\n`,
    );
  }
  if (experiment) {
    process.stdout.write(
      `\nexperiment (wasm): gradient of the fine-grained similarity w.r.t. the text tokens: stock tf.max gradient ${fmt(experiment.stockMs, 1)} ms, argMax/oneHot gradient ${fmt(experiment.fastMs, 1)} ms (max |Δgrad| ${experiment.maxGradDiff.toExponential(1)})\n`,
    );
  }
  if (o.json) writeFileSync(o.json, JSON.stringify({ peer: { before: peerBefore, after: peerAfter }, rows, profiles, experiment }, null, 1));
}

await main();
