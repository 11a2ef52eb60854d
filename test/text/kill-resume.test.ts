// Kill-and-resume: a child process generating reports is killed with SIGKILL after N cases are
// cached; a second run must send only the unfinished cases and end with every case exactly once
// in the cache file.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as decodePng } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, VALID_REPORT, type SeenRequest } from './helpers/openai-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const worker = path.join(here, 'resume-worker.ts');
const dir = mkdtempSync(path.join(tmpdir(), 'vdafm-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Which case a request is for: the test encodes case i as an 8×8 image filled with i*10. */
function caseOf(r: SeenRequest): number {
  const url = r.body.messages[1].content[1].image_url.url as string;
  const png = decodePng(Buffer.from(url.slice('data:image/png;base64,'.length), 'base64'));
  return png.data[0]! / 10;
}

/** Case ids of the complete lines of the cache file (a torn last line is skipped). */
function cachedCases(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.pop();
  return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l).caseId as string);
}

function run(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

describe('kill and resume', () => {
  it('resends only unfinished cases; every case ends in the cache exactly once', async () => {
    const total = 10;
    const killAfter = 4;
    let phase: 1 | 2 = 1;
    let answered = 0;
    const server = await startServer((r) => {
      if (phase === 1 && answered >= killAfter) return { kind: 'hang' }; // stuck until the kill
      answered++;
      return { kind: 'answer', content: JSON.stringify({ ...VALID_REPORT, impression: `case ${caseOf(r)}` }) };
    });
    const file = path.join(dir, 'reports.jsonl');
    try {
      // Run 1: killed once `killAfter` cases are in the cache file.
      const first = run([server.baseURL, file, String(total), 'run-1']);
      while (cachedCases(file).length < killAfter) {
        const exited = await Promise.race([first.done.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);
        if (exited) throw new Error(`worker exited early: ${(await first.done).stderr}`);
      }
      first.child.kill('SIGKILL');
      const r1 = await first.done;
      expect(r1.signal).toBe('SIGKILL');
      const cachedAtKill = cachedCases(file);
      expect(cachedAtKill).toHaveLength(killAfter);
      const phase1Requests = server.requests.filter((r) => r.headers['x-run'] === 'run-1').length;
      expect(phase1Requests).toBeGreaterThanOrEqual(killAfter);
      expect(phase1Requests).toBeLessThanOrEqual(killAfter + 2); // at most 2 in flight (concurrency 2)

      // Run 2: resumes.
      phase = 2;
      const second = run([server.baseURL, file, String(total), 'run-2']);
      const r2 = await second.done;
      expect(r2.code, r2.stderr).toBe(0);
      const summary = JSON.parse(r2.stdout);
      expect(summary).toEqual({ ok: total, failures: [], cachedCount: killAfter, generatedCount: total - killAfter });

      const resent = server.requests.filter((r) => r.headers['x-run'] === 'run-2').map((r) => `case-${caseOf(r)}`);
      expect(resent.filter((id) => cachedAtKill.includes(id))).toEqual([]); // no duplicate request for a finished case
      expect(resent.sort()).toEqual(
        Array.from({ length: total }, (_, i) => `case-${i}`)
          .filter((id) => !cachedAtKill.includes(id))
          .sort(),
      );
      const final = cachedCases(file);
      expect(final.slice().sort()).toEqual(Array.from({ length: total }, (_, i) => `case-${i}`).sort()); // each exactly once
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(new Set(lines.map((l) => l.key)).size).toBe(total);
      for (const l of lines) expect(l.result.fields.impression).toBe(`case ${Number(l.caseId.split('-')[1])}`);
    } finally {
      await server.close();
    }
  });
});
