/**
 * Recomputes a scenario's pre-registered ceilings (src/study/ceilings.ts) and writes them to
 * docs/results/ceilings/<scenario>.json, where the study reads them. Deterministic: the same
 * code gives the same file (apart from `seconds`); prints the markdown table of
 * docs/guides/synthetic-cohort.md. About 10 minutes per scenario on 2 cores.
 *
 *   node --import tsx scripts/ceilings.ts imbalance|additive [--out DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ceilingsTable, computeCeilings } from '../src/study/ceilings.js';

const [scenario, flag, dir] = process.argv.slice(2);
if ((scenario !== 'imbalance' && scenario !== 'additive') || (flag !== undefined && (flag !== '--out' || !dir))) {
  process.stderr.write('usage: node --import tsx scripts/ceilings.ts imbalance|additive [--out DIR]\n');
  process.exit(2);
}
const out = dir ?? path.join('docs', 'results', 'ceilings');
const t0 = Date.now();
const ceilings = await computeCeilings(scenario, { log: (l) => process.stderr.write(`${new Date().toISOString()} ${l}\n`) });
mkdirSync(out, { recursive: true });
const file = path.join(out, `${scenario}.json`);
writeFileSync(file, `${JSON.stringify({ ...ceilings, seconds: (Date.now() - t0) / 1000, command: `computeCeilings('${scenario}')` }, null, 1)}\n`);
process.stdout.write(`${ceilingsTable([ceilings])}\n`);
process.stderr.write(`wrote ${file} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
