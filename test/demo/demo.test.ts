import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { ABLATIONS, DEMO_SCENARIO, runDemo } from '../../src/demo/demo.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { loadPipeline } from '../../src/node.js';
import { expectIsArgumentError } from '../helpers/errors.js';

const root = mkdtempSync(join(tmpdir(), 'vdafm-demo-'));
beforeAll(async () => {
  await tf.setBackend('wasm');
});
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await tf.setBackend('cpu');
});

describe('the demo (small settings; .ci/run also runs `vdafm demo --quick`)', () => {
  it('runs end to end, writes valid plots, overlays, metrics and a loadable pipeline; same seed ⇒ same metrics', async () => {
    const out = join(root, 'a');
    const quiet = { write: () => undefined, isTTY: false };
    const lines: string[] = [];
    const options = { patients: 100, epochs: 1, seed: 3, only: ['clinical only', 'tri-modal VDAFM (full)'], progress: quiet };
    const a = await runDemo({ ...options, out, log: (l) => lines.push(l) });
    expect(a.rows.map((r) => r.name)).toEqual(['clinical only', 'tri-modal VDAFM (full)']);
    for (const r of a.rows) {
      expect(r.auc).toBeGreaterThanOrEqual(0);
      expect(r.auc).toBeLessThanOrEqual(1);
      expect(r.aucCi[0]).toBeLessThanOrEqual(r.aucCi[1]);
    }
    expect(a.bayesAuc).toBeGreaterThan(0.5);
    expect(lines.some((l) => l.includes('\n| Bayes-optimal (true risk) |'))).toBe(true);
    for (const f of ['metrics.json', 'report.md', 'roc.svg', 'calibration.svg', 'training-curves.svg', 'roc.vl.json', 'attention-overlays.png']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    for (const f of ['roc.svg', 'calibration.svg', 'training-curves.svg']) {
      const svg = readFileSync(join(out, f), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    }
    const png = decode(readFileSync(join(out, 'attention-overlays.png')));
    expect(png.channels).toBe(3);
    expect(png.width).toBeGreaterThan(0);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.rows).toHaveLength(2);
    const pipeline = await loadPipeline(join(out, 'model'));
    expect(pipeline.model.modalities).toEqual(['image', 'text', 'clinical']);
    expect(pipeline.tokenizer).toBeDefined();
    // the full model carries the report-field head fitted on the training reports (the study's recipe)
    expect(pipeline.model.reportFieldGroups()?.map((g) => g.kind)).toContain('categorical');
    expect(metrics.histories['tri-modal VDAFM (full)'][0]).toHaveProperty('fields');
    expect(metrics.options.scenario).toBe(DEMO_SCENARIO);
    pipeline.model.dispose();
    // again, same seed, in another folder: identical metrics
    const b = await runDemo({ ...options, out: join(root, 'b'), log: () => undefined });
    expect(b.rows.map((r) => r.auc)).toEqual(a.rows.map((r) => r.auc));
    expect(b.bayesAuc).toBe(a.bayesAuc);
    // the other scenario: another cohort, named in the outputs
    const other = DEMO_SCENARIO === 'additive' ? 'imbalance' : 'additive';
    const c = await runDemo({ ...options, only: ['clinical only'], scenario: other, out: join(root, 'other'), log: () => undefined });
    expect(c.options.scenario).toBe(other);
    expect(c.bayesAuc).not.toBe(a.bayesAuc);
    expect(readFileSync(join(root, 'other', 'report.md'), 'utf8')).toContain(`scenario \`${other}\``);
  });

  it('the CLI rejects unknown options and ablations with a usage message', async () => {
    expect(await main(['demo', '--frobnicate'])).toBe(2);
    expect(await main(['--help'])).toBe(0);
    await expect(runDemo({ only: ['nope'], out: join(root, 'c'), progress: { write: () => undefined } })).rejects.toThrow(/Unknown ablation/);
    await runDemo({ scenario: 'nope' as never, out: join(root, 'c'), progress: { write: () => undefined } }).then(
      () => expect.fail('an unknown scenario was accepted'),
      (e: unknown) => expectIsArgumentError(e, InvalidArgumentError, 'scenario'),
    );
    expect(await main(['demo', '--scenario', 'nope'])).toBe(2);
    expect(ABLATIONS).toHaveLength(8);
  });
});
