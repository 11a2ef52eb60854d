import { defineConfig } from 'tsup';

// Three entries share one copy of every class through split chunks (ESM and CJS alike), so that
// `vdafm`, `vdafm/node` and `vdafm/testing` register and use the same layer classes.
export default defineConfig({
  entry: { index: 'src/index.ts', node: 'src/node.ts', testing: 'src/testing.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'es2020',
  treeshake: false,
  // The consumer provides tfjs (peer dependencies) and picks the backend.
  external: [/^@tensorflow\//],
  // fast-png (PNG encoding for LLM prompts) is ESM-only: bundle it (with its two small
  // dependencies) so that the CJS build works on every Node 20.
  noExternal: ['fast-png', 'iobuffer', 'fflate'],
  // fflate's Node build imports worker_threads: bundle its browser build so the core stays
  // browser-safe (fast-png uses only its synchronous zlib, identical in both builds).
  esbuildOptions(options) {
    options.alias = { ...(options.alias ?? {}), fflate: './node_modules/fflate/esm/browser.js' };
  },
});
