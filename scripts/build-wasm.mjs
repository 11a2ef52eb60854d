#!/usr/bin/env node
// Builds vdafm's WebAssembly modules with clang + wasm-ld (no emscripten, no libc) and writes them
// as base64 into generated TypeScript files:
//
//   src/kernels/gemm-wasm.generated.ts          native/gemm.c + native/fused.c + native/conv.c, wasm32 + simd128
//                                               (f32x4.mul + f32x4.add): every engine with SIMD
//   src/kernels/gemm-relaxed-wasm.generated.ts  native/gemm.c with -DRELAXED=1 -mrelaxed-simd, + native/conv.c
//                                               (f32x4.relaxed_madd): chosen at run time where
//                                               the engine validates relaxed SIMD
//   bench/lib/wasm-peak.generated.ts            native/peak.c, both ways: the register-only
//                                               multiply-add peak that `npm run bench` measures
//
//   node scripts/build-wasm.mjs              # regenerate the three files
//   node scripts/build-wasm.mjs --check      # exit 1 if any of them is out of date
//   node scripts/build-wasm.mjs --variants   # also build micro-kernel variants into native/build/
//                                            # (for bench/experiments/gemm.ts)
//
// Needs clang >= 19 and wasm-ld (Debian: clang-19, lld-19): clang 14 emits the relaxed-SIMD
// prototype's opcodes, which no engine validates, and its backend is what the inline asm in
// gemm.c was written for. The compiler is $CLANG, else `clang-19` when on PATH, else `clang`.
// The output is deterministic: same sources + same clang → same bytes (no names, no producers).
// The clang version is recorded in each generated file; another version may give other bytes.
// The shared-memory builds for the Node thread pool: scripts/build-wasm-threads.mjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The C sources linked into the module (the -D macros configure gemm.c; fused.c and conv.c ignore them). */
const sources = [join(root, 'native', 'gemm.c'), join(root, 'native', 'fused.c'), join(root, 'native', 'conv.c')];
const buildDir = join(root, 'native', 'build');
const generated = join(root, 'src', 'kernels', 'gemm-wasm.generated.ts');
const generatedRelaxed = join(root, 'src', 'kernels', 'gemm-relaxed-wasm.generated.ts');
const generatedPeak = join(root, 'bench', 'lib', 'wasm-peak.generated.ts');

/** The compiler: $CLANG, else clang-19 when it runs, else clang. */
export const clang =
  process.env.CLANG ?? (spawnSync('clang-19', ['--version'], { stdio: 'ignore' }).status === 0 ? 'clang-19' : 'clang');

/** The shipped configuration (see bench/experiments/gemm.ts for how it was chosen). */
export const SHIPPED = { MR: 4, NR: 8, KC: 256, MC: 64, NC: 1024, KU: 1, SPLATA: 0, MACRO: 0, KERNEL_INLINE: 1, DIRECT_N: 64, DIRECT_T: 1 };

/**
 * Compiles `files` (default: gemm.c + fused.c + conv.c) with the given -D macros into `out`; returns the
 * bytes. `RELAXED: 1` in `defines` adds -mrelaxed-simd.
 */
