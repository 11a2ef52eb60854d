#!/usr/bin/env node
/**
 * The `vdafm` command: `vdafm demo [--quick] [--seed N] [--patients N] [--epochs N]
 * [--backend wasm|cpu] [--out DIR] [--only NAME[,NAME]]`, `vdafm study [options]` and
 * `vdafm study merge <folders…> --out DIR`.
 *
 * Slightly over the ~450-line guide: it is the one place that parses and documents every flag of
 * both commands (the usage text sits beside the parser it describes).
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { runCohortDemo } from './demo/cohort-demo.js';
import type { CohortSourceOptions } from './demo/cohort-source.js';
import { ABLATIONS, DEMO_SCENARIO, runDemo, type DemoOptions } from './demo/demo.js';
import { InvalidArgumentError, VdafmError } from './errors.js';
import { CohortValidationError, formatProblem } from './node/cohort/errors.js';
import { createOpenAICompatibleGenerator } from './text/openai-compatible.js';
import { ABLATION_SUITE } from './study/claims.js';
import { COHORT_PLAN_FORMAT, mergeCohortStudies, runCohortStudy } from './study/cohort/study.js';
import { planFormat } from './study/run-files.js';
import { runStudyJobs } from './study/jobs.js';
import { mergeStudies, runStudy, type StudyOptions } from './study/study.js';

/** The options of a cohort of your own, shared by `vdafm demo --cohort` and `vdafm study --cohort`. */
const COHORT_USAGE = `your own cohort (docs/guides/own-cohort.md):
  --cohort FILE        the manifest (.csv, .tsv, .jsonl): run on this cohort instead of the synthetic one
  --schema FILE        its schema (default: schema.json beside the manifest)
  --skip-invalid       go on without the invalid patients (default: stop before training and list every problem)
  --exclusions FILE    where the invalid patients and their reasons go (default with --skip-invalid: OUT/excluded.csv)
  --cache DIR          on-disk cache of preprocessed volumes (reused by later runs)
  --image-options FILE JSON of loadCohort's image options (layout, shape, slices, fov, fovMm, fovCentre,
                       intensity, skullStripped, ...); unset ones take the model's grid (2D [32, 32], 4 slices)
  --skull-stripped     the volumes are brain-extracted (intensity statistics over the brain only)
  --generator openai   write the reports of patients without one with an OpenAI-compatible server
  --base-url URL       its API root, e.g. http://127.0.0.1:11434/v1 (loopback only: images stay on this machine)
  --model NAME         its model, e.g. qwen2.5vl:7b
  --report-cache FILE  where generated reports are cached (default OUT/reports-cache.jsonl; a rerun
                       resumes; give the shards of a study one file so they read the same reports)
`;

const USAGE = `usage: vdafm demo [options]
       vdafm demo --cohort manifest.csv [options]
       vdafm study [options]                 (vdafm study --help)
       vdafm study merge <folders…> --out DIR

Generates the synthetic stroke cohort (or loads yours with --cohort), writes and caches its
reports, trains and evaluates the ablation suite, and writes metrics.json, report.md,
predictions.csv, ROC / calibration / training-curve plots, attention overlays and the trained
pipeline to the output folder.

options:
  --quick            small and fast (about 2 minutes on 2 cores)
  --seed N           seed of everything (default 7)
  --patients N       synthetic cohort size (default 300 with --quick, else 1000)
  --scenario NAME    the synthetic cohort's scenario: imbalance or additive (default ${DEMO_SCENARIO})
  --epochs N         epochs per model (default 4 with --quick, else 14)
  --backend NAME     wasm (default; falls back to cpu) or cpu
  --out DIR          output folder (default ./vdafm-demo)
  --only NAMES       comma-separated ablations to run, among:
                     ${ABLATIONS.map((a) => a.name).join('\n                     ')}

${COHORT_USAGE}`;

/** Selects the requested backend, falling back to cpu; returns the backend in use. */
export async function selectBackend(name: 'wasm' | 'cpu', log: (line: string) => void): Promise<string> {
  tf.enableProdMode();
  try {
    await import('@tensorflow/tfjs-backend-cpu');
  } catch {
    // the cpu backend may come from elsewhere
  }
  if (name === 'wasm') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch (error) {
      log(`wasm backend unavailable (${(error as Error).message}); install @tensorflow/tfjs-backend-wasm for a ~4× faster run. Using cpu.`);
    }
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('No tfjs backend available: install @tensorflow/tfjs-backend-wasm or @tensorflow/tfjs-backend-cpu.');
  await tf.ready();
  return tf.getBackend();
}

