// Static checks of the committed notebooks (examples/notebooks): CI executes them with
// examples/notebooks/run_notebooks.py; these checks catch a notebook committed without its
// outputs, with an error in its outputs, importing the sources instead of the built package, or
// missing from the guide.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = 'examples/notebooks';
const notebooks = readdirSync(DIR).filter((f) => f.endsWith('.ipynb')).sort();

interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  execution_count?: number | null;
  outputs?: Array<{ output_type: string; name?: string; text?: string | string[]; data?: Record<string, unknown> }>;
}
interface Notebook {
  nbformat: number;
  metadata: { kernelspec?: { name?: string } };
  cells: Cell[];
}
const read = (file: string) => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Notebook;
const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join('') : (s ?? ''));

describe('committed notebooks', () => {
  it('there are six, numbered', () => {
    expect(notebooks).toHaveLength(6);
    notebooks.forEach((f, i) => expect(f.startsWith(`0${i + 1}-`)).toBe(true));
  });

  for (const file of notebooks) {
    describe(file, () => {
      const nb = read(file);
      const code = nb.cells.filter((c) => c.cell_type === 'code');

      it('uses the tslab kernel (nbformat 4)', () => {
        expect(nb.nbformat).toBe(4);
        expect(nb.metadata.kernelspec?.name).toBe('tslab');
      });

      it('was saved after a complete run: every code cell executed, in order', () => {
        expect(code.length).toBeGreaterThan(0);
        code.forEach((c, i) => expect(c.execution_count, `code cell ${i + 1}`).toBe(i + 1));
        expect(code.filter((c) => (c.outputs ?? []).length > 0).length).toBeGreaterThan(code.length / 2);
      });

      it('has no error or stderr output', () => {
        for (const c of code) {
          for (const o of c.outputs ?? []) {
            expect(o.output_type, text(c.source).slice(0, 200)).not.toBe('error');
            expect(o.name, `${text(c.source).slice(0, 200)}\n→ ${text(o.text).slice(0, 300)}`).not.toBe('stderr');
          }
        }
      });

      it('imports vdafm from the built package only', () => {
        const sources = code.map((c) => text(c.source)).join('\n');
        const specifiers = [...sources.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
        expect(specifiers.some((s) => s === '../../dist/index.js')).toBe(true);
        for (const s of specifiers.filter((x) => x.startsWith('.'))) {
          expect(['../../dist/index.js', '../../dist/node.js']).toContain(s);
        }
      });
    });
  }

  it('the guide links every notebook', () => {
    const guide = readFileSync('docs/guides/notebooks.md', 'utf8');
    for (const file of notebooks) expect(guide).toContain(`(../../examples/notebooks/${file})`);
  });

  it('the kernel spec points at the installed tslab', () => {
    const spec = JSON.parse(readFileSync('.jupyter/kernels/tslab/kernel.json', 'utf8')) as { argv: string[]; language: string };
    expect(spec.language).toBe('typescript');
    const bin = spec.argv[1]!.replace('{resource_dir}', '.jupyter/kernels/tslab');
    expect(existsSync(path.normalize(bin))).toBe(true);
    expect(spec.argv).toContain('{connection_file}');
  });
});
