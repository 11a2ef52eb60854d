/**
 * Builds the browser demo page into a static folder: `index.html`, `main.js` (esbuild, ESM,
 * platform browser, the vdafm source and tfjs inlined) and the three `.wasm` files of
 * `@tensorflow/tfjs-backend-wasm`. Node only.
 *
 * ```sh
 * node --import tsx examples/browser/build.ts --out vdafm-browser
 * ```
 *
 * @packageDocumentation
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { InvalidArgumentError } from '../../src/errors.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const WEBGL = '@tensorflow/tfjs-backend-webgl';

/** The `.wasm` files the wasm backend fetches (plain, SIMD, threaded SIMD). */
export const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

/** Options of {@link buildBrowserDemo}. */
export interface BuildBrowserDemoOptions {
  /** Destination folder (created; existing files replaced). */
  outDir: string;
  /** Minify `main.js`. @defaultValue true */
  minify?: boolean;
}

/** What {@link buildBrowserDemo} wrote. */
export interface BuildBrowserDemoResult {
  outDir: string;
  files: string[];
  /** Size of `main.js` in bytes. */
  bundleBytes: number;
  /** Whether `@tensorflow/tfjs-backend-webgl` was installed and bundled (else `?backend=webgl` reports it missing). */
  webgl: boolean;
}

/** `true` when `@tensorflow/tfjs-backend-webgl` can be resolved from this package. */
export function webglInstalled(): boolean {
  try {
    require.resolve(WEBGL);
    return true;
  } catch {
    return false;
  }
}

// Without the webgl package, its import becomes a module that throws when the page loads it.
const missingWebgl: Plugin = {
  name: 'vdafm-missing-webgl',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/tfjs-backend-webgl$/ }, () => ({ path: WEBGL, namespace: 'vdafm-missing' }));
    b.onLoad({ filter: /.*/, namespace: 'vdafm-missing' }, () => ({
      contents: `throw new Error(${JSON.stringify(`${WEBGL} is not installed`)});`,
      loader: 'js',
    }));
  },
};

/**
 * Builds the page. Fails if the bundle pulls in a Node built-in (the core must stay browser-safe).
 *
 * @throws {@link InvalidArgumentError} (argument `outDir`) for an empty folder name; `Error` when
 * esbuild fails or the bundle imports a Node module.
 * @example
 * ```ts
 * const { files, webgl } = await buildBrowserDemo({ outDir: './vdafm-browser' });
 * ```
 */
export async function buildBrowserDemo(options: BuildBrowserDemoOptions): Promise<BuildBrowserDemoResult> {
  const outDir = options?.outDir;
  if (typeof outDir !== 'string' || outDir === '') {
    throw new InvalidArgumentError({ argument: 'outDir', message: 'outDir must be a folder path.', received: outDir });
  }
  mkdirSync(outDir, { recursive: true });
  const webgl = webglInstalled();
  const result = await build({
    entryPoints: [path.join(HERE, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(outDir, 'main.js'),
    minify: options.minify ?? true,
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
    plugins: webgl ? [] : [missingWebgl],
  });
  const nodeInputs = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('node:') || /(^|\/)node_modules\/@types\/node\//.test(f));
  const nodeImports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.filter((imp) => imp.path.startsWith('node:') || (imp.external === true && builtinModules.includes(imp.path))));
  if (nodeInputs.length > 0 || nodeImports.length > 0) {
    throw new Error(`The browser bundle pulls in Node modules: ${[...nodeInputs, ...nodeImports.map((i) => i.path)].join(', ')}.`);
  }
  const files = [path.join(outDir, 'main.js'), path.join(outDir, 'main.js.map')];
  copyFileSync(path.join(HERE, 'index.html'), path.join(outDir, 'index.html'));
  files.push(path.join(outDir, 'index.html'));
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const f of WASM_FILES) {
    copyFileSync(path.join(wasmDir, f), path.join(outDir, f));
    files.push(path.join(outDir, f));
  }
  return { outDir, files, bundleBytes: statSync(path.join(outDir, 'main.js')).size, webgl };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--out');
  const outDir = i >= 0 ? process.argv[i + 1] ?? 'vdafm-browser' : 'vdafm-browser';
  buildBrowserDemo({ outDir }).then(
    (r) => console.log(`wrote ${r.files.length} files to ${r.outDir} (main.js ${(r.bundleBytes / 1e6).toFixed(2)} MB, webgl ${r.webgl ? 'bundled' : 'not installed'})`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
