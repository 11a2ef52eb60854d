#!/usr/bin/env node
/**
 * The `vdafm` command: `vdafm demo [--quick] [--seed N] [--patients N] [--epochs N]
 * [--backend wasm|cpu] [--out DIR] [--only NAME[,NAME]]`, `vdafm study [options]` and
 * `vdafm study merge <folders…> --out DIR`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ABLATIONS, runDemo, type DemoOptions } from './demo/demo.js';
import { VdafmError } from './errors.js';
import { ABLATION_SUITE } from './study/claims.js';
import { mergeStudies, runStudy, type StudyOptions } from './study/study.js';

const USAGE = `usage: vdafm demo [options]
       vdafm study [options]                 (vdafm study --help)
       vdafm study merge <folders…> --out DIR

Generates the synthetic stroke cohort, writes and caches its reports, trains and evaluates the
ablation suite, and writes metrics.json, report.md, ROC / calibration / training-curve plots,
attention overlays and the trained pipeline to the output folder.

options:
  --quick            small and fast (about 2 minutes on 2 cores)
  --seed N           seed of everything (default 7)
  --patients N       cohort size (default 300 with --quick, else 1000)
  --epochs N         epochs per model (default 4 with --quick, else 14)
  --backend NAME     wasm (default; falls back to cpu) or cpu
  --out DIR          output folder (default ./vdafm-demo)
  --only NAMES       comma-separated ablations to run, among:
                     ${ABLATIONS.map((a) => a.name).join('\n                     ')}
`;

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
  --shard I/N          run only shard I of N (cells only; join them with vdafm study merge)
  --resume             keep the finished cells found in --out and run the others
  --estimate           print the wall-time estimate and stop
  --no-estimate        skip the estimate (it probes a few training steps of each model)
  --backend NAME       wasm (default; falls back to cpu) or cpu
  --out DIR            output folder (default ./vdafm-study, ./vdafm-study-quick with --quick)

merge: joins study folders (e.g. one per shard) into --out and writes the reports; refuses
folders of different studies and conflicting copies of a cell.
`;

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

const DEMO_FLAGS: Flags<DemoOptions> = {
  '--quick': switchFlag((o) => (o.quick = true)),
  '--seed': valueFlag((o, v, f) => (o.seed = number(f, v))),
  '--patients': valueFlag((o, v, f) => (o.patients = number(f, v))),
  '--epochs': valueFlag((o, v, f) => (o.epochs = number(f, v))),
  '--out': valueFlag((o, v) => (o.out = v)),
  '--only': valueFlag((o, v) => (o.only = list(v))),
};

const STUDY_FLAGS: Flags<StudyOptions> = {
  '--quick': switchFlag((o) => (o.quick = true)),
  '--resume': switchFlag((o) => (o.resume = true)),
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
function parseStudy(argv: string[]): { merge: string[] | null; options: StudyOptions; backend: 'wasm' | 'cpu'; help: boolean } {
  const options: StudyOptions = {};
  const isMerge = argv[0] === 'merge';
  const { positional, backend, help } = parseFlags(isMerge ? argv.slice(1) : argv, STUDY_FLAGS, options);
  if (!isMerge && positional.length > 0) throw new Error(`unknown argument ${positional[0]}`);
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
  const { merge, options } = parsed;
  return onBackend(parsed.backend, () => (merge ? mergeStudies(merge, { out: options.out!, command }) : runStudy({ ...options, command })));
}

/** Selects the backend and runs a job: exit code 0, or 1 with the message of a vdafm error (others propagate). */
async function onBackend(backend: 'wasm' | 'cpu', job: () => Promise<unknown>): Promise<number> {
  try {
    await selectBackend(backend, (l) => process.stderr.write(`${l}\n`));
    await job();
    return 0;
  } catch (error) {
    if (VdafmError.isInstance(error)) {
      process.stderr.write(`vdafm: ${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function parse(argv: string[]): { command: string | null; options: DemoOptions; backend: 'wasm' | 'cpu' } {
  const options: DemoOptions = {};
  const { positional, backend, help } = parseFlags(argv, DEMO_FLAGS, options);
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
  const { options } = parsed;
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
