#!/usr/bin/env node
// Builds native/gemm.c and native/fused.c into one WebAssembly module (wasm32 + simd128) with
// clang + wasm-ld (no emscripten, no libc), and writes src/kernels/gemm-wasm.generated.ts holding
// the module as base64.
//
//   node scripts/build-wasm.mjs              # regenerate src/kernels/gemm-wasm.generated.ts
//   node scripts/build-wasm.mjs --check      # exit 1 if the generated file is out of date
//   node scripts/build-wasm.mjs --variants   # also build micro-kernel variants into native/build/
//                                            # (for bench/experiments/gemm.ts)
//
// Needs `clang` and `wasm-ld` (Debian: clang-14, lld-14) on PATH, or CLANG=/path/to/clang.
// The output is deterministic: same source + same clang → same bytes (no names, no producers).
// The clang version is recorded in the generated file; another version may give other bytes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The C sources linked into the module (the -D macros configure gemm.c; fused.c ignores them). */
const sources = [join(root, 'native', 'gemm.c'), join(root, 'native', 'fused.c')];
const buildDir = join(root, 'native', 'build');
const generated = join(root, 'src', 'kernels', 'gemm-wasm.generated.ts');
const clang = process.env.CLANG ?? 'clang';

/** The shipped configuration (see bench/experiments/gemm.ts for how it was chosen). */
export const SHIPPED = { MR: 4, NR: 8, KC: 256, MC: 64, NC: 1024, KU: 1, SPLATA: 0, MACRO: 0, KERNEL_INLINE: 1 };

/** Compiles the sources with the given -D macros into `out`; returns the bytes. */
export function compile(defines, out) {
  mkdirSync(dirname(out), { recursive: true });
  const args = [
    '--target=wasm32',
    '-msimd128',
    '-O3',
    '-nostdlib',
    '-ffreestanding',
    '-fno-ident',
    ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`),
    '-Wl,--no-entry',
    '-Wl,--import-memory',
    '-Wl,--strip-all',
    '-Wl,-z,stack-size=0',
    '-Wl,--global-base=0',
    '-o',
    out,
    ...sources,
  ];
  execFileSync(clang, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return readFileSync(out);
}

/** First line of `clang --version` (recorded in the generated file: other versions give other bytes). */
export function clangVersion() {
  return execFileSync(clang, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

function renderGenerated(bytes) {
  const b64 = Buffer.from(bytes).toString('base64');
  const lines = b64.match(/.{1,100}/g) ?? [];
  return [
    '// GENERATED FILE, DO NOT EDIT. Regenerate with `node scripts/build-wasm.mjs` (needs clang + wasm-ld),',
    '// from native/gemm.c (compiled with ' + Object.entries(SHIPPED).map(([k, v]) => `${k}=${v}`).join(' ') + ') and native/fused.c.',
    `// Built with: ${clangVersion()}`,
    '// Checked by test/kernels/gemm-wasm.generated.test.ts when that clang version is installed.',
    '',
    '/** The vdafm WebAssembly module (GEMM + fused elementwise kernels; wasm32 + simd128), base64-encoded. */',
    'export const GEMM_WASM_BASE64 =',
    lines.map((l) => `  '${l}'`).join(' +\n') + ';',
    '',
    `/** Byte length of the decoded module. */`,
    `export const GEMM_WASM_BYTES = ${bytes.length};`,
    '',
  ].join('\n');
}

/** The text the generated file should have, built fresh from native/gemm.c and native/fused.c. */
export function expectedGenerated() {
  const dir = mkdtempSync(join(tmpdir(), 'vdafm-gemm-'));
  try {
    return renderGenerated(compile(SHIPPED, join(dir, 'gemm.wasm')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const VARIANTS = {
  // see bench/experiments/gemm.ts for what each one taught
  'mr4nr8': { ...SHIPPED },
  'mr4nr8-kernel-fn': { ...SHIPPED, MACRO: 0, KERNEL_INLINE: 0 },
  'mr4nr8-macro1': { ...SHIPPED, MACRO: 1 },
  'mr4nr8-macro2': { ...SHIPPED, MACRO: 2 },
  'mr4nr8-ku2': { ...SHIPPED, KU: 2 },
  'mr4nr8-ku4': { ...SHIPPED, KU: 4 },
  'mr4nr8-splat': { ...SHIPPED, SPLATA: 1 },
  'mr4nr8-mc128': { ...SHIPPED, MC: 128 },
  'mr4nr8-kc128': { ...SHIPPED, KC: 128 },
  'mr4nr8-kc512': { ...SHIPPED, KC: 512, MC: 32, NC: 512 },
  'mr2nr16': { ...SHIPPED, MR: 2, NR: 16 },
  'mr3nr8': { ...SHIPPED, MR: 3, MC: 63 },
  'mr3nr12': { ...SHIPPED, MR: 3, NR: 12, MC: 63, NC: 1020 },
  'mr4nr12': { ...SHIPPED, NR: 12, NC: 1020 },
  'mr5nr8': { ...SHIPPED, MR: 5, MC: 65 },
  'mr6nr8': { ...SHIPPED, MR: 6, MC: 66 },
  'mr8nr4': { ...SHIPPED, MR: 8, NR: 4 },
};

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  if (process.argv.includes('--variants')) {
    compile(SHIPPED, join(buildDir, 'gemm.wasm'));
    console.log('built native/build/gemm.wasm (the shipped configuration)');
    for (const [name, defs] of Object.entries(VARIANTS)) {
      compile(defs, join(buildDir, `${name}.wasm`));
      console.log(`built native/build/${name}.wasm`);
    }
  }
  const text = expectedGenerated();
  if (process.argv.includes('--check')) {
    const current = existsSync(generated) ? readFileSync(generated, 'utf8') : '';
    if (current !== text) {
      console.error('src/kernels/gemm-wasm.generated.ts is out of date: run node scripts/build-wasm.mjs');
      process.exit(1);
    }
    console.log('src/kernels/gemm-wasm.generated.ts is up to date');
  } else if (!process.argv.includes('--variants')) {
    mkdirSync(dirname(generated), { recursive: true });
    writeFileSync(generated, text);
    console.log('wrote src/kernels/gemm-wasm.generated.ts');
  }
}
