// `vdafm study --jobs N`: the child processes (one shard each), their output, their failures,
// and a real two-job run whose merged cells equal a single run's.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { type ChildLike, childThreads, runStudyJobs, shardFolder } from '../../src/study/jobs.js';
import { expectIsArgumentError } from '../helpers/errors.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-study-jobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A child process that writes `output` to stdout and ends with `code`. */
function fakeChild(output: string, code: number): ChildLike {
  const emitter = new EventEmitter();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  setTimeout(() => {
    stdout.end(output);
    stderr.end();
    setTimeout(() => emitter.emit('close', code, null), 5);
  }, 5);
  return Object.assign(emitter, { stdout, stderr }) as unknown as ChildLike;
}

describe('runStudyJobs', () => {
  it('starts one child per shard with its own folder, shares the cores, prefixes their lines and keeps the last state of a redrawn line', async () => {
    const calls: Array<{ args: readonly string[]; threads: string | undefined }> = [];
    const lines: string[] = [];
    const dirs = await runStudyJobs({
      jobs: 3,
      args: ['--scenario', 'imbalance'],
      out: '/x/study',
      log: (l) => lines.push(l),
      spawnChild: (args, env) => {
        calls.push({ args, threads: env['VDAFM_THREADS'] });
        return fakeChild(`cells 1/2\rcells 2/2\ndone ${calls.length}\n`, 0);
      },
    });
    expect(dirs).toEqual([1, 2, 3].map((i) => shardFolder('/x/study', i, 3)));
    expect(dirs[1]).toBe(join('/x/study', 'shards', '2-of-3'));
    expect(calls.map((c) => c.args)).toEqual(
      [1, 2, 3].map((i) => ['--scenario', 'imbalance', '--shard', `${i}/3`, '--out', shardFolder('/x/study', i, 3), '--no-estimate']),
    );
    expect(new Set(calls.map((c) => c.threads))).toEqual(new Set([childThreads(3)]));
    expect(lines).toContain('[job 2/3] cells 2/2');
    expect(lines).toContain('[job 3/3] done 3');
    expect(lines.some((l) => l.includes('cells 1/2'))).toBe(false);
  });

  it('fails naming the job that failed, after every job ended', async () => {
    let ended = 0;
    const run = runStudyJobs({
      jobs: 2,
      args: [],
      out: '/x',
      log: () => undefined,
      spawnChild: (args) => {
        const child = fakeChild('', args.includes('2/2') ? 3 : 0);
        child.on('close', () => void ended++);
        return child;
      },
    });
    await expect(run).rejects.toThrow(/job 2 ended with exit code 3.*--resume and the same --jobs/);
    expect(ended).toBe(2);
  });

  it('refuses fewer than 2 jobs and arguments the jobs set themselves', async () => {
    for (const jobs of [1, 0, 2.5, Number.NaN]) {
      await runStudyJobs({ jobs, args: [], out: '/x' }).then(
        () => expect.fail(`jobs ${jobs} accepted`),
        (e: unknown) => expectIsArgumentError(e, InvalidArgumentError, 'jobs'),
      );
    }
    for (const flag of ['--out', '--shard', '--jobs']) {
      await runStudyJobs({ jobs: 2, args: [flag, '1'], out: '/x' }).then(
        () => expect.fail(`${flag} accepted`),
        (e: unknown) => expectIsArgumentError(e, InvalidArgumentError, 'args'),
      );
    }
  });

  it('shares the cores among the jobs (at least one thread each) unless VDAFM_THREADS is set', () => {
    expect(childThreads(2, {}, 2)).toBe('1');
    expect(childThreads(2, {}, 8)).toBe('4');
    expect(childThreads(3, {}, 8)).toBe('2');
    expect(childThreads(4, {}, 2)).toBe('1');
    expect(childThreads(2, { VDAFM_THREADS: '0' }, 8)).toBe('0');
  });
});

/** Runs the CLI in a child process; resolves with its exit code and output. */
function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

const cellsOf = (dir: string) => {
  const study = JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8')) as { cells: Array<{ id: string; metrics: { auc: number; logLoss: number } }> };
  return study.cells.map((c) => [c.id, c.metrics.auc, c.metrics.logLoss]).sort();
};

describe('vdafm study --jobs 2 (real child processes)', () => {
  it('writes the same cells as a single run, merged into --out', { timeout: 300_000 }, async () => {
    const args = ['study', '--quick', '--scenario', 'imbalance', '--seeds', '2', '--only', 'clinical,image,oracle', '--curve', 'none'];
    const [jobs, single] = await Promise.all([cli([...args, '--jobs', '2', '--out', join(root, 'jobs')]), cli([...args, '--out', join(root, 'single')])]);
    expect(jobs.code, jobs.output).toBe(0);
    expect(single.code, single.output).toBe(0);
    expect(jobs.output).toMatch(/\[job 1\/2\] .*shard 1\/2 done/);
    expect(jobs.output).toMatch(/\[job 2\/2\] .*shard 2\/2 done/);
    const merged = cellsOf(join(root, 'jobs'));
    expect(merged.map((c) => String(c[0]).split('.').at(-1)).sort()).toEqual(['clinical', 'clinical', 'image', 'image', 'oracle', 'oracle']);
    expect(merged).toEqual(cellsOf(join(root, 'single')));
  });

  it('refuses --jobs with --shard or merge', async () => {
    const shard = await cli(['study', '--quick', '--jobs', '2', '--shard', '1/2']);
    expect(shard.code).toBe(2);
    expect(shard.output).toMatch(/--jobs runs the shards itself: not with --shard/);
    const merge = await cli(['study', 'merge', 'a', '--out', 'b', '--jobs', '2']);
    expect(merge.code).toBe(2);
    expect(merge.output).toMatch(/not with merge/);
  });
});