const STUDY_USAGE = `usage: vdafm study [options]
       vdafm study --cohort manifest.csv [options]
       vdafm study merge <folders…> --out DIR

Trains the pre-registered ablation suite over many seeds on the synthetic cohort's scenarios,
evaluates every model on one fixed test cohort per scenario, and judges the pre-registered
claims (docs/guides/study.md). Writes one file per finished cell (cells/*.json), then
study.json, study.md and the plots (forest, learning curve, regret per seed).

options:
  --quick              CI smoke run (2 seeds, reduced suite, 150 training / 500 test patients,
                       3 epochs; a few minutes); never used for verdicts
  --scenario NAME      imbalance, additive or all (default all)
  --seeds N            seeds per scenario of the main comparison (default: imbalance 10, additive 5)
  --only IDS           comma-separated ablation ids, among:
                       ${ABLATION_SUITE.map((a) => a.id).join(', ')}
  --curve WHICH        learning curve on: none, imbalance (default), additive or all
  --curve-sizes LIST   training sizes of the learning curve (default 600,1200,2400,4800)
  --curve-seeds N      seeds per learning-curve point (default 3)
  --jobs N             run as N child processes on this machine, one shard each (OUT/shards/i-of-N),
                       then merge them into --out; the machine's cores are shared among them
                       (VDAFM_THREADS). Resume a stopped run with --resume and the same N
  --shard I/N          run only shard I of N (cells only; join them with vdafm study merge)
  --resume             keep the finished cells found in --out and run the others
  --estimate           print the wall-time estimate and stop
  --no-estimate        skip the estimate (it probes a few training steps of each model)
  --backend NAME       wasm (default; falls back to cpu) or cpu
  --out DIR            output folder (default ./vdafm-study, ./vdafm-study-quick with --quick)

merge: joins study folders (e.g. one per shard) into --out and writes the reports; refuses
folders of different studies and conflicting copies of a cell.

study on your own cohort (--cohort): the same ablations without the oracle (it needs the true
latent features). With no true risk, models are evaluated by repeated stratified k-fold, or on
the manifest's test split when it names one; the outputs report each model over the folds and
the paired ΔAUC of the synthetic study's comparisons (mean, 95% t-interval, the corrected
resampled t-test, DeLong per fold). --quick, --only, --shard, --resume, --out and --backend
work as above (default --out ./vdafm-cohort-study); besides:
  --protocol NAME      auto (default: fixed-test when the manifest has test patients, else k-fold),
                       k-fold or fixed-test
  --folds N            folds of the k-fold protocol (default 5)
  --repeats N          repeats (default 2 for k-fold, 3 for the fixed test split)
  --seed N             seed of the folds, validation splits, models and trainers (default 7)

${COHORT_USAGE}`;

/** How a flag reads its value (`null`: a switch without value) and sets the options. */
type Flags<O> = Record<string, { value: boolean; apply: (options: O, value: string, flag: string) => void }>;

/** Parses flags by a table: returns the positional arguments, the backend and whether help was asked. @throws Error with a usage message. */
function parseFlags<O>(argv: string[], flags: Flags<O>, options: O): { positional: string[]; backend: 'wasm' | 'cpu'; help: boolean } {
  let backend: 'wasm' | 'cpu' = 'wasm';
  let help = false;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const flag = flags[a];
    if (a === '-h' || a === '--help') help = true;
    else if (a === '--backend') {
      const v = argv[++i];
      if (v !== 'wasm' && v !== 'cpu') throw new Error(`--backend must be wasm or cpu (got ${v ?? 'nothing'})`);
      backend = v;
    } else if (flag) {
      const v = flag.value ? argv[++i] : '';
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      flag.apply(options, v, a);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else positional.push(a);
  }
  return { positional, backend, help };
}

const number = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${flag} needs a number (got ${v})`);
  return n;
};
const count = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer (got ${v})`);
  return n;
};
const list = (v: string): string[] => v.split(',').map((x) => x.trim());
const oneOf = <T extends string>(flag: string, v: string, allowed: readonly T[]): T => {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`${flag} must be ${allowed.join(', ')} (got ${v})`);
  return v as T;
};
const switchFlag = <O>(apply: (o: O) => void) => ({ value: false, apply: (o: O) => apply(o) });
const valueFlag = <O>(apply: (o: O, v: string, flag: string) => void) => ({ value: true, apply });

/** The cohort options as parsed, before files are read and the generator is made. */
interface CohortFlags {
  cohort?: string;
  schema?: string;
  skipInvalid?: boolean;
  exclusions?: string;
  cache?: string;
  imageOptions?: string;
  skullStripped?: boolean;
  generator?: 'openai';
  baseUrl?: string;
  model?: string;
  reportCache?: string;
}

