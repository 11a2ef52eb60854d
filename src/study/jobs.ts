/**
 * A study run as parallel jobs on one machine (`vdafm study --jobs N`): N child processes of
 * the CLI, each running one shard of the plan (`--shard i/N`) into its own folder
 * `OUT/shards/i-of-N`, then {@link mergeStudies} joins them into `OUT`. It is the recipe of the
 * study guide's Slurm and Kubernetes sections on one machine: the cells, and so the results,
 * are the same as a single run's (a cell's result does not depend on the shard that ran it).
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Options of {@link runStudyJobs}. */
export interface StudyJobsOptions {
  /** Child processes (shards) to run at once; ≥ 2. */
  jobs: number;
  /** The study's arguments after `vdafm study`, without `--jobs`, `--shard` and `--out`. */
  args: readonly string[];
  /** The study's folder: the shards go to `OUT/shards/i-of-N`, the merged study to `OUT`. */
  out: string;
  /** Lines for the user (each child's lines come prefixed with its job). @defaultValue process.stderr */
  log?: (line: string) => void;
  /**
   * Starts a child: the CLI's `study` command with `args`. @defaultValue this process's Node,
   * its exec arguments (e.g. `--import tsx`) and its script (`process.argv[1]`)
   * @internal
   */
  spawnChild?: (args: readonly string[], env: NodeJS.ProcessEnv) => ChildLike;
}

/** What {@link runStudyJobs} needs of a child process. */
export interface ChildLike {
  stdout: NodeJS.ReadableStream | null;
  stderr: NodeJS.ReadableStream | null;
  on(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The folder of shard `index` of `count` inside the study folder `out`. */
export function shardFolder(out: string, index: number, count: number): string {
  return path.join(out, 'shards', `${index}-of-${count}`);
}

/**
 * The worker threads each child may use: the machine's cores shared among the jobs (at least
 * one), unless `VDAFM_THREADS` is set.
 */
export function childThreads(jobs: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): string {
  return env['VDAFM_THREADS'] ?? String(Math.max(1, Math.floor(cores / jobs)));
}

function defaultSpawn(args: readonly string[], env: NodeJS.ProcessEnv): ChildLike {
  const script = process.argv[1];
  if (!script) throw new Error('cannot find the CLI script to start the study jobs (process.argv[1] is empty)');
  return spawn(process.execPath, [...process.execArgv, script, 'study', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Forwards a stream line by line with a prefix. */
function forward(stream: NodeJS.ReadableStream | null, prefix: string, log: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    // progress bars redraw with \r: keep the last state of a line
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const shown = line.split('\r').filter((part) => part.trim() !== '').at(-1);
      if (shown !== undefined) log(`${prefix}${shown}`);
    }
  });
  stream.on('end', () => {
    const shown = rest.split('\r').filter((part) => part.trim() !== '').at(-1);
    if (shown !== undefined) log(`${prefix}${shown}`);
  });
}

/**
 * Runs the study as `jobs` child processes, one shard each, and waits for all of them; returns
 * the shard folders to merge. A failed child fails the run (after the others finish, so their
 * cells are kept: rerun with `--resume` and the same `--jobs` to finish).
 *
 * @throws {@link InvalidArgumentError} (argument `jobs`) unless `jobs` is an integer ≥ 2; (argument
 *   `args`) when `args` hold `--jobs`, `--shard` or `--out`.
 * @throws Error naming the jobs that failed.
 * @example
 * ```ts
 * const dirs = await runStudyJobs({ jobs: 2, args: ['--scenario', 'imbalance'], out: 'vdafm-study' });
 * await mergeStudies(dirs, { out: 'vdafm-study' });
 * ```
 */
export async function runStudyJobs(options: StudyJobsOptions): Promise<string[]> {
  const { jobs, args, out } = options;
  if (!Number.isInteger(jobs) || jobs < 2) throw new InvalidArgumentError({ argument: 'jobs', message: 'jobs must be an integer ≥ 2 (one job: run the study directly).', received: jobs });
  const owned = args.filter((a) => a === '--jobs' || a === '--shard' || a === '--out');
  if (owned.length > 0) throw new InvalidArgumentError({ argument: 'args', message: 'The jobs set --shard and --out themselves; pass --jobs separately.', received: owned });
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const start = options.spawnChild ?? defaultSpawn;
  const env = { ...process.env, VDAFM_THREADS: childThreads(jobs) };
  const dirs = Array.from({ length: jobs }, (_, i) => shardFolder(out, i + 1, jobs));
  log(`vdafm study --jobs ${jobs}: ${jobs} shards in ${path.join(out, 'shards')}, ${env.VDAFM_THREADS} thread(s) each`);
  const results = await Promise.all(
    dirs.map(
      (dir, i) =>
        new Promise<string | null>((resolve) => {
          const prefix = `[job ${i + 1}/${jobs}] `;
          let child: ChildLike;
          try {
            child = start([...args, '--shard', `${i + 1}/${jobs}`, '--out', dir, '--no-estimate'], env);
          } catch (error) {
            resolve(`job ${i + 1} did not start (${(error as Error).message})`);
            return;
          }
          forward(child.stdout, prefix, log);
          forward(child.stderr, prefix, log);
          child.on('error', (error) => resolve(`job ${i + 1} failed to run (${error.message})`));
          child.on('close', (code, signal) => resolve(code === 0 ? null : `job ${i + 1} ended with ${signal ? `signal ${signal}` : `exit code ${code}`}`));
        }),
    ),
  );
  const failed = results.filter((r): r is string => r !== null);
  if (failed.length > 0) {
    throw new Error(`${failed.join('; ')}. The finished cells are kept in ${path.join(out, 'shards')}: rerun with --resume and the same --jobs to run the rest.`);
  }
  return dirs;
}
