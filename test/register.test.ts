// The dual-package hazard: the ESM and the CJS build of vdafm loaded in one process are two
// copies of every layer class. Registration keeps the first copy's classes in tfjs's registry (a
// second copy used to replace them under the first), models save and load with either copy, and
// isVdafmLayer / the typed errors' isInstance recognise either copy's objects.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { isVdafmLayer, LAYER_CLASSES, maskedPooling, registerLayers, VDAFM, vdafm } from '../src/index.js';

const root = path.resolve(import.meta.dirname, '..');
const check = path.join(root, 'test/helpers/dual-package-check.mjs');
// inside node_modules, so that the bundles resolve @tensorflow/* from the repository's dependencies
const out = path.join(root, 'node_modules/.cache/vdafm-dual-package');

interface Findings {
  first: 'esm' | 'cjs';
  registryHoldsFirstCopy: boolean;
  roundTrips: Array<{ saver: string; loader: string; maxDiff: number; instanceOfFirst: boolean; recognisedByEsm: boolean; recognisedByCjs: boolean; notAnotherClass: boolean }>;
  errorsAcrossCopies: boolean;
}

function run(esm: string, cjs: string, order: 'esm-first' | 'cjs-first'): Findings {
  const stdout = execFileSync(process.execPath, [check, esm, cjs, order], { cwd: root, encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Findings;
}

function expectSafe(f: Findings, order: string): void {
  expect(f.registryHoldsFirstCopy, `${order}: the first copy keeps the registry`).toBe(true);
  expect(f.roundTrips).toHaveLength(4);
  for (const r of f.roundTrips) {
    const what = `${order}, saved by ${r.saver}, loaded by ${r.loader}`;
    expect(r.maxDiff, what).toBeLessThanOrEqual(1e-6);
    expect(r.instanceOfFirst, `${what}: a layer of the first copy's class`).toBe(true);
    expect(r.recognisedByEsm && r.recognisedByCjs && r.notAnotherClass, `${what}: isVdafmLayer`).toBe(true);
  }
  expect(f.errorsAcrossCopies).toBe(true);
}

describe('two copies of vdafm in one process (ESM + CJS)', () => {
  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    // The two formats of src/index.ts as tsup builds them (tfjs external, the rest bundled).
    for (const format of ['esm', 'cjs'] as const) {
      await build({
        entryPoints: [path.join(root, 'src/index.ts')],
        outfile: path.join(out, format === 'esm' ? 'index.mjs' : 'index.cjs'),
        bundle: true,
        format,
        platform: 'node',
        target: 'node20',
        external: ['@tensorflow/*'],
        logLevel: 'silent',
      });
    }
  });

  for (const order of ['esm-first', 'cjs-first'] as const) {
    it(`save, load and recognise layers with either copy (${order}), from bundles of the sources`, () => {
      expectSafe(run(path.join(out, 'index.mjs'), path.join(out, 'index.cjs'), order), order);
    });
  }

  const dist = (f: string) => path.join(root, 'dist', f);
  const newest = (dir: string): number =>
    Math.max(...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));
  const built = existsSync(dist('index.js')) && existsSync(dist('index.cjs')) && statSync(dist('index.js')).mtimeMs >= newest(path.join(root, 'src'));
  it.skipIf(!built)('the same with the built package: require(dist/index.cjs) and import(dist/index.js) (after npm run build)', () => {
    for (const order of ['esm-first', 'cjs-first'] as const) expectSafe(run(dist('index.js'), dist('index.cjs'), order), `dist, ${order}`);
  });

  it('isVdafmLayer: vdafm layers by className, nothing else', () => {
    const fusion = vdafm({ dim: 8, numHeads: 2 });
    expect(isVdafmLayer(fusion)).toBe(true);
    expect(isVdafmLayer(fusion, VDAFM.className)).toBe(true);
    expect(isVdafmLayer(fusion, 'VdafmMaskedPooling')).toBe(false);
    expect(isVdafmLayer(maskedPooling(), 'VdafmMaskedPooling')).toBe(true);
    expect(isVdafmLayer(tfl.layers.dense({ units: 1 }))).toBe(false);
    for (const v of [null, undefined, 3, 'VdafmFusion', {}]) expect(isVdafmLayer(v)).toBe(false);
    expect(LAYER_CLASSES.every((cls) => isVdafmLayer(cls.prototype, cls.className))).toBe(true);
    registerLayers(); // idempotent
  });
});