const COHORT_FLAGS: Flags<CohortFlags> = {
  '--cohort': valueFlag((o, v) => (o.cohort = v)),
  '--schema': valueFlag((o, v) => (o.schema = v)),
  '--skip-invalid': switchFlag((o) => (o.skipInvalid = true)),
  '--exclusions': valueFlag((o, v) => (o.exclusions = v)),
  '--cache': valueFlag((o, v) => (o.cache = v)),
  '--image-options': valueFlag((o, v) => (o.imageOptions = v)),
  '--skull-stripped': switchFlag((o) => (o.skullStripped = true)),
  '--generator': valueFlag((o, v, f) => (o.generator = oneOf(f, v, ['openai'] as const))),
  '--base-url': valueFlag((o, v) => (o.baseUrl = v)),
  '--model': valueFlag((o, v) => (o.model = v)),
  '--report-cache': valueFlag((o, v) => (o.reportCache = v)),
};

/** The flags of a cohort that need `--cohort`, and the generator's flags that need each other. @throws Error with a usage message. */
function checkCohortFlags(o: CohortFlags): void {
  const given = Object.keys(COHORT_FLAGS).filter((f) => f !== '--cohort' && o[flagKey(f)] !== undefined);
  if (!o.cohort && given.length > 0) throw new Error(`${given.join(', ')} need${given.length === 1 ? 's' : ''} --cohort`);
  if (o.generator && (!o.baseUrl || !o.model)) throw new Error('--generator openai needs --base-url and --model');
  if (!o.generator && (o.baseUrl || o.model || o.reportCache)) throw new Error('--base-url, --model and --report-cache need --generator openai');
}

/** Splits parsed options into the cohort flags and the job's own options. */
function withoutCohortFlags<O extends object>(options: O & CohortFlags): [CohortFlags, O] {
  const rest = { ...options } as Record<string, unknown>;
  const flags: Record<string, unknown> = {};
  for (const f of Object.keys(COHORT_FLAGS)) {
    const k = flagKey(f);
    if (k in rest) flags[k] = rest[k];
    delete rest[k];
  }
  return [flags as CohortFlags, rest as O];
}

/** `--skip-invalid` → `skipInvalid`. */
function flagKey(flag: string): keyof CohortFlags {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof CohortFlags;
}

/**
 * The cohort source of the parsed flags: the image options file read (and `--skull-stripped`),
 * the OpenAI-compatible generator made.
 *
 * @throws InvalidArgumentError (argument `--image-options`) for a file that is not a JSON object.
 */
function cohortSource(o: CohortFlags): CohortSourceOptions {
  let image: Record<string, unknown> = {};
  if (o.imageOptions) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(o.imageOptions, 'utf8'));
    } catch (error) {
      throw new InvalidArgumentError({ argument: '--image-options', message: `${o.imageOptions} cannot be read as JSON (${(error as Error).message}).`, received: o.imageOptions });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError({ argument: '--image-options', message: `${o.imageOptions} must hold a JSON object of image options.`, received: parsed });
    image = parsed as Record<string, unknown>;
  }
  if (o.skullStripped) image['skullStripped'] = true;
  return {
    manifest: o.cohort!,
    ...(o.schema ? { schema: o.schema } : {}),
    skipInvalid: o.skipInvalid ?? false,
    ...(o.exclusions ? { exclusions: o.exclusions } : {}),
    cache: o.cache ?? null,
    image,
    generator: o.generator ? createOpenAICompatibleGenerator({ baseURL: o.baseUrl!, model: o.model! }) : null,
    ...(o.reportCache ? { reportCache: o.reportCache } : {}),
  };
}

const DEMO_FLAGS: Flags<DemoOptions & CohortFlags> = {
  ...COHORT_FLAGS,
  '--quick': switchFlag((o) => (o.quick = true)),
  '--seed': valueFlag((o, v, f) => (o.seed = number(f, v))),
  '--patients': valueFlag((o, v, f) => (o.patients = number(f, v))),
  '--scenario': valueFlag((o, v, f) => (o.scenario = oneOf(f, v, ['imbalance', 'additive'] as const))),
  '--epochs': valueFlag((o, v, f) => (o.epochs = number(f, v))),
  '--out': valueFlag((o, v) => (o.out = v)),
  '--only': valueFlag((o, v) => (o.only = list(v))),
};

