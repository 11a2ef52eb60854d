/**
 * vdafm benchmark suite entry point: `npm run bench` (= `node --import tsx bench/run.ts`).
 *
 * Every module in `bench/workloads/` that exports `workload: Workload` or `workloads: Workload[]`
 * (see bench/lib/types.ts) is discovered and run, in `order`. Results go to the console and to
 * `bench/results/latest.json` + `latest.md`.
 *
 * Relaxed SIMD is turned on in this process (Node 20 ships it behind
 * --experimental-wasm-relaxed-simd; V8 ignores the flag where it is on already), so vdafm runs its
 * relaxed-SIMD GEMM where the CPU allows (VDAFM_SIMD=simd128 forces the simd128 build), and the
 * run opens with the hardware floor (bench/lib/floor.ts), measured again at the end (pooled). Threads: every row runs with the thread
 * count it names (vdafm/node's default pool is cancelled; `-2` rows enable 2 threads).
 *
 * Flags:
 *   --quick            smoke run for CI (< 60 s): few reps; cpu, stock train steps, 2-thread peer,
 *                      experiments, profiles' extra phases and the 1000-step leak check skipped
 *   --only a,b         run only the named workloads (e.g. `--only attention`)
 *   --variants a,b*    only these variant ids (trailing * = prefix), e.g. `ours-wasm,exp-*`
 *   --no-peer          skip the PyTorch peer
 *   --no-experiments   skip experimental formulations
 *   --no-profile       skip the kernel profile
 *   --python PATH      interpreter of the peer (default /usr/bin/python3, or $VDAFM_BENCH_PYTHON)
 *   --out DIR          output folder (default bench/results)
 *   --list             list the workloads and exit
 */
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { disableThreads } from '../src/node/threads.js';
import { cpuFeatures, type FloorReport, floorLines, measureFloor } from './lib/floor.js';
import { chooseBlasCore } from './lib/peer.js';
import { finishMachineInfo, machineInfo } from './lib/machine.js';
import { type BenchReport, consoleSummary, consoleWorkload, writeReport } from './lib/report.js';
import { performance } from './lib/stats.js';
import type { BenchContext, Workload, WorkloadResult } from './lib/types.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Cli {
  quick: boolean;
  only: string[] | null;
  variants: string[] | null;
  peer: boolean;
  experiments: boolean;
  profile: boolean;
  python: string;
  out: string;
  list: boolean;
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = {
    quick: false,
    only: null,
    variants: null,
    peer: true,
    experiments: true,
    profile: true,
    python: process.env['VDAFM_BENCH_PYTHON'] ?? '/usr/bin/python3',
    out: join(here, 'results'),
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new Error(`${a} needs a value`);
      return v;
    };
    const flag = a.split('=')[0];
    switch (flag) {
      case '--quick':
        cli.quick = true;
        break;
      case '--only':
        cli.only = value().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--variants':
        cli.variants = value().split(',').map((s) => s.trim()).filter(Boolean);
        break;
      case '--no-peer':
        cli.peer = false;
        break;
      case '--no-experiments':
        cli.experiments = false;
        break;
      case '--no-profile':
        cli.profile = false;
        break;
      case '--python':
        cli.python = value();
        break;
      case '--out':
        cli.out = resolve(value());
        break;
      case '--list':
        cli.list = true;
        break;
      case '--help':
      case '-h':
        console.log(readHelp());
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${a} (try --help)`);
    }
  }
  return cli;
}

function readHelp(): string {
  return [
    'usage: npm run bench -- [--quick] [--only attention] [--variants ours-wasm,exp-*] [--no-peer] [--no-experiments]',
    '                        [--no-profile] [--python /usr/bin/python3] [--out bench/results] [--list]',
  ].join('\n');
}

function isWorkload(x: unknown): x is Workload {
  return typeof x === 'object' && x !== null && typeof (x as Workload).name === 'string' && typeof (x as Workload).run === 'function';
}

/** Imports every `bench/workloads/*.ts` module exporting `workload`, `workloads` (an array) or a default Workload. */
async function discover(): Promise<Workload[]> {
  const dir = join(here, 'workloads');
  const files = readdirSync(dir).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('_')).sort();
  const found: Workload[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as Record<string, unknown>;
    const w = mod['workload'] ?? mod['default'];
    if (isWorkload(w)) found.push(w);
    const list = mod['workloads'];
    if (Array.isArray(list)) found.push(...list.filter(isWorkload));
  }
  return found.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}

