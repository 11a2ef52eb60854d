/**
 * Shared types of the vdafm benchmark suite: what a workload is, what it measures and how a
 * result is reported. A workload is a module in `bench/workloads/` that exports `workload`.
 *
 * @packageDocumentation
 */

/** Summary statistics of one timed series, in milliseconds. */
export interface Stats {
  /** Median of the timed repetitions. */
  median: number;
  /** First quartile (linear interpolation, as numpy's default). */
  q1: number;
  /** Third quartile. */
  q3: number;
  /** Interquartile range `q3 − q1`. */
  iqr: number;
  min: number;
  max: number;
  /** Every timed repetition, in order. */
  samples: number[];
  /** Warm-up runs executed before the timed ones (not in `samples`). */
  warmup: number;
}

/** How many runs to time; the run stops early once `maxSeconds` is spent and `minReps` are done. */
export interface RepPlan {
  warmup: number;
  reps: number;
  /** At least this many timed runs even over budget. @defaultValue 1 */
  minReps?: number;
  /** Soft time budget for the timed runs, in seconds. @defaultValue Infinity */
  maxSeconds?: number;
}

/** Memory observed around one step of a tfjs variant. */
export interface StepMemory {
  /** `tf.memory().numTensors` after a step (weights + optimizer state + anything leaked). */
  residentTensors: number;
  /** `tf.memory().numBytes` after a step. */
  residentBytes: number;
  /**
   * Tensors left behind per step (should be 0), averaged over the timed steps; null when the
   * first step was timed too (it creates the optimizer's slots, which are not a leak).
   */
  leakedTensorsPerStep: number | null;
  /** Kernels executed in one step (from `tf.profile`). */
  kernelsPerStep?: number;
  /** Tensors allocated during one step, freed or not (sum of `tensorsAdded` > 0 per kernel). */
  tensorsAllocatedPerStep?: number;
  /** Peak `tf.memory().numBytes` during one step (from `tf.profile`). */
  peakBytesInStep?: number;
}

/** Status of a variant: measured, deliberately skipped, unavailable peer, or crashed. */
type RowStatus = 'ok' | 'skipped' | 'not installed' | 'failed';

/** One variant of a workload (one line of the table). */
export interface Row {
  /** Stable id used in ratios and JSON, e.g. `ours-wasm`. */
  id: string;
  /** Human label, e.g. `ours (vdafm ops)`. */
  label: string;
  /** `wasm`, `cpu`, `pytorch`, ... */
  backend: string;
  threads: number;
  /** `library`, `stock`, `peer` or `experiment`. */
  kind: 'library' | 'stock' | 'peer' | 'experiment';
  forward: Stats | null;
  train: Stats | null;
  /** Per-patient inference latency: one batch-1 prediction (absent where not measured). */
  predict?: Stats | null;
  /** Why the train step cannot run at all (e.g. a missing gradient kernel); the cell shows `fails: …`. */
  trainError?: string;
  status: RowStatus;
  /** Why a row was skipped / failed, or what an experiment changes. */
  note?: string;
  memory?: StepMemory;
  /** `process.resourceUsage().maxRSS` (bytes) right after the variant: a cumulative peak. */
  maxRssBytes?: number;
  /** Row id the "× ref" columns divide by for this row (overrides the workload's `reference`). */
  refId?: string;
  /** Largest |difference| of the output against the library variant on the same weights (experiments). */
  maxAbsDiff?: number;
  /** Peer rows: the OpenMP wait policy the row was timed with (the faster one at 2 threads). */
  policy?: 'passive' | 'default';
}

/**
 * Train steps of vdafm and of the PyTorch peer timed *interleaved*: round r times one step of
 * each, alternating which goes first, so that load from other processes and the machine's drift
 * hit both sides alike. The ratio is taken per round (ours ÷ PyTorch on the same round), and its
 * median carries a distribution-free interval (order statistics of the per-round ratios).
 */
export interface PairedTrain {
  /** vdafm's threads. */
  threads: number;
  /** PyTorch's threads (at 2: its faster thread count in the sequential rows, as the summary's ratio). */
  peerThreads: number;
  /** OpenMP wait policy of the peer process. */
  policy: 'passive' | 'default';
  /** Per-round train-step times, ms (warm-up rounds excluded). */
  ours: number[];
  peer: number[];
  /** Per-round ratio ours ÷ PyTorch. */
  ratios: number[];
  /** Median of `ratios` and its interval [lo, hi] at confidence `level` (the exact coverage of the order statistics). */
  median: number;
  lo: number;
  hi: number;
  level: number;
}

/** The timed phases of a row: batch forward, train step, batch-1 prediction. */
export type Phase = 'forward' | 'train' | 'predict';

/** A ratio of two rows' medians (e.g. ours-wasm / pytorch-1). */
export interface Ratio {
  label: string;
  numerator: string;
  denominator: string;
  phase: Phase;
  /** null when either side is missing. */
  value: number | null;
  /** Optional goal, e.g. `≤ 2`. */
  target?: string;
  /** Whether `value` meets `target` (absent without target or value). */
  met?: boolean;
}

/** One profiled kernel group. */
export interface KernelTime {
  name: string;
  calls: number;
  ms: number;
  share: number;
}

/** Where the time of one step goes. */
export interface Profile {
  variant: string;
  /** Sub-step timings, e.g. forward / forward+backward / optimizer, in ms (medians). */
  phases: Array<{ name: string; ms: number }>;
  /** Kernel time per kernel name and input shapes, largest first (the top groups only). */
  kernels: KernelTime[];
  /** Kernel time per kernel name, largest first. */
  byName: KernelTime[];
  /** Sum of all kernel times in the profiled step (ms). */
  totalKernelMs: number;
  /** Wall time of the profiled step (ms), overheads included. */
  wallMs: number;
}

/** Everything a workload reports. */
export interface WorkloadResult {
  name: string;
  title: string;
  /** Architecture, shapes and loss, in one paragraph. */
  description: string;
  rows: Row[];
  /** Row id that the "× ref" columns divide by (e.g. `pytorch-1`); absent or missing row: no column values. */
  reference?: string;
  ratios: Ratio[];
  profiles: Profile[];
  notes: string[];
  /** Pass/fail checks that are not ratios (e.g. "tensors per step flat over 1000 steps"). */
  checks?: Check[];
  /** Interleaved train steps against the peer, per thread count (the summary's ratio where present). */
  paired?: PairedTrain[];
}

/** A pass/fail check of a workload, shown with the ratios and in the run summary. */
export interface Check {
  label: string;
  /** What was measured, as text (e.g. `+0 tensors after 1000 steps`). */
  value: string;
  target: string;
  met: boolean;
}

/** Run-wide settings handed to each workload. */
export interface BenchContext {
  /** Smoke run: few reps, slow variants skipped (CI). */
  quick: boolean;
  /** Run the PyTorch peer. */
  peer: boolean;
  /** Python interpreter for the peer. */
  python: string;
  /** Run the experimental formulations. */
  experiments: boolean;
  /** Run the profiler on the library variant. */
  profile: boolean;
  /** Only these variant ids (a trailing `*` matches a prefix); null = all. */
  variants: string[] | null;
  /** Progress log (stderr). */
  log: (message: string) => void;
}

/** A registered benchmark workload (`export const workload: Workload` in `bench/workloads/*.ts`). */
export interface Workload {
  /** Short id for `--only`, e.g. `attention`. */
  name: string;
  title: string;
  /** Sort key in the report (smaller first). @defaultValue 100 */
  order?: number;
  run(ctx: BenchContext): Promise<WorkloadResult>;
}