/** The study's options on your own cohort, as parsed. */
interface CohortStudyFlags extends CohortFlags {
  jobs?: number;
  protocol?: 'auto' | 'k-fold' | 'fixed-test';
  folds?: number;
  repeats?: number;
  seed?: number;
}

/** Flags of the synthetic study that a study on your cohort refuses, and the cohort's that the synthetic one refuses. */
const SYNTHETIC_ONLY = ['--scenario', '--seeds', '--curve', '--curve-sizes', '--curve-seeds', '--estimate', '--no-estimate'] as const;
const COHORT_STUDY_ONLY = ['--protocol', '--folds', '--repeats', '--seed'] as const;

const STUDY_FLAGS: Flags<StudyOptions & CohortStudyFlags> = {
  ...COHORT_FLAGS,
  '--protocol': valueFlag((o, v, f) => (o.protocol = oneOf(f, v, ['auto', 'k-fold', 'fixed-test'] as const))),
  '--folds': valueFlag((o, v, f) => (o.folds = count(f, v))),
  '--repeats': valueFlag((o, v, f) => (o.repeats = count(f, v))),
  '--seed': valueFlag((o, v, f) => (o.seed = number(f, v))),
  '--quick': switchFlag((o) => (o.quick = true)),
  '--resume': switchFlag((o) => (o.resume = true)),
  '--jobs': valueFlag((o, v, f) => (o.jobs = count(f, v))),
  '--estimate': switchFlag((o) => (o.estimate = 'only')),
  '--no-estimate': switchFlag((o) => (o.estimate = 'off')),
  '--scenario': valueFlag((o, v, f) => (o.scenario = oneOf(f, v, ['imbalance', 'additive', 'all'] as const))),
  '--curve': valueFlag((o, v, f) => (o.curve = oneOf(f, v, ['none', 'imbalance', 'additive', 'all'] as const))),
  '--seeds': valueFlag((o, v, f) => (o.seeds = count(f, v))),
  '--curve-seeds': valueFlag((o, v, f) => (o.curveSeeds = count(f, v))),
  '--curve-sizes': valueFlag((o, v, f) => (o.curveSizes = list(v).map((x) => count(f, x)))),
  '--only': valueFlag((o, v) => (o.only = list(v))),
  '--out': valueFlag((o, v) => (o.out = v)),
  '--shard': valueFlag((o, v, f) => {
    const m = /^(\d+)\/(\d+)$/.exec(v);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new Error(`${f} must be I/N with 1 ≤ I ≤ N (got ${v})`);
    o.shard = { index: Number(m[1]), count: Number(m[2]) };
  }),
};

/** Parses `vdafm study …` (after the word `study`). */
function parseStudy(argv: string[]): { merge: string[] | null; options: StudyOptions & CohortStudyFlags; backend: 'wasm' | 'cpu'; help: boolean } {
  const options: StudyOptions & CohortStudyFlags = {};
  const isMerge = argv[0] === 'merge';
  const rest = isMerge ? argv.slice(1) : argv;
  const { positional, backend, help } = parseFlags(rest, STUDY_FLAGS, options);
  if (!isMerge && positional.length > 0) throw new Error(`unknown argument ${positional[0]}`);
  checkCohortFlags(options);
  const refused = options.cohort ? SYNTHETIC_ONLY.filter((f) => rest.includes(f)) : COHORT_STUDY_ONLY.filter((f) => rest.includes(f));
  if (refused.length > 0) throw new Error(options.cohort ? `${refused.join(', ')}: options of the synthetic study, not of --cohort` : `${refused.join(', ')} need${refused.length === 1 ? 's' : ''} --cohort`);
  if (options.jobs !== undefined && options.jobs > 1 && (isMerge || options.shard)) throw new Error(`--jobs runs the shards itself: not with ${isMerge ? 'merge' : '--shard'}`);
  if (isMerge && !help) {
    if (positional.length === 0) throw new Error('study merge needs at least one study folder');
    if (!options.out) throw new Error('study merge needs --out DIR');
  }
  return { merge: isMerge ? positional : null, options, backend, help };
}

