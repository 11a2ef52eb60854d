#!/usr/bin/env node
// Builds native/gemm.c + native/conv.c again for a SHARED WebAssembly memory (wasm32 + simd128 + atomics), the
// modules the Node worker-thread GEMM pool runs on every thread (src/node/threads.ts), twice: plain
// simd128 and relaxed SIMD (f32x4.relaxed_madd), so that a product split over threads gives the
// same bits as the single-threaded build in use (conv.c: the im2col / col2im of the convolutions the pool runs whole). Writes src/kernels/gemm-shared-wasm.generated.ts
// holding both as base64. Same micro-kernel configuration as the single-threaded modules
// (scripts/build-wasm.mjs, SHIPPED / RELAXED); same compiler (clang >= 19).
//
//   node scripts/build-wasm-threads.mjs           # regenerate
//   node scripts/build-wasm-threads.mjs --check   # exit 1 if the generated file is out of date
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELAXED, SHIPPED, clang, clangVersion } from './build-wasm.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const generated = join(root, 'src', 'kernels', 'gemm-shared-wasm.generated.ts');

/** Compiles native/gemm.c + native/conv.c with `defines` for an imported shared memory; returns the module bytes. */
export function compileShared(defines) {
  const dir = mkdtempSync(join(tmpdir(), 'vdafm-gemm-shared-'));
  const out = join(dir, 'gemm-shared.wasm');
  try {
    execFileSync(clang, [
      '--target=wasm32', '-msimd128', ...(defines.RELAXED ? ['-mrelaxed-simd'] : []), '-matomics', '-mbulk-memory', '-O3', '-nostdlib', '-ffreestanding', '-fno-ident',
      ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`),
      '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--shared-memory', '-Wl,--max-memory=4294967296',
      '-Wl,--strip-all', '-Wl,-z,stack-size=0', '-Wl,--global-base=0',
      '-o', out, join(root, 'native', 'gemm.c'), join(root, 'native', 'conv.c'),
    ], { stdio: ['ignore', 'inherit', 'inherit'] });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (bytes) => (Buffer.from(bytes).toString('base64').match(/.{1,100}/g) ?? []).map((l) => `  '${l}'`).join(' +\n');

/** The text the generated file should have. */
export function expectedSharedGenerated() {
  return [
    '// GENERATED FILE, DO NOT EDIT. Regenerate with `node scripts/build-wasm-threads.mjs` (needs clang >= 19 + wasm-ld),',
    '// from native/gemm.c + native/conv.c (compiled with ' + Object.entries(SHIPPED).map(([k, v]) => `${k}=${v}`).join(' ') + ') for a shared memory,',
    '// plain and with RELAXED=1 -mrelaxed-simd.',
    `// Built with: ${clangVersion()}`,
    '',
    '/** native/gemm.c + native/conv.c for an imported SHARED memory (wasm32 + simd128 + atomics), base64-encoded. */',
    'export const GEMM_SHARED_WASM_BASE64 =',
    lines(compileShared(SHIPPED)) + ';',
    '',
    '/** The same with `f32x4.relaxed_madd` (+ relaxed SIMD), for when the relaxed build is in use. */',
    'export const GEMM_SHARED_RELAXED_WASM_BASE64 =',
    lines(compileShared(RELAXED)) + ';',
    '',
  ].join('\n');
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const text = expectedSharedGenerated();
  if (process.argv.includes('--check')) {
    const current = readFileSync(generated, 'utf8');
    if (current !== text) {
      console.error(`${generated} is out of date: run node scripts/build-wasm-threads.mjs`);
      process.exit(1);
    }
    console.log('up to date');
  } else {
    writeFileSync(generated, text);
    console.log(`wrote ${generated}`);
  }
}