export function compile(defines, out, files = sources) {
  mkdirSync(dirname(out), { recursive: true });
  const args = [
    '--target=wasm32',
    '-msimd128',
    ...(defines.RELAXED ? ['-mrelaxed-simd'] : []),
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
    ...files,
  ];
  execFileSync(clang, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return readFileSync(out);
}

/** First line of `clang --version` (recorded in the generated file: other versions give other bytes). */
export function clangVersion() {
  return execFileSync(clang, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

function base64Lines(bytes) {
  return (Buffer.from(bytes).toString('base64').match(/.{1,100}/g) ?? []).map((l) => `  '${l}'`).join(' +\n');
}

const macros = (defines) => Object.entries(defines).map(([k, v]) => `${k}=${v}`).join(' ');

/** A generated file holding one module: `name`_BASE64 and `name`_BYTES. */
function renderModule(bytes, { name, from, test, doc }) {
  return [
    '// GENERATED FILE, DO NOT EDIT. Regenerate with `node scripts/build-wasm.mjs` (needs clang >= 19 + wasm-ld),',
    `// from ${from}.`,
    `// Built with: ${clangVersion()}`,
    `// Checked by ${test} when that clang version is installed.`,
    '',
    ...doc,
    `export const ${name}_BASE64 =`,
    base64Lines(bytes) + ';',
    '',
    `/** Byte length of the decoded module. */`,
    `export const ${name}_BYTES = ${bytes.length};`,
    '',
  ].join('\n');
}

const renderGenerated = (bytes) =>
  renderModule(bytes, {
    name: 'GEMM_WASM',
    from: `native/gemm.c (compiled with ${macros(SHIPPED)}), native/fused.c and native/conv.c`,
    test: 'test/kernels/gemm-wasm.generated.test.ts',
    doc: ['/** The vdafm WebAssembly module (GEMM + fused elementwise kernels + im2col/col2im; wasm32 + simd128), base64-encoded. */'],
  });

const renderRelaxed = (bytes) =>
  renderModule(bytes, {
    name: 'GEMM_RELAXED_WASM',
    from: `native/gemm.c (compiled with ${macros(RELAXED)} -mrelaxed-simd) and native/conv.c`,
    test: 'test/kernels/gemm-relaxed-wasm.generated.test.ts',
    doc: [
      '/**',
      " * The relaxed-SIMD build of vdafm's GEMM (native/gemm.c with `f32x4.relaxed_madd`: gemm, colsum,",
      ' * gemm_workspace_bytes; native/conv.c, whose blocked forward convolution calls this GEMM; the fused',
      ' * kernels stay in the simd128 module), base64-encoded.',
      ' */',
    ],
  });

function renderPeak(plain, relaxed) {
  return [
    '// GENERATED FILE, DO NOT EDIT. Regenerate with `node scripts/build-wasm.mjs` (needs clang >= 19 + wasm-ld),',
    '// from native/peak.c (plain simd128, and -DRELAXED=1 -mrelaxed-simd).',
    `// Built with: ${clangVersion()}`,
    '',
    '/** native/peak.c, simd128 (f32x4.mul + f32x4.add), base64-encoded. */',
    'export const PEAK_SIMD128_WASM_BASE64 =',
    base64Lines(plain) + ';',
    '',
    '/** native/peak.c, relaxed SIMD (f32x4.relaxed_madd), base64-encoded. */',
    'export const PEAK_RELAXED_WASM_BASE64 =',
    base64Lines(relaxed) + ';',
    '',
  ].join('\n');
}

/** The relaxed-SIMD GEMM configuration: the shipped tile and blocking, relaxed_madd. */
export const RELAXED = { ...SHIPPED, RELAXED: 1 };

/** The text each generated file should have, built fresh from the C sources: [path, text] pairs. */
export function expectedGenerated() {
  const dir = mkdtempSync(join(tmpdir(), 'vdafm-gemm-'));
  const relaxedSources = [join(root, 'native', 'gemm.c'), join(root, 'native', 'conv.c')];
  const peak = [join(root, 'native', 'peak.c')];
  try {
    return [
      [generated, renderGenerated(compile(SHIPPED, join(dir, 'gemm.wasm')))],
      [generatedRelaxed, renderRelaxed(compile(RELAXED, join(dir, 'gemm-relaxed.wasm'), relaxedSources))],
      [generatedPeak, renderPeak(compile({}, join(dir, 'peak.wasm'), peak), compile({ RELAXED: 1 }, join(dir, 'peak-relaxed.wasm'), peak))],
    ];
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
  const files = expectedGenerated();
  const name = (path) => path.slice(root.length + 1);
  if (process.argv.includes('--check')) {
    const stale = files.filter(([path, text]) => (existsSync(path) ? readFileSync(path, 'utf8') : '') !== text);
    for (const [path] of stale) console.error(`${name(path)} is out of date: run node scripts/build-wasm.mjs`);
    if (stale.length) process.exit(1);
    console.log(`${files.map(([path]) => name(path)).join(', ')}: up to date`);
  } else if (!process.argv.includes('--variants')) {
    for (const [path, text] of files) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      console.log(`wrote ${name(path)}`);
    }
  }
}
