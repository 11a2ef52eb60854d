// bench/lib/stats.ts medianInterval and report.ts floorVerdict: the interval and the verdict of the
// interleaved train steps (bench/lib/model-bench.ts runPairedTrain).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runPairedTrain } from '../../bench/lib/model-bench.js';
import { floorVerdict, pairedLines } from '../../bench/lib/report.js';
import { medianInterval } from '../../bench/lib/stats.js';
import type { BenchContext, PairedTrain, Row, WorkloadResult } from '../../bench/lib/types.js';

/** P(Binomial(n, ½) ≤ j), summed from the binomial coefficients (an independent route to the cdf). */
function binomialCdf(n: number, j: number): number {
  let total = 0;
  for (let i = 0; i <= j; i++) {
    let c = 1;
    for (let t = 1; t <= i; t++) c = (c * (n - i + t)) / t;
    total += c;
  }
  return total / 2 ** n;
}

describe('medianInterval', () => {
  it('takes the 4th and 12th of 15 values at 95 % (coverage 1 − 2·P(X ≤ 3) = 0.9648)', () => {
    // hand-computed: P(Binomial(15, ½) ≤ 3) = (1 + 15 + 105 + 455) / 32768 = 576 / 32768
    const values = [15, 3, 9, 1, 12, 7, 5, 14, 2, 11, 8, 4, 13, 6, 10];
    const m = medianInterval(values, 0.95);
    expect(m).toEqual({ median: 8, lo: 4, hi: 12, coverage: 1 - (2 * 576) / 32768 });
  });

  it('takes the whole range when there are too few values for the level, and says so', () => {
    const m = medianInterval([3, 1, 2, 5], 0.95);
    expect([m.median, m.lo, m.hi]).toEqual([2.5, 1, 5]);
    expect(m.coverage).toBeCloseTo(1 - 2 / 16, 12);
    expect(medianInterval([], 0.95).coverage).toBe(0);
  });

  fcTest.prop([fc.uniqueArray(fc.double({ min: -1e3, max: 1e3, noNaN: true }).map((v) => v + 0), { minLength: 1, maxLength: 60, comparator: 'SameValueZero' }), fc.constantFrom(0.8, 0.9, 0.95, 0.99)])(
    'is the widest order-statistic pair whose tails stay within (1 − level)/2, bracketing the median',
    (values, level) => {
      const n = values.length;
      const sorted = [...values].sort((a, b) => a - b);
      const m = medianInterval(values, level);
      expect(m.lo).toBeLessThanOrEqual(m.median);
      expect(m.hi).toBeGreaterThanOrEqual(m.median);
      // k from the reported lower end: its tail P(X ≤ k − 1) within the bound, the next one's not
      // (or no next one: k at the middle)
      const k = sorted.indexOf(m.lo) + 1;
      const tail = binomialCdf(n, k - 1);
      expect(m.coverage).toBeCloseTo(1 - 2 * tail, 12);
      if (k > 1) expect(tail).toBeLessThanOrEqual((1 - level) / 2 + 1e-15);
      if (k + 1 <= Math.floor((n + 1) / 2)) expect(binomialCdf(n, k)).toBeGreaterThan((1 - level) / 2);
      expect(m.hi).toBe(sorted[n - k]);
    },
  );
});

