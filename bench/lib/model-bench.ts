/**
 * Generic runner for "model" workloads (VDAFM, image encoders, the tri-modal model): times a
 * batch forward, a train step and a batch-1 prediction of one implementation on one backend,
 * records tensors and bytes per step, and turns a PyTorch peer's answer into rows.
 *
 * A workload supplies {@link ModelVariant}s (how to build each implementation) and a peer
 * command; everything else (timing, leak check, profile, peer parsing) lives here.
 *
 * @packageDocumentation
 */
import { disableThreads, enableThreads } from '../../src/node/threads.js';
import * as tf from '@tensorflow/tfjs-core';
import { PeerServer, runPeer, waitPolicyFree } from './peer.js';
import { peerRow } from './report.js';
import { medianInterval, summarize } from './stats.js';
import { maxRssBytes, profileStep, timeOnce, timeStep, useBackend } from './tfjs.js';
import type { BenchContext, PairedTrain, Profile, RepPlan, Row, Stats, StepMemory } from './types.js';

/** One implementation under test, built on the active backend. Every method returns a tensor the caller disposes. */
export interface ModelImpl {
  /** Batch forward pass in inference mode, no gradient tape. */
  forward(): tf.Tensor;
  /** One train step (loss forward + backward + optimizer update); returns the loss. */
  train(): tf.Tensor;
  /** One batch-1 prediction (per-patient inference latency). */
  predict?(): tf.Tensor;
  /** Frees weights, optimizer state and inputs. */
  dispose(): void;
}

/** Repetition plans per phase; null skips the phase. */
export interface PhasePlans {
  forward: RepPlan;
  train: RepPlan | null;
  predict: RepPlan | null;
}

/** A tfjs variant of a model workload (one row). */
export interface ModelVariant {
  id: string;
  label: string;
  backend: 'wasm' | 'cpu';
  kind: Row['kind'];
  make: () => ModelImpl;
  plans: PhasePlans;
  /** Profile one train step (kernels, tensors and peak bytes per step). @defaultValue backend === 'wasm' */
  profile?: boolean;
  /** Run one untimed step before timing each phase (slot creation, JIT). @defaultValue true */
  settle?: boolean;
  /** Threads for vdafm's GEMM (`enableThreads` from vdafm/node) while this variant runs (1: none). @defaultValue 1 */
  threads?: number;
  note?: string;
}

/** Whether variant `id` passes `--variants` (a trailing `*` matches a prefix). */
function isSelected(ctx: BenchContext, id: string): boolean {
  if (!ctx.variants) return true;
  return ctx.variants.some((p) => (p.endsWith('*') ? id.startsWith(p.slice(0, -1)) : id === p));
}

/** A row that was not measured (`skipped`, `not installed` or `failed`). */
export function emptyRow(v: { id: string; label: string; backend: string; kind: Row['kind']; threads?: number }, status: Row['status'], note: string): Row {
  return { id: v.id, label: v.label, backend: v.backend, threads: v.threads ?? 1, kind: v.kind, forward: null, train: null, predict: null, status, note };
}

/** Short reason of a failed train step, e.g. `no Conv2DBackpropFilter` for a kernel tfjs lacks. */
function failureReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const kernel = /'(\w+)' not registered/.exec(message) ?? /[Kk]ernel '?(\w+)'? (?:is )?not (?:registered|found)/.exec(message);
  if (kernel) return `no ${kernel[1]}`;
  const grad = /gradient (?:function )?(?:for|of) (?:op |kernel )?'?(\w+)'?/i.exec(message);
  if (grad) return `no gradient for ${grad[1]}`;
  return message.split('\n')[0]!.slice(0, 120);
}

/**
 * Builds and times one variant: forward, train step and batch-1 predict (each as planned),
 * then (wasm by default) profiles one train step (pushed to `profiles` when given). A train step
 * that throws gives a row with `trainError` (e.g. "no Conv2DBackpropFilter") instead of failing
 * the workload.
 */