/** Runs `vdafm study …`; returns the exit code. */
async function studyMain(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseStudy>;
  try {
    parsed = parseStudy(argv);
  } catch (error) {
    process.stderr.write(`vdafm: ${(error as Error).message}\n\n${STUDY_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(STUDY_USAGE);
    return 0;
  }
  const command = `vdafm study ${argv.join(' ')}`.trim();
  const { merge } = parsed;
  const [flags, options] = withoutCohortFlags(parsed.options);
  if (merge) {
    const merger = merge.length > 0 && planFormat(merge[0]!) === COHORT_PLAN_FORMAT ? mergeCohortStudies : mergeStudies;
    return onBackend(parsed.backend, () => merger(merge, { out: options.out!, command }));
  }
  const jobs = parsed.options.jobs ?? 1;
  if (jobs > 1) return studyJobs(argv, jobs, parsed, command);
  if (flags.cohort) return onBackend(parsed.backend, () => runCohortStudy({ ...options, cohort: cohortSource(flags), command }));
  return onBackend(parsed.backend, () => runStudy({ ...options, command }));
}

/** The study's arguments without `--jobs N` and `--out DIR` (the jobs set their own). */
function argsForJobs(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--jobs' || argv[i] === '--out') i++;
    else if (argv[i] !== '--no-estimate' && argv[i] !== '--estimate') args.push(argv[i]!);
  }
  return args;
}

/**
 * `vdafm study --jobs N`: the wall-time estimate in this process (unless --no-estimate or --quick;
 * `--estimate` stops there), then N child processes of one shard each, merged into --out.
 */
async function studyJobs(argv: string[], jobs: number, parsed: ReturnType<typeof parseStudy>, command: string): Promise<number> {
  const started = Date.now();
  const [flags, options] = withoutCohortFlags(parsed.options);
  const out = options.out ?? (flags.cohort ? './vdafm-cohort-study' : options.quick ? './vdafm-study-quick' : './vdafm-study');
  const estimate = options.estimate ?? 'auto';
  if (!flags.cohort && !options.quick && estimate !== 'off') {
    const code = await onBackend(parsed.backend, async () => {
      const r = await runStudy({ ...options, jobs: undefined, out, estimate: 'only', resume: true, command } as StudyOptions);
      if (r.estimate) process.stderr.write(`estimate with --jobs ${jobs}: ≈ ${(r.estimate.likelySeconds / 60 / Math.min(jobs, availableParallelism())).toFixed(0)} min if the machine has ${jobs} free cores\n`);
    });
    if (code !== 0 || estimate === 'only') return code;
  }
  return onBackend(parsed.backend, async () => {
    const dirs = await runStudyJobs({ jobs, args: argsForJobs(argv), out });
    const merger = planFormat(dirs[0]!) === COHORT_PLAN_FORMAT ? mergeCohortStudies : mergeStudies;
    await merger(dirs, { out, command, started });
  });
}

/** Selects the backend and runs a job: exit code 0, or 1 with the message of a vdafm error (others propagate). */
async function onBackend(backend: 'wasm' | 'cpu', job: () => Promise<unknown>): Promise<number> {
  try {
    await selectBackend(backend, (l) => process.stderr.write(`${l}\n`));
    await job();
    return 0;
  } catch (error) {
    if (CohortValidationError.isInstance(error)) {
      // the full list (the message shows the first 20), before anything was trained
      const rows = new Set(error.problems.map((p) => p.row)).size;
      process.stderr.write(
        `vdafm: CohortValidationError: ${error.manifest}: ${rows} invalid patient(s), ${error.problems.length} problem(s); nothing was trained.\n` +
          `${error.problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}\n` +
          'Fix these rows or files, or pass --skip-invalid to go on without those patients (they are written, with their reasons, to --exclusions FILE, default OUT/excluded.csv).\n',
      );
      return 1;
    }
    if (VdafmError.isInstance(error)) {
      process.stderr.write(`vdafm: ${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function parse(argv: string[]): { command: string | null; options: DemoOptions & CohortFlags; backend: 'wasm' | 'cpu' } {
  const options: DemoOptions & CohortFlags = {};
  const { positional, backend, help } = parseFlags(argv, DEMO_FLAGS, options);
  checkCohortFlags(options);
  if (options.cohort && options.patients !== undefined) throw new Error('--patients is for the synthetic cohort; --cohort takes every valid patient of the manifest');
  if (options.cohort && options.scenario !== undefined) throw new Error('--scenario is for the synthetic cohort, not --cohort');
  return { command: help ? 'help' : (positional[0] ?? null), options, backend };
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'study') return studyMain(argv.slice(1));
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`vdafm: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.command !== 'demo') {
    process.stdout.write(USAGE);
    return parsed.command === 'help' || parsed.command === null ? 0 : 2;
  }
  const [flags, options] = withoutCohortFlags(parsed.options);
  if (flags.cohort) return onBackend(parsed.backend, () => runCohortDemo({ ...options, cohort: cohortSource(flags) }));
  return onBackend(parsed.backend, () => runDemo(options));
}

const invoked = process.argv[1] ?? '';
if (/cli\.(c?js|ts)$/.test(invoked) || invoked.endsWith('/vdafm')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