describe('floorVerdict', () => {
  const stats = (median: number) => ({ median, q1: median, q3: median, iqr: 0, min: median, max: median, samples: [median], warmup: 0 });
  const row = (id: string, threads: number, train: number): Row => ({ id, label: id, backend: 'x', threads, kind: id.startsWith('pytorch') ? 'peer' : 'library', forward: null, train: stats(train), status: 'ok' });
  const paired = (threads: number, ratios: number[]): PairedTrain => {
    const m = medianInterval(ratios);
    return { threads, peerThreads: threads, policy: 'passive', ours: ratios.map((r) => r * 100), peer: ratios.map(() => 100), ratios, median: m.median, lo: m.lo, hi: m.hi, level: m.coverage };
  };
  const workload = (p?: PairedTrain[]): WorkloadResult => ({
    name: 'w',
    title: 'w',
    description: '',
    rows: [row('ours-wasm', 1, 300), row('ours-wasm-2', 2, 200), row('pytorch-1', 1, 100), row('pytorch-2', 2, 50)],
    ratios: [],
    profiles: [],
    notes: [],
    ...(p ? { paired: p } : {}),
  });

  it('uses the ratio of the sequential medians without interleaved steps', () => {
    expect(floorVerdict(workload(), 1, 2)).toEqual({ value: 1.5, lo: null, hi: null, met: false, resolved: null, paired: false });
    expect(floorVerdict(workload(), 2, 2)).toEqual({ value: 2, lo: null, hi: null, met: false, resolved: null, paired: false });
    expect(floorVerdict(workload(), 1, null)).toBeNull();
  });

  it('uses the interleaved median and calls it resolved only when the interval is on one side of the target', () => {
    const ratios = Array.from({ length: 15 }, (_, i) => 2 + i * 0.02); // 2.00 … 2.28, median 2.14
    const w = workload([paired(1, ratios), paired(2, ratios.map((r) => r + 0.3))]);
    const one = floorVerdict(w, 1, 2)!;
    expect(one.paired).toBe(true);
    expect(one.value).toBeCloseTo(1.07, 12);
    expect([one.lo, one.hi]).toEqual([1.03, 1.11]); // the 4th and 12th ratios ÷ 2
    expect([one.met, one.resolved]).toEqual([true, true]);
    const two = floorVerdict(w, 2, 2)!; // median 2.44 ÷ 2 = 1.22, interval 1.18–1.26: straddles 1.25
    expect([two.met, two.resolved]).toEqual([true, false]);
    const worse = floorVerdict(w, 2, 1.8)!; // 1.31–1.40: all above
    expect([worse.met, worse.resolved]).toEqual([false, true]);
  });

  it('prints one line per interleaved thread count with both sides\' medians', () => {
    const w = workload([paired(2, [1.5, 1.6, 1.7])]);
    const [line] = pairedLines(w);
    expect(line).toContain('2 thr (3 rounds, PyTorch 2 thr, OpenMP passive): ours 160 ms, PyTorch 100 ms');
    expect(line).toContain('median 1.60×');
  });
});

// The peers' --serve mode (bench/peer/common.py serve): a status line, then one answer per request.
// Needs python3 + torch (skipped without them, as on CI).
const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('the model peers answer interleaved timing requests (--serve)', () => {
  const cases: Array<[string, string[]]> = [
    ['image_encoder.py', ['--workload', 'encoder3d', '--batch', '1']],
    ['trimodal.py', ['--batch', '2']],
    ['vdafm_bench.py', ['--variant', 'late']],
    ['attention_block.py', []],
  ];
  it.skipIf(!hasTorch).each(cases)('%s', (script, args) => {
    const requests = ['{"threads": 1, "phase": "train", "reps": 2}', '{"threads": 1, "phase": "nonsense", "reps": 1}', '{"cmd": "quit"}'].join('\n');
    const r = spawnSync(python, [script, ...args, '--serve'], {
      cwd: fileURLToPath(new URL('../../bench/peer', import.meta.url)),
      input: `${requests}\n`,
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]!['status']).toBe('ok');
    const samples = lines[1]!['samples'] as number[];
    expect(samples).toHaveLength(2);
    expect(samples.every((ms) => ms > 0 && ms < 60_000)).toBe(true);
    expect(String(lines[2]!['error'])).toMatch(/KeyError/); // an unknown phase is answered, not fatal
  }, 150_000);
});

describe('runPairedTrain', () => {
  const ctx = (o: Partial<BenchContext>): BenchContext => ({ quick: false, peer: true, python: '/nonexistent/python', experiments: false, profile: false, variants: null, log: () => {}, ...o });
  const stats = { median: 1, q1: 1, q3: 1, iqr: 0, min: 1, max: 1, samples: [1], warmup: 0 };
  const row = (id: string, status: Row['status']): Row => ({ id, label: id, backend: 'x', threads: 1, kind: 'library', forward: null, train: stats, status });
  const never = () => {
    throw new Error('the library variant must not be built');
  };
  it('runs nothing without the peer, in --quick, or when the library row did not run', async () => {
    const rows = [row('ours-wasm', 'ok'), row('pytorch-1', 'ok')];
    for (const [c, r] of [
      [ctx({ peer: false }), rows],
      [ctx({ quick: true }), rows],
      [ctx({}), [row('ours-wasm', 'skipped'), row('pytorch-1', 'ok')]],
      [ctx({}), [row('ours-wasm', 'failed'), row('pytorch-1', 'ok')]],
    ] as const) {
      expect(await runPairedTrain(c, [...r], { make: never, script: 'none.py', rounds: 3, warmup: 1 })).toEqual({ paired: [], notes: [] });
    }
  });

  it('reports a peer that cannot start in its notes, without building the library variant', async () => {
    const out = await runPairedTrain(ctx({}), [row('ours-wasm', 'ok'), row('pytorch-1', 'ok')], { make: never, script: 'none.py', rounds: 3, warmup: 1, threads: [1] });
    expect(out.paired).toEqual([]);
    expect(out.notes).toEqual(['interleaved 1 thr: PyTorch peer not installed: /nonexistent/python does not exist']);
  });
});