export async function runModelVariant(v: ModelVariant, ctx: BenchContext, profiles?: Profile[]): Promise<Row> {
  if (!isSelected(ctx, v.id)) return emptyRow(v, 'skipped', 'not selected (--variants)');
  await useBackend(v.backend);
  const threads = v.threads ?? 1;
  // every row runs with the thread count it names (vdafm/node would otherwise start its default pool)
  if (threads > 1) await enableThreads({ threads });
  else await disableThreads();
  const startTensors = tf.memory().numTensors;
  const impl = v.make();
  const settle = v.settle ?? true;
  const row: Row = { id: v.id, label: v.label, backend: v.backend, threads, kind: v.kind, forward: null, train: null, predict: null, status: 'ok' };
  if (v.note) row.note = v.note;
  try {
    ctx.log(`  ${v.id}: forward`);
    row.forward = (await timeStep(() => impl.forward(), v.plans.forward, settle)).stats;
    if (v.plans.predict && impl.predict) {
      ctx.log(`  ${v.id}: predict (batch 1)`);
      const p = impl.predict.bind(impl);
      row.predict = (await timeStep(() => p(), v.plans.predict, settle)).stats;
    }
    if (v.plans.train) {
      ctx.log(`  ${v.id}: train step`);
      let memory: StepMemory | null = null;
      try {
        const r = await timeStep(() => impl.train(), v.plans.train, settle);
        row.train = r.stats;
        memory = r.memory;
      } catch (e) {
        row.trainError = failureReason(e);
        ctx.log(`  ${v.id}: train step fails: ${row.trainError}`);
      }
      if (memory && (v.profile ?? v.backend === 'wasm') && ctx.profile) {
        const prof = await profileStep(() => impl.train());
        memory.kernelsPerStep = prof.kernelsPerStep;
        memory.tensorsAllocatedPerStep = prof.tensorsAllocatedPerStep;
        memory.peakBytesInStep = prof.peakBytesInStep;
        profiles?.push({
          variant: v.id,
          phases: [
            { name: 'forward', ms: row.forward?.median ?? Number.NaN },
            { name: 'train step', ms: row.train?.median ?? Number.NaN },
          ],
          kernels: prof.kernels.slice(0, 20),
          byName: prof.byName.slice(0, 12),
          totalKernelMs: prof.totalKernelMs,
          wallMs: prof.wallMs,
        });
      }
      if (memory) row.memory = memory;
    }
  } catch (e) {
    row.status = 'failed';
    row.note = `${v.note ? `${v.note}; ` : ''}FAILED: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  } finally {
    impl.dispose();
    if (threads > 1) await disableThreads();
  }
  const left = tf.memory().numTensors - startTensors;
  if (left !== 0) row.note = `${row.note ? `${row.note}; ` : ''}${left} tensors still allocated after the variant was disposed (library-level caches or a leak outside the step; per-step growth is leak/step)`;
  row.maxRssBytes = maxRssBytes();
  return row;
}

/** Options of {@link runPeerRows}. */
export interface PeerOptions {
  /** Script path (absolute). */
  script: string;
  /** Extra arguments after the common ones. */
  args?: string[];
  threads: number[];
  warmup: number;
  reps: number;
  /** Batch-1 predictions to time (0 = none; the script must support `--predict-reps`). */
  predictReps: number;
  timeoutMs: number;
  /** Result filter for scripts answering several variants (e.g. `r.variant === 'late'`). */
  filter?: (r: Record<string, unknown>) => boolean;
}

/** Runs a PyTorch peer and returns its rows `pytorch-<threads>` (or `not installed` rows) and a note. */
export async function runPeerRows(ctx: BenchContext, o: PeerOptions): Promise<{ rows: Row[]; note: string | null }> {
  const base = (n: number) => ({ id: `pytorch-${n}`, label: 'PyTorch peer', backend: 'pytorch', kind: 'peer' as const, threads: n });
  if (!ctx.peer) return { rows: o.threads.map((n) => emptyRow(base(n), 'skipped', '--no-peer')), note: null };
  ctx.log(`  PyTorch peer ${o.script.split('/').pop()} (threads ${o.threads.join(',')})`);
  const args = (threads: number[]) => ['--threads', threads.join(','), '--warmup', String(o.warmup), '--reps', String(o.reps), ...(o.predictReps > 0 ? ['--predict-reps', String(o.predictReps)] : []), ...(o.args ?? [])];
  const answer = await runPeer(ctx.python, o.script, args(o.threads), o.timeoutMs);
  if (answer.status !== 'ok') {
    const status = answer.status === 'not installed' ? 'not installed' : 'failed';
    return { rows: o.threads.map((n) => emptyRow(base(n), status, answer.error.split('\n')[0]!)), note: `PyTorch peer ${status}: ${answer.error.split('\n')[0]}` };
  }
  const keep = (rs: typeof answer.results) => rs.filter((r) => !o.filter || o.filter(r as unknown as Record<string, unknown>));
  const results = keep(answer.results);
  // multi-thread counts again with OpenMP's default wait policy; the faster train step counts
  const multi = o.threads.filter((n) => n > 1);
  let spun: typeof answer.results = [];
  if (multi.length && waitPolicyFree()) {
    const again = await runPeer(ctx.python, o.script, args(multi), o.timeoutMs, 'default');
    if (again.status === 'ok') spun = keep(again.results);
  }
  const stats = (xs: number[] | undefined, warmup: number): Stats | null => (xs && xs.length ? summarize(xs, warmup) : null);
  const rows = o.threads.map((n) => {
    const passive = results.find((x) => x.threads === n);
    const other = spun.find((x) => x.threads === n);
    const median = (r: typeof passive) => (r?.train?.length ? summarize(r.train, r.train_warmup).median : Infinity);
    const r = other && median(other) < median(passive) ? other : passive;
    if (!r) return emptyRow(base(n), 'failed', `no result for ${n} threads`);
    const row: Row = {
      ...base(n),
      ...(r === other ? { label: 'PyTorch peer (OpenMP default wait policy: faster than passive here)' } : {}),
      policy: r === other ? 'default' : 'passive',
      forward: stats(r.forward, r.forward_warmup),
      train: stats(r.train, r.train_warmup),
      predict: stats(r.predict, r.forward_warmup),
      status: 'ok',
      maxRssBytes: r.max_rss_kb * 1024,
    };
    return row;
  });
  return { rows, note: `PyTorch ${answer.torch} (Python ${answer.python}), BLAS: ${answer.blas}${spun.length ? '; multi-thread steps timed with OMP_WAIT_POLICY=PASSIVE and with OpenMP\'s default, the faster kept' : ''}` };
}

/** Repetition plans of the usual wasm variant (few in `--quick`). */
export function wasmPlans(ctx: BenchContext, heavy = false): PhasePlans {
  if (ctx.quick) {
    return {
      forward: { warmup: 0, reps: 1 },
      train: { warmup: 0, reps: 1 },
      predict: { warmup: 0, reps: 3, minReps: 1, maxSeconds: 1 },
    };
  }
  return {
    forward: { warmup: 1, reps: heavy ? 7 : 15, minReps: 3, maxSeconds: heavy ? 15 : 10 },
    train: { warmup: 1, reps: heavy ? 7 : 15, minReps: 3, maxSeconds: heavy ? 30 : 15 },
    predict: { warmup: 2, reps: 30, minReps: 5, maxSeconds: 5 },
  };
}

/** Repetition plans of a cpu variant: few reps, no warm-up (the pure-JS backend is slow). */
export function cpuPlans(heavy = false): PhasePlans {
  return {
    forward: { warmup: 0, reps: heavy ? 1 : 3, minReps: 1, maxSeconds: 10 },
    train: { warmup: 0, reps: heavy ? 1 : 2, minReps: 1, maxSeconds: 20 },
    predict: { warmup: 0, reps: 3, minReps: 1, maxSeconds: 3 },
  };
}

/** Options of {@link runPairedTrain}. */
export interface PairedOptions {
  /** The library variant (built on wasm for each thread count). */
  make: () => ModelImpl;
  /** Peer script (absolute) answering `--serve` requests, and its arguments before `--serve`. */
  script: string;
  args?: string[];
  /** Timed rounds per thread count (each: two steps of each side, the second timed). */
  rounds: number;
  /** Untimed steps of each side first (PyTorch's first 2-thread steps are slow: oneDNN set-up). */
  warmup: number;
  /** Thread counts of vdafm. @defaultValue [1, 2] */
  threads?: Array<1 | 2>;
}

/**
 * Times vdafm's train step and the PyTorch peer's interleaved (see {@link PairedTrain}) at each
 * thread count. A round runs two steps of each side and times the second, so that each timed step
 * follows one of its own, as in training (with one step per round, the 3D encoder's PyTorch
 * 2-thread step took 92 ms, against 66 ms in its sequential row of the same run; with two, 62
 * against 59). PyTorch runs at 1 thread against 1; at 2 against PyTorch's faster sequential row
 * (`pytorch-2`, or `pytorch-1` when its 2-thread step was slower), with that row's OpenMP wait
 * policy. Needs the sequential rows in `rows`: returns [] without an `ours-wasm` row that ran, or
 * without the peer's (no peer, or it failed).
 */
export async function runPairedTrain(ctx: BenchContext, rows: Row[], o: PairedOptions): Promise<{ paired: PairedTrain[]; notes: string[] }> {
  const paired: PairedTrain[] = [];
  const notes: string[] = [];
  // only where the library's own row ran (not deselected by --variants, not failed)
  if (!ctx.peer || ctx.quick || rows.find((r) => r.id === 'ours-wasm')?.status !== 'ok') return { paired, notes };
  for (const threads of o.threads ?? ([1, 2] as const)) {
    const peer = peerRow({ rows }, threads);
    if (!peer?.train) continue;
    const policy = peer.policy ?? 'passive';
    const started = await PeerServer.start(ctx.python, o.script, o.args ?? [], policy);
    if (!started.server) {
      notes.push(`interleaved ${threads} thr: PyTorch peer ${started.info.status}: ${started.info.status === 'ok' ? '' : started.info.error.split('\n')[0]}`);
      continue;
    }
    const server = started.server;
    await useBackend('wasm');
    if (threads > 1) await enableThreads({ threads });
    else await disableThreads();
    const impl = o.make();
    try {
      ctx.log(`  interleaved train steps, ${threads} thr: vdafm × PyTorch ${peer.threads} thr (${policy}), ${o.rounds} rounds`);
      const ours = () => timeOnce(() => impl.train());
      for (let i = 0; i < o.warmup; i++) await ours();
      await server.time(peer.threads, 'train', o.warmup);
      // each side's timed step follows an untimed step of its own (its caches, and PyTorch's
      // OpenMP threads, as warm as in back-to-back training steps, not as the other side left them)
      const oursTimed = async (): Promise<number> => (await ours(), ours());
      const peerTimed = async (): Promise<number> => (await server.time(peer.threads, 'train', 2))[1]!;
      const a: number[] = [];
      const b: number[] = [];
      for (let r = 0; r < o.rounds; r++) {
        if (r % 2 === 0) {
          a.push(await oursTimed());
          b.push(await peerTimed());
        } else {
          b.push(await peerTimed());
          a.push(await oursTimed());
        }
      }
      const ratios = a.map((x, i) => x / b[i]!);
      const m = medianInterval(ratios, 0.95);
      paired.push({ threads, peerThreads: peer.threads, policy, ours: a, peer: b, ratios, median: m.median, lo: m.lo, hi: m.hi, level: m.coverage });
    } catch (e) {
      notes.push(`interleaved ${threads} thr failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    } finally {
      impl.dispose();
      server.close();
      if (threads > 1) await disableThreads();
    }
  }
  return { paired, notes };
}
