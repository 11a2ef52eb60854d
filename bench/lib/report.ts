/**
 * Renders benchmark results: an aligned console table, a markdown report and a JSON file.
 *
 * @packageDocumentation
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './machine.js';
import type { KernelTime, Profile, Ratio, Row, Stats, WorkloadResult } from './types.js';

/** The whole run, as written to `latest.json`. */
export interface BenchReport {
  schema: 1;
  command: string;
  quick: boolean;
  machine: MachineInfo;
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

function cell(s: Stats | null, status: Row['status']): string {
  if (status === 'not installed') return 'not installed';
  if (status === 'failed') return 'failed';
  if (!s) return status === 'skipped' ? 'skipped' : '–';
  return `${ms(s.median)} ±${ms(s.iqr / 2)}`;
}

function times(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '–';
  return x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`;
}

function ratioOf(a: Stats | null, b: Stats | null): number | null {
  if (!a || !b || !(b.median > 0)) return null;
  return a.median / b.median;
}

/** Builds a {@link Ratio} of two rows' medians for one phase. */
export function makeRatio(
  rows: Row[],
  label: string,
  numerator: string,
  denominator: string,
  phase: 'forward' | 'train',
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
  'fwd × ref',
  'train × ref',
  'reps f/t',
  'kernels/step',
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
      cell(r.train, r.status),
      times(ref ? ratioOf(r.forward, ref.forward) : null),
      times(ref ? ratioOf(r.train, ref.train) : null),
      `${r.forward?.samples.length ?? 0}/${r.train?.samples.length ?? 0}`,
      r.memory?.kernelsPerStep !== undefined ? String(r.memory.kernelsPerStep) : '–',
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

/** Console rendering of one workload. */
export function consoleWorkload(w: WorkloadResult): string {
  const parts = [
    `\n== ${w.title} ==`,
    w.description,
    w.reference ? `(× ref = median / median of '${w.reference}'; interleaved rows: of the interleaved peer row)` : '',
    aligned(HEADERS, tableRows(w)),
    '',
    ...w.ratios.map(ratioLine),
  ];
  for (const r of w.rows.filter((x) => x.note)) parts.push(`note ${r.id}: ${r.note}`);
  for (const p of w.profiles) parts.push('', ...profileText(p, 15));
  for (const n of w.notes) parts.push(`* ${n}`);
  return parts.filter((s) => s !== '').join('\n');
}

/** Markdown rendering of the whole run. */
export function markdownReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    '# vdafm benchmark results',
    '',
    `- date: ${m.date}${report.quick ? ' (quick run)' : ''}; command: \`${report.command}\`; duration ${report.durationSeconds.toFixed(0)} s`,
    `- machine: ${m.cpuModel}, ${m.logicalCores} logical cores, ${m.totalMemGiB} GiB, ${m.platform}`,
    `- software: Node ${m.node}, tfjs-core ${m.tfjsCore}, tfjs-layers ${m.tfjsLayers}, tfjs-backend-wasm ${m.tfjsBackendWasm}, tfjs-backend-cpu ${m.tfjsBackendCpu}`,
    `- load at start: \`${m.uptimeStart}\``,
    `- load at end: \`${m.uptimeEnd ?? '?'}\``,
    '',
  ];
  for (const w of report.workloads) {
    lines.push(`## ${w.title}`, '', w.description, '');
    if (w.reference) lines.push(`"× ref" = median ÷ median of \`${w.reference}\` (interleaved rows: of the interleaved peer row). Times in ms, median ± half the IQR.`, '');
    lines.push(markdownTable(HEADERS, tableRows(w)), '');
    if (w.ratios.length) lines.push(...w.ratios.map((r) => `- ${ratioLine(r)}`), '');
    const noted = w.rows.filter((x) => x.note);
    if (noted.length) lines.push(...noted.map((r) => `- \`${r.id}\`: ${r.note}`), '');
    for (const p of w.profiles) lines.push('```', ...profileText(p, 20), '```', '');
    if (w.notes.length) lines.push(...w.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
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