// before any WebAssembly module is compiled or validated
setFlagsFromString('--experimental-wasm-relaxed-simd');

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const all = await discover();
  if (cli.list) {
    for (const w of all) console.log(`${w.name}\t${w.title}`);
    return;
  }
  const selected = cli.only ? all.filter((w) => cli.only!.includes(w.name)) : all;
  if (cli.only) {
    const unknown = cli.only.filter((n) => !all.some((w) => w.name === n));
    if (unknown.length) throw new Error(`unknown workload(s) ${unknown.join(', ')}; known: ${all.map((w) => w.name).join(', ')}`);
  }
  const t0 = performance.now();
  const machine = machineInfo();
  const log = (m: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${m}\n`);
  log(`${machine.cpuModel}, ${machine.logicalCores} cores, Node ${machine.node}, tfjs ${machine.tfjsCore}; ${machine.uptimeStart}`);
  const ctx: BenchContext = {
    quick: cli.quick,
    peer: cli.peer,
    python: cli.python,
    experiments: cli.experiments && !cli.quick,
    profile: cli.profile && !cli.quick,
    variants: cli.variants,
    log,
  };
  // rows name their thread count: no default pool in between
  await disableThreads();
  // the peers' OpenBLAS core: its fastest on this CPU (a DYNAMIC_ARCH OpenBLAS falls back to
  // generic kernels on a CPU model it does not know)
  const blasCore = ctx.peer && !cli.quick ? await chooseBlasCore(ctx.python, cpuFeatures(machine.cpuModel).features, log) : null;
  let floor: FloorReport | null = null;
  try {
    floor = { ...(await measureFloor(ctx, machine.cpuModel)), blasCore };
    console.log(['\n== hardware floor ==', ...floorLines(floor)].join('\n'));
  } catch (e) {
    log(`floor FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  const results: WorkloadResult[] = [];
  let failed = false;
  for (const w of selected) {
    log(`workload ${w.name}: ${w.title}`);
    try {
      const r = await w.run(ctx);
      results.push(r);
      console.log(consoleWorkload(r));
    } catch (e) {
      failed = true;
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      log(`workload ${w.name} FAILED: ${message}`);
      results.push({ name: w.name, title: w.title, description: '', rows: [], ratios: [], profiles: [], notes: [`FAILED: ${message}`] });
    }
  }
  if (floor && !cli.quick) {
    // again at the end, pooled with the start: the best repetitions of the quieter moment
    try {
      floor = { ...(await measureFloor(ctx, machine.cpuModel, floor)), blasCore };
      console.log(['\n== hardware floor (start and end of the run, pooled) ==', ...floorLines(floor)].join('\n'));
    } catch (e) {
      log(`floor (end) FAILED: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  finishMachineInfo(machine);
  console.log(consoleSummary(results, floor));
  const report: BenchReport = {
    schema: 1,
    floor,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: cli.quick,
    machine,
    durationSeconds: (performance.now() - t0) / 1000,
    workloads: results,
  };
  const paths = writeReport(cli.out, report);
  console.log(
    `\nmachine: ${machine.cpuModel}, ${machine.logicalCores} logical cores, ${machine.totalMemGiB} GiB, ${machine.platform}; Node ${machine.node}, ` +
      `tfjs ${machine.tfjsCore} (wasm ${machine.tfjsBackendWasm}); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; ` +
      `load start ${machine.loadStart.join(' ')}, end ${machine.loadEnd?.join(' ')}`,
  );
  console.log(`wrote ${paths.json} and ${paths.md} (${report.durationSeconds.toFixed(0)} s)`);
  if (failed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
