// The floors of docs/architecture.md are rules in .dependency-cruiser.cjs (`npm run lint:deps`).
// These tests run dependency-cruiser with that config on small throw-away trees, so they show
// each rule can fail (an upward import, a sibling import, a cycle, Node built-ins under the core
// entry) and that a tree laid out by the floors passes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
const dirs: string[] = [];

/** Writes `files` (path → source) under a fresh folder and runs dependency-cruiser on its src/. */
function cruise(files: Record<string, string>): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vdafm-layering-'));
  dirs.push(dir);
  const all = { 'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', target: 'ES2022', strict: true } }), ...files };
  for (const [file, text] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  try {
    const output = execFileSync(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'err'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, output };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const leaf = (name: string) => `export const ${name} = 1;\n`;

describe('layering rules (dependency-cruiser)', () => {
  it('passes a tree whose imports go down the floors', () => {
    const r = cruise({
      'src/errors.ts': leaf('e'),
      'src/core/validate.ts': `import { e } from '../errors.js';\nexport const v = e;\n`,
      'src/ops/dense.ts': `import { v } from '../core/validate.js';\nexport const d = v;\n`,
      'src/layers/attention.ts': `import { d } from '../ops/dense.js';\nexport const a = d;\n`,
      'src/fusion/vdafm.ts': `import { a } from '../layers/attention.js';\nexport const f = a;\n`,
      'src/models/builder.ts': `import { f } from '../fusion/vdafm.js';\nexport const m = f;\n`,
      'src/index.ts': `export { m } from './models/builder.js';\n`,
    });
    expect(r.output).toContain('no dependency violations');
    expect(r.ok).toBe(true);
  });

  it('fails on an upward import (core → models)', () => {
    const r = cruise({
      'src/models/builder.ts': leaf('m'),
      'src/core/validate.ts': `import { m } from '../models/builder.js';\nexport const v = m;\n`,
    });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('floor-core');
  });

  it('fails on an import between siblings of one floor (encoders → fusion)', () => {
    const r = cruise({
      'src/fusion/vdafm.ts': leaf('f'),
      'src/encoders/image/image-encoder.ts': `import { f } from '../../fusion/vdafm.js';\nexport const i = f;\n`,
    });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('floor-encoders');
  });

  it('fails on a cycle, type-only imports included', () => {
    const r = cruise({
      'src/training/a.ts': `import type { B } from './b.js';\nexport interface A { b?: B }\n`,
      'src/training/b.ts': `import type { A } from './a.js';\nexport interface B { a?: A }\n`,
    });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('no-circular');
  });

  it('fails when the core entry reaches a Node built-in, however indirectly', () => {
    const r = cruise({
      'src/text/cache.ts': `import { readFileSync } from 'node:fs';\nexport const c = readFileSync;\n`,
      'src/index.ts': `export { c } from './text/cache.js';\n`,
    });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('browser-safe-floors');
    expect(r.output).toContain('core-entry-browser-safe');
  });

  it('fails when the library imports an entry or the node/ subpath', () => {
    const r = cruise({
      'src/node/file-cache.ts': leaf('n'),
      'src/index.ts': leaf('i'),
      'src/training/trainer.ts': `import { n } from '../node/file-cache.js';\nimport { i } from '../index.js';\nexport const t = n + i;\n`,
    });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('node-subpath-is-node-only');
    expect(r.output).toContain('nothing-imports-an-entry');
  });
});
