#!/usr/bin/env node
/**
 * The `vdafm` command: `vdafm demo [--quick] [--seed N] [--patients N] [--epochs N]
 * [--backend wasm|cpu] [--out DIR] [--only NAME[,NAME]]`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ABLATIONS, runDemo, type DemoOptions } from './demo/demo.js';
import { VdafmError } from './errors.js';

const USAGE = `usage: vdafm demo [options]

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

function parse(argv: string[]): { command: string | null; options: DemoOptions; backend: 'wasm' | 'cpu' } {
  const options: DemoOptions = {};
  let backend: 'wasm' | 'cpu' = 'wasm';
  let command: string | null = null;
  const number = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number (got ${v ?? 'nothing'})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--quick':
        options.quick = true;
        break;
      case '--seed':
        options.seed = number(a, v);
        i++;
        break;
      case '--patients':
        options.patients = number(a, v);
        i++;
        break;
      case '--epochs':
        options.epochs = number(a, v);
        i++;
        break;
      case '--out':
        if (!v) throw new Error('--out needs a folder');
        options.out = v;
        i++;
        break;
      case '--only':
        if (!v) throw new Error('--only needs ablation names');
        options.only = v.split(',').map((s) => s.trim());
        i++;
        break;
      case '--backend':
        if (v !== 'wasm' && v !== 'cpu') throw new Error(`--backend must be wasm or cpu (got ${v ?? 'nothing'})`);
        backend = v;
        i++;
        break;
      case '-h':
      case '--help':
        command = 'help';
        break;
      default:
        if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
        command = command ?? a;
    }
  }
  return { command, options, backend };
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
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
  try {
    await selectBackend(parsed.backend, (l) => process.stderr.write(`${l}\n`));
    await runDemo(parsed.options);
    return 0;
  } catch (error) {
    if (VdafmError.isInstance(error)) {
      process.stderr.write(`vdafm: ${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
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
