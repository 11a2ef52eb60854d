/**
 * Renders benchmark results: an aligned console table, a markdown report and a JSON file.
 *
 * @packageDocumentation
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FloorReport, floorLines, machineKind } from './floor.js';
import type { MachineInfo } from './machine.js';
import { summarize } from './stats.js';
import type { Check, KernelTime, PairedTrain, Phase, Profile, Ratio, Row, Stats, WorkloadResult } from './types.js';

/** The whole run, as written to `latest.json`. */
export interface BenchReport {
  schema: 1;
  command: string;
  quick: boolean;
  machine: MachineInfo;
  /** The hardware floor measured at the start of the run (null if it failed). */
  floor: FloorReport | null;
  /** Wall time of the whole run, seconds. */
  durationSeconds: number;
  workloads: WorkloadResult[];
}

const MiB = 2 ** 20;

function ms(x: number): string {
  if (!Number.isFinite(x)) return '–';
  if (x >= 1000) return x.toFixed(0);
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function cell(s: Stats | null | undefined, status: Row['status'], error?: string): string {
  if (status === 'not installed') return 'not installed';
  if (status === 'failed') return 'failed';
  if (!s && error) return `fails: ${error}`;
  if (!s) return status === 'skipped' ? 'skipped' : '–';
  return `${ms(s.median)} ±${ms(s.iqr / 2)}`;
}

function times(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '–';
  return x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`;
}

function ratioOf(a: Stats | null | undefined, b: Stats | null | undefined): number | null {
  if (!a || !b || !(b.median > 0)) return null;
  return a.median / b.median;
}

/** Builds a {@link Ratio} of two rows' medians for one phase. */
export function makeRatio(
  rows: Row[],
  label: string,
  numerator: string,
  denominator: string,
  phase: Phase,
  target?: { text: string; max: number },
): Ratio {
  const a = rows.find((r) => r.id === numerator);
  const b = rows.find((r) => r.id === denominator);
  const value = a && b ? ratioOf(a[phase], b[phase]) : null;
  const ratio: Ratio = { label, numerator, denominator, phase, value };
  if (target) {
    ratio.target = target.text;
    if (value !== null) ratio.met = value <= target.max;
  }
  return ratio;
}

const HEADERS = [
  'id',
  'variant',
  'backend',
  'thr',
  'forward ms (median ±IQR/2)',
  'train step ms',
  'predict ms (B1)',
  'fwd × ref',
  'train × ref',
  'pred × ref',
  'reps f/t/p',
  'kernels/step',
  'tensors/step',
  'peak MiB/step',
  'leak/step',
  'max RSS MiB',
];

function tableRows(w: WorkloadResult): string[][] {
  const refOf = (r: Row) => {
    const id = r.refId ?? w.reference;
    return id ? w.rows.find((x) => x.id === id) : undefined;
  };
  return w.rows.map((r) => {
    const ref = refOf(r);
    return [
      r.id,
      r.label,
      r.backend,
      String(r.threads),
      cell(r.forward, r.status),
      cell(r.train, r.status, r.trainError),
      r.predict === undefined && r.status === 'ok' ? '–' : cell(r.predict ?? null, r.status),
      times(ref ? ratioOf(r.forward, ref.forward) : null),
      times(ref ? ratioOf(r.train, ref.train) : null),
      times(ref ? ratioOf(r.predict, ref.predict) : null),
      `${r.forward?.samples.length ?? 0}/${r.train?.samples.length ?? 0}/${r.predict?.samples.length ?? 0}`,
      r.memory?.kernelsPerStep !== undefined ? String(r.memory.kernelsPerStep) : '–',
      r.memory?.tensorsAllocatedPerStep !== undefined ? String(r.memory.tensorsAllocatedPerStep) : '–',
      r.memory?.peakBytesInStep !== undefined ? (r.memory.peakBytesInStep / MiB).toFixed(1) : '–',
      r.memory && r.memory.leakedTensorsPerStep !== null ? String(Math.round(r.memory.leakedTensorsPerStep * 100) / 100) : '–',
      r.maxRssBytes !== undefined ? (r.maxRssBytes / MiB).toFixed(0) : '–',
    ];
  });
}

function aligned(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(headers: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function ratioLine(r: Ratio): string {
  const target = r.target ? ` (target ${r.target}: ${r.met === undefined ? 'n/a' : r.met ? 'met' : 'NOT met'})` : '';
  return `${r.label} [${r.phase}]: ${times(r.value)}${target}`;
}

function checkLine(c: Check): string {
  return `${c.label}: ${c.value} (target ${c.target}: ${c.met ? 'met' : 'NOT met'})`;
}

function profileText(p: Profile, top: number): string[] {
  const out = [
    `profile of ${p.variant}: ${p.phases.map((ph) => `${ph.name} ${ms(ph.ms)} ms`).join(', ')}`,
    `  one profiled train step: wall ${ms(p.wallMs)} ms, kernels ${ms(p.totalKernelMs)} ms; top kernels:`,
  ];
  const fmt = (k: KernelTime) => `  ${(k.share * 100).toFixed(1).padStart(5)}%  ${ms(k.ms).padStart(7)} ms  ×${String(k.calls).padEnd(4)} ${k.name}`;
  out.push(...p.kernels.slice(0, top).map(fmt));
  out.push('  by kernel name:', ...p.byName.slice(0, Math.ceil(top / 2)).map(fmt));
  return out;
}

/** One line per interleaved thread count: both sides' medians and the per-round ratio with its interval. */
export function pairedLines(w: WorkloadResult): string[] {
  const median = (xs: number[]) => summarize(xs, 0).median;
  return (w.paired ?? []).map(
    (p) =>
      `interleaved train steps, ${p.threads} thr (${p.ours.length} rounds, PyTorch ${p.peerThreads} thr, OpenMP ${p.policy}): ours ${ms(median(p.ours))} ms, PyTorch ${ms(median(p.peer))} ms; ` +
      `per-round ratio ours ÷ PyTorch: median ${times(p.median)}, ${(p.level * 100).toFixed(1)} % interval ${times(p.lo)}–${times(p.hi)}`,
  );
}

/** Console rendering of one workload. */
export function consoleWorkload(w: WorkloadResult): string {
  const parts = [
    `\n== ${w.title} ==`,
    w.description,
    w.reference ? `(× ref = median / median of '${w.reference}'; interleaved rows: of the interleaved peer row)` : '',
    aligned(HEADERS, tableRows(w)),
    '',
    ...w.ratios.map(ratioLine),
    ...(w.checks ?? []).map(checkLine),
    ...pairedLines(w),
  ];
  for (const r of w.rows.filter((x) => x.note)) parts.push(`note ${r.id}: ${r.note}`);
  for (const p of w.profiles) parts.push('', ...profileText(p, 15));
  for (const n of w.notes) parts.push(`* ${n}`);
  return parts.filter((s) => s !== '').join('\n');
}

/** Markdown rendering of the whole run. */
function markdownReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    '# vdafm benchmark results',
    '',
    `- date: ${m.date}${report.quick ? ' (quick run)' : ''}; command: \`${report.command}\`; duration ${report.durationSeconds.toFixed(0)} s`,
    `- machine: ${m.cpuModel}, ${m.logicalCores} logical cores, ${m.totalMemGiB} GiB, ${m.platform}` +
      (report.floor ? `; ${machineKind(report.floor.cpu.features)}; vector features: ${report.floor.cpu.features.join(' ') || 'unknown'}` : ''),
    `- software: Node ${m.node}, tfjs-core ${m.tfjsCore}, tfjs-layers ${m.tfjsLayers}, tfjs-backend-wasm ${m.tfjsBackendWasm}, tfjs-backend-cpu ${m.tfjsBackendCpu}`,
    `- load at start: \`${m.uptimeStart}\``,
    `- load at end: \`${m.uptimeEnd ?? '?'}\``,
    '',
  ];
  lines.push(
    '## Summary',
    '',
    'Ratios are ours ÷ PyTorch train-step medians at equal threads (1: `ours-wasm` ÷ `pytorch-1`; 2: `ours-wasm-2` ÷ PyTorch\'s faster of `pytorch-2` and `pytorch-1`, marked when that is `pytorch-1`); ' +
      'floor = PyTorch GEMM rate ÷ best wasm multiply-add peak at that thread count (section "Hardware floor"); ratio ÷ floor = how far above the unavoidable (target ≤ 1.25). ' +
      'The train ÷ PT and ratio ÷ floor columns and the verdicts use the *interleaved* train steps where they were measured (bench/README.md: per round two steps of each side, the second timed; the median of the per-round ratios, ' +
      'its 95 % interval in brackets; "resolved" when the whole interval lies on one side of 1.25), with the ratio of the sequential medians (`ours-wasm` and `pytorch-1` rows, timed minutes apart) as "seq."; "seq." alone: no interleaved steps.',
    '',
    markdownTable(SUMMARY_HEADERS, summaryRows(report.workloads, report.floor)),
    '',
    ...summaryTargets(report.workloads, report.floor).map((t) => `- ${t}`),
    '',
  );
  if (report.floor) lines.push('## Hardware floor', '', ...floorLines(report.floor), '');
  for (const w of report.workloads) {
    lines.push(`## ${w.title}`, '', w.description, '');
    if (w.reference) lines.push(`"× ref" = median ÷ median of \`${w.reference}\` (interleaved rows: of the interleaved peer row). Times in ms, median ± half the IQR.`, '');
    lines.push(markdownTable(HEADERS, tableRows(w)), '');
    if (w.ratios.length) lines.push(...w.ratios.map((r) => `- ${ratioLine(r)}`), '');
    if (w.paired?.length) lines.push(...pairedLines(w).map((l) => `- ${l}`), '');
    if (w.checks?.length) lines.push(...w.checks.map((c) => `- ${checkLine(c)}`), '');
    const noted = w.rows.filter((x) => x.note);
    if (noted.length) lines.push(...noted.map((r) => `- \`${r.id}\`: ${r.note}`), '');
    for (const p of w.profiles) lines.push('```', ...profileText(p, 20), '```', '');
    if (w.notes.length) lines.push(...w.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}

const SUMMARY_HEADERS = [
  'workload',
  'ours-wasm fwd / train / predict ms',
  'PyTorch 1 thr fwd / train / predict ms',
  'train ÷ PT, 1 thr',
  'floor 1',
  'ratio ÷ floor, 1 thr',
  'ours 2 thr train ms',
  'train ÷ PT, 2 thr',
  'floor 2',
  'ratio ÷ floor, 2 thr',
  'fwd ÷ PT-1',
  'predict (B1) ÷ PT-1',
  'stock-wasm train',
  'ours-cpu fwd / train ms',
  'peak MiB/step',
  'tensors/step',
  'leak/step',
];

function triple(r: Row | undefined): string {
  if (!r) return '–';
  if (r.status === 'not installed') return 'not installed';
  if (r.status !== 'ok') return r.status;
  const m = (s: Stats | null | undefined) => (s ? ms(s.median) : '–');
  return `${m(r.forward)} / ${r.train ? m(r.train) : r.trainError ? 'fails' : '–'} / ${m(r.predict)}`;
}

/**
 * The PyTorch row a train step at `threads` is compared with: `pytorch-1` at 1 thread; at 2
 * threads PyTorch's faster of `pytorch-2` and `pytorch-1` (what PyTorch does best with two cores:
 * on small steps its 2-thread parallel regions can cost more than they save, e.g. the tri-modal
 * step at 57.8 ms on 2 threads against 52.8 ms on 1, OpenMP spinning or not).
 */
export function peerRow(w: Pick<WorkloadResult, 'rows'>, threads: 1 | 2): Row | undefined {
  const p1 = w.rows.find((r) => r.id === 'pytorch-1');
  if (threads === 1) return p1;
  const p2 = w.rows.find((r) => r.id === 'pytorch-2');
  return p2?.train && p1?.train && p1.train.median < p2.train.median ? p1 : p2;
}

/** Train-step ratio ours ÷ PyTorch at `threads` (1: ours-wasm ÷ pytorch-1, 2: ours-wasm-2 ÷ PyTorch's best with 2 cores, {@link peerRow}). */
function trainRatio(w: WorkloadResult, threads: 1 | 2): number | null {
  const ours = w.rows.find((r) => r.id === (threads === 1 ? 'ours-wasm' : 'ours-wasm-2'));
  const peer = peerRow(w, threads);
  return ours && peer ? ratioOf(ours.train, peer.train) : null;
}

/** The interleaved train steps of `w` at `threads` (vdafm's), if measured. */
function pairedAt(w: WorkloadResult, threads: 1 | 2): PairedTrain | undefined {
  return w.paired?.find((p) => p.threads === threads);
}

/**
 * The verdict of ratio ÷ floor against `max`: the interleaved median (and whether its interval is
 * on one side of `max`) where measured, else the sequential ratio of medians.
 */
export function floorVerdict(w: WorkloadResult, threads: 1 | 2, floor: number | null, max = 1.25): { value: number; lo: number | null; hi: number | null; met: boolean; resolved: boolean | null; paired: boolean } | null {
  if (floor === null) return null;
  const p = pairedAt(w, threads);
  if (p) {
    const [value, lo, hi] = [p.median / floor, p.lo / floor, p.hi / floor];
    return { value, lo, hi, met: value <= max, resolved: hi <= max || lo > max, paired: true };
  }
  const ratio = trainRatio(w, threads);
  if (ratio === null) return null;
  return { value: ratio / floor, lo: null, hi: null, met: ratio / floor <= max, resolved: null, paired: false };
}

/** Whether PyTorch's 1-thread train step beat its 2-thread one (the 2-thread ratio then uses the 1-thread step). */
function peerFasterOnOne(w: WorkloadResult): boolean {
  return peerRow(w, 2)?.id === 'pytorch-1';
}

/** One line per workload: medians, ratios to PyTorch at 1 and 2 threads, the floor and ratio ÷ floor. */
function summaryRows(workloads: WorkloadResult[], floor: FloorReport | null = null): string[][] {
  return workloads.map((w) => {
    const find = (id: string) => w.rows.find((r) => r.id === id);
    const ours = find('ours-wasm');
    const ours2 = find('ours-wasm-2');
    const p1 = find('pytorch-1');
    const stock = find('stock-wasm');
    const cpu = find('ours-cpu');
    const r = (a: Row | undefined, b: Row | undefined, phase: Phase) => {
      if (b?.status === 'not installed') return 'not installed';
      return times(a && b ? ratioOf(a[phase], b[phase]) : null);
    };
    const f = (t: 1 | 2) => floor?.floor[t] ?? null;
    const overFloor = (t: 1 | 2) => {
      const v = floorVerdict(w, t, f(t));
      if (!v) return '–';
      return v.paired ? `${times(v.value)} [${times(v.lo)}–${times(v.hi)}]` : `${times(v.value)} seq.`;
    };
    const stockCell = !stock ? '–' : stock.status !== 'ok' ? stock.status : stock.train ? ms(stock.train.median) : stock.trainError ? `fails: ${stock.trainError}` : '–';
    const cpuCell = !cpu ? '–' : cpu.status !== 'ok' ? cpu.status : `${cpu.forward ? ms(cpu.forward.median) : '–'} / ${cpu.train ? ms(cpu.train.median) : '–'}`;
    const overPeer = (t: 1 | 2) => {
      const p = pairedAt(w, t);
      const seq = t === 1 ? r(ours, p1, 'train') : times(trainRatio(w, 2));
      return p ? `${times(p.median)} (seq. ${seq})` : `${seq}${seq.endsWith('×') ? ' seq.' : ''}`;
    };
    return [
      w.name,
      triple(ours),
      triple(p1),
      overPeer(1),
      times(f(1)),
      overFloor(1),
      ours2?.train ? ms(ours2.train.median) : (ours2?.status ?? '–'),
      overPeer(2) + (peerFasterOnOne(w) ? ' (vs PT-1: PT-2 was slower)' : ''),
      times(f(2)),
      overFloor(2),
      r(ours, p1, 'forward'),
      r(ours, p1, 'predict'),
      stockCell,
      cpuCell,
      ours?.memory?.peakBytesInStep !== undefined ? (ours.memory.peakBytesInStep / MiB).toFixed(1) : '–',
      ours?.memory?.tensorsAllocatedPerStep !== undefined ? String(ours.memory.tensorsAllocatedPerStep) : '–',
      ours?.memory && ours.memory.leakedTensorsPerStep !== null ? String(Math.round(ours.memory.leakedTensorsPerStep * 100) / 100) : '–',
    ];
  });
}

/** The targeted ratios and checks of every workload, one line each, and ratio ÷ floor ≤ 1.25 per thread count. */
function summaryTargets(workloads: WorkloadResult[], floor: FloorReport | null = null): string[] {
  const out: string[] = [];
  for (const w of workloads) {
    for (const r of w.ratios.filter((x) => x.target)) out.push(`${w.name}: ${ratioLine(r)}`);
    for (const c of w.checks ?? []) out.push(`${w.name}: ${checkLine(c)}`);
    for (const t of [1, 2] as const) {
      const ratio = trainRatio(w, t);
      const fl = floor?.floor[t] ?? null;
      if (ratio === null || fl === null) continue;
      const v = floorVerdict(w, t, fl)!;
      const verdict = v.met ? 'met' : 'NOT met';
      const peer = t === 2 && peerFasterOnOne(w) ? " (PyTorch's 1-thread step: its 2-thread one was slower)" : '';
      const p = pairedAt(w, t);
      if (p) {
        out.push(
          `${w.name}: train ÷ PyTorch at ${t} thread${t > 1 ? 's' : ''}${peer}, interleaved (${p.ratios.length} rounds) ÷ floor = ${times(p.median)} [${times(p.lo)}–${times(p.hi)}] ÷ ${times(fl)} = ` +
            `${times(v.value)} [${times(v.lo)}–${times(v.hi)}, ${(p.level * 100).toFixed(1)} %] (target ≤ 1.25: ${verdict}, ${v.resolved ? 'resolved' : 'not resolved at this noise'}; ratio of sequential medians: ${times(ratio / fl)})`,
        );
      } else out.push(`${w.name}: train ÷ PyTorch at ${t} thread${t > 1 ? 's' : ''}${peer} ÷ floor = ${times(ratio)} ÷ ${times(fl)} = ${times(v.value)} (target ≤ 1.25: ${verdict}; sequential medians)`);
      // the encoders: the same ratio against PyTorch's convolution rate (informational, see bench/README.md)
      const kind = w.name === 'image-encoder-2d' ? 'conv2d' : w.name === 'image-encoder-3d' ? 'conv3d' : null;
      const cf = kind ? (floor?.conv?.[kind].floor[t] ?? null) : null;
      const r = p?.median ?? ratio;
      if (cf !== null) out.push(`${w.name}: train ÷ PyTorch at ${t} thread${t > 1 ? 's' : ''}${p ? ', interleaved,' : ''} ÷ conv-rate floor (${kind}) = ${times(r)} ÷ ${times(cf)} = ${times(r / cf)} (not the target; PyTorch's convolutions against its GEMM: ${times(cf / fl)})`);
    }
  }
  if (floor) {
    for (const g of floor.gemm.filter((x) => x.efficiency !== null && !x.shape.startsWith('[1024,1024]'))) {
      out.push(`vdafm GEMM ${g.shape}, ${g.build}, ${g.threads} thr: ${(g.efficiency! * 100).toFixed(0)} % of the wasm peak (target ≥ 75 %: ${g.efficiency! >= 0.75 ? 'met' : 'NOT met'})`);
    }
  }
  return out;
}

/** Console rendering of the run summary. */
export function consoleSummary(workloads: WorkloadResult[], floor: FloorReport | null = null): string {
  return [
    '\n== summary (medians; ratios = ours ÷ PyTorch at equal threads; ratio ÷ floor: how far above the hardware floor) ==',
    aligned(SUMMARY_HEADERS, summaryRows(workloads, floor)),
    '',
    ...summaryTargets(workloads, floor),
  ].join('\n');
}

/** Writes `latest.json` and `latest.md` into `dir`; returns their paths. */
export function writeReport(dir: string, report: BenchReport): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const md = join(dir, 'latest.md');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(md, `${markdownReport(report)}\n`);
  return { json, md };
}
